//! Runs the built `kscope` binary the way a user does, each run in its own isolated home
//! (HOME, XDG_STATE_HOME, XDG_CONFIG_HOME, no inherited KUBECONFIG), and captures the result.
//!
//! A [`Run`] is asserted on fluently, and every failed assertion prints the command line, its
//! exit code, stdout and stderr:
//!
//! ```ignore
//! let run = kscope.run(["grant", &ns, "ci", "--dry-run"]).expect_code(0);
//! run.stdout_contains("kind: Role\n").stdout_lacks("token:").stderr_is_empty();
//! let report = kscope.run(["check", &ns, "ci", "-o", "json"]).expect_code(0).stdout_json();
//! ```
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct Kscope {
    command: Command,
    home: tempfile::TempDir,
}

/// What one command did: its command line (for failure messages), exit code and output.
pub struct Run {
    pub command: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// `command` as a shell line: the program's file name, then its arguments, each quoted when a
/// shell would need it; prefixed with `KUBECONFIG=…` when the command sets it.
pub fn command_line(command: &Command) -> String {
    let quote = |s: &OsStr| {
        let s = s.to_string_lossy();
        let plain = !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%^".contains(c));
        if plain {
            s.into_owned()
        } else {
            format!("'{}'", s.replace('\'', r"'\''"))
        }
    };
    let mut words = Vec::new();
    for (key, value) in command.get_envs() {
        if let (true, Some(value)) = (key == "KUBECONFIG", value) {
            words.push(format!("KUBECONFIG={}", quote(value)));
        }
    }
    let program = Path::new(command.get_program());
    words.push(quote(program.file_name().unwrap_or(program.as_os_str())));
    words.extend(command.get_args().map(quote));
    words.join(" ")
}

impl Run {
    /// The result of `command` (already run) with `output`.
    pub fn from_output(command: &Command, output: &Output) -> Run {
        Run {
            command: command_line(command),
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs `command` to its end, capturing what it prints (a command other than kscope, or
    /// kscope started in a way [`Kscope`] does not).
    pub fn of(command: &mut Command) -> Run {
        let program = command.get_program().to_string_lossy().into_owned();
        let out = command
            .output()
            .unwrap_or_else(|e| panic!("running {program}: {e}"));
        Run::from_output(command, &out)
    }

    /// Names what the run was for (a case of a table, say) in every failure message about
    /// it, as a comment after its command line.
    pub fn about(mut self, what: impl std::fmt::Display) -> Run {
        self.command = format!("{}  # {what}", self.command);
        self
    }

    /// Everything about the run, for a failure message; control characters other than line
    /// ends and tabs are shown escaped, so that the output cannot drive the terminal.
    pub fn describe(&self) -> String {
        let shown = |text: &str| -> String {
            text.chars()
                .map(|c| match c {
                    '\n' | '\t' => c.to_string(),
                    c if c.is_control() => c.escape_default().to_string(),
                    c => c.to_string(),
                })
                .collect()
        };
        format!(
            "$ {}\nexit {}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- end ---",
            shown(&self.command),
            self.code,
            shown(&self.stdout),
            shown(&self.stderr)
        )
    }

    #[track_caller]
    fn check(&self, holds: bool, what: std::fmt::Arguments) -> &Run {
        if !holds {
            panic!("{what}\n{}", self.describe());
        }
        self
    }

    /// Panics with everything the run printed unless it exited with `code`.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Run {
        self.check(
            self.code == code,
            format_args!("expected exit {code}, got {}", self.code),
        );
        self
    }

    #[track_caller]
    pub fn stdout_contains(&self, needle: &str) -> &Run {
        self.check(
            self.stdout.contains(needle),
            format_args!("stdout lacks {needle:?}"),
        )
    }

    #[track_caller]
    pub fn stderr_contains(&self, needle: &str) -> &Run {
        self.check(
            self.stderr.contains(needle),
            format_args!("stderr lacks {needle:?}"),
        )
    }

    /// stdout holds at least one of `needles` (a word kubectl spells in more than one way).
    #[track_caller]
    pub fn stdout_contains_any(&self, needles: &[&str]) -> &Run {
        self.check(
            needles.iter().any(|n| self.stdout.contains(n)),
            format_args!("stdout holds none of {needles:?}"),
        )
    }

    #[track_caller]
    pub fn stderr_contains_any(&self, needles: &[&str]) -> &Run {
        self.check(
            needles.iter().any(|n| self.stderr.contains(n)),
            format_args!("stderr holds none of {needles:?}"),
        )
    }

    #[track_caller]
    pub fn stdout_lacks(&self, needle: &str) -> &Run {
        self.check(
            !self.stdout.contains(needle),
            format_args!("stdout holds {needle:?}, which it must not"),
        )
    }

    #[track_caller]
    pub fn stderr_lacks(&self, needle: &str) -> &Run {
        self.check(
            !self.stderr.contains(needle),
            format_args!("stderr holds {needle:?}, which it must not"),
        )
    }

    #[track_caller]
    pub fn stdout_starts_with(&self, prefix: &str) -> &Run {
        self.check(
            self.stdout.starts_with(prefix),
            format_args!("stdout does not start with {prefix:?}"),
        )
    }

    #[track_caller]
    pub fn stderr_starts_with(&self, prefix: &str) -> &Run {
        self.check(
            self.stderr.starts_with(prefix),
            format_args!("stderr does not start with {prefix:?}"),
        )
    }

    /// The first line of stderr (the one-line error) holds `needle`.
    #[track_caller]
    pub fn stderr_first_line_contains(&self, needle: &str) -> &Run {
        let first = self.stderr.lines().next().unwrap_or_default();
        self.check(
            first.contains(needle),
            format_args!("the first line of stderr lacks {needle:?}"),
        )
    }

    #[track_caller]
    pub fn stdout_is_empty(&self) -> &Run {
        self.check(self.stdout.is_empty(), format_args!("stdout is not empty"))
    }

    #[track_caller]
    pub fn stderr_is_empty(&self) -> &Run {
        self.check(self.stderr.is_empty(), format_args!("stderr is not empty"))
    }

    /// stdout parsed as JSON; panics with the whole run when it is not JSON.
    #[track_caller]
    pub fn stdout_json(&self) -> serde_json::Value {
        match serde_json::from_str(&self.stdout) {
            Ok(value) => value,
            Err(e) => panic!("stdout is not JSON: {e}\n{}", self.describe()),
        }
    }

    /// stdout parsed as YAML (into JSON values); panics with the whole run when it is not.
    #[track_caller]
    pub fn stdout_yaml(&self) -> serde_json::Value {
        match serde_saphyr::from_str(&self.stdout) {
            Ok(value) => value,
            Err(e) => panic!("stdout is not YAML: {e}\n{}", self.describe()),
        }
    }
}

/// Runs kubectl (as `common::kubectl` sets it up) with another kubeconfig: a real client
/// that we did not write, using what kscope emitted.
pub fn kubectl_as(mut kubectl: Command, kubeconfig: &Path, args: &[&str]) -> Run {
    Run::of(kubectl.arg("--kubeconfig").arg(kubeconfig).args(args))
}

impl Kscope {
    pub fn new() -> Kscope {
        let home = tempfile::tempdir().expect("temp home");
        let mut command = Command::new(env!("CARGO_BIN_EXE_kscope"));
        command
            .env_remove("KUBECONFIG")
            .env("HOME", home.path())
            .env("XDG_STATE_HOME", home.path().join("state"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        Kscope { command, home }
    }

    /// The same isolated home for several runs (so a remembered grant carries over).
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn kubeconfig(mut self, path: &Path) -> Kscope {
        self.command.env("KUBECONFIG", path);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Kscope {
        self.command.env(key, value);
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Kscope {
        self.command.current_dir(dir);
        self
    }

    /// A command for one run: the binary with `args`, this home's environment and directory.
    fn prepared<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(self.command.get_program());
        command.args(args);
        for (key, value) in self.command.get_envs() {
            match value {
                Some(v) => command.env(key, v),
                None => command.env_remove(key),
            };
        }
        if let Some(dir) = self.command.get_current_dir() {
            command.current_dir(dir);
        }
        command.stdin(Stdio::null());
        command
    }

    pub fn run<I, S>(&mut self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Run::of(&mut self.prepared(args))
    }

    /// Writes the grant's kubeconfig with `kscope kubeconfig --output` into this home, and
    /// returns its path.
    pub fn kubeconfig_for(&mut self, ns: &str, sa: &str) -> PathBuf {
        let file = self.path(&format!("{ns}-{sa}.kubeconfig"));
        self.run(["kubeconfig", ns, sa, "--output", file.to_str().unwrap()])
            .expect_code(0);
        file
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }
}

impl Kscope {
    /// Runs with stdout discarded and stderr into `stderr`; only the exit code comes back
    /// (for runs whose stderr is deliberately unreadable, such as a closed pipe).
    pub fn status_with_stderr<I, S>(&mut self, args: I, stderr: impl Into<Stdio>) -> i32
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let status = self
            .prepared(args)
            .stdout(Stdio::null())
            .stderr(stderr)
            .status()
            .expect("run kscope");
        status.code().unwrap_or(-1)
    }
}
