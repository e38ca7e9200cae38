//! The run driver: one run lifecycle for every backend.
//!
//! [`RunDriver`] owns everything about a run that is not a backend's own business: the run id,
//! `--only` selection, reuse by fingerprint, the schedule (parents first, bounded, longest
//! remaining work first), cancel (in this process and from another one), what the run store
//! records, and the report. A backend gives it two small things:
//! - a [`ComponentBuilder`] for one run: build one component (and say whether an earlier build
//!   can be taken as it is);
//! - its [`RemoteRuns`]: cancel the remote work of a run and describe a run from what the remote
//!   system holds, which any process can ask for.
//!
//! So the local engine, both Konflux strategies and the test fakes order, skip, reuse, record and
//! cancel the same way, and a new backend writes only what talks to its system.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use async_trait::async_trait;
use jiff::Timestamp;
use okd_core::{
    Error, ErrorKind, Result,
    backend::{
        BackendPlan, BuildOptions, ComponentResult, EventKind, EventSink, RunId, RunReport, RunState,
        RunStatus, selected_components,
    },
    graph::BuildGraph,
    plan::{Plan, PlannedComponent},
};
use tokio_util::sync::CancellationToken;

use crate::{
    StoreHandle,
    schedule::{self, Built},
    store::{BuildRecord, CancelRequest, RunStart, RunStore},
};

/// How often a run checks for a cancel from another process, and a cancel for the run's end.
const CANCEL_POLL: Duration = Duration::from_millis(250);
/// How long a cancel from another process waits for the run to stop.
const CANCEL_WAIT: Duration = Duration::from_secs(60);

/// What one run's component builds share: handed to every [`ComponentBuilder`] call.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The run.
    pub run: RunId,
    /// The backend's name.
    pub backend: &'static str,
    /// The plan being built.
    pub plan: Arc<Plan>,
    /// Where events go; builders send `log` lines here.
    pub events: EventSink,
    /// `--force`: rebuild even what could be reused.
    pub force: bool,
    /// `--push`: push images to the release's registry.
    pub push: bool,
    /// The run store.
    pub store: Arc<dyn RunStore>,
    /// Cancelled when the run is.
    pub cancel: CancellationToken,
    /// This run's log folder (`<state>/logs/<run>`); created by builders that keep logs.
    pub logs: PathBuf,
}

impl RunContext {
    /// Sends one log line for `component`.
    pub fn log(&self, component: &str, line: impl Into<String>) {
        self.events.emit(component, EventKind::Log { line: line.into() });
    }
}

/// Building the components of one run: what a backend does itself.
#[async_trait]
pub trait ComponentBuilder: Send + Sync {
    /// Checks and sets up what the whole run needs before anything is recorded or built
    /// (unreadable sources, cluster objects, connections). An error here fails the run as input
    /// or availability, with nothing started.
    async fn prepare(&self, run: &RunContext, selected: &[&PlannedComponent]) -> Result<()>;

    /// `record` is an earlier build with the component's fingerprint. Returns it as this run's
    /// result when it can be taken (retagged, pushed, still in the registry), `None` when it is
    /// gone and the component must be built (the driver then forgets the record).
    async fn reuse(
        &self,
        run: &RunContext,
        component: &PlannedComponent,
        record: &BuildRecord,
    ) -> Result<Option<Built>>;

    /// Builds `component`, whose parents have succeeded, to the end.
    async fn build(&self, run: &RunContext, component: &PlannedComponent) -> Result<Built>;

    /// Components that one remote job builds together (a Prow job builds every image of a
    /// repository's config), by name. The driver then starts a group only when every parent
    /// of every member outside the group is done, so the job sees all of them; a group member
    /// whose outside parent failed is skipped with the rest of the group. Default: none.
    fn built_together(&self, _plan: &Plan) -> Vec<Vec<String>> {
        Vec::new()
    }
}

/// The remote side of a backend's runs, which any process can reach.
#[async_trait]
pub trait RemoteRuns: Send + Sync {
    /// Stops the remote work of `run` that is still going; returns how many remote objects it
    /// stopped or found stopped. Backends whose work lives in the process that runs it return 0.
    async fn cancel_remote(&self, run: &RunId) -> Result<usize>;

    /// Describes `run` from the remote system alone, for a run this machine's store does not
    /// know (started elsewhere); `None` when the remote system does not know it either.
    async fn describe_remote(&self, run: &RunId) -> Result<Option<RunStatus>>;
}

/// A backend whose work lives in the process that runs it: nothing remote to cancel or describe.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRemote;

#[async_trait]
impl RemoteRuns for NoRemote {
    async fn cancel_remote(&self, _run: &RunId) -> Result<usize> {
        Ok(0)
    }
    async fn describe_remote(&self, _run: &RunId) -> Result<Option<RunStatus>> {
        Ok(None)
    }
}

