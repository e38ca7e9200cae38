//! One builder per release and backend at a time, across processes: an OS file lock (flock)
//! on a file in the state folder. The kernel drops it when its process ends, however it ends, so
//! a killed watcher leaves no lock behind and there is no stale-lock cleanup to get wrong. The
//! file itself stays (removing it would let two processes lock two different files); it names
//! the process that holds the lock, for the message the next one gets.
//!
//! Two locks per release and backend: `watch` for a watcher's whole life (a second watcher of
//! the same release is refused), `build` while a build runs (a cycle and an `okd build` of the
//! same release never overlap).

use std::{
    fs::{File, OpenOptions, TryLockError},
    io::{Read, Seek, Write},
    path::{Path, PathBuf},
};

use okd_core::{Error, ErrorKind, Result};

/// What a lock guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// A watcher, for its whole life.
    Watch,
    /// One build of the release.
    Build,
}

impl LockKind {
    fn as_str(self) -> &'static str {
        match self {
            LockKind::Watch => "watch",
            LockKind::Build => "build",
        }
    }
}

/// A held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct ReleaseLock {
    path: PathBuf,
    // Held for the lock's life: closing the file releases the lock.
    _file: File,
}

impl ReleaseLock {
    /// Takes the `kind` lock of `release` on `backend` in `state_dir` (under `locks/`), or says
    /// which process holds it. Never waits.
    pub fn acquire(state_dir: &Path, release: &str, backend: &str, kind: LockKind) -> Result<ReleaseLock> {
        let dir = state_dir.join("locks");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, "create the lock folder", e))?;
        let path = dir.join(format!("{}.{}.{}.lock", file_part(release), file_part(backend), kind.as_str()));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, "open the lock file", e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(held(&path, release, backend, kind, holder.trim()));
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(&path, "lock", e)),
        }
        // Ours now: say who holds it. A failure here costs only the name in the next message.
        let holder = format!(
            "{} {}",
            std::process::id(),
            jiff::Timestamp::now().round(jiff::Unit::Second).unwrap_or_else(|_| jiff::Timestamp::now())
        );
        let _ = file.set_len(0).and_then(|()| file.rewind()).and_then(|()| file.write_all(holder.as_bytes()));
        Ok(ReleaseLock { path, _file: file })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn held(path: &Path, release: &str, backend: &str, kind: LockKind, holder: &str) -> Error {
    let mut parts = holder.split_whitespace();
    let (pid, since) = (parts.next().filter(|p| p.parse::<u32>().is_ok()), parts.next());
    let who = match (pid, since) {
        (Some(pid), Some(since)) => format!("process {pid} (since {since})"),
        (Some(pid), None) => format!("process {pid}"),
        _ => "another process".to_owned(),
    };
    let (doing, help) = match kind {
        LockKind::Watch => (
            "is already watched by",
            "one `okd watch` per release and backend: stop that one first (kill PID; the lock goes \
             with its process, even when it is killed), or leave it running",
        ),
        LockKind::Build => (
            "is being built by",
            "wait for that build to end (`okd runs` shows it), or stop it with `okd cancel RUN`",
        ),
    };
    let help = help.replace("PID", pid.unwrap_or("PID"));
    Error::new(
        ErrorKind::Conflict,
        format!("release {release} on backend {backend} {doing} {who} (lock {})", path.display()),
    )
    .with_help(help)
}

/// A release or backend name as part of a file name: anything but letters, digits, `-`, `_`
/// and inner dots becomes `_`, so no name can step out of the lock folder.
fn file_part(name: &str) -> String {
    let part: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    if part.starts_with('.') || part.is_empty() { format!("_{part}") } else { part }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid_until_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = ReleaseLock::acquire(dir.path(), "okd-mini", "local", LockKind::Watch).unwrap();
        let error = ReleaseLock::acquire(dir.path(), "okd-mini", "local", LockKind::Watch).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Conflict);
        let pid = std::process::id().to_string();
        assert!(error.message().contains(&format!("already watched by process {pid} (since ")), "{error}");
        assert!(error.help().unwrap().contains(&format!("kill {pid}")), "{error:?}");
        // Other releases, backends and kinds are other locks.
        let _other = ReleaseLock::acquire(dir.path(), "okd-mini", "konflux", LockKind::Watch).unwrap();
        let _build = ReleaseLock::acquire(dir.path(), "okd-mini", "local", LockKind::Build).unwrap();
        let error = ReleaseLock::acquire(dir.path(), "okd-mini", "local", LockKind::Build).unwrap_err();
        assert!(error.message().contains("is being built by process"), "{error}");
        drop(first);
        let again = ReleaseLock::acquire(dir.path(), "okd-mini", "local", LockKind::Watch).unwrap();
        assert!(again.path().ends_with("locks/okd-mini.local.watch.lock"), "{}", again.path().display());
    }

    #[test]
    fn names_stay_inside_the_lock_folder() {
        assert_eq!(file_part("okd-mini"), "okd-mini");
        assert_eq!(file_part("../../etc/x"), "_.._.._etc_x");
        assert_eq!(file_part(""), "_");
        assert_eq!(file_part("a b/c"), "a_b_c");
        let dir = tempfile::tempdir().unwrap();
        let lock = ReleaseLock::acquire(dir.path(), "../x", "local", LockKind::Build).unwrap();
        assert_eq!(lock.path().parent().unwrap(), dir.path().join("locks"));
    }

    #[test]
    fn a_holder_without_a_readable_name_is_another_process() {
        let error = held(Path::new("/s/x.lock"), "r", "local", LockKind::Watch, "");
        assert!(error.message().contains("already watched by another process"), "{error}");
    }
}
