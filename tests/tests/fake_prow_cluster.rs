#![allow(clippy::unwrap_used)]
//! The fake Gangway on a cluster: executions become ProwJobs in the fake API server's store,
//! the ProwJob controller runs them, and a successful promotion job tags its images into
//! ImageStreams before it succeeds, as ci-operator does on app.ci. Jobs come from a small
//! openshift/release checkout in a tempdir.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::Duration,
};

use futures::StreamExt;
use kube::{
    Api, Client, Config,
    api::{ApiResource, DynamicObject, GroupVersionKind},
    runtime::watcher,
};
use okd_tests::{
    kube::{
        controllers::{Controllers, Script},
        server::{FakeApiServer, ServerOptions},
        store::{EventType, Gvr, Store},
    },
    prow::{FakeGangway, GangwayOptions, JobResult, JobScript, promote::imagestreams, promoted_digest},
    schema::{FieldValidation, Schemas},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const NS: &str = "ci";
const JOB: &str = "branch-ci-openshift-api-main-okd-scos-images";
const PRESUBMIT: &str = "pull-ci-openshift-api-main-okd-scos-images";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const BULK: &str = "/v1/bulk-job-status-update";
const MS: fn(u64) -> Duration = Duration::from_millis;

const CONFIG: &str = r#"zz_generated_metadata: {org: openshift, repo: api, branch: main, variant: okd-scos}
build_root: {image_stream_tag: {namespace: ocp, name: builder, tag: rhel-9-golang-1.24-openshift-4.22}}
base_images:
  origin_scos-4.22_base-stream9: {namespace: origin, name: scos-4.22, tag: base-stream9}
images:
  items:
  - to: cluster-api
    dockerfile_path: Dockerfile.rhel
    from: origin_scos-4.22_base-stream9
    build_args: [{name: TAGS, value: scos}]
  - to: cluster-api-tests
    dockerfile_path: Dockerfile.tests
    from: origin_scos-4.22_base-stream9
promotion:
  to:
  - {namespace: origin, name: scos-4.22}
  - {namespace: origin, name: scos-4.21, disabled: true}
  - {namespace: okd, tag: "4.22", excluded_images: [cluster-api-tests]}
releases: {latest: {integration: {namespace: origin, name: scos-4.22, include_built_images: true}}}
resources: {'*': {requests: {cpu: 100m, memory: 200Mi}}}
"#;

/// A job as prowgen writes it: `kind` is `postsubmit` (the promotion job) or `presubmit`.
fn job(name: &str, kind: &str) -> Value {
    let promotes = kind == "postsubmit";
    let mut args = vec![
        "--gcs-upload-secret=/secrets/gcs/service-account.json",
        "--image-import-pull-secret=/etc/pull-secret/.dockerconfigjson",
        "--report-credentials-file=/etc/report/credentials",
        "--target=[images]",
        "--variant=okd-scos",
    ];
    if promotes {
        args.insert(2, "--promote");
    }
    let mut job = json!({
        "agent": "kubernetes", "always_run": true, "branches": ["^main$"], "cluster": "build05",
        "decorate": true, "decoration_config": {"skip_cloning": true}, "max_concurrency": 1, "name": name,
        "labels": {"ci-operator.openshift.io/variant": "okd-scos", "ci.openshift.io/generator": "prowgen"},
        "spec": {
            "containers": [{
                "args": args, "command": ["ci-operator"], "name": "",
                "image": "quay-proxy.ci.openshift.org/openshift/ci:ci_ci-operator_latest",
                "imagePullPolicy": "Always", "resources": {"requests": {"cpu": "10m"}},
                "volumeMounts": [{"mountPath": "/etc/pull-secret", "name": "pull-secret", "readOnly": true}],
            }],
            "serviceAccountName": "ci-operator",
            "volumes": [{"name": "pull-secret", "secret": {"secretName": "registry-pull-credentials"}}],
        },
    });
    if promotes {
        job["labels"]["ci-operator.openshift.io/is-promotion"] = json!("true");
    } else {
        job["context"] = json!("ci/prow/okd-scos-images");
        job["labels"]["pj-rehearse.openshift.io/can-be-rehearsed"] = json!("true");
    }
    job
}

/// A checkout with the okd-scos config of openshift/api main and its generated jobs (block
/// YAML, as prowgen writes it), plus files the fake must ignore.
fn release_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("ci-operator/config/openshift/api/openshift-api-main__okd-scos.yaml", CONFIG);
    let jobs = "ci-operator/jobs/openshift/api/openshift-api-main";
    for (kind, name) in [("postsubmit", JOB), ("presubmit", PRESUBMIT)] {
        let file = json!({format!("{kind}s"): {"openshift/api": [job(name, kind)]}});
        write(&format!("{jobs}-{kind}s.yaml"), &serde_saphyr::to_string(&file).unwrap());
    }
    write("ci-operator/jobs/openshift/api/OWNERS", "approvers: [- not: yaml: at all\n");
    write("ci-operator/jobs/openshift/api/.config.prowgen", "{{{");
    dir
}

