#![allow(dead_code, clippy::unwrap_used)]
//! A fake cluster for the payload-pipeline backend: the fake API server (Workflows, BuildConfigs,
//! ImageStreams, validated against the real schemas when OKD_SHARED is set) with the scripted
//! Argo controller, whose successful tasks push their component's image into the release
//! ImageStream as the pipeline's Builds do. Sources are git repositories (file://), one per
//! component, as OKD's are.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use backend_argo::{PayloadPipelineBackend, Settings};
use kube::{
    Client, Config,
    config::{KubeConfigOptions, Kubeconfig},
};
use okd_core::{
    backend::{BuildBackend, BuildBackendExt, BuildEvent, BuildOptions, Outcome, RunReport},
    plan::Plan,
};
use okd_runtime::{Runtime, SettingsLayers, retry::Backoff};
use okd_tests::{
    conformance::Harness,
    kube::{
        controllers::{Controllers, Script, tag_built_images},
        server::{FakeApiServer, ServerOptions},
        store::Gvr,
    },
};
use serde_json::Value;

/// The namespace the pipeline runs in.
pub const NS: &str = "okd";
pub const WORKFLOWS: &str = "/apis/argoproj.io/v1alpha1/namespaces/okd/workflows";
pub const RELEASE: &str = "/apis/image.openshift.io/v1/namespaces/okd/imagestreams/release";

pub use okd_tests::repos::plan_of as plan_git;

/// The conformance scenario from git repositories (file://).
pub fn git_scenario(dir: &Path) -> PathBuf {
    okd_tests::conformance::git_scenario(dir, None)
}

/// A fake cluster with the scripted Argo controller, and a state folder.
pub struct Fixture {
    pub server: FakeApiServer,
    pub script: Mutex<Script>,
    pub controllers: Mutex<Option<Controllers>>,
    pub dir: tempfile::TempDir,
    pub plan: Arc<Plan>,
    pub settings: Settings,
}

impl Fixture {
    /// The fixture on the git conformance scenario.
    pub async fn new(script: Script) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let manifest = git_scenario(dir.path());
        let plan = plan_git(&manifest, dir.path()).await;
        Self::with_plan(script, dir, plan, Settings::default()).await
    }

    /// The fixture building `plan` (whose sources live under `dir`) with `settings`.
    pub async fn with_plan(
        script: Script,
        dir: tempfile::TempDir,
        plan: Arc<Plan>,
        settings: Settings,
    ) -> Fixture {
        let server = FakeApiServer::start(ServerOptions::default()).await;
        server.write_kubeconfig(&dir.path().join("kubeconfig"), NS);
        let script = script.on_workflow_task_success(tag_built_images(server.store(), &settings.stream));
        let controllers = Controllers::start(server.store(), script.clone());
        let settings = Settings { namespace: NS.to_owned(), ..settings };
        Fixture {
            server,
            script: Mutex::new(script),
            controllers: Mutex::new(Some(controllers)),
            dir,
            plan,
            settings,
        }
    }

    /// A backend over a new client, with state in `state` (a folder under the fixture).
    pub async fn backend_with_state(&self, state: &str) -> Arc<PayloadPipelineBackend> {
        let kubeconfig = Kubeconfig::read_from(self.dir.path().join("kubeconfig")).unwrap();
        let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
        let client = Client::try_from(config).unwrap();
        let runtime = Runtime::new(self.dir.path().join(state), self.dir.path().join("cache"))
            .with_settings(SettingsLayers::none());
        Arc::new(PayloadPipelineBackend::new(&runtime, client, self.settings.clone(), Backoff::fast()))
    }

    pub async fn backend(&self) -> Arc<PayloadPipelineBackend> {
        self.backend_with_state("state").await
    }

    /// Changes the script; the controllers restart with it (running Workflows are picked up).
    pub fn rescript(&self, change: impl FnOnce(Script) -> Script) {
        let mut script = self.script.lock().unwrap();
        *script = change(script.clone());
        let mut controllers = self.controllers.lock().unwrap();
        if let Some(old) = controllers.take() {
            old.stop();
        }
        *controllers = Some(Controllers::start(self.server.store(), script.clone()));
    }

    pub fn list(&self, group: &str, version: &str, plural: &str) -> Vec<Value> {
        self.server.store().list(&Gvr::new(group, version, plural), None).0
    }

    pub fn workflows(&self) -> Vec<Value> {
        self.list("argoproj.io", "v1alpha1", "workflows")
    }

    /// Builds running: the DAG task nodes in phase Running, over every Workflow.
    pub fn running(&self) -> usize {
        self.workflows()
            .iter()
            .flat_map(|w| {
                let prefix = format!("{}.", w["metadata"]["name"].as_str().unwrap_or_default());
                w["status"]["nodes"]
                    .as_object()
                    .into_iter()
                    .flat_map(|nodes| nodes.values())
                    .filter(move |n| {
                        n["phase"] == "Running"
                            && n["name"].as_str().is_some_and(|name| {
                                name.strip_prefix(&prefix).is_some_and(|task| !task.contains(['.', '[']))
                            })
                    })
                    .count()
                    .checked_add(0)
            })
            .sum::<usize>()
    }
}

pub async fn build(backend: &Arc<PayloadPipelineBackend>, plan: &Arc<Plan>) -> (RunReport, Vec<BuildEvent>) {
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

#[async_trait]
impl Harness for Fixture {
    async fn backend(&self) -> Arc<dyn BuildBackend> {
        self.backend_with_state("state").await
    }
    async fn plan(&self) -> Arc<Plan> {
        self.plan.clone()
    }
    async fn fail(&self, component: &str) {
        self.rescript(|s| s.fail(component, "error: build error: make: *** [build] Error 2"));
    }
    async fn set_duration(&self, component: &str, d: Duration) {
        self.rescript(|s| s.duration(component, d));
    }
    async fn remote_builds(&self) -> usize {
        self.workflows().len()
    }
    async fn running_builds(&self) -> usize {
        self.running()
    }
    async fn inject_transient_failures(&self, n: usize) -> bool {
        let faults = self.server.faults();
        faults.fail_next(None, WORKFLOWS, 503, n / 2, None);
        faults.fail_next(None, RELEASE, 429, n - n / 2, Some(1));
        true
    }
    async fn drop_watches(&self) -> bool {
        self.server.faults().drop_watches();
        true
    }
}
