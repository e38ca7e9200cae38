//! git with the `git` command, so the user's own configuration and credentials apply:
//! - pushing a generated source tree (Doozer + Konflux, Doozer + Prow) to a branch of a remote,
//!   as Doozer's rebase force-pushes `art-<group>-assembly-<assembly>-dgk-<key>`;
//! - asking remotes where refs point now (`git ls-remote`, many repositories at once, bounded)
//!   and what the source cache holds for them, so `okd watch` fetches nothing when nothing moved.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::Path,
    process::Stdio,
    sync::Arc,
    time::Duration,
};

use okd_core::{Error, ErrorKind, Result};
use tokio::{process::Command, sync::Semaphore, task::JoinSet};

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

/// How long one `git ls-remote` may take: a remote that hangs must not stall a watcher forever.
const LS_REMOTE_TIMEOUT: Duration = Duration::from_secs(120);

/// Where each of `refs` of `url` points on the remote now, peeled to a commit, by ref as given;
/// a ref the remote does not have is absent. A ref is looked up as `git fetch` would: as
/// written, then under `refs/`, `refs/tags/`, `refs/heads/`, `refs/remotes/` (git's
/// ref_rev_parse_rules). One `git ls-remote` with every ref as a pattern.
pub async fn ls_remote(url: &str, refs: &[String]) -> Result<HashMap<String, String>> {
    let mut command = Command::new("git");
    // `--` so that neither a URL nor a ref can be taken as an option. Patterns match the end of
    // ref names, and an annotated tag's commit is listed as `<tag>^{}`, so ask for that too.
    command.args(["ls-remote", "--", url]).args(refs.iter().flat_map(|r| [r.clone(), format!("{r}^{{}}")]));
    command
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(LS_REMOTE_TIMEOUT, command.output())
        .await
        .map_err(|_| {
            Error::new(
                ErrorKind::Timeout,
                format!("git ls-remote {url} did not answer within {}s", LS_REMOTE_TIMEOUT.as_secs()),
            )
            .with_help("check the URL and your network")
        })?
        .map_err(|e| {
            Error::new(ErrorKind::Unavailable, "cannot run git").with_source(e).with_help("install git")
        })?;
    if !output.status.success() {
        // git's own `fatal:` line says what is wrong; the lines after it are generic advice.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let why =
            lines.iter().find(|l| l.starts_with("fatal:")).or(lines.last()).copied().unwrap_or("no output");
        let why = why.trim_start_matches("fatal:").trim();
        return Err(Error::new(ErrorKind::Unavailable, format!("git ls-remote {url} failed: {why}"))
            .with_help("check the URL, your network and your git credentials"));
    }
    let listed = parse_ls_remote(&String::from_utf8_lossy(&output.stdout));
    Ok(refs.iter().filter_map(|r| pick(&listed, r).map(|c| (r.clone(), c.to_owned()))).collect())
}

/// `git ls-remote` output as ref -> commit, with tags peeled (`refs/tags/v1^{}` wins over the
/// tag object of `refs/tags/v1`).
fn parse_ls_remote(text: &str) -> HashMap<String, String> {
    let mut refs = HashMap::new();
    let mut peeled = Vec::new();
    for line in text.lines() {
        let Some((id, name)) = line.split_once('\t') else { continue };
        match name.strip_suffix("^{}") {
            Some(tag) => peeled.push((tag.to_owned(), id.to_owned())),
            None => {
                refs.insert(name.to_owned(), id.to_owned());
            }
        }
    }
    refs.extend(peeled);
    refs
}

/// The commit `reference` names among `listed`, by git's rules for abbreviated ref names.
fn pick<'a>(listed: &'a HashMap<String, String>, reference: &str) -> Option<&'a str> {
    [
        reference.to_owned(),
        format!("refs/{reference}"),
        format!("refs/tags/{reference}"),
        format!("refs/heads/{reference}"),
        format!("refs/remotes/{reference}"),
        format!("refs/remotes/{reference}/HEAD"),
    ]
    .iter()
    .find_map(|candidate| listed.get(candidate).map(String::as_str))
}

/// [`ls_remote`] over many repositories, at most `jobs` at once: (url, ref) -> the commit, or
/// `None` when the remote does not have the ref. The first repository that cannot be asked
/// fails the whole call.
pub async fn ls_remote_all(
    wanted: &BTreeMap<String, BTreeSet<String>>,
    jobs: usize,
) -> Result<BTreeMap<(String, String), Option<String>>> {
    let limit = Arc::new(Semaphore::new(jobs.max(1)));
    let mut tasks = JoinSet::new();
    for (url, refs) in wanted {
        let (url, refs, limit) = (url.clone(), refs.iter().cloned().collect::<Vec<_>>(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let found = ls_remote(&url, &refs).await?;
            Ok::<_, Error>(
                refs.into_iter()
                    .map(|r| ((url.clone(), r.clone()), found.get(&r).cloned()))
                    .collect::<Vec<_>>(),
            )
        });
    }
    let mut out = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let found = joined
            .map_err(|e| Error::new(ErrorKind::Internal, "an ls-remote task failed").with_source(e))??;
        out.extend(found);
    }
    Ok(out)
}

