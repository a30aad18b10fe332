//! The formats CI systems read, for `audit`, `check` and `check -f`: SARIF 2.1.0 (one run,
//! the rules with their help in `tool.driver`, one result per finding or difference with a
//! logical location naming the Kubernetes object and a fingerprint that stays the same from
//! run to run) and JUnit XML (a suite per command and context, a case per grant or rule).

use serde_json::{Value, json};

use super::Result;
use crate::access::Report;
use crate::audit::Finding;
use crate::catalog::{ObjectRef, Rule, Severity};
use crate::report::fleet::{Item, Verdict};

/// One SARIF result: a finding, or one difference a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub rule: Rule,
    pub context: String,
    pub object: ObjectRef,
    pub message: String,
    /// What tells two results of one rule on one object apart, and does not change from run
    /// to run (no ages, no counts).
    pub key: String,
    /// Accepted: the reason (SARIF's suppression justification).
    pub suppressed: Option<String>,
}

/// The flags of an audit's findings.
pub fn finding_flags(context: &str, found: &[Finding]) -> Vec<Flag> {
    found
        .iter()
        .map(|f| Flag {
            rule: f.rule,
            context: context.to_string(),
            object: f.target.clone(),
            message: match &f.accepted {
                Some(a) if a.expired => format!(
                    "{} (its acceptance expired on {}: {})",
                    f.message, a.expires, a.reason
                ),
                _ => f.message.clone(),
            },
            key: f.message.chars().filter(|c| !c.is_ascii_digit()).collect(),
            suppressed: f
                .accepted
                .as_ref()
                .filter(|a| !a.expired)
                .map(|a| format!("{} (accepted until {})", a.reason, a.expires)),
        })
        .collect()
}

/// The ServiceAccount a check is about.
fn account(namespace: &str, service_account: &str) -> ObjectRef {
    ObjectRef::named(&format!("ServiceAccount {namespace}/{service_account}"))
}

/// The flags of one check: the identity, the binding, each differing answer, each open path.
pub fn report_flags(context: &str, report: &Report) -> Vec<Flag> {
    let sa = account(&report.namespace, &report.service_account);
    let flag = |rule: Rule, object: &ObjectRef, message: String, key: String| Flag {
        rule,
        context: context.to_string(),
        object: object.clone(),
        message,
        key,
        suppressed: None,
    };
    let mut flags = Vec::new();
    if !report.identity_matches() {
        flags.push(flag(
            Rule::CheckIdentity,
            &sa,
            format!(
                "the credential is {}, not {}",
                report.identity,
                report.expected_identity()
            ),
            String::new(),
        ));
    }
    if let Some(binding) = report.binding.as_ref().filter(|b| !b.matches()) {
        let object = ObjectRef::named(&format!("RoleBinding {}", binding.name));
        let message = match &binding.actual {
            Some(Some(bound)) => format!("binds {bound}, not {}", binding.expected),
            _ => format!("is missing (the grant is {})", binding.expected),
        };
        flags.push(flag(Rule::CheckBinding, &object, message, String::new()));
    }
    for answer in report.mismatches() {
        let scope = answer.probe.scope();
        let question = format!("{} {scope}", answer.probe.permission);
        let mut message = format!(
            "{} {question}, the grant implies {}",
            if answer.allowed {
                "allowed:"
            } else {
                "denied:"
            },
            if answer.probe.expected {
                "allowed"
            } else {
                "denied"
            }
        );
        if let Some(why) = answer.reason.as_deref().filter(|r| !r.is_empty()) {
            message.push_str(&format!(" ({why})"));
        }
        flags.push(flag(Rule::CheckAccess, &sa, message, question));
    }
    for path in report.open_paths() {
        flags.push(flag(
            Rule::CheckPathOpen,
            &sa,
            format!("open: {}: {}", path.path, path.reason),
            path.path.clone(),
        ));
    }
    flags
}

