//! Every object the payload-pipeline render writes or a build creates validates against the real
//! schemas in `$OKD_SHARED/schemas` under Strict field validation (an unknown field is an
//! error): ImageStreams, BuildConfigs and Builds (OpenShift's OpenAPI definitions), Shipwright
//! Builds and BuildRuns, WorkflowTemplates and Workflows (Argo's CRDs). There is no CronWorkflow
//! CRD there, so a CronWorkflow's `workflowSpec` is checked as a Workflow's spec. Skips, saying
//! so, when OKD_SHARED is unset.
#![allow(clippy::unwrap_used)]

mod common;

use backend_argo::render_testing::{artifacts, cluster_objects, workflow};
use okd_core::{backend::RunId, plan::Plan};
use okd_tests::schema::{FieldValidation, Schemas};
use serde_json::{Value, json};

fn schemas(test: &str) -> Option<Schemas> {
    if std::env::var_os("OKD_SHARED").is_none() {
        eprintln!("skipping {test}: OKD_SHARED is unset, so the schemas cannot be read (CI sets it)");
        return None;
    }
    Schemas::from_env()
}

/// Validates `object` strictly, and the objects its tasks' `resource` steps create; panics naming
/// `what` and every problem. Returns the kinds checked.
fn check(schemas: &Schemas, what: &str, object: &Value) -> Vec<String> {
    let api_version = object["apiVersion"].as_str().unwrap();
    let kind = object["kind"].as_str().unwrap();
    if kind == "Kustomization" {
        return Vec::new();
    }
    if kind == "CronWorkflow" {
        // Its workflowSpec is a Workflow's spec (Argo's CronWorkflow CRD is not in the corpus).
        assert_eq!(api_version, "argoproj.io/v1alpha1");
        let spec = &object["spec"];
        assert!(spec["schedules"].as_array().is_some_and(|s| !s.is_empty()), "{what}: no schedules");
        let name = object["metadata"]["name"].as_str().unwrap();
        assert!(name.len() <= 52, "{what}: a CronWorkflow name has at most 52 characters");
        let workflow = json!({
            "apiVersion": api_version,
            "kind": "Workflow",
            "metadata": {"name": name},
            "spec": spec["workflowSpec"],
        });
        return check(schemas, &format!("{what} workflowSpec"), &workflow);
    }
    let (group, version) = api_version.split_once('/').unwrap();
    let known =
        schemas.resources().iter().any(|r| r.group == group && r.version == version && r.kind == kind);
    assert!(known, "{what}: no schema for {api_version} {kind}");
    let mut copy = object.clone();
    if let Err(problems) = schemas.validate(group, version, kind, &mut copy, FieldValidation::Strict) {
        panic!("{what} ({kind}) does not validate:\n  {}", problems.join("\n  "));
    }
    let mut kinds = vec![format!("{api_version} {kind}")];
    if object["spec"]["templates"].is_array() {
        // What the tasks' resource steps create, with Argo's parameters substituted.
        for (component, created) in common::created_objects(&object["spec"]) {
            kinds.extend(check(schemas, &format!("{what}: {component}'s {}", created["kind"]), &created));
        }
    }
    kinds
}

fn check_render(schemas: &Schemas, plan: &Plan, pairs: &[(&str, &str)]) -> Vec<String> {
    let settings = common::settings(pairs);
    let mut kinds = Vec::new();
    let (artifacts, _) = artifacts(plan, &settings).unwrap();
    for artifact in &artifacts {
        let documents = serde_saphyr::from_multiple::<Value>(&artifact.content).unwrap();
        for document in documents.iter().filter(|d| !d.is_null()) {
            kinds.extend(check(schemas, &artifact.path, document));
        }
    }
    for object in cluster_objects(plan, &settings).unwrap() {
        kinds.extend(check(schemas, "cluster object", &object));
    }
    let run = RunId("okd-mini/2026-08-30T10:00:00Z".into());
    let all: Vec<String> = plan.components.iter().map(|c| c.name.clone()).collect();
    for components in [all.clone(), all[all.len() / 2..].to_vec()] {
        let workflow = workflow(plan, &settings, "okd-build-0123456789", &run, &components).unwrap();
        kinds.extend(check(schemas, "workflow()", &workflow));
    }
    kinds
}

#[tokio::test]
async fn every_rendered_and_created_object_validates_strictly() {
    let Some(schemas) = schemas("every_rendered_and_created_object_validates_strictly") else { return };
    let dir = tempfile::tempdir().unwrap();
    let manifest =
        common::okd_mini_git(dir.path(), |t| t.replace("arches: [amd64]", "arches: [amd64, arm64]"));
    let plan = common::plan_of(&manifest, dir.path()).await;
    let kinds = check_render(&schemas, &plan, &[("schedule", "0 2 * * *")]);
    for kind in [
        "image.openshift.io/v1 ImageStream",
        "build.openshift.io/v1 BuildConfig",
        "build.openshift.io/v1 Build",
        "argoproj.io/v1alpha1 WorkflowTemplate",
        "argoproj.io/v1alpha1 Workflow",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} was checked: {kinds:?}");
    }
    let kinds = check_render(&schemas, &plan, &[("engine", "shipwright"), ("schedule", "0 2 * * *")]);
    for kind in [
        "image.openshift.io/v1 ImageStream",
        "shipwright.io/v1beta1 Build",
        "shipwright.io/v1beta1 BuildRun",
        "argoproj.io/v1alpha1 WorkflowTemplate",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} was checked: {kinds:?}");
    }
    assert!(!kinds.iter().any(|k| k.starts_with("build.openshift.io")), "{kinds:?}");
    // What the Build API cannot express, and folder sources (failing tasks).
    let manifest = common::odd_release(dir.path());
    check_render(&schemas, &*common::plan_of(&manifest, dir.path()).await, &[]);
    let example = common::workspace().join("examples/okd-mini/release.yaml");
    check_render(&schemas, &*common::plan_of(&example, dir.path()).await, &[]);
}

#[tokio::test]
async fn the_4_22_corpus_render_validates_strictly() {
    let Some(schemas) = schemas("the_4_22_corpus_render_validates_strictly") else { return };
    let shared = common::shared("the_4_22_corpus_render_validates_strictly").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (plan, _) = common::corpus_4_22(&shared, dir.path()).await;
    let kinds = check_render(&schemas, &plan, &[]);
    assert!(kinds.iter().any(|k| k == "argoproj.io/v1alpha1 WorkflowTemplate"));
}
