//! Comparing build approaches on one release, and releases from different sources of truth.
//!
//! Pure computation over what okd-build really generates or ran: backend plans (their artifacts
//! and reference verdicts), run records, and plans of releases. No number here is typed in: a
//! backend's configuration cost is counted from the artifacts its render writes, its FROM
//! verdicts are recorded where its render maps each reference, and run metrics come from the
//! run store.
//!
//! The JSON form of [`Comparison`] is documented in docs/compare.md; change both together.

pub mod cost;
pub mod references;
pub mod runs;
pub mod sources;

#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::{
    backend::{BackendInfo, BackendPlan},
    plan::Plan,
};
pub use cost::{ConfigCost, RepositoryCost, Size, config_cost};
pub use references::{ReferenceRow, VerdictTotals, reference_rows};
pub use runs::{DigestAgreement, RunMetrics, RunRecord, TimelineBar, digest_agreement, run_metrics};

/// Version of the JSON document; bumped when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// The release compared.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseSummary {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The manifest.
    pub path: String,
    /// Components.
    pub components: usize,
    /// Components whose Dockerfile was read (the FROM verdicts cover these).
    pub read: usize,
    /// FROM and `--from` references in the read Dockerfiles.
    pub references: usize,
}

/// One backend's column.
#[derive(Debug, Clone, Serialize)]
pub struct BackendColumn {
    /// Its name, maturity, capabilities and approach (trigger model, developer feedback).
    #[serde(flatten)]
    pub info: BackendInfo,
    /// What its configuration costs; `None` when it could not plan the release.
    pub cost: Option<ConfigCost>,
    /// Its verdict counts.
    pub verdicts: VerdictTotals,
    /// How many located warnings its plan has (what it cannot express or reach).
    pub warnings: usize,
    /// Why it could not plan the release, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A backend's plan, or why there is none.
#[derive(Debug)]
pub struct Planned {
    /// The backend.
    pub info: BackendInfo,
    /// Its plan, or the error's one-line message.
    pub plan: Result<BackendPlan, String>,
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The release.
    pub release: ReleaseSummary,
    /// One column per backend, in the order asked for.
    pub backends: Vec<BackendColumn>,
    /// Every FROM and `--from`, with each backend's verdict.
    pub references: Vec<ReferenceRow>,
    /// Metrics of the runs asked for (`--runs`), one per backend that has one.
    pub runs: Vec<RunMetrics>,
    /// Components built by two or more of those runs with the same fingerprint.
    pub digests: Vec<DigestAgreement>,
    /// Runs asked for that were not found, by backend, so an empty section says why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_runs: Vec<String>,
}

/// Compares the backends' plans of `plan` (and the runs given) side by side. `jobs` is the
/// parallelism the runs' bound assumes.
pub fn compare(plan: &Plan, planned: &[Planned], runs: &[RunRecord], jobs: usize) -> Comparison {
    let ok: Vec<&BackendPlan> = planned.iter().filter_map(|p| p.plan.as_ref().ok()).collect();
    let references = reference_rows(plan, &ok);
    let backends = planned
        .iter()
        .map(|p| {
            let name = p.info.name;
            match &p.plan {
                Ok(b) => BackendColumn {
                    info: p.info.clone(),
                    cost: Some(config_cost(&b.artifacts)),
                    verdicts: VerdictTotals::of(references.iter().filter_map(|r| r.verdicts.get(name))),
                    warnings: b.warnings.len(),
                    error: None,
                },
                Err(e) => BackendColumn {
                    info: p.info.clone(),
                    cost: None,
                    verdicts: VerdictTotals::default(),
                    warnings: 0,
                    error: Some(e.clone()),
                },
            }
        })
        .collect();
    let release = &plan.release;
    Comparison {
        schema_version: SCHEMA_VERSION,
        release: ReleaseSummary {
            name: release.name.clone(),
            version: release.version.to_string(),
            path: release.path.display().to_string(),
            components: plan.components.len(),
            read: plan.components.iter().filter(|c| c.rewritten.is_some()).count(),
            references: references.len(),
        },
        backends,
        references,
        runs: runs.iter().map(|r| run_metrics(plan, r, jobs)).collect(),
        digests: digest_agreement(runs),
        missing_runs: Vec::new(),
    }
}
