//! The two Prow strategies behind [`BuildBackend`]: construction and rendering here; runs go
//! through okd-runtime's run driver with one [`Job`] per run, and [`ProwRuns`] aborts and
//! describes a run's ProwJobs from any process.

use std::{path::PathBuf, sync::Arc};

use async_trait::async_trait;
use okd_core::{
    Error, Result,
    backend::{
        BackendInfo, BackendPlan, BackendPlanOptions, BuildBackend, BuildOptions, ComponentResult, EventSink,
        Outcome, RenderSummary, RunId, RunReport, RunState, RunStatus, write_artifacts,
    },
    plan::Plan,
    registry::BackendSettings,
    source::read_sources,
};
use okd_runtime::{RemoteRuns, RunDriver, Runtime, kube::Connector, retry::Backoff};
use tokio::sync::OnceCell;

use crate::{
    DOOZER_PROW, PROW,
    build::{Job, no_git_remote},
    client::{cluster::Cluster, gangway::Gangway},
    config::{ProwConfig, Settings},
    names::{COMPONENTS_ANNOTATION, RUN_ANNOTATION, RUN_LABEL, label_value},
    render::{self, View},
    status::JobState,
    strategy::Strategy,
};

/// Jobs at once when the caller does not say: remote builds cost this machine nothing.
const DEFAULT_JOBS: usize = 16;
/// The environment variable holding the Gangway token when no `token_file` is set.
pub const TOKEN_ENV: &str = "OKD_PROW_TOKEN";

/// A `prow` backend from the runtime and settings (connects on first use).
pub fn prow(runtime: &Runtime, settings: &BackendSettings) -> Result<Arc<dyn BuildBackend>> {
    let config = runtime.settings::<ProwConfig>(PROW, settings)?;
    Ok(Arc::new(ProwBackend::from_config(Strategy::Prow, runtime, &config)?))
}

/// A `doozer-prow` backend from the runtime and settings (connects on first use).
pub fn doozer_prow(runtime: &Runtime, settings: &BackendSettings) -> Result<Arc<dyn BuildBackend>> {
    let config = runtime.settings::<ProwConfig>(DOOZER_PROW, settings)?;
    Ok(Arc::new(ProwBackend::from_config(Strategy::DoozerProw, runtime, &config)?))
}

/// Either Prow strategy.
pub struct ProwBackend {
    strategy: Strategy,
    settings: Arc<Settings>,
    connector: Connector,
    cluster: OnceCell<Cluster>,
    backoff: Backoff,
    runtime: Runtime,
    driver: RunDriver,
}

impl std::fmt::Debug for ProwBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProwBackend")
            .field("strategy", &self.strategy)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl ProwBackend {
    /// A backend that reads the kubeconfig (`kubeconfig` setting, else `$KUBECONFIG` or
    /// `~/.kube/config`; `context`, else the current context) on first use.
    pub fn from_config(strategy: Strategy, runtime: &Runtime, config: &ProwConfig) -> Result<Self> {
        let connector = Connector::from_settings(&config.cluster);
        Ok(Self::with(strategy, runtime, config.settings()?, connector, Backoff::default()))
    }

    /// A backend over an existing client (tests, embedding), with `backoff` for every call.
    pub fn new(
        strategy: Strategy,
        runtime: &Runtime,
        client: kube::Client,
        settings: Settings,
        backoff: Backoff,
    ) -> Self {
        Self::with(strategy, runtime, settings, Connector::Client(client), backoff)
    }

    fn with(
        strategy: Strategy,
        runtime: &Runtime,
        settings: Settings,
        connector: Connector,
        backoff: Backoff,
    ) -> Self {
        ProwBackend {
            strategy,
            settings: Arc::new(settings),
            connector,
            cluster: OnceCell::new(),
            backoff,
            runtime: runtime.clone(),
            driver: runtime.driver(strategy.name()).with_default_jobs(DEFAULT_JOBS).counting_requests(),
        }
    }

    async fn cluster(&self) -> Result<&Cluster> {
        self.cluster.get_or_try_init(|| self.connect()).await
    }

    async fn connect(&self) -> Result<Cluster> {
        let help =
            "pass --kubeconfig/--context for app.ci, where ProwJobs and the integration ImageStreams are";
        let (client, _) = self.connector.client(help).await?;
        let client = okd_runtime::kube::counted(client, self.driver.request_counter());
        Ok(Cluster::new(client, self.settings.namespace.clone(), self.backoff))
    }

    /// The Gangway token: `token_file`, else `$OKD_PROW_TOKEN`; never logged.
    fn token(&self) -> Result<Option<String>> {
        if let Some(file) = &self.settings.token_file {
            let path = PathBuf::from(file);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Error::io(&path, "read the Gangway token from", e))?;
            return Ok(Some(text.trim().to_owned()).filter(|t| !t.is_empty()));
        }
        Ok(std::env::var(TOKEN_ENV).ok().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()))
    }

    fn remote(&self) -> ProwRuns<'_> {
        ProwRuns { backend: self }
    }
}

