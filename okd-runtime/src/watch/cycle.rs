//! One watch cycle: ask upstream what moved, plan, build through the backend (the run driver
//! reuses every component whose fingerprint was built before, so only what changed and its
//! dependents build), pass every event to a [`CycleListener`], and after a green run that built
//! something new push the payload. The outcome is recorded in the run store's watch state, so a
//! restarted watcher carries on where the last one stopped.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use jiff::Timestamp;
use okd_core::{
    Error, ErrorKind, Result,
    backend::{
        BackendPlan, BackendPlanOptions, BuildBackend, BuildEvent, BuildOptions, EventKind, EventSink,
        Outcome, RunId, RunReport,
    },
    manifest::{self, LoadOptions},
    plan::{self, Plan, PlanOptions},
    source::{SourceOptions, read_sources},
};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{
    lock::{LockKind, ReleaseLock},
    sources::{Moved, upstream_moves},
};
use crate::{
    payload::{PayloadRequest, assemble_run, default_target},
    store::{CycleResult, PushedPayload, RunStore, SqliteRunStore, WatchState},
};

/// Where a cycle's build events and report go besides the cycle's own summary: the one place
/// every event passes through, where the terminal view and feedback reporters (commit
/// statuses, the release issue) plug in.
#[async_trait]
pub trait CycleListener: Send {
    /// The backend planned this cycle's build: show its warnings. An error (`--strict`) ends
    /// the cycle before anything is built.
    fn planned(&mut self, _plan: &BackendPlan) -> Result<()> {
        Ok(())
    }

    /// One build event, in the order the backend sent them.
    async fn event(&mut self, plan: &Plan, event: &BuildEvent);

    /// The build ended (also when it failed or was cancelled).
    async fn finished(&mut self, plan: &Plan, report: &RunReport);
}

/// What every cycle of one watcher builds, and how.
#[derive(Debug, Clone)]
pub struct WatchSpec {
    /// The release manifest, read again every cycle.
    pub release_file: PathBuf,
    /// How to read it (`--variant`).
    pub load: LoadOptions,
    /// The source cache; `offline` means never ask a remote.
    pub sources: SourceOptions,
    /// `--strict`.
    pub strict: bool,
    /// The backend, by its registry name.
    pub backend_name: String,
    /// Each build's options (`push` is always on: the payload is assembled from pushed images).
    pub build: BuildOptions,
    /// Where and how the payload is pushed.
    pub payload: PayloadRequest,
    /// The state folder (locks).
    pub state_dir: PathBuf,
}

/// The payload a cycle pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pushed {
    /// The release image, by tag.
    pub image: String,
    /// Its digest.
    pub digest: String,
}

/// What one cycle did: the per-cycle line (table) or object (JSON).
#[derive(Debug, Serialize)]
pub struct CycleReport {
    /// The cycle's number among every cycle of this release and backend.
    pub cycle: u64,
    /// What started it: `start`, `interval`, `retry`, or `push OWNER/REPO REF`.
    pub trigger: String,
    /// When it started.
    pub started: Timestamp,
    /// When it ended.
    pub finished: Timestamp,
    /// How it ended.
    pub result: CycleResult,
    /// The run it built, once the backend started one.
    pub run: Option<RunId>,
    /// Git refs whose remote commit was not in the cache.
    pub moved: Vec<Moved>,
    /// Components whose fingerprint differs from the previous cycle's run; `None` when there is
    /// no previous run to compare with.
    pub changed: Option<Vec<String>>,
    /// Components built (not reused) this cycle.
    pub built: Vec<String>,
    /// Components reused.
    pub reused: usize,
    /// Components that failed.
    pub failed: Vec<String>,
    /// Components skipped because a parent failed.
    pub skipped: usize,
    /// Components cancelled.
    pub cancelled: usize,
    /// The payload pushed this cycle; `None` when none was due or the run was not green.
    pub payload: Option<Pushed>,
    /// Why the cycle could not run to the end, for `error`.
    #[serde(rename = "error", serialize_with = "error_message")]
    pub error: Option<Error>,
    /// Consecutive cycles that were not green, this one included.
    pub failures: u32,
    /// The run's build logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs: Option<PathBuf>,
    /// When the next cycle runs; set by the caller, `None` for the last one.
    pub next: Option<Timestamp>,
}

fn error_message<S: serde::Serializer>(error: &Option<Error>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match error {
        Some(e) => s.serialize_some(e.message()),
        None => s.serialize_none(),
    }
}

/// Runs the cycles of one release on one backend.
#[derive(Debug)]
pub struct Watcher {
    spec: WatchSpec,
    backend: Arc<dyn BuildBackend>,
    store: Arc<SqliteRunStore>,
    /// The release's name: the locks and the watch state are named after it.
    release: String,
    /// Its version, as the manifest last said it: the watch state is per version.
    version: Mutex<String>,
}

