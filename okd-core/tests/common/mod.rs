//! Helpers shared by okd-core's integration tests.

use std::{path::Path, process::Command};

/// Runs `git -C dir ARGS` with a fixed identity and no system or user configuration (HOME is
/// `home`), so tests behave the same on every machine; returns trimmed stdout.
pub fn git(dir: &Path, home: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@e", "-c", "init.defaultBranch=main"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", home)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("git prints UTF-8").trim().to_owned()
}
