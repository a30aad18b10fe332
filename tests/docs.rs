//! Keeps the documentation honest, with no cluster: `README.md` and every `docs/*.md`.
//! - Every `kscope` command line in a `sh`, `bash`, `shell` or `console` block (after a `$ `
//!   prompt or not, also as `kubectl kscope …` or `cargo run -q -- …`, and after `&&`, `||`,
//!   `|` or `;`) names a subcommand the built binary has, and only long flags that the
//!   binary's own `--help` for that subcommand lists. Short flags and values are not judged.
//! - Every relative link `](path)` or `](path#anchor)` outside code points to a file that
//!   exists, and an anchor into a Markdown file to a heading it has (GitHub's slugs).
//! - `README.md` stays a front page: at most 260 lines.
//!
//! Every failure names the file and the line. The checker's own tests feed it broken lines, so
//! a checker that silently matched nothing would fail too.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const KSCOPE: &str = env!("CARGO_BIN_EXE_kscope");
const README_MAX_LINES: usize = 260;

/// A Markdown file of the documentation: its path relative to the repository, and its text.
struct Doc {
    name: String,
    text: String,
}

/// `README.md` and `docs/*.md`, in a stable order.
fn documentation() -> Vec<Doc> {
    let root = Path::new(ROOT);
    let mut paths = vec![root.join("README.md")];
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .map(|entry| entry.expect("a readable docs/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    pages.sort();
    paths.extend(pages);
    paths
        .into_iter()
        .map(|path| Doc {
            name: path.strip_prefix(root).unwrap().display().to_string(),
            text: std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Fenced code blocks

/// One line of a document, with the language of the fenced block it is in (`None` outside).
struct Line<'a> {
    number: usize,
    text: &'a str,
    fence: Option<&'a str>,
}

/// Every line, knowing whether it sits in a fenced block and of which language. Fence lines
/// themselves count as outside.
fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut open: Option<(&str, &str)> = None; // (fence marker, language)
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = if trimmed.starts_with("```") {
            Some("```")
        } else if trimmed.starts_with("~~~") {
            Some("~~~")
        } else {
            None
        };
        match (open, marker) {
            (None, Some(m)) => {
                let language = trimmed[m.len()..].split_whitespace().next().unwrap_or("");
                open = Some((m, language));
                out.push(Line {
                    number: i + 1,
                    text: line,
                    fence: None,
                });
            }
            (Some((m, _)), Some(found)) if found == m && trimmed[m.len()..].trim().is_empty() => {
                open = None;
                out.push(Line {
                    number: i + 1,
                    text: line,
                    fence: None,
                });
            }
            _ => out.push(Line {
                number: i + 1,
                text: line,
                fence: open.map(|(_, l)| l),
            }),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Command lines

/// Splits a shell line into words and operators, the way the docs' lines need: quotes group,
/// `#` at the start of a word begins a comment, `&&`, `||`, `|` and `;` are operators.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    in_word = true;
                }
                '\\' => {
                    if let Some(next) = chars.next() {
                        word.push(next);
                    }
                    in_word = true;
                }
                '#' if !in_word => break,
                c if c.is_whitespace() => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                ';' => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                    words.push(";".into());
                }
                _ => {
                    word.push(c);
                    in_word = true;
                }
            },
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

fn is_operator(word: &str) -> bool {
    matches!(word, "&&" | "||" | "|" | ";" | "&")
}

/// The simple commands of a line: split at operators, with a leading `$(`, `<(` or `(` taken
/// off the first word and redirections (with their targets) left out.
fn simple_commands(words: &[String]) -> Vec<Vec<String>> {
    let mut commands = vec![Vec::new()];
    let mut skip_next = false;
    for word in words {
        if skip_next {
            skip_next = false;
            continue;
        }
        if is_operator(word) {
            commands.push(Vec::new());
            continue;
        }
        if matches!(word.as_str(), ">" | ">>" | "<" | "2>" | "2>>" | "&>") {
            skip_next = true;
            continue;
        }
        if word.starts_with('>') || word.starts_with("2>") {
            continue;
        }
        let mut word = word.as_str();
        for opener in ["$(", "<(", "("] {
            if let Some(rest) = word.strip_prefix(opener) {
                commands.push(Vec::new());
                word = rest;
                break;
            }
        }
        if !word.is_empty() {
            commands.last_mut().unwrap().push(word.to_string());
        }
    }
    commands.retain(|c| !c.is_empty());
    commands
}

/// The arguments given to kscope, if this simple command runs it: `kscope …`,
/// `path/to/kscope …`, `kubectl-kscope …`, `kubectl kscope …` or `cargo run [opts] -- …`,
/// after any `NAME=value` assignments.
fn kscope_arguments(command: &[String]) -> Option<&[String]> {
    let start = command
        .iter()
        .position(|w| !is_assignment(w))
        .unwrap_or(command.len());
    let command = &command[start..];
    let first = command.first()?.as_str();
    if first == "kscope" || first.ends_with("/kscope") || first == "kubectl-kscope" {
        return Some(&command[1..]);
    }
    if first == "kubectl" && command.get(1).is_some_and(|w| w == "kscope") {
        return Some(&command[2..]);
    }
    if first == "cargo" && command.get(1).is_some_and(|w| w == "run") {
        let dashes = command.iter().position(|w| w == "--")?;
        return Some(&command[dashes + 1..]);
    }
    None
}

fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        }
        None => false,
    }
}

