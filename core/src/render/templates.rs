//! `kscope templates`: the table with what each template reaches, and the documents of
//! `-o yaml|json`.

use serde::Serialize;

use super::{finish, plain};
use crate::containment::Reach;
use crate::templates::{Origin, Template};

pub fn templates(all: &[Template]) -> String {
    let mut table = plain(&["NAME", "SOURCE", "DESCRIPTION"]);
    let mut notes = String::new();
    for t in all {
        let source = match &t.origin {
            Origin::BuiltIn => "built-in".to_string(),
            Origin::File(path) => path.display().to_string(),
        };
        table.add_row(vec![t.name.clone(), source, t.description.clone()]);
        for reach in Reach::of(&t.rules).sentences(&t.rules) {
            notes.push_str(&format!("{}: {reach}\n", t.name));
        }
        for escalation in crate::templates::escalations(t) {
            notes.push_str(&format!(
                "{}: ESCALATES, refused without --allow-escalation: {escalation}\n",
                t.name
            ));
        }
    }
    let mut text = finish(&table);
    if !notes.is_empty() {
        text.push_str("\nWhat the templates really reach, beyond the resources they list:\n");
        text.push_str(&notes);
    }
    text
}

/// The templates with their rules, for `-o yaml|json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateDoc<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub source: String,
    pub rules: &'a [k8s_openapi::api::rbac::v1::PolicyRule],
    /// What its wildcard resources reach, in words.
    pub reach: Vec<&'static str>,
    /// Rules that let the tenant step outside its grant (refused without --allow-escalation).
    pub escalations: Vec<String>,
}

pub fn template_docs(all: &[Template]) -> Vec<TemplateDoc<'_>> {
    all.iter()
        .map(|t| TemplateDoc {
            name: &t.name,
            description: &t.description,
            source: match &t.origin {
                Origin::BuiltIn => "built-in".into(),
                Origin::File(p) => p.display().to_string(),
            },
            rules: &t.rules,
            reach: Reach::of(&t.rules).sentences(&t.rules),
            escalations: crate::templates::escalations(t),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::snapshot;

    #[test]
    fn templates_table() {
        snapshot(
            "templates_table",
            &templates(&crate::templates::built_ins()),
        );
    }
}
