//! Local builds on Podman or Docker through the Docker-compatible API.
//!
//! Registered with its capabilities; its operations are not built yet and return NotImplemented.

mod backend;
pub mod client;
mod config;
pub mod state;

pub use backend::{LocalBackend, local, local_info};
pub use config::LocalConfig;

/// Registry name of the local engine backend.
pub const LOCAL: &str = "local";

/// Registers the backend.
pub fn register(registry: &mut okd_core::registry::BackendRegistry) {
    registry.register(LOCAL, local_info, local);
}
