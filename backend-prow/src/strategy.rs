//! The two Prow strategies and what each is and costs.

use okd_core::backend::{Approach, BackendInfo, Capabilities, Maturity, TriggerModel};

use crate::{DOOZER_PROW, PROW};

/// Which Prow approach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Prow + ci-operator: a config per repository in openshift/release.
    Prow,
    /// Doozer + Prow: generated sources on build branches, built by the same jobs.
    DoozerProw,
}

impl Strategy {
    /// The registry name.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Prow => PROW,
            Strategy::DoozerProw => DOOZER_PROW,
        }
    }

    /// The description.
    pub fn info(self) -> BackendInfo {
        match self {
            Strategy::Prow => prow_info(),
            Strategy::DoozerProw => doozer_prow_info(),
        }
    }
}

fn capabilities() -> Capabilities {
    // local_reproduction: `okd import ci-operator CONFIG | okd build - --backend local` builds a
    // config's image with CI's FROM resolution.
    Capabilities::NONE
        .local_reproduction(true)
        .only_if_changed(true)
        .cancel(true)
        .status_after_restart(true)
        .kubernetes(true)
}

/// What the Prow + ci-operator approach is and costs.
pub fn prow_info() -> BackendInfo {
    BackendInfo {
        name: PROW,
        summary: "Prow + ci-operator: configs in openshift/release, pre/post-submit builds, promotion to an ImageStream",
        maturity: Maturity::Working,
        capabilities: capabilities(),
        approach: Approach {
            source_of_truth: "ci-operator configs in openshift/release",
            config_location: "openshift/release: ci-operator/config/<org>/<repo>/<org>-<repo>-<branch>__okd-scos.yaml, plus prowgen's job files",
            configs_touched_per_repo: 3,
            trigger_model: TriggerModel::Continuous,
            from_replacement: "ci-operator `from` (last FROM) and `inputs.<tag>.as` (literal Dockerfile text), applied by the OpenShift Build API",
            developer_feedback: "GitHub commit statuses on every pull request (ci/prow/okd-scos-images)",
        },
    }
}

/// What the Doozer + Prow approach is and costs.
pub fn doozer_prow_info() -> BackendInfo {
    BackendInfo {
        name: DOOZER_PROW,
        summary: "Doozer + Prow: sources generated from the manifest, pushed to build branches, built by Prow jobs",
        maturity: Maturity::Working,
        capabilities: capabilities(),
        approach: Approach {
            source_of_truth: "the release manifest (ocp-build-data through `okd import`)",
            config_location: "generated build branches, plus one ci-operator config and its jobs per component in openshift/release",
            configs_touched_per_repo: 0,
            trigger_model: TriggerModel::Batch,
            from_replacement: "the generator rewrites FROM lines (parents pinned by digest); ci-operator replaces nothing",
            developer_feedback: "none: its jobs run on generated build branches, not on pull requests",
        },
    }
}
