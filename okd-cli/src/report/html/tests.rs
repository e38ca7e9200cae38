#![allow(clippy::unwrap_used)]
//! The page from in-memory comparisons: sections, charts, escaping, critical bars.

use std::{collections::HashMap, path::Path, sync::Arc};

use jiff::Timestamp;
use okd_core::{
    backend::{
        Approach, BackendInfo, BackendPlan, Capabilities, ComponentResult, Limit, Maturity, Mechanism,
        Outcome, ReferenceVerdict, RunId, RunState, TriggerModel, rewrite_verdicts,
    },
    compare::{Planned, RunRecord, compare, sources},
    manifest::{LoadOptions, load_str},
    plan::{Plan, PlanOptions, plan, sources_from_memory},
};

use super::*;

const MINI: &str = r#"name: r
version: 1.0.0
output: { registry: reg:5000, repository: okd/r }
replace: { "up/base:1": member:base }
components:
  - { name: base, source: { path: x } }
  - { name: cli, source: { path: x }, payload: true }
  - { name: tools, source: { path: x } }
"#;

fn mini(text: &str) -> Plan {
    let r = Arc::new(load_str(Path::new("r.yaml"), text, &LoadOptions::default()).unwrap());
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

fn info(name: &'static str, capabilities: Capabilities) -> BackendInfo {
    BackendInfo {
        name,
        summary: "a <b>test</b> backend",
        maturity: Maturity::Working,
        capabilities,
        approach: Approach {
            source_of_truth: "t",
            config_location: "t",
            configs_touched_per_repo: 0,
            trigger_model: TriggerModel::OnDemand,
            from_replacement: "rewrite & build",
            developer_feedback: "t",
        },
    }
}

fn at(s: i64) -> Option<Timestamp> {
    Some(Timestamp::from_second(1_800_000_000 + s).unwrap())
}

fn result(name: &str, outcome: Outcome, span: Option<(i64, i64)>) -> ComponentResult {
    ComponentResult {
        name: name.into(),
        outcome,
        image: None,
        digest: Some(format!("sha256:{name}")),
        reason: None,
        started: span.and_then(|(s, _)| at(s)),
        finished: span.and_then(|(_, f)| at(f)),
        fingerprint: Some(format!("fp:{name}")),
        arches: Vec::new(),
    }
}

/// Three backends (one cannot plan), a run of `local` with a failure and a reuse.
fn comparison(with_runs: bool) -> Comparison {
    let p = Arc::new(mini(MINI));
    let local = BackendPlan::new("local", p.clone(), vec![])
        .with_verdicts(rewrite_verdicts(&p, Mechanism::RewriteBeforeBuild));
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
    let other = BackendPlan::new("other", p.clone(), vec![]).with_verdicts(verdicts);
    let planned = [
        Planned { info: info("local", Capabilities::NONE.local_reproduction(true)), plan: Ok(local) },
        Planned { info: info("other", Capabilities::NONE), plan: Ok(other) },
        Planned { info: info("broken", Capabilities::NONE), plan: Err("cannot <plan>".into()) },
    ];
    let runs = [RunRecord {
        backend: "local".into(),
        run: RunId("r1".into()),
        state: RunState::Finished,
        started: at(0).unwrap(),
        finished: at(100),
        components: vec![
            result("base", Outcome::Succeeded, Some((0, 30))),
            result("cli", Outcome::Failed, Some((30, 80))),
            result("tools", Outcome::Reused, None),
        ],
        api_requests: None,
    }];
    let mut c = compare(&p, &planned, if with_runs { &runs } else { &[] }, 2);
    c.missing_runs = vec!["other: no run of r 1.0.0".into()];
    c
}

fn sections(html: &str) -> Vec<&str> {
    html.match_indices("<section id=\"")
        .map(|(i, m)| html[i + m.len()..].split('"').next().unwrap())
        .collect()
}

#[test]
fn every_section_with_one_svg_per_chart_and_critical_bars_marked() {
    let html = page(Some(&comparison(true)), None);
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert_eq!(sections(&html), ["approach", "cost", "references", "runs"]);
    for id in ["approach", "cost", "references", "runs"] {
        let section = html.split(&format!("<section id=\"{id}\">")).nth(1).unwrap();
        assert!(section.starts_with("\n<h2>"), "{id}");
    }
    // Four cost charts and one Gantt chart; each bar chart has one row per backend.
    assert_eq!(html.matches("<svg class=\"chart bars").count(), 4);
    assert_eq!(html.matches("<svg class=\"chart gantt\"").count(), 1);
    assert_eq!(html.matches("<svg").count(), 5);
    // Two bars (tools was reused: no times); base and cli are the critical path.
    assert_eq!(html.matches("class=\"gantt-bar ").count(), 2);
    assert!(html.contains("class=\"gantt-bar o-succeeded critical\""), "{html}");
    assert!(html.contains("class=\"gantt-bar o-failed critical\""));
    assert!(html.contains(">1m40s</text>") || html.contains(">1m30s</text>"), "ticks labelled");
    // Capabilities: local reproduction only for local.
    assert_eq!(html.matches("<td class=\"yes\">✓</td>").count(), 1);
    assert_eq!(html.matches("<td class=\"no\">–</td>").count(), 17);
    // Five references, two contested; one filter per backend that planned and failed.
    assert_eq!(html.matches("<tr class=\"contested\"").count(), 2);
    assert_eq!(html.matches("data-contested=").count(), 5);
    assert_eq!(html.matches("<select data-col=").count(), 3);
    assert!(html.contains("cannot: stage-name") && html.contains("fork: Dockerfile.okd"));
    assert!(html.contains("other: no run of r 1.0.0"));
    assert!(html.contains("<details><summary>local: files per repository"));
    // Self-contained: one inline script, no external resources.
    assert_eq!(html.matches("<script").count(), 1);
    for external in ["src=", "<link", "http://", "https://", "url(", "@import"] {
        assert!(!html.contains(external), "{external}");
    }
}

#[test]
fn everything_from_the_data_is_escaped() {
    assert_eq!(escape("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    let mut c = comparison(true);
    let evil = "<script>alert(1)</script>";
    c.references[0].component = evil.into();
    c.runs[0].timeline[0].component = evil.into();
    c.runs[0].critical_path[0] = evil.into();
    c.missing_runs.push(evil.into());
    c.release.path = evil.into();
    let html = page(Some(&c), None);
    assert_eq!(html.matches("<script").count(), 1, "only the page's own script");
    assert!(html.matches("&lt;script&gt;alert(1)&lt;/script&gt;").count() >= 5);
    assert!(html.contains("cannot &lt;plan&gt;") && html.contains("a &lt;b&gt;test&lt;/b&gt; backend"));
    assert!(html.contains("rewrite &amp; build"));
}

#[test]
fn without_runs_it_says_how_to_get_them_and_is_deterministic() {
    let c = comparison(false);
    let html = page(Some(&c), None);
    assert!(html.contains("No runs compared") && html.contains("okd build r.yaml --backend B"));
    assert!(html.contains("--runs latest"));
    assert!(!html.contains("class=\"chart gantt\""));
    assert_eq!(html, page(Some(&c), None));
}

#[test]
fn sources_alone_make_a_page_with_only_that_section() {
    let (a, b) = (mini(MINI), mini(&MINI.replace("  - { name: tools, source: { path: x } }\n", "")));
    let s = sources::compare(&[
        sources::Input { label: "a.yaml".into(), plan: &a },
        sources::Input { label: "<b>.yaml".into(), plan: &b },
    ]);
    let html = page(None, Some(&s));
    assert_eq!(sections(&html), ["sources"]);
    assert!(html.contains("<h1>Sources comparison</h1>") && html.contains("Only in some inputs"));
    assert!(html.contains("&lt;b&gt;.yaml") && !html.contains("<script"));
    let both = page(Some(&comparison(false)), Some(&s));
    assert_eq!(sections(&both), ["approach", "cost", "references", "runs", "sources"]);
}