/// The long flag a word spells, if it spells one: `--name`, `--name=value`, and the synopsis
/// forms `[--name`, `--name[=…]`, `(--name`.
fn long_flag(word: &str) -> Option<String> {
    let word = word.trim_start_matches(['[', '(']);
    let name = word.strip_prefix("--")?;
    let name: String = name
        .chars()
        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        .collect();
    if name.is_empty() {
        None
    } else {
        Some(format!("--{name}"))
    }
}

/// What the built binary's help says about one level of the command line.
#[derive(Default, Clone)]
struct Help {
    /// Every long flag listed, and whether it takes a separate value (`--context <NAME>`).
    flags: BTreeMap<String, bool>,
    /// The subcommands listed (top level only).
    subcommands: BTreeSet<String>,
}

/// Reads clap's help output: option lines (`  -v, --verbose`, `      --context <NAME>`) and the
/// `Commands:` section.
fn parse_help(text: &str) -> Help {
    let mut help = Help::default();
    let mut in_commands = false;
    for line in text.lines() {
        if line.trim().is_empty() {
            in_commands = false;
            continue;
        }
        if line.trim_end() == "Commands:" {
            in_commands = true;
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if in_commands && indent == 2 {
            if let Some(name) = line.split_whitespace().next() {
                help.subcommands.insert(name.to_string());
            }
            continue;
        }
        let trimmed = line.trim_start();
        if indent <= 6 && trimmed.starts_with('-') {
            // "-v, --verbose  …" or "--context <NAME>  …" or "--dry-run[=<MODE>]  …"
            let spec = trimmed.split("  ").next().unwrap_or(trimmed);
            for part in spec.split(", ") {
                if let Some(flag) = long_flag(part) {
                    let takes_value = part.contains(" <");
                    help.flags.insert(flag, takes_value);
                }
            }
        }
    }
    help
}

/// The binary's help, per subcommand (`None`: the top level), read once.
struct HelpCache {
    cache: HashMap<Option<String>, Help>,
    /// Runs the binary; replaced in the checker's own tests.
    run: fn(Option<&str>) -> String,
}

fn run_help(subcommand: Option<&str>) -> String {
    let mut command = Command::new(KSCOPE);
    command.args(subcommand).arg("--help");
    command.env("NO_COLOR", "1").env_remove("KUBECONFIG");
    let output = command.output().expect("the kscope binary runs");
    assert!(
        output.status.success(),
        "`kscope {} --help` failed: {}",
        subcommand.unwrap_or(""),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("help is UTF-8")
}

impl HelpCache {
    fn new(run: fn(Option<&str>) -> String) -> HelpCache {
        HelpCache {
            cache: HashMap::new(),
            run,
        }
    }

    fn get(&mut self, subcommand: Option<&str>) -> &Help {
        let run = self.run;
        self.cache
            .entry(subcommand.map(str::to_string))
            .or_insert_with(|| parse_help(&run(subcommand)))
    }
}

/// Judges one kscope invocation; returns its problems (empty when it is right).
fn judge_invocation(arguments: &[String], helps: &mut HelpCache) -> Vec<String> {
    let mut problems = Vec::new();
    let top = helps.get(None).clone();
    // Global flags may come before the subcommand.
    let mut i = 0;
    while i < arguments.len() && arguments[i].starts_with('-') {
        let word = &arguments[i];
        if word == "--" {
            return problems;
        }
        i += 1;
        if let Some(flag) = long_flag(word) {
            match top.flags.get(&flag) {
                None => problems.push(format!("`kscope --help` lists no flag {flag}")),
                Some(true) if !word.contains('=') => i += 1, // its value
                Some(_) => {}
            }
        }
    }
    let Some(subcommand) = arguments.get(i) else {
        return problems; // `kscope` alone: the wizard
    };
    if subcommand.starts_with('<') || subcommand.starts_with('[') {
        return problems; // a placeholder in a synopsis
    }
    if !top.subcommands.contains(subcommand.as_str()) {
        problems.push(format!(
            "kscope has no subcommand {subcommand:?} (it has: {})",
            top.subcommands
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return problems;
    }
    if subcommand == "help" {
        return problems; // `kscope help <subcommand>`
    }
    let help = helps.get(Some(subcommand)).clone();
    for word in &arguments[i + 1..] {
        if word == "--" {
            break; // the rest is positional
        }
        if let Some(flag) = long_flag(word)
            && !help.flags.contains_key(&flag)
        {
            problems.push(format!("`kscope {subcommand} --help` lists no flag {flag}"));
        }
    }
    problems
}

/// Checks every command line of one document; returns `(invocations checked, failures)`.
fn check_commands(doc: &Doc, helps: &mut HelpCache) -> (usize, Vec<String>) {
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in lines(&doc.text) {
        let Some(language) = line.fence else { continue };
        if !matches!(language, "sh" | "bash" | "shell" | "console") {
            continue;
        }
        let text = line.text.trim_start();
        let text = text.strip_prefix("$ ").unwrap_or(text);
        for command in simple_commands(&shell_words(text)) {
            let Some(arguments) = kscope_arguments(&command) else {
                continue;
            };
            checked += 1;
            for problem in judge_invocation(arguments, helps) {
                failures.push(format!(
                    "{}:{}: {problem}\n    {}",
                    doc.name,
                    line.number,
                    line.text.trim()
                ));
            }
        }
    }
    (checked, failures)
}

#[test]
fn command_lines_name_real_subcommands_and_flags() {
    let mut helps = HelpCache::new(run_help);
    let mut checked = 0;
    let mut failures = Vec::new();
    for doc in documentation() {
        let (n, f) = check_commands(&doc, &mut helps);
        checked += n;
        failures.extend(f);
    }
    assert!(
        failures.is_empty(),
        "{} command line problem(s) in the documentation:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // A checker that matched nothing would pass anything.
    assert!(
        checked >= 40,
        "only {checked} kscope command lines found in the documentation"
    );
}

// ---------------------------------------------------------------------------------------------
// Links

/// GitHub's anchor for a heading: lowercase, punctuation dropped, spaces as hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown text's headings (outside code), with GitHub's `-1`, `-2` suffixes
/// for repeats.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = BTreeSet::new();
    for line in lines(text) {
        if line.fence.is_some() {
            continue;
        }
        let trimmed = line.text.trim_start();
        let hashes = trimmed.chars().take_while(|c| *c == '#').count();
        if !(1..=6).contains(&hashes) || !trimmed[hashes..].starts_with(' ') {
            continue;
        }
        let base = slug(trimmed[hashes..].trim_end_matches('#'));
        let count = seen.entry(base.clone()).or_insert(0);
        out.insert(if *count == 0 {
            base.clone()
        } else {
            format!("{base}-{count}")
        });
        *count += 1;
    }
    out
}

/// The line without its inline code spans, so that `](` inside backticks is not a link.
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
        } else if !in_code {
            out.push(c);
        }
    }
    out
}

/// The targets of the Markdown links `[text](target)` of a line.
fn link_targets(line: &str) -> Vec<String> {
    let line = without_code_spans(line);
    let mut targets = Vec::new();
    let mut rest = line.as_str();
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let end = rest.find([')', ' ']).unwrap_or(rest.len());
        targets.push(rest[..end].to_string());
        rest = &rest[end..];
    }
    targets
}

