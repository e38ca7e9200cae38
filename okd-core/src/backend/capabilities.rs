//! The static facts about a backend that the side-by-side comparison reports.

use serde::Serialize;

/// How builds get started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TriggerModel {
    /// Every pull request and merge builds (pre- and post-submit).
    Continuous,
    /// A scheduled or manual run builds the whole release (nightlies).
    Batch,
    /// Someone runs it by hand.
    OnDemand,
}

/// What a backend can do and what it costs to adopt. These are facts about the approach, not
/// about a particular run; the comparison report prints them side by side.
#[derive(Debug, Clone, Serialize)]
pub struct Capabilities {
    /// Where build metadata is owned: "release manifest", "ocp-build-data", "openshift/release".
    pub source_of_truth: &'static str,
    /// Where the generated configuration lives.
    pub config_location: &'static str,
    /// Files a component repository must carry or change for this approach (0: none).
    pub configs_touched_per_repo: u32,
    /// How builds are triggered.
    pub trigger_model: TriggerModel,
    /// How FROM images are replaced.
    pub from_replacement: &'static str,
    /// How developers hear about a broken build.
    pub developer_feedback: &'static str,
    /// Builds more than one architecture.
    pub multi_arch: bool,
    /// A build can be reproduced on a laptop without the system.
    pub local_reproduction: bool,
    /// Rebuilds only components whose fingerprint changed.
    pub only_if_changed: bool,
    /// Running work can be cancelled.
    pub cancel: bool,
    /// `status` works for a run started by another process.
    pub status_after_restart: bool,
    /// Builds run on a cluster through the Kubernetes API.
    pub kubernetes: bool,
}
