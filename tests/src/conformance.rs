//! The conformance suite every backend runs in its own `tests/conformance.rs`, and the harness
//! of the in-memory backend ([`crate::memory`]) that passes it.
//!
//! Like object_store's integration checks: plain async functions over `&dyn Harness`, which
//! gives a backend plus the handles of its fake (durations, failures, transient errors, dropped
//! watches, remote object counts). A backend without a capability skips that check and says so.
//! Each check panics with a message that says what the backend did wrong.

use std::{collections::HashMap, path::Path, sync::Arc, time::Duration};

use async_trait::async_trait;
use okd_core::{
    backend::{
        BackendPlan, BuildBackend, BuildEvent, BuildOptions, EventKind, EventSink, Outcome, RunId, RunReport,
        RunState,
    },
    compare::{RunRecord, run_metrics},
    manifest::{LoadOptions, load_str},
    plan::{Plan, PlanOptions, plan, sources_from_memory},
};
use tokio::task::JoinHandle;

use crate::memory::{MemoryBackend, MemoryRemote};

/// The release every check builds: `base` and `builder` feed `app`, which feeds `tool`; `solo`
/// is independent.
pub const SCENARIO: &str = r#"name: conformance
version: 1.0.0
output: { registry: 127.0.0.1:5000, repository: okd/conformance }
streams: { bb: { image: localhost/okd-mini/busybox:1.36, aliases: [upstream/os:9] } }
replace: { "upstream/base:1": member:base, "upstream/builder:1": member:builder, "upstream/app:1": member:app }
components:
  - { name: base, source: { path: base }, payload: true }
  - { name: builder, source: { path: builder } }
  - { name: app, source: { path: app }, payload: true }
  - { name: tool, source: { path: tool }, payload: true }
  - { name: solo, source: { path: solo }, payload: true }
"#;

