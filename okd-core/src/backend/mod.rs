//! The [`BuildBackend`] trait: the one contract every build system implements.
//!
//! Shaped like object_store's `ObjectStore`: small, object safe (`Arc<dyn BuildBackend>`), no
//! default methods, so a wrapper can never silently lose an override. Conveniences live in
//! [`BuildBackendExt`], which implementors must not implement.

mod capabilities;
mod events;
pub mod names;
mod skeleton;
mod verdict;

use std::{path::Path, sync::Arc};

use async_trait::async_trait;
use serde::Serialize;

pub use capabilities::{Approach, Capabilities, TriggerModel};
pub use events::{
    ArchResult, BuildEvent, ComponentResult, EventKind, EventSink, Outcome, RunId, RunReport, RunState,
    RunStatus,
};
pub use skeleton::Skeleton;
pub use verdict::{
    Limit, Mechanism, ReferenceVerdict, Verdict, needs_nothing, rewrite_verdicts, rewrite_verdicts_of,
};

use crate::{
    Result,
    plan::{Plan, PlannedComponent},
};

/// A backend's name and the static facts about it that the comparison reports.
#[derive(Debug, Clone, Serialize)]
pub struct BackendInfo {
    /// The registry name, e.g. `konflux` or `local`.
    pub name: &'static str,
    /// One line on what it is.
    pub summary: &'static str,
    /// Whether it builds yet.
    pub maturity: Maturity,
    /// What its implementation can do (behaviour facts; all false for a skeleton).
    pub capabilities: Capabilities,
    /// The approach it stands for, as the comparison describes it.
    pub approach: Approach,
}

/// How far along a backend's implementation is, so no listing passes a skeleton off as working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Maturity {
    /// Registered with its capabilities; plan, render and build return NotImplemented.
    Skeleton,
    /// Plans, renders and builds.
    Working,
}

impl Maturity {
    /// The name in JSON output and listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Maturity::Skeleton => "skeleton",
            Maturity::Working => "working",
        }
    }
}

/// Settings for [`BuildBackend::plan`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct BackendPlanOptions {}

/// A file a backend needs in order to build, as it would land.
#[derive(Debug, Clone, Serialize)]
pub struct Artifact {
    /// The repository it lands in (`org/repo`), or `None` for the backend's own configuration
    /// repository (openshift/release, a tenant config repository, a cluster namespace).
    pub repository: Option<String>,
    /// Path inside that repository.
    pub path: String,
    /// The file's content.
    pub content: String,
    /// The components it serves.
    pub components: Vec<String>,
    /// What keeping it costs: a config someone maintains, a fork of an upstream file, or a
    /// file generated at build time.
    pub kind: ArtifactKind,
}

/// What kind of file an [`Artifact`] is, for the comparison's configuration cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactKind {
    /// Configuration kept in a repository (a ci-operator config, a PipelineRun, a BuildConfig).
    Config,
    /// A copy of an upstream file with changes (`Dockerfile.okd`), kept in step with it by hand.
    Fork,
    /// Written by okd-build when it builds (generated sources, rewritten Dockerfiles); nobody
    /// keeps it.
    Generated,
}

impl ArtifactKind {
    /// The name in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::Config => "config",
            ArtifactKind::Fork => "fork",
            ArtifactKind::Generated => "generated",
        }
    }
}

/// The core plan plus what this backend needs to carry it out.
#[derive(Debug, Clone)]
pub struct BackendPlan {
    /// The backend's name.
    pub backend: &'static str,
    /// The shared plan.
    pub core: Arc<Plan>,
    /// Generated configuration.
    pub artifacts: Vec<Artifact>,
    /// What the backend cannot express for this plan (a FROM its system cannot replace, a
    /// source it cannot reach), each with the file and line it is about. `okd render` and
    /// `okd plan` print them; `--strict` makes them errors.
    pub warnings: Vec<crate::Warning>,
    /// What the backend does with every FROM and `--from` of every component whose Dockerfile
    /// was read, in plan order.
    pub verdicts: Vec<ReferenceVerdict>,
}

impl BackendPlan {
    /// A plan with these artifacts and no warnings or verdicts.
    pub fn new(backend: &'static str, core: Arc<Plan>, artifacts: Vec<Artifact>) -> Self {
        BackendPlan { backend, core, artifacts, warnings: Vec::new(), verdicts: Vec::new() }
    }

    /// With these verdicts.
    pub fn with_verdicts(mut self, verdicts: Vec<ReferenceVerdict>) -> Self {
        self.verdicts = verdicts;
        self
    }
}

/// What [`BuildBackend::render`] wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RenderSummary {
    /// Files written, relative to the output folder.
    pub files: Vec<String>,
    /// Distinct repositories touched.
    pub repositories: usize,
    /// The plan's warnings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::Warning>,
}

/// Settings for [`BuildBackend::build`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct BuildOptions {
    /// At most this many builds at once; 0 means the backend's default.
    pub jobs: usize,
    /// Build only these components (their parents must be built or reusable).
    pub only: Vec<String>,
    /// Rebuild even when an image with the same fingerprint exists.
    pub force: bool,
    /// Push images to the release's output registry.
    pub push: bool,
}

impl BuildOptions {
    /// Options with `jobs` set.
    pub fn with_jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs;
        self
    }
}

