//! Checks the CLI tests share on a finished `amdb` run.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Asserts the run succeeded (showing its stderr if not); returns its stdout.
pub fn stdout_of_success(args: &[&str], out: Output) -> String {
    assert!(
        out.status.success(),
        "amdb {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Asserts the run failed with a one-line error; returns it.
pub fn one_line_error(args: &[&str], out: Output) -> String {
    assert!(!out.status.success(), "amdb {args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.trim_end().lines().count(), 1, "one-line error: {err}");
    err
}

/// A scratch directory with a database path in it, and the `amdb` binary run against it.
pub struct Env {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub data: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        Env {
            data: root.join("db"),
            root,
            _tmp: tmp,
        }
    }

    /// `amdb --data DATA ARGS`, run in the scratch directory as user "tester".
    pub fn cmd_on(&self, data: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_amdb"));
        c.arg("--data").arg(data).args(args).current_dir(&self.root);
        c.env_remove("AMDB_DATA");
        c.env("USER", "tester");
        c
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_on(&self.data, args)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    pub fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        stdout_of_success(args, self.run(args))
    }
}
