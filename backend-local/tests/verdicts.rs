//! FROM verdicts of the local backend on crafted Dockerfiles: okd-build rewrites each
//! Dockerfile before it builds it, so every reference the plan changes is native (a text that is
//! also a stage name, one text for two images, a text equal to the last FROM's, `RUN --mount
//! from=`, `ADD --from`, any registry, a folder source) and stages, `scratch` and kept images are
//! unchanged; by component, line and kind. The rewritten Dockerfiles the plan carries must say
//! the same. Planning needs no engine: the backend names one that does not exist.
#![allow(clippy::unwrap_used)]

use okd_core::{
    backend::{BackendPlan, Mechanism, Verdict},
    dockerfile::RefKind,
};
use okd_tests::verdicts::{DOCKERFILES, backend_plan};

/// A host no engine listens on: planning must not need one.
const NO_ENGINE: &str = "unix:///nonexistent/okd-build-verdicts/engine.sock";

async fn local() -> BackendPlan {
    backend_plan(backend_local::local, &[("host", NO_ENGINE)]).await
}

type Row = (&'static str, u32, RefKind, Verdict);

fn native(how: Mechanism) -> Verdict {
    Verdict::Native { how }
}

/// Asserts the verdict of each row: exactly one verdict at that component, line and kind, and
/// the one expected. Every mismatch is listed, not only the first.
fn assert_verdicts(plan: &BackendPlan, rows: &[Row]) {
    let mut wrong = Vec::new();
    for (component, line, kind, expected) in rows {
        let found: Vec<&Verdict> = plan
            .verdicts
            .iter()
            .filter(|v| v.component == *component && v.line == *line && v.kind == *kind)
            .map(|v| &v.verdict)
            .collect();
        if found != [expected] {
            wrong.push(format!(
                "{component} line {line} {kind:?}: expected {}, got {:?}",
                expected.describe(),
                found.iter().map(|v| v.describe()).collect::<Vec<_>>()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}: wrong verdicts:\n{}", plan.backend, wrong.join("\n"));
}

/// One verdict per resolution of every component, in the resolution's order, naming its line,
/// kind and text: the comparison table has no holes and no extras.
fn assert_one_verdict_per_resolution(plan: &BackendPlan) {
    let core = &plan.core;
    let refs: usize = core.components.iter().map(|c| c.stages.len()).sum();
    assert_eq!(plan.verdicts.len(), refs, "{}: {:#?}", plan.backend, plan.verdicts);
    for c in &core.components {
        let verdicts: Vec<(u32, RefKind, &str)> = plan
            .verdicts
            .iter()
            .filter(|v| v.component == c.name)
            .map(|v| (v.line, v.kind, v.original.as_str()))
            .collect();
        let stages: Vec<(u32, RefKind, &str)> =
            c.stages.iter().map(|r| (r.line, r.kind, r.original.as_str())).collect();
        assert_eq!(verdicts, stages, "{}: {}", plan.backend, c.name);
    }
    // Every read component has references, so the check above is not vacuous.
    for c in core.components.iter().filter(|c| c.name != "unread") {
        assert!(!c.stages.is_empty(), "{} was not read", c.name);
    }
    assert!(core.component("unread").unwrap().stages.is_empty());
}

/// `verdict` for each of `refs`.
fn rows(refs: &[(&'static str, u32, RefKind)], verdict: &Verdict) -> Vec<Row> {
    refs.iter().map(|&(c, line, kind)| (c, line, kind, verdict.clone())).collect()
}

/// Every reference the plan changes.
const CHANGED: &[(&str, u32, RefKind)] = &[
    ("base", 1, RefKind::From),
    ("plain", 1, RefKind::From),
    ("plain", 3, RefKind::From),
    ("args", 3, RefKind::From),
    ("args", 5, RefKind::From),
    ("stage-name", 2, RefKind::CopyFrom),
    ("ambiguous", 2, RefKind::From),
    ("ambiguous", 4, RefKind::From),
    ("ambiguous", 6, RefKind::From),
    ("redefined", 2, RefKind::From),
    ("redefined", 5, RefKind::From),
    ("last-from-text", 1, RefKind::From),
    ("last-from-text", 3, RefKind::From),
    ("mounts", 2, RefKind::MountFrom),
    ("mounts", 3, RefKind::AddFrom),
    ("mounts", 4, RefKind::CopyFrom),
    ("not-stream", 1, RefKind::From),
    ("not-stream", 3, RefKind::From),
    ("arg-shared", 4, RefKind::From),
    ("path-source", 1, RefKind::From),
    ("path-source", 3, RefKind::From),
];
/// Stage references, `scratch` and images the plan keeps: nothing to replace.
const UNCHANGED: &[(&str, u32, RefKind)] = &[
    ("builder", 1, RefKind::From),
    ("plain", 4, RefKind::CopyFrom),
    ("plain", 5, RefKind::CopyFrom),
    ("args", 6, RefKind::CopyFrom),
    ("stage-name", 1, RefKind::From),
    ("stage-name", 3, RefKind::From),
    ("stage-name", 4, RefKind::From),
    ("stage-name", 5, RefKind::CopyFrom),
    ("stage-name", 6, RefKind::From),
    ("ambiguous", 7, RefKind::CopyFrom),
    ("ambiguous", 8, RefKind::CopyFrom),
    ("redefined", 6, RefKind::From),
    ("redefined", 7, RefKind::CopyFrom),
    ("redefined", 8, RefKind::CopyFrom),
    ("last-from-text", 4, RefKind::CopyFrom),
    ("mounts", 1, RefKind::From),
    ("mounts", 5, RefKind::From),
    ("not-stream", 4, RefKind::CopyFrom),
    ("arg-shared", 2, RefKind::From),
    ("arg-shared", 5, RefKind::CopyFrom),
    ("path-source", 4, RefKind::CopyFrom),
    ("path-source", 5, RefKind::CopyFrom),
];

fn unchanged_rows() -> Vec<Row> {
    UNCHANGED.iter().map(|&(c, line, kind)| (c, line, kind, Verdict::Unchanged)).collect()
}

#[tokio::test]
async fn every_change_is_rewritten_before_the_build() {
    let plan = local().await;
    let mut rows = rows(CHANGED, &native(Mechanism::RewriteBeforeBuild));
    rows.extend(unchanged_rows());
    assert_verdicts(&plan, &rows);
    // The rows are the whole table.
    assert_eq!(plan.verdicts.len(), rows.len());
}

#[tokio::test]
async fn stages_scratch_and_kept_images_are_unchanged() {
    assert_verdicts(&local().await, &unchanged_rows());
}

/// What the verdicts say is what the rewritten Dockerfiles hold: a native reference's line now
/// names the resolved image, an unchanged reference's line is as written.
#[tokio::test]
async fn the_rewritten_dockerfiles_agree_with_the_verdicts() {
    let plan = local().await;
    let mut checked = 0;
    for v in &plan.verdicts {
        let original = DOCKERFILES.iter().find(|(name, _)| *name == v.component).unwrap().1;
        let rewritten =
            &plan.artifacts.iter().find(|a| a.path == format!("{}/Dockerfile", v.component)).unwrap().content;
        let index = usize::try_from(v.line).unwrap() - 1;
        let (before, after) = (original.lines().nth(index).unwrap(), rewritten.lines().nth(index).unwrap());
        let planned = plan.core.component(&v.component).unwrap();
        let r = planned.stages.iter().find(|r| r.line == v.line && r.kind == v.kind).unwrap();
        match &v.verdict {
            Verdict::Native { how: Mechanism::RewriteBeforeBuild } => {
                assert_ne!(before, after, "{} line {}", v.component, v.line);
                assert!(after.contains(&r.resolved), "{} line {}: {after}", v.component, v.line);
            }
            Verdict::Unchanged => assert_eq!(before, after, "{} line {}", v.component, v.line),
            other => panic!("{} line {}: {other:?}", v.component, v.line),
        }
        checked += 1;
    }
    assert_eq!(checked, CHANGED.len() + UNCHANGED.len());
}

#[tokio::test]
async fn one_verdict_per_resolution() {
    assert_one_verdict_per_resolution(&local().await);
}
