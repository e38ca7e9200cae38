//! The local backend: builds the plan on a Podman or Docker engine through okd-runtime's run
//! driver, which reuses every image whose fingerprint was built before and still exists.

use std::{path::Path, sync::Arc};

use async_trait::async_trait;
use okd_core::{
    Result,
    backend::{
        Approach, BackendInfo, BackendPlan, BackendPlanOptions, BuildBackend, BuildOptions, Capabilities,
        EventSink, Maturity, Mechanism, RenderSummary, RunId, RunReport, RunStatus, TriggerModel,
        rewrite_verdicts, rewritten_dockerfiles, write_artifacts,
    },
    plan::Plan,
    registry::BackendSettings,
};
use okd_runtime::{NoRemote, RunDriver, Runtime, feedback::LinkTemplate};
use tokio::sync::OnceCell;

use crate::{
    LOCAL,
    build::LocalRun,
    client::Engine,
    config::{LOG_URL_NAMES, LocalConfig},
};

/// A `local` backend from the runtime and settings.
pub fn local(runtime: &Runtime, settings: &BackendSettings) -> Result<Arc<dyn BuildBackend>> {
    let config = runtime.settings::<LocalConfig>(LOCAL, settings)?;
    // Checked here, so a bad template is an input error before anything is built.
    LinkTemplate::from_setting("log_url", config.log_url.as_deref(), &LOG_URL_NAMES)?;
    Ok(Arc::new(LocalBackend::new(runtime, config)))
}

/// What building on a local engine is and costs.
pub fn local_info() -> BackendInfo {
    BackendInfo {
        name: LOCAL,
        summary: "Podman or Docker on this machine, through the Docker-compatible API",
        maturity: Maturity::Working,
        capabilities: Capabilities::NONE
            .local_reproduction(true)
            .only_if_changed(true)
            .cancel(true)
            .status_after_restart(true),
        approach: Approach {
            source_of_truth: "the release manifest",
            config_location: "none beyond the release manifest",
            configs_touched_per_repo: 0,
            trigger_model: TriggerModel::OnDemand,
            from_replacement: "okd-build rewrites the Dockerfile before each build",
            developer_feedback: "terminal progress, JSON events and kept logs",
        },
    }
}

/// Builds on the engine the settings name (connected on the first build).
#[derive(Debug)]
pub struct LocalBackend {
    config: LocalConfig,
    runtime: Runtime,
    driver: RunDriver,
    engine: Arc<OnceCell<Engine>>,
    /// Each component's log link (`log_url`).
    link: Option<LinkTemplate>,
}

impl LocalBackend {
    /// A backend over `runtime`'s store; the engine is connected on the first build.
    pub fn new(runtime: &Runtime, config: LocalConfig) -> Self {
        let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
        // `local()` refused a bad template; one given here directly is left out, not fatal.
        let link =
            LinkTemplate::from_setting("log_url", config.log_url.as_deref(), &LOG_URL_NAMES).ok().flatten();
        LocalBackend {
            link,
            config,
            driver: runtime.driver(LOCAL).with_default_jobs(jobs),
            runtime: runtime.clone(),
            engine: Arc::default(),
        }
    }
}

#[async_trait]
impl BuildBackend for LocalBackend {
    fn info(&self) -> BackendInfo {
        local_info()
    }

    async fn plan(&self, plan: Arc<Plan>, _options: &BackendPlanOptions) -> Result<BackendPlan> {
        let artifacts = rewritten_dockerfiles(&plan);
        let verdicts = rewrite_verdicts(&plan, Mechanism::RewriteBeforeBuild);
        Ok(BackendPlan::new(LOCAL, plan, artifacts).with_verdicts(verdicts))
    }

    async fn render(&self, plan: &BackendPlan, dir: &Path) -> Result<RenderSummary> {
        write_artifacts(&plan.artifacts, dir)
    }

    async fn build(
        &self,
        plan: &BackendPlan,
        options: &BuildOptions,
        events: EventSink,
    ) -> Result<RunReport> {
        let run = LocalRun {
            engine: self.engine.clone(),
            host: self.config.host.clone(),
            sources: self.runtime.source_options(),
            link: self.link.clone(),
        };
        self.driver.run(plan, options, events, Arc::new(run), &NoRemote).await
    }

    async fn status(&self, run: &RunId) -> Result<RunStatus> {
        self.driver.status(run, &NoRemote).await
    }

    async fn cancel(&self, run: &RunId) -> Result<()> {
        self.driver.cancel(run, &NoRemote).await
    }
}
