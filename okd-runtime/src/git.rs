//! Pushing a generated source tree (Doozer + Konflux, Doozer + Prow) to a branch of a git remote with the `git` command, as
//! Doozer's rebase force-pushes `art-<group>-assembly-<assembly>-dgk-<key>`. The user's own git
//! configuration and credentials apply to the push.

use std::path::Path;

use okd_core::{Error, ErrorKind, Result};
use tokio::process::Command;

async fn git(dir: &Path, args: &[&str], date: &str) -> Result<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=okd-build",
            "-c",
            "user.email=okd-build@localhost",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .await
        .map_err(|e| {
            Error::new(ErrorKind::Unavailable, "cannot run git").with_source(e).with_help("install git")
        })?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output");
    Err(Error::new(ErrorKind::Unavailable, format!("git {} failed: {last}", args.first().unwrap_or(&""))))
}

/// Commits the whole of `dir` (which must not be a repository yet) as one commit dated `date`
/// and force-pushes it to `branch` of `remote`. Returns the commit id.
pub async fn push_tree(
    dir: &Path,
    remote: &str,
    branch: &str,
    message: &str,
    date: jiff::Timestamp,
) -> Result<String> {
    let date = format!("{} +0000", date.as_second());
    git(dir, &["init", "-q"], &date).await?;
    // Ignored files are part of the build context too.
    git(dir, &["add", "-A", "-f"], &date).await?;
    git(dir, &["commit", "-q", "--allow-empty", "--no-verify", "-m", message], &date).await?;
    let commit = git(dir, &["rev-parse", "HEAD"], &date).await?;
    git(dir, &["push", "-q", "--force", "--no-verify", remote, &format!("HEAD:refs/heads/{branch}")], &date)
        .await
        .map_err(|e| {
            e.with_help(format!("check that git can push to {remote} (the `git_remote` setting)"))
        })?;
    Ok(commit)
}