/// Runs, reports, cancels and describes one backend's runs.
#[derive(Debug)]
pub struct RunDriver {
    backend: &'static str,
    store: StoreHandle,
    logs: PathBuf,
    default_jobs: usize,
    /// Runs in progress in this process, so `cancel` reaches them at once.
    running: Mutex<HashMap<RunId, CancellationToken>>,
    /// The backend's API requests; recorded per run only when `counts_requests`.
    requests: RequestCounter,
    counts_requests: bool,
}

/// Counts a backend's API requests; clones share the count. A run records how many it made.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(Arc<std::sync::atomic::AtomicU64>);

impl RequestCounter {
    /// Counts one request.
    pub fn add(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Requests so far.
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl RunDriver {
    /// A driver for `backend`'s runs, recorded in `store`, with logs under `logs/<run>`.
    pub fn new(backend: &'static str, store: StoreHandle, logs: PathBuf) -> Self {
        RunDriver {
            backend,
            store,
            logs,
            default_jobs: 4,
            running: Mutex::default(),
            requests: RequestCounter::default(),
            counts_requests: false,
        }
    }

    /// Records each run's API requests, as counted by the returned driver's
    /// [`request_counter`](Self::request_counter) (which the backend's client must feed).
    pub fn counting_requests(mut self) -> Self {
        self.counts_requests = true;
        self
    }

    /// The counter the backend's API client feeds.
    pub fn request_counter(&self) -> &RequestCounter {
        &self.requests
    }

    /// Builds at once when `--jobs` is not given.
    pub fn with_default_jobs(mut self, jobs: usize) -> Self {
        self.default_jobs = jobs.max(1);
        self
    }

    /// The backend's name.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// The run store (opened on first use).
    pub fn store(&self) -> Result<Arc<dyn RunStore>> {
        self.store.get()
    }

    fn running(&self) -> MutexGuard<'_, HashMap<RunId, CancellationToken>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `plan`: selects, prepares, records, schedules `builder` over the graph, and reports.
    /// The first event is `run_started` with the run id.
    pub async fn run(
        &self,
        plan: &BackendPlan,
        options: &BuildOptions,
        events: EventSink,
        builder: Arc<dyn ComponentBuilder>,
        remote: &dyn RemoteRuns,
    ) -> Result<RunReport> {
        let core = plan.core.clone();
        let requests_before = self.counts_requests.then(|| self.requests.get());
        let selected = selected_components(&core, options)?;
        let run = run_id(&core, self.backend, &selected);
        let store = self.store.get()?;
        let ctx = RunContext {
            run: run.clone(),
            backend: self.backend,
            plan: core.clone(),
            events: events.clone(),
            force: options.force,
            push: options.push,
            store: store.clone(),
            cancel: CancellationToken::new(),
            logs: self.logs.join(&run.0),
        };
        builder.prepare(&ctx, &selected).await?;
        let components: Vec<(String, Option<String>)> =
            selected.iter().map(|c| (c.name.clone(), c.fingerprint.clone())).collect();
        let release = &core.release;
        let version = release.version.to_string();
        store.start_run(&RunStart {
            run: &run,
            backend: self.backend,
            release: &release.name,
            version: &version,
            components: &components,
        })?;
        events.emit("", EventKind::RunStarted { run: run.clone() });
        self.running().insert(run.clone(), ctx.cancel.clone());
        let poll = spawn_cancel_poll(store.clone(), run.clone(), ctx.cancel.clone());
        let started = Timestamp::now();
        let indices: Vec<usize> = selected.iter().map(|c| c.index).collect();
        let jobs = if options.jobs == 0 { self.default_jobs } else { options.jobs };
        let graph = grouped_graph(&core.graph, &builder.built_together(&core))?;
        let priority = priority(&graph, &store.last_build_times(self.backend)?);
        let ctx = Arc::new(ctx);
        let results = schedule::run_by_priority(
            &graph,
            Some(&indices),
            jobs,
            &priority,
            ctx.cancel.clone(),
            events,
            |i| build_one(ctx.clone(), builder.clone(), i),
        )
        .await;
        poll.abort();
        let cancelled = ctx.cancel.is_cancelled();
        if cancelled {
            // A remote create may have landed while its task was aborted: sweep what is left.
            if let Err(e) = remote.cancel_remote(&run).await {
                tracing::warn!(error = %e, %run, "cancelling the run's remote work failed");
            }
        }
        let fingerprints: HashMap<&str, &Option<String>> =
            components.iter().map(|(n, f)| (n.as_str(), f)).collect();
        let mut report_components = Vec::with_capacity(results.len());
        for mut result in results {
            result.fingerprint = fingerprints.get(result.name.as_str()).and_then(|f| (*f).clone());
            store.record_result(&run, &result)?;
            report_components.push(result);
        }
        // Concurrent runs of one backend in one process would share the count; okd runs one.
        let api_requests = requests_before.map(|before| self.requests.get().saturating_sub(before));
        if let Some(n) = api_requests {
            store.record_api_requests(&run, n)?;
        }
        store.finish_run(&run, if cancelled { RunState::Cancelled } else { RunState::Finished })?;
        self.running().remove(&run);
        Ok(RunReport {
            run,
            backend: self.backend.to_owned(),
            started,
            finished: Timestamp::now(),
            components: report_components,
            logs: ctx.logs.is_dir().then(|| ctx.logs.clone()),
            api_requests,
        })
    }

    /// Where `run` is: from the store, else from what the remote system still holds.
    pub async fn status(&self, run: &RunId, remote: &dyn RemoteRuns) -> Result<RunStatus> {
        let store = self.store.get()?;
        if let Some(status) = store.run_status(run)? {
            return Ok(status);
        }
        if let Some(status) = remote.describe_remote(run).await? {
            return Ok(status);
        }
        Err(Error::new(ErrorKind::NotFound, format!("no {} run {run} in {}", self.backend, store.location()))
            .with_help(format!("`okd runs --backend {}` lists the recorded runs", self.backend)))
    }

    /// Stops `run` wherever it runs: in this process at once; in another one through a request in
    /// the store that its driver polls, waiting for it to stop; remote work through `remote`.
    pub async fn cancel(&self, run: &RunId, remote: &dyn RemoteRuns) -> Result<()> {
        let token = self.running().get(run).cloned();
        if let Some(token) = token {
            token.cancel();
            return Ok(());
        }
        let store = self.store.get()?;
        let pid = match store.request_cancel(run) {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                // Started on another machine: the remote system is all there is.
                return match remote.cancel_remote(run).await? {
                    0 => Err(Error::new(
                        ErrorKind::NotFound,
                        format!("no {} run {run} in {} or remotely", self.backend, store.location()),
                    )
                    .with_help(format!("`okd runs --backend {}` lists the recorded runs", self.backend))),
                    _ => Ok(()),
                };
            }
            Err(e) => return Err(e),
            // Ended already: nothing of it runs, which is what cancel promises. Remote leftovers
            // (a create that landed after the end) are swept all the same.
            Ok(CancelRequest::NotRunning) => {
                remote.cancel_remote(run).await?;
                return Ok(());
            }
            Ok(CancelRequest::Running { pid }) => pid,
        };
        remote.cancel_remote(run).await?;
        if pid.is_some_and(|pid| !process_alive(pid)) {
            // Its process died (killed, crashed); nothing of it runs any more.
            return store.finish_run(run, RunState::Cancelled);
        }
        let deadline = tokio::time::Instant::now() + CANCEL_WAIT;
        while tokio::time::Instant::now() < deadline {
            if store.run_status(run)?.is_some_and(|s| s.state != RunState::Running) {
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
        .with_help("a build step that is running may finish first; try again, or stop that process"))
    }
}

/// Reuses or builds node `i`, records a new build in the store, and says `started` only when a
/// build really starts.
async fn build_one(ctx: Arc<RunContext>, builder: Arc<dyn ComponentBuilder>, i: usize) -> Result<Built> {
    let name = ctx.plan.graph.name(i).to_owned();
    let component = ctx
        .plan
        .component(&name)
        .ok_or_else(|| Error::new(ErrorKind::Internal, format!("component '{name}' is not planned")))?;
    let store = &ctx.store;
    if !ctx.force
        && let Some(fingerprint) = &component.fingerprint
        && let Some(record) = store.lookup(ctx.backend, fingerprint)?
    {
        match builder.reuse(&ctx, component, &record).await? {
            Some(built) => {
                if Some(&built.digest) != record.digest.as_ref() && built.digest != record.build_ref {
                    store.record_build(&BuildRecord { digest: Some(built.digest.clone()), ..record })?;
                }
                return Ok(built.reused());
            }
            None => store.forget(ctx.backend, fingerprint)?,
        }
    }
    ctx.events.emit(&name, EventKind::Started);
    let built = builder.build(&ctx, component).await?;
    if let Some(fingerprint) = &component.fingerprint {
        let build_ref = built.build_ref.clone().unwrap_or_else(|| built.digest.clone());
        // A digest equal to the build's own reference (an unpushed local image's ID) is no
        // registry digest: it is not recorded as one.
        let digest = (built.digest != build_ref).then(|| built.digest.clone());
        store.record_build(&BuildRecord {
            backend: ctx.backend.to_owned(),
            fingerprint: fingerprint.clone(),
            component: name,
            image: built.image.clone(),
            build_ref,
            digest,
            built_at: Timestamp::now(),
            log: built.log.clone(),
        })?;
    }
    Ok(built)
}

/// `graph` with every member of a group depending on every parent of the group from outside
/// it. A cycle between groups (repository A builds on B and B on A) is an input error: no
/// order of whole-group jobs satisfies it.
pub fn grouped_graph(graph: &BuildGraph, groups: &[Vec<String>]) -> Result<BuildGraph> {
    let names: Vec<String> = (0..graph.len()).map(|i| graph.name(i).to_owned()).collect();
    let mut edges: Vec<(usize, usize)> =
        (0..graph.len()).flat_map(|c| graph.parents(c).iter().map(move |&p| (p, c))).collect();
    if groups.iter().all(|g| g.len() < 2) {
        return Ok(graph.clone());
    }
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    for group in groups {
        let members: Vec<usize> = group.iter().filter_map(|n| index.get(n.as_str()).copied()).collect();
        let outside: Vec<usize> = members
            .iter()
            .flat_map(|&m| graph.parents(m).iter().copied())
            .filter(|p| !members.contains(p))
            .collect();
        edges.extend(members.iter().flat_map(|&m| outside.iter().map(move |&p| (p, m))));
    }
    BuildGraph::new(names, edges).map_err(|e| {
        Error::invalid(format!("components built together by one job depend on each other across jobs: {}", e.message()))
            .with_help("one remote job builds a whole group (a Prow job builds a repository's images); split the repository's images into configs of their own, or build with another backend")
    })
}

/// Turns a cancel request that another process left in the store into a cancel of this run.
fn spawn_cancel_poll(
    store: Arc<dyn RunStore>,
    run: RunId,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while !cancel.is_cancelled() {
            tokio::time::sleep(CANCEL_POLL).await;
            if store.cancel_requested(&run).unwrap_or(false) {
                cancel.cancel();
            }
        }
    })
}