impl Watcher {
    /// A watcher of `spec` through `backend`, recording in `store`, for `release` (as the
    /// manifest says when the watcher starts: the name stays, the version may change).
    pub fn new(
        spec: WatchSpec,
        backend: Arc<dyn BuildBackend>,
        store: Arc<SqliteRunStore>,
        release: &okd_core::manifest::Release,
    ) -> Self {
        let version = Mutex::new(release.version.to_string());
        Watcher { spec, backend, store, release: release.name.clone(), version }
    }

    /// The watch state of `version`, or a fresh one.
    fn state(&self, version: &str) -> Result<WatchState> {
        Ok(self
            .store
            .watch_state(&self.release, version, &self.spec.backend_name)?
            .unwrap_or_else(|| WatchState::new(&self.release, version, &self.spec.backend_name)))
    }

    /// Runs one cycle, started by `trigger`; `cancel` stops it (the running build is cancelled
    /// through the backend). Never fails: what went wrong is the report's `error`, and the watch
    /// state records it.
    pub async fn cycle(
        &self,
        trigger: &str,
        cancel: &CancellationToken,
        listener: &mut dyn CycleListener,
    ) -> CycleReport {
        let mut report = CycleReport {
            cycle: 0,
            trigger: trigger.to_owned(),
            started: Timestamp::now(),
            finished: Timestamp::now(),
            result: CycleResult::Error,
            run: None,
            moved: Vec::new(),
            changed: None,
            built: Vec::new(),
            reused: 0,
            failed: Vec::new(),
            skipped: 0,
            cancelled: 0,
            payload: None,
            error: None,
            failures: 0,
            logs: None,
            next: None,
        };
        let mut state = None;
        let outcome = self.run_cycle(&mut report, &mut state, cancel, listener).await;
        report.finished = Timestamp::now();
        if let Err(e) = outcome {
            report.result = if cancel.is_cancelled() { CycleResult::Cancelled } else { CycleResult::Error };
            report.error = (report.result == CycleResult::Error).then_some(e);
        }
        // A cycle that failed before it read the manifest counts against the version the
        // watch saw last.
        let state = match state {
            Some(state) => Ok(state),
            None => self.state(&self.version()),
        };
        let mut state = match state {
            Ok(state) => state,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the watch state; this cycle is not recorded");
                return report;
            }
        };
        state.cycles += 1;
        state.last_cycle = Some(report.finished);
        if report.run.is_some() {
            state.last_run = report.run.as_ref().map(|r| r.0.clone());
        }
        state.last_result = Some(report.result);
        state.last_error = report.error.as_ref().map(|e| e.message().to_owned());
        match report.result {
            CycleResult::Green => state.failures = 0,
            // Stopping is nobody's failure.
            CycleResult::Cancelled => {}
            CycleResult::Failed | CycleResult::Error => state.failures = state.failures.saturating_add(1),
        }
        if let Some(pushed) = &report.payload
            && let Some(run) = &report.run
        {
            state.payload = Some(PushedPayload {
                image: pushed.image.clone(),
                digest: pushed.digest.clone(),
                run: run.0.clone(),
                at: report.finished,
            });
        }
        report.cycle = state.cycles;
        report.failures = state.failures;
        if let Err(e) = self.store.record_watch(&state) {
            tracing::warn!(error = %e, "cannot record the watch state; the next cycle may repeat work");
        }
        report
    }

    /// The release's version as the manifest last said it.
    fn version(&self) -> String {
        self.version.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn run_cycle(
        &self,
        report: &mut CycleReport,
        state_slot: &mut Option<WatchState>,
        cancel: &CancellationToken,
        listener: &mut dyn CycleListener,
    ) -> Result<()> {
        let prepared = tokio::select! {
            prepared = self.prepare(report) => prepared?,
            () = cancel.cancelled() => return Err(cancelled()),
        };
        let (plan, backend_plan) = prepared;
        let version = plan.release.version.to_string();
        *self.version.lock().unwrap_or_else(|p| p.into_inner()) = version.clone();
        let state = self.state(&version)?;
        *state_slot = Some(state.clone());
        listener.planned(&backend_plan)?;
        report.changed = self.changed(&plan, &state);

        let _build_lock = ReleaseLock::acquire(
            &self.spec.state_dir,
            &self.release,
            &self.spec.backend_name,
            LockKind::Build,
        )?;
        let run = self.build(&plan, backend_plan, cancel, listener, report).await?;
        if cancel.is_cancelled() {
            report.result = CycleResult::Cancelled;
            return Ok(());
        }
        if !run.succeeded() {
            report.result = CycleResult::Failed;
            return Ok(());
        }
        let target = match &self.spec.payload.to {
            Some(to) => to.to_string(),
            None => default_target(&plan.release)?.to_string(),
        };
        let last = state.payload.as_ref();
        // A payload is due when this run built something, or when the last one pushed is not of
        // this run (a restart after a push failed, a build by `okd build`) or went elsewhere.
        let due = !report.built.is_empty() || last.is_none_or(|p| p.run != run.run.0 || p.image != target);
        if due {
            let status = self.store.run_status(&run.run)?;
            let assembled =
                assemble_run(&plan, &self.spec.backend_name, status, self.store.as_ref(), &self.spec.payload)
                    .await
                    .map_err(|e| e.context("the build is green but its payload was not pushed"))?;
            report.payload = Some(Pushed { image: assembled.image, digest: assembled.digest });
        }
        report.result = CycleResult::Green;
        Ok(())
    }

    /// Reads the manifest, asks upstream what moved, reads the sources (from the cache alone
    /// when nothing moved) and plans.
    async fn prepare(&self, report: &mut CycleReport) -> Result<(Arc<Plan>, BackendPlan)> {
        let release = manifest::load(&self.spec.release_file, &self.spec.load)?;
        if release.name != self.release {
            return Err(Error::invalid(format!(
                "the manifest now names release '{}', but this watcher watches '{}'",
                release.name, self.release
            ))
            .with_help("restart okd watch to watch the release under its new name"));
        }
        let mut sources = self.spec.sources.clone();
        if !sources.offline {
            report.moved = upstream_moves(&release, &sources).await?;
            sources.offline = report.moved.is_empty();
        }
        let read = read_sources(&release, &sources).await?;
        let plan = Arc::new(plan::plan(Arc::new(release), &read, &PlanOptions { strict: self.spec.strict })?);
        let backend_plan = self.backend.plan(plan.clone(), &BackendPlanOptions::default()).await?;
        Ok((plan, backend_plan))
    }

    /// Components whose fingerprint differs from the last cycle's run.
    fn changed(&self, plan: &Plan, state: &WatchState) -> Option<Vec<String>> {
        let last = state.last_run.as_ref()?;
        let status = self.store.run_status(&RunId(last.clone())).ok()??;
        let before: HashMap<&str, Option<&str>> =
            status.components.iter().map(|c| (c.name.as_str(), c.fingerprint.as_deref())).collect();
        Some(
            plan.components
                .iter()
                .filter(|c| before.get(c.name.as_str()).is_none_or(|f| *f != c.fingerprint.as_deref()))
                .map(|c| c.name.clone())
                .collect(),
        )
    }

    /// Builds through the backend, passing every event to `listener`; on `cancel` asks the
    /// backend to cancel the run and waits for it to end.
    async fn build(
        &self,
        plan: &Arc<Plan>,
        backend_plan: BackendPlan,
        cancel: &CancellationToken,
        listener: &mut dyn CycleListener,
        report: &mut CycleReport,
    ) -> Result<RunReport> {
        let mut options = self.spec.build.clone();
        options.push = true;
        let (sink, mut events) = EventSink::channel();
        let backend = self.backend.clone();
        let mut worker = tokio::spawn(async move { backend.build(&backend_plan, &options, sink).await });
        let mut cancel_sent = false;
        let finished = loop {
            tokio::select! {
                Some(event) = events.recv() => {
                    if let EventKind::RunStarted { run } = &event.kind {
                        report.run = Some(run.clone());
                    }
                    listener.event(plan, &event).await;
                }
                done = &mut worker => {
                    while let Ok(event) = events.try_recv() {
                        listener.event(plan, &event).await;
                    }
                    break done.map_err(|e| Error::new(ErrorKind::Internal, "the build task failed").with_source(e))?;
                }
                () = cancel.cancelled(), if !cancel_sent => {
                    cancel_sent = true;
                    match &report.run {
                        Some(run) => {
                            if let Err(e) = self.backend.cancel(run).await {
                                tracing::warn!(error = %e, %run, "cancelling the run failed");
                            }
                        }
                        // Still preparing: nothing is recorded or started yet.
                        None => {
                            worker.abort();
                            return Err(cancelled());
                        }
                    }
                }
            }
        };
        let run = finished?;
        listener.finished(plan, &run).await;
        report.run = Some(run.run.clone());
        report.logs = run.logs.clone();
        for c in &run.components {
            match c.outcome {
                Outcome::Succeeded => report.built.push(c.name.clone()),
                Outcome::Reused => report.reused += 1,
                Outcome::Failed => report.failed.push(c.name.clone()),
                Outcome::Skipped => report.skipped += 1,
                Outcome::Cancelled => report.cancelled += 1,
            }
        }
        Ok(run)
    }
}

fn cancelled() -> Error {
    Error::new(ErrorKind::Internal, "the cycle was stopped")
}
