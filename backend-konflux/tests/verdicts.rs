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
use okd_tests::verdicts::{
    CHANGED, UNCHANGED, assert_one_verdict_per_resolution, assert_verdicts, backend_plan, native, rows,
    unchanged_rows,
};

async fn konflux() -> BackendPlan {
    backend_plan(backend_konflux::konflux, &[]).await
}

async fn doozer_konflux() -> BackendPlan {
    backend_plan(backend_konflux::doozer_konflux, &[("git_remote", "https://github.com/example/okd-sources")])
        .await
}

fn fork() -> Verdict {
    Verdict::Fork { path: "Dockerfile.okd".into() }
}

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
