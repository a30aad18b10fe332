//! Role templates: the built-ins compiled in from `templates/*.yaml`, and user templates from
//! `--template-dir` and `$XDG_CONFIG_HOME/kscope/templates`.
//!
//! A template is YAML with a `name`, a one-line `description` and Role `rules`. This module
//! parses and validates them; it never talks to a cluster.

use std::path::{Path, PathBuf};

use k8s_openapi::api::rbac::v1::PolicyRule;
use serde::Deserialize;

use crate::invalid::Invalid;
use crate::names;

/// The built-in templates, in the order `kscope templates` lists them.
const BUILT_INS: [(&str, &str); 5] = [
    (
        "namespace-admin",
        include_str!("../../templates/namespace-admin.yaml"),
    ),
    ("developer", include_str!("../../templates/developer.yaml")),
    ("deployer", include_str!("../../templates/deployer.yaml")),
    ("read-only", include_str!("../../templates/read-only.yaml")),
    ("gitops", include_str!("../../templates/gitops.yaml")),
];

/// The default template: the walkthrough's role.
pub const DEFAULT: &str = "namespace-admin";

/// Verbs that let a subject step outside what it was given; no built-in grants them.
pub const ESCALATION_VERBS: [&str; 3] = ["bind", "escalate", "impersonate"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    BuiltIn,
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub name: String,
    pub description: String,
    pub rules: Vec<PolicyRule>,
    pub origin: Origin,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    name: String,
    description: String,
    rules: Vec<PolicyRule>,
}

/// Parses and validates one template document. `source` names it in errors.
pub fn parse(text: &str, origin: Origin) -> Result<Template, Invalid> {
    let source = match &origin {
        Origin::BuiltIn => "built-in template".to_string(),
        Origin::File(path) => format!("template file {}", path.display()),
    };
    let bad = |reason: String| Invalid::BadTemplate {
        source_name: source.clone(),
        reason,
    };
    let file: TemplateFile =
        serde_saphyr::from_str(text).map_err(|e| bad(first_line(&e.to_string())))?;
    names::dns1123_label(&file.name)
        .map_err(|why| bad(format!("its name {:?} {why}", file.name)))?;
    if file.description.trim().is_empty() || file.description.contains('\n') {
        return Err(bad("its description must be one non-empty line".into()));
    }
    if file.rules.is_empty() {
        return Err(bad("it has no rules".into()));
    }
    for (i, rule) in file.rules.iter().enumerate() {
        let n = i + 1;
        if rule.verbs.is_empty() {
            return Err(bad(format!("rule {n} has no verbs")));
        }
        if rule.resources.as_ref().is_none_or(Vec::is_empty) {
            return Err(bad(format!("rule {n} has no resources")));
        }
        if rule.api_groups.as_ref().is_none_or(Vec::is_empty) {
            return Err(bad(format!(
                "rule {n} has no apiGroups (use \"\" for the core group)"
            )));
        }
        if rule
            .non_resource_urls
            .as_ref()
            .is_some_and(|u| !u.is_empty())
        {
            return Err(bad(format!(
                "rule {n} has nonResourceURLs, which a namespaced Role cannot hold"
            )));
        }
    }
    Ok(Template {
        name: file.name,
        description: file.description.trim().to_string(),
        rules: file.rules,
        origin,
    })
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or(text).trim().to_string()
}

/// The rules of a template that would let a tenant step outside what it was given: a verb
/// `escalate`, `bind` or `impersonate` (by name or through `*`). Each as a sentence naming the
/// rule. `create` on `serviceaccounts/token` is not one: like running pods or writing Secrets,
/// it reaches only the namespace's own ServiceAccounts, which the shared-namespace refusal
/// keeps no stronger than the grant, and Kubernetes' own `edit` and `admin` roles hold it (the
/// same rule as for ClusterRoles, in `containment`).
pub fn escalations(template: &Template) -> Vec<String> {
    let mut found = Vec::new();
    for (i, rule) in template.rules.iter().enumerate() {
        let n = i + 1;
        let resources = rule.resources.clone().unwrap_or_default().join(", ");
        for verb in &rule.verbs {
            if verb == "*" {
                found.push(format!(
                    "rule {n} grants every verb (so escalate, bind and impersonate) on {resources}"
                ));
            } else if ESCALATION_VERBS.contains(&verb.as_str()) {
                found.push(format!("rule {n} grants {verb} on {resources}"));
            }
        }
    }
    found
}

