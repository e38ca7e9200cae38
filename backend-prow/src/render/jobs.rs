//! The Prow jobs ci-operator-prowgen generates for a config (reference §4.2; ci-tools
//! `pkg/prowgen`): the `images` presubmit, the optional e2e presubmit and the promotion
//! postsubmit, with prowgen's names, labels, arguments and volumes, so the files match what
//! `make jobs` would write next to the config.

use serde_json::{Value, json};

use crate::{config::Settings, names::ConfigId};

const CI_OPERATOR_IMAGE: &str = "quay-proxy.ci.openshift.org/openshift/ci:ci_ci-operator_latest";

fn mount(path: &str, name: &str) -> Value {
    json!({"mountPath": path, "name": name, "readOnly": true})
}

fn secret_volume(name: &str, secret: &str) -> Value {
    json!({"name": name, "secret": {"secretName": secret}})
}

/// The ci-operator container and pod of a job: `args` plus the secrets every job mounts.
fn pod_spec(mut args: Vec<String>, push: bool, multi_stage: bool) -> Value {
    args.sort();
    let mut mounts = Vec::new();
    let mut volumes = Vec::new();
    if multi_stage {
        mounts.push(mount("/etc/boskos", "boskos"));
        mounts.push(mount("/secrets/ci-pull-credentials", "ci-pull-credentials"));
        volumes.push(json!({"name": "boskos", "secret": {"items": [{"key": "credentials", "path": "credentials"}], "secretName": "boskos-credentials"}}));
        volumes.push(secret_volume("ci-pull-credentials", "ci-pull-credentials"));
    }
    mounts.push(mount("/secrets/gcs", "gcs-credentials"));
    mounts.push(mount("/secrets/manifest-tool", "manifest-tool-local-pusher"));
    mounts.push(mount("/etc/pull-secret", "pull-secret"));
    volumes.push(secret_volume("manifest-tool-local-pusher", "manifest-tool-local-pusher"));
    volumes.push(secret_volume("pull-secret", "registry-pull-credentials"));
    if push {
        mounts.push(mount("/etc/push-secret", "push-secret"));
        volumes.push(secret_volume("push-secret", "registry-push-credentials-ci-central"));
    }
    mounts.push(mount("/etc/report", "result-aggregator"));
    volumes.push(secret_volume("result-aggregator", "result-aggregator"));
    json!({
        "containers": [{
            "args": args,
            "command": ["ci-operator"],
            "image": CI_OPERATOR_IMAGE,
            "imagePullPolicy": "Always",
            "name": "",
            "resources": {"requests": {"cpu": "10m"}},
            "volumeMounts": mounts,
        }],
        "serviceAccountName": "ci-operator",
        "volumes": volumes,
    })
}

fn common_args(id: &ConfigId) -> Vec<String> {
    vec![
        "--gcs-upload-secret=/secrets/gcs/service-account.json".into(),
        "--image-import-pull-secret=/etc/pull-secret/.dockerconfigjson".into(),
        "--report-credentials-file=/etc/report/credentials".into(),
        format!("--variant={}", id.variant),
    ]
}

/// Prow's default trigger for a test: `/test <short>`.
fn trigger(short: &str) -> String {
    format!("(?m)^/test( | .* ){short},?($|\\s.*)")
}

/// The presubmits of one config: `images` (build, and the ephemeral payload of an official
/// promotion target), and the optional `e2e-aws-ovn` when the config has it.
pub(crate) fn presubmits(id: &ConfigId, settings: &Settings) -> Vec<Value> {
    let branches = json!([format!("^{}$", id.branch), format!("^{}-", id.branch)]);
    let short = id.short("images");
    let mut args = common_args(id);
    args.push("--target=[images]".into());
    args.push("--target=[release:latest]".into());
    let mut jobs = vec![json!({
        "agent": "kubernetes",
        "always_run": true,
        "branches": branches,
        "cluster": settings.build_farm,
        "context": format!("ci/prow/{short}"),
        "decorate": true,
        "decoration_config": {"skip_cloning": true},
        "labels": {
            "ci-operator.openshift.io/variant": id.variant,
            "ci.openshift.io/generator": "prowgen",
            "pj-rehearse.openshift.io/can-be-rehearsed": "true",
        },
        "name": id.job_name("pull", "images"),
        "rerun_command": format!("/test {short}"),
        "spec": pod_spec(args, false, false),
        "trigger": trigger(&short),
    })];
    if settings.e2e_test {
        let short = id.short("e2e-aws-ovn");
        let mut args = common_args(id);
        args.push("--lease-server-credentials-file=/etc/boskos/credentials".into());
        args.push("--secret-dir=/secrets/ci-pull-credentials".into());
        args.push("--target=e2e-aws-ovn".into());
        jobs.push(json!({
            "agent": "kubernetes",
            "always_run": false,
            "branches": branches,
            "cluster": settings.build_farm,
            "context": format!("ci/prow/{short}"),
            "decorate": true,
            "decoration_config": {"skip_cloning": true},
            "labels": {
                "ci-operator.openshift.io/cloud": "aws",
                "ci-operator.openshift.io/cloud-cluster-profile": "aws",
                "ci-operator.openshift.io/variant": id.variant,
                "ci.openshift.io/generator": "prowgen",
                "pj-rehearse.openshift.io/can-be-rehearsed": "true",
            },
            "name": id.job_name("pull", "e2e-aws-ovn"),
            "optional": true,
            "rerun_command": format!("/test {short}"),
            "spec": pod_spec(args, false, true),
            "trigger": trigger(&short),
        }));
    }
    jobs
}

/// The promotion postsubmit: builds every image of the config and promotes it.
pub(crate) fn postsubmits(id: &ConfigId, settings: &Settings) -> Vec<Value> {
    let mut args = common_args(id);
    args.push("--image-mirror-push-secret=/etc/push-secret/.dockerconfigjson".into());
    args.push("--promote".into());
    args.push("--target=[images]".into());
    vec![json!({
        "agent": "kubernetes",
        "always_run": true,
        "branches": [format!("^{}$", id.branch)],
        "cluster": settings.build_farm,
        "decorate": true,
        "decoration_config": {"skip_cloning": true},
        "labels": {
            "ci-operator.openshift.io/is-promotion": "true",
            "ci-operator.openshift.io/variant": id.variant,
            "ci.openshift.io/generator": "prowgen",
        },
        "max_concurrency": 1,
        "name": id.images_postsubmit(),
        "spec": pod_spec(args, true, false),
    })]
}

/// A Prow job config file: `{<kind>: {<org>/<repo>: [jobs]}}`.
pub(crate) fn job_file(kind: &str, id: &ConfigId, jobs: Vec<Value>) -> Value {
    json!({ kind: { id.org_repo(): jobs } })
}
