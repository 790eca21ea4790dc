//! Checks the CLI tests share on a finished `amdb` run.
#![allow(dead_code)]

use std::process::Output;

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
