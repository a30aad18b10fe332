//! Renderers: tables, YAML and JSON as strings. Nothing here prints or talks to a cluster, and
//! tables never depend on the terminal, so output is the same on a terminal and in a pipe.

use comfy_table::{Attribute, Cell, CellAlignment, Color, ContentArrangement, Table, presets};
use serde::Serialize;

use crate::access::{AnsweredBy, Report, VERBS};
use crate::apply::TenantResult;
use crate::audit::Finding;
use crate::cli::Output;
use crate::credential::Expiry;
use crate::duration;
use crate::error::{Error, Result};
use crate::kubeconfig::Endpoint;
use crate::list::GrantRow;
use crate::manifest::ObjectResult;
use crate::revoke::{NamespaceFate, Report as RevokeReport, Survey};
use crate::templates::{Origin, Template};

/// The API version of kscope's machine output (`-o json|yaml`).
pub const API_VERSION: &str = "kscope.dev/v1alpha1";

pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| Error::bug(format!("could not render JSON: {e}")))
}

pub fn yaml<T: Serialize>(value: &T) -> Result<String> {
    serde_saphyr::to_string(value).map_err(|e| Error::bug(format!("could not render YAML: {e}")))
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
    output: Output,
    value: &T,
    table: impl FnOnce() -> String,
) -> Result<String> {
    match output {
        Output::Table => Ok(table()),
        Output::Yaml => yaml(value),
        Output::Json => json(value),
    }
}

/// What the API server made of an expiring token: when it ends, and whether it was shortened.
pub fn expiry_notes(expiry: &Expiry, now: i64) -> Vec<String> {
    let Some(expires) = expiry.expires_at else {
        return vec!["the token carries no expiry claim".into()];
    };
    let left = u64::try_from(expires - now).unwrap_or(0);
    let when = k8s_openapi::jiff::Timestamp::from_second(expires)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| expires.to_string());
    let mut notes = vec![format!(
        "the token expires at {when} (in {})",
        duration::format(left)
    )];
    if expiry.shortened() {
        notes.push(format!(
            "warning: the API server granted {} instead of the {} asked for (its --service-account-max-token-expiration); --strict-duration makes this an error",
            expiry.granted().map_or_else(|| "less".into(), duration::flag),
            duration::flag(expiry.requested)
        ));
    }
    notes
}

/// What a user must hear before trusting the kubeconfigs written for `endpoint`: they skip
/// TLS verification because the caller's own cluster entry does.
pub fn endpoint_warning(endpoint: &Endpoint) -> Option<String> {
    endpoint.insecure_skip_tls_verify.then(|| {
        format!(
            "warning: cluster {} skips TLS verification (insecure-skip-tls-verify in your kubeconfig), and so do the kubeconfigs kscope writes for it: anyone between them and the API server can take their token; give the cluster a certificate-authority instead",
            endpoint.cluster
        )
    })
}

/// The manual page of `command` and of each of its subcommands, in roff: the main page, then a
/// section per subcommand with its synopsis, description and options.
pub fn man_page(mut command: clap::Command) -> Result<String> {
    command.build();
    let bug = |e: std::io::Error| Error::bug(format!("could not render the manual page: {e}"));
    let mut out = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut out)
        .map_err(bug)?;
    let name = command.get_name().to_string();
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let man = clap_mangen::Man::new(sub.clone());
        let mut part = Vec::new();
        man.render_synopsis_section(&mut part).map_err(bug)?;
        man.render_description_section(&mut part).map_err(bug)?;
        man.render_options_section(&mut part).map_err(bug)?;
        out.extend_from_slice(
            format!(
                ".SH \"{} {}\"\n",
                name.to_uppercase(),
                sub.get_name().to_uppercase()
            )
            .as_bytes(),
        );
        // Sections of a subcommand are subsections of the page.
        out.extend_from_slice(
            String::from_utf8_lossy(&part)
                .replace(".SH ", ".SS ")
                .as_bytes(),
        );
    }
    let page = String::from_utf8(out).map_err(|e| Error::bug(e.to_string()))?;
    // The title line first, as man pages begin; the string definitions before it move after.
    let (title, rest): (Vec<&str>, Vec<&str>) = page.lines().partition(|l| l.starts_with(".TH "));
    Ok(title
        .into_iter()
        .chain(rest)
        .map(|l| format!("{l}\n"))
        .collect())
}

/// Why `check` exits 3, in one line.
pub fn access_differs(report: &Report) -> String {
    format!(
        "access of {} differs from the grant: {} answer(s) differ{}{}",
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
        }
    )
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
    // comfy-table pads every line to the column widths; trailing blanks help nobody.
    let mut text: String = table
        .to_string()
        .lines()
        .map(|l| l.trim_end().trim_start_matches(' ').to_string() + "\n")
        .collect();
    if text.is_empty() {
        text.push('\n');
    }
    text
}

