//! The fake cluster as backends will use it: the API server and the controllers together, driven
//! by kube-rs over HTTP. A schema-validated PipelineRun runs to Succeeded with its
//! image results; a failing one leaves a pod log; a cancel by patch ends it Cancelled; an Argo
//! Workflow terminated by patch stops.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::{
    Api, Client, Config,
    api::{ApiResource, DynamicObject, GroupVersionKind, LogParams, Patch, PatchParams, PostParams},
    config::{KubeConfigOptions, Kubeconfig},
    runtime::wait::await_condition,
};
use okd_tests::kube::{
    controllers::{COMPONENT_LABEL, Controllers, Script},
    server::{FakeApiServer, ServerOptions},
};
use serde_json::{Value, json};

const NS: &str = "tenant";

async fn cluster(script: Script) -> (FakeApiServer, Controllers, Client, tempfile::TempDir) {
    let server = FakeApiServer::start(ServerOptions::default()).await;
    let controllers = Controllers::start(server.store(), script);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubeconfig");
    server.write_kubeconfig(&path, NS);
    let config = Config::from_custom_kubeconfig(
        Kubeconfig::read_from(&path).expect("kubeconfig"),
        &KubeConfigOptions::default(),
    )
    .await
    .expect("config");
    (server, controllers, Client::try_from(config).expect("client"), dir)
}

fn api(client: &Client, group: &str, version: &str, kind: &str, plural: &str) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    Api::namespaced_with(client.clone(), NS, &resource)
}

/// A PipelineRun shaped like the ones Konflux's build-service generates.
fn pipelinerun(name: &str, component: &str) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": name, "labels": {COMPONENT_LABEL: component}},
        "spec": {
            "params": [
                {"name": "git-url", "value": "https://github.com/openshift/oc"},
                {"name": "revision", "value": "0123456789abcdef0123456789abcdef01234567"},
                {"name": "output-image", "value": format!("quay.io/okd/{component}:abc")}
            ],
            "pipelineRef": {"resolver": "bundles", "params": [
                {"name": "name", "value": "docker-build-oci-ta"},
                {"name": "bundle", "value": "quay.io/konflux-ci/tekton-catalog/pipeline-docker-build-oci-ta:devel"},
                {"name": "kind", "value": "pipeline"}
            ]},
            "taskRunTemplate": {"serviceAccountName": format!("build-pipeline-{component}")},
            "workspaces": [{"name": "git-auth", "secret": {"secretName": "{{ git_auth_secret }}"}}]
        }
    }))
    .expect("a PipelineRun")
}

fn succeeded(object: Option<&DynamicObject>) -> Option<(String, String)> {
    let conditions = object?.data["status"]["conditions"].as_array()?;
    let c = conditions.iter().find(|c| c["type"] == "Succeeded")?;
    (c["status"] != "Unknown").then(|| {
        (c["status"].as_str().unwrap_or("").to_owned(), c["reason"].as_str().unwrap_or("").to_owned())
    })
}

fn result(object: &DynamicObject, name: &str) -> Option<String> {
    object.data["status"]["results"].as_array()?.iter().find(|r| r["name"] == name)?["value"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn pipelineruns_succeed_fail_and_cancel_over_http() {
    let script =
        Script::new().duration("slow", Duration::from_secs(30)).fail("broken", "make: *** [build] Error 2");
    let (_server, _controllers, client, _dir) = cluster(script).await;
    let runs = api(&client, "tekton.dev", "v1", "PipelineRun", "pipelineruns");
    let params = PostParams::default();
    for (name, component) in [("ok-1", "oc"), ("bad-1", "broken"), ("slow-1", "slow")] {
        runs.create(&params, &pipelinerun(name, component)).await.expect("create");
    }
    let done = |name: &'static str| {
        let runs = runs.clone();
        async move {
            tokio::time::timeout(
                Duration::from_secs(10),
                await_condition(runs, name, |o: Option<&DynamicObject>| succeeded(o).is_some()),
            )
            .await
            .expect("finishes in time")
            .expect("watch works")
            .expect("object exists")
        }
    };
    let ok = done("ok-1").await;
    assert_eq!(succeeded(Some(&ok)), Some(("True".into(), "Succeeded".into())));
    assert_eq!(result(&ok, "IMAGE_URL").as_deref(), Some("quay.io/okd/oc:abc"));
    assert_eq!(result(&ok, "IMAGE_DIGEST"), Some(Script::digest_for("oc")));

    let bad = done("bad-1").await;
    assert_eq!(succeeded(Some(&bad)), Some(("False".into(), "Failed".into())));
    // The failed TaskRun's pod log, fetched as a backend would.
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let pod = pods.list(&Default::default()).await.expect("pods").items.into_iter().find(|p| {
        p.metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.get("okd-tests/log").is_some_and(|l| l.contains("Error 2")))
    });
    let pod = pod.expect("a pod for the failed step");
    let log = pods
        .logs(pod.metadata.name.as_deref().unwrap_or_default(), &LogParams::default())
        .await
        .expect("log");
    assert!(log.contains("make: *** [build] Error 2"), "{log}");

    let patch: Value = json!({"spec": {"status": "Cancelled"}});
    runs.patch("slow-1", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("cancel");
    let cancelled = done("slow-1").await;
    assert_eq!(succeeded(Some(&cancelled)), Some(("False".into(), "Cancelled".into())));
}

#[tokio::test]
async fn a_workflow_terminated_by_patch_stops() {
    let (_server, _controllers, client, _dir) =
        cluster(Script::new().default_duration(Duration::from_secs(30))).await;
    let workflows = api(&client, "argoproj.io", "v1alpha1", "Workflow", "workflows");
    let wf: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "okd-mini"},
        "spec": {"entrypoint": "build", "templates": [{"name": "build", "dag": {"tasks": [
            {"name": "base", "template": "component"},
            {"name": "cli", "template": "component", "dependencies": ["base"]}
        ]}}, {"name": "component", "container": {"image": "busybox"}}]}
    }))
    .expect("a Workflow");
    workflows.create(&PostParams::default(), &wf).await.expect("create");
    let running = |o: Option<&DynamicObject>| o.is_some_and(|o| o.data["status"]["phase"] == "Running");
    tokio::time::timeout(Duration::from_secs(5), await_condition(workflows.clone(), "okd-mini", running))
        .await
        .expect("runs")
        .expect("watch");
    let patch = json!({"spec": {"shutdown": "Terminate"}});
    workflows.patch("okd-mini", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("terminate");
    let ended = |o: Option<&DynamicObject>| {
        o.is_some_and(|o| matches!(o.data["status"]["phase"].as_str(), Some("Failed" | "Error")))
    };
    let wf = tokio::time::timeout(Duration::from_secs(5), await_condition(workflows, "okd-mini", ended))
        .await
        .expect("stops")
        .expect("watch")
        .expect("exists");
    assert!(
        wf.data["status"]["message"].as_str().is_some_and(|m| m.contains("Terminate")),
        "{:?}",
        wf.data["status"]
    );
}
