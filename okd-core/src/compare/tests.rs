#![allow(clippy::unwrap_used)]
//! The comparison over in-memory plans: verdict rows and totals, run metrics, digest agreement.

use std::{collections::HashMap, path::Path, sync::Arc};

use jiff::Timestamp;

use super::*;
use crate::{
    backend::{
        Approach, Artifact, ArtifactKind, Capabilities, ComponentResult, Limit, Maturity, Mechanism, Outcome,
        ReferenceVerdict, RunId, RunState, TriggerModel, Verdict, rewrite_verdicts,
    },
    manifest::{LoadOptions, load_str},
    plan::{PlanOptions, plan, sources_from_memory},
};

const MINI: &str = r#"name: r
version: 1.0.0
output: { registry: reg:5000, repository: okd/r }
replace: { "up/base:1": member:base }
components:
  - { name: base, source: { path: x } }
  - { name: cli, source: { path: x }, payload: true }
  - { name: tools, source: { path: x } }
"#;

fn mini() -> Plan {
    let r = Arc::new(load_str(Path::new("r.yaml"), MINI, &LoadOptions::default()).unwrap());
    let files: HashMap<String, String> = [
        ("base", "FROM quay.io/os:9\n"),
        ("cli", "FROM quay.io/os:9 AS b\nRUN true\nFROM up/base:1\nCOPY --from=b /oc /oc\n"),
        ("tools", "FROM up/base:1\n"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    plan(r.clone(), &sources_from_memory(&r, &files), &PlanOptions::default()).unwrap()
}

fn info(name: &'static str) -> BackendInfo {
    BackendInfo {
        name,
        summary: "test",
        maturity: Maturity::Working,
        capabilities: Capabilities::NONE,
        approach: Approach {
            source_of_truth: "t",
            config_location: "t",
            configs_touched_per_repo: 0,
            trigger_model: TriggerModel::OnDemand,
            from_replacement: "t",
            developer_feedback: "t",
        },
    }
}

#[test]
fn every_reference_gets_a_row_with_each_backends_verdict_and_totals_add_up() {
    let p = Arc::new(mini());
    let local = BackendPlan::new("local", p.clone(), vec![])
        .with_verdicts(rewrite_verdicts(&p, Mechanism::RewriteBeforeBuild));
    // A backend that cannot express cli's base FROM and forks tools.
    let verdicts = p
        .components
        .iter()
        .flat_map(|c| {
            c.stages.iter().map(move |r| {
                let v = match (c.name.as_str(), r.changes()) {
                    (_, false) => Verdict::Unchanged,
                    ("cli", true) => Verdict::Cannot { why: Limit::StageName },
                    _ => Verdict::Fork { path: "Dockerfile.okd".into() },
                };
                ReferenceVerdict::new(c, r, v)
            })
        })
        .collect();
    let other = BackendPlan::new(
        "other",
        p.clone(),
        vec![Artifact {
            repository: Some("o/tools".into()),
            path: "Dockerfile.okd".into(),
            content: "FROM x\n".into(),
            components: vec!["tools".into()],
            kind: ArtifactKind::Fork,
        }],
    )
    .with_verdicts(verdicts);
    let planned = [
        Planned { info: info("local"), plan: Ok(local) },
        Planned { info: info("other"), plan: Ok(other) },
        Planned { info: info("broken"), plan: Err("cannot plan".into()) },
    ];
    let c = compare(&p, &planned, &[], 4);
    // base: 1 FROM; cli: FROM, FROM, COPY --from (stage); tools: 1 FROM.
    assert_eq!(c.release.references, 5);
    assert_eq!(c.references.len(), 5);
    assert!(c.references.iter().all(|r| r.verdicts.len() == 2));
    let local = &c.backends[0].verdicts;
    assert_eq!((local.unchanged, local.native, local.fork, local.cannot), (3, 2, 0, 0));
    assert_eq!(local.by_mechanism["rewrite-before-build"], 2);
    let other = &c.backends[1];
    assert_eq!((other.verdicts.native, other.verdicts.fork, other.verdicts.cannot), (0, 1, 1));
    assert_eq!(other.verdicts.by_limit["stage-name"], 1);
    assert_eq!(other.cost.as_ref().unwrap().forks, 1);
    assert_eq!(c.backends[2].error.as_deref(), Some("cannot plan"));
    assert!(c.backends[2].cost.is_none());
    assert_eq!(c.references.iter().filter(|r| r.contested()).count(), 2);
}

fn at(s: i64) -> Option<Timestamp> {
    Some(Timestamp::from_second(1_800_000_000 + s).unwrap())
}

fn result(name: &str, outcome: Outcome, span: Option<(i64, i64)>, digest: &str) -> ComponentResult {
    ComponentResult {
        name: name.into(),
        outcome,
        image: None,
        digest: (!digest.is_empty()).then(|| digest.to_owned()),
        reason: None,
        started: span.and_then(|(s, _)| at(s)),
        finished: span.and_then(|(_, f)| at(f)),
        fingerprint: Some(format!("sha256:{name}")),
        arches: Vec::new(),
    }
}

#[test]
fn run_metrics_measure_makespan_against_the_graph_bound() {
    let p = mini();
    let record = RunRecord {
        backend: "local".into(),
        run: RunId("r1".into()),
        state: RunState::Finished,
        started: at(0).unwrap(),
        finished: at(100),
        components: vec![
            result("base", Outcome::Succeeded, Some((0, 30)), "sha256:a"),
            result("cli", Outcome::Failed, Some((30, 80)), ""),
            result("tools", Outcome::Succeeded, Some((30, 40)), "sha256:t"),
        ],
        api_requests: Some(9),
    };
    let m = run_metrics(&p, &record, 2);
    assert_eq!(m.makespan, 100.0);
    assert_eq!(m.critical_path, ["base", "cli"]);
    assert_eq!(m.critical_path_seconds, 80.0);
    assert_eq!(m.work, 90.0);
    // max(80, 90 / 2)
    assert_eq!(m.bound, 80.0);
    assert_eq!(m.efficiency, Some(0.8));
    assert_eq!(m.first_failure, Some(80.0));
    assert_eq!((m.builds_started, m.succeeded, m.failed, m.reused), (3, 2, 1, 0));
    assert_eq!(m.api_requests_per_component, Some(3.0));
    assert_eq!(m.timeline.iter().filter(|b| b.critical).count(), 2);
    // One job: the work bounds it.
    assert_eq!(run_metrics(&p, &record, 1).bound, 90.0);
    // Everything reused: nothing to measure a schedule by.
    let reused = RunRecord {
        components: vec![
            result("base", Outcome::Reused, None, "sha256:a"),
            result("cli", Outcome::Reused, None, "sha256:c"),
            result("tools", Outcome::Reused, None, "sha256:t"),
        ],
        ..record
    };
    let m = run_metrics(&p, &reused, 2);
    assert!(m.critical_path.is_empty() && m.efficiency.is_none(), "{m:?}");
    assert_eq!((m.reused, m.builds_started), (3, 0));
}

#[test]
fn digests_agree_only_when_every_backend_got_the_same_one() {
    let run = |backend: &str, base: &str, tools: &str| RunRecord {
        backend: backend.into(),
        run: RunId(backend.into()),
        state: RunState::Finished,
        started: at(0).unwrap(),
        finished: at(1),
        components: vec![
            result("base", Outcome::Succeeded, Some((0, 1)), base),
            result("tools", Outcome::Reused, None, tools),
        ],
        api_requests: None,
    };
    let d = digest_agreement(&[run("local", "sha256:a", "sha256:t"), run("konflux", "sha256:a", "sha256:u")]);
    assert_eq!(d.len(), 2);
    assert!(d[0].agree && d[0].component == "base");
    assert!(!d[1].agree);
    assert_eq!(d[1].digests["konflux"], "sha256:u");
    assert!(digest_agreement(&[run("local", "sha256:a", "sha256:t")]).is_empty());
}
