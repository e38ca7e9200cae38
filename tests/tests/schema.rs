//! The real schemas in `$OKD_SHARED/schemas` as validators. Every test skips (with a note) when
//! OKD_SHARED is unset, and runs when it is set.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use okd_tests::schema::{FieldValidation, ResourceInfo, Schemas};
use serde_json::{Value, json};

fn schemas() -> Option<Schemas> {
    if std::env::var_os("OKD_SHARED").is_none() {
        eprintln!("skipping: OKD_SHARED is unset");
        return None;
    }
    Schemas::from_env()
}

fn validate(
    schemas: &Schemas,
    object: &mut Value,
    mode: FieldValidation,
) -> Result<Vec<String>, Vec<String>> {
    let api_version = object["apiVersion"].as_str().unwrap().to_owned();
    let kind = object["kind"].as_str().unwrap().to_owned();
    let (group, version) = api_version.split_once('/').unwrap_or(("", &api_version));
    schemas.validate(group, version, &kind, object, mode)
}

fn strict(schemas: &Schemas, mut object: Value) -> Result<Vec<String>, Vec<String>> {
    validate(schemas, &mut object, FieldValidation::Strict)
}

/// A PipelineRun as Konflux's build-service generates them (pipelineRef through the bundles
/// resolver), after PaC has turned the name into generateName.
fn konflux_pipeline_run() -> Value {
    json!({
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {
            "generateName": "ose-4-19-ose-ovn-kubernetes-",
            "namespace": "ocp-art-tenant",
            "labels": {
                "appstudio.openshift.io/application": "openshift-4-19",
                "appstudio.openshift.io/component": "ose-4-19-ose-ovn-kubernetes",
                "pipelines.appstudio.openshift.io/type": "build",
            },
            "annotations": {"pipelinesascode.tekton.dev/on-cel-expression": "event == \"push\""},
        },
        "spec": {
            "params": [
                {"name": "git-url", "value": "https://github.com/openshift-priv/ovn-kubernetes"},
                {"name": "revision", "value": "0123456789abcdef"},
                {"name": "output-image", "value": "quay.io/redhat-user-workloads/ocp-art-tenant/art-okd-images:x"},
                {"name": "build-platforms", "value": ["linux/x86_64", "linux/arm64"]},
                {"name": "hermetic", "value": "true"},
            ],
            "pipelineRef": {
                "resolver": "bundles",
                "params": [
                    {"name": "name", "value": "docker-build-multi-platform-oci-ta"},
                    {"name": "bundle", "value": "quay.io/konflux-ci/tekton-catalog/pipeline-docker-build:abc"},
                    {"name": "kind", "value": "pipeline"},
                ],
            },
            "taskRunTemplate": {"serviceAccountName": "build-pipeline-ose-4-19-ose-ovn-kubernetes"},
            "timeouts": {"pipeline": "4h0m0s"},
            "workspaces": [{"name": "git-auth", "secret": {"secretName": "pipelines-as-code-secret"}}],
        },
    })
}

#[test]
fn every_schema_loads() {
    let Some(schemas) = schemas() else { return };
    let resources = schemas.resources();
    let find = |group: &str, version: &str, kind: &str| -> ResourceInfo {
        let found = resources.iter().find(|r| r.group == group && r.version == version && r.kind == kind);
        found.unwrap_or_else(|| panic!("{group}/{version} {kind} not loaded")).clone()
    };
    let pipeline_run = find("tekton.dev", "v1", "PipelineRun");
    assert_eq!(pipeline_run.plural, "pipelineruns");
    assert!(pipeline_run.namespaced && pipeline_run.status_subresource);
    assert_eq!(find("appstudio.redhat.com", "v1alpha1", "Component").plural, "components");
    assert!(!find("argoproj.io", "v1alpha1", "Workflow").status_subresource);
    assert_eq!(find("shipwright.io", "v1beta1", "BuildRun").plural, "buildruns");
    assert!(!find("shipwright.io", "v1beta1", "ClusterBuildStrategy").namespaced);
    assert_eq!(find("prow.k8s.io", "v1", "ProwJob").plural, "prowjobs");
    assert_eq!(find("build.openshift.io", "v1", "BuildConfig").plural, "buildconfigs");
    assert!(find("image.openshift.io", "v1", "ImageStream").status_subresource);
    find("konflux-ci.dev", "v1alpha1", "ImageRepository");
    find("tekton.dev", "v1beta1", "PipelineRun");
}