/// The flags of one tenant of `check -f`.
pub fn item_flags(item: &Item) -> Vec<Flag> {
    match (&item.report, item.verdict) {
        (Some(report), _) => report_flags(&item.context, report),
        (None, verdict) => vec![Flag {
            rule: if verdict == Verdict::Missing {
                Rule::CheckMissing
            } else {
                Rule::CheckFailed
            },
            context: item.context.clone(),
            object: account(&item.namespace, &item.service_account),
            message: item.reasons.join("; "),
            key: String::new(),
            suppressed: None,
        }],
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// FNV-1a (64 bits): a fingerprint that is the same on every machine and in every release
/// (std's hasher promises neither).
fn fnv(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// A SARIF 2.1.0 log of one run of `command`, whose rules are `rules`.
pub fn sarif(command: &str, rules: &[Rule], flags: &[Flag]) -> Result<String> {
    let driver_rules: Vec<Value> = rules
        .iter()
        .map(|rule| {
            let about = rule.about();
            json!({
                "id": about.id,
                "name": about.id.trim_start_matches("KSCOPE-"),
                "shortDescription": {"text": about.means},
                "fullDescription": {"text": about.means},
                "help": {
                    "text": format!("{} Fix: {}", about.means, about.fix),
                    "markdown": format!("{}\n\n**Fix:** {}", about.means, about.fix),
                },
                "defaultConfiguration": {"level": level(about.severity)},
                "properties": {"tags": ["security", "kubernetes", "rbac"], "severity": about.severity},
            })
        })
        .collect();
    let results: Vec<Value> = flags
        .iter()
        .map(|flag| {
            let index = rules.iter().position(|r| *r == flag.rule);
            let qualified = match &flag.object.namespace {
                Some(ns) => format!(
                    "{}/{ns}/{}/{}",
                    flag.context, flag.object.kind, flag.object.name
                ),
                None => format!("{}/{}/{}", flag.context, flag.object.kind, flag.object.name),
            };
            let fingerprint = fnv(&format!(
                "{}|{}|{}|{}",
                flag.rule.id(),
                flag.context,
                flag.object.shown(),
                flag.key
            ));
            let mut result = json!({
                "ruleId": flag.rule.id(),
                "level": level(flag.rule.severity()),
                "message": {"text": format!("{}: {}", flag.object.shown(), flag.message)},
                "locations": [{
                    "logicalLocations": [{
                        "name": flag.object.name,
                        "fullyQualifiedName": qualified,
                        "kind": "resource",
                    }],
                }],
                "partialFingerprints": {"kscopeFinding/v1": fingerprint},
                "properties": {
                    "context": flag.context,
                    "object": {
                        "apiVersion": flag.object.api_version,
                        "kind": flag.object.kind,
                        "namespace": flag.object.namespace,
                        "name": flag.object.name,
                    },
                },
            });
            if let Some(index) = index {
                result["ruleIndex"] = json!(index);
            }
            if let Some(reason) = &flag.suppressed {
                result["suppressions"] = json!([{"kind": "external", "justification": reason}]);
            }
            result
        })
        .collect();
    let log = json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": {"driver": {
                "name": "kscope",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "version": env!("CARGO_PKG_VERSION"),
                "rules": driver_rules,
            }},
            "automationDetails": {"id": format!("kscope/{command}/")},
            "results": results,
        }],
    });
    super::json(&log)
}

/// One JUnit test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub classname: String,
    pub name: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// A finding or difference: the first line, then everything.
    Failed {
        message: String,
        text: String,
    },
    /// Accepted: why.
    Skipped(String),
    /// Could not be proven.
    Error(String),
}

/// One JUnit test suite: a command on one context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    pub name: String,
    pub cases: Vec<Case>,
}

/// The suite of an audit on one context: a passing case per rule with no finding, a case per
/// finding (a failure, or skipped when accepted).
pub fn audit_suite(context: &str, found: &[Finding]) -> Suite {
    let mut cases = Vec::new();
    for rule in Rule::AUDIT {
        let mine: Vec<&Finding> = found.iter().filter(|f| f.rule == rule).collect();
        if mine.is_empty() {
            cases.push(Case {
                classname: format!("kscope.audit.{}", rule.id()),
                name: rule.id().to_string(),
                outcome: Outcome::Passed,
            });
        }
        for finding in mine {
            let outcome = match &finding.accepted {
                Some(a) if !a.expired => {
                    Outcome::Skipped(format!("accepted until {}: {}", a.expires, a.reason))
                }
                Some(a) => Outcome::Failed {
                    message: format!(
                        "{} (its acceptance expired on {})",
                        finding.message, a.expires
                    ),
                    text: format!("{}\nFix: {}", finding.message, rule.about().fix),
                },
                None => Outcome::Failed {
                    message: finding.message.clone(),
                    text: format!("{}\nFix: {}", finding.message, rule.about().fix),
                },
            };
            cases.push(Case {
                classname: format!("kscope.audit.{}", rule.id()),
                name: format!("{} {}", rule.id(), finding.object),
                outcome,
            });
        }
    }
    Suite {
        name: format!("kscope audit ({context})"),
        cases,
    }
}

/// The case of one grant's check: passed, or failed with every reason.
pub fn check_case(
    context: &str,
    namespace: &str,
    service_account: &str,
    verdict: Verdict,
    reasons: &[String],
) -> Case {
    let first = reasons.first().cloned().unwrap_or_default();
    Case {
        classname: format!("kscope.check.{context}"),
        name: format!("{namespace}/{service_account}"),
        outcome: match verdict {
            Verdict::Ok => Outcome::Passed,
            Verdict::Differs | Verdict::Missing => Outcome::Failed {
                message: first,
                text: reasons.join("\n"),
            },
            Verdict::Failed => Outcome::Error(first),
        },
    }
}

