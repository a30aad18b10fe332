//! `kscope revoke`: what it is about to do (and `--dry-run` shows), and what it did.

use super::{finish, plain};
use crate::leftovers::Leftover;
use crate::report::revoke::{NamespaceFate, Revocation, Survey};
use crate::text::printable;

/// What `revoke` is about to do (and `--dry-run` shows).
pub fn revocation_preview(survey: &Survey) -> String {
    let mut text = format!(
        "Revoking {}/{} deletes, in this order:\n",
        survey.grant.namespace, survey.grant.service_account
    );
    for target in &survey.delete {
        text.push_str(&format!("  {} {}\n", target.kind, target.shown()));
    }
    for target in &survey.keep {
        text.push_str(&format!(
            "and leaves {} {} (kscope does not manage it)\n",
            target.kind,
            target.shown()
        ));
    }
    text.push_str(&format!(
        "{}\n",
        namespace_fate(survey.namespace, &survey.grant.namespace.to_string(), true)
    ));
    if !survey.tenant_made.is_empty() && survey.namespace != NamespaceFate::Deleted {
        text.push_str(if survey.purge {
            "and, with --purge, what the tenant made during the grant:\n"
        } else {
            "and leaves what the tenant made during the grant (--purge deletes it):\n"
        });
        text.push_str(&tenant_made(&survey.tenant_made));
    }
    text
}

/// What the tenant made, a line each, with what it may still do.
fn tenant_made(found: &[Leftover]) -> String {
    let mut text = String::new();
    for leftover in found {
        let state = match (&leftover.holds, leftover.purged) {
            (_, true) => "purged".to_string(),
            (Some(holds), false) => format!("HOLDS ACCESS: {holds}"),
            (None, false) => "holds no access the API server shows".to_string(),
        };
        text.push_str(&format!(
            "  {} ({}): {}\n",
            printable(&leftover.described()),
            printable(&leftover.what),
            printable(&state)
        ));
    }
    text
}

fn namespace_fate(fate: NamespaceFate, namespace: &str, ahead: bool) -> String {
    let deleted = if ahead {
        "is deleted too"
    } else {
        "was deleted"
    };
    match fate {
        NamespaceFate::Kept => format!(
            "Namespace {namespace} stays (--delete-namespace deletes it if kscope created it)"
        ),
        NamespaceFate::Deleted => format!("Namespace {namespace} {deleted} (kscope created it)"),
        NamespaceFate::KeptNotCreatedByKscope => {
            format!("Namespace {namespace} stays: kscope did not create it")
        }
        NamespaceFate::KeptOtherGrants => {
            format!("Namespace {namespace} stays: other kscope grants live in it")
        }
        NamespaceFate::KeptUnmanagedObjects => {
            format!("Namespace {namespace} stays: it holds objects kscope does not manage")
        }
    }
}

/// What `revoke` did, and the proof.
pub fn revocation(report: &Revocation) -> String {
    let mut table = plain(&["KIND", "NAME", "RESULT"]);
    for object in &report.objects {
        table.add_row(vec![
            object.kind.to_string(),
            object.name.clone(),
            object.result.to_string(),
        ]);
    }
    for target in &report.left {
        table.add_row(vec![
            target.kind.to_string(),
            target.shown(),
            "left (not managed by kscope)".into(),
        ]);
    }
    let mut text = finish(&table);
    if report.namespace_fate != NamespaceFate::Deleted {
        text.push_str(&namespace_fate(
            report.namespace_fate,
            &report.namespace,
            false,
        ));
        text.push('\n');
    }
    text.push_str(&match report.token_refused_after {
        Some(seconds) => format!("the old token is refused (401) after {seconds:.1}s\n"),
        None => "the token Secret was already gone, and its tokens with it\n".into(),
    });
    text.push_str(&match (report.every_token_refused_after, report.account_deleted) {
        (Some(seconds), _) => format!(
            "a token minted for the ServiceAccount just before is refused (401) after {seconds:.1}s: so is every token issued for it before (self-minted and --duration ones too)\n"
        ),
        (None, true) => "the ServiceAccount is deleted, which ends every token of it; kscope could not prove that by a 401, since you may not create serviceaccounts/token\n".into(),
        (None, false) => "the ServiceAccount was already gone, and every token of it with it\n".into(),
    });
    if !report.tenant_made.is_empty() && report.namespace_fate != NamespaceFate::Deleted {
        text.push_str("what the tenant made during the grant:\n");
        text.push_str(&tenant_made(&report.tenant_made));
        if let Some(seconds) = report.purged_refused_after {
            text.push_str(&format!(
                "purged: a token minted for each of its ServiceAccounts just before is refused (401), and the API server shows none of it holding access, after {seconds:.1}s\n"
            ));
        }
    }
    text
}
