//! The two Konflux strategies behind [`BuildBackend`]: construction and rendering here; runs go
//! through okd-runtime's run driver, with one [`Job`] per run building components and
//! [`ClusterRuns`] cancelling and describing a run's PipelineRuns from any process.

use std::{
    collections::BTreeSet,
    path::Path,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use okd_core::{
    Result,
    backend::{
        Artifact, BackendInfo, BackendPlan, BackendPlanOptions, BuildBackend, BuildOptions, ComponentResult,
        EventSink, Mechanism, Outcome, RenderSummary, RunId, RunReport, RunState, RunStatus,
        rewrite_verdicts, write_artifacts,
    },
    plan::Plan,
    registry::BackendSettings,
    source::read_sources,
};
use okd_runtime::{RemoteRuns, RunDriver, Runtime, kube::Connector};
use tokio::sync::OnceCell;

use crate::{
    DOOZER_KONFLUX, KONFLUX,
    build::Job,
    client::{Cluster, Kind},
    config::{KonfluxConfig, Settings},
    names::{COMPONENT_LABEL, RUN_ANNOTATION, RUN_LABEL, label_value},
    render::{self, View},
    status::{Phase, phase},
    strategy::Strategy,
};

/// Builds at once when the caller does not say: remote builds cost this machine nothing.
const DEFAULT_JOBS: usize = 8;

/// A `konflux` backend from the runtime and settings (connects on first use).
pub fn konflux(runtime: &Runtime, settings: &BackendSettings) -> Result<Arc<dyn BuildBackend>> {
    let config = runtime.settings::<KonfluxConfig>(KONFLUX, settings)?;
    config.check()?;
    Ok(Arc::new(KonfluxBackend::from_config(Strategy::Konflux, runtime, &config)))
}

/// A `doozer-konflux` backend from the runtime and settings (connects on first use).
pub fn doozer_konflux(runtime: &Runtime, settings: &BackendSettings) -> Result<Arc<dyn BuildBackend>> {
    let config = runtime.settings::<KonfluxConfig>(DOOZER_KONFLUX, settings)?;
    config.check()?;
    Ok(Arc::new(KonfluxBackend::from_config(Strategy::DoozerKonflux, runtime, &config)))
}

/// Either Konflux strategy, against one tenant namespace.
pub struct KonfluxBackend {
    strategy: Strategy,
    settings: Arc<Settings>,
    connector: Connector,
    cluster: OnceCell<Cluster>,
    runtime: Runtime,
    driver: RunDriver,
}

impl std::fmt::Debug for KonfluxBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KonfluxBackend")
            .field("strategy", &self.strategy)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl KonfluxBackend {
    /// A backend over an existing client, in `namespace`, recording runs in `runtime`'s store.
    pub fn new(
        strategy: Strategy,
        runtime: &Runtime,
        client: kube::Client,
        namespace: impl Into<String>,
        mut settings: Settings,
    ) -> Self {
        let namespace = namespace.into();
        settings.namespace = Some(namespace.clone());
        Self::with(strategy, runtime, settings, Connector::Client(client))
    }

    /// A backend that reads the kubeconfig (`kubeconfig` setting, else `$KUBECONFIG` or
    /// `~/.kube/config`; `context` setting, else the current context) on first use.
    pub fn from_config(strategy: Strategy, runtime: &Runtime, config: &KonfluxConfig) -> Self {
        let connector = Connector::from_settings(&config.cluster);
        Self::with(strategy, runtime, config.settings(), connector)
    }

    /// The digest of the last build of each component with its current fingerprint, from the
    /// run store if there is one (a render on a machine that never built pins placeholders).
    fn pins(&self, plan: &Plan) -> Result<render::Pins> {
        let mut pins = render::Pins::new();
        if self.strategy != Strategy::Konflux {
            return Ok(pins);
        }
        let Some(store) = self.runtime.store().existing()? else { return Ok(pins) };
        for c in &plan.components {
            if let Some(fingerprint) = &c.fingerprint
                && let Some(digest) = store.lookup(self.strategy.name(), fingerprint)?.and_then(|r| r.digest)
            {
                pins.insert(c.name.clone(), digest);
            }
        }
        Ok(pins)
    }

    fn with(strategy: Strategy, runtime: &Runtime, settings: Settings, connector: Connector) -> Self {
        KonfluxBackend {
            strategy,
            settings: Arc::new(settings),
            connector,
            cluster: OnceCell::new(),
            runtime: runtime.clone(),
            driver: runtime.driver(strategy.name()).with_default_jobs(DEFAULT_JOBS).counting_requests(),
        }
    }

    /// The strategy.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    async fn cluster(&self) -> Result<&Cluster> {
        self.cluster.get_or_try_init(|| self.connect()).await
    }

    async fn connect(&self) -> Result<Cluster> {
        let help = "pass --context, or set KUBECONFIG to a kubeconfig with a current context";
        let (client, default_namespace) = self.connector.client(help).await?;
        let client = okd_runtime::kube::counted(client, self.driver.request_counter());
        let namespace = self.settings.namespace.clone().unwrap_or(default_namespace);
        Ok(Cluster::new(client, namespace, self.settings.backoff))
    }

    /// The remote side of this backend's runs, following `following` besides what the labels find.
    fn remote(&self, following: Arc<Mutex<BTreeSet<String>>>) -> ClusterRuns<'_> {
        ClusterRuns { backend: self, following }
    }
}