/// Checks the relative links of one document; returns `(links checked, failures)`.
fn check_links(doc: &Doc, root: &Path) -> (usize, Vec<String>) {
    let mut checked = 0;
    let mut failures = Vec::new();
    let dir = root.join(&doc.name).parent().unwrap().to_path_buf();
    for line in lines(&doc.text) {
        if line.fence.is_some() {
            continue;
        }
        for target in link_targets(line.text) {
            if target.contains("://") || target.starts_with("mailto:") || target.is_empty() {
                continue;
            }
            checked += 1;
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target.as_str(), None),
            };
            let file = if path.is_empty() {
                root.join(&doc.name)
            } else {
                dir.join(path)
            };
            let at = format!("{}:{}: link ({target})", doc.name, line.number);
            if !file.exists() {
                failures.push(format!("{at}: {} does not exist", file.display()));
                continue;
            }
            if let Some(anchor) = anchor
                && file.extension().is_some_and(|ext| ext == "md")
            {
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                let known = anchors(&text);
                if !known.contains(anchor) {
                    failures.push(format!(
                        "{at}: {} has no heading with the anchor #{anchor}",
                        file.display()
                    ));
                }
            }
        }
    }
    (checked, failures)
}

#[test]
fn relative_links_point_to_files_and_headings_that_exist() {
    let root = Path::new(ROOT);
    let mut checked = 0;
    let mut failures = Vec::new();
    for doc in documentation() {
        let (n, f) = check_links(&doc, root);
        checked += n;
        failures.extend(f);
    }
    assert!(
        failures.is_empty(),
        "{} broken link(s) in the documentation:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        checked >= 40,
        "only {checked} relative links found in the documentation"
    );
}

