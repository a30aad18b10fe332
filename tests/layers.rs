//! The shape of the code, kept true mechanically (no cluster needed), for what Cargo cannot
//! express:
//! - no import cycle between the modules of either crate (the binary's `src/`, the core's
//!   `core/src/`);
//! - no import against the layer order of `tests/layers.txt` (src) and
//!   `tests/layers-core.txt` (core), top first, and every module in some layer;
//! - in the core, no file system or environment outside the modules whose job is reading the
//!   template files a user names;
//! - `cargo tree` of the core shows none of the client stack (the compiler already refuses a
//!   `use` of a crate that is not a dependency; this keeps one from being added).
//!
//! An import is any `crate::a::b`, `self::a` or `super::a` path (or a `{a, b}` group of
//! them) written in a module outside its `#[cfg(test)]` part, comments included: the same
//! reading as `../shared/tools/module-graph`, extended to the relative forms.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Crates the core must never depend on: the client, its runtime, TLS and the terminal UI.
const CLIENT_STACK: [&str; 10] = [
    "tokio",
    "hyper",
    "kube",
    "kube-client",
    "clap",
    "dialoguer",
    "indicatif",
    "tower",
    "rustls",
    "futures",
];

/// The core modules that may touch the file system and the environment: reading template
/// files the user named (and finding the user's template directory).
const CORE_FILE_READERS: [&str; 2] = ["templates", "files"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A module: its file's text before `#[cfg(test)]`, and whether the file is a `mod.rs` (or
/// the crate root), which changes what `super::` means.
#[derive(Clone)]
struct Module {
    text: String,
    is_dir: bool,
}

/// Module name → the module, for every `.rs` file under `src` (the crate root is `crate`).
fn modules(src: &Path) -> BTreeMap<String, Module> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("the source folder is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let file = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if !file.ends_with(".rs") || file == "tests.rs" || file == "test_support.rs" {
                continue;
            }
            let rel = path
                .strip_prefix(src)
                .expect("under the source folder")
                .with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let is_dir = matches!(file, "mod.rs" | "lib.rs" | "main.rs");
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            let name = match parts.join("::").as_str() {
                "lib" => "crate".to_string(),
                other => other.to_string(),
            };
            let text = std::fs::read_to_string(&path).expect("a source file is readable");
            let body = match text.find("\n#[cfg(test)]") {
                Some(cut) => text[..cut].to_string(),
                None => text,
            };
            found.insert(name, Module { text: body, is_dir });
        }
    }
    found
}

/// Every module path named in `text` by `crate::`, `self::` or `super::`, resolved against
/// `module` to an absolute path (without `crate::`), groups expanded.
fn paths(module: &str, is_dir: bool, text: &str) -> Vec<String> {
    // The module a file's `self::` names, and the one its `super::` names.
    let own: Vec<&str> = if module == "crate" {
        Vec::new()
    } else {
        module.split("::").collect()
    };
    let parent = |of: &[&str]| -> Vec<String> {
        let mut p: Vec<String> = of.iter().map(|s| s.to_string()).collect();
        p.pop();
        p
    };
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        let start_ok = at == 0
            || !(bytes[at - 1].is_ascii_alphanumeric()
                || bytes[at - 1] == b'_'
                || bytes[at - 1] == b':');
        let (mut base, mut tail): (Vec<String>, &str) = if !start_ok {
            at += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        } else if let Some(t) = rest.strip_prefix("crate::") {
            (Vec::new(), t)
        } else if let Some(t) = rest.strip_prefix("self::") {
            // In a file module `a::b` (b.rs), `self` is `a::b`; the same for `mod.rs`.
            (own.iter().map(|s| s.to_string()).collect(), t)
        } else if let Some(t) = rest.strip_prefix("super::") {
            // `super` of `a::b` is `a`, whether b is b.rs or b/mod.rs.
            let _ = is_dir;
            (parent(&own), t)
        } else {
            at += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        while let Some(t) = tail.strip_prefix("super::") {
            base.pop();
            tail = t;
        }
        let join = |p: &str| {
            let mut full = base.clone();
            full.extend(p.split("::").filter(|s| !s.is_empty()).map(String::from));
            full.join("::")
        };
        if let Some(group) = tail.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let item = item.trim().split(' ').next().unwrap_or_default();
                if item == "self" {
                    found.push(base.join("::"));
                } else if !item.is_empty() {
                    found.push(join(item));
                }
            }
        } else {
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            found.push(join(tail[..end].trim_end_matches(':')));
        }
        at = text.len() - tail.len();
    }
    found
}

/// Module → the modules it imports (not itself, not its own parents).
fn graph(modules: &BTreeMap<String, Module>) -> BTreeMap<String, BTreeSet<String>> {
    let mut names: Vec<&String> = modules.keys().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let mut graph = BTreeMap::new();
    for (module, m) in modules {
        let mut uses = BTreeSet::new();
        for path in paths(module, m.is_dir, &m.text) {
            let target = names.iter().find(|n| {
                n.as_str() != "crate" && (path == n.as_str() || path.starts_with(&format!("{n}::")))
            });
            if let Some(target) = target
                && *target != module
                && !module.starts_with(&format!("{target}::"))
            {
                uses.insert(target.to_string());
            }
        }
        graph.insert(module.clone(), uses);
    }
    graph
}

