//! The generated folders on disk: refusing to overwrite what okd-build did not write, the
//! Doozer-style root (`/Dockerfile`, no other Dockerfiles), and the atomic swap into place.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The marker every generated folder carries; its presence is what allows replacing one.
pub(super) const RECORD: &str = ".okd-build/generated.json";

/// Refuses `dir` when it exists and is anything but an empty folder or a previous generation.
pub(super) fn check_target(dir: &Path, component: &str) -> Result<()> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, "inspect", e)),
    };
    let refuse = |what: &str| {
        Error::invalid(format!(
            "component '{component}': {} {what}, and it is not a folder that okd-build generated (no {RECORD})",
            dir.display()
        ))
        .with_help("choose an empty --out, or move the folder away; okd-build only replaces folders it generated")
    };
    if !meta.is_dir() {
        return Err(refuse("exists and is not a folder"));
    }
    let mut entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, "list", e))?;
    if entries.next().is_none() || dir.join(RECORD).is_file() {
        return Ok(());
    }
    Err(refuse("is not empty"))
}

/// Makes the exported context Doozer's build root: removes the other `Dockerfile.*` and
/// `Containerfile*` files at the root (only there, as Doozer does), writes `dockerfile` as
/// `/Dockerfile` and `record` as [`RECORD`].
pub(super) fn finish(root: &Path, dockerfile: &str, record: &str) -> Result<()> {
    let entries = std::fs::read_dir(root).map_err(|e| Error::io(root, "list", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(root, "list", e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| Error::io(&path, "inspect", e))?;
        if name == "Dockerfile" && kind.is_dir() {
            std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, "remove", e))?;
        } else if (name == "Dockerfile"
            || name.starts_with("Dockerfile.")
            || name.starts_with("Containerfile"))
            && !kind.is_dir()
        {
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, "remove", e))?;
        }
    }
    write(&root.join("Dockerfile"), dockerfile)?;
    let record_path = root.join(RECORD);
    if let Some(parent) = record_path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, "create", e))?;
    }
    write(&record_path, record)
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(path, "write", e))
}

/// Whether `inner` is `outer` or below it, symlinks resolved as far as the paths exist.
pub(super) fn contains(outer: &Path, inner: &Path) -> bool {
    resolved(inner).starts_with(resolved(outer))
}

/// `path` made absolute, with its longest existing prefix canonicalized.
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            return rest.iter().rev().fold(real, |acc, part| acc.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// A fresh, empty staging folder `<out>/.<component>.tmp-<pid>`.
pub(super) fn staging(out_dir: &Path, component: &str) -> Result<PathBuf> {
    let dir = out_dir.join(format!(".{component}.tmp-{}", std::process::id()));
    remove(&dir)?;
    std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, "create", e))?;
    Ok(dir)
}

/// Removes `path` (a folder or a file) if it exists.
pub(super) fn remove(path: &Path) -> Result<()> {
    let result = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    result.map_err(|e| Error::io(path, "remove", e))
}

/// Moves the finished `staging` folder to `target`. A previous generation (or an empty folder)
/// at `target` is first moved aside, then removed, so `target` is never half-written.
pub(super) fn replace(staging: &Path, target: &Path) -> Result<()> {
    let aside = match target.file_name() {
        Some(name) if target.exists() => {
            let aside =
                target.with_file_name(format!(".{}.old-{}", name.to_string_lossy(), std::process::id()));
            remove(&aside)?;
            std::fs::rename(target, &aside).map_err(|e| Error::io(target, "move aside", e))?;
            Some(aside)
        }
        _ => None,
    };
    if let Err(e) = std::fs::rename(staging, target) {
        if let Some(aside) = &aside {
            // Put the previous generation back; the error below is what matters.
            let _ = std::fs::rename(aside, target);
        }
        return Err(Error::io(target, "move into place", e));
    }
    match aside {
        Some(aside) => remove(&aside),
        None => Ok(()),
    }
}
