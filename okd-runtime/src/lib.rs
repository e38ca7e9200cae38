//! okd-runtime: the machinery with IO that every backend shares, as kube-runtime is to kube-core.
//!
//! - [`store`]: the [`RunStore`] of runs and builds, and its SQLite implementation.
//! - [`driver`]: the [`RunDriver`] that runs, reports, cancels and describes a backend's runs;
//!   a backend supplies a [`ComponentBuilder`] and its [`RemoteRuns`].
//! - [`schedule`] and [`retry`]: the DAG scheduler and backoff every backend's work goes through.
//! - [`settings`]: typed backend settings from defaults, the settings file, `OKD_*` variables
//!   and flags.
//! - [`Runtime`]: what the CLI hands every backend factory (store, folders, settings).
//! - [`oci`]: the OCI registry client payloads are assembled with; [`payload`]: assembling a
//!   release's payload from what a backend built.
//!
//! Backends depend on okd-core and this crate, never on each other.

pub mod driver;
pub mod feedback;
pub mod git;
#[cfg(feature = "kube")]
pub mod kube;
pub mod oci;
pub mod payload;
pub mod retry;
mod runtime;
pub mod schedule;
pub mod settings;
pub mod store;
pub mod watch;

pub use driver::{ComponentBuilder, NoRemote, RemoteRuns, RequestCounter, RunContext, RunDriver};
pub use runtime::{BackendRegistry, Runtime, StoreHandle};
pub use schedule::Built;
pub use settings::{ClusterConfig, SettingsLayers};
pub use store::{RunStore, SqliteRunStore};