#[test]
fn konflux_pipeline_run_is_valid() {
    let Some(schemas) = schemas() else { return };
    assert_eq!(strict(&schemas, konflux_pipeline_run()), Ok(vec![]));
}

#[test]
fn unknown_spec_field_by_mode() {
    let Some(schemas) = schemas() else { return };
    let mut run = konflux_pipeline_run();
    run["spec"]["foo"] = json!(1);
    assert_eq!(strict(&schemas, run.clone()), Err(vec!["unknown field \"spec.foo\"".to_owned()]));

    let mut warned = run.clone();
    assert_eq!(
        validate(&schemas, &mut warned, FieldValidation::Warn),
        Ok(vec!["unknown field \"spec.foo\"".to_owned()])
    );
    assert_eq!(warned, konflux_pipeline_run(), "spec.foo is pruned, nothing else");

    let mut ignored = run;
    assert_eq!(validate(&schemas, &mut ignored, FieldValidation::Ignore), Ok(vec![]));
    assert_eq!(ignored, konflux_pipeline_run());
}

#[test]
fn unknown_fields_in_lists_and_at_the_top() {
    let Some(schemas) = schemas() else { return };
    let mut run = konflux_pipeline_run();
    run["spec"]["params"][0]["foo"] = json!("x");
    run["spec"]["workspaces"][0]["secret"]["bogus"] = json!(true);
    run["extra"] = json!({});
    let found = strict(&schemas, run).unwrap_err();
    assert_eq!(
        found,
        [
            "unknown field \"extra\"",
            "unknown field \"spec.params[0].foo\"",
            "unknown field \"spec.workspaces[0].secret.bogus\"",
        ]
    );
}

#[test]
fn wrong_type_uses_kube_apiserver_message() {
    let Some(schemas) = schemas() else { return };
    let mut run = konflux_pipeline_run();
    run["spec"]["timeouts"]["pipeline"] = json!(3600);
    let found = strict(&schemas, run).unwrap_err();
    assert_eq!(
        found,
        [
            "spec.timeouts.pipeline: Invalid value: \"integer\": spec.timeouts.pipeline in body must be of type \
             string: \"integer\""
        ]
    );
}

#[test]
fn component_required_fields() {
    let Some(schemas) = schemas() else { return };
    let component = |spec: Value| {
        json!({"apiVersion": "appstudio.redhat.com/v1alpha1", "kind": "Component",
               "metadata": {"name": "ovn-kubernetes", "namespace": "ocp-art-tenant"}, "spec": spec})
    };
    // This application-api snapshot requires only spec.source: componentName and application
    // became optional (`^$|` patterns) with the new component model.
    assert_eq!(strict(&schemas, component(json!({}))), Err(vec!["spec.source: Required value".to_owned()]));
    let valid = json!({"componentName": "ovn-kubernetes", "application": "openshift-4-19",
                       "source": {"git": {"url": "https://github.com/openshift/ovn-kubernetes", "revision": "main"}}});
    assert_eq!(strict(&schemas, component(valid)), Ok(vec![]));
    let found = strict(
        &schemas,
        component(
            json!({"componentName": "Bad_Name", "replicas": "two", "source": {"git": {"revision": "main"}}}),
        ),
    )
    .unwrap_err();
    assert_eq!(
        found,
        [
            "spec.componentName: Invalid value: \"Bad_Name\": spec.componentName in body should match \
             '^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'",
            "spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"",
            "spec.source.git.url: Required value",
        ]
    );
}

#[test]
fn argo_workflow_is_valid() {
    let Some(schemas) = schemas() else { return };
    let workflow = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "build-okd-", "namespace": "okd"},
        "spec": {
            "entrypoint": "main",
            "serviceAccountName": "okd-builder",
            "arguments": {"parameters": [{"name": "release", "value": "4.19"}]},
            "ttlStrategy": {"secondsAfterSuccess": 86400},
            "templates": [
                {"name": "main", "dag": {"tasks": [
                    {"name": "build", "template": "build",
                     "arguments": {"parameters": [{"name": "image", "value": "{{workflow.parameters.release}}"}]}},
                    {"name": "publish", "template": "build", "depends": "build"},
                ]}},
                {"name": "build", "inputs": {"parameters": [{"name": "image"}]},
                 "container": {"image": "quay.io/okd/builder:latest", "command": ["make"], "args": ["build"],
                               "resources": {"limits": {"cpu": 2, "memory": "4Gi"}}},
                 "retryStrategy": {"limit": 2, "retryPolicy": "OnFailure"}},
            ],
        },
    });
    assert_eq!(strict(&schemas, workflow.clone()), Ok(vec![]));
    let mut bad = workflow;
    bad["spec"]["templates"][1]["container"]["command"] = json!("make");
    let found = strict(&schemas, bad).unwrap_err();
    assert!(
        found[0].starts_with("spec.templates[1].container.command: Invalid value: \"string\""),
        "{found:#?}"
    );
}

