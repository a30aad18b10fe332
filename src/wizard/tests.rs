//! The wizard's question flow, driven by a scripted user and an in-memory cluster.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::cli::{AccessArgs, WizardArgs};
use crate::plan::{self};
use kscope_core::spec::RoleSource;
use kscope_core::templates;

/// One scripted answer.
#[derive(Debug, Clone)]
enum Answer<'a> {
    Select(usize),
    Type(&'a str),
    Confirm(bool),
}
use Answer::{Confirm, Select, Type};

/// Answers from a script, like a user at dialoguer's prompts would: typed text that fails
/// validation is refused with the reason and the next answer is taken. When the script
/// runs out, the user pressed Ctrl-C.
struct Script<'a> {
    answers: VecDeque<Answer<'a>>,
    /// Prompts, notes and refusals, in order.
    seen: Vec<String>,
}

impl<'a> Script<'a> {
    fn new(answers: &[Answer<'a>]) -> Script<'a> {
        Script {
            answers: answers.iter().cloned().collect(),
            seen: Vec::new(),
        }
    }
    fn next(&mut self, prompt: &str) -> Result<Answer<'a>> {
        self.seen.push(format!("? {prompt}"));
        self.answers.pop_front().ok_or(Error::Interrupted)
    }
    fn saw(&self, text: &str) -> bool {
        self.seen.iter().any(|s| s.contains(text))
    }
}

impl Prompter for Script<'_> {
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize> {
        assert!(
            default < items.len(),
            "{prompt}: default {default} out of range"
        );
        match self.next(prompt)? {
            Select(i) => {
                assert!(i < items.len(), "{prompt}: no item {i} in {items:?}");
                self.seen.push(format!("> {}", items[i]));
                Ok(i)
            }
            other => panic!("{prompt}: a select, but the script says {other:?}"),
        }
    }
    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        validate: &dyn Fn(&str) -> std::result::Result<(), String>,
    ) -> Result<String> {
        loop {
            let text = match self.next(prompt)? {
                Type("") => default.unwrap_or_default().to_string(),
                Type(text) => text.to_string(),
                other => panic!("{prompt}: an input, but the script says {other:?}"),
            };
            match validate(&text) {
                Ok(()) => return Ok(text),
                Err(why) => self.seen.push(format!("✘ {why}")),
            }
        }
    }
    fn confirm(&mut self, prompt: &str, _default: bool) -> Result<bool> {
        match self.next(prompt)? {
            Confirm(yes) => Ok(yes),
            other => panic!("{prompt}: a confirm, but the script says {other:?}"),
        }
    }
    fn note(&mut self, text: &str) {
        self.seen.push(text.to_string());
    }
}

/// A cluster in memory.
#[derive(Default)]
struct Cluster {
    /// None: listing is forbidden.
    namespaces: Option<Vec<String>>,
    service_accounts: HashMap<String, Presence>,
    cluster_roles: Vec<&'static str>,
    asked: Vec<String>,
}

impl Facts for Cluster {
    fn namespaces(&mut self, context: &str) -> Result<Option<Vec<String>>> {
        self.asked.push(format!("namespaces@{context}"));
        Ok(self.namespaces.clone())
    }
    fn service_account(
        &mut self,
        _context: &str,
        namespace: &NamespaceName,
        name: &ServiceAccountName,
    ) -> Result<Presence> {
        Ok(*self
            .service_accounts
            .get(&format!("{namespace}/{name}"))
            .unwrap_or(&Presence::Absent))
    }
    fn cluster_role_exists(&mut self, _context: &str, name: &str) -> Result<Option<bool>> {
        Ok(Some(self.cluster_roles.contains(&name)))
    }
}

fn cluster() -> Cluster {
    Cluster {
        namespaces: Some(vec![
            "default".into(),
            "kube-system".into(),
            "team-b".into(),
        ]),
        cluster_roles: vec!["edit", "view", "admin"],
        ..Default::default()
    }
}

