//! The two Konflux strategies behind [`BuildBackend`]: construction, rendering, and runs through
//! the DAG scheduler with state kept in the local backend's state store.

use std::{
    collections::{BTreeSet, HashMap},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use backend_local::state::StateStore;
use kube::config::{KubeConfigOptions, Kubeconfig};
use okd_core::{
    Error, ErrorKind, Result,
    backend::{
        Artifact, BackendInfo, BackendPlan, BackendPlanOptions, BuildBackend, BuildOptions, ComponentResult,
        EventSink, Outcome, RenderSummary, RunId, RunReport, RunState, RunStatus, run_id,
        selected_components, write_artifacts,
    },
    plan::Plan,
    registry::BackendConfig,
    schedule,
    source::{SourceOptions, read_sources},
};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use crate::{
    DOOZER_KONFLUX, KONFLUX,
    build::{Job, build_component},
    client::{Cluster, Kind, kube_error},
    config::{KonfluxConfig, Settings},
    names::{COMPONENT_LABEL, RUN_ANNOTATION, RUN_LABEL, label_value},
    render::{self, View, build_branch, shared_image_repo, tenant},
    status::{Phase, phase},
    strategy::Strategy,
};

/// Builds at once when the caller does not say: remote builds cost this machine nothing.
const DEFAULT_JOBS: usize = 8;

/// A `konflux` backend from registry configuration (connects on first use).
pub fn konflux(config: &BackendConfig) -> Result<Arc<dyn BuildBackend>> {
    let config = KonfluxConfig::parse(KONFLUX, config)?;
    Ok(Arc::new(KonfluxBackend::from_config(Strategy::Konflux, &config)))
}

/// A `doozer-konflux` backend from registry configuration (connects on first use).
pub fn doozer_konflux(config: &BackendConfig) -> Result<Arc<dyn BuildBackend>> {
    let config = KonfluxConfig::parse(DOOZER_KONFLUX, config)?;
    Ok(Arc::new(KonfluxBackend::from_config(Strategy::DoozerKonflux, &config)))
}

/// How the backend reaches its cluster.
#[derive(Clone)]
enum Connector {
    Client { client: kube::Client, namespace: String },
    Kubeconfig { path: Option<PathBuf>, context: Option<String> },
}

/// A run in progress in this process: its cancel switch and the PipelineRuns it follows.
type Running = (CancellationToken, Arc<Mutex<BTreeSet<String>>>);

/// Either Konflux strategy, against one tenant namespace.
pub struct KonfluxBackend {
    strategy: Strategy,
    settings: Arc<Settings>,
    connector: Connector,
    cluster: OnceCell<Cluster>,
    state: OnceCell<Arc<StateStore>>,
    running: Mutex<HashMap<RunId, Running>>,
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
    /// A backend over an existing client, in `namespace`. The state store in
    /// `settings.state_dir` is opened on first use.
    pub fn new(
        strategy: Strategy,
        client: kube::Client,
        namespace: impl Into<String>,
        mut settings: Settings,
    ) -> Self {
        let namespace = namespace.into();
        settings.namespace = Some(namespace.clone());
        Self::with(strategy, settings, Connector::Client { client, namespace })
    }

    /// A backend that reads the kubeconfig (`kubeconfig` setting, else `$KUBECONFIG` or
    /// `~/.kube/config`; `context` setting, else the current context) on first use.
    pub fn from_config(strategy: Strategy, config: &KonfluxConfig) -> Self {
        let connector = Connector::Kubeconfig {
            path: config.kubeconfig.as_ref().map(PathBuf::from),
            context: config.context.clone(),
        };
        Self::with(strategy, config.settings(), connector)
    }

    fn with(strategy: Strategy, settings: Settings, connector: Connector) -> Self {
        KonfluxBackend {
            strategy,
            settings: Arc::new(settings),
            connector,
            cluster: OnceCell::new(),
            state: OnceCell::new(),
            running: Mutex::default(),
        }
    }

    /// The strategy.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Where builds and runs are recorded.
    pub fn state_dir(&self) -> &Path {
        &self.settings.state_dir
    }

    async fn state(&self) -> Result<&Arc<StateStore>> {
        self.state
            .get_or_try_init(|| async { Ok(Arc::new(StateStore::open(&self.settings.state_dir)?)) })
            .await
    }

    async fn cluster(&self) -> Result<&Cluster> {
        self.cluster.get_or_try_init(|| self.connect()).await
    }

    async fn connect(&self) -> Result<Cluster> {
        let backoff = self.settings.backoff;
        let (path, context) = match &self.connector {
            Connector::Client { client, namespace } => {
                return Ok(Cluster::new(client.clone(), namespace.clone(), backoff));
            }
            Connector::Kubeconfig { path, context } => (path, context),
        };
        let options = KubeConfigOptions { context: context.clone(), ..KubeConfigOptions::default() };
        let invalid = |e: kube::config::KubeconfigError| {
            Error::invalid(format!("cannot use the kubeconfig: {e}"))
                .with_help("pass --context, or set KUBECONFIG to a kubeconfig with a current context")
        };
        let config = match path {
            Some(path) => {
                let kubeconfig = Kubeconfig::read_from(path).map_err(invalid)?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &options).await.map_err(invalid)?
            }
            None => kube::Config::from_kubeconfig(&options).await.map_err(invalid)?,
        };
        let namespace = self.settings.namespace.clone().unwrap_or_else(|| config.default_namespace.clone());
        let client = kube::Client::try_from(config).map_err(|e| kube_error(e, "connect to the cluster"))?;
        Ok(Cluster::new(client, namespace, backoff))
    }

    /// The tenant objects the selected components need, created when missing.
    async fn ensure_tenant(
        &self,
        cluster: &Cluster,
        plan: &Plan,
        view: &View,
        selected: &[String],
    ) -> Result<()> {
        let ns = Some(cluster.namespace());
        let release = &plan.release;
        let mut objects = vec![tenant::application(&view.application, ns, release)];
        let chosen = view.components.iter().filter(|c| selected.contains(&c.name));
        match self.strategy {
            Strategy::Konflux => {
                for c in chosen {
                    objects.push(tenant::pac_component(c, &view.application, ns, &self.settings));
                    objects.push(tenant::component_image_repository(c, &view.application, ns, release));
                }
            }
            Strategy::DoozerKonflux => {
                let remote = self.settings.git_remote.clone().ok_or_else(|| {
                    Error::invalid("doozer-konflux needs a git remote to push generated sources to")
                        .with_help("set the backend's `git_remote` setting (a URL git can push to)")
                })?;
                objects.push(tenant::shared_image_repository(&view.application, ns, release));
                let shared = shared_image_repo(plan);
                for c in chosen {
                    let branch = build_branch(plan, &c.name);
                    objects.push(tenant::direct_component(
                        c,
                        &view.application,
                        ns,
                        &self.settings,
                        &remote,
                        &branch,
                        &shared,
                    ));
                }
            }
        }
        for object in objects {
            let kind = Kind::of(&object)
                .ok_or_else(|| Error::new(ErrorKind::Internal, "an object of no known kind"))?;
            cluster.create_or_get(kind, &object).await?;
        }
        Ok(())
    }

    /// Cancels every unfinished PipelineRun of `run` (by label) and those in `following`.
    async fn cancel_remote(
        &self,
        cluster: &Cluster,
        run: &RunId,
        following: &BTreeSet<String>,
    ) -> Result<usize> {
        let mut names: BTreeSet<String> = following.clone();
        for object in self.run_objects(cluster, run).await? {
            if !phase(&object).is_terminal()
                && let Some(name) = object["metadata"]["name"].as_str()
            {
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

    /// The PipelineRuns created for `run`.
    async fn run_objects(&self, cluster: &Cluster, run: &RunId) -> Result<Vec<serde_json::Value>> {
        let found = cluster.list(Kind::PipelineRun, &format!("{RUN_LABEL}={}", label_value(&run.0))).await?;
        Ok(found
            .into_iter()
            .filter(|o| o["metadata"]["annotations"][RUN_ANNOTATION] == run.0.as_str())
            .collect())
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
        let artifacts = match self.strategy {
            Strategy::Konflux => render::konflux_artifacts(&plan, &self.settings)?,
            Strategy::DoozerKonflux => render::doozer_artifacts(&plan, &self.settings)?,
        };
        Ok(BackendPlan { backend: self.strategy.name(), core: plan, artifacts })
    }

    async fn render(&self, plan: &BackendPlan, dir: &Path) -> Result<RenderSummary> {
        write(&plan.artifacts, dir)
    }

    async fn build(
        &self,
        plan: &BackendPlan,
        options: &BuildOptions,
        events: EventSink,
    ) -> Result<RunReport> {
        let run = run_id(plan, options);
        let core = plan.core.clone();
        let selected: Vec<(usize, String)> =
            selected_components(&core, options)?.into_iter().map(|c| (c.index, c.name.clone())).collect();
        let names: Vec<String> = selected.iter().map(|(_, n)| n.clone()).collect();
        let cluster = self.cluster().await?.clone();
        let state = self.state().await?.clone();
        let mut settings = (*self.settings).clone();
        settings.namespace = Some(cluster.namespace().to_owned());
        let settings = Arc::new(settings);
        let view = Arc::new(View::new(&core, &settings)?);
        let sources = match self.strategy {
            Strategy::Konflux => None,
            // Planning read (and fetched) every source; generating reads them again from there.
            Strategy::DoozerKonflux => {
                let options = SourceOptions { offline: true, cache_dir: settings.cache_dir.clone(), jobs: 8 };
                Some(read_sources(&core.release, &options).await?)
            }
        };
        self.ensure_tenant(&cluster, &core, &view, &names).await?;
        state.start_run(&run, self.strategy.name(), &names)?;
        let cancel = CancellationToken::new();
        let following = Arc::new(Mutex::new(BTreeSet::new()));
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(run.clone(), (cancel.clone(), following.clone()));
        let work = self.settings.state_dir.join("konflux-work").join(&run.0);
        let job = Arc::new(Job {
            strategy: self.strategy,
            cluster: cluster.clone(),
            state: state.clone(),
            settings,
            plan: core.clone(),
            view,
            run: run.clone(),
            events: events.clone(),
            force: options.force,
            sources,
            work: work.clone(),
            timestamp: jiff::Timestamp::now(),
            built: Mutex::default(),
            following: following.clone(),
        });
        let started = jiff::Timestamp::now();
        let indices: Vec<usize> = selected.iter().map(|(i, _)| *i).collect();
        let jobs = if options.jobs == 0 { DEFAULT_JOBS } else { options.jobs };
        let results = schedule::run(&core.graph, Some(&indices), jobs, cancel.clone(), events, |i| {
            build_component(job.clone(), core.graph.name(i).to_owned())
        })
        .await;
        if cancel.is_cancelled() {
            // A create may have landed while its task was aborted: give it a moment, then sweep.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let following = following.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let Err(e) = self.cancel_remote(&cluster, &run, &following).await {
                tracing::warn!(error = %e, "cancelling the run's PipelineRuns failed");
            }
        }
        for r in &results {
            state.record_result(&run, r)?;
        }
        let final_state = if cancel.is_cancelled() { RunState::Cancelled } else { RunState::Finished };
        state.finish_run(&run, final_state)?;
        self.running.lock().unwrap_or_else(|p| p.into_inner()).remove(&run);
        let _ = std::fs::remove_dir_all(&work);
        Ok(RunReport {
            run,
            backend: self.strategy.name().to_owned(),
            started,
            finished: jiff::Timestamp::now(),
            components: results,
        })
    }

    async fn status(&self, run: &RunId) -> Result<RunStatus> {
        if let Some(status) = self.state().await?.run_status(run)? {
            return Ok(status);
        }
        // Started on another machine: what the cluster still holds is all there is.
        let cluster = self.cluster().await?;
        let objects = self.run_objects(cluster, run).await?;
        if objects.is_empty() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "no run {run} in {} or in namespace {}",
                    self.settings.state_dir.display(),
                    cluster.namespace()
                ),
            ));
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
            });
        }
        let state = if running { RunState::Running } else { RunState::Finished };
        Ok(RunStatus { run: run.clone(), state, components })
    }

    async fn cancel(&self, run: &RunId) -> Result<()> {
        let local = self.running.lock().unwrap_or_else(|p| p.into_inner()).get(run).cloned();
        let following = match &local {
            Some((token, following)) => {
                token.cancel();
                following.lock().unwrap_or_else(|p| p.into_inner()).clone()
            }
            None => BTreeSet::new(),
        };
        let cluster = self.cluster().await?;
        let cancelled = self.cancel_remote(cluster, run, &following).await?;
        if local.is_none() && cancelled == 0 && self.state().await?.run_status(run)?.is_none() {
            return Err(Error::new(ErrorKind::NotFound, format!("no run {run}")));
        }
        Ok(())
    }
}
