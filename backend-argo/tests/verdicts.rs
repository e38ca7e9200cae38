//! FROM verdicts of payload-pipeline, with both engines (`engine=buildconfig`: OpenShift
//! Builds; `engine=shipwright`: buildah build contexts), on crafted Dockerfiles: for each case of
//! reference (the last FROM, a builder FROM, a whole-ARG FROM, a text that is also a stage name,
//! one text for two images, a text equal to the last FROM's, `RUN --mount from=`, `ADD --from`,
//! an image from any registry, a folder source, stages and `scratch`), the exact verdict each
//! engine records for every reference, by component, line and kind.
//!
//! The Dockerfiles are git sources read from memory (no repository, no network), so the plan is
//! the one a real read would give. The Build API replaces the last FROM with
//! `dockerStrategy.from` first, then every FROM and COPY --from whose literal text is a
//! `source.images[].as` entry; Shipwright's buildah strategy replaces by text only.
#![allow(clippy::unwrap_used)]

use okd_core::{
    backend::{BackendPlan, Limit, Mechanism, Verdict},
    dockerfile::RefKind,
};
use okd_tests::verdicts::{
    assert_one_verdict_per_resolution_as as assert_one_verdict_per_resolution,
    assert_verdicts_as as assert_verdicts, backend_plan, cannot, native, rows, unchanged_rows,
};

async fn buildconfig() -> BackendPlan {
    backend_plan(backend_argo::payload_pipeline, &[]).await
}

async fn shipwright() -> BackendPlan {
    backend_plan(backend_argo::payload_pipeline, &[("engine", "shipwright")]).await
}

#[tokio::test]
async fn the_last_from_is_docker_strategy_from_or_the_runtime_build_context() {
    // Stream alias (a tools stream image), member `base` (a release ImageStreamTag).
    let (last, bc, sw) = (
        [("base", 1, RefKind::From), ("plain", 3, RefKind::From)],
        native(Mechanism::DockerStrategyFrom),
        native(Mechanism::BuildContext),
    );
    assert_verdicts("buildconfig", &buildconfig().await, &rows(&last, &bc));
    assert_verdicts("shipwright", &shipwright().await, &rows(&last, &sw));
}

#[tokio::test]
async fn a_builder_from_replaced_by_text_is_source_images_as_or_a_build_context() {
    let refs = [("plain", 1, RefKind::From), ("mounts", 4, RefKind::CopyFrom)];
    assert_verdicts("buildconfig", &buildconfig().await, &rows(&refs, &native(Mechanism::SourceImagesAs)));
    assert_verdicts("shipwright", &shipwright().await, &rows(&refs, &native(Mechanism::BuildContext)));
}

#[tokio::test]
async fn a_whole_arg_from_is_matched_by_its_literal_text() {
    let bc = buildconfig().await;
    assert_verdicts(
        "buildconfig",
        &bc,
        &[
            ("args", 3, RefKind::From, native(Mechanism::SourceImagesAs)),
            ("args", 5, RefKind::From, native(Mechanism::DockerStrategyFrom)),
        ],
    );
    let sw = shipwright().await;
    assert_verdicts(
        "shipwright",
        &sw,
        &[
            ("args", 3, RefKind::From, native(Mechanism::BuildContext)),
            ("args", 5, RefKind::From, native(Mechanism::BuildContext)),
        ],
    );
    // The objects say it with the text as written, which is what both engines match.
    for (engine, plan) in [("buildconfig", &bc), ("shipwright", &sw)] {
        let says = plan
            .artifacts
            .iter()
            .filter(|a| a.components.iter().any(|c| c == "args"))
            .any(|a| a.content.contains("${BUILDER}"));
        assert!(says, "{engine}: no object of args names ${{BUILDER}}");
    }
}

#[tokio::test]
async fn a_text_that_is_also_a_stage_name_cannot_be_replaced() {
    let row = [("stage-name", 2, RefKind::CopyFrom, cannot(Limit::StageName))];
    assert_verdicts("buildconfig", &buildconfig().await, &row);
    assert_verdicts("shipwright", &shipwright().await, &row);
}

/// One literal text (`${GOLANG}`, built from a global ARG) goes to two images by position: the
/// engines replace every use of a text alike, so neither use is native.
#[tokio::test]
async fn one_arg_built_text_for_two_images_is_ambiguous() {
    let ambiguous = [
        ("ambiguous", 2, RefKind::From, cannot(Limit::AmbiguousText)),
        ("ambiguous", 4, RefKind::From, cannot(Limit::AmbiguousText)),
    ];
    let mut bc = ambiguous.to_vec();
    bc.push(("ambiguous", 6, RefKind::From, native(Mechanism::DockerStrategyFrom)));
    assert_verdicts("buildconfig", &buildconfig().await, &bc);
    let mut sw = ambiguous.to_vec();
    sw.push(("ambiguous", 6, RefKind::From, native(Mechanism::BuildContext)));
    assert_verdicts("shipwright", &shipwright().await, &sw);
}