fn setup(preset: WizardPreset) -> Setup {
    Setup {
        contexts: vec![
            ContextEntry {
                name: "kind-dev".into(),
                server: "https://127.0.0.1:6443".into(),
            },
            ContextEntry {
                name: "prod".into(),
                server: "https://prod.example:6443".into(),
            },
        ],
        current: 0,
        context_given: false,
        kubeconfig_current: Some("kind-dev".into()),
        kubeconfig_path: None,
        templates: templates::built_ins(),
        template_dirs: Vec::new(),
        timeout: Duration::from_secs(60),
        preset,
    }
}

fn go(decision: Decision) -> Run {
    match decision {
        Decision::Go(run) => *run,
        Decision::Cancelled { .. } => panic!("cancelled"),
    }
}

fn wizard<'a>(
    preset: WizardPreset,
    facts: &mut Cluster,
    answers: &[Answer<'a>],
) -> (Result<Decision>, Script<'a>) {
    let mut script = Script::new(answers);
    let result = interview(&setup(preset), &mut script, facts);
    (result, script)
}

#[test]
fn answers_become_the_grant_and_the_flags_that_make_it() {
    let mut facts = cluster();
    let (result, script) = wizard(
        WizardPreset::default(),
        &mut facts,
        &[
            Select(0),                             // context kind-dev
            Select(0),                             // a new namespace
            Type("Team_A"),                        // refused: uppercase
            Type("team-a"),                        // accepted
            Type(""),                              // ServiceAccount: the default team-a-sa
            Select(2),                             // deployer
            Select(0),                             // Pod Security: baseline
            Select(1),                             // expiring
            Type("5m"),                            // refused: under 10 minutes
            Type(""),                              // the default, 24h
            Type("/nonexistent-dir/x.kubeconfig"), // refused: no such directory
            Type(""),                              // ./team-a-team-a-sa.kubeconfig
            Confirm(true),
        ],
    );
    let run = go(result.unwrap());
    assert!(
        script.saw("✘ invalid namespace name \"Team_A\": it contains the uppercase letter 'T'")
    );
    assert!(script.saw("✘ invalid --duration \"5m\": tokens must live at least 10 minutes"));
    assert!(script.saw("✘ the directory /nonexistent-dir does not exist"));
    assert!(script.saw("Namespace team-a will be created."));
    assert!(
        !script.saw("> kube-system"),
        "system namespaces are not offered"
    );
    assert_eq!(run.grant.spec.namespace.as_str(), "team-a");
    assert_eq!(run.grant.spec.service_account.as_str(), "team-a-sa");
    match &run.grant.spec.role {
        RoleSource::Template(t) => assert_eq!(t.name, "deployer"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        run.kubeconfig.token,
        TokenKind::Expiring(Duration::from_secs(24 * 3600))
    );
    assert_eq!(
        run.output().unwrap(),
        (Path::new("./team-a-team-a-sa.kubeconfig"), false)
    );
    assert_eq!(run.check.through.as_deref(), Some(run.output().unwrap().0));
    assert_eq!(run.context, "kind-dev");
    assert!(
        !run.command_line.contains("--context"),
        "the current context needs no flag"
    );
    assert_eq!(
        run.command_line,
        "kscope grant team-a team-a-sa --template deployer && \
         kscope kubeconfig team-a team-a-sa --duration 24h --output ./team-a-team-a-sa.kubeconfig && \
         kscope check team-a team-a-sa --kubeconfig-file ./team-a-team-a-sa.kubeconfig"
    );
    assert!(
        script.saw("kind: RoleBinding"),
        "the preview shows the manifests"
    );
    assert!(
        script.saw(&wrapped(&run.command_line)),
        "the preview shows the flags"
    );
    assert_eq!(facts.asked, ["namespaces@kind-dev"]);
}

#[test]
fn access_that_ends_is_a_grant_with_expires_and_no_duration() {
    let mut facts = cluster();
    let (result, script) = wizard(
        WizardPreset::default(),
        &mut facts,
        &[
            Select(0),      // context kind-dev
            Select(0),      // a new namespace
            Type("team-z"), // accepted
            Type("ci"),     // ServiceAccount
            Select(2),      // deployer
            Select(0),      // Pod Security: baseline
            Select(2),      // the grant's access ends
            Type("30d"),    // after 30 days
            Type(""),       // ./team-z-ci.kubeconfig
            Confirm(true),
        ],
    );
    let run = go(result.unwrap());
    assert_eq!(
        run.grant.spec.expires,
        Some(kscope_core::expiry::Expires::After(Duration::from_secs(
            30 * 86_400
        )))
    );
    assert_eq!(run.kubeconfig.token, TokenKind::LongLived);
    assert!(script.saw("a bound token: the grant's access ends after 30d"));
    assert_eq!(
        run.command_line,
        "kscope grant team-z ci --template deployer --expires 720h && \
         kscope kubeconfig team-z ci --output ./team-z-ci.kubeconfig && \
         kscope check team-z ci --kubeconfig-file ./team-z-ci.kubeconfig"
    );
}

#[test]
fn another_context_an_existing_namespace_and_a_cluster_role() {
    let mut facts = cluster();
    let (result, script) = wizard(
        WizardPreset::default(),
        &mut facts,
        &[
            Select(1), // prod
            Select(2), // team-b (after "new" and default; kube-system is hidden)
            Type("ci"),
            Select(5),   // an existing ClusterRole
            Select(3),   // another one, typed
            Type("a/b"), // refused
            Type("missing"),
            Select(5), // asked again: an existing ClusterRole
            Select(1), // view
            Select(0), // long-lived
            Type("out.kubeconfig"),
            Confirm(true),
        ],
    );
    let run = go(result.unwrap());
    assert_eq!(facts.asked, ["namespaces@prod"]);
    assert!(script.saw("✘ invalid --cluster-role \"a/b\""));
    assert!(script.saw("ClusterRole missing does not exist in this cluster"));
    assert!(script.saw("Namespace team-b exists: kscope leaves it as it is."));
    assert_eq!(run.grant.spec.role, RoleSource::ClusterRole("view".into()));
    assert_eq!(run.context, "prod");
    assert_eq!(run.kubeconfig.token, TokenKind::LongLived);
    assert_eq!(
        run.command_line,
        "kscope --context prod grant team-b ci --cluster-role view && \
         kscope --context prod kubeconfig team-b ci --output out.kubeconfig && \
         kscope --context prod check team-b ci --kubeconfig-file out.kubeconfig"
    );
}

#[test]
fn no_at_the_preview_cancels() {
    let (result, script) = wizard(
        WizardPreset::default(),
        &mut cluster(),
        &[
            Select(0),
            Select(0),
            Type("team-c"),
            Type("app"),
            Select(0),
            Select(0), // Pod Security: baseline
            Select(0),
            Type(""),
            Confirm(false),
        ],
    );
    match result.unwrap() {
        Decision::Cancelled { command_line } => {
            assert!(
                command_line.starts_with("kscope grant team-c app --template namespace-admin && ")
            )
        }
        Decision::Go(_) => panic!("went ahead after no"),
    }
    assert!(script.saw("? Create these objects and write the kubeconfig?"));
}

#[test]
fn ctrl_c_at_a_question_is_interrupted() {
    let (result, _) = wizard(
        WizardPreset::default(),
        &mut cluster(),
        &[Select(0), Select(0)],
    );
    assert!(matches!(result, Err(Error::Interrupted)));
}

#[test]
fn forbidden_listing_goes_straight_to_typing() {
    let mut facts = Cluster {
        namespaces: None,
        ..cluster()
    };
    let (result, script) = wizard(
        WizardPreset::default(),
        &mut facts,
        &[
            Select(0),
            Type("team-d"),
            Type("app"),
            Select(0),
            Select(0), // Pod Security: asked, since the namespace may be new
            Select(0),
            Type(""),
            Confirm(true),
        ],
    );
    assert_eq!(go(result.unwrap()).grant.spec.namespace.as_str(), "team-d");
    assert!(script.saw("You may not list namespaces here"));
    assert!(!script.saw("will be created"), "unknown without a list");
}

#[test]
fn a_service_account_kscope_does_not_manage_is_named_and_needs_consent() {
    let mut facts = cluster();
    facts
        .service_accounts
        .insert("team-b/builder".into(), Presence::NotManaged);
    facts
        .service_accounts
        .insert("team-b/ours".into(), Presence::Managed);
    let mut answers = vec![
        Select(0),
        Select(2),
        Type("builder"),
        Confirm(false),
        Type("ours"),
    ];
    answers.extend([Select(0), Select(0), Type(""), Confirm(true)]);
    let (result, script) = wizard(WizardPreset::default(), &mut facts, &answers);
    let run = go(result.unwrap());
    assert!(script.saw(
        "Warning: ServiceAccount team-b/builder already exists and kscope does not manage it \
         (it lacks the label app.kubernetes.io/managed-by=kscope)"
    ));
    assert!(script.saw("ServiceAccount team-b/ours exists and kscope manages it"));
    assert_eq!(run.grant.spec.service_account.as_str(), "ours");
    assert!(!run.grant.adopt);

    let answers = [Select(0), Select(2), Type("builder"), Confirm(true)];
    let answers: Vec<Answer> = answers
        .into_iter()
        .chain([Select(0), Select(0), Type(""), Confirm(true)])
        .collect();
    let (result, _) = wizard(WizardPreset::default(), &mut facts, &answers);
    let run = go(result.unwrap());
    assert!(run.grant.adopt);
    assert!(
        run.command_line
            .contains("grant team-b builder --template namespace-admin --adopt")
    );
}

#[test]
fn flags_answer_their_questions() {
    let args = WizardArgs {
        namespace: Some("team-e".into()),
        serviceaccount: Some("deploy".into()),
        access: AccessArgs {
            cluster_role: Some("edit".into()),
            ..Default::default()
        },
        duration: Some("8h".into()),
        output: Some("/tmp/kscope-wizard-unit/it's.kubeconfig".into()),
        force: true,
        pod_security: Some(crate::cli::PodSecurityLevel::Baseline),
        ..Default::default()
    };
    let preset = plan::wizard(&args).unwrap_err();
    assert!(preset.to_string().contains("does not exist"), "{preset}");

    let args = WizardArgs {
        output: Some("it's.kubeconfig".into()),
        ..args
    };
    let preset = plan::wizard(&args).unwrap();
    let mut setup = setup(preset);
    setup.context_given = true;
    let mut script = Script::new(&[Confirm(true)]);
    let run = go(interview(&setup, &mut script, &mut cluster()).unwrap());
    assert_eq!(
        script.seen.iter().filter(|s| s.starts_with("? ")).count(),
        1
    );
    assert!(script.saw("Context: kind-dev (https://127.0.0.1:6443)"));
    assert_eq!(
        run.command_line,
        "kscope grant team-e deploy --cluster-role edit && \
         kscope kubeconfig team-e deploy --duration 8h --output 'it'\\''s.kubeconfig' && \
         kscope check team-e deploy --kubeconfig-file 'it'\\''s.kubeconfig'"
    );
}

#[test]
fn an_existing_file_is_replaced_only_when_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    let taken = dir.path().join("taken.kubeconfig");
    std::fs::write(&taken, "old").unwrap();
    let fresh = dir.path().join("fresh.kubeconfig");
    let (taken_text, fresh_text) = (taken.to_str().unwrap(), fresh.to_str().unwrap());
    let dir_text = dir.path().to_str().unwrap();
    let start = [
        Select(0),
        Select(0),
        Type("team-f"),
        Type("app"),
        Select(0),
        Select(0), // Pod Security: baseline
        Select(0),
    ];

    let mut answers = start.to_vec();
    answers.extend([
        Type(dir_text), // a directory: refused
        Type(taken_text),
        Confirm(false), // keep it: asked again
        Type(fresh_text),
        Confirm(true),
    ]);
    let (result, script) = wizard(WizardPreset::default(), &mut cluster(), &answers);
    let run = go(result.unwrap());
    assert!(script.saw(&format!("✘ {dir_text} is a directory")));
    assert!(script.saw(&format!("? {taken_text} exists. Replace it?")));
    assert_eq!(run.output().unwrap(), (fresh.as_path(), false));

    let mut answers = start.to_vec();
    answers.extend([Type(taken_text), Confirm(true), Confirm(true)]);
    let (result, _) = wizard(WizardPreset::default(), &mut cluster(), &answers);
    let run = go(result.unwrap());
    assert_eq!(
        run.output().unwrap(),
        (taken.as_path(), true),
        "replacing needs --force"
    );
    assert!(
        run.command_line.contains(" --force && "),
        "{}",
        run.command_line
    );
    assert_eq!(
        std::fs::read_to_string(&taken).unwrap(),
        "old",
        "nothing written yet"
    );
}

