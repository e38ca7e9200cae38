//! Gangway on a cluster: executions are `prow.k8s.io/v1` ProwJobs in a fake API server's store,
//! built as `HandleProwJob` builds them (`pjutil.NewProwJob` with the job's spec, labels and
//! annotations plus the request's `pod_spec_options`), read back by `GetJobExecution` and
//! `ListJobExecutions`, and changed by `BulkJobStatusChange`.

use serde_json::{Map, Value, json};

use super::{
    api::{BulkChange, Candidate, field, label_value_ok, text},
    release_repo::JobConfig,
};
use crate::{
    kube::store::{Gvr, Store, now},
    schema::{FieldValidation, Schemas},
};

/// `prow.k8s.io/v1` `prowjobs`.
pub(crate) fn prowjobs() -> Gvr {
    Gvr::new("prow.k8s.io", "v1", "prowjobs")
}

/// Where the fake Gangway keeps its ProwJobs.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The fake API server's store ([`crate::kube::server::FakeApiServer::store`]).
    pub store: Store,
    /// The namespace ProwJobs are created in (`ci` on app.ci); also the pods' namespace
    /// (`spec.namespace`) unless the job config names one.
    pub namespace: String,
}

/// The ci-operator container of a job the fake has no config for (prowgen's shape).
fn default_pod_spec() -> Value {
    json!({
        "containers": [{
            "name": "",
            "image": "quay-proxy.ci.openshift.org/openshift/ci:ci_ci-operator_latest",
            "imagePullPolicy": "Always",
            "command": ["ci-operator"],
            "args": ["--report-credentials-file=/etc/report/credentials", "--target=[images]"],
            "resources": {"requests": {"cpu": "10m"}},
        }],
        "serviceAccountName": "ci-operator",
    })
}

/// Plank's default decoration on app.ci, which a job's own `decoration_config` overrides.
fn default_decoration() -> Value {
    let image = |name: &str| format!("us-docker.pkg.dev/k8s-infra-prow/images/{name}:v20260801-0c0ffee00");
    json!({
        "timeout": "4h0m0s",
        "grace_period": "15m0s",
        "utility_images": {
            "clonerefs": image("clonerefs"), "initupload": image("initupload"),
            "entrypoint": image("entrypoint"), "sidecar": image("sidecar"),
        },
        "gcs_configuration": {
            "bucket": "test-platform-results", "path_strategy": "single",
            "default_org": "openshift", "default_repo": "origin",
        },
        "gcs_credentials_secret": "gce-sa-credentials-gcs-publisher",
    })
}

/// `ToCrdRefs`: the request's refs with the CRD's field names, empty fields left out.
fn crd_refs(refs: &Value, job: Option<&JobConfig>) -> Value {
    let mut out = Map::new();
    for name in ["org", "repo", "repo_link", "base_ref", "base_sha", "base_link", "path_alias", "clone_uri"] {
        let value = text(refs, name);
        if !value.is_empty() {
            out.insert(name.into(), json!(value));
        }
    }
    for (proto, crd) in [
        ("work_dir", "workdir"),
        ("skip_submodules", "skip_submodules"),
        ("skip_fetch_head", "skip_fetch_head"),
    ] {
        if field(refs, proto).and_then(Value::as_bool) == Some(true) {
            out.insert(crd.into(), json!(true));
        }
    }
    if let Some(depth) = field(refs, "clone_depth").and_then(number).filter(|d| *d > 0) {
        out.insert("clone_depth".into(), json!(depth));
    }
    let pulls: Vec<Value> = field(refs, "pulls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|pull| {
            // number, author and sha are not omitempty in Go, so they are always written.
            let mut p = json!({
                "number": field(pull, "number").and_then(number).unwrap_or(0),
                "author": text(pull, "author"),
                "sha": text(pull, "sha"),
            });
            for name in ["title", "ref", "link", "commit_link", "author_link"] {
                if !text(pull, name).is_empty() {
                    p[name] = json!(text(pull, name));
                }
            }
            p
        })
        .collect();
    if !pulls.is_empty() {
        out.insert("pulls".into(), json!(pulls));
    }
    // `CompletePrimaryRefs`: the job's clone settings win.
    if let Some(job) = job {
        for name in ["path_alias", "clone_uri", "skip_submodules", "clone_depth", "skip_fetch_head"] {
            if let Some(value) = job.config.get(name).filter(|v| !v.is_null()) {
                out.insert(name.into(), value.clone());
            }
        }
    }
    Value::Object(out)
}

/// An int32 as protojson writes it: a number or a numeric string.
fn number(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

/// A label value cut to 63 characters the way `LabelsAndAnnotationsForSpec` cuts it.
fn truncate(value: &str) -> String {
    match value.get(..63) {
        Some(cut) if value.len() > 63 => cut.trim_end_matches(['.', '_', '-']).to_owned(),
        _ => value.to_owned(),
    }
}

/// What one execution turns into.
#[derive(Debug)]
pub(crate) struct NewJob<'a> {
    pub id: &'a str,
    pub job_name: &'a str,
    /// The `JobExecutionType` name.
    pub job_type: &'static str,
    /// The request body (an object).
    pub request: &'a Value,
    /// The job from the release repo, when the fake has one.
    pub job: Option<&'a JobConfig>,
}