/// The built-in templates. They are compiled in and tested, so a parse failure is a bug.
pub fn built_ins() -> Vec<Template> {
    BUILT_INS
        .iter()
        .map(|(name, text)| match parse(text, Origin::BuiltIn) {
            Ok(t) => t,
            // Impossible by construction: every built-in is parsed by the unit tests below.
            Err(e) => panic!("built-in template {name} is broken: {e}"),
        })
        .collect()
}

/// The user template directories, in lookup order: `--template-dir`, then the XDG one.
pub fn user_dirs(flag: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = flag.map(Path::to_path_buf).into_iter().collect();
    dirs.extend(default_dir());
    dirs
}

/// `$XDG_CONFIG_HOME/kscope/templates` (or `~/.config/kscope/templates`).
fn default_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|config| config.join("kscope").join("templates"))
}

/// Reads the `*.yaml`/`*.yml` templates of one directory, sorted by file name. A missing
/// directory has none; an unreadable or bad file is an error.
pub fn load_dir(dir: &Path) -> Result<Vec<Template>, Invalid> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Invalid::TemplateDir {
                dir: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    paths.sort();
    paths.iter().map(|p| load_file(p)).collect()
}

pub fn load_file(path: &Path) -> Result<Template, Invalid> {
    let text = crate::files::read_text(path).map_err(|why| Invalid::TemplateFile {
        path: path.to_path_buf(),
        detail: why.to_string(),
    })?;
    parse(&text, Origin::File(path.to_path_buf()))
}

/// Built-ins first, then user templates; a user template shadows a built-in of the same name,
/// and the first directory wins among user templates.
pub fn catalog(dirs: &[PathBuf]) -> Result<Vec<Template>, Invalid> {
    catalog_of(load_dirs(dirs)?)
}

/// Each directory with its templates, as [`load_dir`] reads them.
fn load_dirs(dirs: &[PathBuf]) -> Result<Vec<(&PathBuf, Vec<Template>)>, Invalid> {
    dirs.iter().map(|dir| Ok((dir, load_dir(dir)?))).collect()
}

/// [`catalog`] of directories already read.
fn catalog_of(loaded: Vec<(&PathBuf, Vec<Template>)>) -> Result<Vec<Template>, Invalid> {
    let mut all = built_ins();
    // Only a directory given on the command line may replace a built-in: a file dropped in
    // the default directory must not quietly change what `developer` grants.
    let implicit = default_dir();
    for (dir, templates) in loaded {
        for template in templates {
            match all.iter().position(|t| t.name == template.name) {
                Some(i) if all[i].origin == Origin::BuiltIn && implicit.as_deref() == Some(dir) => {
                    return Err(Invalid::ShadowingTemplate {
                        name: template.name,
                        path: match template.origin {
                            Origin::File(path) => path,
                            Origin::BuiltIn => dir.clone(),
                        },
                    });
                }
                Some(i) if all[i].origin == Origin::BuiltIn => all[i] = template,
                Some(_) => {}
                None => all.push(template),
            }
        }
    }
    Ok(all)
}

/// Whether `name` is the name of a built-in template.
pub fn is_built_in_name(name: &str) -> bool {
    BUILT_INS.iter().any(|(n, _)| *n == name)
}

/// Whether a template argument names a file (it contains a slash or ends in .yaml/.yml)
/// rather than a template by name.
pub fn is_path(arg: &str) -> bool {
    arg.contains('/') || arg.ends_with(".yaml") || arg.ends_with(".yml")
}