#[test]
fn bad_flags_are_refused_before_any_question() {
    let cases = [
        (
            WizardArgs {
                namespace: Some("Nope".into()),
                ..Default::default()
            },
            "invalid namespace name",
        ),
        (
            WizardArgs {
                duration: Some("9m".into()),
                ..Default::default()
            },
            "at least 10 minutes",
        ),
        (
            WizardArgs {
                access: AccessArgs {
                    template: Some("nope".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
            "unknown template",
        ),
    ];
    for (args, why) in cases {
        let e = plan::wizard(&args).unwrap_err();
        assert!(e.to_string().contains(why), "{e}");
        assert_eq!(e.exit() as u8, 2);
    }
}

#[test]
fn the_refusal_spells_out_the_flags_with_placeholders() {
    let kubeconfig = Path::new("/home/me/my cluster.yaml");
    assert_eq!(
        for_preset(&WizardPreset::default(), Some(kubeconfig), None, &[]),
        "kscope --kubeconfig '/home/me/my cluster.yaml' grant <namespace> <serviceaccount> --template namespace-admin && \
         kscope --kubeconfig '/home/me/my cluster.yaml' kubeconfig <namespace> <serviceaccount> --output ./<namespace>-<serviceaccount>.kubeconfig && \
         kscope --kubeconfig '/home/me/my cluster.yaml' check <namespace> <serviceaccount> --kubeconfig-file ./<namespace>-<serviceaccount>.kubeconfig"
    );
    let preset = plan::wizard(&WizardArgs {
        namespace: Some("ask".into()),
        ..Default::default()
    })
    .unwrap();
    assert!(
        for_preset(&preset, None, Some("kind"), &[])
            .starts_with("kscope --context kind grant ask <serviceaccount> ")
    );
}

#[test]
fn a_user_template_is_named_by_name_when_its_directory_is_searched() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pods.yaml");
    std::fs::write(
        &file,
        "name: pods\ndescription: d\nrules: [{apiGroups: [''], resources: [pods], verbs: [get]}]\n",
    )
    .unwrap();
    let template = templates::load_file(&file).unwrap();
    let preset = WizardPreset {
        role: Some(RoleSource::Template(template)),
        ..Default::default()
    };
    let by_name = for_preset(&preset, None, None, &[dir.path().to_path_buf()]);
    assert!(by_name.contains("--template pods "), "{by_name}");
    let by_path = for_preset(&preset, None, None, &[]);
    assert!(
        by_path.contains(&format!("--template {} ", file.display())),
        "{by_path}"
    );
}