/// The ProwJob `HandleProwJob` creates for a request.
pub(crate) fn prowjob(cluster: &ClusterOptions, new: &NewJob<'_>) -> Value {
    let kind = new.job_type.to_lowercase();
    let config = new.job.map(|j| &j.config).unwrap_or(&Value::Null);
    let options = field(new.request, "pod_spec_options").cloned().unwrap_or_default();
    let strings = |v: Option<&Value>| v.and_then(Value::as_object).cloned().unwrap_or_default();

    let mut pod_spec = config.get("spec").filter(|s| s.is_object()).cloned().unwrap_or_else(default_pod_spec);
    let envs = strings(field(&options, "envs"));
    if let Some(containers) = pod_spec["containers"].as_array_mut().filter(|_| !envs.is_empty()) {
        for container in containers {
            if !container["env"].is_array() {
                container["env"] = json!([]);
            }
            if let Some(env) = container["env"].as_array_mut() {
                env.extend(envs.iter().map(|(name, value)| json!({"name": name, "value": value})));
            }
        }
    }
    let context = config["context"].as_str().unwrap_or_default();
    let mut spec = json!({
        "type": kind,
        "agent": config["agent"].as_str().unwrap_or("kubernetes"),
        "cluster": config["cluster"].as_str().unwrap_or("default"),
        "namespace": config["namespace"].as_str().unwrap_or(&cluster.namespace),
        "job": new.job_name,
        "report": config["skip_report"] != json!(true),
        "pod_spec": pod_spec,
    });
    if !context.is_empty() {
        spec["context"] = json!(context);
    }
    for name in ["rerun_command", "max_concurrency", "hidden", "reporter_config", "job_queue_name"] {
        if let Some(value) =
            config.get(name).filter(|v| !matches!(v, Value::Null | Value::Bool(false)) && **v != json!(0))
        {
            spec[name] = value.clone();
        }
    }
    if config["decorate"] != json!(false) {
        let mut decoration = default_decoration();
        for (key, value) in strings(config.get("decoration_config")) {
            decoration[key] = value;
        }
        spec["decoration_config"] = decoration;
    }
    let refs = match field(new.request, "refs") {
        Some(refs) => {
            spec["refs"] = crd_refs(refs, new.job);
            spec["refs"].clone()
        }
        None => match config["extra_refs"].as_array().filter(|r| !r.is_empty()) {
            Some(extra) => {
                spec["extra_refs"] = json!(extra);
                extra[0].clone()
            }
            None => Value::Null,
        },
    };

    // `LabelsAndAnnotationsForSpec`, then the job's and the request's labels on top.
    let mut labels = Map::new();
    let mut annotations = Map::new();
    labels.insert("created-by-prow".into(), json!("true"));
    labels.insert("prow.k8s.io/type".into(), json!(kind));
    for (key, value) in [("prow.k8s.io/job", new.job_name), ("prow.k8s.io/context", context)] {
        labels.insert(key.into(), json!(truncate(value)));
        annotations.insert(key.into(), json!(value));
    }
    if refs.is_object() {
        for (label, name) in [("org", "org"), ("repo", "repo"), ("base_ref", "base_ref")] {
            labels
                .insert(format!("prow.k8s.io/refs.{label}"), json!(refs[name].as_str().unwrap_or_default()));
        }
        if let Some(n) = refs["pulls"][0]["number"].as_i64() {
            labels.insert("prow.k8s.io/refs.pull".into(), json!(n.to_string()));
        }
    }
    labels.insert("prow.k8s.io/id".into(), json!(new.id));
    labels.extend(strings(config.get("labels")));
    labels.extend(strings(field(&options, "labels")));
    annotations.extend(strings(config.get("annotations")));
    annotations.extend(strings(field(&options, "annotations")));
    // Invalid values fall back to their last path element, else are dropped.
    labels.retain(|_, value| {
        let text = value.as_str().unwrap_or_default().to_owned();
        let base = text.rsplit('/').next().unwrap_or_default().to_owned();
        if label_value_ok(&text) {
            true
        } else if label_value_ok(&base) {
            *value = json!(base);
            true
        } else {
            false
        }
    });

    json!({
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {"name": new.id, "namespace": cluster.namespace, "labels": labels, "annotations": annotations},
        "spec": spec,
        "status": {"state": "triggered", "startTime": now()},
    })
}

