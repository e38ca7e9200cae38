//! What a recorded run says about a backend: makespan against the bound the build graph allows,
//! builds started, reused and failed, time to the first failure report, and a timeline.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::{
    backend::{ComponentResult, Outcome, RunId, RunState},
    plan::Plan,
};

/// A run as the run store keeps it.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// The backend that ran it.
    pub backend: String,
    /// The run.
    pub run: RunId,
    /// Where it is.
    pub state: RunState,
    /// When it started.
    pub started: Timestamp,
    /// When it ended, if it has.
    pub finished: Option<Timestamp>,
    /// Per-component results in build order.
    pub components: Vec<ComponentResult>,
    /// API requests the run made to its cluster, when the backend counts them.
    pub api_requests: Option<u64>,
}

/// One component's bar on the run's timeline, in seconds from the run's start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineBar {
    /// The component.
    pub component: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Start, seconds after the run started.
    pub start: f64,
    /// End, seconds after the run started.
    pub end: f64,
    /// Whether it lies on the run's critical path.
    pub critical: bool,
}

/// The metrics of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunMetrics {
    /// The backend.
    pub backend: String,
    /// The run.
    pub run: RunId,
    /// Where it is.
    pub state: RunState,
    /// When it started.
    pub started: Timestamp,
    /// Wall time from start to end (to the last result while it runs), seconds.
    pub makespan: f64,
    /// Components built (succeeded or failed after starting).
    pub builds_started: usize,
    /// Succeeded.
    pub succeeded: usize,
    /// Reused from an earlier build.
    pub reused: usize,
    /// Failed.
    pub failed: usize,
    /// Skipped because a parent failed, or cancelled.
    pub not_built: usize,
    /// Sum of every build's duration, seconds.
    pub work: f64,
    /// The chain of dependent builds that took longest in this run (reused ones take 0).
    pub critical_path: Vec<String>,
    /// Its duration, seconds.
    pub critical_path_seconds: f64,
    /// The jobs the bound assumes.
    pub jobs: usize,
    /// max(critical path, work / jobs): no schedule can beat it.
    pub bound: f64,
    /// bound / makespan: 1.0 is a perfect schedule.
    pub efficiency: Option<f64>,
    /// Seconds from the run's start to the first failure, when one failed.
    pub first_failure: Option<f64>,
    /// API requests per component in the run, when the backend counts them.
    pub api_requests_per_component: Option<f64>,
    /// One bar per component that started.
    pub timeline: Vec<TimelineBar>,
}

fn seconds(from: Timestamp, to: Timestamp) -> f64 {
    (to.as_millisecond() - from.as_millisecond()) as f64 / 1000.0
}

/// The metrics of `record`, a run of `plan`'s release; `jobs` is the parallelism the bound
/// assumes (the build's `--jobs`).
pub fn run_metrics(plan: &Plan, record: &RunRecord, jobs: usize) -> RunMetrics {
    let jobs = jobs.max(1);
    let by_name: HashMap<&str, &ComponentResult> =
        record.components.iter().map(|c| (c.name.as_str(), c)).collect();
    let duration = |c: &ComponentResult| match (c.outcome, c.started, c.finished) {
        (Outcome::Succeeded | Outcome::Failed, Some(s), Some(f)) => seconds(s, f).max(0.0),
        _ => 0.0,
    };
    let graph = &plan.graph;
    let millis = |i: usize| by_name.get(graph.name(i)).map_or(0, |c| (duration(c) * 1000.0).round() as u64);
    // A run that built nothing (everything reused) has no critical path and no efficiency.
    let built_any = record.components.iter().any(|c| duration(c) > 0.0);
    let path: Vec<String> = if built_any {
        graph.critical_path(millis).into_iter().map(|i| graph.name(i).to_owned()).collect()
    } else {
        Vec::new()
    };
    let critical_path_seconds: f64 =
        path.iter().filter_map(|n| by_name.get(n.as_str())).map(|c| duration(c)).sum();
    let work: f64 = record.components.iter().map(duration).sum();
    let end = record.finished.or_else(|| record.components.iter().filter_map(|c| c.finished).max());
    let makespan = end.map_or(0.0, |e| seconds(record.started, e).max(0.0));
    let bound = critical_path_seconds.max(work / jobs as f64);
    let count = |o: Outcome| record.components.iter().filter(|c| c.outcome == o).count();
    let first_failure = record
        .components
        .iter()
        .filter(|c| c.outcome == Outcome::Failed)
        .filter_map(|c| c.finished)
        .min()
        .map(|f| seconds(record.started, f));
    let timeline = record
        .components
        .iter()
        .filter_map(|c| {
            let (s, f) = (c.started?, c.finished?);
            Some(TimelineBar {
                component: c.name.clone(),
                outcome: c.outcome,
                start: seconds(record.started, s).max(0.0),
                end: seconds(record.started, f).max(0.0),
                critical: path.contains(&c.name),
            })
        })
        .collect();
    let components = record.components.len();
    RunMetrics {
        backend: record.backend.clone(),
        run: record.run.clone(),
        state: record.state,
        started: record.started,
        makespan,
        builds_started: count(Outcome::Succeeded) + count(Outcome::Failed),
        succeeded: count(Outcome::Succeeded),
        reused: count(Outcome::Reused),
        failed: count(Outcome::Failed),
        not_built: count(Outcome::Skipped) + count(Outcome::Cancelled),
        work,
        critical_path: path,
        critical_path_seconds,
        jobs,
        bound,
        efficiency: (built_any && makespan > 0.0).then(|| (bound / makespan).min(1.0)),
        first_failure,
        api_requests_per_component: record
            .api_requests
            .filter(|_| components > 0)
            .map(|n| n as f64 / components as f64),
        timeline,
    }
}

/// Whether the backends that built a component with the same fingerprint got the same digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DigestAgreement {
    /// The component.
    pub component: String,
    /// The fingerprint they share.
    pub fingerprint: String,
    /// Backend → digest.
    pub digests: std::collections::BTreeMap<String, String>,
    /// Whether all digests are equal.
    pub agree: bool,
}

/// For every (component, fingerprint) that two or more of `records` built or reused, the
/// digests each backend got.
pub fn digest_agreement(records: &[RunRecord]) -> Vec<DigestAgreement> {
    let mut seen: std::collections::BTreeMap<(String, String), std::collections::BTreeMap<String, String>> =
        Default::default();
    for r in records {
        for c in &r.components {
            if let (Some(fp), Some(digest)) = (&c.fingerprint, &c.digest) {
                seen.entry((c.name.clone(), fp.clone()))
                    .or_default()
                    .insert(r.backend.clone(), digest.clone());
            }
        }
    }
    seen.into_iter()
        .filter(|(_, d)| d.len() > 1)
        .map(|((component, fingerprint), digests)| {
            let agree = digests.values().all(|d| Some(d) == digests.values().next());
            DigestAgreement { component, fingerprint, digests, agree }
        })
        .collect()
}