// ---------------------------------------------------------------------------------------------
// The front page

#[test]
fn the_readme_stays_a_front_page() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let count = readme.lines().count();
    assert!(
        count <= README_MAX_LINES,
        "README.md:{}: the README has {count} lines, more than {README_MAX_LINES}: move the \
         reference into docs/",
        README_MAX_LINES + 1
    );
}

// ---------------------------------------------------------------------------------------------
// The checker's own tests: it must catch what it is for.

/// Help as clap would print it, so that these tests do not depend on the real flags.
fn fake_help(subcommand: Option<&str>) -> String {
    match subcommand {
        None => "Usage: kscope [OPTIONS] [COMMAND]\n\nCommands:\n  grant  Grant\n  check  \
                 Check\n  help   Print this message\n\nOptions:\n      --kubeconfig <FILE>\n          \
                 Path\n      --context <NAME>\n          Context\n  -v, --verbose\n          Log\n  \
                 -h, --help\n          Print help\n"
            .into(),
        Some("grant") => "Usage: kscope grant [OPTIONS] <NAMESPACE> <SERVICEACCOUNT>\n\nOptions:\n      \
                          --template <NAME|FILE>\n          Role template; see --not-a-flag\n      \
                          --dry-run[=<MODE>]\n          Print\n      --context <NAME>\n          \
                          Context\n  -o, --output <OUTPUT>\n          Format\n"
            .into(),
        Some("check") => "Options:\n  -f, --filename <FILE>\n          Set\n      --context <NAME>\n          \
                          Context\n".into(),
        Some(other) => panic!("no fake help for {other}"),
    }
}

fn problems_of(markdown: &str) -> Vec<String> {
    let doc = Doc {
        name: "docs/example.md".into(),
        text: markdown.into(),
    };
    check_commands(&doc, &mut HelpCache::new(fake_help)).1
}

