//! What a backend does ([`Capabilities`]: behaviour facts that code and the conformance suite
//! read) and what its approach is ([`Approach`]: the text the comparison prints).

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

impl TriggerModel {
    /// The name in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerModel::Continuous => "continuous",
            TriggerModel::Batch => "batch",
            TriggerModel::OnDemand => "on-demand",
        }
    }
}

/// What a backend's implementation can do, as facts the code relies on. Everything defaults to
/// false, so a backend claims only what it has built: a skeleton reports the default, and the
/// conformance suite skips (and says so) what a backend does not claim.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// Builds more than one architecture.
    pub multi_arch: bool,
    /// A build can be reproduced on a laptop without the system.
    pub local_reproduction: bool,
    /// Rebuilds only components whose fingerprint changed.
    pub only_if_changed: bool,
    /// Running work can be cancelled, remote work included.
    pub cancel: bool,
    /// `status` works for a run started by another process.
    pub status_after_restart: bool,
    /// Builds run on a cluster through the Kubernetes API.
    pub kubernetes: bool,
}

impl Capabilities {
    /// Nothing claimed.
    pub const NONE: Capabilities = Capabilities {
        multi_arch: false,
        local_reproduction: false,
        only_if_changed: false,
        cancel: false,
        status_after_restart: false,
        kubernetes: false,
    };

    /// With `multi_arch` set.
    pub const fn multi_arch(mut self, yes: bool) -> Self {
        self.multi_arch = yes;
        self
    }

    /// With `local_reproduction` set.
    pub const fn local_reproduction(mut self, yes: bool) -> Self {
        self.local_reproduction = yes;
        self
    }

    /// With `only_if_changed` set.
    pub const fn only_if_changed(mut self, yes: bool) -> Self {
        self.only_if_changed = yes;
        self
    }

    /// With `cancel` set.
    pub const fn cancel(mut self, yes: bool) -> Self {
        self.cancel = yes;
        self
    }

    /// With `status_after_restart` set.
    pub const fn status_after_restart(mut self, yes: bool) -> Self {
        self.status_after_restart = yes;
        self
    }

    /// With `kubernetes` set.
    pub const fn kubernetes(mut self, yes: bool) -> Self {
        self.kubernetes = yes;
        self
    }
}

/// The approach a backend stands for, in the words the comparison prints side by side. Facts
/// about the approach (where its configuration lives, who owns the metadata), not about what
/// okd-build has implemented of it.
#[derive(Debug, Clone, Serialize)]
pub struct Approach {
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
}
