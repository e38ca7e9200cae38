//! The local backend: builds the plan on a Podman or Docker engine, parents first, reusing
//! every image whose fingerprint was built before and still exists.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use okd_core::{
    Error, ErrorKind, Result,
    backend::{
        BackendInfo, BackendPlan, BackendPlanOptions, BuildBackend, BuildOptions, Capabilities, EventKind,
        EventSink, Maturity, RenderSummary, RunId, RunReport, RunState, RunStatus, TriggerModel,
        rewritten_dockerfiles, run_id, selected_components, write_artifacts,
    },
    plan::{Plan, PlannedComponent, PlannedSource},
    registry::BackendConfig,
    schedule::{self, Built},
    source::{Origin, SourceOptions, SourceSnapshot, export_context},
};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use crate::{
    LOCAL,
    client::{BuildRequest, Engine},
    config::LocalConfig,
    state::{BuildRecord, CancelRequest, StateStore},
};

/// A `local` backend from registry configuration.
pub fn local(config: &BackendConfig) -> Result<Arc<dyn BuildBackend>> {
    let config = LocalConfig::parse(LOCAL, config)?;
    Ok(Arc::new(LocalBackend::new(config)?))
}

/// What building on a local engine is and costs.
pub fn local_info() -> BackendInfo {
    BackendInfo {
        name: LOCAL,
        summary: "Podman or Docker on this machine, through the Docker-compatible API",
        maturity: Maturity::Working,
        capabilities: Capabilities {
            source_of_truth: "the release manifest",
            config_location: "none beyond the release manifest",
            configs_touched_per_repo: 0,
            trigger_model: TriggerModel::OnDemand,
            from_replacement: "okd-build rewrites the Dockerfile before each build",
            developer_feedback: "terminal progress, JSON events and kept logs",
            multi_arch: false,
            local_reproduction: true,
            only_if_changed: true,
            cancel: true,
            status_after_restart: true,
            kubernetes: false,
        },
    }
}

/// Builds on the engine found from the configuration, keeping history in a [`StateStore`].
#[derive(Debug)]
pub struct LocalBackend {
    config: LocalConfig,
    state_dir: PathBuf,
    state: Arc<StateStore>,
    engine: OnceCell<Engine>,
    /// Runs in progress in this process, so `cancel` can stop them.
    running: Mutex<HashMap<RunId, CancellationToken>>,
}

impl LocalBackend {
    /// A backend with its state store opened (engines are connected on first use).
    pub fn new(config: LocalConfig) -> Result<Self> {
        let state_dir = config.state.as_ref().map_or_else(StateStore::default_dir, PathBuf::from);
        let state = Arc::new(StateStore::open(&state_dir)?);
        Ok(LocalBackend { config, state_dir, state, engine: OnceCell::new(), running: Mutex::default() })
    }

    /// Where this backend keeps its database and build logs.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    async fn engine(&self) -> Result<&Engine> {
        self.engine.get_or_try_init(|| Engine::connect(self.config.engine.as_deref())).await
    }

    fn source_options(&self) -> SourceOptions {
        SourceOptions {
            cache_dir: self
                .config
                .cache
                .as_ref()
                .map_or_else(SourceOptions::default_cache_dir, PathBuf::from),
            ..SourceOptions::default()
        }
    }
}

/// Everything one component's build needs, copied out of the plan so the task owns it.
#[derive(Debug, Clone)]
struct Job {
    component: String,
    fingerprint: String,
    image: String,
    dockerfile: String,
    build_args: std::collections::BTreeMap<String, String>,
    labels: std::collections::BTreeMap<String, String>,
    context: Context,
    log: PathBuf,
}

#[derive(Debug, Clone)]
enum Context {
    /// A folder read in place.
    Dir(PathBuf),
    /// A git commit's context, exported from the cache into a temporary folder for the build.
    Git { url: String, commit: String, context: String },
}

/// The labels `oc adm release new` copies into a payload's image-references (commit, ref,
/// source location), as ci-operator and Doozer set them; a path source has no commit, so it
/// gets okd-build's content hash instead. The fingerprint lets `okd` find an image's inputs.
fn source_labels(source: &PlannedSource, fingerprint: &str) -> std::collections::BTreeMap<String, String> {
    let mut labels =
        std::collections::BTreeMap::from([("io.okd-build.fingerprint".to_owned(), fingerprint.to_owned())]);
    match source {
        PlannedSource::Commit { url, reference, commit } => {
            labels.insert("io.openshift.build.commit.id".into(), commit.clone());
            labels.insert("io.openshift.build.commit.ref".into(), reference.clone());
            labels.insert("io.openshift.build.source-location".into(), url.clone());
        }
        PlannedSource::Path { content, .. } => {
            labels.insert(okd_core::payload::SOURCE_CONTENT_LABEL.into(), content.clone());
        }
        PlannedSource::Unreadable { .. } => {}
    }
    labels
}

