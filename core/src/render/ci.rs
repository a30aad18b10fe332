//! The formats CI systems read, for `audit`, `check` and `check -f`: SARIF 2.1.0 (one run,
//! the rules with their help in `tool.driver`, one result per finding or difference with a
//! logical location naming the Kubernetes object and a fingerprint that stays the same from
//! run to run) and JUnit XML (a suite per command and context, a case per grant or rule).
//! Both are built as typed documents (`serde-sarif`, `quick-junit`), never as text.

use std::collections::BTreeMap;

use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};
use serde_json::Value;
use serde_sarif::sarif;

use super::{RenderError, Result};
use crate::access::AccessCheck;
use crate::audit::Finding;
use crate::catalog::{ObjectRef, Rule, Severity};
use crate::object::Kind;
use crate::report::fleet::{Item, Verdict};

/// One SARIF result: a finding, or one difference a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub rule: Rule,
    pub context: String,
    pub object: ObjectRef,
    pub message: String,
    /// What tells two results of one rule on one object apart, made from names (never from
    /// the message), so that it does not change from run to run or when a sentence is
    /// reworded.
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
            key: f.key.clone(),
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
    ObjectRef::namespaced(Kind::ServiceAccount, namespace, service_account)
}

/// The flags of one check: the identity, the binding, each differing answer, each open path.
pub fn report_flags(context: &str, report: &AccessCheck) -> Vec<Flag> {
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
        // The grant's RoleBinding is named after its ServiceAccount.
        let object = ObjectRef::namespaced(
            Kind::RoleBinding,
            &report.namespace,
            &report.service_account,
        );
        let message = match &binding.actual {
            Some(Some(bound)) => format!("binds {bound}, not {}", binding.expected),
            _ => format!("is missing (the grant is {})", binding.expected),
        };
        flags.push(flag(Rule::CheckBinding, &object, message, String::new()));
    }
    for answer in report.mismatches() {
        let probe = &answer.probe;
        let mut message = format!(
            "{} {} {}, the grant implies {}",
            if answer.allowed {
                "allowed:"
            } else {
                "denied:"
            },
            probe.permission,
            probe.scope(),
            if probe.expected { "allowed" } else { "denied" }
        );
        if let Some(why) = answer.reason.as_deref().filter(|r| !r.is_empty()) {
            message.push_str(&format!(" ({why})"));
        }
        flags.push(flag(Rule::CheckAccess, &sa, message, question_key(probe)));
    }
    for path in report.open_paths() {
        flags.push(flag(
            Rule::CheckPathOpen,
            &sa,
            format!("open: {}: {}", path.path, path.reason),
            path.path.key(),
        ));
    }
    for answer in report.unproven_answers() {
        let key = question_key(&answer.probe);
        flags.push(flag(Rule::CheckUnproven, &sa, answer.unproven_words(), key));
    }
    for path in report.unproven_paths() {
        let key = path.path.key();
        flags.push(flag(Rule::CheckUnproven, &sa, path.unproven_words(), key));
    }
    flags
}