/// `--template NAME|FILE`: a path (see [`is_path`]) is read as a file; anything else is
/// looked up by name.
pub fn resolve(arg: &str, dirs: &[PathBuf]) -> Result<Template, Invalid> {
    if is_path(arg) {
        return load_file(Path::new(arg));
    }
    // No template in any directory (the common case): only the built-in asked for is parsed.
    let loaded = load_dirs(dirs)?;
    if loaded.iter().all(|(_, templates)| templates.is_empty()) {
        return match BUILT_INS.iter().find(|(name, _)| *name == arg) {
            Some((_, text)) => parse(text, Origin::BuiltIn),
            None => Err(Invalid::UnknownTemplate {
                name: arg.to_string(),
                known: BUILT_INS.iter().map(|(name, _)| name.to_string()).collect(),
            }),
        };
    }
    let all = catalog_of(loaded)?;
    all.iter()
        .find(|t| t.name == arg)
        .cloned()
        .ok_or_else(|| Invalid::UnknownTemplate {
            name: arg.to_string(),
            known: all.iter().map(|t| t.name.clone()).collect(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_parse_and_never_grant_escalation_verbs() {
        let all = built_ins();
        let names: Vec<&str> = all.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "namespace-admin",
                "developer",
                "deployer",
                "read-only",
                "gitops"
            ]
        );
        for template in &all {
            for rule in &template.rules {
                for verb in &rule.verbs {
                    assert!(
                        verb != "*" && !ESCALATION_VERBS.contains(&verb.as_str()),
                        "{} grants {verb}",
                        template.name
                    );
                }
            }
        }
    }

    #[test]
    fn escalating_templates_are_named_and_built_ins_are_clean() {
        for template in built_ins() {
            assert!(escalations(&template).is_empty(), "{}", template.name);
        }
        let bad = parse(
            "name: x\ndescription: d\nrules:\n- {apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [get, escalate]}\n- {apiGroups: ['*'], resources: ['*'], verbs: ['*']}\n- {apiGroups: [''], resources: [serviceaccounts/token], verbs: [create]}\n",
            Origin::BuiltIn,
        )
        .unwrap();
        let found = escalations(&bad);
        // Token minting (rule 3) reaches only the namespace's own ServiceAccounts: not one.
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].contains("rule 1 grants escalate on roles"),
            "{found:?}"
        );
        assert!(found[1].contains("rule 2 grants every verb"), "{found:?}");
    }

    #[test]
    fn read_only_and_developer_never_touch_secrets_or_rbac() {
        for name in ["read-only", "developer"] {
            let t = built_ins().into_iter().find(|t| t.name == name).unwrap();
            for rule in &t.rules {
                let resources = rule.resources.clone().unwrap_or_default();
                let groups = rule.api_groups.clone().unwrap_or_default();
                assert!(
                    !resources.iter().any(|r| r == "secrets" || r == "*"),
                    "{name}: {resources:?}"
                );
                assert!(
                    !groups
                        .iter()
                        .any(|g| g == "rbac.authorization.k8s.io" || g == "*"),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn bad_templates_are_refused_with_a_reason() {
        let cases = [
            ("name: x\ndescription: d\n", "rules"),
            (
                "name: X\ndescription: d\nrules: [{apiGroups: [''], resources: [pods], verbs: [get]}]",
                "name",
            ),
            (
                "name: x\ndescription: ''\nrules: [{apiGroups: [''], resources: [pods], verbs: [get]}]",
                "description",
            ),
            ("name: x\ndescription: d\nrules: []", "no rules"),
            (
                "name: x\ndescription: d\nrules: [{apiGroups: [''], resources: [pods], verbs: []}]",
                "no verbs",
            ),
            (
                "name: x\ndescription: d\nrules: [{apiGroups: [''], verbs: [get]}]",
                "no resources",
            ),
            (
                "name: x\ndescription: d\nrules: [{resources: [pods], verbs: [get]}]",
                "no apiGroups",
            ),
            (
                "name: x\ndescription: d\nrules: [{apiGroups: [''], resources: [pods], verbs: [get], nonResourceURLs: [/x]}]",
                "nonResourceURLs",
            ),
            ("name: x\ndescription: d\nextra: 1\nrules: []", "extra"),
            (": : :", "bad"),
        ];
        for (text, why) in cases {
            let e = parse(text, Origin::File("t.yaml".into())).unwrap_err();
            assert!(e.to_string().contains(why), "{text:?}: {e}");
            assert!(e.to_string().starts_with("bad template file t.yaml"), "{e}");
            assert!(matches!(e, Invalid::BadTemplate { .. }), "{e}");
        }
    }

    #[test]
    fn resolve_finds_built_ins_user_dirs_and_files_and_names_the_choices() {
        let dir = tempfile::tempdir().unwrap();
        let text = "name: viewer\ndescription: Just pods\nrules: [{apiGroups: [''], resources: [pods], verbs: [get]}]\n";
        std::fs::write(dir.path().join("viewer.yaml"), text).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let dirs = vec![dir.path().to_path_buf()];
        assert_eq!(resolve("developer", &dirs).unwrap().origin, Origin::BuiltIn);
        assert_eq!(resolve("viewer", &dirs).unwrap().description, "Just pods");
        let by_path = dir.path().join("viewer.yaml");
        assert_eq!(
            resolve(by_path.to_str().unwrap(), &[]).unwrap().name,
            "viewer"
        );
        let e = resolve("nope", &dirs).unwrap_err();
        assert_eq!(e.to_string(), "unknown template \"nope\"");
        assert!(
            e.hint()
                .contains("namespace-admin, developer, deployer, read-only, gitops, viewer")
        );
        let missing = resolve("./missing.yaml", &dirs).unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("could not read the template file ./missing.yaml")
        );
    }
}
