//! FROM verdicts of prow and doozer-prow on crafted Dockerfiles: for each case of reference
//! (the last FROM, a builder FROM, a whole-ARG FROM, a text that is also a stage name, one text
//! for two images, a text equal to the last FROM's, `RUN --mount from=`, `ADD --from`, an image
//! ci-operator cannot take, a folder source, stages and `scratch`), the exact verdict each
//! backend records for every reference, by component, line and kind.
//!
//! The Dockerfiles are git sources read from memory (no repository, no network), so the plan is
//! the one a real read would give. Where a verdict follows the OpenShift Build API that
//! ci-operator drives (`dockerStrategy.from` replaces the last FROM first, then
//! `source.images[].as` replaces FROM and COPY --from by literal text), the expectation says
//! what the Build API does, not what the code happens to record.
#![allow(clippy::unwrap_used)]

use okd_core::{
    backend::{BackendPlan, Limit, Mechanism, Verdict},
    dockerfile::RefKind,
};
use okd_tests::verdicts::{
    CHANGED, Row, assert_one_verdict_per_resolution, assert_verdicts, backend_plan, cannot, native, rows,
    unchanged_rows,
};

async fn prow() -> BackendPlan {
    backend_plan(backend_prow::prow, &[]).await
}

async fn doozer_prow() -> BackendPlan {
    backend_plan(backend_prow::doozer_prow, &[]).await
}

#[tokio::test]
async fn the_last_from_to_a_member_or_a_stream_image_is_ci_operator_from() {
    let plan = prow().await;
    assert_verdicts(
        &plan,
        &[
            // Stream alias to quay.io (an external image), member `base` (another config's tag).
            ("base", 1, RefKind::From, native(Mechanism::CiOperatorFrom)),
            ("plain", 3, RefKind::From, native(Mechanism::CiOperatorFrom)),
        ],
    );
}

#[tokio::test]
async fn a_builder_from_replaced_by_text_is_inputs_as() {
    let plan = prow().await;
    assert_verdicts(
        &plan,
        &[
            ("plain", 1, RefKind::From, native(Mechanism::InputsAs)),
            ("mounts", 4, RefKind::CopyFrom, native(Mechanism::InputsAs)),
        ],
    );
}

#[tokio::test]
async fn a_whole_arg_from_is_matched_by_its_literal_text() {
    let plan = prow().await;
    assert_verdicts(
        &plan,
        &[
            ("args", 3, RefKind::From, native(Mechanism::InputsAs)),
            ("args", 5, RefKind::From, native(Mechanism::CiOperatorFrom)),
        ],
    );
    // The config says it with the text as written, which is what the Build API matches.
    let config = plan
        .artifacts
        .iter()
        .find(|a| a.components == ["args"] && a.path.starts_with("ci-operator/config/"))
        .unwrap();
    assert!(config.content.contains("${BUILDER}"), "{}", config.content);
}

#[tokio::test]
async fn a_text_that_is_also_a_stage_name_cannot_be_replaced() {
    let plan = prow().await;
    assert_verdicts(&plan, &[("stage-name", 2, RefKind::CopyFrom, cannot(Limit::StageName))]);
}

/// One literal text (`${GOLANG}`) goes to two images by position. `source.images[].as` maps a
/// text to one image, so at most one of the two uses can be right: neither is native.
#[tokio::test]
async fn one_text_for_two_images_is_ambiguous() {
    let plan = prow().await;
    assert_verdicts(
        &plan,
        &[
            ("ambiguous", 2, RefKind::From, cannot(Limit::AmbiguousText)),
            ("ambiguous", 4, RefKind::From, cannot(Limit::AmbiguousText)),
            ("ambiguous", 6, RefKind::From, native(Mechanism::CiOperatorFrom)),
        ],
    );
}

/// An ARG re-declared inside a stage does not reach a later FROM (buildkit expands FROM with
/// the global ARGs only), so both FROMs name the same image and one `as` entry serves both.
#[tokio::test]
async fn an_arg_redefined_in_a_stage_does_not_change_a_later_from() {
    let plan = prow().await;
    let redefined = plan.core.component("redefined").unwrap();
    let expanded: Vec<&str> = redefined.stages.iter().take(2).map(|r| r.expanded.as_str()).collect();
    assert_eq!(expanded, ["registry.example.com/golang:1.22", "registry.example.com/golang:1.22"]);
    assert_verdicts(
        &plan,
        &[
            ("redefined", 2, RefKind::From, native(Mechanism::InputsAs)),
            ("redefined", 5, RefKind::From, native(Mechanism::InputsAs)),
        ],
    );
}

