//! Helpers for the tests that run `okd` against the real engine and registry that
//! `scripts/engine.sh start` provides.
#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

/// True when the engine is here; otherwise the test says it skips (or fails under CI).
pub fn need_engine() -> bool {
    okd_tests::engine::require()
}

/// A copy of okd-mini whose images go to a repository of their own, so concurrent tests and
/// earlier runs do not share tags.
pub fn release(tmp: &Path, repository: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = tmp.join("okd-mini");
    std::fs::create_dir_all(&dir).unwrap();
    okd_core::source::copy_tree(&root.join("examples/okd-mini"), &dir).unwrap();
    let path = dir.join("release.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("repository: okd/okd-mini", &format!("repository: {repository}"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `okd build` and returns (exit code, component -> last outcome event, the events).
pub fn build(release: &Path, state: &Path, extra: &[&str]) -> (i32, BTreeMap<String, String>, Vec<Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_okd"))
        .args(["build", release.to_str().unwrap(), "--backend", "local", "--output", "json", "--jobs", "2"])
        .args(["--state", state.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events: Vec<Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    let mut last = BTreeMap::new();
    if let Some(first) = events.first() {
        // The run's id comes first, so a CI job can cancel or look it up while it runs.
        assert!(first["event"] == "run_started" && first["run"].is_string(), "{first}");
    }
    for e in events.iter().skip(1) {
        assert!(e["timestamp"].is_string() && e["component"].is_string(), "{e}");
        let kind = e["event"].as_str().unwrap().to_owned();
        if ["succeeded", "reused", "failed", "skipped"].contains(&kind.as_str()) {
            last.insert(e["component"].as_str().unwrap().to_owned(), kind);
        }
    }
    if out.status.code() != Some(0) {
        eprintln!("okd build stderr: {}", String::from_utf8_lossy(&out.stderr));
    }
    (out.status.code().unwrap_or(-1), last, events)
}

pub fn with(outcomes: &BTreeMap<String, String>, kind: &str) -> Vec<String> {
    outcomes.iter().filter(|(_, k)| *k == kind).map(|(c, _)| c.clone()).collect()
}

pub fn labels(image: &str) -> Value {
    let host = std::env::var("CONTAINER_HOST").unwrap_or_default();
    let out = Command::new("podman").args(["--url", &host, "image", "inspect", image]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let inspect: Value = serde_json::from_slice(&out.stdout).unwrap();
    inspect[0]["Labels"].clone()
}
