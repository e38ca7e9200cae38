#![allow(clippy::unwrap_used)]
//! `okd watch --once --report github` on the local backend and the real engine, against the
//! fake GitHub: the first cycle (which pushes a payload) posts `pending` then `success "built ..."` on every component's
//! file:// source commit, the next cycle (nothing moved) `success "reused ..."`, and the token
//! stays out of everything the watcher leaves behind. Without the engine it says it skips.

mod feedback;

use feedback::{COMPONENTS, all_statuses, args, assert_built, assert_token_kept_secret, okd_async, scenario};
use okd_tests::github::FakeGitHub;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_cycles_report_built_then_reused_on_every_commit() {
    if !okd_tests::engine::require() {
        return;
    }
    let github = FakeGitHub::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let manifest = scenario(dir, "watch", None);
    // A payload needs the CVO image to build the release image on; a path source, so no status.
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("  - { name: cluster-version-operator, source: { path: cvo }, payload: true }\n");
    std::fs::write(&manifest, text).unwrap();
    std::fs::create_dir_all(dir.join("cvo")).unwrap();
    std::fs::write(dir.join("cvo/Dockerfile"), "FROM upstream/os:9\nRUN echo cvo > /cvo\n").unwrap();
    let state = dir.join("state");
    let registry = std::env::var("OKD_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".to_owned());
    let to = format!("{registry}/okd/feedback-watch-{}-release:cycle", std::process::id());
    let mut words = args(&["watch", manifest.to_str().unwrap(), "--backend", "local", "--once"]);
    words.extend(args(&["--state", state.to_str().unwrap(), "--to", &to, "--report", "github"]));

    let first = okd_async(dir, &github.url(), words.clone(), vec![]).await;
    assert_eq!(first.code, 0, "{first:?}");
    let statuses = all_statuses(&github, dir);
    for name in COMPONENTS {
        assert_built(&statuses[name], "local", name, "built", &[]);
    }
    let second = okd_async(dir, &github.url(), words, vec![]).await;
    assert_eq!(second.code, 0, "{second:?}");
    let statuses = all_statuses(&github, dir);
    for name in COMPONENTS {
        assert_built(&statuses[name], "local", name, "reused", &[]);
    }
    assert_token_kept_secret(&github, &[&first, &second], &[dir]);
}