/// The scenario's Dockerfiles, by component.
pub fn scenario_dockerfiles() -> HashMap<String, String> {
    [
        ("base", "FROM upstream/os:9\nRUN echo base > /etc/okd-base\n"),
        ("builder", "FROM upstream/os:9\nRUN echo builder > /etc/okd-builder\n"),
        ("app", "FROM upstream/builder:1 AS build\nRUN echo app > /app\nFROM upstream/base:1\nCOPY --from=build /app /app\n"),
        ("tool", "FROM upstream/app:1\nRUN echo tool > /tool\n"),
        ("solo", "FROM upstream/os:9\nRUN echo solo > /solo\n"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The scenario with every component a git repository `file://<dir>/src/okd-conformance/<name>`
/// at `main` (so org/repo are `okd-conformance/<name>`, and sources are read as OKD's are),
/// written to `<dir>/conformance.yaml`; `stream_image` replaces the busybox stream's image (Prow
/// needs one on the CI registry). Plan it with [`crate::repos::plan_of`].
pub fn git_scenario(dir: &Path, stream_image: Option<&str>) -> std::path::PathBuf {
    let mut text = SCENARIO.to_owned();
    if let Some(image) = stream_image {
        text = text.replace("localhost/okd-mini/busybox:1.36", image);
    }
    for (name, dockerfile) in scenario_dockerfiles() {
        let content = dir.join("content").join(&name);
        std::fs::create_dir_all(&content).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(content.join("Dockerfile"), dockerfile).unwrap_or_else(|e| panic!("{e}"));
        let repo = dir.join("src/okd-conformance").join(&name);
        crate::repos::repository(&content, &repo);
        text = text.replace(
            &format!("source: {{ path: {name} }}"),
            &format!("source: {{ git: \"file://{}\", ref: main }}", repo.display()),
        );
    }
    assert!(!text.contains("{ path: "), "every source became a git source");
    let manifest = dir.join("conformance.yaml");
    std::fs::write(&manifest, text).unwrap_or_else(|e| panic!("{e}"));
    manifest
}

/// The scenario's plan with in-memory sources (for backends that do not read sources).
pub fn scenario_plan() -> Arc<Plan> {
    let release = Arc::new(
        load_str(Path::new("conformance.yaml"), SCENARIO, &LoadOptions::default()).expect("scenario"),
    );
    let sources = sources_from_memory(&release, &scenario_dockerfiles());
    Arc::new(plan(release, &sources, &PlanOptions::default()).expect("scenario plans"))
}

/// A backend under test and the controls of its fake.
#[async_trait]
pub trait Harness: Send + Sync {
    /// A new client of the same remote system, as after a restart.
    async fn backend(&self) -> Arc<dyn BuildBackend>;
    /// The scenario's core plan, with sources this backend can build.
    async fn plan(&self) -> Arc<Plan>;
    /// Makes `component`'s builds fail from now on.
    async fn fail(&self, component: &str);
    /// Makes `component`'s builds take `d`.
    async fn set_duration(&self, component: &str, d: Duration);
    /// Remote build objects created so far.
    async fn remote_builds(&self) -> usize;
    /// Remote builds still running.
    async fn running_builds(&self) -> usize;
    /// Makes the next `n` remote calls fail with 503/429 answers; false if the fake cannot.
    async fn inject_transient_failures(&self, n: usize) -> bool;
    /// Ends every open watch stream; false if the backend does not watch.
    async fn drop_watches(&self) -> bool;
}

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// It ran and passed.
    Passed,
    /// The backend lacks what it checks.
    Skipped(String),
}

async fn backend_plan(h: &dyn Harness) -> (Arc<dyn BuildBackend>, BackendPlan) {
    let backend = h.backend().await;
    let plan = backend.plan(h.plan().await, &Default::default()).await.expect("plan succeeds");
    (backend, plan)
}

/// Starts a build in a task and returns it with the run id from its `run_started` event, which
/// must come first: callers learn the id from the run, never by computing it.
async fn start(
    backend: Arc<dyn BuildBackend>,
    plan: BackendPlan,
) -> (JoinHandle<(RunReport, Vec<BuildEvent>)>, RunId) {
    let (sink, mut rx) = EventSink::channel();
    let (first_tx, first_rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let options = BuildOptions::default().with_jobs(4);
        let building = backend.build(&plan, &options, sink);
        tokio::pin!(building);
        let mut events = Vec::new();
        let mut first = Some(first_tx);
        let report = loop {
            tokio::select! {
                report = &mut building => break report.expect("build returns a report"),
                Some(e) = rx.recv() => {
                    if let (Some(tx), EventKind::RunStarted { run }) = (first.take(), &e.kind) {
                        let _ = tx.send(run.clone());
                    }
                    events.push(e);
                }
            }
        };
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        (report, events)
    });
    let run = tokio::time::timeout(Duration::from_secs(10), first_rx)
        .await
        .expect("a run_started event within 10 s")
        .expect("the first event is run_started, with the run id");
    (task, run)
}

async fn build(backend: &dyn BuildBackend, plan: &BackendPlan) -> (RunReport, Vec<BuildEvent>) {
    let (sink, mut rx) = EventSink::channel();
    let report = backend
        .build(plan, &BuildOptions::default().with_jobs(4), sink)
        .await
        .expect("build returns a report");
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    (report, events)
}

fn outcomes(report: &RunReport) -> HashMap<&str, Outcome> {
    report.components.iter().map(|c| (c.name.as_str(), c.outcome)).collect()
}

/// Planning gives every component, in build order, with the backend's name.
pub async fn check_plan(h: &dyn Harness) -> Check {
    let (backend, plan) = backend_plan(h).await;
    assert_eq!(plan.backend, backend.info().name, "the plan names its backend");
    let names: Vec<&str> = plan.core.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), 5, "{names:?}");
    let pos = |n: &str| names.iter().position(|x| *x == n).expect("component planned");
    assert!(pos("base") < pos("app") && pos("builder") < pos("app") && pos("app") < pos("tool"), "{names:?}");
    Check::Passed
}

