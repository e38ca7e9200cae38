//! FROM verdicts of the local backend on crafted Dockerfiles: okd-build rewrites each
//! Dockerfile before it builds it, so every reference the plan changes is native (a text that is
//! also a stage name, one text for two images, a text equal to the last FROM's, `RUN --mount
//! from=`, `ADD --from`, any registry, a folder source) and stages, `scratch` and kept images are
//! unchanged; by component, line and kind. The rewritten Dockerfiles the plan carries must say
//! the same. Planning needs no engine: the backend names one that does not exist.
#![allow(clippy::unwrap_used)]

use okd_core::backend::{BackendPlan, Mechanism, Verdict};
use okd_tests::verdicts::{
    CHANGED, DOCKERFILES, UNCHANGED, assert_one_verdict_per_resolution, assert_verdicts, backend_plan,
    native, rows, unchanged_rows,
};

/// A host no engine listens on: planning must not need one.
const NO_ENGINE: &str = "unix:///nonexistent/okd-build-verdicts/engine.sock";

async fn local() -> BackendPlan {
    backend_plan(backend_local::local, &[("host", NO_ENGINE)]).await
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
