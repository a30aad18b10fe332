//! Runs the built `kscope` binary the way a user does, each run in its own isolated home
//! (HOME, XDG_STATE_HOME, XDG_CONFIG_HOME, no inherited KUBECONFIG), and captures the result.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Kscope {
    command: Command,
    home: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with everything the run printed unless it exited with `code`.
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// Runs kubectl (as `common::kubectl` sets it up) with another kubeconfig: a real client
/// that we did not write, using what kscope emitted.
pub fn kubectl_as(mut kubectl: Command, kubeconfig: &Path, args: &[&str]) -> Run {
    let out = kubectl
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .expect("run kubectl");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
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
        let out = self.prepared(args).output().expect("run kscope");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
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
