//! The payload-pipeline backend behind [`BuildBackend`]: construction and rendering here; runs
//! go through okd-runtime's run driver with one [`Run`] per run (one Workflow), and
//! [`WorkflowRuns`] terminates and describes a run's Workflows from any process.

use std::sync::Arc;

use async_trait::async_trait;
use okd_core::{
    Result,
    backend::{
        Approach, BackendInfo, BackendPlan, BackendPlanOptions, BuildBackend, BuildOptions, Capabilities,
        ComponentResult, EventSink, Maturity, Outcome, RenderSummary, RunId, RunReport, RunState, RunStatus,
        TriggerModel, write_artifacts,
    },
    plan::Plan,
    registry::BackendSettings,
};
use okd_runtime::{RemoteRuns, RunDriver, Runtime, kube::Connector, retry::Backoff};
use tokio::sync::OnceCell;

use crate::{
    PAYLOAD_PIPELINE,
    build::Run,
    client::Cluster,
    config::{ArgoConfig, Settings},
    names::{RUN_ANNOTATION, RUN_LABEL, label_value},
    render,
    status::{TaskState, task_state},
};

/// A `payload-pipeline` backend from the runtime and settings (connects on first use).
pub fn payload_pipeline(runtime: &Runtime, settings: &BackendSettings) -> Result<Arc<dyn BuildBackend>> {
    let config = runtime.settings::<ArgoConfig>(PAYLOAD_PIPELINE, settings)?;
    Ok(Arc::new(PayloadPipelineBackend::from_config(runtime, &config)?))
}

/// What the okd-payload-pipeline approach is and costs.
pub fn payload_pipeline_info() -> BackendInfo {
    BackendInfo {
        name: PAYLOAD_PIPELINE,
        summary: "okd-payload-pipeline: Argo Workflows driving OpenShift Builds (or Shipwright) in one cluster",
        maturity: Maturity::Working,
        // multi_arch: one Build per arch with its nodeSelector, a manifest list, per-arch
        // results and a missing-node check (tests/multi_arch.rs).
        capabilities: Capabilities::NONE
            .multi_arch(true)
            .only_if_changed(true)
            .cancel(true)
            .status_after_restart(true)
            .kubernetes(true),
        approach: Approach {
            source_of_truth: "the release manifest; okd-build derives the BuildConfigs and the DAG (by hand in okd-payload-pipeline)",
            config_location: "okd-payload-pipeline: buildconfigs/ and argo-workflows/ WorkflowTemplates",
            configs_touched_per_repo: 0,
            trigger_model: TriggerModel::Batch,
            from_replacement: "BuildConfig source.images[].as and dockerStrategy.from, applied by the OpenShift Build API",
            developer_feedback: "none from the system; okd-build reports each task of the workflow",
        },
    }
}

/// The okd-payload-pipeline backend.
pub struct PayloadPipelineBackend {
    settings: Arc<Settings>,
    connector: Connector,
    cluster: OnceCell<Cluster>,
    backoff: Backoff,
    driver: RunDriver,
}

impl std::fmt::Debug for PayloadPipelineBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadPipelineBackend").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl PayloadPipelineBackend {
    /// A backend that reads the kubeconfig (`kubeconfig` setting, else `$KUBECONFIG` or
    /// `~/.kube/config`; `context`, else the current context) on first use.
    pub fn from_config(runtime: &Runtime, config: &ArgoConfig) -> Result<Self> {
        let connector = Connector::from_settings(&config.cluster);
        Ok(Self::with(runtime, config.settings()?, connector, Backoff::default()))
    }

    /// A backend over an existing client (tests, embedding), with `backoff` for every call.
    pub fn new(runtime: &Runtime, client: kube::Client, settings: Settings, backoff: Backoff) -> Self {
        Self::with(runtime, settings, Connector::Client(client), backoff)
    }

    fn with(runtime: &Runtime, settings: Settings, connector: Connector, backoff: Backoff) -> Self {
        PayloadPipelineBackend {
            settings: Arc::new(settings),
            connector,
            cluster: OnceCell::new(),
            backoff,
            driver: runtime.driver(PAYLOAD_PIPELINE).counting_requests(),
        }
    }

    async fn cluster(&self) -> Result<&Cluster> {
        self.cluster.get_or_try_init(|| self.connect()).await
    }

    async fn connect(&self) -> Result<Cluster> {
        let help = "pass --kubeconfig/--context for the cluster the pipeline runs in";
        let (client, _) = self.connector.client(help).await?;
        let client = okd_runtime::kube::counted(client, self.driver.request_counter());
        Ok(Cluster::new(client, self.settings.namespace.clone(), self.backoff))
    }
}