#[test]
fn the_checker_accepts_right_lines() {
    let markdown = "```console\n\
        $ kscope grant a b --template developer --dry-run=server -o yaml\n\
        kscope --context prod grant a b --dry-run   # a comment --nonsense\n\
        $ tests/cluster/up x && cargo run -q -- grant ask ask-sa && cargo run -q -- check -f t.yaml\n\
        kscope check [-f FILE] [--filename FILE] [--context C]...\n\
        $ kscope\n\
        $ kubectl kscope --help\n\
        echo hi | kscope grant a b > out.yaml\n\
        kscope-unrelated --whatever\n\
        ```\n\
        ```text\nkscope grant a b --not-checked-in-text-blocks\n```\n\
        kscope grant --outside-any-block\n";
    assert_eq!(problems_of(markdown), Vec::<String>::new());
}

#[test]
fn the_checker_catches_bad_flags_and_subcommands_with_file_and_line() {
    let markdown = "# Example\n\n```sh\n\
        kscope grant a b --no-such-flag\n\
        cargo run -q -- grant a b && cargo run -q -- check --template x\n\
        $ kscope grnat a b\n\
        kscope --nope grant a b\n\
        kscope grant a b --not-a-flag\n\
        ```\n";
    let problems = problems_of(markdown);
    let expected = [
        ("docs/example.md:4:", "--no-such-flag"),
        (
            "docs/example.md:5:",
            "`kscope check --help` lists no flag --template",
        ),
        ("docs/example.md:6:", "no subcommand \"grnat\""),
        ("docs/example.md:7:", "`kscope --help` lists no flag --nope"),
        // Mentioned in a description, but not an option of its own.
        ("docs/example.md:8:", "--not-a-flag"),
    ];
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    for ((at, what), problem) in expected.iter().zip(&problems) {
        assert!(
            problem.starts_with(at) && problem.contains(what),
            "{problem}"
        );
    }
}

#[test]
fn the_link_checker_catches_missing_files_and_anchors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::write(
        dir.path().join("docs/a.md"),
        "# A page\n\n## The whole fleet (`check -f`)\n",
    )
    .unwrap();
    let doc = Doc {
        name: "docs/b.md".into(),
        text: "# B\n\
               [ok](a.md) [ok](a.md#the-whole-fleet-check--f) [ok](#b) [web](https://example.org)\n\
               [gone](missing.md)\n\
               `[in code](missing.md)`\n\
               ```sh\n[in a block](missing.md)\n```\n\
               [bad anchor](a.md#nowhere)\n"
            .into(),
    };
    std::fs::write(dir.path().join(&doc.name), &doc.text).unwrap();
    let (checked, failures) = check_links(&doc, dir.path());
    assert_eq!(checked, 5);
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert!(
        failures[0].starts_with("docs/b.md:3: link (missing.md)"),
        "{}",
        failures[0]
    );
    assert!(
        failures[1].starts_with("docs/b.md:8: link (a.md#nowhere)"),
        "{}",
        failures[1]
    );
}

/// The rule table of docs/audit.md is the catalog's own text: every rule of `audit` and of
/// `check`, with its id, severity, sentence and fix, word for word, and no row for a rule that
/// does not exist.
#[test]
fn the_audit_page_lists_every_rule_of_the_catalog_word_for_word() {
    use kscope_core::catalog::Rule;
    let path = std::path::Path::new(ROOT).join("docs/audit.md");
    let page = std::fs::read_to_string(&path).expect("docs/audit.md is readable");
    let mut missing = Vec::new();
    let mut ids = Vec::new();
    for rule in Rule::AUDIT.iter().chain(Rule::CHECK.iter()) {
        let about = rule.about();
        ids.push(about.id);
        let row = format!(
            "| `{}` | {} | {} | {} |",
            about.id, about.severity, about.means, about.fix
        );
        if !page.lines().any(|l| l.trim() == row) {
            missing.push(row);
        }
    }
    assert!(
        missing.is_empty(),
        "docs/audit.md lacks these rows of the catalog (or words differ):\n{}",
        missing.join("\n")
    );
    let stray: Vec<(usize, &str)> = page
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("| `KSCOPE-"))
        .filter(|(_, l)| !ids.iter().any(|id| l.starts_with(&format!("| `{id}` |"))))
        .map(|(i, l)| (i + 1, l))
        .collect();
    assert!(
        stray.is_empty(),
        "docs/audit.md has rows for rules the catalog does not have: {stray:?}"
    );
}
