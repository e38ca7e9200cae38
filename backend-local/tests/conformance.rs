#![allow(clippy::unwrap_used)]
//! The conformance suite (okd-tests) against the local backend on the real engine that
//! `scripts/engine.sh start` provides. Without an engine the test says it skips, unless CI is
//! set, where it fails.
//!
//! The harness writes the suite's scenario to a folder as path sources and re-plans it from disk
//! whenever a check changes it: a failure is a `RUN false` step, a duration is a run of
//! `RUN sleep 0.25` steps. Durations are many short steps because Podman (4.3) stops a cancelled
//! build between steps, not inside one: a single 30 s step would keep running on the engine after
//! the cancel, and the cancel check would rightly fail. Each harness starts its Dockerfiles with a
//! unique step so the engine's layer cache cannot turn builds into no-ops.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use backend_local::{LocalBackend, LocalConfig};
use okd_core::{
    backend::BuildBackend,
    manifest::{LoadOptions, load},
    plan::{Plan, PlanOptions, plan},
    source::{SourceOptions, read_sources},
};
use okd_runtime::{Runtime, SettingsLayers};
use okd_tests::conformance::{CHECKS, Check, Harness, SCENARIO, run_check, scenario_dockerfiles};

/// The marker that makes a harness's RUN steps findable among the machine's processes.
fn marker(nonce: &str, component: &str) -> String {
    format!("okd-conformance-{nonce}-{component}")
}

#[derive(Debug)]
struct LocalHarness {
    dir: tempfile::TempDir,
    nonce: String,
    failing: Mutex<Vec<String>>,
    durations: Mutex<HashMap<String, Duration>>,
}

impl LocalHarness {
    fn new(check: &str) -> Self {
        let nonce = format!("{}-{check}", std::process::id()).replace('_', "-");
        let harness = LocalHarness {
            dir: tempfile::tempdir().unwrap(),
            nonce,
            failing: Mutex::default(),
            durations: Mutex::default(),
        };
        let scenario = SCENARIO.replace("okd/conformance", &format!("okd/conformance-{}", harness.nonce));
        std::fs::write(harness.dir.path().join("release.yaml"), scenario).unwrap();
        harness.write_sources();
        harness
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Each component's Dockerfile: the scenario's, with a unique first step, then the sleeps
    /// and the failure the checks asked for.
    fn write_sources(&self) {
        let failing = self.failing.lock().unwrap().clone();
        let durations = self.durations.lock().unwrap().clone();
        for (component, text) in scenario_dockerfiles() {
            let mut lines: Vec<String> = Vec::new();
            let mut first_from = true;
            for line in text.lines() {
                lines.push(line.to_owned());
                if line.starts_with("FROM ") && first_from {
                    first_from = false;
                    lines.push(format!("RUN echo {} > /okd-conformance", marker(&self.nonce, &component)));
                }
            }
            let steps = durations.get(&component).map_or(0, |d| d.as_millis().div_ceil(250));
            for _ in 0..steps {
                lines.push(format!("RUN sleep 0.25 # {}", marker(&self.nonce, &component)));
            }
            if failing.contains(&component) {
                lines.push("RUN echo failing on purpose && false".to_owned());
            }
            let dir = self.dir.path().join(&component);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("Dockerfile"), lines.join("\n") + "\n").unwrap();
        }
    }

    /// Builds run by this harness so far: one log file each (reuses write none).
    fn logs(&self) -> usize {
        let Ok(runs) = std::fs::read_dir(self.state().join("logs")) else { return 0 };
        runs.flatten().filter_map(|run| std::fs::read_dir(run.path()).ok()).map(|files| files.count()).sum()
    }
}

/// Components with a RUN step of this harness executing on the engine right now.
fn running(nonce: &str) -> usize {
    let prefix = format!("okd-conformance-{nonce}-");
    let mut components = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains("sleep 0.25")
            && let Some(at) = cmdline.find(&prefix)
        {
            components
                .insert(cmdline[at + prefix.len()..].split_whitespace().next().unwrap_or("").to_owned());
        }
    }
    components.len()
}

#[async_trait]
impl Harness for LocalHarness {
    async fn backend(&self) -> Arc<dyn BuildBackend> {
        let runtime = Runtime::new(self.state(), SourceOptions::default_cache_dir())
            .with_settings(SettingsLayers::none());
        Arc::new(LocalBackend::new(&runtime, LocalConfig::default()))
    }
    async fn plan(&self) -> Arc<Plan> {
        self.write_sources();
        let release = load(&self.dir.path().join("release.yaml"), &LoadOptions::default()).unwrap();
        let sources = read_sources(&release, &SourceOptions { offline: true, ..SourceOptions::default() })
            .await
            .unwrap();
        Arc::new(plan(Arc::new(release), &sources, &PlanOptions::default()).unwrap())
    }
    async fn fail(&self, component: &str) {
        self.failing.lock().unwrap().push(component.to_owned());
    }
    async fn set_duration(&self, component: &str, d: Duration) {
        self.durations.lock().unwrap().insert(component.to_owned(), d);
    }
    async fn remote_builds(&self) -> usize {
        self.logs()
    }
    async fn running_builds(&self) -> usize {
        running(&self.nonce)
    }
    async fn inject_transient_failures(&self, _n: usize) -> bool {
        // The engine is real; there is no fake in front of it to make it fail.
        false
    }
    async fn drop_watches(&self) -> bool {
        false
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_backend_passes_the_conformance_suite() {
    if !okd_tests::engine::require() {
        return;
    }
    let mut skipped = Vec::new();
    for name in CHECKS {
        let harness = LocalHarness::new(name);
        let check = tokio::time::timeout(Duration::from_secs(120), run_check(name, &harness)).await;
        match check.unwrap_or_else(|_| panic!("{name} timed out")) {
            Check::Passed => eprintln!("conformance {name}: passed"),
            Check::Skipped(why) => skipped.push(format!("{name}: {why}")),
        }
    }
    // Only the checks that need a fake in front of the system may skip.
    assert_eq!(skipped, ["transient_errors_are_retried: the fake cannot inject transient failures"]);
}