/// A question by its parts: (namespace or `*` for cluster scope, group, resource, verb).
fn question_key(probe: &crate::access::Probe) -> String {
    format!(
        "{}:{}/{}/{}",
        probe.namespace.as_deref().unwrap_or("*"),
        probe.permission.group,
        probe.permission.resource,
        probe.permission.verb
    )
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

fn level(severity: Severity) -> sarif::ResultLevel {
    match severity {
        Severity::High => sarif::ResultLevel::Error,
        Severity::Medium => sarif::ResultLevel::Warning,
        Severity::Low => sarif::ResultLevel::Note,
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

/// A result's fingerprint: its rule, context, object and key, never its message.
fn fingerprint(flag: &Flag) -> String {
    fnv(&format!(
        "{}|{}|{}|{}",
        flag.rule.id(),
        flag.context,
        flag.object,
        flag.key
    ))
}

/// The key of `partialFingerprints` that holds [`fingerprint`].
// v2: from stable ids (rule, context, object, key), never the message; v1 hashed the
// message without its digits.
const FINGERPRINT: &str = "kscopeFinding/v2";

/// A property bag of named JSON values.
fn properties(values: impl IntoIterator<Item = (&'static str, Value)>) -> sarif::PropertyBag {
    sarif::PropertyBag::builder()
        .additional_properties(
            values
                .into_iter()
                .map(|(name, value)| (name.to_string(), value))
                .collect::<BTreeMap<_, _>>(),
        )
        .build()
}

/// What SARIF says of a rule: its sentence, its help with the fix, its level.
fn descriptor(rule: Rule) -> sarif::ReportingDescriptor {
    let about = rule.about();
    let means = || {
        sarif::MultiformatMessageString::builder()
            .text(about.means)
            .build()
    };
    let mut bag = properties([("severity", Value::from(about.severity.to_string()))]);
    bag.tags = Some(vec!["security".into(), "kubernetes".into(), "rbac".into()]);
    sarif::ReportingDescriptor::builder()
        .id(about.id)
        .name(about.id.trim_start_matches("KSCOPE-"))
        .short_description(means())
        .full_description(means())
        .help(
            sarif::MultiformatMessageString::builder()
                .text(format!("{} Fix: {}", about.means, about.fix))
                .markdown(format!("{}\n\n**Fix:** {}", about.means, about.fix))
                .build(),
        )
        .default_configuration(
            sarif::ReportingConfiguration::builder()
                .level(Value::from(level(about.severity).to_string()))
                .build(),
        )
        .properties(bag)
        .build()
}

/// One SARIF result: the rule, the object as a logical location, the fingerprint, and a
/// suppression when the finding was accepted.
fn result(rules: &[Rule], flag: &Flag) -> sarif::Result {
    let object = &flag.object;
    let qualified = match &object.namespace {
        Some(ns) => format!("{}/{ns}/{}/{}", flag.context, object.kind, object.name),
        None => format!("{}/{}/{}", flag.context, object.kind, object.name),
    };
    let location = sarif::Location::builder()
        .logical_locations(vec![
            sarif::LogicalLocation::builder()
                .name(object.name.as_str())
                .fully_qualified_name(qualified)
                .kind("resource")
                .build(),
        ])
        .build();
    let result = sarif::Result::builder()
        .rule_id(flag.rule.id())
        .level(level(flag.rule.severity()))
        .message(sarif::Message::from(
            format!("{object}: {}", flag.message).as_str(),
        ))
        .locations(vec![location])
        .partial_fingerprints(BTreeMap::from([(
            FINGERPRINT.to_string(),
            fingerprint(flag),
        )]))
        .properties(properties([
            ("context", Value::from(flag.context.as_str())),
            (
                "object",
                serde_json::to_value(object).unwrap_or(Value::Null),
            ),
        ]));
    let mut result = match &flag.suppressed {
        Some(reason) => result
            .suppressions(vec![
                sarif::Suppression::builder()
                    .kind(Value::from("external"))
                    .justification(reason.as_str())
                    .build(),
            ])
            .build(),
        None => result.build(),
    };
    result.rule_index = rules
        .iter()
        .position(|r| *r == flag.rule)
        .and_then(|i| i64::try_from(i).ok());
    result
}

/// A SARIF 2.1.0 log of one run of `command`, whose rules are `rules`.
pub fn sarif(command: &str, rules: &[Rule], flags: &[Flag]) -> Result<String> {
    let driver = sarif::ToolComponent::builder()
        .name("kscope")
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .version(env!("CARGO_PKG_VERSION"))
        .rules(rules.iter().map(|r| descriptor(*r)).collect::<Vec<_>>())
        .build();
    let run = sarif::Run::builder()
        .tool(sarif::Tool::from(driver))
        .automation_details(
            sarif::RunAutomationDetails::builder()
                .id(format!("kscope/{command}/"))
                .build(),
        )
        .results(
            flags
                .iter()
                .map(|flag| result(rules, flag))
                .collect::<Vec<_>>(),
        )
        .build();
    let log = sarif::Sarif::builder()
        .version(Value::from(sarif::Version::V2_1_0.to_string()))
        .schema("https://json.schemastore.org/sarif-2.1.0.json")
        .runs(vec![run])
        .build();
    super::json(&log)
}

/// One JUnit test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub classname: String,
    pub name: String,
    pub outcome: CaseOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseOutcome {
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
                outcome: CaseOutcome::Passed,
            });
        }
        for finding in mine {
            let outcome = match &finding.accepted {
                Some(a) if !a.expired => {
                    CaseOutcome::Skipped(format!("accepted until {}: {}", a.expires, a.reason))
                }
                Some(a) => CaseOutcome::Failed {
                    message: format!(
                        "{} (its acceptance expired on {})",
                        finding.message, a.expires
                    ),
                    text: format!("{}\nFix: {}", finding.message, rule.about().fix),
                },
                None => CaseOutcome::Failed {
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
            Verdict::Ok => CaseOutcome::Passed,
            Verdict::Differs | Verdict::Missing => CaseOutcome::Failed {
                message: first,
                text: reasons.join("\n"),
            },
            Verdict::Failed | Verdict::Unproven => CaseOutcome::Error(first),
        },
    }
}

/// A case's status as quick-junit models it.
fn status(outcome: &CaseOutcome) -> TestCaseStatus {
    match outcome {
        CaseOutcome::Passed => TestCaseStatus::success(),
        CaseOutcome::Failed { message, text } => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(message)
                .set_type("difference")
                .set_description(text);
            status
        }
        CaseOutcome::Skipped(why) => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(why);
            status
        }
        CaseOutcome::Error(why) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status
                .set_message(why)
                .set_type("unproven")
                .set_description(why);
            status
        }
    }
}