/// JUnit XML of `suites`.
pub fn junit(suites: &[Suite]) -> String {
    let count = |suite: &Suite, f: fn(&Outcome) -> bool| {
        suite.cases.iter().filter(|c| f(&c.outcome)).count()
    };
    let failed = |o: &Outcome| matches!(o, Outcome::Failed { .. });
    let skipped = |o: &Outcome| matches!(o, Outcome::Skipped(_));
    let errored = |o: &Outcome| matches!(o, Outcome::Error(_));
    let total = |f: fn(&Outcome) -> bool| suites.iter().map(|s| count(s, f)).sum::<usize>();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str(&format!(
        "<testsuites name=\"kscope\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n",
        suites.iter().map(|s| s.cases.len()).sum::<usize>(),
        total(failed),
        total(errored),
        total(skipped),
    ));
    for suite in suites {
        xml.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n",
            escape(&suite.name),
            suite.cases.len(),
            count(suite, failed),
            count(suite, errored),
            count(suite, skipped),
        ));
        for case in &suite.cases {
            let open = format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                escape(&case.classname),
                escape(&case.name)
            );
            match &case.outcome {
                Outcome::Passed => xml.push_str(&format!("{open}/>\n")),
                Outcome::Failed { message, text } => xml.push_str(&format!(
                    "{open}>\n      <failure message=\"{}\" type=\"difference\">{}</failure>\n    </testcase>\n",
                    escape(message),
                    escape(text)
                )),
                Outcome::Skipped(why) => xml.push_str(&format!(
                    "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                    escape(why)
                )),
                Outcome::Error(why) => xml.push_str(&format!(
                    "{open}>\n      <error message=\"{}\" type=\"unproven\">{}</error>\n    </testcase>\n",
                    escape(why),
                    escape(why)
                )),
            }
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// Text as XML character data or an attribute value: the five special characters as
/// entities, and characters XML 1.0 cannot hold (most control characters) as `\u{…}`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_holds_any_text() {
        assert_eq!(
            escape("a<b & \"c\"\u{1b}"),
            "a&lt;b &amp; &quot;c&quot;\\u{1b}"
        );
    }

    #[test]
    fn junit_counts_each_outcome() {
        let case = |name: &str, outcome| Case {
            classname: "kscope.check.dev".into(),
            name: name.into(),
            outcome,
        };
        let xml = junit(&[Suite {
            name: "kscope check (dev)".into(),
            cases: vec![
                case("a/ci", Outcome::Passed),
                case(
                    "b/ci",
                    Outcome::Failed {
                        message: "RoleBinding b/ci is missing".into(),
                        text: "x".into(),
                    },
                ),
                case("c/ci", Outcome::Skipped("accepted".into())),
                case("d/ci", Outcome::Error("timed out".into())),
            ],
        }]);
        assert!(
            xml.contains("<testsuite name=\"kscope check (dev)\" tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\">"),
            "{xml}"
        );
    }

    #[test]
    fn a_fingerprint_ignores_ages_and_is_stable() {
        let finding = |message: &str| {
            Finding::new(
                Rule::TokenUnused,
                "Secret team/ci".into(),
                Some("team".into()),
                message.into(),
            )
        };
        let day1 = finding_flags("dev", &[finding("is 31 days old")]);
        let day2 = finding_flags("dev", &[finding("is 32 days old")]);
        let text1 = sarif("audit", &Rule::AUDIT, &day1).unwrap();
        let text2 = sarif("audit", &Rule::AUDIT, &day2).unwrap();
        let print = |text: &str| {
            let log: Value = serde_json::from_str(text).unwrap();
            log["runs"][0]["results"][0]["partialFingerprints"]["kscopeFinding/v1"].clone()
        };
        assert_eq!(print(&text1), print(&text2));
        assert_eq!(fnv("kscope"), fnv("kscope"));
        assert_ne!(fnv("a"), fnv("b"));
        let log: Value = serde_json::from_str(&text1).unwrap();
        assert_eq!(
            log["runs"][0]["results"][0]["ruleId"],
            "KSCOPE-TOKEN-UNUSED"
        );
        assert_eq!(log["runs"][0]["results"][0]["level"], "warning");
        assert_eq!(
            log["runs"][0]["tool"]["driver"]["rules"]
                .as_array()
                .unwrap()
                .len(),
            Rule::AUDIT.len()
        );
    }
}
