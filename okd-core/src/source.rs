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
use tokio::{process::Command, sync::Semaphore, task::JoinSet};

use crate::{
    Error, ErrorKind, Result,
    manifest::{Component, Release, Source},
};

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

/// A stable folder name per URL: readable prefix plus a hash, so two URLs never share a mirror.
fn mirror_name(url: &str) -> String {
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

type Wanted = (String, String, PathBuf, crate::Location);

async fn read_repository(
    url: &str,
    mirror: &Path,
    offline: bool,
    wanted: Vec<Wanted>,
) -> Result<Vec<(String, SourceState)>> {
    if !offline && !mirror.join("HEAD").exists() {
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
fn normalize(path: &Path) -> String {
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

/// Runs `git` in `dir` without prompting for credentials; returns stdout.
async fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
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
        return Err(Error::new(ErrorKind::Internal, format!("git {}: {last}", args[0])));
    }
    String::from_utf8(output.stdout)
        .map_err(|e| Error::new(ErrorKind::Internal, "git printed non-UTF-8").with_source(e))
}
