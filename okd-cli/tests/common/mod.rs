//! Helpers shared by the `okd` integration tests: run the real binary in a tempdir, write
//! fixture files, snapshot a folder to prove nothing was written, and make git repositories.
#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    hash::{DefaultHasher, Hash, Hasher},
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

/// The binary under test.
pub const OKD: &str = env!("CARGO_BIN_EXE_okd");

/// Writes `text` to `root/rel`, creating folders.
pub fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("a file has a parent")).expect("create folders");
    std::fs::write(&path, text).expect("write a fixture file");
}

/// How long one okd run may take before the test calls it hung.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Runs okd in `dir` with the whitespace-separated arguments of `command_line`, where `{dir}`
/// stands for `dir`. HOME is `dir/home` and the git cache defaults to `dir/cache`, so nothing
/// outside the tempdir is touched and a stray cache write shows up in a [`snapshot`].
/// Panics if okd runs longer than [`TIMEOUT`].
pub fn okd(dir: &Path, command_line: &str) -> Output {
    okd_within(dir, command_line, TIMEOUT)
        .unwrap_or_else(|| panic!("okd {command_line} did not finish within {TIMEOUT:?}"))
}

/// Like [`okd`], but `None` (after killing it) if okd runs longer than `timeout`; its output
/// is read as it comes.
pub fn okd_within(dir: &Path, command_line: &str, timeout: Duration) -> Option<Output> {
    let root = dir.to_str().expect("a UTF-8 tempdir");
    let args: Vec<String> = command_line.split_whitespace().map(|a| a.replace("{dir}", root)).collect();
    let mut child = Command::new(OKD)
        .args(&args)
        .current_dir(dir)
        .env("HOME", dir.join("home"))
        .env("OKD_CACHE_DIR", dir.join("cache"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("OKD_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the okd binary");
    // Both pipes are drained while okd runs: a child writing more than a pipe holds (the
    // warnings of a 250-component release) would otherwise block until the timeout.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Some(status) = child.try_wait().expect("wait for okd") {
            let stdout = stdout.join().expect("read okd's stdout");
            let stderr = stderr.join().expect("read okd's stderr");
            return Some(Output { status, stdout, stderr });
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Runs `git` in `repo` with a throwaway identity, no system config and HOME at `home`.
pub fn git(repo: &Path, home: &Path, command_line: &str) {
    let status = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@e"])
        .args(command_line.split_whitespace())
        .current_dir(repo)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .expect("run git");
    assert!(status.success(), "git {command_line} failed in {}", repo.display());
}

/// Every file and folder below `root` (relative path -> content hash), except the top-level
/// entries named in `skip`.
pub fn snapshot(root: &Path, skip: &[&str]) -> BTreeMap<String, u64> {
    fn walk(root: &Path, dir: &Path, skip: &[&str], out: &mut BTreeMap<String, u64>) {
        for entry in std::fs::read_dir(dir).expect("list a folder") {
            let path = entry.expect("read a folder entry").path();
            let rel = path.strip_prefix(root).expect("below root").to_string_lossy().into_owned();
            if skip.contains(&rel.as_str()) {
                continue;
            }
            let mut hasher = DefaultHasher::new();
            if path.is_dir() {
                "<dir>".hash(&mut hasher);
                walk(root, &path, skip, out);
            } else {
                std::fs::read(&path).expect("read a file").hash(&mut hasher);
            }
            out.insert(rel, hasher.finish());
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, skip, &mut out);
    out
}

/// The paths added, removed or changed between two snapshots, sorted.
pub fn changed_paths(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> Vec<String> {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|k| before.get(*k) != after.get(*k)).cloned().collect()
}
