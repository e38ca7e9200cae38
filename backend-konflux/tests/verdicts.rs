//! FROM verdicts of konflux and doozer-konflux on crafted Dockerfiles: for each case of
//! reference (the last FROM, a builder FROM, a whole-ARG FROM, a text that is also a stage name,
//! one text for two images, a text equal to the last FROM's, `RUN --mount from=`, `ADD --from`,
//! an image from any registry, a folder source, stages and `scratch`), the exact verdict each
//! backend records for every reference, by component, line and kind.
//!
//! Konflux has no FROM replacement: a FROM whose image is a whole global ARG takes a
//! `build-args` entry, every other change needs the repository to carry a forked
//! `Dockerfile.okd`. doozer-konflux builds generated sources that already say every change.
//! The Dockerfiles are git sources read from memory (no repository, no network).
#![allow(clippy::unwrap_used)]

use okd_core::{
    backend::{ArtifactKind, BackendPlan, Mechanism, Verdict},
    dockerfile::RefKind,
};
use okd_tests::verdicts::backend_plan;

async fn konflux() -> BackendPlan {
    backend_plan(backend_konflux::konflux, &[]).await
}

async fn doozer_konflux() -> BackendPlan {
    backend_plan(backend_konflux::doozer_konflux, &[("git_remote", "https://github.com/example/okd-sources")])
        .await
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

fn fork() -> Verdict {
    Verdict::Fork { path: "Dockerfile.okd".into() }
}

/// Every reference the plan changes, whatever the other systems can say of it.
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

#[tokio::test]
async fn the_last_from_to_a_member_or_a_stream_image_needs_a_fork() {
    let refs = [("base", 1, RefKind::From), ("plain", 3, RefKind::From)];
    assert_verdicts(&konflux().await, &rows(&refs, &fork()));
}

#[tokio::test]
async fn a_builder_from_needs_a_fork() {
    assert_verdicts(&konflux().await, &[("plain", 1, RefKind::From, fork())]);
}

/// `FROM ${BUILDER}` and `FROM $BASE`: each image comes whole from a global ARG, so a
/// `build-args` entry says it and the repository needs no fork.
#[tokio::test]
async fn a_whole_arg_from_is_a_build_arg() {
    let plan = konflux().await;
    let refs = [("args", 3, RefKind::From), ("args", 5, RefKind::From)];
    assert_verdicts(&plan, &rows(&refs, &native(Mechanism::BuildArg)));
    let of =
        |name: &'static str| plan.artifacts.iter().filter(move |a| a.components.iter().any(|c| c == name));
    assert!(!of("args").any(|a| a.kind == ArtifactKind::Fork), "args needs no fork");
    assert!(of("plain").any(|a| a.kind == ArtifactKind::Fork), "plain needs one");
    // The build args name the members' Konflux images.
    for arg in ["BUILDER=quay.io/example/okd/builder:", "BASE=quay.io/example/okd/base:"] {
        assert!(of("args").any(|a| a.content.contains(arg)), "no build arg {arg}");
    }
}

/// `${GOLANG}` would have to carry two images (two builders by position): one build arg cannot,
/// so the fork says both.
#[tokio::test]
async fn an_arg_for_two_images_is_no_build_arg() {
    let refs =
        [("ambiguous", 2, RefKind::From), ("ambiguous", 4, RefKind::From), ("ambiguous", 6, RefKind::From)];
    assert_verdicts(&konflux().await, &rows(&refs, &fork()));
}

/// `${BASE}` is the whole image of a kept builder FROM and of the last FROM, which goes to a
/// member. A `--build-arg BASE=...` would change both FROMs (a FROM sees the global ARG), so the
/// builder would no longer build on what the plan keeps: only a fork says it.
#[tokio::test]
async fn an_arg_that_a_kept_from_also_uses_is_no_build_arg() {
    let plan = konflux().await;
    assert_verdicts(
        &plan,
        &[("arg-shared", 2, RefKind::From, Verdict::Unchanged), ("arg-shared", 4, RefKind::From, fork())],
    );
    let args = plan
        .artifacts
        .iter()
        .filter(|a| a.components.iter().any(|c| c == "arg-shared"))
        .any(|a| a.content.contains("BASE=quay.io/example/okd/base:"));
    assert!(!args, "a build arg BASE would change the kept builder FROM too");
}

/// A fork says whatever the other systems cannot: a text that is also a stage name, a text
/// equal to the last FROM's, `RUN --mount from=`, `ADD --from`, any registry, a folder source, a
/// FROM built from an ARG that is not the whole image.
#[tokio::test]
async fn every_other_change_needs_the_fork() {
    let refs = [
        ("stage-name", 2, RefKind::CopyFrom),
        ("redefined", 2, RefKind::From),
        ("redefined", 5, RefKind::From),
        ("last-from-text", 1, RefKind::From),
        ("last-from-text", 3, RefKind::From),
        ("mounts", 2, RefKind::MountFrom),
        ("mounts", 3, RefKind::AddFrom),
        ("mounts", 4, RefKind::CopyFrom),
        ("not-stream", 1, RefKind::From),
        ("not-stream", 3, RefKind::From),
        ("path-source", 1, RefKind::From),
        ("path-source", 3, RefKind::From),
    ];
    assert_verdicts(&konflux().await, &rows(&refs, &fork()));
}

/// Each fork verdict names a file the plan carries for that component, of kind fork, and each
/// component with a fork verdict has one.
#[tokio::test]
async fn fork_verdicts_name_the_forked_files() {
    let plan = konflux().await;
    for v in &plan.verdicts {
        let Verdict::Fork { path } = &v.verdict else { continue };
        let file = plan.artifacts.iter().find(|a| {
            a.kind == ArtifactKind::Fork
                && a.components.contains(&v.component)
                && a.path.ends_with(path.as_str())
        });
        assert!(file.is_some(), "{} line {}: no fork {path}", v.component, v.line);
    }
    let forked: std::collections::BTreeSet<&str> = plan
        .artifacts
        .iter()
        .filter(|a| a.kind == ArtifactKind::Fork)
        .flat_map(|a| a.components.iter().map(String::as_str))
        .collect();
    let with_fork_verdict: std::collections::BTreeSet<&str> = plan
        .verdicts
        .iter()
        .filter(|v| matches!(v.verdict, Verdict::Fork { .. }))
        .map(|v| v.component.as_str())
        .collect();
    assert_eq!(forked, with_fork_verdict);
}

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
async fn stages_scratch_and_kept_images_are_unchanged() {
    assert_verdicts(&konflux().await, &unchanged_rows());
    assert_verdicts(&doozer_konflux().await, &unchanged_rows());
}

/// doozer-konflux's generated sources say every change, whatever Konflux itself cannot.
#[tokio::test]
async fn doozer_konflux_generated_sources_carry_every_change() {
    let mut rows = rows(CHANGED, &native(Mechanism::GeneratedSource));
    rows.extend(unchanged_rows());
    let plan = doozer_konflux().await;
    assert_verdicts(&plan, &rows);
    // The rows are the whole table.
    assert_eq!(plan.verdicts.len(), rows.len());
}

#[tokio::test]
async fn konflux_verdicts_are_the_whole_table() {
    let plan = konflux().await;
    let changed = CHANGED.len() + UNCHANGED.len();
    assert_eq!(plan.verdicts.len(), changed);
}

#[tokio::test]
async fn one_verdict_per_resolution() {
    assert_one_verdict_per_resolution(&konflux().await);
    assert_one_verdict_per_resolution(&doozer_konflux().await);
}