/// A run's Workflows, found by the run label: terminated, or described when this machine's store
/// does not know the run.
struct WorkflowRuns<'a> {
    backend: &'a PayloadPipelineBackend,
}

impl WorkflowRuns<'_> {
    async fn workflows(&self, cluster: &Cluster, run: &RunId) -> Result<Vec<serde_json::Value>> {
        let found = cluster.list_workflows(&format!("{RUN_LABEL}={}", label_value(&run.0))).await?;
        Ok(found
            .into_iter()
            .filter(|w| w["metadata"]["annotations"][RUN_ANNOTATION] == run.0.as_str())
            .collect())
    }
}

#[async_trait]
impl RemoteRuns for WorkflowRuns<'_> {
    async fn cancel_remote(&self, run: &RunId) -> Result<usize> {
        let cluster = self.backend.cluster().await?;
        let workflows = self.workflows(cluster, run).await?;
        for wf in &workflows {
            if crate::status::ended(wf).is_none()
                && let Some(name) = wf["metadata"]["name"].as_str()
            {
                cluster.terminate(name).await?;
            }
        }
        Ok(workflows.len())
    }

    async fn describe_remote(&self, run: &RunId) -> Result<Option<RunStatus>> {
        let cluster = self.backend.cluster().await?;
        let workflows = self.workflows(cluster, run).await?;
        if workflows.is_empty() {
            return Ok(None);
        }
        let mut running = false;
        let mut components = Vec::new();
        for wf in &workflows {
            running |= crate::status::ended(wf).is_none();
            let tasks = wf["spec"]["templates"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| t["name"] == wf["spec"]["entrypoint"])
                .flat_map(|t| t["dag"]["tasks"].as_array().into_iter().flatten())
                .filter_map(|t| t["name"].as_str());
            for task in tasks {
                let (outcome, reason) = match task_state(wf, task) {
                    TaskState::Succeeded => (Outcome::Succeeded, None),
                    TaskState::Failed(m) => (Outcome::Failed, Some(m)),
                    TaskState::Omitted(m) => (Outcome::Skipped, Some(m)),
                    TaskState::Waiting | TaskState::Running => continue,
                };
                components.push(ComponentResult {
                    name: task.to_owned(),
                    outcome,
                    image: None,
                    digest: None,
                    reason,
                    started: None,
                    finished: None,
                    fingerprint: None,
                    arches: Vec::new(),
                });
            }
        }
        let state = if running { RunState::Running } else { RunState::Finished };
        Ok(Some(RunStatus { run: run.clone(), state, components }))
    }
}

#[async_trait]
impl BuildBackend for PayloadPipelineBackend {
    fn info(&self) -> BackendInfo {
        payload_pipeline_info()
    }

    async fn plan(&self, plan: Arc<Plan>, _options: &BackendPlanOptions) -> Result<BackendPlan> {
        let (artifacts, warnings, verdicts) = render::artifacts(&plan, &self.settings)?;
        let mut backend_plan = BackendPlan::new(PAYLOAD_PIPELINE, plan, artifacts).with_verdicts(verdicts);
        backend_plan.warnings = warnings;
        Ok(backend_plan)
    }

    async fn render(&self, plan: &BackendPlan, dir: &std::path::Path) -> Result<RenderSummary> {
        let mut summary = write_artifacts(&plan.artifacts, dir)?;
        summary.warnings = plan.warnings.clone();
        Ok(summary)
    }

    async fn build(
        &self,
        plan: &BackendPlan,
        options: &BuildOptions,
        events: EventSink,
    ) -> Result<RunReport> {
        let core = plan.core.clone();
        let objects = render::cluster_objects(&core, &self.settings)?;
        let cluster = self.cluster().await?.clone();
        let parallelism = if options.jobs == 0 { self.settings.parallelism } else { options.jobs };
        let run = Arc::new(Run {
            settings: self.settings.clone(),
            plan: core.clone(),
            cluster,
            objects,
            parallelism,
            to_build: std::sync::Mutex::default(),
            unschedulable: std::sync::Mutex::default(),
            stream: std::sync::Mutex::default(),
            workflow: OnceCell::new(),
            watch: std::sync::OnceLock::new(),
        });
        // Argo runs the DAG with its own parallelism; the driver only mirrors it, so it must
        // never hold a ready component back.
        let mut options = options.clone();
        options.jobs = core.components.len().max(1);
        self.driver.run(plan, &options, events, run, &WorkflowRuns { backend: self }).await
    }

    async fn status(&self, run: &RunId) -> Result<RunStatus> {
        self.driver.status(run, &WorkflowRuns { backend: self }).await
    }

    async fn cancel(&self, run: &RunId) -> Result<()> {
        self.driver.cancel(run, &WorkflowRuns { backend: self }).await
    }
}