/// A build runs end to end: every component succeeds with an image and a digest, and the events
/// tell the story (queued, started, succeeded) for each.
pub async fn check_build_end_to_end(h: &dyn Harness) -> Check {
    let (backend, plan) = backend_plan(h).await;
    let (report, events) = build(backend.as_ref(), &plan).await;
    assert!(report.succeeded(), "{report:?}");
    assert!(
        matches!(events.first().map(|e| &e.kind), Some(EventKind::RunStarted { run }) if *run == report.run),
        "the first event names the run the report names: {:?}",
        events.first()
    );
    for c in &report.components {
        assert!(c.image.is_some() && c.digest.as_deref().is_some_and(|d| d.starts_with("sha256:")), "{c:?}");
        for want in ["queued", "started"] {
            assert!(
                events.iter().any(|e| e.component == c.name && e.kind.name() == want),
                "{} never {want}",
                c.name
            );
        }
    }
    Check::Passed
}

/// A component starts only after its parents succeeded.
pub async fn check_parents_first(h: &dyn Harness) -> Check {
    h.set_duration("base", Duration::from_millis(150)).await;
    let (backend, plan) = backend_plan(h).await;
    let (report, events) = build(backend.as_ref(), &plan).await;
    assert!(report.succeeded(), "{report:?}");
    let at = |component: &str, kind: &str| {
        events.iter().position(|e| e.component == component && e.kind.name() == kind).unwrap_or(usize::MAX)
    };
    let done = |c: &str| at(c, "succeeded").min(at(c, "reused"));
    assert!(done("base") < at("app", "started"), "app started before base finished");
    assert!(done("builder") < at("app", "started"), "app started before builder finished");
    assert!(done("app") < at("tool", "started"), "tool started before app finished");
    assert!(at("solo", "started") < done("base"), "independent work waited for an unrelated build");
    Check::Passed
}

/// A failed component marks its dependents skipped while independent components finish.
pub async fn check_failure_skips_dependents(h: &dyn Harness) -> Check {
    h.fail("builder").await;
    let (backend, plan) = backend_plan(h).await;
    let (report, events) = build(backend.as_ref(), &plan).await;
    let by = outcomes(&report);
    assert_eq!(by["builder"], Outcome::Failed, "{report:?}");
    assert_eq!((by["app"], by["tool"]), (Outcome::Skipped, Outcome::Skipped), "{report:?}");
    assert!(
        matches!(by["base"], Outcome::Succeeded | Outcome::Reused)
            && matches!(by["solo"], Outcome::Succeeded | Outcome::Reused)
    );
    let failed = events
        .iter()
        .find(|e| e.component == "builder" && e.kind.name() == "failed")
        .expect("a failed event");
    assert!(matches!(&failed.kind, EventKind::Failed { reason } if !reason.is_empty()));
    Check::Passed
}

/// Cancel stops the run and leaves nothing running remotely.
pub async fn check_cancel(h: &dyn Harness) -> Check {
    if !h.backend().await.info().capabilities.cancel {
        return Check::Skipped("the backend cannot cancel".into());
    }
    for c in ["base", "builder", "solo"] {
        h.set_duration(c, Duration::from_secs(30)).await;
    }
    let (backend, plan) = backend_plan(h).await;
    let (running, run) = start(backend.clone(), plan).await;
    wait_until(|| async { h.running_builds().await >= 3 }, "three builds running").await;
    backend.cancel(&run).await.expect("cancel succeeds");
    let (report, _) = tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("build returns soon after cancel")
        .expect("no panic");
    assert!(report.components.iter().all(|c| c.outcome != Outcome::Succeeded), "{report:?}");
    wait_until(|| async { h.running_builds().await == 0 }, "nothing running remotely after cancel").await;
    Check::Passed
}

