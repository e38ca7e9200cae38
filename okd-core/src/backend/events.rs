//! What a build reports while it runs (events) and when it ends (the run report).

use std::fmt;

use jiff::Timestamp;
use serde::Serialize;
use tokio::sync::mpsc;

/// A run's identity: stable across processes, so `status` and `cancel` work after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RunId(pub String);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Something that happened to one component during a build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A run began: the first event of every build, with no component. Its id is what `okd
    /// status` and `okd cancel` take.
    RunStarted {
        /// The run.
        run: RunId,
    },
    /// Waiting for its parents or for a free slot.
    Queued,
    /// Building.
    Started,
    /// Where the component's build can be followed (its PipelineRun, Workflow or Prow job page,
    /// or a log URL the user configured). A backend sends it once it knows the address, usually
    /// just after `started`; feedback such as GitHub commit statuses links there.
    Link {
        /// The address, `http://` or `https://`.
        url: String,
    },
    /// One line of build output.
    Log {
        /// The line, without its newline.
        line: String,
    },
    /// Built.
    Succeeded {
        /// The image reference.
        image: String,
        /// Its digest (`sha256:...`).
        digest: String,
    },
    /// An earlier build with the same fingerprint was taken instead of building.
    Reused {
        /// The image reference.
        image: String,
        /// Its digest.
        digest: String,
    },
    /// The build failed.
    Failed {
        /// Why, in one line.
        reason: String,
    },
    /// Not built because a parent failed or was skipped.
    Skipped {
        /// The parent that failed.
        because: String,
    },
}

impl EventKind {
    /// The event's name as it appears in JSON output.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::RunStarted { .. } => "run_started",
            EventKind::Queued => "queued",
            EventKind::Started => "started",
            EventKind::Link { .. } => "link",
            EventKind::Log { .. } => "log",
            EventKind::Succeeded { .. } => "succeeded",
            EventKind::Reused { .. } => "reused",
            EventKind::Failed { .. } => "failed",
            EventKind::Skipped { .. } => "skipped",
        }
    }
}

/// An event, with the component and the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildEvent {
    /// When it happened.
    pub timestamp: Timestamp,
    /// The component; empty for run-level events ([`EventKind::RunStarted`]).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub component: String,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

impl BuildEvent {
    /// An event now.
    pub fn now(component: impl Into<String>, kind: EventKind) -> Self {
        BuildEvent { timestamp: Timestamp::now(), component: component.into(), kind }
    }
}

/// Where a backend sends events. Sending never blocks and never fails: a receiver that went away
/// (the user stopped watching) must not stop the build.
#[derive(Debug, Clone)]
pub struct EventSink(Option<mpsc::UnboundedSender<BuildEvent>>);

impl EventSink {
    /// A sink and the receiver that reads from it.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<BuildEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (EventSink(Some(tx)), rx)
    }

    /// A sink that drops every event.
    pub fn discard() -> Self {
        EventSink(None)
    }

    /// Sends an event now.
    pub fn emit(&self, component: &str, kind: EventKind) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(BuildEvent::now(component, kind));
        }
    }
}

/// How one component's build ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Built.
    Succeeded,
    /// Reused from an earlier build.
    Reused,
    /// Failed.
    Failed,
    /// Skipped because a parent failed.
    Skipped,
    /// Cancelled before it finished.
    Cancelled,
}

impl Outcome {
    /// The name in JSON output and in the run store.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Reused => "reused",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// One component's result.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentResult {
    /// The component.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The image, when built or reused.
    pub image: Option<String>,
    /// Its digest.
    pub digest: Option<String>,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
    /// When it started building.
    pub started: Option<Timestamp>,
    /// When it ended.
    pub finished: Option<Timestamp>,
    /// The fingerprint it was built (or reused) for, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Per architecture, for backends that build each one separately (payload-pipeline).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arches: Vec<ArchResult>,
}

/// How one architecture of a component's build ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ArchResult {
    /// `amd64`, `arm64`, ...
    pub arch: String,
    /// `succeeded`, `reused` (taken from a cache) or `failed`.
    pub outcome: Outcome,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The report of a whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The run.
    pub run: RunId,
    /// The backend that ran it.
    pub backend: String,
    /// When it started.
    pub started: Timestamp,
    /// When it ended.
    pub finished: Timestamp,
    /// One entry per component, in build order.
    pub components: Vec<ComponentResult>,
    /// Where the run's build logs are, when the backend keeps them on this machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs: Option<std::path::PathBuf>,
    /// Kubernetes API requests the run made, for cluster backends (watches count once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_requests: Option<u64>,
}

impl RunReport {
    /// Whether every component succeeded or was reused.
    pub fn succeeded(&self) -> bool {
        self.components.iter().all(|c| matches!(c.outcome, Outcome::Succeeded | Outcome::Reused))
    }

    /// How many components ended with `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.components.iter().filter(|c| c.outcome == outcome).count()
    }
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Still going.
    Running,
    /// Ended; see the report.
    Finished,
    /// Stopped by `cancel`.
    Cancelled,
}

impl RunState {
    /// The name in JSON output and in the run store.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Finished => "finished",
            RunState::Cancelled => "cancelled",
        }
    }
}

/// What `status` returns.
#[derive(Debug, Clone, Serialize)]
pub struct RunStatus {
    /// The run.
    pub run: RunId,
    /// Where it is.
    pub state: RunState,
    /// Per-component results so far.
    pub components: Vec<ComponentResult>,
}