/// An ARG re-declared inside a stage does not reach a later FROM (buildkit expands FROM with
/// the global ARGs only), so the same text names the same image twice: not ambiguous, although
/// the component maps the re-declared value to another image.
#[tokio::test]
async fn an_arg_redefined_in_a_stage_does_not_make_a_text_ambiguous() {
    let bc = buildconfig().await;
    let redefined = bc.core.component("redefined").unwrap();
    let expanded: Vec<&str> = redefined.stages.iter().take(2).map(|r| r.expanded.as_str()).collect();
    assert_eq!(expanded, ["registry.example.com/golang:1.22", "registry.example.com/golang:1.22"]);
    let refs = [("redefined", 2, RefKind::From), ("redefined", 5, RefKind::From)];
    assert_verdicts("buildconfig", &bc, &rows(&refs, &native(Mechanism::SourceImagesAs)));
    assert_verdicts("shipwright", &shipwright().await, &rows(&refs, &native(Mechanism::BuildContext)));
}

/// A builder FROM whose text equals the last FROM's, going to another image. OpenShift Builds
/// replace the last FROM by position before matching texts, so both are expressible; buildah's
/// build context for a text serves every use of it, so Shipwright can say neither.
#[tokio::test]
async fn a_builder_from_with_the_last_froms_text() {
    assert_verdicts(
        "buildconfig",
        &buildconfig().await,
        &[
            ("last-from-text", 1, RefKind::From, native(Mechanism::SourceImagesAs)),
            ("last-from-text", 3, RefKind::From, native(Mechanism::DockerStrategyFrom)),
        ],
    );
    assert_verdicts(
        "shipwright",
        &shipwright().await,
        &[
            ("last-from-text", 1, RefKind::From, cannot(Limit::AmbiguousText)),
            ("last-from-text", 3, RefKind::From, cannot(Limit::AmbiguousText)),
        ],
    );
}

/// `${BASE}` is the text of a kept builder FROM and of the last FROM, which goes to a member.
/// `dockerStrategy.from` replaces the last FROM by position; Shipwright's runtime build context
/// for that text would change the builder FROM too.
#[tokio::test]
async fn the_last_from_sharing_its_text_with_a_kept_from() {
    assert_verdicts(
        "buildconfig",
        &buildconfig().await,
        &[
            ("arg-shared", 2, RefKind::From, Verdict::Unchanged),
            ("arg-shared", 4, RefKind::From, native(Mechanism::DockerStrategyFrom)),
        ],
    );
    assert_verdicts(
        "shipwright",
        &shipwright().await,
        &[
            ("arg-shared", 2, RefKind::From, Verdict::Unchanged),
            ("arg-shared", 4, RefKind::From, cannot(Limit::AmbiguousText)),
        ],
    );
}

#[tokio::test]
async fn run_mount_from_is_a_build_context_only() {
    assert_verdicts(
        "buildconfig",
        &buildconfig().await,
        &[("mounts", 2, RefKind::MountFrom, cannot(Limit::KindNotReplaced))],
    );
    assert_verdicts(
        "shipwright",
        &shipwright().await,
        &[("mounts", 2, RefKind::MountFrom, native(Mechanism::BuildContext))],
    );
}

#[tokio::test]
async fn add_from_is_not_replaced() {
    let row = [("mounts", 3, RefKind::AddFrom, cannot(Limit::KindNotReplaced))];
    assert_verdicts("buildconfig", &buildconfig().await, &row);
    assert_verdicts("shipwright", &shipwright().await, &row);
}

/// Both engines take any pull spec (`docker.io/library/x:1`): no registry limit.
#[tokio::test]
async fn an_image_from_any_registry_is_native() {
    assert_verdicts(
        "buildconfig",
        &buildconfig().await,
        &[
            ("not-stream", 1, RefKind::From, native(Mechanism::SourceImagesAs)),
            ("not-stream", 3, RefKind::From, native(Mechanism::DockerStrategyFrom)),
        ],
    );
    let refs = [("not-stream", 1, RefKind::From), ("not-stream", 3, RefKind::From)];
    assert_verdicts("shipwright", &shipwright().await, &rows(&refs, &native(Mechanism::BuildContext)));
}

#[tokio::test]
async fn a_folder_source_cannot_change_its_references() {
    let rows = [
        ("path-source", 1, RefKind::From, cannot(Limit::NotGitSource)),
        ("path-source", 3, RefKind::From, cannot(Limit::NotGitSource)),
        ("path-source", 4, RefKind::CopyFrom, Verdict::Unchanged),
        ("path-source", 5, RefKind::CopyFrom, Verdict::Unchanged),
    ];
    assert_verdicts("buildconfig", &buildconfig().await, &rows);
    assert_verdicts("shipwright", &shipwright().await, &rows);
}

#[tokio::test]
async fn stages_scratch_and_kept_images_are_unchanged() {
    assert_verdicts("buildconfig", &buildconfig().await, &unchanged_rows());
    assert_verdicts("shipwright", &shipwright().await, &unchanged_rows());
}

#[tokio::test]
async fn one_verdict_per_resolution() {
    assert_one_verdict_per_resolution("buildconfig", &buildconfig().await);
    assert_one_verdict_per_resolution("shipwright", &shipwright().await);
}
