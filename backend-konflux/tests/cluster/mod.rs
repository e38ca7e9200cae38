#![allow(dead_code, clippy::unwrap_used)]
//! A fake cluster (the fake API server and its scripted Tekton controller) with a state folder
//! and, for Doozer + Konflux, a local bare git remote: what the e2e tests and the conformance
//! suite run both Konflux strategies against, through kube-rs and a kubeconfig.

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
    Result,
    backend::{
        BackendPlan, BuildBackend, BuildBackendExt, BuildEvent, BuildOptions, EventKind, EventSink, Outcome,
        RunId, RunReport,
    },
    manifest::{LoadOptions, load, load_str},
    plan::{Plan, PlanOptions, plan},
    source::{Origin, SourceOptions, SourceSnapshot, SourceState, Sources, read_sources},
};
use okd_runtime::{Runtime, SettingsLayers, retry::Backoff};
use okd_tests::{
    conformance::{Harness, SCENARIO, scenario_dockerfiles},
    kube::{
        controllers::{Controllers, Script},
        server::{FakeApiServer, ServerOptions},
        store::Gvr,
    },
};
use serde_json::Value;

const NS: &str = "tenant";
pub const PIPELINERUNS: &str = "/apis/tekton.dev/v1/namespaces/tenant/pipelineruns";

pub fn git(args: &[&str]) -> String {
    let out = std::process::Command::new("git").args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The conformance scenario with git sources (what the Konflux-only approach builds): each
/// component its own repository at a fixed commit.
pub fn git_scenario() -> Arc<Plan> {
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

pub fn hex_of(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The conformance scenario on disk (what Doozer + Konflux generates from).
pub async fn path_scenario(dir: &Path) -> Arc<Plan> {
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
pub struct Fixture {
    pub strategy: Strategy,
    pub server: FakeApiServer,
    pub script: Mutex<Script>,
    pub controllers: Mutex<Option<Controllers>>,
    pub dir: tempfile::TempDir,
    pub plan: Arc<Plan>,
}

impl Fixture {
    pub async fn new(strategy: Strategy, script: Script) -> Fixture {
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

    pub fn remote(&self) -> PathBuf {
        self.dir.path().join("remote.git")
    }

    /// A backend over a new client, with state in `state` (a folder under the fixture).
    pub async fn backend_with_state(&self, state: &str) -> Arc<KonfluxBackend> {
        let kubeconfig = Kubeconfig::read_from(self.dir.path().join("kubeconfig")).unwrap();
        let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
        let client = Client::try_from(config).unwrap();
        let runtime = Runtime::new(self.dir.path().join(state), self.dir.path().join("cache"))
            .with_settings(SettingsLayers::none());
        let settings = Settings {
            backoff: Backoff::fast(),
            git_remote: Some(format!("file://{}", self.remote().display())),
            ..Settings::default()
        };
        Arc::new(KonfluxBackend::new(self.strategy, &runtime, client, NS, settings))
    }

    pub async fn backend(&self) -> Arc<KonfluxBackend> {
        self.backend_with_state("state").await
    }

    /// Changes the script; the controllers restart with it (running objects are picked up).
    pub fn rescript(&self, change: impl FnOnce(Script) -> Script) {
        let mut script = self.script.lock().unwrap();
        *script = change(script.clone());
        let mut controllers = self.controllers.lock().unwrap();
        if let Some(old) = controllers.take() {
            old.stop();
        }
        *controllers = Some(Controllers::start(self.server.store(), script.clone()));
    }

    pub fn pipelineruns(&self) -> Vec<Value> {
        self.server.store().list(&Gvr::new("tekton.dev", "v1", "pipelineruns"), None).0
    }

    pub fn running(&self) -> usize {
        self.pipelineruns().iter().filter(|o| !ended(o)).count()
    }
}

pub fn ended(object: &Value) -> bool {
    object["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Succeeded" && c["status"] != "Unknown"))
}

pub fn param(run: &Value, name: &str) -> String {
    let params = run["spec"]["params"].as_array().unwrap();
    params
        .iter()
        .find(|p| p["name"] == name)
        .map(|p| p["value"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

pub async fn build(backend: &Arc<KonfluxBackend>, plan: &Arc<Plan>) -> (RunReport, Vec<BuildEvent>) {
    let planned = backend.plan(plan.clone(), &Default::default()).await.unwrap();
    let (report, events) = backend.build_collect(&planned, &BuildOptions::default().with_jobs(4)).await;
    (report.unwrap(), events)
}

pub fn outcomes(report: &RunReport) -> HashMap<&str, Outcome> {
    report.components.iter().map(|c| (c.name.as_str(), c.outcome)).collect()
}

pub fn position(events: &[BuildEvent], component: &str, kind: &str) -> usize {
    events.iter().position(|e| e.component == component && e.kind.name() == kind).unwrap_or(usize::MAX)
}

/// Starts a build in a task; returns it with the run id its first event names.
pub async fn start_build(
    backend: Arc<KonfluxBackend>,
    planned: BackendPlan,
) -> (tokio::task::JoinHandle<Result<RunReport>>, RunId) {
    let (sink, mut events) = EventSink::channel();
    let task = tokio::spawn(async move { backend.build(&planned, &BuildOptions::default(), sink).await });
    let first = tokio::time::timeout(Duration::from_secs(10), events.recv()).await.unwrap().unwrap();
    let EventKind::RunStarted { run } = first.kind else {
        panic!("the first event is run_started: {first:?}")
    };
    (task, run)
}

pub async fn wait_for(mut condition: impl FnMut() -> bool, what: &str) {
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