/// A run's PipelineRuns on the cluster, found by label (and the names a run in this process
/// follows, which another run may have created): cancelled with `spec.status: Cancelled`, or
/// described when this machine's store does not know the run.
pub(crate) struct ClusterRuns<'a> {
    backend: &'a KonfluxBackend,
    following: Arc<Mutex<BTreeSet<String>>>,
}

impl ClusterRuns<'_> {
    /// The PipelineRuns created for `run`.
    async fn run_objects(&self, cluster: &Cluster, run: &RunId) -> Result<Vec<serde_json::Value>> {
        let found = cluster.list(Kind::PipelineRun, &format!("{RUN_LABEL}={}", label_value(&run.0))).await?;
        Ok(found
            .into_iter()
            .filter(|o| o["metadata"]["annotations"][RUN_ANNOTATION] == run.0.as_str())
            .collect())
    }
}

#[async_trait]
impl RemoteRuns for ClusterRuns<'_> {
    async fn cancel_remote(&self, run: &RunId) -> Result<usize> {
        let cluster = self.backend.cluster().await?;
        let mut names: BTreeSet<String> = self.following.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for object in self.run_objects(cluster, run).await? {
            if let Some(name) = object["metadata"]["name"].as_str() {
                names.insert(name.to_owned());
            }
        }
        for name in &names {
            if let Some(object) = cluster.get(Kind::PipelineRun, name).await?
                && !phase(&object).is_terminal()
            {
                cluster.cancel_run(name).await?;
            }
        }
        Ok(names.len())
    }

    async fn describe_remote(&self, run: &RunId) -> Result<Option<RunStatus>> {
        let cluster = self.backend.cluster().await?;
        let objects = self.run_objects(cluster, run).await?;
        if objects.is_empty() {
            return Ok(None);
        }
        let mut running = false;
        let mut components = Vec::new();
        for object in &objects {
            let name = object["metadata"]["labels"][COMPONENT_LABEL].as_str().unwrap_or_default().to_owned();
            let ended = phase(object);
            let (outcome, image, digest) = match &ended {
                Phase::Pending | Phase::Running { .. } => {
                    running = true;
                    continue;
                }
                Phase::Succeeded { image, digest } => {
                    (Outcome::Succeeded, Some(image.clone()), Some(digest.clone()))
                }
                Phase::Cancelled { .. } => (Outcome::Cancelled, None, None),
                _ => (Outcome::Failed, None, None),
            };
            let reason =
                ended.error(object["metadata"]["name"].as_str().unwrap_or_default()).map(|e| e.to_string());
            components.push(ComponentResult {
                name,
                outcome,
                image,
                digest,
                reason,
                started: None,
                finished: None,
                fingerprint: None,
                arches: Vec::new(),
            });
        }
        let state = if running { RunState::Running } else { RunState::Finished };
        Ok(Some(RunStatus { run: run.clone(), state, components }))
    }
}