struct Cluster {
    server: FakeApiServer,
    gangway: FakeGangway,
    controllers: Controllers,
    _repo: tempfile::TempDir,
}

/// Server, Gangway on it with the release repo, and controllers that promote for it.
async fn cluster(script: Script) -> Cluster {
    let repo = release_repo();
    let server = FakeApiServer::start(ServerOptions::default()).await;
    let options =
        GangwayOptions::default().token("t").on_cluster(server.store(), NS).release_repo(repo.path());
    let gangway = FakeGangway::start(options).await;
    let controllers = Controllers::start(server.store(), script.on_prowjob_success(gangway.promoter()));
    Cluster { server, gangway, controllers, _repo: repo }
}

/// One HTTP/1.1 request (`Connection: close`) on the blocking pool; the status and JSON body.
async fn http(base: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let addr = base.trim_start_matches("http://").to_owned();
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer t\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let raw = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        raw
    })
    .await
    .unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// `POST` of `body` to `path`: the status and body.
async fn post(gw: &FakeGangway, path: &str, body: &Value) -> (u16, Value) {
    http(&gw.url(), "POST", path, Some(body)).await
}

/// `GET /v1/executions/{id}`: the status and body.
async fn get(gw: &FakeGangway, id: &str) -> (u16, Value) {
    http(&gw.url(), "GET", &format!("/v1/executions/{id}"), None).await
}

fn postsubmit(job: &str, org: &str, branch: &str) -> Value {
    json!({
        "job_name": job, "job_execution_type": "POSTSUBMIT",
        "refs": {"org": org, "repo": "api", "base_ref": branch, "base_sha": SHA},
        "pod_spec_options": {
            "labels": {"okd-build.io/run": "r1"},
            "annotations": {"okd-build.io/requested-by": "okd-build"},
            "envs": {"RELEASE_IMAGE_LATEST": "registry.ci.openshift.org/origin/release-scos:4.22"},
        },
    })
}

/// Triggers `body`, expecting 200; the execution id.
async fn trigger(gw: &FakeGangway, body: &Value) -> String {
    let (status, reply) = post(gw, "/v1/executions", body).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["job_status"], "TRIGGERED");
    reply["id"].as_str().unwrap().to_owned()
}

fn prowjobs() -> Gvr {
    Gvr::new("prow.k8s.io", "v1", "prowjobs")
}

fn state(pj: &Value) -> &str {
    pj["status"]["state"].as_str().unwrap_or_default()
}

/// Waits (5 s at most) until the ProwJob matches `pred`.
async fn until(store: &Store, id: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let mut events = store.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let pj = store.get(&prowjobs(), NS, id);
        if let Some(pj) = pj.as_ref().filter(|pj| pred(pj)) {
            return pj.clone();
        }
        let event = tokio::time::timeout_at(deadline, events.recv()).await;
        assert!(event.is_ok(), "ProwJob {id} never matched: {:#}", pj.unwrap_or_default());
    }
}