#[test]
fn shipwright_build_run_is_valid() {
    let Some(schemas) = schemas() else { return };
    let build_run = json!({
        "apiVersion": "shipwright.io/v1beta1",
        "kind": "BuildRun",
        "metadata": {"name": "hyperkube-amd64-1", "namespace": "okd"},
        "spec": {
            "build": {"name": "hyperkube"},
            "serviceAccount": "pipeline",
            "timeout": "1h",
            "paramValues": [{"name": "architectures", "values": [{"value": "amd64"}]}],
            "output": {"image": "quay.io/okd/hyperkube:4.19"},
        },
    });
    assert_eq!(strict(&schemas, build_run), Ok(vec![]));
}

#[test]
fn prow_job_enums() {
    let Some(schemas) = schemas() else { return };
    let prow_job = json!({
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {"name": "4d9e1c2a-0000-11ef-8000-0a580a800001", "namespace": "ci"},
        "spec": {"type": "periodic", "job": "periodic-ci-okd-build", "agent": "kubernetes", "cluster": "build01",
                 "refs": {"org": "openshift", "repo": "okd"}},
        "status": {"state": "triggered", "startTime": "2026-08-01T00:00:00Z"},
    });
    assert_eq!(strict(&schemas, prow_job.clone()), Ok(vec![]));
    let mut bad = prow_job;
    bad["spec"]["type"] = json!("nightly");
    assert_eq!(
        strict(&schemas, bad),
        Err(vec![
            "spec.type: Unsupported value: \"nightly\": supported values: \"presubmit\", \"postsubmit\", \
             \"periodic\", \"batch\""
                .to_owned()
        ])
    );
}

#[test]
fn metadata_name_rules() {
    let Some(schemas) = schemas() else { return };
    let with_metadata = |metadata: Value| {
        let mut run = konflux_pipeline_run();
        run["metadata"] = metadata;
        strict(&schemas, run)
    };
    assert_eq!(with_metadata(json!({"name": "hypershift-on-push"})), Ok(vec![]));
    assert_eq!(
        with_metadata(json!({"namespace": "ns"})),
        Err(vec!["metadata.name: Required value: name or generateName is required".to_owned()])
    );
    let bad = with_metadata(json!({"name": "Hypershift_On_Push"})).unwrap_err();
    assert_eq!(bad.len(), 1);
    assert!(
        bad[0].starts_with(
            "metadata.name: Invalid value: \"Hypershift_On_Push\": a lowercase RFC 1123 subdomain"
        )
    );
    let long = with_metadata(json!({"name": "a".repeat(254)})).unwrap_err();
    assert!(long[0].ends_with("must be no more than 253 characters"), "{long:#?}");
    let labels = with_metadata(json!({"name": "x", "labels": {"app": 3}})).unwrap_err();
    assert!(labels[0].starts_with("metadata.labels.app: Invalid value: \"integer\""), "{labels:#?}");
}

#[test]
fn every_cause_is_reported() {
    let Some(schemas) = schemas() else { return };
    let mut run = konflux_pipeline_run();
    run["metadata"]["name"] = json!("Not-Valid");
    run["spec"]["foo"] = json!(1);
    run["spec"]["timeouts"]["pipeline"] = json!(1);
    run["spec"]["params"][1] = json!({"name": "revision"});
    run["spec"]["workspaces"][0]["name"] = json!(null);
    let found = strict(&schemas, run).unwrap_err();
    assert_eq!(found.len(), 5, "{found:#?}");
    for prefix in [
        "unknown field \"spec.foo\"",
        "spec.params[1].value: Required value",
        "spec.timeouts.pipeline: Invalid value: \"integer\"",
        "spec.workspaces[0].name: Invalid value: \"null\"",
        "metadata.name: Invalid value: \"Not-Valid\"",
    ] {
        assert!(found.iter().any(|e| e.starts_with(prefix)), "missing {prefix:?} in {found:#?}");
    }
}

