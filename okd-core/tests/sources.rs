#![allow(clippy::unwrap_used)]
//! Git and path sources against real repositories made in temporary folders (file:// URLs; no
//! network).

use std::{path::Path, sync::Arc};

mod common;

use okd_core::{
    ErrorKind,
    manifest::{LoadOptions, load_str},
    plan::{PlanOptions, PlannedSource, plan},
    source::{SourceOptions, SourceState, hash_tree, read_sources},
};

fn git(dir: &Path, args: &[&str]) -> String {
    common::git(dir, dir, args)
}

/// A repository with a Dockerfile under `images/`, committed on `main`; returns the commit.
fn repo(dir: &Path, dockerfile: &str) -> String {
    std::fs::create_dir_all(dir.join("images")).unwrap();
    std::fs::write(dir.join("images/Dockerfile"), dockerfile).unwrap();
    git(dir, &["init", "--quiet"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "--quiet", "-m", "one"]);
    git(dir, &["rev-parse", "HEAD"])
}

fn manifest(url_a: &str, url_b: &str, reference: &str) -> String {
    format!(
        r#"name: s
version: 1.0.0
output: {{ registry: r, repository: o/s }}
replace: {{ "up/base:1": member:base }}
components:
  - {{ name: base, source: {{ git: "{url_a}", ref: {reference} }}, context: images }}
  - {{ name: app, source: {{ git: "{url_b}", ref: {reference} }}, dockerfile: images/Dockerfile }}
  - {{ name: local, source: {{ path: local }} }}
"#
    )
}

fn setup() -> (tempfile::TempDir, String, String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let a = repo(&tmp.path().join("a"), "FROM docker.io/library/busybox:1\n");
    let b = repo(&tmp.path().join("b"), "FROM up/base:1\nRUN true\n");
    std::fs::create_dir_all(tmp.path().join("rel/local")).unwrap();
    std::fs::write(tmp.path().join("rel/local/Dockerfile"), "FROM up/base:1\n").unwrap();
    let text = manifest(
        &format!("file://{}", tmp.path().join("a").display()),
        &format!("file://{}", tmp.path().join("b").display()),
        "main",
    );
    (tmp, a, b, text)
}

fn options(tmp: &Path, offline: bool) -> SourceOptions {
    SourceOptions { offline, cache_dir: tmp.join("cache"), jobs: 2 }
}

#[tokio::test]
async fn git_refs_resolve_to_commits_and_plan_records_them() {
    let (tmp, a, b, text) = setup();
    let release = load_str(&tmp.path().join("rel/release.yaml"), &text, &LoadOptions::default()).unwrap();
    let sources = read_sources(&release, &options(tmp.path(), false)).await.unwrap();
    let p = plan(Arc::new(release), &sources, &PlanOptions::default()).unwrap();
    let commit = |name: &str| match &p.component(name).unwrap().source {
        PlannedSource::Commit { commit, .. } => commit.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!((commit("base"), commit("app")), (a, b));
    assert_eq!(p.component("app").unwrap().depends_on, ["base"]);
    assert!(matches!(p.component("local").unwrap().source, PlannedSource::Path { .. }));
    assert_eq!(std::fs::read_dir(tmp.path().join("cache")).unwrap().count(), 2, "one mirror per URL");
}

#[tokio::test]
async fn offline_reads_the_cache_and_reports_what_it_cannot_read() {
    let (tmp, a, _, text) = setup();
    let path = tmp.path().join("rel/release.yaml");
    let release = load_str(&path, &text, &LoadOptions::default()).unwrap();
    // Nothing cached yet: offline reads only the path source.
    let sources = read_sources(&release, &options(tmp.path(), true)).await.unwrap();
    assert!(matches!(sources.get("base"), Some(SourceState::Unreadable { .. })));
    assert!(matches!(sources.get("local"), Some(SourceState::Read(_))));
    assert!(!tmp.path().join("cache").exists(), "offline writes nothing");
    // Fetch once, then a new commit upstream: offline keeps using the cached one.
    read_sources(&release, &options(tmp.path(), false)).await.unwrap();
    std::fs::write(tmp.path().join("a/images/Dockerfile"), "FROM docker.io/library/busybox:2\n").unwrap();
    git(&tmp.path().join("a"), &["commit", "--quiet", "-am", "two"]);
    let sources = read_sources(&release, &options(tmp.path(), true)).await.unwrap();
    match sources.get("base") {
        Some(SourceState::Read(s)) => assert!(s.content.contains(&a) && s.dockerfile.contains("busybox:1")),
        other => panic!("{other:?}"),
    }
    // Online again: the new commit.
    let sources = read_sources(&release, &options(tmp.path(), false)).await.unwrap();
    match sources.get("base") {
        Some(SourceState::Read(s)) => assert!(!s.content.contains(&a) && s.dockerfile.contains("busybox:2")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_missing_ref_is_an_input_error_at_the_component() {
    let (tmp, _, _, text) = setup();
    let text = text.replacen("ref: main", "ref: no-such-branch", 1);
    let release = load_str(&tmp.path().join("rel/release.yaml"), &text, &LoadOptions::default()).unwrap();
    let e = read_sources(&release, &options(tmp.path(), false)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
    assert!(e.message().contains("no-such-branch"), "{e}");
    assert_eq!(e.location().map(|l| l.line), Some(6));
}

#[tokio::test]
async fn a_full_commit_is_fetched_by_id() {
    let (tmp, a, _, text) = setup();
    let text = text.replacen("ref: main", &format!("ref: {a}"), 1);
    let release = load_str(&tmp.path().join("rel/release.yaml"), &text, &LoadOptions::default()).unwrap();
    let sources = read_sources(&release, &options(tmp.path(), false)).await.unwrap();
    assert!(matches!(sources.get("base"), Some(SourceState::Read(s)) if s.content.contains(&a)));
}

#[test]
fn the_content_hash_follows_files_modes_and_names_but_not_git_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("a"), "1").unwrap();
    let h1 = hash_tree(d).unwrap();
    std::fs::create_dir(d.join(".git")).unwrap();
    std::fs::write(d.join(".git/x"), "ignored").unwrap();
    assert_eq!(hash_tree(d).unwrap(), h1);
    std::fs::write(d.join("a"), "2").unwrap();
    let h2 = hash_tree(d).unwrap();
    assert_ne!(h2, h1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d.join("a"), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_ne!(hash_tree(d).unwrap(), h2, "the executable bit is part of the image");
    }
}