fn qci(digest: &str) -> String {
    format!("quay-proxy.ci.openshift.org/openshift/ci@{digest}")
}

/// `sha256:` + hex SHA-256 of `<id>/<to>`, computed here independently.
fn digest(id: &str, to: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(format!("{id}/{to}"))))
}

#[tokio::test]
async fn a_promotion_job_tags_its_images_before_it_succeeds() {
    let c = cluster(Script::new().default_duration(MS(40))).await;
    let store = c.server.store();
    let mut events = store.subscribe();
    let id = trigger(&c.gangway, &postsubmit(JOB, "openshift", "main")).await;
    let pj = until(&store, &id, |pj| state(pj) == "success").await;
    assert_eq!(c.controllers.started(), std::slice::from_ref(&id));

    // The ProwJob as Gangway builds it: Prow's labels, the job's, the request's.
    assert_eq!(
        pj["metadata"]["labels"],
        json!({
            "created-by-prow": "true", "prow.k8s.io/job": JOB, "prow.k8s.io/type": "postsubmit",
            "prow.k8s.io/context": "", "prow.k8s.io/id": id, "prow.k8s.io/refs.org": "openshift",
            "prow.k8s.io/refs.repo": "api", "prow.k8s.io/refs.base_ref": "main",
            "ci-operator.openshift.io/is-promotion": "true", "ci-operator.openshift.io/variant": "okd-scos",
            "ci.openshift.io/generator": "prowgen", "okd-build.io/run": "r1",
        })
    );
    assert_eq!(
        pj["metadata"]["annotations"],
        json!({
            "prow.k8s.io/job": JOB, "prow.k8s.io/context": "", "okd-build.io/requested-by": "okd-build",
        })
    );
    let spec = &pj["spec"];
    assert_eq!(
        (spec["type"].as_str(), spec["cluster"].as_str(), spec["job"].as_str()),
        (Some("postsubmit"), Some("build05"), Some(JOB))
    );
    assert_eq!(spec["refs"], json!({"org": "openshift", "repo": "api", "base_ref": "main", "base_sha": SHA}));
    assert_eq!(spec["decoration_config"]["skip_cloning"], true);
    let container = &spec["pod_spec"]["containers"][0];
    assert!(container["args"].as_array().unwrap().contains(&json!("--promote")));
    assert_eq!(container["env"][0]["name"], "RELEASE_IMAGE_LATEST");

    // The stream and its tags, by deterministic digest, through QCI.
    let stream = store.get(&imagestreams(), "origin", "scos-4.22").expect("origin/scos-4.22");
    for to in ["cluster-api", "cluster-api-tests"] {
        let d = digest(&id, to);
        assert_eq!(promoted_digest(&id, to), d);
        let want = json!({"name": to, "from": {"kind": "DockerImage", "name": qci(&d)}, "generation": 1,
                          "importPolicy": {"importMode": "PreserveOriginal"}, "referencePolicy": {"type": "Local"}});
        assert!(stream["spec"]["tags"].as_array().unwrap().contains(&want), "{stream:#}");
        let list = stream["status"]["tags"].as_array().unwrap().iter().find(|t| t["tag"] == to).unwrap();
        assert_eq!(list["items"][0]["image"], d);
        assert_eq!(list["items"][0]["dockerImageReference"], qci(&d));
    }
    assert_eq!(stream["status"]["publicDockerImageRepository"], "registry.ci.openshift.org/origin/scos-4.22");
    // `tag:` target without the excluded image; the disabled target gets nothing.
    let okd = store.get(&imagestreams(), "okd", "cluster-api").expect("okd/cluster-api");
    assert_eq!(okd["spec"]["tags"][0]["name"], "4.22");
    assert_eq!(okd["spec"]["tags"][0]["from"]["name"], qci(&digest(&id, "cluster-api")));
    assert!(store.get(&imagestreams(), "okd", "cluster-api-tests").is_none());
    assert!(store.get(&imagestreams(), "origin", "scos-4.21").is_none());
    let promoted: Vec<String> =
        c.gangway.promotions().iter().map(|p| format!("{}/{}:{}", p.namespace, p.stream, p.tag)).collect();
    assert_eq!(
        promoted,
        ["origin/scos-4.22:cluster-api", "origin/scos-4.22:cluster-api-tests", "okd/cluster-api:4.22"]
    );
    assert!(c.gangway.promotions().iter().all(|p| p.job_id == id && p.job_name == JOB));

    // The stream's status was written before the job's success.
    let (mut tagged, mut succeeded) = (None, None);
    while let Ok(e) = events.try_recv() {
        if e.gvr == imagestreams()
            && e.object["metadata"]["name"] == "scos-4.22"
            && e.object["status"]["tags"].is_array()
        {
            tagged.get_or_insert(e.resource_version);
        }
        if e.gvr == prowjobs() && e.kind == EventType::Modified && state(&e.object) == "success" {
            succeeded.get_or_insert(e.resource_version);
        }
    }
    assert!(tagged.unwrap() < succeeded.unwrap(), "tags at rv {tagged:?}, success at rv {succeeded:?}");

    // Gangway reads the ProwJob.
    let (status, got) = get(&c.gangway, &id).await;
    assert_eq!(status, 200);
    assert_eq!(
        (got["job_status"].as_str(), got["job_type"].as_str(), got["job_name"].as_str()),
        (Some("SUCCESS"), Some("POSTSUBMIT"), Some(JOB))
    );
    assert_eq!(got["job_url"], pj["status"]["url"]);
    assert_eq!(got["completion_time"], pj["status"]["completionTime"]);
    let (_, listed) =
        http(&c.gangway.url(), "GET", &format!("/v1/executions?job_name={JOB}&status=SUCCESS"), None).await;
    assert_eq!(listed["job_execution"][0]["id"], id.as_str());
    let executions = c.gangway.executions();
    assert_eq!((executions[0].job_status.as_str(), executions[0].build_id.is_empty()), ("SUCCESS", false));

    // A deleted ProwJob is gone for Gangway too.
    store.delete(&prowjobs(), NS, &id).unwrap();
    let (status, body) = get(&c.gangway, &id).await;
    assert_eq!((status, body["code"].as_i64()), (404, Some(5)));
}

