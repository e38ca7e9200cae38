//! Reading component sources.
//!
//! Path sources are read in place. Git sources are fetched into a cache of bare mirrors, one per
//! URL, with the `git` command, so the user's own credentials and configuration apply. Only the
//! refs a release names are fetched, and fetches of different repositories run concurrently
//! (bounded), so 200 repositories do not take 200 round trips in a row.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    sync::Arc,
};

use sha2::{Digest, Sha256};
use tokio::{sync::Semaphore, task::JoinSet};

use crate::{
    Error, ErrorKind, Result,
    manifest::{Component, Release, Source},
};

mod git;

use git::{mirror_name, normalize, read_repository};

/// How to read sources.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    /// Read only path sources and git sources already in the cache.
    pub offline: bool,
    /// Where bare mirrors live.
    pub cache_dir: PathBuf,
    /// How many repositories to fetch at once.
    pub jobs: usize,
}

impl SourceOptions {
    /// `$XDG_CACHE_HOME/okd/git`, else `~/.cache/okd/git`, else `.okd/cache/git`.
    pub fn default_cache_dir() -> PathBuf {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(|| PathBuf::from(".okd/cache"));
        base.join("okd").join("git")
    }
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions { offline: false, cache_dir: Self::default_cache_dir(), jobs: 8 }
    }
}

/// Where a snapshot came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A folder, read in place.
    Path {
        /// The source root on disk.
        dir: PathBuf,
    },
    /// A commit of a git repository.
    Git {
        /// The clone URL.
        url: String,
        /// The ref the manifest names.
        #[serde(rename = "ref")]
        reference: String,
        /// The commit it resolved to.
        commit: String,
    },
}

/// What was read of one component's source.
#[derive(Debug, Clone)]
pub struct SourceSnapshot {
    /// Where it came from.
    pub origin: Origin,
    /// The Dockerfile's text.
    pub dockerfile: String,
    /// The Dockerfile as a path for messages: on disk for path sources,
    /// `<url>@<commit>:<path>` for git sources.
    pub dockerfile_path: PathBuf,
    /// Identity of the build context: `sha256:` over its files for path sources, the commit and
    /// context for git sources.
    pub content: String,
}

/// A component's source: read, or why not.
#[derive(Debug, Clone)]
pub enum SourceState {
    /// Read.
    Read(SourceSnapshot),
    /// Not readable offline (git source not in the cache).
    Unreadable {
        /// Why.
        reason: String,
    },
}

/// Every component's source, by component name.
#[derive(Debug, Clone, Default)]
pub struct Sources(pub HashMap<String, SourceState>);

impl Sources {
    /// The state of `component`'s source.
    pub fn get(&self, component: &str) -> Option<&SourceState> {
        self.0.get(component)
    }
}

/// Reads the sources of every component of `release`.
pub async fn read_sources(release: &Release, options: &SourceOptions) -> Result<Sources> {
    let mut out = HashMap::new();
    let mut by_url: BTreeMap<&str, Vec<&Component>> = BTreeMap::new();
    for c in &release.components {
        match &c.source {
            Source::Path(path) => {
                out.insert(c.name.clone(), SourceState::Read(read_path_source(release, c, path)?));
            }
            Source::Git { url, .. } => by_url.entry(url).or_default().push(c),
        }
    }
    if by_url.is_empty() {
        return Ok(Sources(out));
    }
    let limit = Arc::new(Semaphore::new(options.jobs.max(1)));
    let mut tasks = JoinSet::new();
    for (url, components) in by_url {
        let mirror = options.cache_dir.join(mirror_name(url));
        let url = url.to_owned();
        let wanted: Vec<(String, String, PathBuf, crate::Location)> = components
            .iter()
            .map(|c| {
                let reference = match &c.source {
                    Source::Git { reference, .. } => reference.clone(),
                    Source::Path(_) => String::new(),
                };
                (c.name.clone(), reference, c.dockerfile_path(), c.declared_at.clone())
            })
            .collect();
        let (limit, offline) = (limit.clone(), options.offline);
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            read_repository(&url, &mirror, offline, wanted).await
        });
    }
    while let Some(joined) = tasks.join_next().await {
        let states =
            joined.map_err(|e| Error::new(ErrorKind::Internal, "a source task failed").with_source(e))??;
        out.extend(states);
    }
    Ok(Sources(out))
}

