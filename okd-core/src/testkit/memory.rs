//! An in-memory backend. Its "remote system" ([`MemoryRemote`]) is a shared object that builds
//! run on timers, so a second [`MemoryBackend`] over the same remote behaves like a restarted
//! client, and the harness can script durations, failures and transient errors.

use std::{
    collections::{HashMap, HashSet},
    path::Path,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use async_trait::async_trait;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::{
    Error, ErrorKind, Result,
    backend::{
        BackendInfo, BackendPlan, BackendPlanOptions, BuildBackend, BuildOptions, Capabilities, EventSink,
        Maturity, RenderSummary, RunId, RunReport, RunState, RunStatus, TriggerModel, rewritten_dockerfiles,
        run_id, write_artifacts,
    },
    plan::Plan,
    retry::{Backoff, retry},
    schedule::{self, Built},
};

/// The backend's registry name.
pub const MEMORY: &str = "memory";

#[derive(Debug, Clone, PartialEq, Eq)]
enum BuildState {
    Running,
    Succeeded(String),
    Failed(String),
    Cancelled,
}

#[derive(Debug, Default)]
struct State {
    /// Remote build objects by deterministic name (`<component>-<fingerprint prefix>`).
    builds: HashMap<String, (String, BuildState)>,
    runs: HashMap<RunId, (RunState, Vec<crate::backend::ComponentResult>)>,
    cancels: HashMap<RunId, CancellationToken>,
    fail: HashSet<String>,
    durations: HashMap<String, Duration>,
    transient: usize,
}

/// The simulated remote system.
#[derive(Debug)]
pub struct MemoryRemote {
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    default_duration: Duration,
}

impl MemoryRemote {
    /// A remote whose builds take `default_duration` unless scripted otherwise.
    pub fn new(default_duration: Duration) -> Arc<Self> {
        Arc::new(MemoryRemote { state: Mutex::default(), changed: watch::channel(0).0, default_duration })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn notify(&self) {
        self.changed.send_modify(|n| *n += 1);
    }

    /// Makes `component`'s builds fail.
    pub fn fail(&self, component: &str) {
        self.lock().fail.insert(component.to_owned());
    }

    /// Makes `component`'s builds take `d`.
    pub fn set_duration(&self, component: &str, d: Duration) {
        self.lock().durations.insert(component.to_owned(), d);
    }

    /// Makes the next `n` remote calls fail with a retryable error (as a 503 or 429 would).
    pub fn inject_transient(&self, n: usize) {
        self.lock().transient += n;
    }

    /// Remote build objects created.
    pub fn builds(&self) -> usize {
        self.lock().builds.len()
    }

    /// Remote builds still running.
    pub fn running(&self) -> usize {
        self.lock().builds.values().filter(|(_, s)| *s == BuildState::Running).count()
    }

    /// Every remote call goes through here first: it may fail transiently, like a real API.
    fn call(&self) -> Result<()> {
        let mut state = self.lock();
        if state.transient > 0 {
            state.transient -= 1;
            return Err(Error::new(ErrorKind::Unavailable, "503 Service Unavailable (injected)")
                .with_retry_after(Duration::from_millis(5)));
        }
        Ok(())
    }

    /// Creates the build object `name` unless it exists (resubmission finds it), and starts it.
    fn submit(self: &Arc<Self>, name: &str, component: &str) -> Result<()> {
        self.call()?;
        let mut state = self.lock();
        if let Some((_, s)) = state.builds.get(name)
            && !matches!(s, BuildState::Cancelled | BuildState::Failed(_))
        {
            return Ok(());
        }
        state.builds.insert(name.to_owned(), (component.to_owned(), BuildState::Running));
        let duration = state.durations.get(component).copied().unwrap_or(self.default_duration);
        let fails = state.fail.contains(component);
        drop(state);
        let (remote, name, component) = (self.clone(), name.to_owned(), component.to_owned());
        tokio::spawn(async move {
            tokio::time::sleep(duration).await;
            let mut state = remote.lock();
            if let Some((_, s)) = state.builds.get_mut(&name)
                && *s == BuildState::Running
            {
                *s = if fails {
                    BuildState::Failed(format!("{component}: step RUN make failed: exit status 2"))
                } else {
                    BuildState::Succeeded(digest(&name))
                };
            }
            drop(state);
            remote.notify();
        });
        Ok(())
    }

    fn get(&self, name: &str) -> Result<BuildState> {
        self.call()?;
        self.lock()
            .builds
            .get(name)
            .map(|(_, s)| s.clone())
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("build {name} not found")))
    }
}

fn digest(name: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256:{}", hex::encode(Sha256::digest(name.as_bytes())))
}

/// A backend over a [`MemoryRemote`].
#[derive(Debug, Clone)]
pub struct MemoryBackend {
    remote: Arc<MemoryRemote>,
    backoff: Backoff,
}

impl MemoryBackend {
    /// A client of `remote`.
    pub fn new(remote: Arc<MemoryRemote>) -> Self {
        MemoryBackend { remote, backoff: Backoff::fast() }
    }

