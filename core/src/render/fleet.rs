//! `kscope check -f`: the list of AccessChecks, written item by item as the proofs come in
//! (a fleet's answers are never all held at once), and the table of one line per tenant.

use serde::Serialize;

use super::Format;
use super::Result;
use super::{API_VERSION, finish, json, plain, printable, yaml};
use crate::access::AccessCheck;
use crate::report::fleet::{Item, Verdict};

/// One item of the AccessCheckList: the AccessCheck `check` prints for the grant, with the
/// cluster it was proven on, its verdict and its first reasons.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    api_version: &'static str,
    kind: &'static str,
    context: &'a str,
    result: Verdict,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    reasons: &'a [String],
    #[serde(flatten)]
    body: Body<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Body<'a> {
    Proven(&'a AccessCheck),
    Unproven {
        namespace: &'a str,
        #[serde(rename = "serviceAccount")]
        service_account: &'a str,
    },
}

/// Writes an AccessCheckList in JSON or YAML a piece at a time: `begin`, then `item` for each
/// proof, then `end`. Concatenated, the pieces are one document.
pub struct ListWriter {
    output: Format,
    items: usize,
}

impl ListWriter {
    pub fn new(output: Format) -> ListWriter {
        ListWriter { output, items: 0 }
    }

    pub fn begin(&self) -> String {
        let kind = "AccessCheckList";
        match self.output {
            Format::Json => {
                format!(
                    "{{\n  \"apiVersion\": \"{API_VERSION}\",\n  \"kind\": \"{kind}\",\n  \"items\": ["
                )
            }
            _ => format!("apiVersion: {API_VERSION}\nkind: {kind}\nitems:"),
        }
    }

    pub fn item(&mut self, item: &Item) -> Result<String> {
        let document = Document {
            api_version: API_VERSION,
            kind: "AccessCheck",
            context: &item.context,
            result: item.verdict,
            reasons: &item.reasons,
            body: match &item.report {
                Some(report) => Body::Proven(report),
                None => Body::Unproven {
                    namespace: &item.namespace,
                    service_account: &item.service_account,
                },
            },
        };
        let first = self.items == 0;
        self.items += 1;
        Ok(match self.output {
            Format::Json => {
                let text = json(&document)?;
                let body = indent(text.trim_end(), "    ", "    ");
                format!("{}\n{body}", if first { "" } else { "," })
            }
            _ => {
                let text = yaml(&document)?;
                format!("\n{}", indent(text.trim_end(), "- ", "  "))
            }
        })
    }

    pub fn end(&self) -> String {
        match (self.output, self.items) {
            (Format::Json, 0) => "]\n}\n".into(),
            (Format::Json, _) => "\n  ]\n}\n".into(),
            (_, 0) => " []\n".into(),
            _ => "\n".into(),
        }
    }
}

/// Each line of `text` prefixed, the first with `first` and the others with `rest`.
fn indent(text: &str, first: &str, rest: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let prefix = if i == 0 { first } else { rest };
            if line.is_empty() {
                String::new()
            } else {
                format!("{prefix}{line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One line of the table, all a fleet's table keeps of a proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub context: String,
    pub namespace: String,
    pub service_account: String,
    pub verdict: Verdict,
    /// The first reason, and how many more there are.
    pub reason: Option<(String, usize)>,
}

impl Row {
    pub fn of(item: &Item) -> Row {
        Row {
            context: item.context.clone(),
            namespace: item.namespace.clone(),
            service_account: item.service_account.clone(),
            verdict: item.verdict,
            reason: item
                .reasons
                .first()
                .map(|first| (first.clone(), item.reasons.len() - 1)),
        }
    }
}

/// A line per tenant (with the cluster's context when `several`): its verdict and why.
pub fn check_rows(rows: &[Row], several: bool) -> String {
    let mut header = vec!["NAMESPACE", "SERVICEACCOUNT", "RESULT", "REASON"];
    if several {
        header.insert(0, "CONTEXT");
    }
    let mut table = plain(&header);
    for row in rows {
        let reason = match &row.reason {
            None => String::new(),
            Some((first, 0)) => printable(first),
            Some((first, more)) => format!("{} (+{more} more)", printable(first)),
        };
        let mut line = vec![
            row.namespace.clone(),
            row.service_account.clone(),
            row.verdict.to_string(),
            reason,
        ];
        if several {
            line.insert(0, row.context.clone());
        }
        table.add_row(line);
    }
    finish(&table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(verdict: Verdict, reasons: &[&str]) -> Item {
        Item {
            context: "dev".into(),
            namespace: "team-a".into(),
            service_account: "ci".into(),
            verdict,
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
            report: None,
        }
    }

    #[test]
    fn the_streamed_list_is_one_document() {
        for output in [Format::Json, Format::Yaml] {
            for count in [0, 1, 3] {
                let mut writer = ListWriter::new(output);
                let mut text = writer.begin();
                for i in 0..count {
                    let verdict = if i == 1 {
                        Verdict::Missing
                    } else {
                        Verdict::Ok
                    };
                    text.push_str(&writer.item(&item(verdict, &["why"])).unwrap());
                }
                text.push_str(&writer.end());
                let value: serde_json::Value = match output {
                    Format::Json => serde_json::from_str(&text).unwrap(),
                    _ => serde_saphyr::from_str(&text).unwrap(),
                };
                assert_eq!(value["kind"], "AccessCheckList", "{text}");
                let items = value["items"].as_array().unwrap();
                assert_eq!(items.len(), count, "{text}");
                for (i, item) in items.iter().enumerate() {
                    assert_eq!(item["kind"], "AccessCheck");
                    assert_eq!(item["context"], "dev");
                    assert_eq!(item["serviceAccount"], "ci");
                    let expected = if i == 1 { "missing" } else { "ok" };
                    assert_eq!(item["result"], expected, "{text}");
                }
            }
        }
    }

    #[test]
    fn a_row_says_the_first_reason_and_how_many_more() {
        let rows = [
            Row::of(&item(Verdict::Ok, &[])),
            Row::of(&item(
                Verdict::Differs,
                &["RoleBinding team-a/ci is missing", "b", "c"],
            )),
        ];
        let text = check_rows(&rows, true);
        assert!(text.starts_with("CONTEXT"), "{text}");
        assert!(
            text.contains("differs  RoleBinding team-a/ci is missing (+2 more)"),
            "{text}"
        );
    }
}
