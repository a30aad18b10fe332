//! `kscope grant` and `kscope apply`: what happened to each object, and to each tenant.

use super::{finish, plain, printable};
use crate::manifest::ObjectResult;
use crate::report::apply::TenantResult;

pub fn grant_results(rows: &[ObjectResult]) -> String {
    let mut table = plain(&["KIND", "NAME", "RESULT"]);
    for row in rows {
        table.add_row(vec![
            row.kind.to_string(),
            row.name.clone(),
            row.result.to_string(),
        ]);
    }
    finish(&table)
}

/// `kscope apply`: a row per tenant (and cluster, when several).
pub fn tenant_results(rows: &[TenantResult], with_context: bool) -> String {
    let mut header = vec!["NAMESPACE", "SERVICEACCOUNT", "ACCESS", "RESULT", "REASON"];
    if with_context {
        header.insert(0, "CONTEXT");
    }
    let mut table = plain(&header);
    for row in rows {
        let mut cells = vec![
            row.namespace.clone(),
            row.service_account.clone(),
            row.access.clone(),
            row.result.to_string(),
            printable(
                row.reason
                    .as_deref()
                    .or(row.delivered.as_deref())
                    .unwrap_or_default(),
            ),
        ];
        if with_context {
            cells.insert(0, row.context.clone());
        }
        table.add_row(cells);
    }
    finish(&table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Kind, Outcome};
    use crate::test_support::snapshot;

    #[test]
    fn grant_results_table() {
        let rows = [
            ObjectResult {
                kind: Kind::Namespace,
                name: "ask".into(),
                result: Outcome::Created,
            },
            ObjectResult {
                kind: Kind::ServiceAccount,
                name: "ask/ask-sa".into(),
                result: Outcome::Unchanged,
            },
        ];
        snapshot("grant_results", &grant_results(&rows));
    }
}