/// A builder FROM whose text equals the last FROM's, going to another image. The Build API
/// (openshift/builder `addBuildParameters`) replaces the last FROM with `dockerStrategy.from`
/// first and only then matches `source.images[].as` texts, so the `as` entry reaches the builder
/// FROM alone: both are expressible.
#[tokio::test]
async fn a_builder_from_with_the_last_froms_text_is_still_inputs_as() {
    let plan = prow().await;
    assert_verdicts(
        &plan,
        &[
            ("last-from-text", 1, RefKind::From, native(Mechanism::InputsAs)),
            ("last-from-text", 3, RefKind::From, native(Mechanism::CiOperatorFrom)),
        ],
    );
}

/// `${BASE}` is the text of a kept builder FROM and of the last FROM, which goes to a member:
/// `dockerStrategy.from` replaces the last FROM by position, so the builder stays as written.
#[tokio::test]
async fn the_last_from_sharing_its_text_with_a_kept_from_is_ci_operator_from() {
    assert_verdicts(
        &prow().await,
        &[
            ("arg-shared", 2, RefKind::From, Verdict::Unchanged),
            ("arg-shared", 4, RefKind::From, native(Mechanism::CiOperatorFrom)),
        ],
    );
}

#[tokio::test]
async fn run_mount_from_is_not_replaced() {
    let plan = prow().await;
    assert_verdicts(&plan, &[("mounts", 2, RefKind::MountFrom, cannot(Limit::KindNotReplaced))]);
}

/// openshift/builder's `replaceImagesFromSource` rewrites FROM and COPY only; an `as` entry
/// never reaches `ADD --from`.
#[tokio::test]
async fn add_from_is_not_replaced() {
    let plan = prow().await;
    assert_verdicts(&plan, &[("mounts", 3, RefKind::AddFrom, cannot(Limit::KindNotReplaced))]);
}

#[tokio::test]
async fn an_image_neither_on_app_ci_nor_on_quay_cannot_be_an_input() {
    let plan = prow().await;
    assert_verdicts(
        &plan,
        &[
            ("not-stream", 1, RefKind::From, cannot(Limit::NotImageStreamTag)),
            ("not-stream", 3, RefKind::From, native(Mechanism::CiOperatorFrom)),
        ],
    );
}

#[tokio::test]
async fn a_folder_source_cannot_change_its_references() {
    let plan = prow().await;
    assert_verdicts(
        &plan,
        &[
            ("path-source", 1, RefKind::From, cannot(Limit::NotGitSource)),
            ("path-source", 3, RefKind::From, cannot(Limit::NotGitSource)),
            ("path-source", 4, RefKind::CopyFrom, Verdict::Unchanged),
            ("path-source", 5, RefKind::CopyFrom, Verdict::Unchanged),
        ],
    );
}

#[tokio::test]
async fn stages_scratch_and_kept_images_are_unchanged() {
    assert_verdicts(&prow().await, &unchanged_rows());
    assert_verdicts(&doozer_prow().await, &unchanged_rows());
}

/// doozer-prow builds generated sources whose Dockerfiles already name OKD's images: every
/// reference the plan changes is native, whatever ci-operator's `as` matching could not say,
/// and a folder source is pushed like any other.
#[tokio::test]
async fn doozer_prow_generated_sources_carry_every_change() {
    let mut rows: Vec<Row> = rows(CHANGED, &native(Mechanism::GeneratedSource));
    rows.extend(unchanged_rows());
    let plan = doozer_prow().await;
    assert_verdicts(&plan, &rows);
    // The rows are the whole table.
    assert_eq!(plan.verdicts.len(), rows.len());
}

#[tokio::test]
async fn one_verdict_per_resolution() {
    assert_one_verdict_per_resolution(&prow().await);
    assert_one_verdict_per_resolution(&doozer_prow().await);
}
