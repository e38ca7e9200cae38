//! The run store: what every backend remembers between processes.
//!
//! Two kinds of record, for every backend alike:
//! - **builds**, keyed by (backend, fingerprint): what a component with those exact inputs was
//!   built into (image, digest, and the backend's own reference to the build: an engine image
//!   ID, a PipelineRun name, a Workflow node). A later run with the same fingerprint reuses it.
//! - **runs**: one per `okd build`, with its release, its components in build order and how each
//!   ended, the process that runs it, and a cancel request another process can leave for it.
//!
//! Besides them, `okd watch` keeps one [`WatchState`] per watched release and backend
//! ([`SqliteRunStore::watch_state`]): what it needs across restarts that no run holds.
//!
//! [`RunStore`] is the contract; [`SqliteRunStore`] is the implementation (one SQLite file in the
//! state folder). Backends are handed a store (through the
//! [`Runtime`](crate::Runtime)); they never open one.

mod schema;
mod sqlite;
mod watches;

use std::{collections::HashMap, fmt, path::PathBuf, time::Duration};

use jiff::Timestamp;
use okd_core::{
    Result,
    backend::{ComponentResult, RunId, RunState, RunStatus},
};
use serde::Serialize;

pub use schema::SCHEMA_VERSION;
pub use sqlite::{DB_FILE, SqliteRunStore};
pub use watches::{CycleResult, PushedPayload, WatchState};

/// What a component with one fingerprint was built into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildRecord {
    /// The backend that built it.
    pub backend: String,
    /// The component's fingerprint.
    pub fingerprint: String,
    /// The component.
    pub component: String,
    /// The image reference.
    pub image: String,
    /// The backend's own name for the build: the engine's image ID (local), the PipelineRun
    /// (Konflux), the Workflow node or Build (payload-pipeline).
    pub build_ref: String,
    /// The digest, when known.
    pub digest: Option<String>,
    /// When it was built.
    pub built_at: Timestamp,
    /// The build log, when kept.
    pub log: Option<PathBuf>,
}

/// What [`RunStore::request_cancel`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelRequest {
    /// The run had ended; nothing to cancel.
    NotRunning,
    /// The run is marked running; the request is recorded for its process to see.
    Running {
        /// That process, when recorded (runs started before schema version 2 have none).
        pid: Option<u32>,
    },
}

/// A run about to start: what [`RunStore::start_run`] records.
#[derive(Debug, Clone)]
pub struct RunStart<'a> {
    /// The run.
    pub run: &'a RunId,
    /// The backend that runs it.
    pub backend: &'a str,
    /// The release's name.
    pub release: &'a str,
    /// The release's version.
    pub version: &'a str,
    /// The components, in build order, each with its fingerprint when its source was read.
    pub components: &'a [(String, Option<String>)],
}

/// One line of a run listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// The run.
    pub run: RunId,
    /// The backend that ran it.
    pub backend: String,
    /// The release's name (`None` for runs recorded before schema version 3).
    pub release: Option<String>,
    /// The release's version (likewise).
    pub version: Option<String>,
    /// Where it is.
    pub state: RunState,
    /// When it started.
    pub started: Timestamp,
    /// When it ended.
    pub finished: Option<Timestamp>,
    /// Components in the run.
    pub components: usize,
    /// Kubernetes API requests the run made, for cluster backends that count them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_requests: Option<u64>,
}

/// Which runs a listing wants; `None` matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Only this backend's runs.
    pub backend: Option<String>,
    /// Only runs of the release with this name.
    pub release: Option<String>,
    /// Only runs of this version of it.
    pub version: Option<String>,
}

/// Runs and builds, shared by every backend and every okd-build process on the machine.
///
/// Object safe and synchronous: each call is one short transaction, so backends call it from
/// async code directly. Every write is atomic: a process killed at any point leaves each record
/// whole or absent.
pub trait RunStore: Send + Sync + fmt::Debug {
    /// Where the store is, for messages ("/home/me/.local/state/okd/state.db").
    fn location(&self) -> String;

    /// What `backend` last built for `fingerprint`.
    fn lookup(&self, backend: &str, fingerprint: &str) -> Result<Option<BuildRecord>>;

    /// Records a build, replacing the one with the same backend and fingerprint.
    fn record_build(&self, record: &BuildRecord) -> Result<()>;

    /// Forgets the build of `fingerprint` (its image is gone). Forgetting nothing is not an error.
    fn forget(&self, backend: &str, fingerprint: &str) -> Result<()>;

    /// Starts a run. Starting a run that is still `Running` (its process crashed or was killed)
    /// resumes it: the results of components that succeeded or were reused are kept, the others
    /// cleared. Starting a run that ended starts it afresh. Records this process as its owner and
    /// clears any cancel request.
    fn start_run(&self, start: &RunStart<'_>) -> Result<()>;

    /// Records how one component of `run` ended, replacing an earlier result.
    fn record_result(&self, run: &RunId, result: &ComponentResult) -> Result<()>;

    /// Marks `run` as `state` (normally `Finished` or `Cancelled`).
    fn finish_run(&self, run: &RunId, state: RunState) -> Result<()>;

    /// Records how many Kubernetes API requests `run` made (cluster backends).
    fn record_api_requests(&self, run: &RunId, requests: u64) -> Result<()>;

    /// How long each component of `backend` took when it was last built (not reused), by name.
    fn last_build_times(&self, backend: &str) -> Result<HashMap<String, Duration>>;

    /// Asks the process running `run` to cancel it (an unknown run is NotFound).
    fn request_cancel(&self, run: &RunId) -> Result<CancelRequest>;

    /// Whether another process asked to cancel `run`.
    fn cancel_requested(&self, run: &RunId) -> Result<bool>;

    /// Where `run` is, with the results recorded so far in build order; `None` if unknown.
    fn run_status(&self, run: &RunId) -> Result<Option<RunStatus>>;

    /// The runs `filter` matches, newest first, at most `limit`.
    fn runs(&self, filter: &RunFilter, limit: usize) -> Result<Vec<RunSummary>>;
}