pub fn grant_results(rows: &[ObjectResult]) -> String {
    let mut table = plain(&["KIND", "NAME", "RESULT"]);
    for row in rows {
        table.add_row(vec![
            row.kind.clone(),
            row.name.clone(),
            row.result.to_string(),
        ]);
    }
    finish(&table)
}

/// `kscope list`: a row per grant.
pub fn grant_list(rows: &[GrantRow], now: i64) -> String {
    if rows.is_empty() {
        return "No kscope grants found.\n".into();
    }
    let mut table = plain(&[
        "NAMESPACE",
        "SERVICEACCOUNT",
        "ACCESS",
        "TOKEN",
        "LAST USED",
        "STATUS",
    ]);
    for row in rows {
        table.add_row(vec![
            row.namespace.clone(),
            row.service_account.clone(),
            row.access.clone().unwrap_or_else(|| "<unknown>".into()),
            row.token_created
                .map_or_else(|| "<none>".into(), |created| age(now - created)),
            row.last_used.clone().unwrap_or_else(|| "never".into()),
            row.status.clone(),
        ]);
    }
    finish(&table)
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

/// `kscope audit`: a row per finding, most severe first.
pub fn findings(found: &[Finding]) -> String {
    if found.is_empty() {
        return "No findings.\n".into();
    }
    let mut table = plain(&["SEVERITY", "OBJECT", "FINDING"]);
    for finding in found {
        table.add_row(vec![
            finding.severity.to_string(),
            finding.object.clone(),
            finding.message.clone(),
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
            row.result.clone(),
            row.reason.clone().unwrap_or_default(),
        ];
        if with_context {
            cells.insert(0, row.context.clone());
        }
        table.add_row(cells);
    }
    finish(&table)
}

/// What `revoke` is about to do (and `--dry-run` shows).
pub fn revocation_preview(survey: &Survey) -> String {
    let mut text = format!(
        "Revoking {}/{} deletes, in this order:\n",
        survey.grant.namespace, survey.grant.service_account
    );
    for target in &survey.delete {
        text.push_str(&format!("  {} {}\n", target.kind, target.name));
    }
    for target in &survey.keep {
        text.push_str(&format!(
            "and leaves {} {} (kscope does not manage it)\n",
            target.kind, target.name
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
pub fn revocation(report: &RevokeReport) -> String {
    let mut table = plain(&["KIND", "NAME", "RESULT"]);
    for object in &report.objects {
        table.add_row(vec![
            object.kind.clone(),
            object.name.clone(),
            object.result.to_string(),
        ]);
    }
    for target in &report.left {
        table.add_row(vec![
            target.kind.to_string(),
            target.name.clone(),
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
    text
}

pub fn templates(all: &[Template]) -> String {
    let mut table = plain(&["NAME", "SOURCE", "DESCRIPTION"]);
    let mut notes = String::new();
    for t in all {
        let source = match &t.origin {
            Origin::BuiltIn => "built-in".to_string(),
            Origin::File(path) => path.display().to_string(),
        };
        table.add_row(vec![t.name.clone(), source, t.description.clone()]);
        for reach in crate::templates::reach(t) {
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
        text.push_str("\nWhat the templates reach beyond the resources they list:\n");
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
            reach: crate::templates::reach(t),
            escalations: crate::templates::escalations(t),
        })
        .collect()
}

/// The access matrix: a row per (namespace, resource), a column per verb; ✓ allowed,
/// ✗ denied, `!` where the answer differs from what the grant implies, `·` not asked.
pub fn check_matrix(report: &Report) -> String {
    check_matrix_styled(report, false)
}

/// The access matrix, with colour when `color` (a terminal without `NO_COLOR`): allowed in
/// green, denied plain, a mismatch red and bold. Without colour the text is the same.
pub fn check_matrix_styled(report: &Report, color: bool) -> String {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled);
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    // The usual verbs as columns, then any other verb asked (escalate, bind, …) in order.
    let mut verbs: Vec<&str> = VERBS.to_vec();
    for answer in &report.answers {
        let verb = answer.probe.permission.verb.as_str();
        if !verbs.contains(&verb) {
            verbs.push(verb);
        }
    }
    let mut header = vec!["NAMESPACE".to_string(), "RESOURCE".to_string()];
    header.extend(verbs.iter().map(|v| v.to_uppercase()));
    table.set_header(header);
    let mut rows: Vec<(String, String)> = Vec::new();
    for answer in &report.answers {
        let key = (
            answer
                .probe
                .namespace
                .clone()
                .unwrap_or_else(|| "(cluster)".into()),
            answer.probe.permission.qualified_resource(),
        );
        if !rows.contains(&key) {
            rows.push(key);
        }
    }
    for (scope, resource) in rows {
        let mut cells = vec![Cell::new(&scope), Cell::new(&resource)];
        for verb in verbs.iter().copied() {
            let found = report.answers.iter().find(|a| {
                a.probe
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "(cluster)".into())
                    == scope
                    && a.probe.permission.qualified_resource() == resource
                    && a.probe.permission.verb == verb
            });
            cells.push(match found {
                None => Cell::new("·"),
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
        table.add_row(cells);
    }
    for column in 2..2 + verbs.len() {
        if let Some(c) = table.column_mut(column) {
            c.set_cell_alignment(CellAlignment::Center);
        }
    }
    let mut text = format!("identity: {}", report.identity);
    if !report.identity_matches() {
        text.push_str(&format!(" !  (expected {})", report.expected_identity()));
    }
    text.push('\n');
    if let Some(binding) = &report.binding {
        let actual = match &binding.actual {
            Some(Some(bound)) => bound.clone(),
            Some(None) => "nothing (it is missing)".into(),
            None => "(not readable by you)".into(),
        };
        text.push_str(&format!(
            "binding: RoleBinding {} binds {actual}",
            binding.name
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
    // Where access the grant does not explain comes from: the authorizer's own reason.
    for answer in report.answers.iter().filter(|a| a.unexpected_allow()) {
        text.push_str(&format!(
            "! {} {}: {}\n",
            answer
                .probe
                .namespace
                .as_deref()
                .map_or("(cluster)".to_string(), |n| format!("in {n},")),
            answer.probe.permission,
            answer
                .reason
                .as_deref()
                .unwrap_or("allowed (the server gave no reason)")
        ));
    }
    let listed = report
        .answers
        .iter()
        .filter(|a| a.answered_by == AnsweredBy::SelfSubjectRulesReview)
        .count();
    let asked = report.answers.len() - listed;
    text.push_str(&match (listed, asked) {
        (0, _) => format!("answered as the ServiceAccount: {asked} by SelfSubjectAccessReview\n"),
        _ => format!(
            "answered as the ServiceAccount: {listed} from the rules its SelfSubjectRulesReviews list, {asked} by SelfSubjectAccessReview\n"
        ),
    });
    let differing = report.mismatches().len();
    if differing == 0 && report.identity_matches() && report.binding_matches() {
        text.push_str(&format!(
            "all {} answers match the grant\n",
            report.answers.len()
        ));
    } else {
        text.push_str(&format!(
            "{differing} of {} answers differ from the grant (marked !)\n",
            report.answers.len()
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Answer, probes};
    use crate::manifest::Outcome;
    use crate::templates;
    use crate::test_support::snapshot;

    fn report(flip: Option<usize>) -> Report {
        let rules = templates::built_ins().remove(0).rules;
        let answers = probes("ask", &rules)
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
                probe,
            })
            .collect();
        Report {
            namespace: "ask".into(),
            service_account: "ask-sa".into(),
            identity: "system:serviceaccount:ask:ask-sa".into(),
            binding: None,
            answers,
        }
    }

    #[test]
    fn skipping_tls_verification_is_warned_of_by_cluster() {
        let mut endpoint = Endpoint {
            cluster: "kind-dev".into(),
            server: "https://127.0.0.1:6443".into(),
            ca_pem: None,
            insecure_skip_tls_verify: true,
            tls_server_name: None,
            proxy_url: None,
        };
        let warning = endpoint_warning(&endpoint).unwrap();
        assert!(
            warning.contains("cluster kind-dev skips TLS verification"),
            "{warning}"
        );
        endpoint.insecure_skip_tls_verify = false;
        assert_eq!(endpoint_warning(&endpoint), None);
    }

    #[test]
    fn a_shortened_token_is_said_with_the_lifetime_granted() {
        let expiry = Expiry {
            requested: std::time::Duration::from_secs(7200),
            expires_at: Some(1_000_000 + 3600),
            issued_at: 1_000_000,
        };
        assert!(expiry.shortened());
        let notes = expiry_notes(&expiry, 1_000_000);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].ends_with("(in 1h)"), "{notes:?}");
        assert!(
            notes[1].contains("granted 1h instead of the 2h asked for"),
            "{notes:?}"
        );
        let full = Expiry {
            expires_at: Some(1_000_000 + 7200),
            ..expiry
        };
        assert!(!full.shortened());
        assert_eq!(expiry_notes(&full, 1_000_000).len(), 1);
    }

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(age(-5), "0s");
        assert_eq!(age(42), "42s");
        assert_eq!(age(323), "5m23s");
        assert_eq!(age(3600 * 30), "1d6h");
        assert_eq!(age(86_400 * 12 + 3600), "12d");
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
    fn grant_results_and_templates_tables() {
        let rows = [
            ObjectResult {
                kind: "Namespace".into(),
                name: "ask".into(),
                result: Outcome::Created,
            },
            ObjectResult {
                kind: "ServiceAccount".into(),
                name: "ask/ask-sa".into(),
                result: Outcome::Unchanged,
            },
        ];
        snapshot("grant_results", &grant_results(&rows));
        snapshot("templates_table", &templates(&templates::built_ins()));
    }
}
