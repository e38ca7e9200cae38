//! Local builds on Podman or Docker through the Docker-compatible API: the reference build the
//! other backends are compared with.
//!
//! - [`config`]: its one setting, the engine's address.
//! - `backend`: the [`BuildBackend`](okd_core::backend::BuildBackend), a thin layer over
//!   okd-runtime's run driver; `build`: one component's build on the engine.
//! - [`client`]: the engine client (bollard), with build contexts and progress.

mod arch;
mod backend;
mod build;
pub mod client;
pub mod config;

pub use backend::{LocalBackend, local, local_info};
pub use config::LocalConfig;

/// Registry name of the local engine backend.
pub const LOCAL: &str = "local";

/// Registers the backend.
pub fn register(registry: &mut okd_runtime::BackendRegistry) {
    registry.register(LOCAL, local_info, local);
}
