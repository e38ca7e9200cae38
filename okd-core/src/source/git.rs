//! The git side of sources: bare mirrors in the cache, fetching refs, reading files and
//! exporting trees, all through the `git` command.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::Stdio,
};

use sha2::{Digest, Sha256};
use tokio::process::Command;

use super::{Origin, SourceSnapshot, SourceState};
use crate::{Error, ErrorKind, Result};

/// A stable folder name per URL: readable prefix plus a hash, so two URLs never share a mirror.
pub(super) fn mirror_name(url: &str) -> String {
    let readable: String = url
        .rsplit('/')
        .next()
        .unwrap_or("repo")
        .trim_end_matches(".git")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .take(40)
        .collect();
    let digest = hex::encode(Sha256::digest(url.as_bytes()));
    format!("{readable}-{}.git", &digest[..16])
}

pub(super) type Wanted = (String, String, PathBuf, crate::Location);

pub(super) async fn read_repository(
    url: &str,
    mirror: &Path,
    offline: bool,
    wanted: Vec<Wanted>,
) -> Result<Vec<(String, SourceState)>> {
    if !mirror.join("HEAD").exists() {
        if offline {
            // Nothing cached for this URL: say so without spawning git for every component
            // (planning a 250-component import offline went from 300 ms to a few ms).
            let reason = format!("{url} is not in the git cache");
            return Ok(wanted
                .into_iter()
                .map(|w| (w.0, SourceState::Unreadable { reason: reason.clone() }))
                .collect());
        }
        std::fs::create_dir_all(mirror).map_err(|e| Error::io(mirror, "create the git cache", e))?;
        git(mirror, &["init", "--bare", "--quiet"]).await?;
    }
    let mut commits: HashMap<String, std::result::Result<String, String>> = HashMap::new();
    let mut out = Vec::new();
    for (component, reference, dockerfile, declared_at) in wanted {
        if !commits.contains_key(&reference) {
            let commit = resolve_ref(url, mirror, &reference, offline).await;
            let commit = match commit {
                Ok(c) => Ok(c),
                Err(e) if offline => Err(e.message().to_owned()),
                Err(e) => {
                    return Err(e.context(format!("component '{component}'")).with_location(declared_at));
                }
            };
            commits.insert(reference.clone(), commit);
        }
        let state = match &commits[&reference] {
            Err(reason) => SourceState::Unreadable { reason: reason.clone() },
            Ok(commit) => {
                let inside = normalize(&dockerfile);
                let spec = format!("{commit}:{inside}");
                let text = git(mirror, &["show", &spec]).await.map_err(|e| {
                    Error::invalid_at(
                        declared_at.clone(),
                        format!("component '{component}': {url} has no {inside} at {commit}"),
                        "fix `dockerfile` or `context`, or the ref",
                    )
                    .with_source(e)
                })?;
                SourceState::Read(SourceSnapshot {
                    origin: Origin::Git {
                        url: url.to_owned(),
                        reference: reference.clone(),
                        commit: commit.clone(),
                    },
                    dockerfile: text,
                    dockerfile_path: PathBuf::from(format!(
                        "{url}@{}:{inside}",
                        &commit[..commit.len().min(12)]
                    )),
                    content: format!(
                        "git:{commit}:{}",
                        normalize(dockerfile.parent().unwrap_or(Path::new("")))
                    ),
                })
            }
        };
        out.push((component, state));
    }
    Ok(out)
}

