#![allow(dead_code, clippy::unwrap_used)]
//! A fake app.ci for both Prow strategies: the fake API server (ProwJobs, ImageStreams) with its
//! scripted ProwJob controller, the fake Gangway on it, and an openshift/release checkout holding
//! what okd-build renders for the release, so Gangway knows the jobs and the promotion step reads
//! the configs. Sources are git repositories (file://), one per component, as OKD's are; for
//! doozer-prow a bare remote receives the generated sources.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use backend_prow::{ProwBackend, Settings, Strategy};
use kube::{
    Client, Config,
    config::{KubeConfigOptions, Kubeconfig},
};
use okd_core::{
    backend::{BackendPlan, BuildBackend, BuildBackendExt, BuildEvent, BuildOptions, Outcome, RunReport},
    plan::Plan,
};
use okd_runtime::{Runtime, SettingsLayers, retry::Backoff};
use okd_tests::{
    conformance::Harness,
    kube::{
        controllers::{Controllers, Script},
        server::{FakeApiServer, ServerOptions},
        store::Gvr,
    },
    prow::{FakeGangway, GangwayOptions},
};
use serde_json::Value;

use crate::common::git;

/// Where ProwJobs live on app.ci.
pub const NS: &str = "ci";
pub const PROWJOBS: &str = "/apis/prow.k8s.io/v1/namespaces/ci/prowjobs";
/// The conformance scenario's integration stream (release 1.0.0).
pub const STREAM: &str = "/apis/image.openshift.io/v1/namespaces/origin/imagestreams/scos-1.0";
const TOKEN: &str = "s3cret-token";

/// The conformance scenario from git repositories, its stream on the CI registry (what
/// ci-operator can name as a base image).
pub fn git_scenario(dir: &Path) -> PathBuf {
    okd_tests::conformance::git_scenario(dir, Some("registry.ci.openshift.org/origin/centos:stream9"))
}

pub use okd_tests::repos::plan_of as plan_git;

/// A fake app.ci with Gangway, a release checkout rendered from the plan, and a state folder.
pub struct Fixture {
    pub strategy: Strategy,
    pub server: FakeApiServer,
    pub gangway: FakeGangway,
    pub script: Mutex<Script>,
    pub controllers: Mutex<Option<Controllers>>,
    pub dir: tempfile::TempDir,
    pub plan: Arc<Plan>,
    /// Each component's promotion job, as rendered.
    pub jobs: HashMap<String, String>,
}

impl Fixture {
    /// The fixture for `strategy` on the git conformance scenario.
    pub async fn new(strategy: Strategy, script: Script) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let manifest = git_scenario(dir.path());
        let plan = plan_git(&manifest, dir.path()).await;
        Self::with_plan(strategy, script, dir, plan).await
    }

    /// The fixture for `strategy` building `plan` (whose sources live under `dir`).
    pub async fn with_plan(
        strategy: Strategy,
        script: Script,
        dir: tempfile::TempDir,
        plan: Arc<Plan>,
    ) -> Fixture {
        let server = FakeApiServer::start(ServerOptions::default()).await;
        server.write_kubeconfig(&dir.path().join("kubeconfig"), NS);
        std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).unwrap();
        let remote = dir.path().join("remotes/okd/okd-sources.git");
        std::fs::create_dir_all(&remote).unwrap();
        git(&remote, &["init", "-q", "--bare"]);

        // What would land in openshift/release, rendered by the backend itself.
        let release = dir.path().join("release");
        let settings = settings(dir.path(), "http://gangway.invalid");
        let renderer = backend_over(strategy, dir.path(), "state", settings, client(dir.path()).await);
        let planned = renderer.plan(plan.clone(), &Default::default()).await.unwrap();
        renderer.render(&planned, &release).await.unwrap();
        let jobs = promotion_jobs(&planned);

        let options = GangwayOptions::default()
            .token(TOKEN)
            .on_cluster(server.store(), NS)
            .release_repo(&release.join("openshift/release"));
        let gangway = FakeGangway::start(options).await;
        let script = script.on_prowjob_success(gangway.promoter());
        let controllers = Controllers::start(server.store(), script.clone());
        Fixture {
            strategy,
            server,
            gangway,
            script: Mutex::new(script),
            controllers: Mutex::new(Some(controllers)),
            dir,
            plan,
            jobs,
        }
    }

    /// A backend over a new client, with state in `state` (a folder under the fixture).
    pub async fn backend_with_state(&self, state: &str) -> Arc<ProwBackend> {
        let settings = settings(self.dir.path(), &self.gangway.url());
        backend_over(self.strategy, self.dir.path(), state, settings, client(self.dir.path()).await)
    }

    pub async fn backend(&self) -> Arc<ProwBackend> {
        self.backend_with_state("state").await
    }

    pub fn remote(&self) -> PathBuf {
        self.dir.path().join("remotes/okd/okd-sources.git")
    }

    /// Changes the script; the controllers restart with it (running ProwJobs are picked up).
    pub fn rescript(&self, change: impl FnOnce(Script) -> Script) {
        let mut script = self.script.lock().unwrap();
        *script = change(script.clone());
        let mut controllers = self.controllers.lock().unwrap();
        if let Some(old) = controllers.take() {
            old.stop();
        }
        *controllers = Some(Controllers::start(self.server.store(), script.clone()));
    }

    /// The promotion job that builds `component` (the fake's scripts key ProwJobs by job name).
    pub fn job_of(&self, component: &str) -> &str {
        self.jobs.get(component).unwrap_or_else(|| panic!("no promotion job builds {component}"))
    }

    pub fn prowjobs(&self) -> Vec<Value> {
        self.server.store().list(&Gvr::new("prow.k8s.io", "v1", "prowjobs"), None).0
    }

    pub fn running(&self) -> usize {
        self.prowjobs().iter().filter(|j| !ended(j)).count()
    }
}