/// The commit the source cache's mirror `mirror` holds for `reference`, if any: what reading
/// sources offline would build. A full commit id is looked up as such; any other ref under
/// `refs/okd-cache/`, where okd_core::source fetches it (its naming, kept in step by the test
/// `the_cache_ref_is_where_reading_sources_puts_it`).
pub async fn cached_commit(mirror: &Path, reference: &str) -> Option<String> {
    if !mirror.join("HEAD").exists() {
        return None;
    }
    let name = if is_commit_id(reference) {
        reference.to_owned()
    } else {
        format!("refs/okd-cache/{}", reference.trim_start_matches("refs/").replace("..", "_"))
    };
    let output = Command::new("git")
        .arg("-C")
        .arg(mirror)
        .args(["rev-parse", "--verify", "--quiet", "--end-of-options", &format!("{name}^{{commit}}")])
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .ok()?;
    let commit = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (output.status.success() && is_commit_id(&commit)).then_some(commit)
}

/// Whether `text` is a full SHA-1 commit id.
pub fn is_commit_id(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use okd_core::{
        manifest::{LoadOptions, load_str},
        source::{Origin, SourceOptions, SourceState, mirror_dir, read_sources},
    };

    use super::*;

    fn run(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"])
            .args(["-c", "init.defaultBranch=main"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn repository(dir: &Path) -> String {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("Dockerfile"), "FROM scratch\n").unwrap();
        run(dir, &["init", "-q"]);
        run(dir, &["add", "-A"]);
        run(dir, &["commit", "-q", "-m", "one"]);
        run(dir, &["rev-parse", "HEAD"])
    }

    #[test]
    fn ls_remote_output_is_peeled_and_picked_as_git_fetch_would() {
        let listed = parse_ls_remote(
            "a1\tHEAD\nb2\trefs/heads/main\nc3\trefs/tags/v1\nd4\trefs/tags/v1^{}\ne5\trefs/remotes/x/main\n\
             f6\trefs/heads/v1\n",
        );
        assert_eq!(pick(&listed, "main"), Some("b2"));
        assert_eq!(pick(&listed, "refs/heads/main"), Some("b2"));
        assert_eq!(pick(&listed, "HEAD"), Some("a1"));
        assert_eq!(pick(&listed, "v1"), Some("d4"), "a tag before a branch, peeled to its commit");
        assert_eq!(pick(&listed, "x/main"), Some("e5"));
        assert_eq!(pick(&listed, "nope"), None);
    }

    #[tokio::test]
    async fn ls_remote_finds_branches_tags_and_not_missing_refs() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("org/repo");
        let first = repository(&repo);
        run(&repo, &["tag", "-a", "-m", "release", "v1"]);
        std::fs::write(repo.join("Dockerfile"), "FROM scratch\nLABEL a=b\n").unwrap();
        run(&repo, &["commit", "-q", "-am", "two"]);
        let second = run(&repo, &["rev-parse", "HEAD"]);
        let url = format!("file://{}", repo.display());
        let refs: Vec<String> = ["main", "v1", "gone", "HEAD"].map(String::from).to_vec();
        let found = ls_remote(&url, &refs).await.unwrap();
        assert_eq!(found.get("main"), Some(&second));
        assert_eq!(found.get("HEAD"), Some(&second));
        assert_eq!(found.get("v1"), Some(&first), "the annotated tag's commit, not the tag object");
        assert_eq!(found.get("gone"), None);

        let mut wanted = BTreeMap::new();
        wanted.insert(url.clone(), BTreeSet::from(["main".to_owned(), "gone".to_owned()]));
        let all = ls_remote_all(&wanted, 2).await.unwrap();
        assert_eq!(all[&(url.clone(), "main".to_owned())], Some(second));
        assert_eq!(all[&(url.clone(), "gone".to_owned())], None);

        let missing = format!("file://{}", tmp.path().join("nothing").display());
        wanted.insert(missing.clone(), BTreeSet::from(["main".to_owned()]));
        let error = ls_remote_all(&wanted, 2).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Unavailable);
        assert!(error.message().contains(&missing), "{error}");
    }

    /// okd_core::source fetches a ref into the mirror; [`cached_commit`] must find it there.
    #[tokio::test]
    async fn the_cache_ref_is_where_reading_sources_puts_it() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("src/org/a");
        let commit = repository(&repo);
        let url = format!("file://{}", repo.display());
        let text = format!(
            "name: r\nversion: 1.0.0\noutput: {{ registry: 127.0.0.1:5000, repository: r }}\n\
             components:\n  - {{ name: a, source: {{ git: \"{url}\", ref: refs/heads/main }} }}\n"
        );
        let release = load_str(&tmp.path().join("release.yaml"), &text, &LoadOptions::default()).unwrap();
        let options = SourceOptions { offline: false, cache_dir: tmp.path().join("cache"), jobs: 2 };
        let mirror = mirror_dir(&options, &url);
        assert_eq!(cached_commit(&mirror, "refs/heads/main").await, None, "nothing cached yet");
        let sources = read_sources(&release, &options).await.unwrap();
        let Some(SourceState::Read(snapshot)) = sources.get("a") else { panic!("a was read") };
        assert!(matches!(&snapshot.origin, Origin::Git { commit: c, .. } if *c == commit));
        assert_eq!(cached_commit(&mirror, "refs/heads/main").await, Some(commit.clone()));
        assert_eq!(cached_commit(&mirror, &commit).await, Some(commit.clone()), "a commit id as such");
        assert_eq!(cached_commit(&mirror, "main").await, None, "another ref was not fetched");
    }
}