    /// What the in-memory backend is.
    pub fn describe() -> BackendInfo {
        BackendInfo {
            name: MEMORY,
            summary: "in-memory builds on timers, for tests",
            maturity: Maturity::Working,
            capabilities: Capabilities {
                source_of_truth: "the release manifest",
                config_location: "memory",
                configs_touched_per_repo: 0,
                trigger_model: TriggerModel::OnDemand,
                from_replacement: "none needed: nothing is built",
                developer_feedback: "events",
                multi_arch: true,
                local_reproduction: true,
                only_if_changed: true,
                cancel: true,
                status_after_restart: true,
                kubernetes: false,
            },
        }
    }

    /// Waits until build `name` leaves Running, or the run is cancelled.
    async fn wait(&self, name: &str, cancel: &CancellationToken) -> Result<BuildState> {
        let mut changed = self.remote.changed.subscribe();
        loop {
            let state = retry(&self.backoff, || async { self.remote.get(name) }).await?;
            if state != BuildState::Running {
                return Ok(state);
            }
            tokio::select! {
                _ = changed.changed() => {}
                () = cancel.cancelled() => return Ok(BuildState::Cancelled),
            }
        }
    }
}

#[async_trait]
impl BuildBackend for MemoryBackend {
    fn info(&self) -> BackendInfo {
        Self::describe()
    }

    async fn plan(&self, plan: Arc<Plan>, _options: &BackendPlanOptions) -> Result<BackendPlan> {
        let artifacts = rewritten_dockerfiles(&plan);
        Ok(BackendPlan { backend: MEMORY, core: plan, artifacts })
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
        let cancel = CancellationToken::new();
        let started = jiff::Timestamp::now();
        {
            let mut state = self.remote.lock();
            state.cancels.insert(run.clone(), cancel.clone());
            state.runs.insert(run.clone(), (RunState::Running, Vec::new()));
        }
        let core = &plan.core;
        let selected: Vec<usize> = core
            .components
            .iter()
            .filter(|c| options.only.is_empty() || options.only.contains(&c.name))
            .map(|c| c.index)
            .collect();
        let by_index: HashMap<usize, (String, String, String)> = core
            .components
            .iter()
            .map(|c| {
                let fp = c.fingerprint.as_deref().unwrap_or("sha256:unknown");
                let short = fp.trim_start_matches("sha256:").chars().take(12).collect::<String>();
                (c.index, (c.name.clone(), format!("{}-{short}", c.name), c.image.clone()))
            })
            .collect();
        let jobs = if options.jobs == 0 { 4 } else { options.jobs };
        let results = schedule::run(&core.graph, Some(&selected), jobs, cancel.clone(), events, |i| {
            let (component, name, image) = by_index[&i].clone();
            let (this, cancel) = (self.clone(), cancel.clone());
            async move {
                let existing = this.remote.lock().builds.get(&name).map(|(_, s)| s.clone());
                if let Some(BuildState::Succeeded(digest)) = existing {
                    return Ok(Built { image, digest, reused: true });
                }
                retry(&this.backoff, || async { this.remote.submit(&name, &component) }).await?;
                match this.wait(&name, &cancel).await? {
                    BuildState::Succeeded(digest) => Ok(Built { image, digest, reused: false }),
                    BuildState::Failed(reason) => Err(Error::new(ErrorKind::BuildFailed, reason)),
                    BuildState::Cancelled | BuildState::Running => {
                        Err(Error::new(ErrorKind::BuildFailed, "cancelled"))
                    }
                }
            }
        })
        .await;
        let state = if cancel.is_cancelled() { RunState::Cancelled } else { RunState::Finished };
        {
            let mut remote = self.remote.lock();
            remote.runs.insert(run.clone(), (state, results.clone()));
            remote.cancels.remove(&run);
        }
        Ok(RunReport {
            run,
            backend: MEMORY.to_owned(),
            started,
            finished: jiff::Timestamp::now(),
            components: results,
        })
    }

    async fn status(&self, run: &RunId) -> Result<RunStatus> {
        retry(&self.backoff, || async { self.remote.call() }).await?;
        let state = self.remote.lock();
        let (run_state, components) = state
            .runs
            .get(run)
            .cloned()
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("run {run} not found")))?;
        Ok(RunStatus { run: run.clone(), state: run_state, components })
    }

    async fn cancel(&self, run: &RunId) -> Result<()> {
        retry(&self.backoff, || async { self.remote.call() }).await?;
        let mut state = self.remote.lock();
        let token = state.cancels.get(run).cloned();
        if token.is_none() && !state.runs.contains_key(run) {
            return Err(Error::new(ErrorKind::NotFound, format!("run {run} not found")));
        }
        // Stop every remote build that is still running: nothing may keep running remotely.
        for (_, s) in state.builds.values_mut() {
            if *s == BuildState::Running {
                *s = BuildState::Cancelled;
            }
        }
        drop(state);
        self.remote.notify();
        if let Some(token) = token {
            token.cancel();
        }
        Ok(())
    }
}
