//! An in-memory backend. Its "remote system" ([`MemoryRemote`]) is a shared object that builds
//! run on timers, with a run store in memory beside it, so a second [`MemoryBackend`] over the
//! same remote behaves like a restarted client, and the harness can script durations, failures
//! and transient errors. It runs through the same [`RunDriver`] as every real backend.

use std::{
    collections::{HashMap, HashSet},
    path::Path,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use async_trait::async_trait;
use okd_core::{
    Error, ErrorKind, Result,
    backend::{
        Approach, BackendInfo, BackendPlan, BackendPlanOptions, BuildBackend, BuildOptions, Capabilities,
        EventSink, Maturity, RenderSummary, RunId, RunReport, RunStatus, TriggerModel, rewritten_dockerfiles,
        write_artifacts,
    },
    plan::{Plan, PlannedComponent},
};
use okd_runtime::{
    Built, ComponentBuilder, RemoteRuns, RunContext, RunDriver, SqliteRunStore, StoreHandle,
    retry::{Backoff, retry},
    store::BuildRecord,
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

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
    /// The run store every client of this remote shares, as processes share a state folder.
    store: StoreHandle,
}

impl MemoryRemote {
    /// A remote whose builds take `default_duration` unless scripted otherwise.
    pub fn new(default_duration: Duration) -> Arc<Self> {
        let store = SqliteRunStore::in_memory().map(Arc::new).expect("an in-memory SQLite store opens");
        Arc::new(MemoryRemote {
            state: Mutex::default(),
            changed: watch::channel(0).0,
            default_duration,
            store: StoreHandle::from_store(store),
        })
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
#[derive(Debug)]
pub struct MemoryBackend {
    remote: Arc<MemoryRemote>,
    driver: RunDriver,
    backoff: Backoff,
}

impl MemoryBackend {
    /// A client of `remote`.
    pub fn new(remote: Arc<MemoryRemote>) -> Self {
        let logs = std::env::temp_dir().join("okd-memory-backend-logs");
        let driver = RunDriver::new(MEMORY, remote.store.clone(), logs).with_default_jobs(4);
        MemoryBackend { remote, driver, backoff: Backoff::fast() }
    }

    /// What the in-memory backend is.
    pub fn describe() -> BackendInfo {
        BackendInfo {
            name: MEMORY,
            summary: "in-memory builds on timers, for tests",
            maturity: Maturity::Working,
            capabilities: Capabilities::NONE
                .multi_arch(true)
                .local_reproduction(true)
                .only_if_changed(true)
                .cancel(true)
                .status_after_restart(true),
            approach: Approach {
                source_of_truth: "the release manifest",
                config_location: "memory",
                configs_touched_per_repo: 0,
                trigger_model: TriggerModel::OnDemand,
                from_replacement: "none needed: nothing is built",
                developer_feedback: "events",
            },
        }
    }

    fn builder(&self) -> MemoryBuilder {
        MemoryBuilder { remote: self.remote.clone(), backoff: self.backoff }
    }
}

/// One run's builds on the remote.
#[derive(Debug, Clone)]
struct MemoryBuilder {
    remote: Arc<MemoryRemote>,
    backoff: Backoff,
}

impl MemoryBuilder {
    /// The remote build object of `c`: `<component>-<fingerprint prefix>`.
    fn object_name(c: &PlannedComponent) -> String {
        let fp = c.fingerprint.as_deref().unwrap_or("sha256:unknown");
        let short = fp.trim_start_matches("sha256:").chars().take(12).collect::<String>();
        format!("{}-{short}", c.name)
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
impl ComponentBuilder for MemoryBuilder {
    async fn prepare(&self, _run: &RunContext, _selected: &[&PlannedComponent]) -> Result<()> {
        Ok(())
    }

    async fn reuse(
        &self,
        _run: &RunContext,
        c: &PlannedComponent,
        record: &BuildRecord,
    ) -> Result<Option<Built>> {
        let existing = self.remote.lock().builds.get(&Self::object_name(c)).map(|(_, s)| s.clone());
        Ok(match existing {
            Some(BuildState::Succeeded(digest)) => Some(Built::new(record.image.clone(), digest)),
            _ => None,
        })
    }

    async fn build(&self, run: &RunContext, c: &PlannedComponent) -> Result<Built> {
        let name = Self::object_name(c);
        retry(&self.backoff, || async { self.remote.submit(&name, &c.name) }).await?;
        match self.wait(&name, &run.cancel).await? {
            BuildState::Succeeded(digest) => Ok(Built::new(c.image.clone(), digest).with_ref(name)),
            BuildState::Failed(reason) => Err(Error::new(ErrorKind::BuildFailed, reason)),
            BuildState::Cancelled | BuildState::Running => {
                Err(Error::new(ErrorKind::BuildFailed, "cancelled"))
            }
        }
    }
}

#[async_trait]
impl RemoteRuns for MemoryRemote {
    async fn cancel_remote(&self, _run: &RunId) -> Result<usize> {
        self.call()?;
        // Stop every remote build that is still running: nothing may keep running remotely.
        let mut state = self.lock();
        let mut stopped = 0;
        for (_, s) in state.builds.values_mut() {
            if *s == BuildState::Running {
                *s = BuildState::Cancelled;
                stopped += 1;
            }
        }
        drop(state);
        self.notify();
        Ok(stopped)
    }

    async fn describe_remote(&self, _run: &RunId) -> Result<Option<RunStatus>> {
        Ok(None)
    }
}

#[async_trait]
impl BuildBackend for MemoryBackend {
    fn info(&self) -> BackendInfo {
        Self::describe()
    }

    async fn plan(&self, plan: Arc<Plan>, _options: &BackendPlanOptions) -> Result<BackendPlan> {
        let artifacts = rewritten_dockerfiles(&plan);
        let verdicts =
            okd_core::backend::rewrite_verdicts(&plan, okd_core::backend::Mechanism::RewriteBeforeBuild);
        Ok(BackendPlan::new(MEMORY, plan, artifacts).with_verdicts(verdicts))
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
        let remote = Retrying { remote: &self.remote, backoff: &self.backoff };
        self.driver.run(plan, options, events, Arc::new(self.builder()), &remote).await
    }

    async fn status(&self, run: &RunId) -> Result<RunStatus> {
        self.driver.status(run, self.remote.as_ref()).await
    }

    async fn cancel(&self, run: &RunId) -> Result<()> {
        let remote = Retrying { remote: &self.remote, backoff: &self.backoff };
        self.driver.cancel(run, &remote).await
    }
}

/// The remote's run calls with retries, as a real client makes them.
struct Retrying<'a> {
    remote: &'a MemoryRemote,
    backoff: &'a Backoff,
}

#[async_trait]
impl RemoteRuns for Retrying<'_> {
    async fn cancel_remote(&self, run: &RunId) -> Result<usize> {
        retry(self.backoff, || self.remote.cancel_remote(run)).await
    }
    async fn describe_remote(&self, run: &RunId) -> Result<Option<RunStatus>> {
        self.remote.describe_remote(run).await
    }
}
