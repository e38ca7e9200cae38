//! Scripted controllers: they make the objects okd-build's backends create move through the
//! status sequences the real controllers write, so backends can be tested end to end against
//! the fake API server.
//!
//! [`Controllers::start`] subscribes to a [`Store`] and drives every object of the watched
//! kinds, one task per object:
//!
//! | resource | module | real controller |
//! |---|---|---|
//! | `tekton.dev/v1` `pipelineruns` | `tekton` | Tekton Pipelines (with TaskRuns and pods) |
//! | `argoproj.io/v1alpha1` `workflows` | `argo` | Argo Workflows (DAG entrypoints) |
//! | `shipwright.io/v1beta1` `buildruns` | `shipwright` | Shipwright Build |
//! | `build.openshift.io/v1` `builds` | `openshift` | openshift-controller-manager builds |
//! | `prow.k8s.io/v1` `prowjobs` | `prow` | Prow plank |
//!
//! A [`Script`] says what each component's run does: how long it takes and whether it
//! succeeds, fails or times out. An object's component is its `okd-build.io/component` label,
//! else its name (ProwJobs: their `spec.job`, so a script can name Prow jobs; Argo DAG tasks:
//! their `component` parameter, else the task name). Every
//! timing is relative to when the object was seen, and nothing polls: tasks sleep on tokio
//! timers and wake on store events (cancel requests, deletions).
//!
//! The controllers also garbage-collect: deleting an object deletes the TaskRuns and pods
//! whose `ownerReferences` name it, as the Kubernetes garbage collector would.

mod argo;
mod openshift;
mod prow;
mod run;
mod shipwright;
mod tekton;
mod util;

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex, atomic::AtomicU64},
    time::Duration,
};

use serde_json::Value;
use tokio::{
    sync::{broadcast, watch},
    task::{JoinHandle, JoinSet},
};

use super::store::{EventType, Gvr, Store, StoreEvent, name_of};
use run::Run;

/// The label a backend sets to name the component an object builds.
pub const COMPONENT_LABEL: &str = "okd-build.io/component";

/// The pod annotation holding the pod's log (the fake server serves it as `pods/log`).
pub const LOG_ANNOTATION: &str = "okd-tests/log";

/// What a component's run does in the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Succeed,
    Fail(String),
    Timeout,
}

/// Called with a ProwJob (as stored) just before the controller writes `success`, for work a
/// job does inside its run that others must see by the time it succeeds (ci-operator's
/// promotion: [`crate::prow::FakeGangway::promoter`]). An `Err` makes the job fail instead.
pub type ProwJobHook = Arc<dyn Fn(&Value) -> Result<(), String> + Send + Sync>;

/// Called with a Workflow (as stored) and a DAG task's component just before the controller
/// marks the task `Succeeded`: what the task's build leaves behind for others to read (the
/// image it pushed into an ImageStream: [`tag_built_images`]). An `Err` fails the task.
pub type TaskHook = Arc<dyn Fn(&Value, &str) -> Result<(), String> + Send + Sync>;

/// A [`ProwJobHook`] in a [`Script`] (which is `Debug`).
#[derive(Clone)]
struct Hook(ProwJobHook);

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProwJobHook")
    }
}

/// A [`TaskHook`] in a [`Script`].
#[derive(Clone)]
struct OnTask(TaskHook);

impl fmt::Debug for OnTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TaskHook")
    }
}

/// A [`TaskHook`] that does what a okd-payload-pipeline task's Build does when it completes:
/// the image is pushed to the internal registry and tagged `<stream>:<component>` in the
/// Workflow's namespace, at [`Script::digest_for`] of `<workflow>/<component>` (so every run's
/// build has its own digest).
pub fn tag_built_images(store: Store, stream: &str) -> TaskHook {
    let stream = stream.to_owned();
    Arc::new(move |wf: &Value, component: &str| {
        let ns = wf["metadata"]["namespace"].as_str().unwrap_or_default();
        let workflow = wf["metadata"]["name"].as_str().unwrap_or_default();
        let digest = Script::digest_for(&format!("{workflow}/{component}"));
        let source = format!("image-registry.openshift-image-registry.svc:5000/{ns}/{stream}");
        let public = format!("default-route-openshift-image-registry.apps.okd.example/{ns}/{stream}");
        let repos = crate::prow::promote::StreamRepos { source: &source, public: &public };
        crate::prow::promote::tag_stream(&store, ns, &stream, &[(component.to_owned(), digest)], repos)
    })
}