#[tokio::test]
async fn a_scripted_failure_does_not_promote() {
    let c = cluster(Script::new().default_duration(MS(20)).fail(JOB, "boom")).await;
    let store = c.server.store();
    let id = trigger(&c.gangway, &postsubmit(JOB, "openshift", "main")).await;
    let pj = until(&store, &id, |pj| state(pj) == "failure").await;
    assert_eq!(pj["status"]["description"], "Job failed.");
    assert!(store.list(&imagestreams(), None).0.is_empty());
    assert!(c.gangway.promotions().is_empty());
    let (_, got) = get(&c.gangway, &id).await;
    assert_eq!(got["job_status"], "FAILURE");

    // A presubmit of the same config builds but never promotes.
    let presubmit = json!({
        "job_name": PRESUBMIT, "job_execution_type": "PRESUBMIT",
        "refs": {"org": "openshift", "repo": "api", "base_ref": "main", "base_sha": SHA,
                 "pulls": [{"number": 42, "author": "dev", "sha": SHA}]},
    });
    let id = trigger(&c.gangway, &presubmit).await;
    let pj = until(&store, &id, |pj| state(pj) == "success").await;
    assert_eq!(pj["metadata"]["labels"]["prow.k8s.io/refs.pull"], "42");
    assert_eq!(pj["spec"]["context"], "ci/prow/okd-scos-images");
    assert!(c.gangway.promotions().is_empty());
}

