//! Continuous builds (`okd watch`): what keeps one release building that is not the command
//! line's business.
//!
//! - [`cycle`]: one cycle (what moved upstream, plan, build, feedback, payload) and the
//!   [`CycleListener`] every build event passes through;
//! - [`sources`]: what moved upstream, by `git ls-remote`, against the source cache;
//! - [`lock`]: one watcher and one build per release and backend, by OS file locks that die
//!   with their process;
//! - [`backoff`]: the interval, and longer waits after failed cycles;
//! - [`webhook`]: GitHub push webhooks, signature-checked, that start a cycle at once.
//!
//! The watch state between cycles and restarts is in the run store
//! ([`WatchState`](crate::store::WatchState)).

pub mod backoff;
pub mod cycle;
pub mod lock;
pub mod sources;
pub mod webhook;

pub use backoff::{Backoff, format_interval, parse_interval};
pub use cycle::{CycleListener, CycleReport, Pushed, WatchSpec, Watcher};
pub use lock::{LockKind, ReleaseLock};
pub use sources::Moved;
/// The token that stops a cycle, re-exported so callers need not depend on tokio-util.
pub use tokio_util::sync::CancellationToken;
