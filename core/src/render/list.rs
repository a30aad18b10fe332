//! `kscope list` and `kscope audit`: a row per grant, a row per finding.

use super::{age, finish, plain, printable};
use crate::audit::Finding;
use crate::expiry::CredentialKind;
use crate::grants::GrantRow;
use crate::spec::Enforced;

/// `kscope list`: a row per grant.
pub fn grant_list(rows: &[GrantRow], now: i64) -> String {
    if rows.is_empty() {
        return "No kscope grants found.\n".into();
    }
    // A column for the grants' other namespaces, when any grant has some.
    let also = rows.iter().any(|r| !r.also_in.is_empty());
    // A column for what grants open to their tenants, when any grant opens something.
    let opens = rows.iter().any(|r| !r.opens.is_empty());
    // A column for when access ends, when any grant holds a bound token.
    let expires = rows.iter().any(|r| {
        r.credential
            .as_ref()
            .is_some_and(|c| *c != CredentialKind::LongLived)
    });
    let mut header = vec![
        "NAMESPACE",
        "SERVICEACCOUNT",
        "ACCESS",
        "TOKEN",
        "LAST USED",
        "POD SECURITY",
        "STATUS",
    ];
    if expires {
        header.insert(4, "EXPIRES");
    }
    if opens {
        header.insert(3, "OPENS");
    }
    if also {
        header.insert(2, "ALSO IN");
    }
    let mut table = plain(&header);
    for row in rows {
        let mut cells = vec![
            row.namespace.clone(),
            row.service_account.clone(),
            row.access
                .as_ref()
                .map_or_else(|| "<unknown>".into(), ToString::to_string),
            row.token_created
                .map_or_else(|| "<none>".into(), |created| age(now - created)),
            row.last_used.clone().unwrap_or_else(|| "never".into()),
            row.pod_security
                .as_ref()
                .map_or_else(|| "none".into(), ToString::to_string),
            printable(&row.status.to_string()),
        ];
        if expires {
            cells.insert(4, expires_cell(row.credential.as_ref(), now));
        }
        if opens {
            cells.insert(3, printable(&row.opens.join(",")));
        }
        if also {
            cells.insert(2, row.also_in.join(","));
        }
        table.add_row(cells);
    }
    let mut text = finish(&table);
    let mut privileged: Vec<&str> = rows
        .iter()
        .filter(|r| r.pod_security.as_ref().is_some_and(Enforced::is_privileged))
        .map(|r| r.namespace.as_str())
        .collect();
    privileged.dedup();
    for namespace in privileged {
        text.push_str(&format!(
            "warning: namespace {namespace}: {}\n",
            crate::spec::PRIVILEGED_WARNING
        ));
    }
    text
}

/// When a grant's access ends: never (a long-lived token), in how long, or expired.
fn expires_cell(credential: Option<&CredentialKind>, now: i64) -> String {
    match credential {
        None => "<none>".into(),
        Some(CredentialKind::LongLived) => "never".into(),
        Some(kind) if kind.expired(now) => "expired".into(),
        Some(kind) => kind.expires().map_or_else(
            || "<unrecorded>".into(),
            |at| format!("in {}", age(at - now)),
        ),
    }
}

/// `kscope audit`: a row per finding, most severe first.
pub fn findings(found: &[Finding]) -> String {
    if found.is_empty() {
        return "No findings.\n".into();
    }
    let mut table = plain(&["SEVERITY", "RULE", "OBJECT", "FINDING"]);
    for finding in found {
        let mut message = finding.message.clone();
        match &finding.accepted {
            Some(a) if a.expired => message.push_str(&format!(
                " [its acceptance expired on {}: {}]",
                a.expires, a.reason
            )),
            Some(a) => message.push_str(&format!(" [accepted until {}: {}]", a.expires, a.reason)),
            None => {}
        }
        table.add_row(vec![
            finding.severity.to_string(),
            finding.rule.id().to_string(),
            printable(&finding.object),
            printable(&message),
        ]);
    }
    finish(&table)
}