/// Submitting the same build twice creates no duplicate remote objects.
pub async fn check_resubmit_is_idempotent(h: &dyn Harness) -> Check {
    let (backend, plan) = backend_plan(h).await;
    let (first, _) = build(backend.as_ref(), &plan).await;
    assert!(first.succeeded(), "{first:?}");
    let created = h.remote_builds().await;
    let (second, events) = build(h.backend().await.as_ref(), &plan).await;
    assert!(second.succeeded(), "{second:?}");
    assert!(
        events.iter().all(|e| e.kind.name() != "started"),
        "nothing was built, so nothing may be reported as started: {events:?}"
    );
    assert_eq!(h.remote_builds().await, created, "the resubmission created remote objects");
    assert_eq!(second.run, first.run, "the same plan is the same run");
    Check::Passed
}

/// Status survives a dropped watch and a restarted client.
pub async fn check_status_after_restart(h: &dyn Harness) -> Check {
    if !h.backend().await.info().capabilities.status_after_restart {
        return Check::Skipped("the backend keeps no state across clients".into());
    }
    h.set_duration("tool", Duration::from_millis(300)).await;
    let (backend, plan) = backend_plan(h).await;
    let (running, run) = start(backend.clone(), plan).await;
    wait_until(|| async { h.running_builds().await >= 1 }, "a build running").await;
    let dropped = h.drop_watches().await;
    let restarted = h.backend().await;
    let status = restarted.status(&run).await.expect("a new client sees the run");
    assert_eq!(status.run, run);
    let (report, _) = running.await.expect("no panic");
    assert!(report.succeeded(), "dropped watch (dropped: {dropped}) lost the run: {report:?}");
    let status = h.backend().await.status(&run).await.expect("status after the run");
    assert_eq!(status.state, RunState::Finished);
    assert!(
        status.components.iter().all(|c| matches!(c.outcome, Outcome::Succeeded | Outcome::Reused)),
        "{status:?}"
    );
    Check::Passed
}

/// Injected 5xx and 429 answers are retried with backoff and never lose a result.
pub async fn check_transient_errors_are_retried(h: &dyn Harness) -> Check {
    if !h.inject_transient_failures(6).await {
        return Check::Skipped("the fake cannot inject transient failures".into());
    }
    let (backend, plan) = backend_plan(h).await;
    let (report, _) = build(backend.as_ref(), &plan).await;
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(report.components.len(), 5);
    Check::Passed
}