fn read_path_source(release: &Release, c: &Component, path: &Path) -> Result<SourceSnapshot> {
    let dir = release.dir.join(path);
    if !dir.is_dir() {
        return Err(Error::invalid_at(
            c.declared_at.clone(),
            format!("component '{}': source path '{}' is not a folder", c.name, path.display()),
            format!(
                "create {} or fix `source.path` (it is relative to the manifest's folder)",
                dir.display()
            ),
        ));
    }
    let dockerfile_path = dir.join(c.dockerfile_path());
    let dockerfile = std::fs::read_to_string(&dockerfile_path).map_err(|e| {
        Error::invalid_at(
            c.declared_at.clone(),
            format!("component '{}': cannot read its Dockerfile {}", c.name, dockerfile_path.display()),
            "fix `dockerfile` (relative to `context`) or `context` (relative to the source)",
        )
        .with_source(e)
    })?;
    let content = hash_tree(&dir.join(&c.context))?;
    Ok(SourceSnapshot { origin: Origin::Path { dir }, dockerfile, dockerfile_path, content })
}

/// sha256 over every file below `root` (sorted paths, executable bit, contents; symlinks by
/// target), skipping `.git`. It is deliberately conservative: a file that `.dockerignore` would
/// leave out still changes the hash, which costs a rebuild, never a stale image.
pub fn hash_tree(root: &Path) -> Result<String> {
    let mut files = Vec::new();
    collect_files(root, root, &mut files)?;
    files.sort();
    let mut hasher = Sha256::new();
    for rel in files {
        let path = root.join(&rel);
        let meta = std::fs::symlink_metadata(&path).map_err(|e| Error::io(&path, "inspect", e))?;
        hasher.update(rel.to_string_lossy().as_bytes());
        hasher.update([0]);
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).map_err(|e| Error::io(&path, "read link", e))?;
            hasher.update(b"L");
            hasher.update(target.to_string_lossy().as_bytes());
        } else if !meta.is_file() {
            // A named pipe, socket or device: reading it could block forever, and only its
            // existence reaches the image.
            hasher.update(b"S");
        } else {
            hasher.update(if is_executable(&meta) { b"X" } else { b"F" });
            let data = std::fs::read(&path).map_err(|e| Error::io(&path, "read", e))?;
            hasher.update((data.len() as u64).to_le_bytes());
            hasher.update(&data);
        }
        hasher.update([0]);
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    false
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, "list", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, "list", e))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| Error::io(&path, "inspect", e))?;
        if kind.is_dir() {
            if entry.file_name() != ".git" {
                collect_files(root, &path, out)?;
            }
        } else {
            out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        }
    }
    Ok(())
}

/// The bare mirror in the cache that holds `url`'s commits.
pub fn mirror_dir(options: &SourceOptions, url: &str) -> PathBuf {
    options.cache_dir.join(mirror_name(url))
}

/// Writes the build context of `snapshot` into `dest`, an existing empty folder: for a git
/// source the `context` folder (relative to the repository root) of the snapshot's commit, from
/// the cache mirror, as a checkout would write it; for a path source a copy of
/// `<dir>/<context>` (see [`copy_tree`]). Reads only the cache: the commit was fetched when the
/// sources were read.
pub async fn export_context(
    snapshot: &SourceSnapshot,
    context: &str,
    options: &SourceOptions,
    dest: &Path,
) -> Result<()> {
    match &snapshot.origin {
        Origin::Git { url, commit, .. } => {
            git::checkout_tree(&mirror_dir(options, url), commit, context, dest).await.map_err(|e| {
                let inside = normalize(Path::new(context));
                e.context(format!("cannot export '{inside}' of {url} at {commit} from the git cache"))
            })
        }
        Origin::Path { dir } => {
            let (from, to) = (dir.join(context), dest.to_path_buf());
            tokio::task::spawn_blocking(move || copy_tree(&from, &to))
                .await
                .map_err(|e| Error::new(ErrorKind::Internal, "a copy task failed").with_source(e))?
        }
    }
}