/// What each object does: durations and outcomes per component.
#[derive(Debug, Clone)]
pub struct Script {
    default_duration: Duration,
    queue_delay: Duration,
    durations: HashMap<String, Duration>,
    outcomes: HashMap<String, Outcome>,
    prune_after: Option<Duration>,
    images: HashMap<String, (String, String)>,
    /// Component → the architecture whose Build step fails in its Argo task.
    failed_arches: HashMap<String, String>,
    prowjob_success: Option<Hook>,
    task_success: Option<OnTask>,
}

impl Default for Script {
    fn default() -> Self {
        Self::new()
    }
}

impl Script {
    /// Every run succeeds after the default duration (50 ms), with no queueing and no pruning.
    pub fn new() -> Self {
        Script {
            default_duration: Duration::from_millis(50),
            queue_delay: Duration::ZERO,
            durations: HashMap::new(),
            outcomes: HashMap::new(),
            prune_after: None,
            images: HashMap::new(),
            failed_arches: HashMap::new(),
            prowjob_success: None,
            task_success: None,
        }
    }

    /// How long a run of a component without its own [`Script::duration`] runs.
    pub fn default_duration(mut self, d: Duration) -> Self {
        self.default_duration = d;
        self
    }

    /// How long runs of `component` run.
    pub fn duration(mut self, component: &str, d: Duration) -> Self {
        self.durations.insert(component.into(), d);
        self
    }

    /// How long an object waits in its pre-running phase (Workflow `Pending`, BuildRun
    /// `Pending`, Build `New`/`Pending`, ProwJob `triggered`); default zero, which still writes
    /// each phase as its own change.
    pub fn queue_delay(mut self, d: Duration) -> Self {
        self.queue_delay = d;
        self
    }

    /// Runs of `component` fail; `message` is the last line of the failing step's log (and the
    /// Argo node message, the Shipwright `failureDetails.message`, the Build `logSnippet`).
    pub fn fail(mut self, component: &str, message: &str) -> Self {
        self.outcomes.insert(component.into(), Outcome::Fail(message.into()));
        self
    }

    /// Argo tasks of `component` fail in the Build step of `arch` with `message` (the other
    /// architectures' steps succeed); other controllers fail the run as [`Script::fail`] does.
    pub fn fail_arch(mut self, component: &str, arch: &str, message: &str) -> Self {
        self.failed_arches.insert(component.into(), arch.into());
        self.fail(component, message)
    }

    /// The architecture whose step fails in `component`'s Argo task, if one was scripted.
    pub(crate) fn failed_arch(&self, component: &str) -> Option<&str> {
        self.failed_arches.get(component).map(String::as_str)
    }

    /// Runs of `component` time out when their duration is up.
    pub fn timeout(mut self, component: &str) -> Self {
        self.outcomes.insert(component.into(), Outcome::Timeout);
        self
    }

    /// Deletes finished objects (with their TaskRuns and pods) `d` after they finish, as Tekton
    /// pruners, Argo `ttlStrategy` and Shipwright retention do. An object's own Argo
    /// `ttlStrategy` or Shipwright `retention` wins when set.
    pub fn prune_finished_after(mut self, d: Duration) -> Self {
        self.prune_after = Some(d);
        self
    }

    /// Successful PipelineRuns of `component` report this image and digest as `IMAGE_URL` and
    /// `IMAGE_DIGEST`, e.g. an image really pushed to a registry, instead of the output-image
    /// param and [`Script::digest_for`].
    pub fn image(mut self, component: &str, url: &str, digest: &str) -> Self {
        self.images.insert(component.into(), (url.into(), digest.into()));
        self
    }

    /// Runs `hook` just before each ProwJob that is to succeed is marked `success`; see
    /// [`ProwJobHook`].
    pub fn on_prowjob_success(mut self, hook: ProwJobHook) -> Self {
        self.prowjob_success = Some(Hook(hook));
        self
    }

    /// Runs `hook` just before each Argo DAG task that is to succeed is marked `Succeeded`; see
    /// [`TaskHook`].
    pub fn on_workflow_task_success(mut self, hook: TaskHook) -> Self {
        self.task_success = Some(OnTask(hook));
        self
    }