fn job(plan: &Plan, c: &PlannedComponent, logs: &Path) -> Result<Job> {
    let not_read = || {
        Error::invalid(format!("component '{}': its source was not read, so it cannot be built", c.name))
            .with_help("run without --offline, or fetch the source into the git cache first")
    };
    let fingerprint = c.fingerprint.clone().ok_or_else(not_read)?;
    let dockerfile = c.rewritten.clone().ok_or_else(not_read)?;
    let manifest = plan
        .release
        .component(&c.name)
        .ok_or_else(|| Error::new(ErrorKind::Internal, "planned component not in release"))?;
    let context = match &c.source {
        PlannedSource::Path { path, .. } => Context::Dir(plan.release.dir.join(path).join(&manifest.context)),
        PlannedSource::Commit { url, commit, .. } => {
            Context::Git { url: url.clone(), commit: commit.clone(), context: manifest.context.clone() }
        }
        PlannedSource::Unreadable { .. } => return Err(not_read()),
    };
    Ok(Job {
        labels: source_labels(&c.source, &fingerprint),
        component: c.name.clone(),
        fingerprint,
        image: c.image.clone(),
        dockerfile,
        build_args: c.build_args.clone(),
        context,
        log: logs.join(format!("{}.log", c.name)),
    })
}

/// Builds (or reuses) one component.
async fn build_one(
    job: Job,
    engine: Engine,
    state: Arc<StateStore>,
    sources: SourceOptions,
    options: (bool, bool),
    events: EventSink,
) -> Result<Built> {
    let (force, push) = options;
    if !force && let Some(record) = state.lookup(LOCAL, &job.fingerprint)? {
        if engine.image_id(&record.image_id).await?.is_some() {
            // Same inputs as an image we still have: retag it under this release's name.
            engine.tag(&record.image_id, &job.image).await?;
            // Push again even when it was pushed before: the registry may have lost it, and a
            // push of blobs it already holds costs one round trip each.
            let digest = if push {
                let digest = engine.push(&job.image).await?;
                state.record_build(&BuildRecord { digest: Some(digest.clone()), ..record })?;
                digest
            } else {
                record.digest.clone().unwrap_or_else(|| record.image_id.clone())
            };
            return Ok(Built { image: job.image, digest, reused: true });
        }
        state.forget(LOCAL, &job.fingerprint)?;
    }
    let temp = tempdir_for(&job)?;
    let context_dir = match &job.context {
        Context::Dir(dir) => dir.clone(),
        Context::Git { url, commit, context } => {
            let snapshot = SourceSnapshot {
                origin: Origin::Git { url: url.clone(), reference: commit.clone(), commit: commit.clone() },
                dockerfile: String::new(),
                dockerfile_path: PathBuf::new(),
                content: String::new(),
            };
            let dest = temp.join("context");
            export_context(&snapshot, context, &sources, &dest).await?;
            dest
        }
    };
    if let Some(parent) = job.log.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, "create the log folder", e))?;
    }
    let mut log_file =
        std::fs::File::create(&job.log).map_err(|e| Error::io(&job.log, "create the build log", e))?;
    let request = BuildRequest {
        context_dir,
        dockerfile: job.dockerfile.clone(),
        tag: job.image.clone(),
        build_args: job.build_args.clone(),
        labels: job.labels.clone(),
        platform: None,
        no_cache: force,
    };
    let component = job.component.clone();
    let mut log = |line: &str| {
        use std::io::Write;
        let _ = writeln!(log_file, "{line}");
        events.emit(&component, EventKind::Log { line: line.to_owned() });
    };
    let built = engine.build(&request, &mut log).await;
    let _ = std::fs::remove_dir_all(&temp);
    let image_id = built.map_err(|e| {
        let log = format!("the full log is {}", job.log.display());
        let help = e.help().map_or(log.clone(), |h| format!("{h}\n{log}"));
        e.with_help(help)
    })?;
    let digest = if push { Some(engine.push(&job.image).await?) } else { None };
    state.record_build(&BuildRecord {
        backend: LOCAL.to_owned(),
        fingerprint: job.fingerprint.clone(),
        component: job.component.clone(),
        image: job.image.clone(),
        image_id: image_id.clone(),
        digest: digest.clone(),
        built_at: jiff::Timestamp::now(),
        log: Some(job.log.clone()),
    })?;
    Ok(Built { image: job.image, digest: digest.unwrap_or(image_id), reused: false })
}

fn tempdir_for(job: &Job) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("okd-build-{}-{}", std::process::id(), job.component));
    if matches!(job.context, Context::Git { .. }) {
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, "create", e))?;
    }
    Ok(dir)
}

#[async_trait]
impl BuildBackend for LocalBackend {
    fn info(&self) -> BackendInfo {
        local_info()
    }