/// The backend settings of the fixture: its Gangway, token file and bare remote.
fn settings(dir: &Path, gangway: &str) -> Settings {
    Settings {
        gangway_url: gangway.to_owned(),
        token_file: Some(dir.join("token").display().to_string()),
        git_remote: Some(format!("file://{}", dir.join("remotes/okd/okd-sources.git").display())),
        ..Settings::default()
    }
}

async fn client(dir: &Path) -> Client {
    let kubeconfig = Kubeconfig::read_from(dir.join("kubeconfig")).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
    Client::try_from(config).unwrap()
}

fn backend_over(
    strategy: Strategy,
    dir: &Path,
    state: &str,
    settings: Settings,
    client: Client,
) -> Arc<ProwBackend> {
    let runtime = Runtime::new(dir.join(state), dir.join("cache")).with_settings(SettingsLayers::none());
    Arc::new(ProwBackend::new(strategy, &runtime, client, settings, Backoff::fast()))
}

/// Component → its `branch-ci-...-images` promotion job, from the rendered postsubmit files.
fn promotion_jobs(planned: &BackendPlan) -> HashMap<String, String> {
    let mut jobs = HashMap::new();
    for artifact in planned.artifacts.iter().filter(|a| a.path.ends_with("-postsubmits.yaml")) {
        let file: Value = serde_saphyr::from_str(&artifact.content).unwrap();
        let names: Vec<String> = file["postsubmits"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|list| list.as_array().unwrap().iter())
            .filter_map(|job| job["name"].as_str().map(str::to_owned))
            .filter(|name| name.ends_with("-images"))
            .collect();
        assert_eq!(names.len(), 1, "{}: one promotion job", artifact.path);
        for component in &artifact.components {
            jobs.insert(component.clone(), names[0].clone());
        }
    }
    jobs
}

pub fn ended(prowjob: &Value) -> bool {
    matches!(prowjob["status"]["state"].as_str(), Some("success" | "failure" | "aborted" | "error"))
}

pub async fn build(backend: &Arc<ProwBackend>, plan: &Arc<Plan>) -> (RunReport, Vec<BuildEvent>) {
    let planned = backend.plan(plan.clone(), &Default::default()).await.unwrap();
    let (report, events) = backend.build_collect(&planned, &BuildOptions::default().with_jobs(4)).await;
    (report.unwrap(), events)
}

pub fn outcomes(report: &RunReport) -> HashMap<&str, Outcome> {
    report.components.iter().map(|c| (c.name.as_str(), c.outcome)).collect()
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
        let job = self.job_of(component).to_owned();
        self.rescript(|s| s.fail(&job, "error: build image \"x\" failed: make: *** [build] Error 2"));
    }
    async fn set_duration(&self, component: &str, d: Duration) {
        let job = self.job_of(component).to_owned();
        self.rescript(|s| s.duration(&job, d));
    }
    async fn remote_builds(&self) -> usize {
        self.prowjobs().len()
    }
    async fn running_builds(&self) -> usize {
        self.running()
    }
    async fn inject_transient_failures(&self, n: usize) -> bool {
        // Half on Gangway (trigger), half on app.ci (the integration stream the backend reads).
        self.gangway.fail_next(503, n / 2);
        self.server.faults().fail_next(None, STREAM, 429, n - n / 2, Some(1));
        true
    }
    async fn drop_watches(&self) -> bool {
        self.server.faults().drop_watches();
        true
    }
}
