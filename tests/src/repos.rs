//! Git sources for tests, as OKD's components are git sources: local repositories (file://)
//! made from folders, okd-mini with every component in a repository of its own, and plans of
//! such manifests. Shared by the backend crates' tests.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use okd_core::{
    manifest::{LoadOptions, load},
    plan::{Plan, PlanOptions, plan},
    source::{SourceOptions, read_sources},
};

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `$OKD_SHARED`, or `None` after saying plainly that the test skips.
pub fn shared(test: &str) -> Option<PathBuf> {
    match std::env::var_os("OKD_SHARED") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            eprintln!("skipping {test}: OKD_SHARED is unset (CI sets it to the shared folder)");
            None
        }
    }
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Copies `from` into a new repository at `to` with one commit on `main`.
pub fn repository(from: &Path, to: &Path) -> String {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
    copy(from, to);
    git(to, &["init", "-q"]);
    git(to, &["add", "-A"]);
    git(to, &["commit", "-q", "-m", "import"]);
    git(to, &["rev-parse", "HEAD"])
}

fn copy(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{e}")) {
        let entry = entry.unwrap_or_else(|e| panic!("{e}"));
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap_or_else(|e| panic!("{e}")).is_dir() {
            std::fs::create_dir_all(&target).unwrap_or_else(|e| panic!("{e}"));
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// okd-mini's manifest with each `source: { path: components/NAME }` turned into a git source
/// `file://<dir>/src/okd/NAME` at `main`, each repository made from the example's folder. The
/// manifest is written to `<dir>/release.yaml`; `edit` may change its text first.
pub fn okd_mini_git(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let example = workspace().join("examples/okd-mini");
    let mut text = std::fs::read_to_string(example.join("release.yaml")).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(example.join("components")).unwrap_or_else(|e| panic!("{e}")) {
        let name = entry.unwrap_or_else(|e| panic!("{e}")).file_name().to_string_lossy().into_owned();
        let repo = dir.join("src/okd").join(&name);
        repository(&example.join("components").join(&name), &repo);
        text = text.replace(
            &format!("source: {{ path: components/{name} }}"),
            &format!("source: {{ git: \"file://{}\", ref: main }}", repo.display()),
        );
    }
    assert!(!text.contains("path: components/"), "every source became a git source");
    let manifest = dir.join("release.yaml");
    std::fs::write(&manifest, edit(text)).unwrap_or_else(|e| panic!("{e}"));
    manifest
}

/// Plans `manifest`, fetching its git sources into `<dir>/cache`.
pub async fn plan_of(manifest: &Path, dir: &Path) -> Arc<Plan> {
    let release = load(manifest, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let options = SourceOptions { offline: false, cache_dir: dir.join("cache"), jobs: 4 };
    let sources = read_sources(&release, &options).await.unwrap_or_else(|e| panic!("{e}"));
    Arc::new(plan(Arc::new(release), &sources, &PlanOptions::default()).unwrap_or_else(|e| panic!("{e}")))
}