    pub(crate) fn task_success_hook(&self) -> Option<&TaskHook> {
        self.task_success.as_ref().map(|h| &h.0)
    }

    pub(crate) fn prowjob_success_hook(&self) -> Option<&ProwJobHook> {
        self.prowjob_success.as_ref().map(|h| &h.0)
    }

    pub(crate) fn image_of(&self, component: &str) -> Option<&(String, String)> {
        self.images.get(component)
    }

    /// The digest the fakes report for `component`: `sha256:` and the SHA-256 of its name.
    pub fn digest_for(component: &str) -> String {
        format!("sha256:{}", util::sha256_hex(component.as_bytes()))
    }

    pub(crate) fn duration_of(&self, component: &str) -> Duration {
        self.durations.get(component).copied().unwrap_or(self.default_duration)
    }

    pub(crate) fn outcome_of(&self, component: &str) -> Outcome {
        self.outcomes.get(component).cloned().unwrap_or(Outcome::Succeed)
    }
}

/// The kinds the controllers drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    PipelineRun,
    Workflow,
    BuildRun,
    Build,
    ProwJob,
}

impl Kind {
    const ALL: [Kind; 5] = [Kind::PipelineRun, Kind::Workflow, Kind::BuildRun, Kind::Build, Kind::ProwJob];

    fn gvr(self) -> Gvr {
        match self {
            Kind::PipelineRun => Gvr::new("tekton.dev", "v1", "pipelineruns"),
            Kind::Workflow => Gvr::new("argoproj.io", "v1alpha1", "workflows"),
            Kind::BuildRun => Gvr::new("shipwright.io", "v1beta1", "buildruns"),
            Kind::Build => Gvr::new("build.openshift.io", "v1", "builds"),
            Kind::ProwJob => Gvr::new("prow.k8s.io", "v1", "prowjobs"),
        }
    }

    fn of(gvr: &Gvr) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| &k.gvr() == gvr)
    }
}

/// State shared by the dispatcher and every object task.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) script: Script,
    started: Mutex<Vec<String>>,
    /// Source of Prow build ids and other unique suffixes.
    pub(crate) counter: AtomicU64,
}

impl Shared {
    pub(crate) fn mark_started(&self, name: &str) {
        self.started.lock().unwrap_or_else(|p| p.into_inner()).push(name.to_owned());
    }
}

/// Running controllers; dropping or [`Controllers::stop`]ping them aborts every task.
#[derive(Debug)]
pub struct Controllers {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Controllers {
    /// Starts the controllers on the current tokio runtime. Objects already in the store are
    /// picked up too, oldest first (finished ones are left alone). Keep the handle: dropping it
    /// stops the controllers.
    pub fn start(store: Store, script: Script) -> Controllers {
        // Subscribe before listing so nothing falls between the two; duplicates are ignored.
        let events = store.subscribe();
        let shared =
            Arc::new(Shared { store, script, started: Mutex::new(Vec::new()), counter: AtomicU64::new(0) });
        let existing = list_watched(&shared.store);
        let task = tokio::spawn(dispatch(shared.clone(), existing, events));
        Controllers { shared, task }
    }

    /// Aborts the dispatcher and every object task.
    pub fn stop(self) {
        self.task.abort();
    }

    /// Names of what started running, in order: objects by `metadata.name`, Argo DAG tasks by
    /// node name (`<workflow>.<task>`).
    pub fn started(&self) -> Vec<String> {
        self.shared.started.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for Controllers {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Key = (Gvr, String, String);

struct Entry {
    uid: String,
    tx: watch::Sender<Option<Value>>,
}

/// Routes store events to object tasks; owns them (dropping the JoinSet aborts them all).
async fn dispatch(
    shared: Arc<Shared>,
    existing: Vec<(Kind, Key, Value)>,
    mut events: broadcast::Receiver<StoreEvent>,
) {
    let mut runs: HashMap<Key, Entry> = HashMap::new();
    let mut tasks = JoinSet::new();
    for (kind, key, object) in existing {
        observe(&shared, &mut runs, &mut tasks, kind, key, object);
    }
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) => handle(&shared, &mut runs, &mut tasks, event),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "controllers lagged behind the store; resyncing");
                    resync(&shared, &mut runs, &mut tasks);
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(e) = done
                    && e.is_panic()
                {
                    tracing::error!("a scripted controller task panicked: {e}");
                }
            }
        }
    }
}