/// A build system that okd-build drives.
#[async_trait]
pub trait BuildBackend: Send + Sync + std::fmt::Debug {
    /// The name and capabilities.
    fn info(&self) -> BackendInfo;

    /// The shared plan plus the artifacts this backend needs (CI configs, PipelineRuns, ...).
    async fn plan(&self, plan: Arc<Plan>, options: &BackendPlanOptions) -> Result<BackendPlan>;

    /// Writes the plan's artifacts under `dir` as they would land: `dir/<org>/<repo>/<path>`.
    async fn render(&self, plan: &BackendPlan, dir: &Path) -> Result<RenderSummary>;

    /// Runs the plan, sending events to `events` as they happen, and returns the run's report.
    async fn build(&self, plan: &BackendPlan, options: &BuildOptions, events: EventSink)
    -> Result<RunReport>;

    /// The state of a run started earlier, possibly by another process.
    async fn status(&self, run: &RunId) -> Result<RunStatus>;

    /// Stops a run: running work is cancelled and nothing stays running remotely.
    async fn cancel(&self, run: &RunId) -> Result<()>;
}

/// Conveniences over any [`BuildBackend`]. Implemented for every backend; do not implement it.
pub trait BuildBackendExt: BuildBackend {
    /// Plans with default options.
    fn plan_default(&self, plan: Arc<Plan>) -> impl Future<Output = Result<BackendPlan>> + Send
    where
        Self: Sized,
    {
        async move { self.plan(plan, &BackendPlanOptions::default()).await }
    }

    /// Builds and collects every event in memory; for tests and small runs.
    fn build_collect(
        &self,
        plan: &BackendPlan,
        options: &BuildOptions,
    ) -> impl Future<Output = (Result<RunReport>, Vec<BuildEvent>)> + Send
    where
        Self: Sized,
    {
        async move {
            let (sink, mut rx) = EventSink::channel();
            let report = self.build(plan, options, sink).await;
            let mut events = Vec::new();
            while let Ok(e) = rx.try_recv() {
                events.push(e);
            }
            (report, events)
        }
    }
}

impl<T: BuildBackend + ?Sized> BuildBackendExt for T {}

/// `Arc<dyn BuildBackend>` is itself a backend, so wrappers and registries compose.
#[async_trait]
impl<T: BuildBackend + ?Sized> BuildBackend for Arc<T> {
    fn info(&self) -> BackendInfo {
        (**self).info()
    }
    async fn plan(&self, plan: Arc<Plan>, options: &BackendPlanOptions) -> Result<BackendPlan> {
        (**self).plan(plan, options).await
    }
    async fn render(&self, plan: &BackendPlan, dir: &Path) -> Result<RenderSummary> {
        (**self).render(plan, dir).await
    }
    async fn build(
        &self,
        plan: &BackendPlan,
        options: &BuildOptions,
        events: EventSink,
    ) -> Result<RunReport> {
        (**self).build(plan, options, events).await
    }
    async fn status(&self, run: &RunId) -> Result<RunStatus> {
        (**self).status(run).await
    }
    async fn cancel(&self, run: &RunId) -> Result<()> {
        (**self).cancel(run).await
    }
}

/// The components `options` selects from `plan`, in build order: all of them, or the `--only`
/// ones. An `--only` name the release does not have is an input error, so a typo never builds
/// nothing and reports success.
pub fn selected_components<'a>(plan: &'a Plan, options: &BuildOptions) -> Result<Vec<&'a PlannedComponent>> {
    if let Some(name) = options.only.iter().find(|n| plan.component(n).is_none()) {
        return Err(crate::Error::invalid(format!("--only {name}: the release has no such component")));
    }
    Ok(plan.components.iter().filter(|c| options.only.is_empty() || options.only.contains(&c.name)).collect())
}

/// One artifact per component whose Dockerfile was read: the Dockerfile after FROM resolution,
/// as `<component>/Dockerfile`. What backends that build the rewritten text themselves carry.
pub fn rewritten_dockerfiles(plan: &Plan) -> Vec<Artifact> {
    plan.components
        .iter()
        .filter_map(|c| {
            Some(Artifact {
                repository: None,
                path: format!("{}/Dockerfile", c.name),
                content: c.rewritten.clone()?,
                components: vec![c.name.clone()],
                kind: ArtifactKind::Generated,
            })
        })
        .collect()
}

/// Writes artifacts under `dir` as `dir/<repository or "_">/<path>`; shared by backends whose
/// render is "write the files". Refuses paths that would leave `dir`.
pub fn write_artifacts(artifacts: &[Artifact], dir: &Path) -> Result<RenderSummary> {
    let mut summary = RenderSummary::default();
    let mut repos = std::collections::BTreeSet::new();
    for a in artifacts {
        let rel = Path::new(a.repository.as_deref().unwrap_or("_")).join(&a.path);
        if rel.components().any(|p| !matches!(p, std::path::Component::Normal(_))) {
            return Err(crate::Error::new(
                crate::ErrorKind::Internal,
                format!("artifact path {} is not a plain relative path", rel.display()),
            ));
        }
        let target = dir.join(&rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| crate::Error::io(parent, "create", e))?;
        }
        std::fs::write(&target, &a.content).map_err(|e| crate::Error::io(&target, "write", e))?;
        repos.insert(a.repository.clone());
        summary.files.push(rel.to_string_lossy().into_owned());
    }
    summary.repositories = repos.len();
    Ok(summary)
}
