#![allow(clippy::unwrap_used)]
//! Both Konflux strategies end to end against the fake API server and its scripted Tekton
//! controller, through kube-rs and a kubeconfig: build order, a failure that skips its
//! dependents (with the failed step's log), cancel, resubmission, dropped watches, a 429 storm,
//! pruned runs and timeouts; then the conformance suite for each strategy. Doozer + Konflux
//! pushes its generated sources to a local bare repository.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use backend_konflux::{KonfluxBackend, Settings, Strategy};
use kube::{
    Client, Config,
    config::{KubeConfigOptions, Kubeconfig},
};
use okd_core::{
    backend::{
        BuildBackend, BuildBackendExt, BuildEvent, BuildOptions, EventKind, EventSink, Outcome, RunReport,
        run_id,
    },
    manifest::{LoadOptions, load, load_str},
    plan::{Plan, PlanOptions, plan},
    retry::Backoff,
    source::{Origin, SourceOptions, SourceSnapshot, SourceState, Sources, read_sources},
    testkit::{CHECKS, Check, Harness, SCENARIO, run_check, scenario_dockerfiles},
};
use okd_tests::kube::{
    controllers::{Controllers, Script},
    server::{FakeApiServer, ServerOptions},
    store::Gvr,
};
use serde_json::Value;

const NS: &str = "tenant";
const PIPELINERUNS: &str = "/apis/tekton.dev/v1/namespaces/tenant/pipelineruns";

fn git(args: &[&str]) -> String {
    let out = std::process::Command::new("git").args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The conformance scenario with git sources (what the Konflux-only approach builds): each
/// component its own repository at a fixed commit.
fn git_scenario() -> Arc<Plan> {
    let release =
        Arc::new(load_str(Path::new("conformance.yaml"), SCENARIO, &LoadOptions::default()).unwrap());
    let dockerfiles = scenario_dockerfiles();
    let sources = release
        .components
        .iter()
        .map(|c| {
            let url = format!("https://github.com/okd-conformance/{}", c.name);
            let commit = format!("{:0>40}", hex_of(&c.name));
            let snapshot = SourceSnapshot {
                origin: Origin::Git { url: url.clone(), reference: "main".into(), commit: commit.clone() },
                dockerfile: dockerfiles[&c.name].clone(),
                dockerfile_path: PathBuf::from(format!("{url}@{commit}:Dockerfile")),
                content: format!("{url}@{commit}:."),
            };
            (c.name.clone(), SourceState::Read(snapshot))
        })
        .collect();
    Arc::new(plan(release, &Sources(sources), &PlanOptions::default()).unwrap())
}

fn hex_of(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The conformance scenario on disk (what Doozer + Konflux generates from).
async fn path_scenario(dir: &Path) -> Arc<Plan> {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("conformance.yaml"), SCENARIO).unwrap();
    for (name, text) in scenario_dockerfiles() {
        std::fs::create_dir_all(dir.join(&name)).unwrap();
        std::fs::write(dir.join(&name).join("Dockerfile"), text).unwrap();
    }
    let release = load(&dir.join("conformance.yaml"), &LoadOptions::default()).unwrap();
    let options = SourceOptions { offline: true, cache_dir: dir.join("cache"), jobs: 2 };
    let sources = read_sources(&release, &options).await.unwrap();
    Arc::new(plan(Arc::new(release), &sources, &PlanOptions::default()).unwrap())
}

/// A fake cluster with scripted controllers, a state folder and (for Doozer + Konflux) a bare
/// git remote.
struct Fixture {
    strategy: Strategy,
    server: FakeApiServer,
    script: Mutex<Script>,
    controllers: Mutex<Option<Controllers>>,
    dir: tempfile::TempDir,
    plan: Arc<Plan>,
}

impl Fixture {
    async fn new(strategy: Strategy, script: Script) -> Fixture {
        let server = FakeApiServer::start(ServerOptions::default()).await;
        let dir = tempfile::tempdir().unwrap();
        server.write_kubeconfig(&dir.path().join("kubeconfig"), NS);
        let plan = match strategy {
            Strategy::Konflux => git_scenario(),
            Strategy::DoozerKonflux => {
                git(&["init", "-q", "--bare", dir.path().join("remote.git").to_str().unwrap()]);
                path_scenario(&dir.path().join("sources")).await
            }
        };
        let controllers = Controllers::start(server.store(), script.clone());
        Fixture {
            strategy,
            server,
            script: Mutex::new(script),
            controllers: Mutex::new(Some(controllers)),
            dir,
            plan,
        }
    }

    fn remote(&self) -> PathBuf {
        self.dir.path().join("remote.git")
    }

    /// A backend over a new client, with state in `state` (a folder under the fixture).
    async fn backend_with_state(&self, state: &str) -> Arc<KonfluxBackend> {
        let kubeconfig = Kubeconfig::read_from(self.dir.path().join("kubeconfig")).unwrap();
        let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
        let client = Client::try_from(config).unwrap();
        let mut settings = Settings::new(self.dir.path().join(state));
        settings.backoff = Backoff::fast();
        settings.git_remote = Some(format!("file://{}", self.remote().display()));
        settings.cache_dir = self.dir.path().join("cache");
        Arc::new(KonfluxBackend::new(self.strategy, client, NS, settings))
    }

    async fn backend(&self) -> Arc<KonfluxBackend> {
        self.backend_with_state("state").await
    }

    /// Changes the script; the controllers restart with it (running objects are picked up).
    fn rescript(&self, change: impl FnOnce(Script) -> Script) {
        let mut script = self.script.lock().unwrap();
        *script = change(script.clone());
        let mut controllers = self.controllers.lock().unwrap();
        if let Some(old) = controllers.take() {
            old.stop();
        }
        *controllers = Some(Controllers::start(self.server.store(), script.clone()));
    }

    fn pipelineruns(&self) -> Vec<Value> {
        self.server.store().list(&Gvr::new("tekton.dev", "v1", "pipelineruns"), None).0
    }

    fn running(&self) -> usize {
        self.pipelineruns().iter().filter(|o| !ended(o)).count()
    }
}

fn ended(object: &Value) -> bool {
    object["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Succeeded" && c["status"] != "Unknown"))
}