fn uid_of(object: &Value) -> String {
    object["metadata"]["uid"].as_str().unwrap_or_default().to_owned()
}

fn handle(shared: &Arc<Shared>, runs: &mut HashMap<Key, Entry>, tasks: &mut JoinSet<()>, event: StoreEvent) {
    let key = (event.gvr.clone(), event.namespace.clone(), name_of(&event.object));
    match event.kind {
        EventType::Added | EventType::Modified => {
            let Some(kind) = Kind::of(&event.gvr) else { return };
            observe(shared, runs, tasks, kind, key, event.object);
        }
        EventType::Deleted => {
            if let Some(entry) = runs.get(&key)
                && entry.uid == uid_of(&event.object)
                && let Some(entry) = runs.remove(&key)
            {
                entry.tx.send_replace(None);
            }
            collect_garbage(&shared.store, &event.namespace, &uid_of(&event.object));
        }
    }
}

/// Hands a fresh object to its task, starting one for a new object.
fn observe(
    shared: &Arc<Shared>,
    runs: &mut HashMap<Key, Entry>,
    tasks: &mut JoinSet<()>,
    kind: Kind,
    key: Key,
    object: Value,
) {
    let uid = uid_of(&object);
    if let Some(entry) = runs.get(&key) {
        if entry.uid == uid {
            entry.tx.send_replace(Some(object));
            return;
        }
        // Replaced under our feet (missed deletion): the old task's object is gone.
        entry.tx.send_replace(None);
    }
    let (tx, rx) = watch::channel(Some(object));
    let run = Run::new(shared.clone(), key.0.clone(), key.1.clone(), key.2.clone(), uid.clone(), rx);
    match kind {
        Kind::PipelineRun => tasks.spawn(tekton::run(run)),
        Kind::Workflow => tasks.spawn(argo::run(run)),
        Kind::BuildRun => tasks.spawn(shipwright::run(run)),
        Kind::Build => tasks.spawn(openshift::run(run)),
        Kind::ProwJob => tasks.spawn(prow::run(run)),
    };
    runs.insert(key, Entry { uid, tx });
}

/// Every object of the watched kinds, oldest first (so they start in creation order).
fn list_watched(store: &Store) -> Vec<(Kind, Key, Value)> {
    let mut all = Vec::new();
    for kind in Kind::ALL {
        let gvr = kind.gvr();
        for object in store.list(&gvr, None).0 {
            let ns = object["metadata"]["namespace"].as_str().unwrap_or_default().to_owned();
            all.push((kind, (gvr.clone(), ns, name_of(&object)), object));
        }
    }
    let created =
        |o: &Value| (o["metadata"]["creationTimestamp"].as_str().unwrap_or_default().to_owned(), uid_of(o));
    all.sort_by_key(|(_, _, o)| created(o));
    all
}

/// Lists every watched kind: starts tasks for objects not seen yet, refreshes known ones and
/// tells the tasks of vanished objects.
fn resync(shared: &Arc<Shared>, runs: &mut HashMap<Key, Entry>, tasks: &mut JoinSet<()>) {
    let mut seen = Vec::new();
    for (kind, key, object) in list_watched(&shared.store) {
        seen.push(key.clone());
        observe(shared, runs, tasks, kind, key, object);
    }
    runs.retain(|key, entry| {
        let keep = seen.contains(key);
        if !keep {
            entry.tx.send_replace(None);
        }
        keep
    });
}

/// Deletes TaskRuns and pods owned by `owner_uid` (their deletions cascade in turn).
fn collect_garbage(store: &Store, namespace: &str, owner_uid: &str) {
    if owner_uid.is_empty() {
        return;
    }
    for gvr in [Gvr::new("tekton.dev", "v1", "taskruns"), Gvr::new("", "v1", "pods")] {
        let (items, _) = store.list(&gvr, Some(namespace));
        for item in items {
            let owned = item["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|refs| refs.iter().any(|r| r["uid"] == owner_uid));
            if owned {
                // Already gone is fine: someone else deleted it first.
                let _ = store.delete(&gvr, namespace, &name_of(&item));
            }
        }
    }
}