    async fn plan(&self, plan: Arc<Plan>, _options: &BackendPlanOptions) -> Result<BackendPlan> {
        let artifacts = rewritten_dockerfiles(&plan);
        Ok(BackendPlan { backend: LOCAL, core: plan, artifacts })
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
        let run = run_id(plan, options);
        let core = &plan.core;
        let selected = selected_components(core, options)?;
        let logs = self.state_dir.join("logs").join(&run.0);
        let jobs: HashMap<usize, Job> =
            selected.iter().map(|c| Ok((c.index, job(core, c, &logs)?))).collect::<Result<_>>()?;
        let engine = self.engine().await?.clone();
        let names: Vec<String> = selected.iter().map(|c| c.name.clone()).collect();
        self.state.start_run(&run, LOCAL, &names)?;
        let cancel = CancellationToken::new();
        self.running.lock().unwrap_or_else(|p| p.into_inner()).insert(run.clone(), cancel.clone());
        let started = jiff::Timestamp::now();
        let indices: Vec<usize> = selected.iter().map(|c| c.index).collect();
        let jobs_n = if options.jobs == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            options.jobs
        };
        let (state, sources) = (self.state.clone(), self.source_options());
        let priority = build_priority(&core.graph, &self.state.last_build_times(LOCAL)?);
        // `okd cancel` from another process cannot reach this token; it leaves a request in the
        // state database, which this poll turns into a cancel.
        let poll = {
            let (state, run, cancel) = (self.state.clone(), run.clone(), cancel.clone());
            tokio::spawn(async move {
                while !cancel.is_cancelled() {
                    tokio::time::sleep(CANCEL_POLL).await;
                    if state.cancel_requested(&run).unwrap_or(false) {
                        cancel.cancel();
                    }
                }
            })
        };
        let results = schedule::run_by_priority(
            &core.graph,
            Some(&indices),
            jobs_n,
            &priority,
            cancel.clone(),
            events.clone(),
            |i| {
                let job = jobs[&i].clone();
                let (engine, state, sources, events) =
                    (engine.clone(), state.clone(), sources.clone(), events.clone());
                let flags = (options.force, options.push);
                build_one(job, engine, state, sources, flags, events)
            },
        )
        .await;
        poll.abort();
        for r in &results {
            self.state.record_result(&run, r)?;
        }
        let final_state = if cancel.is_cancelled() { RunState::Cancelled } else { RunState::Finished };
        self.state.finish_run(&run, final_state)?;
        self.running.lock().unwrap_or_else(|p| p.into_inner()).remove(&run);
        Ok(RunReport {
            run,
            backend: LOCAL.to_owned(),
            started,
            finished: jiff::Timestamp::now(),
            components: results,
        })
    }

    async fn status(&self, run: &RunId) -> Result<RunStatus> {
        self.state.run_status(run)?.ok_or_else(|| {
            Error::new(ErrorKind::NotFound, format!("no run {run} in {}", self.state_dir.display()))
        })
    }

    async fn cancel(&self, run: &RunId) -> Result<()> {
        let token = self.running.lock().unwrap_or_else(|p| p.into_inner()).get(run).cloned();
        if let Some(token) = token {
            token.cancel();
            return Ok(());
        }
        let pid = match self.state.request_cancel(run)? {
            // Finished or cancelled already: nothing runs, which is what cancel promises.
            CancelRequest::NotRunning => return Ok(()),
            CancelRequest::Running { pid } => pid,
        };
        if pid.is_some_and(|pid| !process_alive(pid)) {
            // Its process died (killed, crashed); nothing of it runs any more.
            return self.state.finish_run(run, RunState::Cancelled);
        }
        let deadline = tokio::time::Instant::now() + CANCEL_WAIT;
        while tokio::time::Instant::now() < deadline {
            if self.state.run_status(run)?.is_some_and(|s| s.state != RunState::Running) {
                return Ok(());
            }
            tokio::time::sleep(CANCEL_POLL).await;
        }
        Err(Error::new(
            ErrorKind::Timeout,
            format!(
                "run {run} (process {}) did not stop within {}s of the cancel request",
                pid.map_or("unknown".into(), |p| p.to_string()),
                CANCEL_WAIT.as_secs()
            ),
        )
        .with_help(
            "a running RUN step finishes before Podman stops the build; try again, or stop the process",
        ))
    }
}

/// Longest-remaining-work priorities from each component's last build time, so the chain that
/// decides the makespan starts first; components never built count as the median of the others.
/// Empty (first come, first served) when nothing was built before, because counting builds
/// instead of timing them was measured to be worse than first come (BENCHMARKS.md).
fn build_priority(
    graph: &okd_core::graph::BuildGraph,
    times: &HashMap<String, std::time::Duration>,
) -> Vec<u64> {
    let millis =
        |i: usize| times.get(graph.name(i)).map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let mut known: Vec<u64> = (0..graph.len()).filter_map(millis).collect();
    if known.is_empty() {
        return Vec::new();
    }
    known.sort_unstable();
    let median = known[known.len() / 2];
    graph.remaining_work(|i| millis(i).unwrap_or(median))
}

/// How often a run checks for a cancel from another process, and a cancel for the run's end.
const CANCEL_POLL: std::time::Duration = std::time::Duration::from_millis(250);
/// How long a cancel from another process waits for the run to stop.
const CANCEL_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Whether process `pid` exists. Where /proc is missing (not Linux) it is assumed alive, so the
/// cancel waits for the run instead of declaring it dead.
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.exists() || proc.join(pid.to_string()).exists()
}