/// What `okd compare` reads from a backend is whole and consistent: one verdict on every FROM
/// and --from of every component whose Dockerfile was read, and a recorded run whose metrics
/// (makespan, critical path, bound) agree with the build graph and the clock.
pub async fn check_compare_metrics(h: &dyn Harness) -> Check {
    h.set_duration("base", Duration::from_millis(200)).await;
    let (backend, plan) = backend_plan(h).await;
    for c in plan.core.components.iter().filter(|c| c.rewritten.is_some()) {
        let mine = plan.verdicts.iter().filter(|v| v.component == c.name).count();
        assert_eq!(mine, c.stages.len(), "{}: one verdict per reference: {:?}", c.name, plan.verdicts);
        for r in &c.stages {
            assert!(
                plan.verdicts.iter().any(|v| v.component == c.name && v.line == r.line && v.kind == r.kind),
                "{}: no verdict on line {}",
                c.name,
                r.line
            );
        }
    }
    let (report, _) = build(backend.as_ref(), &plan).await;
    assert!(report.succeeded(), "{report:?}");
    let status = h.backend().await.status(&report.run).await.expect("status of the run");
    let record = RunRecord {
        backend: report.backend.clone(),
        run: report.run.clone(),
        state: status.state,
        started: report.started,
        finished: Some(report.finished),
        components: status.components,
        api_requests: report.api_requests,
    };
    let m = run_metrics(&plan.core, &record, 4);
    if backend.info().capabilities.kubernetes {
        assert!(
            m.api_requests_per_component.is_some_and(|n| n > 0.0),
            "a cluster backend counts its run's API requests: {:?}",
            report.api_requests
        );
    }
    assert_eq!(m.builds_started + m.reused, 5, "{m:?}");
    assert!(m.makespan > 0.0, "{m:?}");
    assert!(m.bound <= m.makespan + 0.05, "no schedule beats max(critical path, work / jobs): {m:?}");
    if m.builds_started > 0 {
        assert!(m.efficiency.is_some_and(|e| e > 0.0 && e <= 1.0), "{m:?}");
    } else {
        assert!(
            m.efficiency.is_none() && m.critical_path.is_empty(),
            "nothing built, nothing to time: {m:?}"
        );
    }
    assert_eq!(m.timeline.len(), m.builds_started, "a bar per build: {m:?}");
    let graph = &plan.core.graph;
    let index = |n: &str| (0..graph.len()).find(|&i| graph.name(i) == n).expect("a planned component");
    for pair in m.critical_path.windows(2) {
        assert!(
            graph.parents(index(&pair[1])).contains(&index(&pair[0])),
            "not a chain: {:?}",
            m.critical_path
        );
    }
    if m.builds_started == 5 {
        // base took 200 ms and app and tool follow it.
        assert_eq!(m.critical_path.first().map(String::as_str), Some("base"), "{m:?}");
        assert!(m.critical_path_seconds >= 0.2, "{m:?}");
    }
    Check::Passed
}

/// Every check, by name. Each needs a fresh harness (checks script failures and durations).
pub const CHECKS: [&str; 9] = [
    "plan",
    "build_end_to_end",
    "parents_first",
    "failure_skips_dependents",
    "cancel",
    "resubmit_is_idempotent",
    "status_after_restart",
    "transient_errors_are_retried",
    "compare_metrics",
];

/// Runs the check called `name` (one of [`CHECKS`]).
pub async fn run_check(name: &str, h: &dyn Harness) -> Check {
    match name {
        "plan" => check_plan(h).await,
        "build_end_to_end" => check_build_end_to_end(h).await,
        "parents_first" => check_parents_first(h).await,
        "failure_skips_dependents" => check_failure_skips_dependents(h).await,
        "cancel" => check_cancel(h).await,
        "resubmit_is_idempotent" => check_resubmit_is_idempotent(h).await,
        "status_after_restart" => check_status_after_restart(h).await,
        "transient_errors_are_retried" => check_transient_errors_are_retried(h).await,
        "compare_metrics" => check_compare_metrics(h).await,
        other => panic!("no conformance check called {other}"),
    }
}

async fn wait_until<F, Fut>(mut condition: F, what: &str)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The harness of the in-memory backend.
#[derive(Debug)]
pub struct MemoryHarness {
    remote: Arc<MemoryRemote>,
}

impl Default for MemoryHarness {
    fn default() -> Self {
        MemoryHarness { remote: MemoryRemote::new(Duration::from_millis(20)) }
    }
}

#[async_trait]
impl Harness for MemoryHarness {
    async fn backend(&self) -> Arc<dyn BuildBackend> {
        Arc::new(MemoryBackend::new(self.remote.clone()))
    }
    async fn plan(&self) -> Arc<Plan> {
        scenario_plan()
    }
    async fn fail(&self, component: &str) {
        self.remote.fail(component);
    }
    async fn set_duration(&self, component: &str, d: Duration) {
        self.remote.set_duration(component, d);
    }
    async fn remote_builds(&self) -> usize {
        self.remote.builds()
    }
    async fn running_builds(&self) -> usize {
        self.remote.running()
    }
    async fn inject_transient_failures(&self, n: usize) -> bool {
        self.remote.inject_transient(n);
        true
    }
    async fn drop_watches(&self) -> bool {
        false
    }
}
