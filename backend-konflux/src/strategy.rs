//! The two strategies and what each approach is and costs (for `okd backends` and the
//! comparison report).

use okd_core::backend::{Approach, BackendInfo, Capabilities, Maturity, TriggerModel};

use crate::{DOOZER_KONFLUX, KONFLUX};

/// Which Konflux approach a backend takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// `.tekton` PipelineRuns in every component repository (Pipelines-as-Code).
    Konflux,
    /// Sources generated Doozer-style, pushed to a build branch, PipelineRuns created directly.
    DoozerKonflux,
}

impl Strategy {
    /// The registry name.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Konflux => KONFLUX,
            Strategy::DoozerKonflux => DOOZER_KONFLUX,
        }
    }

    /// The static description.
    pub fn info(self) -> BackendInfo {
        match self {
            Strategy::Konflux => konflux_info(),
            Strategy::DoozerKonflux => doozer_konflux_info(),
        }
    }
}

/// What the Konflux-only approach is and costs.
pub fn konflux_info() -> BackendInfo {
    BackendInfo {
        name: KONFLUX,
        summary: "Konflux only: .tekton PipelineRuns (Pipelines-as-Code) in every component repository",
        maturity: Maturity::Working,
        capabilities: Capabilities::NONE
            .multi_arch(true)
            .only_if_changed(true)
            .cancel(true)
            .status_after_restart(true)
            .kubernetes(true),
        approach: Approach {
            source_of_truth: ".tekton PipelineRuns in each component repository",
            config_location: "<repo>/.tekton/<component>-pull-request.yaml and -push.yaml, plus tenant objects",
            configs_touched_per_repo: 2,
            trigger_model: TriggerModel::Continuous,
            from_replacement: "none in Konflux: repositories carry an OKD Dockerfile, or pass the base as a build arg",
            developer_feedback: "GitHub check runs from Pipelines-as-Code",
        },
    }
}

/// What the Doozer + Konflux approach is and costs.
pub fn doozer_konflux_info() -> BackendInfo {
    BackendInfo {
        name: DOOZER_KONFLUX,
        summary: "Doozer + Konflux: sources generated from ocp-build-data, PipelineRuns created directly",
        maturity: Maturity::Working,
        capabilities: Capabilities::NONE
            .multi_arch(true)
            .only_if_changed(true)
            .cancel(true)
            .status_after_restart(true)
            .kubernetes(true),
        approach: Approach {
            source_of_truth: "ocp-build-data",
            config_location: "generated build branches; Application and Components in the tenant namespace",
            configs_touched_per_repo: 0,
            trigger_model: TriggerModel::Batch,
            from_replacement: "Doozer rewrites FROM lines positionally (from.builder[] + from)",
            developer_feedback: "none from the system (Pipelines-as-Code is off)",
        },
    }
}