/// The committer time of `commit` of `url` (seconds since the Unix epoch), from the cache.
pub async fn commit_time(options: &SourceOptions, url: &str, commit: &str) -> Result<i64> {
    git::committer_time(&mirror_dir(options, url), commit).await
}

/// `git describe --tags --always` of `commit` of `url`, from the cache. Mirrors fetch no tags,
/// so this is usually the abbreviated commit, as in Doozer's shallow clones.
pub async fn describe(options: &SourceOptions, url: &str, commit: &str) -> Result<String> {
    git::describe(&mirror_dir(options, url), commit).await
}

/// Copies the folder `from` into the existing folder `to`, recursively: files keep their
/// permission bits (so executables stay executable), symlinks are recreated as symlinks with
/// the same target, `.git` folders are skipped, and sockets, pipes and devices are left out.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let entries = std::fs::read_dir(from).map_err(|e| Error::io(from, "list", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(from, "list", e))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(|e| Error::io(&src, "inspect", e))?;
        if kind.is_dir() {
            if entry.file_name() != ".git" {
                std::fs::create_dir(&dst).map_err(|e| Error::io(&dst, "create", e))?;
                copy_tree(&src, &dst)?;
            }
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&src).map_err(|e| Error::io(&src, "read link", e))?;
            symlink(&target, &dst)?;
        } else if kind.is_file() {
            // std::fs::copy copies the permission bits too.
            std::fs::copy(&src, &dst).map_err(|e| Error::io(&src, "copy", e))?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> Result<()> {
    std::os::unix::fs::symlink(target, link).map_err(|e| Error::io(link, "create symlink", e))
}

#[cfg(not(unix))]
fn symlink(_: &Path, link: &Path) -> Result<()> {
    Err(Error::new(ErrorKind::NotImplemented, format!("cannot recreate the symlink {}", link.display()))
        .with_help("copy sources that contain symlinks on a Unix system"))
}

/// The `org` and `repo` of a clone URL: its last two path segments, `.git` dropped, for any
/// scheme (`https://github.com/openshift/oc.git`, `git@github.com:openshift/oc`,
/// `file:///tmp/src/openshift/oc`). CI systems name repositories this way (ci-operator's
/// `<org>/<repo>`, Konflux's git-url), so a local file:// clone stands for its GitHub original.
/// `None` when the path has fewer than two segments.
pub fn org_repo(url: &str) -> Option<(String, String)> {
    let trimmed = url.trim_end_matches('/');
    let path = match trimmed.split_once("://") {
        // `scheme://host/path`; file URLs have an empty host.
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, path)| path),
        // scp-like `user@host:path`, else a plain path.
        None => trimmed.split_once(':').map_or(trimmed, |(_, path)| path),
    };
    let path = path.trim_end_matches(".git");
    let mut parts = path.rsplit('/').filter(|p| !p.is_empty());
    let repo = parts.next()?;
    let org = parts.next()?;
    Some((org.to_owned(), repo.to_owned()))
}

#[cfg(test)]
mod org_repo_tests {
    use super::org_repo;

    #[test]
    fn last_two_segments_of_any_scheme() {
        let pair = |o: &str, r: &str| Some((o.to_owned(), r.to_owned()));
        assert_eq!(org_repo("https://github.com/openshift/oc.git"), pair("openshift", "oc"));
        assert_eq!(org_repo("https://github.com/openshift/oc/"), pair("openshift", "oc"));
        assert_eq!(org_repo("git@github.com:openshift/oc.git"), pair("openshift", "oc"));
        assert_eq!(
            org_repo("file:///tmp/x/openshift/cluster-dns-operator"),
            pair("openshift", "cluster-dns-operator")
        );
        assert_eq!(org_repo("/srv/git/okd/installer.git"), pair("okd", "installer"));
        assert_eq!(org_repo("file:///repo"), None);
        assert_eq!(org_repo("https://github.com/"), None);
    }
}
