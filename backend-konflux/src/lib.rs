//! Konflux only (`.tekton` PipelineRuns in every repository), and Doozer + Konflux.
//!
//! Both are registered with their capabilities; their operations are not built yet and return
//! NotImplemented.

mod backend;
mod config;

pub use backend::{doozer_konflux, doozer_konflux_info, konflux, konflux_info};
pub use config::KonfluxConfig;

/// Registry name of the Konflux-only approach.
pub const KONFLUX: &str = "konflux";
/// Registry name of the Doozer + Konflux approach.
pub const DOOZER_KONFLUX: &str = "doozer-konflux";

/// Registers both strategies.
pub fn register(registry: &mut okd_core::registry::BackendRegistry) {
    registry.register(KONFLUX, konflux_info, konflux);
    registry.register(DOOZER_KONFLUX, doozer_konflux_info, doozer_konflux);
}
