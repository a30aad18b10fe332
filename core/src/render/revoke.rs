//! `kscope revoke`: what it is about to do (and `--dry-run` shows), and what it did.

use super::{finish, plain};
use crate::report::revoke::{NamespaceFate, Revocation, Survey};

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
    text
}
