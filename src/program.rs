//! The name kscope was started by. Installed as `kubectl-kscope` on PATH, kubectl runs it as a
//! plugin (`kubectl kscope …`), and then every usage line, hint and suggested command says
//! `kubectl kscope`. Uses only the clap definition of the command line (`cli`).

use std::path::Path;
use std::sync::OnceLock;

use clap::CommandFactory;

/// The command line as the user calls kscope: `kscope`, or `kubectl kscope` as a plugin.
pub(crate) fn command() -> clap::Command {
    let name = name();
    crate::cli::Cli::command().name(name).bin_name(name)
}

/// The subcommands, as they appear in suggested command lines: read off the clap definition,
/// so that a new subcommand is rewritten for the plugin without anyone keeping a list.
fn subcommands() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        crate::cli::Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect()
    })
}

/// Whether this process runs as a kubectl plugin (its program file is `kubectl-kscope`).
pub(crate) fn is_plugin() -> bool {
    std::env::args_os()
        .next()
        .is_some_and(|arg0| plugin_file(Path::new(&arg0)))
}

fn plugin_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n == "kubectl-kscope" || n.starts_with("kubectl-kscope."))
}

/// How the user calls kscope: `kscope`, or `kubectl kscope` as a plugin.
pub(crate) fn name() -> &'static str {
    if is_plugin() {
        "kubectl kscope"
    } else {
        "kscope"
    }
}

/// `text` with every suggested kscope command spelled the way the user calls kscope.
pub(crate) fn spell(text: &str) -> String {
    if is_plugin() {
        as_plugin(text)
    } else {
        text.to_string()
    }
}

/// Rewrites `kscope <subcommand>` (a command to run, not the word kscope in a sentence) as
/// `kubectl kscope <subcommand>`.
fn as_plugin(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(at) = rest.find("kscope ") {
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        let word_start = before
            .chars()
            .last()
            .is_none_or(|c| c.is_whitespace() || "`'\"(:&|".contains(c));
        let tail = &after["kscope ".len()..];
        let next = tail.split(|c: char| c.is_whitespace()).next().unwrap_or("");
        let command = subcommands().iter().any(|s| s == next) || next.starts_with('-');
        let already = before.ends_with("kubectl ");
        if word_start && command && !already {
            out.push_str("kubectl kscope ");
        } else {
            out.push_str("kscope ");
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_commands_are_rewritten_for_the_plugin() {
        assert_eq!(
            as_plugin("name one of the kscope grants: kscope check a b | kscope check c d"),
            "name one of the kscope grants: kubectl kscope check a b | kubectl kscope check c d"
        );
        assert_eq!(
            as_plugin("run kscope grant ns sa first (kscope.dev/grant label)"),
            "run kubectl kscope grant ns sa first (kscope.dev/grant label)"
        );
        assert_eq!(
            as_plugin("kscope --context prod grant a b && kscope kubeconfig a b"),
            "kubectl kscope --context prod grant a b && kubectl kscope kubeconfig a b"
        );
        assert_eq!(as_plugin("kubectl kscope list"), "kubectl kscope list");
        assert_eq!(
            as_plugin("see kscope audit --fail-on low"),
            "see kubectl kscope audit --fail-on low"
        );
    }

    #[test]
    fn the_plugin_is_known_by_its_file_name() {
        assert!(plugin_file(Path::new("/usr/local/bin/kubectl-kscope")));
        assert!(plugin_file(Path::new("kubectl-kscope.exe")));
        assert!(!plugin_file(Path::new("/usr/bin/kscope")));
        assert!(!plugin_file(Path::new("kubectl")));
    }
}