#[test]
fn openshift_build_config_and_image_stream() {
    let Some(schemas) = schemas() else { return };
    let build_config = json!({
        "apiVersion": "build.openshift.io/v1",
        "kind": "BuildConfig",
        "metadata": {"name": "hyperkube", "labels": {"resources-profile": "high"}},
        "spec": {
            "source": {"type": "Git", "git": {"uri": "https://github.com/openshift/kubernetes", "ref": "release-4.15"}},
            "strategy": {"type": "Docker", "dockerStrategy": {
                "from": {"kind": "ImageStreamTag", "name": "release:base"},
                "buildArgs": [{"name": "TAGS", "value": "openshift"}]}},
            "output": {"to": {"kind": "ImageStreamTag", "name": "release:hyperkube"}},
            "resources": {"requests": {"cpu": 1, "memory": "2Gi"}},
        },
    });
    assert_eq!(strict(&schemas, build_config.clone()), Ok(vec![]));
    let mut bad = build_config;
    bad["spec"].as_object_mut().unwrap().remove("strategy");
    bad["spec"]["source"]["git"]["branch"] = json!("main");
    assert_eq!(
        strict(&schemas, bad),
        Err(vec![
            "unknown field \"spec.source.git.branch\"".to_owned(),
            "spec.strategy: Required value".to_owned()
        ])
    );
    let image_stream = json!({
        "apiVersion": "image.openshift.io/v1",
        "kind": "ImageStream",
        "metadata": {"name": "release", "namespace": "okd"},
        "spec": {"lookupPolicy": {"local": true}, "tags": [
            {"name": "base", "from": {"kind": "DockerImage", "name": "quay.io/centos/centos:stream9"},
             "importPolicy": {"scheduled": true}, "referencePolicy": {"type": "Local"}}]},
    });
    assert_eq!(strict(&schemas, image_stream), Ok(vec![]));
}

#[test]
fn defaults_come_from_the_schema() {
    let Some(schemas) = schemas() else { return };
    let mut plan = json!({"apiVersion": "appstudio.redhat.com/v1alpha1", "kind": "ReleasePlan",
                          "metadata": {"name": "okd"}, "spec": {"application": "okd", "target": "managed"}});
    schemas.apply_defaults("appstudio.redhat.com", "v1alpha1", "ReleasePlan", &mut plan);
    assert_eq!(plan["spec"]["releaseGracePeriodDays"], json!(7));
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// Every object in the real manifests of the corpus (Konflux `.tekton` PipelineRuns, the OKD
/// payload pipeline's BuildConfigs, ImageStreams, Argo WorkflowTemplates and Shipwright objects)
/// that the schemas describe passes under Warn; the only warnings are the `failureDescription`
/// notes the pipeline's `failing-*` BuildConfigs keep in their metadata.
#[test]
fn real_manifests_pass() {
    let Some(schemas) = schemas() else { return };
    let corpus = PathBuf::from(std::env::var_os("OKD_SHARED").unwrap()).join("corpus");
    let mut files = Vec::new();
    yaml_files(&corpus.join("konflux/tekton-examples"), &mut files);
    yaml_files(&corpus.join("okd-payload-pipeline"), &mut files);
    let known = schemas.resources();
    let (mut checked, mut warned) = (0, 0);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let Ok(documents) = serde_saphyr::from_multiple::<Value>(&text) else { continue };
        let objects = documents.into_iter().flat_map(|d| match d["kind"].as_str() {
            Some("List") => d["items"].as_array().cloned().unwrap_or_default(),
            _ => vec![d],
        });
        for mut object in objects {
            let (Some(api_version), Some(kind)) = (object["apiVersion"].as_str(), object["kind"].as_str())
            else {
                continue;
            };
            if !known.iter().any(|r| format!("{}/{}", r.group, r.version) == api_version && r.kind == kind) {
                continue;
            }
            checked += 1;
            match validate(&schemas, &mut object, FieldValidation::Warn) {
                Ok(warnings) if warnings.is_empty() => {}
                Ok(warnings) => {
                    assert_eq!(
                        warnings,
                        ["unknown field \"metadata.failureDescription\""],
                        "{}",
                        file.display()
                    );
                    warned += 1;
                }
                Err(causes) => panic!("{}: {causes:#?}", file.display()),
            }
        }
    }
    assert!(checked >= 200, "only {checked} objects checked");
    assert_eq!(warned, 3);
}
