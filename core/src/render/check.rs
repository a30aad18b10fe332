//! `kscope check`: the access matrix (built in one pass over the answers) and the line that
//! says why the check exits 3.

use std::collections::BTreeMap;

use comfy_table::{Attribute, Cell, CellAlignment, Color, ContentArrangement, Table, presets};

use super::printable;
use crate::access::{AccessCheck, Answer, AnsweredBy, Mode, VERBS};

/// Why `check` exits 3, in one line.
pub fn access_differs(report: &AccessCheck) -> String {
    format!(
        "access of {} differs from the grant: {} answer(s) differ{}{}{}",
        report.expected_identity(),
        report.mismatches().len(),
        if report.identity_matches() {
            ""
        } else {
            ", and the credential is someone else"
        },
        if report.binding_matches() {
            ""
        } else {
            ", and the RoleBinding binds something else than the grant records"
        },
        match report.open_paths().len() {
            0 => String::new(),
            n => format!(", and {n} path(s) out of the namespace are open"),
        }
    )
}

/// Why `check` exits 1 although nothing differs, in one line.
pub fn access_unproven(report: &AccessCheck) -> String {
    let mut parts = Vec::new();
    match report.unproven_answers().len() {
        0 => {}
        n => parts.push(format!(
            "{n} answer(s) the authorizer could not give (marked ?)"
        )),
    }
    match report.unproven_paths().len() {
        0 => {}
        n => parts.push(format!(
            "{n} path(s) out refused for a reason that does not prove them closed"
        )),
    }
    format!(
        "access of {} could not be proven: {}",
        report.expected_identity(),
        parts.join(", and ")
    )
}

/// `<mark> in <namespace>, <permission>: <words>` (or `(cluster)` for cluster scope).
fn answer_line(mark: char, answer: &Answer, words: &str) -> String {
    let scope = answer
        .probe
        .namespace
        .as_deref()
        .map_or("(cluster)".to_string(), |n| format!("in {n},"));
    format!(
        "{mark} {scope} {}: {}\n",
        answer.probe.permission,
        printable(words)
    )
}

/// The containment section under the matrix: each path out of the namespace as tried, and
/// the namespace's Pod Security level (said plainly when it is privileged).
fn containment(report: &AccessCheck) -> String {
    if report.containment.is_empty() {
        return String::new();
    }
    let mut text = String::from(
        "containment (tried as the ServiceAccount, as server-side dry runs that store nothing):\n",
    );
    for probe in &report.containment {
        let mark = match (probe.refused, probe.unproven) {
            (true, _) => "✓ refused",
            (false, true) => "? unproven",
            (false, false) => "! OPEN   ",
        };
        text.push_str(&format!(
            "  {mark}  {}: {}\n",
            probe.path,
            one_line(&probe.reason)
        ));
    }
    if !report.opened.is_empty() {
        text.push_str(&format!(
            "opened by the grant (--allow-service), not tried: {}\n",
            report.opened.join(", ")
        ));
    }
    match &report.pod_security {
        Some(level) if level.is_privileged() => text.push_str(&format!(
            "warning: namespace {}: {}\n",
            report.namespace,
            crate::spec::PRIVILEGED_WARNING
        )),
        Some(level) => text.push_str(&format!(
            "Pod Security of namespace {}: {level}\n",
            report.namespace
        )),
        None => text.push_str(&format!(
            "Pod Security of namespace {}: not enforced by a label (or not readable by you)\n",
            report.namespace
        )),
    }
    let (open, unproven) = (report.open_paths().len(), report.unproven_paths().len());
    let total = report.containment.len();
    text.push_str(&match (open, unproven) {
        (0, 0) => format!("all {total} paths out of the namespace are refused\n"),
        (0, u) => format!(
            "{} of {total} paths out of the namespace are refused; {u} not proven (marked ?)\n",
            total - u
        ),
        (n, 0) => format!("{n} of {total} paths out of the namespace are open (marked !)\n"),
        (n, u) => format!(
            "{n} of {total} paths out of the namespace are open (marked !); {u} not proven (marked ?)\n"
        ),
    });
    text
}

/// A server's message on one line, control characters escaped, long ones cut.
fn one_line(text: &str) -> String {
    let escaped: String = text.chars().flat_map(char::escape_default).collect();
    let escaped = escaped.replace("\\\"", "\"").replace("\\'", "'");
    if escaped.chars().count() > 200 {
        let cut: String = escaped.chars().take(200).collect();
        format!("{cut}…")
    } else {
        escaped
    }
}