/// `a/./b` -> `a/b`, without touching the disk; what `git show` expects.
pub(super) fn normalize(path: &Path) -> String {
    path.components()
        .filter(|p| !matches!(p, std::path::Component::CurDir))
        .map(|p| p.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

async fn resolve_ref(url: &str, mirror: &Path, reference: &str, offline: bool) -> Result<String> {
    let local = format!("refs/okd-cache/{}", sanitize_ref(reference));
    if !offline {
        let is_commit = reference.len() == 40 && reference.bytes().all(|b| b.is_ascii_hexdigit());
        let have =
            is_commit && git(mirror, &["cat-file", "-e", &format!("{reference}^{{commit}}")]).await.is_ok();
        if !have {
            let refspec = if is_commit { reference.to_owned() } else { format!("+{reference}:{local}") };
            git(mirror, &["fetch", "--quiet", "--no-tags", "--depth=1", url, &refspec]).await.map_err(
                |e| {
                    let not_found = e.message().contains("couldn't find remote ref")
                        || e.message().contains("not our ref");
                    let kind = if not_found { ErrorKind::InvalidInput } else { ErrorKind::Unavailable };
                    Error::new(kind, format!("cannot fetch '{reference}' from {url}: {}", e.message()))
                        .with_help(if not_found {
                            "check the ref: a branch, tag or full commit of that repository"
                        } else {
                            "check the URL, your network and your git credentials"
                        })
                },
            )?;
            if is_commit {
                return Ok(reference.to_owned());
            }
        }
    }
    for candidate in [local.as_str(), reference] {
        if let Ok(commit) =
            git(mirror, &["rev-parse", "--verify", "--quiet", &format!("{candidate}^{{commit}}")]).await
        {
            return Ok(commit.trim().to_owned());
        }
    }
    Err(Error::new(ErrorKind::NotFound, format!("'{reference}' of {url} is not in the git cache")))
}

fn sanitize_ref(reference: &str) -> String {
    reference.trim_start_matches("refs/").replace("..", "_")
}

/// Writes the tree `context` (relative to the repository root; `""` or `.` for the root) of
/// `commit` into the existing folder `dest`, as a checkout would: modes, symlinks and the
/// repository's checkout attributes apply, `export-ignore` does not (unlike `git archive`). A
/// throwaway index next to `dest` keeps the mirror untouched, so exports can run concurrently.
pub(super) async fn checkout_tree(mirror: &Path, commit: &str, context: &str, dest: &Path) -> Result<()> {
    let inside = normalize(Path::new(context));
    let tree = if inside.is_empty() { format!("{commit}^{{tree}}") } else { format!("{commit}:{inside}") };
    let dest = std::path::absolute(dest).map_err(|e| Error::io(dest, "resolve", e))?;
    // git runs checkout-index in the work tree, so it must exist (else: "this operation must be
    // run in a work tree").
    std::fs::create_dir_all(&dest).map_err(|e| Error::io(&dest, "create the export folder", e))?;
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let index = dest.with_file_name(format!(".{name}.index"));
    let index_env = [("GIT_INDEX_FILE", index.as_os_str())];
    let work_tree = format!("--work-tree={}", dest.display());
    let result = async {
        git_with(mirror, &["read-tree", &tree], &index_env).await?;
        git_with(mirror, &[&work_tree, "checkout-index", "--all", "--force"], &index_env).await
    }
    .await;
    let _ = std::fs::remove_file(&index);
    result.map(drop)
}

/// The committer time of `commit`, in seconds since the Unix epoch.
pub(super) async fn committer_time(mirror: &Path, commit: &str) -> Result<i64> {
    let out = git(mirror, &["show", "-s", "--format=%ct", commit]).await?;
    out.trim().parse().map_err(|e| {
        Error::new(ErrorKind::Internal, format!("git printed '{}' as the time of {commit}", out.trim()))
            .with_source(e)
    })
}

/// `git describe --tags --always` of `commit`: the nearest tag, else the abbreviated commit.
pub(super) async fn describe(mirror: &Path, commit: &str) -> Result<String> {
    Ok(git(mirror, &["describe", "--tags", "--always", commit]).await?.trim().to_owned())
}

/// Runs `git` in `dir` without prompting for credentials; returns stdout.
async fn git(dir: &Path, args: &[&str]) -> Result<String> {
    git_with(dir, args, &[]).await
}

/// [`git`] with extra environment variables.
async fn git_with(dir: &Path, args: &[&str], envs: &[(&str, &std::ffi::OsStr)]) -> Result<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| {
            Error::new(ErrorKind::Unavailable, "cannot run git")
                .with_source(e)
                .with_help("install git and make sure it is on PATH")
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("git failed").trim();
        let command = args.iter().find(|a| !a.starts_with('-')).unwrap_or(&"");
        return Err(Error::new(ErrorKind::Internal, format!("git {command}: {last}")));
    }
    String::from_utf8(output.stdout)
        .map_err(|e| Error::new(ErrorKind::Internal, "git printed non-UTF-8").with_source(e))
}