/// Writes artifacts as they land: repository files under `dir/<org>/<repo>/`, the backend's own
/// (`repository: None`, paths under `konflux/`) under `dir/`.
fn write(artifacts: &[Artifact], dir: &Path) -> Result<RenderSummary> {
    let placed: Vec<Artifact> = artifacts
        .iter()
        .map(|a| match (&a.repository, a.path.split_once('/')) {
            (None, Some((top, rest))) => {
                Artifact { repository: Some(top.to_owned()), path: rest.to_owned(), ..a.clone() }
            }
            _ => a.clone(),
        })
        .collect();
    let mut summary = write_artifacts(&placed, dir)?;
    summary.repositories =
        artifacts.iter().filter_map(|a| a.repository.as_ref()).collect::<BTreeSet<_>>().len();
    Ok(summary)
}

#[async_trait]
impl BuildBackend for KonfluxBackend {
    fn info(&self) -> BackendInfo {
        self.strategy.info()
    }

    async fn plan(&self, plan: Arc<Plan>, _options: &BackendPlanOptions) -> Result<BackendPlan> {
        let (artifacts, warnings, verdicts) = match self.strategy {
            Strategy::Konflux => render::konflux_artifacts(&plan, &self.settings, &self.pins(&plan)?)?,
            Strategy::DoozerKonflux => (
                render::doozer_artifacts(&plan, &self.settings)?,
                Vec::new(),
                rewrite_verdicts(&plan, Mechanism::GeneratedSource),
            ),
        };
        let mut backend_plan =
            BackendPlan::new(self.strategy.name(), plan, artifacts).with_verdicts(verdicts);
        backend_plan.warnings = warnings;
        Ok(backend_plan)
    }

    async fn render(&self, plan: &BackendPlan, dir: &Path) -> Result<RenderSummary> {
        let mut summary = write(&plan.artifacts, dir)?;
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
        let cluster = self.cluster().await?.clone();
        let mut settings = (*self.settings).clone();
        settings.namespace = Some(cluster.namespace().to_owned());
        let settings = Arc::new(settings);
        let view = Arc::new(View::new(&core, &settings, &self.pins(&core)?)?);
        let cache_dir = self.runtime.cache_dir().to_path_buf();
        let sources = match self.strategy {
            Strategy::Konflux => None,
            // Planning read (and fetched) every source; generating reads them again from there.
            Strategy::DoozerKonflux => {
                Some(read_sources(&core.release, &self.runtime.source_options()).await?)
            }
        };
        let following = Arc::new(Mutex::new(BTreeSet::new()));
        // Generated sources are written here before they are pushed, one folder per process.
        let work = self.runtime.state_dir().join("konflux-work").join(std::process::id().to_string());
        let job = Arc::new(Job {
            strategy: self.strategy,
            cluster,
            settings,
            plan: core,
            view,
            sources,
            cache_dir,
            work: work.clone(),
            timestamp: jiff::Timestamp::now(),
            built: Mutex::default(),
            following: following.clone(),
        });
        let report = self.driver.run(plan, options, events, job, &self.remote(following)).await;
        let _ = std::fs::remove_dir_all(&work);
        report
    }

    async fn status(&self, run: &RunId) -> Result<RunStatus> {
        self.driver.status(run, &self.remote(Arc::default())).await
    }

    async fn cancel(&self, run: &RunId) -> Result<()> {
        self.driver.cancel(run, &self.remote(Arc::default())).await
    }
}