/// The access matrix: a row per (namespace, resource), a column per verb; ✓ allowed,
/// ✗ denied, `!` where the answer differs from what the grant implies, `·` not asked. With
/// colour when `color` (a terminal without `NO_COLOR`): allowed in green, denied plain, a
/// mismatch red and bold. Without colour the text is the same.
pub fn check_matrix_styled(report: &AccessCheck, color: bool) -> String {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled);
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    // One pass over the answers: the columns (the usual verbs, then any other verb asked, such
    // as escalate or bind, in order), the rows in order of first appearance, and each cell.
    let mut verbs: Vec<&str> = VERBS.to_vec();
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row_of: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut cells: BTreeMap<(usize, &str), &Answer> = BTreeMap::new();
    for answer in &report.answers {
        let verb = answer.probe.permission.verb.as_str();
        if !verbs.contains(&verb) {
            verbs.push(verb);
        }
        let key = (
            answer
                .probe
                .namespace
                .clone()
                .unwrap_or_else(|| "(cluster)".into()),
            answer.probe.permission.qualified_resource(),
        );
        let row = *row_of.entry(key.clone()).or_insert_with(|| {
            rows.push(key);
            rows.len() - 1
        });
        cells.entry((row, verb)).or_insert(answer);
    }
    let mut header = vec!["NAMESPACE".to_string(), "RESOURCE".to_string()];
    header.extend(verbs.iter().map(|v| v.to_uppercase()));
    table.set_header(header);
    for (row, (scope, resource)) in rows.iter().enumerate() {
        let mut line = vec![Cell::new(scope), Cell::new(resource)];
        for verb in verbs.iter().copied() {
            line.push(match cells.get(&(row, verb)) {
                None => Cell::new("·"),
                Some(a) if a.unproven() => Cell::new("?").fg(Color::Yellow),
                Some(a) => {
                    let mark = if a.allowed { "✓" } else { "✗" };
                    match (a.matches(), a.allowed) {
                        (true, true) if a.probe.baseline => Cell::new("✓ b").fg(Color::Green),
                        (true, true) => Cell::new(mark).fg(Color::Green),
                        (true, false) => Cell::new(mark),
                        (false, _) => Cell::new(format!("{mark} !"))
                            .fg(Color::Red)
                            .add_attribute(Attribute::Bold),
                    }
                }
            });
        }
        table.add_row(line);
    }
    for column in 2..2 + verbs.len() {
        if let Some(c) = table.column_mut(column) {
            c.set_cell_alignment(CellAlignment::Center);
        }
    }
    let mut text = format!("identity: {}", printable(&report.identity));
    if !report.identity_matches() {
        text.push_str(&format!(" !  (expected {})", report.expected_identity()));
    }
    text.push('\n');
    if let Some(binding) = &report.binding {
        let actual = match &binding.actual {
            Some(Some(bound)) => bound.to_string(),
            Some(None) => "nothing (it is missing)".into(),
            None => "(not readable by you)".into(),
        };
        text.push_str(&format!(
            "binding: RoleBinding {} binds {}",
            binding.name,
            printable(&actual)
        ));
        if !binding.matches() {
            text.push_str(&format!(" !  (the grant's access is {})", binding.expected));
        }
        text.push('\n');
    }
    text.push_str(&table.to_string());
    text.push('\n');
    if report.answers.iter().any(|a| a.probe.baseline) {
        text.push_str(
            "b: allowed to every ServiceAccount by Kubernetes' own bindings (rbac-defaults), not by the grant\n",
        );
    }
    // Where access the grant does not explain comes from: the authorizer's own reason; and
    // what the authorizer could not decide, in its own words.
    for answer in report.answers.iter().filter(|a| a.unexpected_allow()) {
        let why = answer.reason.as_deref();
        text.push_str(&answer_line(
            '!',
            answer,
            why.unwrap_or("allowed (the server gave no reason)"),
        ));
    }
    for answer in report.unproven_answers() {
        let why = one_line(answer.evaluation_error.as_deref().unwrap_or_default());
        text.push_str(&answer_line('?', answer, &format!("not proven: {why}")));
    }
    let listed = report
        .answers
        .iter()
        .filter(|a| a.answered_by == AnsweredBy::SelfSubjectRulesReview)
        .count();
    let asked = report.answers.len() - listed;
    text.push_str(&match (report.mode, listed) {
        (Mode::AccessReviewEach, _) => format!(
            "answered as the ServiceAccount: {asked} by SelfSubjectAccessReview, one per question (--access-reviews)\n"
        ),
        (Mode::RulesReviewFirst, 0) => {
            format!("answered as the ServiceAccount: {asked} by SelfSubjectAccessReview\n")
        }
        _ => format!(
            "answered as the ServiceAccount: {listed} from the rules its SelfSubjectRulesReviews list, {asked} by SelfSubjectAccessReview\n"
        ),
    });
    text.push_str(&format!(
        "asked in namespaces: {}\n",
        printable(&report.namespaces.join(", "))
    ));
    if let Some(beyond) = &report.beyond_rbac {
        text.push_str(&format!(
            "authorization goes beyond RBAC (the rules review could not list everything: {}): {}\n",
            printable(&one_line(&beyond.evaluation_error)),
            match beyond.neighbours_asked.len() {
                0 => "no other ServiceAccount was asked about (the grant cannot act as one, or there is none)".to_string(),
                n => format!(
                    "{n} other ServiceAccount(s) the grant can act as asked about by SubjectAccessReview, {} question(s) each: {}",
                    beyond.questions,
                    printable(&beyond.neighbours_asked.join(", "))
                ),
            }
        ));
    }
    if !report.bindings_read {
        text.push_str(
            "not proved: other namespaces (you may not read the bindings there, so a namespace that some binding gives this ServiceAccount may be missing above)\n",
        );
    }
    let differing = report.mismatches().len();
    let unproven = report.unproven_answers().len();
    if differing == 0 && report.identity_matches() && report.binding_matches() {
        text.push_str(&match unproven {
            0 => format!("all {} answers match the grant\n", report.answers.len()),
            u => format!(
                "{} of {} answers match the grant; {u} could not be proven (marked ?)\n",
                report.answers.len() - u,
                report.answers.len()
            ),
        });
    } else {
        text.push_str(&format!(
            "{differing} of {} answers differ from the grant (marked !)\n",
            report.answers.len()
        ));
    }
    text.push_str(&containment(report));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::probes_in;
    use crate::templates;
    use crate::test_support::snapshot;

    /// The matrix without colour, as a pipe gets it.
    fn check_matrix(report: &AccessCheck) -> String {
        check_matrix_styled(report, false)
    }

    fn report(flip: Option<usize>) -> AccessCheck {
        let rules = templates::built_ins().remove(0).rules;
        let answers = probes_in("ask", &[], &[], &rules)
            .into_iter()
            .enumerate()
            .map(|(i, probe)| Answer {
                allowed: probe.expected != (Some(i) == flip),
                reason: None,
                // A difference is always asked again, one review for the one question.
                answered_by: if Some(i) == flip {
                    AnsweredBy::SelfSubjectAccessReview
                } else {
                    AnsweredBy::SelfSubjectRulesReview
                },
                evaluation_error: None,
                probe,
            })
            .collect();
        AccessCheck {
            namespace: "ask".into(),
            service_account: "ask-sa".into(),
            mode: Mode::RulesReviewFirst,
            identity: "system:serviceaccount:ask:ask-sa".into(),
            binding: None,
            answers,
            containment: Vec::new(),
            pod_security: Some(crate::spec::Enforced::parse("baseline")),
            namespaces: ["ask", "default", "kube-system"].map(String::from).to_vec(),
            bindings_read: true,
            beyond_rbac: None,
            credential: None,
            opened: Vec::new(),
        }
    }

    #[test]
    fn matching_matrix() {
        let r = report(None);
        assert!(r.all_match());
        snapshot("check_matrix_ok", &check_matrix(&r));
    }

    #[test]
    fn a_differing_answer_is_marked() {
        let r = report(Some(0));
        assert!(!r.all_match());
        let text = check_matrix(&r);
        assert!(text.contains("✗ !"), "{text}");
        assert!(text.contains("1 of 105 answers differ"), "{text}");
        snapshot("check_matrix_differs", &text);
    }

    #[test]
    fn an_answer_the_authorizer_could_not_give_is_neither_a_denial_nor_a_difference() {
        let mut r = report(None);
        let secrets = r
            .answers
            .iter_mut()
            .find(|a| {
                a.probe.namespace.as_deref() == Some("default")
                    && a.probe.permission.resource == "secrets"
                    && a.probe.permission.verb == "list"
            })
            .unwrap();
        secrets.evaluation_error = Some("webhook authorizer: the server responded with 500".into());
        assert!(r.all_match(), "unproven is not a difference");
        assert!(!r.proven());
        assert_eq!(
            crate::report::fleet::Verdict::of(&r),
            crate::report::fleet::Verdict::Unproven
        );
        let text = check_matrix(&r);
        assert!(
            text.contains("? in default, list secrets: not proven: webhook authorizer"),
            "{text}"
        );
        assert!(
            text.contains("104 of 105 answers match the grant; 1 could not be proven"),
            "{text}"
        );
        assert!(access_unproven(&r).contains("1 answer(s) the authorizer could not give"));
        let json = serde_json::to_value(&r).unwrap();
        assert!(
            json["answers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["evaluationError"].is_string())
        );
        // A difference wins.
        r.answers[0].allowed = !r.answers[0].allowed;
        assert_eq!(
            crate::report::fleet::Verdict::of(&r),
            crate::report::fleet::Verdict::Differs
        );
    }
}
