//! Shared by the backend-prow tests: okd-mini with every component in a git repository of its
//! own (file://, as OKD's components are git sources), planned and rendered.
#![allow(dead_code, clippy::unwrap_used)]

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use backend_prow::{ProwConfig, Strategy};
use okd_core::{
    backend::{BackendPlan, BuildBackend},
    manifest::{LoadOptions, load},
    plan::{Plan, PlanOptions, plan},
    source::{SourceOptions, read_sources},
};
use okd_runtime::{Runtime, SettingsLayers};

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
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Copies `from` into a new repository at `to` with one commit on `main`.
pub fn repository(from: &Path, to: &Path) -> String {
    std::fs::create_dir_all(to).unwrap();
    copy(from, to);
    git(to, &["init", "-q"]);
    git(to, &["add", "-A"]);
    git(to, &["commit", "-q", "-m", "import"]);
    git(to, &["rev-parse", "HEAD"])
}

fn copy(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// okd-mini's manifest with each `source: { path: components/NAME }` turned into a git source
/// `file://<dir>/src/okd/NAME` at `main`, each repository made from the example's folder. The
/// manifest is written to `<dir>/release.yaml`; `edit` may change its text first.
pub fn okd_mini_git(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let example = workspace().join("examples/okd-mini");
    let mut text = std::fs::read_to_string(example.join("release.yaml")).unwrap();
    for entry in std::fs::read_dir(example.join("components")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let repo = dir.join("src/okd").join(&name);
        repository(&example.join("components").join(&name), &repo);
        text = text.replace(
            &format!("source: {{ path: components/{name} }}"),
            &format!("source: {{ git: \"file://{}\", ref: main }}", repo.display()),
        );
    }
    assert!(!text.contains("path: components/"), "every source became a git source");
    let manifest = dir.join("release.yaml");
    std::fs::write(&manifest, edit(text)).unwrap();
    manifest
}

/// Plans `manifest`, fetching its git sources into `<dir>/cache`.
pub async fn plan_of(manifest: &Path, dir: &Path) -> Arc<Plan> {
    let release = load(manifest, &LoadOptions::default()).unwrap();
    let options = SourceOptions { offline: false, cache_dir: dir.join("cache"), jobs: 4 };
    let sources = read_sources(&release, &options).await.unwrap();
    Arc::new(plan(Arc::new(release), &sources, &PlanOptions::default()).unwrap())
}

/// A backend from settings `pairs` (no settings file, no environment).
pub fn backend(strategy: Strategy, pairs: &[(&str, &str)]) -> Arc<dyn BuildBackend> {
    let flags = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let runtime = Runtime::default_dirs().with_settings(SettingsLayers::none());
    let config: ProwConfig = runtime.settings(strategy.name(), &flags).unwrap();
    Arc::new(backend_prow::ProwBackend::from_config(strategy, &runtime, &config).unwrap())
}

pub async fn backend_plan(strategy: Strategy, pairs: &[(&str, &str)], plan: Arc<Plan>) -> BackendPlan {
    backend(strategy, pairs).plan(plan, &Default::default()).await.unwrap()
}