/// Creates a ProwJob as the API server would: validated against the ProwJob CRD when
/// `$OKD_SHARED` has it (unknown fields pruned, defaults applied, problems an error).
pub(crate) fn create(cluster: &ClusterOptions, mut prowjob: Value) -> Result<(), String> {
    let name = prowjob["metadata"]["name"].as_str().unwrap_or_default().to_owned();
    if let Some(schemas) = Schemas::from_env() {
        schemas.apply_defaults("prow.k8s.io", "v1", "ProwJob", &mut prowjob);
        let pruned = schemas
            .validate("prow.k8s.io", "v1", "ProwJob", &mut prowjob, FieldValidation::Warn)
            .map_err(|causes| format!("ProwJob.prow.k8s.io {name:?} is invalid: {}", causes.join("; ")))?;
        if !pruned.is_empty() {
            // What a real server's Warning header would say: the job config has fields the
            // CRD does not know, which are dropped.
            tracing::warn!(prowjob = %name, ?pruned, "fields pruned from a ProwJob the fake Gangway created");
        }
    }
    cluster
        .store
        .create(&prowjobs(), &cluster.namespace, prowjob)
        .map(|_| ())
        .map_err(|e| format!("creating ProwJob {name:?}: {e:?}"))
}

/// A ProwJob as `GetJobExecution` translates it.
#[derive(Debug)]
pub(crate) struct View {
    pub job_name: String,
    /// `JobExecutionType` name.
    pub job_type: &'static str,
    /// `JobExecutionStatus` name.
    pub status: &'static str,
    pub url: String,
    pub build_id: String,
    pub created: Option<String>,
    pub completed: Option<String>,
}

pub(crate) fn view(prowjob: &Value) -> View {
    let (spec, status) = (&prowjob["spec"], &prowjob["status"]);
    let string = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let time = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    View {
        job_name: string(&spec["job"]),
        job_type: job_type(spec["type"].as_str().unwrap_or_default()),
        status: status_name(status["state"].as_str().unwrap_or_default()),
        url: string(&status["url"]),
        build_id: string(&status["build_id"]),
        created: time(&status["startTime"]),
        completed: time(&status["completionTime"]),
    }
}

/// `TranslateProwJobStatus`.
pub(crate) fn status_name(state: &str) -> &'static str {
    match state {
        "scheduling" => "SCHEDULING",
        "triggered" => "TRIGGERED",
        "pending" => "PENDING",
        "success" => "SUCCESS",
        "failure" => "FAILURE",
        "aborted" => "ABORTED",
        "error" => "ERROR",
        _ => "JOB_EXECUTION_STATUS_UNSPECIFIED",
    }
}

/// `TranslateProwJobType`.
fn job_type(kind: &str) -> &'static str {
    match kind {
        "periodic" => "PERIODIC",
        "postsubmit" => "POSTSUBMIT",
        "presubmit" => "PRESUBMIT",
        "batch" => "BATCH",
        _ => "JOB_EXECUTION_TYPE_UNSPECIFIED",
    }
}

/// The ProwJobs `ListJobExecutions` returns: those whose `prow.k8s.io/job` label equals
/// `job_name` (a label selector, so a name over 63 characters matches nothing), by name.
pub(crate) fn list(cluster: &ClusterOptions, job_name: Option<&str>) -> Vec<(String, View)> {
    let (items, _) = cluster.store.list(&prowjobs(), Some(&cluster.namespace));
    items
        .iter()
        .filter(|pj| job_name.is_none_or(|j| pj["metadata"]["labels"]["prow.k8s.io/job"] == j))
        .map(|pj| (pj["metadata"]["name"].as_str().unwrap_or_default().to_owned(), view(pj)))
        .collect()
}

/// `BulkJobStatusChange`: sets `status.state` of every matching ProwJob to the desired state
/// (lowercase), as Gangway's update does; plank then finishes an abort. Returns how many.
pub(crate) fn bulk(cluster: &ClusterOptions, change: &BulkChange) -> usize {
    let (items, _) = cluster.store.list(&prowjobs(), Some(&cluster.namespace));
    let desired = change.desired.to_lowercase();
    let mut changed = 0;
    for pj in items {
        let labels = &pj["metadata"]["labels"];
        let label = |key: &str| labels[key].as_str().unwrap_or_default();
        let candidate = Candidate {
            status: status_name(pj["status"]["state"].as_str().unwrap_or_default()),
            job_type: job_type(label("prow.k8s.io/type")),
            org: label("prow.k8s.io/refs.org"),
            repo: label("prow.k8s.io/refs.repo"),
            cluster: pj["spec"]["cluster"].as_str().unwrap_or_default(),
            started: pj["status"]["startTime"].as_str().and_then(|s| s.parse().ok()),
        };
        if !change.matches(&candidate) {
            continue;
        }
        let name = pj["metadata"]["name"].as_str().unwrap_or_default();
        // Deleted meanwhile is fine: Gangway logs and goes on.
        if cluster
            .store
            .update_status(&prowjobs(), &cluster.namespace, name, |s| s["state"] = json!(desired))
            .is_ok()
        {
            changed += 1;
        }
    }
    changed
}