fn junit_error(detail: impl std::fmt::Display) -> RenderError {
    RenderError {
        format: "JUnit XML",
        detail: detail.to_string(),
    }
}

/// JUnit XML of `suites`. quick-junit counts the tests, failures, errors and skips, and drops
/// what XML 1.0 cannot hold or a terminal would act on from cluster data (escape sequences,
/// control characters, tabs among them); newlines are kept.
pub fn junit(suites: &[Suite]) -> Result<String> {
    let mut report = JunitReport::new("kscope");
    for suite in suites {
        let mut test_suite = TestSuite::new(&suite.name);
        for case in &suite.cases {
            let mut test_case = TestCase::new(&case.name, status(&case.outcome));
            test_case.set_classname(&case.classname);
            test_suite.add_test_case(test_case);
        }
        report.add_test_suite(test_suite);
    }
    let xml = report.to_string().map_err(junit_error)?;
    newlines_in_attributes(&xml)
}

/// `xml` with every tab, newline and carriage return inside an attribute value written as a
/// character reference. quick-junit's writer leaves them raw, and a conforming parser
/// normalises a raw one to a space (XML 1.0, 3.3.3), so a multi-line message would reach a
/// CI system as one line. Everything else passes through as it was written.
fn newlines_in_attributes(xml: &str) -> Result<String> {
    use quick_xml::events::{BytesStart, Event};
    let reescape = |tag: &BytesStart| -> Result<BytesStart<'static>> {
        let mut out = tag.to_owned();
        out.clear_attributes();
        for attribute in tag.attributes() {
            let attribute = attribute.map_err(junit_error)?;
            // The value as written: already escaped, so a `&` in it starts an entity and no
            // literal `&#10;` can be there to be mistaken for one.
            let mut value = Vec::with_capacity(attribute.value.len());
            for byte in attribute.value.iter() {
                match byte {
                    b'\t' => value.extend_from_slice(b"&#9;"),
                    b'\n' => value.extend_from_slice(b"&#10;"),
                    b'\r' => value.extend_from_slice(b"&#13;"),
                    other => value.push(*other),
                }
            }
            out.push_attribute((attribute.key.as_ref(), value.as_slice()));
        }
        Ok(out)
    };
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(xml.len()));
    loop {
        let event = match reader.read_event().map_err(junit_error)? {
            Event::Eof => break,
            Event::Start(tag) => Event::Start(reescape(&tag)?),
            Event::Empty(tag) => Event::Empty(reescape(&tag)?),
            other => other,
        };
        writer.write_event(event).map_err(junit_error)?;
    }
    String::from_utf8(writer.into_inner()).map_err(junit_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{PathOut, PathProbe};

    /// The message attribute of every `failure` element of `xml`, read as a conforming XML
    /// parser reads it (attribute-value normalisation included).
    fn failure_messages(xml: &str) -> Vec<String> {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_str(xml);
        let mut found = Vec::new();
        loop {
            match reader.read_event().unwrap() {
                Event::Eof => break,
                Event::Start(tag) | Event::Empty(tag) if tag.name().as_ref() == b"failure" => {
                    for attribute in tag.attributes() {
                        let attribute = attribute.unwrap();
                        if attribute.key.as_ref() == b"message" {
                            let value = attribute
                                .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                                .unwrap();
                            found.push(value.into_owned());
                        }
                    }
                }
                _ => {}
            }
        }
        found
    }

    fn failed(message: &str, text: &str) -> Suite {
        Suite {
            name: "kscope check (dev)".into(),
            cases: vec![Case {
                classname: "kscope.check.dev".into(),
                name: "team/ci".into(),
                outcome: CaseOutcome::Failed {
                    message: message.into(),
                    text: text.into(),
                },
            }],
        }
    }

    #[test]
    fn a_newline_in_a_message_survives_a_junit_attribute_round_trip() {
        let message = "RoleBinding team/ci is missing\nand the credential is someone else <&\"'>";
        let xml = junit(&[failed(message, "line one\nline two")]).unwrap();
        assert_eq!(failure_messages(&xml), [message], "{xml}");
        // The body keeps its lines too, and quick-junit reads the whole document back.
        let read = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        let case = &read.test_suites[0].test_cases[0];
        match &case.status {
            TestCaseStatus::NonSuccess {
                message: Some(m),
                description: Some(d),
                ..
            } => {
                assert_eq!(m.as_str(), message);
                assert_eq!(d.as_str(), "line one\nline two");
            }
            other => panic!("{other:?}"),
        }
    }

    /// Why [`newlines_in_attributes`] exists: quick-junit alone writes the newline raw, and
    /// a conforming parser reads it as a space. (Should quick-junit change, this fails, and
    /// the pass can go.)
    #[test]
    fn quick_junit_alone_leaves_a_newline_raw_in_an_attribute() {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_message("one\ntwo");
        let mut suite = TestSuite::new("s");
        suite.add_test_case(TestCase::new("c", status));
        let mut report = JunitReport::new("kscope");
        report.add_test_suite(suite);
        let raw = report.to_string().unwrap();
        assert_eq!(failure_messages(&raw), ["one two"], "{raw}");
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
                case("a/ci", CaseOutcome::Passed),
                case(
                    "b/ci",
                    CaseOutcome::Failed {
                        message: "RoleBinding b/ci is missing".into(),
                        text: "x".into(),
                    },
                ),
                case("c/ci", CaseOutcome::Skipped("accepted".into())),
                case("d/ci", CaseOutcome::Error("timed out \u{1b}[31m".into())),
            ],
        }])
        .unwrap();
        let read = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        let suite = &read.test_suites[0];
        assert_eq!(suite.name.as_str(), "kscope check (dev)");
        assert_eq!(
            (suite.tests, suite.failures, suite.errors, suite.skipped),
            (4, 1, 1, 1),
            "{xml}"
        );
        assert_eq!((read.tests, read.failures), (4, 1), "{xml}");
        assert!(xml.contains("type=\"difference\""), "{xml}");
        assert!(!xml.contains('\u{1b}'), "{xml}");
    }

    /// A RoleBinding in namespace `namespace` named `name`.
    fn binding(namespace: &str, name: &str) -> ObjectRef {
        ObjectRef::namespaced(Kind::RoleBinding, namespace, name)
    }

    fn flag(message: &str, object: ObjectRef) -> Flag {
        Flag {
            rule: Rule::MissingServiceAccount,
            context: "dev".into(),
            object,
            message: message.into(),
            key: "ServiceAccount team/gone".into(),
            suppressed: None,
        }
    }

    /// The fingerprint of the first result of a SARIF log.
    fn printed(flags: &[Flag]) -> Value {
        let log: Value =
            serde_json::from_str(&sarif("audit", &Rule::AUDIT, flags).unwrap()).unwrap();
        log["runs"][0]["results"][0]["partialFingerprints"][FINGERPRINT].clone()
    }

    #[test]
    fn a_fingerprint_survives_a_reworded_message() {
        let before = flag("binds ServiceAccount team/gone", binding("team", "ghost"));
        let after = flag(
            "names ServiceAccount team/gone, which nobody made",
            binding("team", "ghost"),
        );
        assert_eq!(fingerprint(&before), fingerprint(&after));
        assert_eq!(printed(&[before]), printed(&[after]));
        // Findings too: the key comes from where each finding is made, not from its words.
        let finding = |message: &str| {
            Finding::new(
                Rule::TokenUnused,
                ObjectRef::namespaced(Kind::Secret, "team", "ci"),
                Some("team".into()),
                "ServiceAccount team/ci".into(),
                message.into(),
            )
        };
        let day1 = finding_flags("dev", &[finding("is 31 days old and was never used")]);
        let day2 = finding_flags("dev", &[finding("turned 32 days old, never used")]);
        assert_eq!(printed(&day1), printed(&day2));
        // And open paths: their id, not their sentence.
        let path = PathProbe {
            path: PathOut::NamespaceRelabel {
                namespace: "team".into(),
                home: true,
            },
            expected: "refused",
            refused: false,
            unproven: false,
            reason: "the server would store it".into(),
        };
        let mut reworded = path.clone();
        reworded.reason = "admitted by the dry run".into();
        let open = |path: PathProbe| {
            let report = AccessCheck {
                namespace: "team".into(),
                service_account: "ci".into(),
                mode: crate::access::Mode::RulesReviewFirst,
                identity: "system:serviceaccount:team:ci".into(),
                binding: None,
                answers: Vec::new(),
                containment: vec![path],
                pod_security: None,
                namespaces: vec!["team".into()],
                bindings_read: true,
                beyond_rbac: None,
                credential: None,
                opened: Vec::new(),
            };
            report_flags("dev", &report)
        };
        let (a, b) = (open(path), open(reworded));
        assert_ne!(a[0].message, b[0].message);
        assert_eq!(fingerprint(&a[0]), fingerprint(&b[0]));
        assert_eq!(a[0].key, "namespace-relabel:team");
    }

    #[test]
    fn a_fingerprint_changes_with_the_object_rule_context_or_key() {
        let base = flag("binds ServiceAccount team/gone", binding("team", "ghost"));
        let other_object = flag("binds ServiceAccount team/gone", binding("team", "phantom"));
        assert_ne!(fingerprint(&base), fingerprint(&other_object));
        assert_ne!(
            printed(std::slice::from_ref(&base)),
            printed(&[other_object])
        );
        let other_namespace = flag("binds ServiceAccount team/gone", binding("other", "ghost"));
        assert_ne!(fingerprint(&base), fingerprint(&other_namespace));
        let mut other_key = base.clone();
        other_key.key = "ServiceAccount team/left".into();
        assert_ne!(fingerprint(&base), fingerprint(&other_key));
        let mut other_context = base.clone();
        other_context.context = "prod".into();
        assert_ne!(fingerprint(&base), fingerprint(&other_context));
        let mut other_rule = base.clone();
        other_rule.rule = Rule::BroadGroupBinding;
        assert_ne!(fingerprint(&base), fingerprint(&other_rule));
        // FNV-1a is the same everywhere: pinned.
        assert_eq!(fnv(""), "cbf29ce484222325");
        assert_eq!(fnv("a"), "af63dc4c8601ec8c");
    }

    #[test]
    fn the_sarif_log_holds_rules_levels_locations_and_suppressions() {
        let mut accepted = flag("binds ServiceAccount team/gone", binding("team", "ghost"));
        accepted.suppressed = Some("kept on purpose (accepted until 2999-12-31)".into());
        let text = sarif("audit", &Rule::AUDIT, &[accepted]).unwrap();
        let log: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(log["version"], "2.1.0");
        let run = &log["runs"][0];
        assert_eq!(run["automationDetails"]["id"], "kscope/audit/");
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), Rule::AUDIT.len());
        assert_eq!(rules[0]["id"], "KSCOPE-POWERFUL-TOKEN");
        assert_eq!(rules[0]["name"], "POWERFUL-TOKEN");
        assert_eq!(rules[0]["defaultConfiguration"]["level"], "error");
        assert!(
            rules[0]["help"]["markdown"]
                .as_str()
                .unwrap()
                .contains("**Fix:**")
        );
        assert_eq!(rules[0]["properties"]["severity"], "high");
        assert_eq!(rules[0]["properties"]["tags"][0], "security");
        let result = &run["results"][0];
        assert_eq!(result["ruleId"], "KSCOPE-MISSING-SERVICEACCOUNT");
        assert_eq!(result["ruleIndex"], 6);
        assert_eq!(result["level"], "warning");
        assert_eq!(
            result["message"]["text"],
            "RoleBinding team/ghost: binds ServiceAccount team/gone"
        );
        let location = &result["locations"][0]["logicalLocations"][0];
        assert_eq!(location["name"], "ghost");
        assert_eq!(location["kind"], "resource");
        assert_eq!(location["fullyQualifiedName"], "dev/team/RoleBinding/ghost");
        assert_eq!(result["suppressions"][0]["kind"], "external");
        assert_eq!(
            result["suppressions"][0]["justification"],
            "kept on purpose (accepted until 2999-12-31)"
        );
        assert_eq!(result["properties"]["context"], "dev");
        assert_eq!(result["properties"]["object"]["kind"], "RoleBinding");
        assert_eq!(result["properties"]["object"]["namespace"], "team");
        assert!(result["partialFingerprints"][FINGERPRINT].is_string());
    }
}
