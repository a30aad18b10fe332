//! The shape of `src/`, kept true mechanically (no cluster needed):
//! - no import cycle between modules;
//! - no import against the layer order of `tests/layers.txt` (top first), and every module in
//!   some layer;
//! - the pure core (`src/domain/`) imports only itself and the crates a pure core may use:
//!   no kube client, no tokio, no clap, no terminal, no file system outside the one module
//!   whose job is reading the template files a user names.
//!
//! An import is any `crate::a::b` path (or `crate::{a, b}` group) written in a module outside
//! its `#[cfg(test)]` part, comments included: the same reading as
//! `../shared/tools/module-graph`, so that the two always agree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Crates a core module may name. Everything else (kube, tokio, clap, dialoguer, indicatif,
/// comfy_table, console, tower, hyper, rustls, futures, tempfile, http, …) is I/O or UI.
const CORE_CRATES: [&str; 8] = [
    "std",
    "k8s_openapi",
    "serde",
    "serde_json",
    "serde_saphyr",
    "base64",
    "thiserror",
    "crate",
];

/// The core modules that may touch the file system and the environment: reading template
/// files the user named (and finding the user's template directory).
const CORE_FILE_READERS: [&str; 2] = ["domain::templates", "domain::files"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Module name → the text of its file before `#[cfg(test)]`.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
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
                .expect("under src/")
                .with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
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
            found.insert(name, body);
        }
    }
    found
}

/// Every `crate::…` path named in `text`, groups expanded.
fn crate_paths(text: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        let tail = &rest[at + "crate::".len()..];
        if let Some(group) = tail.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            paths.extend(group[..end].split(',').map(|p| p.trim().to_string()));
        } else {
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            paths.push(tail[..end].to_string());
        }
        rest = tail;
    }
    paths
}

/// Module → the modules it imports (not itself, not its own parents).
fn graph(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut names: Vec<&String> = modules.keys().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let mut graph = BTreeMap::new();
    for (module, text) in modules {
        let mut uses = BTreeSet::new();
        for path in crate_paths(text) {
            let path = path.split(' ').next().unwrap_or_default();
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

fn layers() -> Vec<Vec<String>> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/layers.txt"))
            .expect("tests/layers.txt is readable");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

fn level(layers: &[Vec<String>], module: &str) -> Option<usize> {
    layers.iter().position(|prefixes| {
        prefixes
            .iter()
            .any(|p| module == p || module.starts_with(&format!("{p}::")))
    })
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
fn problems(modules: &BTreeMap<String, String>, layers: &[Vec<String>]) -> Vec<String> {
    let graph = graph(modules);
    let mut found = Vec::new();
    for cycle in cycles(&graph) {
        found.push(format!("import cycle: {}", cycle.join(", ")));
    }
    for (module, uses) in &graph {
        let Some(here) = level(layers, module) else {
            found.push(format!("{module} is in no layer of tests/layers.txt"));
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
    for (module, text) in modules
        .iter()
        .filter(|(m, _)| m.starts_with("domain::") || *m == "domain")
    {
        for used in &graph[module] {
            if !used.starts_with("domain") {
                found.push(format!(
                    "core module {module} imports {used}, outside the core"
                ));
            }
        }
        for line in text.lines().map(str::trim) {
            let Some(path) = line
                .strip_prefix("use ")
                .or_else(|| line.strip_prefix("pub(crate) use "))
            else {
                continue;
            };
            let root = path
                .split("::")
                .next()
                .unwrap_or_default()
                .trim_end_matches(';');
            if !CORE_CRATES.contains(&root) {
                found.push(format!("core module {module} uses the crate {root}"));
            }
        }
        for word in [
            "kube::",
            "tokio::",
            "clap::",
            "dialoguer::",
            "indicatif::",
            "comfy_table::",
        ] {
            if text.contains(word) {
                found.push(format!("core module {module} names {word}"));
            }
        }
        if !CORE_FILE_READERS.contains(&module.as_str())
            && (text.contains("std::fs") || text.contains("std::env") || text.contains("fs::"))
        {
            found.push(format!(
                "core module {module} touches the file system or the environment"
            ));
        }
    }
    found
}

#[test]
fn src_has_no_cycle_no_upward_import_and_a_pure_core() {
    let modules = modules(&src());
    assert!(modules.len() > 20, "found only {} modules", modules.len());
    let found = problems(&modules, &layers());
    assert!(
        found.is_empty(),
        "the layers of src/ do not hold:\n{}",
        found.join("\n")
    );
}

/// The check itself can fail: the real tree with one import added against the order, one
/// cycle, and one core module reaching for the client, are each reported.
#[test]
fn the_check_reports_an_upward_import_a_cycle_and_an_impure_core() {
    let layers = layers();
    let real = modules(&src());

    let mut upward = real.clone();
    upward
        .get_mut("domain::names")
        .expect("domain::names exists")
        .push_str("\nuse crate::cluster::Cluster;\n");
    let found = problems(&upward, &layers);
    assert!(
        found
            .iter()
            .any(|p| p.contains("upward import: domain::names uses cluster")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("core module domain::names imports cluster")),
        "{found:?}"
    );

    let mut cycle = real.clone();
    cycle
        .get_mut("wire")
        .expect("wire exists")
        .push_str("\nfn f() { crate::session::Session::quiet; }\n");
    let found = problems(&cycle, &layers);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("import cycle:") && p.contains("session") && p.contains("wire")),
        "{found:?}"
    );

    let mut impure = real.clone();
    impure
        .get_mut("domain::rules")
        .expect("domain::rules exists")
        .push_str("\nuse kube::Client;\nfn g() { let _ = std::fs::read(\"x\"); }\n");
    let found = problems(&impure, &layers);
    assert!(
        found.iter().any(|p| p.contains("uses the crate kube")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("domain::rules touches the file system")),
        "{found:?}"
    );

    let mut stray = real;
    stray.insert("stray".into(), String::new());
    let found = problems(&stray, &layers);
    assert!(
        found
            .iter()
            .any(|p| p == "stray is in no layer of tests/layers.txt"),
        "{found:?}"
    );
}