#[tokio::test]
async fn unknown_jobs_are_not_found() {
    let c = cluster(Script::new()).await;
    let nope = "branch-ci-openshift-api-main-nope";
    let cases = [
        (
            postsubmit(nope, "openshift", "main"),
            format!("postsubmit job {nope:?} from orgRepo \"openshift/api\""),
        ),
        (
            postsubmit(JOB, "okd-project", "main"),
            format!("postsubmit job {JOB:?} from orgRepo \"okd-project/api\""),
        ),
        (
            postsubmit(JOB, "openshift", "release-4.22"),
            format!("postsubmit job {JOB:?} from orgRepo \"openshift/api\""),
        ),
        (json!({"job_name": JOB, "job_execution_type": "PERIODIC"}), format!("periodic job {JOB:?}")),
    ];
    for (body, message) in cases {
        let (status, reply) = post(&c.gangway, "/v1/executions", &body).await;
        assert_eq!((status, reply["code"].as_i64()), (404, Some(5)), "{body}: {reply}");
        assert_eq!(reply["message"], format!("failed to find associated {message}"));
    }
    assert!(c.server.store().list(&prowjobs(), None).0.is_empty());
    let (status, _) = get(&c.gangway, "00000000-0000-4000-8000-000000000000").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bulk_abort_aborts_a_running_job() {
    let c = cluster(Script::new().duration(JOB, Duration::from_secs(30))).await;
    let store = c.server.store();
    let id = trigger(&c.gangway, &postsubmit(JOB, "openshift", "main")).await;
    until(&store, &id, |pj| state(pj) == "pending").await;
    let bulk = |current: &str, desired: &str, org: &str| {
        json!({"job_status_change": {"current": current, "desired": desired}, "job_type": "POSTSUBMIT",
               "refs": {"org": org, "repo": "api"}})
    };
    let (status, reply) = post(&c.gangway, BULK, &json!({"job_status_change": {"current": "PENDING"}})).await;
    assert_eq!((status, reply["message"].as_str()), (400, Some("desired status is unspecified")));
    // Nothing matches another org or another current state.
    for body in [bulk("PENDING", "ABORTED", "okd-project"), bulk("TRIGGERED", "ABORTED", "openshift")] {
        let (status, reply) = post(&c.gangway, BULK, &body).await;
        assert_eq!((status, reply), (200, json!({})));
    }
    assert_eq!(state(&store.get(&prowjobs(), NS, &id).unwrap()), "pending");

    let (status, _) = post(&c.gangway, BULK, &bulk("PENDING", "5", "openshift")).await;
    assert_eq!(status, 200);
    let pj = until(&store, &id, |pj| pj["status"]["completionTime"].is_string()).await;
    assert_eq!(state(&pj), "aborted");
    let (_, got) = get(&c.gangway, &id).await;
    assert_eq!(got["job_status"], "ABORTED");
    assert!(c.gangway.promotions().is_empty(), "an aborted job promotes nothing");
}

fn schemas(test: &str) -> Option<Schemas> {
    if std::env::var_os("OKD_SHARED").is_none() {
        eprintln!("skipping {test}: OKD_SHARED is unset, so the CRD schemas cannot be read (CI sets it)");
        return None;
    }
    Schemas::from_env()
}

/// Validates strictly against the schema of the object's own apiVersion and kind.
fn check(schemas: &Schemas, what: &str, mut object: Value) {
    let api_version = object["apiVersion"].as_str().unwrap().to_owned();
    let (group, version) = api_version.split_once('/').unwrap();
    let kind = object["kind"].as_str().unwrap().to_owned();
    assert!(schemas.resources().iter().any(|r| r.group == group && r.kind == kind), "{what}: no schema");
    if let Err(problems) = schemas.validate(group, version, &kind, &mut object, FieldValidation::Strict) {
        panic!("{what} does not validate:\n  {}\n{object:#}", problems.join("\n  "));
    }
}

#[tokio::test]
async fn created_prowjobs_and_streams_validate_against_the_real_schemas() {
    let Some(schemas) = schemas("created_prowjobs_and_streams_validate_against_the_real_schemas") else {
        return;
    };
    let c = cluster(Script::new().default_duration(MS(20))).await;
    let store = c.server.store();
    let id = trigger(&c.gangway, &postsubmit(JOB, "openshift", "main")).await;
    let created = store.get(&prowjobs(), NS, &id).unwrap();
    check(&schemas, "the promotion ProwJob as created", created);
    let pj = until(&store, &id, |pj| state(pj) == "success").await;
    check(&schemas, "the promotion ProwJob once succeeded", pj);
    let stream = store.get(&imagestreams(), "origin", "scos-4.22").unwrap();
    check(&schemas, "the promoted ImageStream", stream);

    // A Gangway without a release repo uses a generic ci-operator pod spec.
    let bare = FakeGangway::start(GangwayOptions::default().token("t").on_cluster(store.clone(), NS)).await;
    let periodic = json!({"job_name": "periodic-ci-openshift-release-main-okd-scos-4.22-e2e-aws-ovn-with-a-long-name", "job_execution_type": "PERIODIC"});
    let id = trigger(&bare, &periodic).await;
    let pj = store.get(&prowjobs(), NS, &id).unwrap();
    let label = pj["metadata"]["labels"]["prow.k8s.io/job"].as_str().unwrap();
    assert_eq!(label.len(), 63, "truncated like Prow");
    check(&schemas, "a ProwJob without a job config", pj);
}

/// kube-rs watching ProwJobs through the server while its watches drop and its history is
/// compacted still sees the job succeed, and reads the promoted stream over HTTP.
#[tokio::test]
async fn a_watcher_through_faults_sees_success_and_the_stream() {
    let c = cluster(Script::new().duration(JOB, MS(400))).await;
    let client = Client::try_from(Config::new(c.server.url().parse().unwrap())).unwrap();
    let resource =
        |g: &str, k: &str, p: &str| ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(g, "v1", k), p);
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), NS, &resource("prow.k8s.io", "ProwJob", "prowjobs"));
    let mut events = watcher(api, watcher::Config::default()).boxed();

    let id = trigger(&c.gangway, &postsubmit(JOB, "openshift", "main")).await;
    until(&c.server.store(), &id, |pj| state(pj) == "pending").await;
    c.server.faults().fail_next(Some("GET"), "/apis/prow.k8s.io", 503, 1, None);
    c.server.faults().compact();
    c.server.faults().drop_watches();
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = events.next().await {
            if let Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) = event
                && o.metadata.name.as_deref() == Some(id.as_str())
                && o.data["status"]["state"] == "success"
            {
                return o;
            }
        }
        panic!("the watch ended");
    })
    .await
    .expect("success seen through the server");
    assert_eq!(seen.data["spec"]["job"], JOB);
    let streams = resource("image.openshift.io", "ImageStream", "imagestreams");
    let stream =
        Api::<DynamicObject>::namespaced_with(client, "origin", &streams).get("scos-4.22").await.unwrap();
    let tags = stream.data["spec"]["tags"].as_array().unwrap();
    assert!(tags.iter().any(|t| t["from"]["name"] == qci(&digest(&id, "cluster-api"))));
}

#[tokio::test]
async fn standalone_gangway_reads_jobs_from_the_release_repo() {
    let repo = release_repo();
    let options = GangwayOptions::default()
        .token("t")
        .scripted(JOB, JobScript::new(Duration::from_secs(30), JobResult::Success))
        .release_repo(repo.path());
    let gw = FakeGangway::start(options).await;
    let (status, _) = post(&gw, "/v1/executions", &postsubmit("branch-ci-nope", "openshift", "main")).await;
    assert_eq!(status, 404);
    let id = trigger(&gw, &postsubmit(JOB, "openshift", "main")).await;
    let abort = json!({"jobStatusChange": {"current": "TRIGGERED", "desired": "ABORTED"}, "refs": {"org": "openshift"}});
    let (status, _) = post(&gw, BULK, &abort).await;
    assert_eq!(status, 200);
    let (_, got) = get(&gw, &id).await;
    assert_eq!(got["job_status"], "ABORTED");
    assert!(got["completion_time"].is_string());
}