fn param(run: &Value, name: &str) -> String {
    let params = run["spec"]["params"].as_array().unwrap();
    params
        .iter()
        .find(|p| p["name"] == name)
        .map(|p| p["value"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn build(backend: &Arc<KonfluxBackend>, plan: &Arc<Plan>) -> (RunReport, Vec<BuildEvent>) {
    let planned = backend.plan(plan.clone(), &Default::default()).await.unwrap();
    let (report, events) = backend.build_collect(&planned, &BuildOptions::default().with_jobs(4)).await;
    (report.unwrap(), events)
}

fn outcomes(report: &RunReport) -> HashMap<&str, Outcome> {
    report.components.iter().map(|c| (c.name.as_str(), c.outcome)).collect()
}

fn position(events: &[BuildEvent], component: &str, kind: &str) -> usize {
    events.iter().position(|e| e.component == component && e.kind.name() == kind).unwrap_or(usize::MAX)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_strategies_build_parents_first_with_the_results_of_their_runs() {
    for strategy in [Strategy::Konflux, Strategy::DoozerKonflux] {
        let f = Fixture::new(strategy, Script::new().duration("base", Duration::from_millis(150))).await;
        let (report, events) = build(&f.backend().await, &f.plan).await;
        assert!(report.succeeded(), "{strategy:?}: {report:?}");
        assert!(position(&events, "base", "succeeded") < position(&events, "app", "started"), "{strategy:?}");
        assert!(position(&events, "app", "succeeded") < position(&events, "tool", "started"), "{strategy:?}");
        let runs = f.pipelineruns();
        assert_eq!(runs.len(), 5, "{strategy:?}: one PipelineRun per component");
        for c in &report.components {
            assert_eq!(c.digest.as_deref(), Some(Script::digest_for(&c.name).as_str()), "{strategy:?}");
            let run = runs
                .iter()
                .find(|r| r["metadata"]["labels"]["okd-build.io/component"] == c.name.as_str())
                .unwrap();
            assert_eq!(
                c.image.as_deref(),
                Some(param(run, "output-image").as_str()),
                "IMAGE_URL is the report's image"
            );
            assert_eq!(run["metadata"]["labels"]["appstudio.openshift.io/component"], c.name.as_str());
            assert_eq!(run["metadata"]["labels"]["pipelines.appstudio.openshift.io/type"], "build");
        }
        let app = runs.iter().find(|r| r["metadata"]["labels"]["okd-build.io/component"] == "app").unwrap();
        match strategy {
            Strategy::Konflux => {
                // The run Pipelines-as-Code would create on a push, placeholders filled.
                assert_eq!(param(app, "git-url"), "https://github.com/okd-conformance/app");
                assert_eq!(param(app, "revision"), format!("{:0>40}", hex_of("app")));
                assert!(param(app, "output-image").starts_with("127.0.0.1:5000/okd/conformance/app:"));
                assert_eq!(app["metadata"]["labels"]["pipelinesascode.tekton.dev/event-type"], "push");
                assert!(!serde_json::to_string(app).unwrap().contains("{{"), "no placeholder left: {app:#}");
            }
            Strategy::DoozerKonflux => {
                // Generated sources on the component's build branch, parents pinned by digest.
                let branch = "art-openshift-1.0-assembly-stream-dgk-app";
                let remote = f.remote();
                let git_dir = format!("--git-dir={}", remote.display());
                assert_eq!(param(app, "revision"), git(&[&git_dir, "rev-parse", branch]));
                assert_eq!(param(app, "git-url"), format!("file://{}", remote.display()));
                let dockerfile = git(&[&git_dir, "show", &format!("{branch}:Dockerfile")]);
                for parent in ["base", "builder"] {
                    let pin = format!("127.0.0.1:5000/okd/conformance@{}", Script::digest_for(parent));
                    assert!(dockerfile.contains(&pin), "{parent} is not pinned in:\n{dockerfile}");
                }
                let components = f
                    .server
                    .store()
                    .list(&Gvr::new("appstudio.redhat.com", "v1alpha1", "components"), None)
                    .0;
                assert_eq!(components.len(), 5);
                assert!(
                    components
                        .iter()
                        .all(|c| c["metadata"]["annotations"]["build.appstudio.openshift.io/status"]
                            == "{\"pac\":{\"state\":\"disabled\"}}")
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_skips_dependents_and_reports_the_failed_step_log() {
    for strategy in [Strategy::Konflux, Strategy::DoozerKonflux] {
        let f = Fixture::new(strategy, Script::new().fail("builder", "make: *** [build] Error 2")).await;
        let (report, events) = build(&f.backend().await, &f.plan).await;
        let by = outcomes(&report);
        assert_eq!(
            (by["builder"], by["app"], by["tool"]),
            (Outcome::Failed, Outcome::Skipped, Outcome::Skipped)
        );
        assert_eq!((by["base"], by["solo"]), (Outcome::Succeeded, Outcome::Succeeded));
        let builder = report.components.iter().find(|c| c.name == "builder").unwrap();
        let reason = builder.reason.as_deref().unwrap();
        assert!(reason.contains("(Failed)") && reason.contains("make: *** [build] Error 2"), "{reason}");
        assert!(events.iter().any(|e| e.component == "builder"
            && matches!(&e.kind, EventKind::Log { line } if line.contains("Error 2"))));
        assert_eq!(f.pipelineruns().len(), 3, "skipped components create nothing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_from_another_process_stops_the_runs_on_the_cluster() {
    let f = Fixture::new(Strategy::Konflux, Script::new().default_duration(Duration::from_secs(30))).await;
    let backend = f.backend().await;
    let planned = backend.plan(f.plan.clone(), &Default::default()).await.unwrap();
    let run = run_id(&planned, &BuildOptions::default());
    let running =
        tokio::spawn(
            async move { backend.build(&planned, &BuildOptions::default(), EventSink::discard()).await },
        );
    wait_for(|| f.running() >= 3, "three runs").await;
    let other = f.backend_with_state("other-state").await;
    other.cancel(&run).await.unwrap();
    let report = tokio::time::timeout(Duration::from_secs(10), running).await.unwrap().unwrap().unwrap();
    assert!(report.components.iter().all(|c| c.outcome != Outcome::Succeeded), "{report:?}");
    assert_eq!(f.running(), 0);
    for run in f.pipelineruns() {
        assert_eq!(run["spec"]["status"], "Cancelled");
    }
    let unknown = okd_core::backend::RunId("nothing-konflux-000000000000".into());
    assert_eq!(other.cancel(&unknown).await.unwrap_err().kind(), okd_core::ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resubmission_finds_the_existing_runs_running_or_finished() {
    let f = Fixture::new(Strategy::Konflux, Script::new().default_duration(Duration::from_millis(400))).await;
    let first = f.backend().await;
    let plan = f.plan.clone();
    let running = tokio::spawn(async move { build(&first, &plan).await });
    wait_for(|| f.running() >= 1, "a run").await;
    // Another machine, another state store: it can only find the runs by name.
    let (second, _) = build(&f.backend_with_state("second").await, &f.plan).await;
    let (first, _) = running.await.unwrap();
    assert!(first.succeeded() && second.succeeded(), "{first:?}\n{second:?}");
    assert_eq!(first.run, second.run);
    assert_eq!(f.pipelineruns().len(), 5, "the second build created no PipelineRun");
    let (third, _) = build(&f.backend_with_state("third").await, &f.plan).await;
    assert!(third.components.iter().all(|c| c.outcome == Outcome::Reused), "{third:?}");
    assert_eq!(f.pipelineruns().len(), 5);
    // A machine that never saw the run rebuilds its status from the cluster.
    let status = f.backend_with_state("fourth").await.status(&third.run).await.unwrap();
    assert_eq!(status.components.len(), 5);
    assert!(status.components.iter().all(|c| c.outcome == Outcome::Succeeded && c.digest.is_some()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_watches_resume_and_a_429_storm_is_ridden_out() {
    let f =
        Fixture::new(Strategy::Konflux, Script::new().default_duration(Duration::from_millis(1500))).await;
    let faults = f.server.faults();
    faults.fail_next(None, PIPELINERUNS, 429, 3, Some(1));
    // kube's own retry layer backs off exponentially from 5 ms when Retry-After is 0.
    faults.fail_next(None, PIPELINERUNS, 429, 15, Some(0));
    faults.fail_next(Some("POST"), PIPELINERUNS, 500, 2, None);
    let backend = f.backend().await;
    let plan = f.plan.clone();
    let running = tokio::spawn(async move { build(&backend, &plan).await });
    let watching = || f.server.requests().iter().filter(|r| r.query.contains("watch=true")).count();
    wait_for(|| f.running() >= 2 && watching() >= 2, "two runs watched").await;
    for _ in 0..4 {
        let before = watching();
        faults.drop_watches();
        wait_for(|| watching() > before, "a watch resumed").await;
    }
    let (report, _) = tokio::time::timeout(Duration::from_secs(60), running).await.unwrap().unwrap();
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(f.pipelineruns().len(), 5, "retried creates made no duplicates");
    let requests = f.server.requests();
    let throttled = requests.iter().filter(|r| r.status == 429).count();
    assert!(throttled >= 18, "{throttled} answers were 429");
    let watches = requests
        .iter()
        .filter(|r| r.path.starts_with(PIPELINERUNS) && r.query.contains("watch=true"))
        .count();
    assert!(watches >= 9, "watches were resumed after each drop ({watches} watch requests)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruned_runs_still_report_and_timeouts_are_timeouts() {
    let script = Script::new().prune_finished_after(Duration::from_millis(1)).timeout("solo");
    let f = Fixture::new(Strategy::DoozerKonflux, script).await;
    let (report, _) = build(&f.backend().await, &f.plan).await;
    let by = outcomes(&report);
    assert_eq!(by["solo"], Outcome::Failed);
    let solo = report.components.iter().find(|c| c.name == "solo").unwrap();
    assert!(solo.reason.as_deref().unwrap().contains("timed out (PipelineRunTimeout)"), "{solo:?}");
    for name in ["base", "builder", "app", "tool"] {
        assert_eq!(by[name], Outcome::Succeeded, "{name}: {report:?}");
    }
    wait_for(|| f.pipelineruns().is_empty(), "the pruner").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_konflux_strategy_refuses_path_sources() {
    let f = Fixture::new(Strategy::Konflux, Script::new()).await;
    let plan = path_scenario(&f.dir.path().join("sources")).await;
    let (report, _) = build(&f.backend().await, &plan).await;
    let base = report.components.iter().find(|c| c.name == "base").unwrap();
    assert_eq!(base.outcome, Outcome::Failed);
    assert!(base.reason.as_deref().unwrap().contains("builds git commits"), "{base:?}");
    assert!(f.pipelineruns().is_empty());
}

async fn wait_for(mut condition: impl FnMut() -> bool, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[async_trait]
impl Harness for Fixture {
    async fn backend(&self) -> Arc<dyn BuildBackend> {
        self.backend_with_state("state").await
    }
    async fn plan(&self) -> Arc<Plan> {
        self.plan.clone()
    }
    async fn fail(&self, component: &str) {
        self.rescript(|s| s.fail(component, "make: *** [build] Error 2"));
    }
    async fn set_duration(&self, component: &str, d: Duration) {
        self.rescript(|s| s.duration(component, d));
    }
    async fn remote_builds(&self) -> usize {
        self.pipelineruns().len()
    }
    async fn running_builds(&self) -> usize {
        self.running()
    }
    async fn inject_transient_failures(&self, n: usize) -> bool {
        let faults = self.server.faults();
        faults.fail_next(None, PIPELINERUNS, 500, n / 2, None);
        faults.fail_next(None, PIPELINERUNS, 429, n - n / 2, Some(1));
        true
    }
    async fn drop_watches(&self) -> bool {
        self.server.faults().drop_watches();
        true
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_strategies_pass_the_conformance_suite() {
    for strategy in [Strategy::Konflux, Strategy::DoozerKonflux] {
        for check in CHECKS {
            let fixture =
                Fixture::new(strategy, Script::new().default_duration(Duration::from_millis(30))).await;
            let outcome = tokio::time::timeout(Duration::from_secs(60), run_check(check, &fixture)).await;
            let outcome = outcome.unwrap_or_else(|_| panic!("{strategy:?} {check} timed out"));
            assert_eq!(outcome, Check::Passed, "{strategy:?} {check}");
        }
    }
}
