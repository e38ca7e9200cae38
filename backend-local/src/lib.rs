//! Local builds on Podman or Docker through the Docker-compatible API: the reference build the
//! other backends are compared with. Also home of the OCI registry client that payloads use
//! ([`client::OciRegistry`]), and of the state store ([`state`]) that records builds by
//! fingerprint.

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