/// The run id of building `selected` of `plan` on `backend`: the release, the backend and a hash
/// of the names and fingerprints built. Deterministic, so a resubmission of the same plan is the
/// same run (a crashed run resumes; remote objects are found, not created again). Only the
/// driver computes it; everyone else learns it from the `run_started` event, the report or the
/// store.
pub fn run_id(plan: &Plan, backend: &str, selected: &[&PlannedComponent]) -> RunId {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for c in selected {
        h.update(c.name.as_bytes());
        h.update([0]);
        h.update(c.fingerprint.as_deref().unwrap_or("-").as_bytes());
        h.update([0]);
    }
    RunId(format!("{}-{backend}-{}", plan.release.name, &hex::encode(h.finalize())[..12]))
}

/// Longest-remaining-work priorities from each component's last build time, so the chain that
/// decides the makespan starts first; components never built count as the median of the others.
/// Empty (first come, first served) when nothing was built before, because counting builds
/// instead of timing them was measured to be worse than first come (BENCHMARKS.md).
pub fn priority(graph: &BuildGraph, times: &HashMap<String, Duration>) -> Vec<u64> {
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

/// Whether process `pid` exists. Where /proc is missing (not Linux) it is assumed alive, so the
/// cancel waits for the run instead of declaring it dead.
fn process_alive(pid: u32) -> bool {
    let proc = std::path::Path::new("/proc");
    !proc.exists() || proc.join(pid.to_string()).exists()
}

/// The run results that make a component's image current: a run result with the component's
/// present fingerprint, else the store's build record for that fingerprint. What `okd payload
/// assemble` reads, so a release built in parts (`--only`) still assembles.
pub fn current_results(
    plan: &Plan,
    backend: &str,
    run: Option<&RunStatus>,
    store: &dyn RunStore,
) -> Result<Vec<ComponentResult>> {
    use okd_core::backend::Outcome;
    let mut out = Vec::new();
    for c in &plan.components {
        let Some(fingerprint) = &c.fingerprint else { continue };
        let from_run = run.and_then(|r| {
            r.components.iter().find(|r| {
                r.name == c.name
                    && matches!(r.outcome, Outcome::Succeeded | Outcome::Reused)
                    && r.fingerprint.as_ref().is_none_or(|f| f == fingerprint)
                    && r.digest.is_some()
            })
        });
        if let Some(result) = from_run {
            out.push(result.clone());
            continue;
        }
        if let Some(record) = store.lookup(backend, fingerprint)? {
            out.push(ComponentResult {
                name: c.name.clone(),
                outcome: Outcome::Reused,
                image: Some(record.image),
                digest: Some(record.digest.unwrap_or(record.build_ref)),
                reason: None,
                started: None,
                finished: Some(record.built_at),
                fingerprint: Some(fingerprint.clone()),
                arches: Vec::new(),
            });
        }
    }
    Ok(out)
}