/// A run's ProwJobs on app.ci, found by the run label: aborted, or described when this machine's
/// store does not know the run.
pub(crate) struct ProwRuns<'a> {
    backend: &'a ProwBackend,
}

impl ProwRuns<'_> {
    async fn run_jobs(&self, cluster: &Cluster, run: &RunId) -> Result<Vec<serde_json::Value>> {
        let found = cluster.list_jobs(&format!("{RUN_LABEL}={}", label_value(&run.0))).await?;
        Ok(found
            .into_iter()
            .filter(|j| j["metadata"]["annotations"][RUN_ANNOTATION] == run.0.as_str())
            .collect())
    }
}

#[async_trait]
impl RemoteRuns for ProwRuns<'_> {
    async fn cancel_remote(&self, run: &RunId) -> Result<usize> {
        let cluster = self.backend.cluster().await?;
        let jobs = self.run_jobs(cluster, run).await?;
        for job in &jobs {
            if let Some(name) = job["metadata"]["name"].as_str() {
                cluster.abort_job(name).await?;
            }
        }
        Ok(jobs.len())
    }

    async fn describe_remote(&self, run: &RunId) -> Result<Option<RunStatus>> {
        let cluster = self.backend.cluster().await?;
        let jobs = self.run_jobs(cluster, run).await?;
        if jobs.is_empty() {
            return Ok(None);
        }
        let mut running = false;
        let mut components = Vec::new();
        for job in &jobs {
            let state = JobState::of_prowjob(job);
            if !state.is_terminal() {
                running = true;
                continue;
            }
            let name = job["spec"]["job"].as_str().unwrap_or_default();
            let reason = state
                .error(
                    name,
                    job["status"]["description"].as_str().unwrap_or_default(),
                    job["status"]["url"].as_str().unwrap_or_default(),
                )
                .map(|e| e.to_string());
            let listed = job["metadata"]["annotations"][COMPONENTS_ANNOTATION].as_str().unwrap_or_default();
            for component in listed.split(',').filter(|c| !c.is_empty()) {
                components.push(ComponentResult {
                    name: component.to_owned(),
                    outcome: if state == JobState::Success { Outcome::Succeeded } else { Outcome::Failed },
                    image: None,
                    digest: None,
                    reason: reason.clone(),
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
impl BuildBackend for ProwBackend {
    fn info(&self) -> BackendInfo {
        self.strategy.info()
    }

    async fn plan(&self, plan: Arc<Plan>, _options: &BackendPlanOptions) -> Result<BackendPlan> {
        let (artifacts, warnings, verdicts) = render::artifacts(&plan, &self.settings, self.strategy)?;
        let mut backend_plan =
            BackendPlan::new(self.strategy.name(), plan, artifacts).with_verdicts(verdicts);
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
        if self.strategy == Strategy::DoozerProw && self.settings.git_remote.is_none() {
            return Err(no_git_remote());
        }
        let gangway = Gangway::new(&self.settings.gangway_url, self.token()?, self.backoff)?;
        let cluster = self.cluster().await?.clone();
        let view = Arc::new(View::new(&core, &self.settings, self.strategy));
        let sources = match self.strategy {
            Strategy::Prow => None,
            Strategy::DoozerProw => Some(read_sources(&core.release, &self.runtime.source_options()).await?),
        };
        let work = self.runtime.state_dir().join("prow-work").join(std::process::id().to_string());
        let job = Arc::new(Job {
            strategy: self.strategy,
            settings: self.settings.clone(),
            plan: core,
            view,
            gangway,
            cluster,
            watch: std::sync::OnceLock::new(),
            configs: std::sync::Mutex::default(),
            stream: OnceCell::new(),
            sources,
            cache_dir: self.runtime.cache_dir().to_path_buf(),
            work: work.clone(),
            timestamp: jiff::Timestamp::now(),
            built: std::sync::Mutex::default(),
        });
        let report = self.driver.run(plan, options, events, job, &self.remote()).await;
        let _ = std::fs::remove_dir_all(&work);
        report
    }

    async fn status(&self, run: &RunId) -> Result<RunStatus> {
        self.driver.status(run, &self.remote()).await
    }

    async fn cancel(&self, run: &RunId) -> Result<()> {
        self.driver.cancel(run, &self.remote()).await
    }
}