fn layers(file: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(root().join(file)).expect("the layers file is readable");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

/// The layer of `module`: the line of the longest prefix that matches it.
fn level(layers: &[Vec<String>], module: &str) -> Option<usize> {
    layers
        .iter()
        .enumerate()
        .flat_map(|(i, prefixes)| prefixes.iter().map(move |p| (i, p)))
        .filter(|(_, p)| module == p.as_str() || module.starts_with(&format!("{p}::")))
        .max_by_key(|(_, p)| p.len())
        .map(|(i, _)| i)
}

/// The strongly connected components of more than one module (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.out
}

/// What is wrong with `modules` against `layers`, one line each.
fn problems(modules: &BTreeMap<String, Module>, layers: &[Vec<String>]) -> Vec<String> {
    let graph = graph(modules);
    let mut found = Vec::new();
    for cycle in cycles(&graph) {
        found.push(format!("import cycle: {}", cycle.join(", ")));
    }
    for (module, uses) in &graph {
        let Some(here) = level(layers, module) else {
            found.push(format!("{module} is in no layer"));
            continue;
        };
        for used in uses {
            if level(layers, used).is_some_and(|there| there < here) {
                found.push(format!(
                    "upward import: {module} uses {used}, a layer above it"
                ));
            }
        }
    }
    found
}

/// The core's modules that touch the file system or the environment without it being their
/// job.
fn impure(modules: &BTreeMap<String, Module>) -> Vec<String> {
    modules
        .iter()
        .filter(|(name, _)| !CORE_FILE_READERS.contains(&name.as_str()))
        .filter(|(_, m)| {
            m.text.contains("std::fs")
                || m.text.contains("std::env")
                || m.text.contains("fs::")
                || m.text.contains("std::net")
                || m.text.contains("std::process")
        })
        .map(|(name, _)| format!("core module {name} touches the file system, the environment, the network or processes"))
        .collect()
}

#[test]
fn src_has_no_cycle_and_no_upward_import() {
    let modules = modules(&root().join("src"));
    assert!(modules.len() > 20, "found only {} modules", modules.len());
    let found = problems(&modules, &layers("tests/layers.txt"));
    assert!(
        found.is_empty(),
        "the layers of src/ do not hold:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_core_has_no_cycle_no_upward_import_and_no_io() {
    let modules = modules(&root().join("core/src"));
    assert!(modules.len() > 20, "found only {} modules", modules.len());
    let mut found = problems(&modules, &layers("tests/layers-core.txt"));
    found.extend(impure(&modules));
    assert!(
        found.is_empty(),
        "the layers of core/src do not hold:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_core_crate_depends_on_nothing_of_the_client_stack() {
    let out = std::process::Command::new(env!("CARGO"))
        .current_dir(root())
        .args([
            "tree",
            "--offline",
            "-p",
            "kscope-core",
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    let crates: BTreeSet<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        crates.contains("k8s-openapi"),
        "cargo tree of the core looks wrong:\n{tree}"
    );
    let found: Vec<&&str> = CLIENT_STACK
        .iter()
        .filter(|c| crates.contains(**c))
        .collect();
    assert!(
        found.is_empty(),
        "the core crate depends on {found:?} (cargo tree -p kscope-core):\n{tree}"
    );
}

/// The checks themselves can fail: the real trees with one import added against the order
/// (in each path form), one cycle, and one core module reaching for the file system, are each
/// reported.
#[test]
fn the_check_reports_upward_imports_in_every_path_form_a_cycle_and_an_impure_core() {
    let core_layers = layers("tests/layers-core.txt");
    let core = modules(&root().join("core/src"));
    let with = |module: &str, extra: &str| {
        let mut changed = core.clone();
        changed
            .get_mut(module)
            .unwrap_or_else(|| panic!("{module} exists"))
            .text
            .push_str(extra);
        changed
    };
    // names (bottom) reaching for render (top), written four ways.
    for extra in [
        "\nuse crate::render::Format;\n",
        "\nuse crate::{text, render};\n",
        "\nuse super::render::Format;\n",
        "\nfn f() { super::super::render::json(&1); }\n",
    ] {
        let target = if extra.contains("super::super") {
            "audit::finding"
        } else {
            "names"
        };
        let found = problems(&with(target, extra), &core_layers);
        assert!(
            found
                .iter()
                .any(|p| p.contains(&format!("upward import: {target} uses render"))),
            "{extra:?} was not reported: {found:?}"
        );
    }
    // A `self::` path inside a folder module stays inside it: no finding.
    let found = problems(
        &with("audit", "\nuse self::finding::Finding;\n"),
        &core_layers,
    );
    assert!(found.is_empty(), "{found:?}");

    let found = problems(
        &with("names", "\nfn g() { crate::spec::x(); }\n"),
        &core_layers,
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("import cycle:") && p.contains("names") && p.contains("spec")),
        "{found:?}"
    );

    let found = impure(&with(
        "rules",
        "\nfn g() { let _ = std::fs::read(\"x\"); }\n",
    ));
    assert!(
        found
            .iter()
            .any(|p| p.contains("core module rules touches")),
        "{found:?}"
    );

    let mut stray = modules(&root().join("src"));
    stray.insert(
        "stray".into(),
        Module {
            text: String::new(),
            is_dir: false,
        },
    );
    let found = problems(&stray, &layers("tests/layers.txt"));
    assert!(
        found.iter().any(|p| p == "stray is in no layer"),
        "{found:?}"
    );
}
