//! Renderers: tables, YAML and JSON as strings, one file per report beside the machine
//! envelopes here. Nothing here prints or talks to a cluster, and tables never depend on the
//! terminal, so output is the same on a terminal and in a pipe.

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

pub use crate::text::printable;

/// A renderer that could not serialize its report: a bug in kscope, never bad input.
#[derive(Debug, thiserror::Error)]
#[error("could not render {format}: {detail}")]
pub struct RenderError {
    format: &'static str,
    detail: String,
}

pub type Result<T> = std::result::Result<T, RenderError>;

/// How a command prints what it reports: a kubectl-style table, or the object as YAML or
/// JSON. (The command line's `-o` converts into it.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Table,
    Yaml,
    Json,
}

mod check;
mod ci;
mod credential;
mod fleet;
mod grant;
mod list;
mod revoke;
mod templates;

pub use check::{access_differs, access_unproven, check_matrix_styled};
pub use ci::{
    Flag, Suite, audit_suite, check_case, finding_flags, item_flags, junit, report_flags, sarif,
};
pub use credential::{endpoint_warning, expiry_notes};
pub use fleet::{ListWriter, Row, check_rows};
pub use grant::{grant_results, tenant_results};
pub use list::{findings, grant_list};
pub use revoke::{revocation, revocation_preview};
pub use templates::{template_docs, templates};

/// The API version of kscope's machine output (`-o json|yaml`).
pub const API_VERSION: &str = "kscope.dev/v1alpha1";

pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| RenderError {
            format: "JSON",
            detail: e.to_string(),
        })
}

pub fn yaml<T: Serialize>(value: &T) -> Result<String> {
    serde_saphyr::to_string(value).map_err(|e| RenderError {
        format: "YAML",
        detail: e.to_string(),
    })
}

/// A list the way Kubernetes prints one: `{apiVersion, kind: <Kind>List, items}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct List<'a, T: Serialize> {
    api_version: &'static str,
    kind: String,
    items: &'a [T],
}

pub fn list<'a, T: Serialize>(kind: &str, items: &'a [T]) -> List<'a, T> {
    List {
        api_version: API_VERSION,
        kind: format!("{kind}List"),
        items,
    }
}

/// A single object the way Kubernetes prints one: `{apiVersion, kind, ...fields}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Object<'a, T: Serialize> {
    api_version: &'static str,
    kind: &'static str,
    #[serde(flatten)]
    fields: &'a T,
}

pub fn object<'a, T: Serialize>(kind: &'static str, fields: &'a T) -> Object<'a, T> {
    Object {
        api_version: API_VERSION,
        kind,
        fields,
    }
}

/// Data in the chosen format: `table` renders the table, the others serialize `value`.
pub fn as_output<T: Serialize>(
    output: impl Into<Format>,
    value: &T,
    table: impl FnOnce() -> String,
) -> Result<String> {
    match output.into() {
        Format::Table => Ok(table()),
        Format::Yaml => yaml(value),
        Format::Json => json(value),
    }
}

/// kubectl-style columns: no borders, header in capitals.
fn plain(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.to_vec());
    table
}

fn finish(table: &Table) -> String {
    // comfy-table pads every line to the column widths; trailing blanks help nobody. Each
    // line is made printable too: cells hold names and messages from the cluster.
    let mut text: String = table
        .to_string()
        .lines()
        .map(|l| printable(l.trim_end().trim_start_matches(' ')) + "\n")
        .collect();
    if text.is_empty() {
        text.push('\n');
    }
    text
}

/// An age as kubectl prints one: the largest unit and, below ten of it, the next ("3d4h").
pub fn age(seconds: i64) -> String {
    let seconds = seconds.max(0) as u64;
    let units = [
        (86_400 * 365, "y"),
        (86_400, "d"),
        (3600, "h"),
        (60, "m"),
        (1, "s"),
    ];
    for (i, (size, unit)) in units.iter().enumerate() {
        if seconds >= *size {
            let (n, rest) = (seconds / size, seconds % size);
            let mut text = format!("{n}{unit}");
            if let Some((next, next_unit)) = units.get(i + 1)
                && n < 10
                && rest / next > 0
            {
                text.push_str(&format!("{}{next_unit}", rest / next));
            }
            return text;
        }
    }
    "0s".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(age(-5), "0s");
        assert_eq!(age(42), "42s");
        assert_eq!(age(323), "5m23s");
        assert_eq!(age(3600 * 30), "1d6h");
        assert_eq!(age(86_400 * 12 + 3600), "12d");
    }
}
