//! The scripted controllers, driven through the Store directly: each kind's success, failure,
//! timeout and cancel paths with the real reasons, DAG ordering, pruning and garbage collection.

use std::time::Duration;

use okd_tests::kube::{
    controllers::{Controllers, LOG_ANNOTATION, Script},
    store::{EventType, Gvr, Store, StoreEvent},
};
use serde_json::{Value, json};
use tokio::sync::broadcast;

const NS: &str = "builds";
const MS: fn(u64) -> Duration = Duration::from_millis;
const BAD: &str = "error: build error: no such image";

/// Components: `bad` fails with [`BAD`], `late` times out, `slow` takes 60 ms, `long` 5 s,
/// the others 20 ms after 10 ms of queueing.
fn paths() -> Script {
    let script = Script::new().default_duration(MS(20)).queue_delay(MS(10)).fail("bad", BAD).timeout("late");
    script.duration("slow", MS(60)).duration("long", MS(5_000))
}

fn gvr(kind: &str) -> Gvr {
    match kind {
        "pr" => Gvr::new("tekton.dev", "v1", "pipelineruns"),
        "tr" => Gvr::new("tekton.dev", "v1", "taskruns"),
        "pod" => Gvr::new("", "v1", "pods"),
        "wf" => Gvr::new("argoproj.io", "v1alpha1", "workflows"),
        "br" => Gvr::new("shipwright.io", "v1beta1", "buildruns"),
        "build" => Gvr::new("build.openshift.io", "v1", "builds"),
        "pj" => Gvr::new("prow.k8s.io", "v1", "prowjobs"),
        other => panic!("unknown kind {other}"),
    }
}

fn create(store: &Store, kind: &str, object: Value) -> Value {
    store.create(&gvr(kind), NS, object).expect("create")
}

/// Waits (5 s at most) until `pred` holds for the object (`None`: absent).
async fn until_opt(
    store: &Store,
    kind: &str,
    name: &str,
    pred: impl Fn(Option<&Value>) -> bool,
) -> Option<Value> {
    let mut events = store.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let object = store.get(&gvr(kind), NS, name);
        if pred(object.as_ref()) {
            return object;
        }
        let event = tokio::time::timeout_at(deadline, events.recv()).await;
        assert!(event.is_ok(), "{kind} {name} never matched: {:#}", object.unwrap_or_default());
    }
}

async fn until(store: &Store, kind: &str, name: &str, pred: impl Fn(&Value) -> bool) -> Value {
    until_opt(store, kind, name, |o| o.is_some_and(&pred)).await.expect("matched")
}

async fn until_gone(store: &Store, kind: &str, name: &str) {
    until_opt(store, kind, name, |o| o.is_none()).await;
}

/// Consecutive distinct values of `f` over the versions of one object `events` saw.
fn steps(
    events: &mut broadcast::Receiver<StoreEvent>,
    kind: &str,
    name: &str,
    f: fn(&Value) -> String,
) -> Vec<String> {
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        if e.gvr == gvr(kind) && e.object["metadata"]["name"] == name && e.kind != EventType::Deleted {
            seen.push(f(&e.object));
        }
    }
    seen.retain(|s: &String| !s.is_empty());
    seen.dedup();
    seen
}

fn cond(object: &Value) -> &Value {
    object["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Succeeded"))
        .unwrap_or(&Value::Null)
}

fn reason(object: &Value) -> String {
    cond(object)["reason"].as_str().unwrap_or_default().to_owned()
}

fn done(object: &Value) -> bool {
    matches!(cond(object)["status"].as_str(), Some("True" | "False"))
}

/// Asserts JSON pointers of an object: `has!(obj, "/status/phase" => "Failed", ...)`.
macro_rules! has {
    ($object:expr, $($pointer:literal => $want:tt),+ $(,)?) => {{
        let object: &Value = &$object;
        $(let got = object.pointer($pointer).unwrap_or(&Value::Null);
          assert_eq!(got, &json!($want), "{} of {object:#}", $pointer);)+
    }};
}

fn log_of(store: &Store, pod: &str) -> String {
    let pod = store.get(&gvr("pod"), NS, pod).expect("pod exists");
    pod["metadata"]["annotations"][LOG_ANNOTATION].as_str().expect("log annotation").to_owned()
}

fn pipeline_run(name: &str, component: &str, tasks: Option<&[&str]>) -> Value {
    let mut pr = json!({
        "apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
        "metadata": {"name": name, "labels": {"okd-build.io/component": component}},
        "spec": {"params": [
            {"name": "output-image", "value": format!("quay.io/okd/{component}:v1")},
            {"name": "git-url", "value": "https://github.com/openshift/oc"},
            {"name": "revision", "value": "abc123"},
        ]},
    });
    if let Some(tasks) = tasks {
        pr["spec"]["pipelineSpec"]["tasks"] = tasks.iter().map(|t| json!({"name": t})).collect();
    }
    pr
}

#[tokio::test]
async fn pipelinerun_succeeds_with_results_taskruns_and_pods() {
    let store = Store::default();
    let controllers = Controllers::start(store.clone(), Script::new().duration("oc", MS(30)));
    let mut events = store.subscribe();
    create(&store, "pr", pipeline_run("oc-x1", "oc", Some(&["init", "clone-repository", "build-container"])));
    let pr = until(&store, "pr", "oc-x1", done).await;
    assert_eq!(steps(&mut events, "pr", "oc-x1", reason), ["Started", "Running", "Succeeded"]);
    has!(pr,
        "/status/conditions/0/status" => "True",
        "/status/conditions/0/message" => "Tasks Completed: 3 (Failed: 0, Cancelled 0), Skipped: 0",
        "/status/results/0" => {"name": "IMAGE_URL", "value": "quay.io/okd/oc:v1"},
        "/status/results/1" => {"name": "IMAGE_DIGEST", "value": Script::digest_for("oc")},
        "/status/results/2/name" => "CHAINS-GIT_URL",
        "/status/results/3" => {"name": "CHAINS-GIT_COMMIT", "value": "abc123"},
        "/status/observedGeneration" => 1, "/status/childReferences/2/name" => "oc-x1-build-container",
        "/status/childReferences/2/pipelineTaskName" => "build-container",
        "/status/childReferences/2/kind" => "TaskRun",
    );
    assert!(pr["status"]["startTime"].is_string() && pr["status"]["completionTime"].is_string());
    let tr = store.get(&gvr("tr"), NS, "oc-x1-build-container").expect("taskrun");
    has!(tr,
        "/metadata/labels/tekton.dev~1pipelineRun" => "oc-x1",
        "/metadata/labels/okd-build.io~1component" => "oc", "/status/conditions/0/reason" => "Succeeded",
        "/status/podName" => "oc-x1-build-container-pod",
        "/status/results/1/value" => (Script::digest_for("oc")),
    );
    let log = log_of(&store, "oc-x1-build-container-pod");
    assert!(log.ends_with(&format!("quay.io/okd/oc:v1@{}\n", Script::digest_for("oc"))), "{log}");
    // The running message counts the tasks.
    let mut again = store.subscribe();
    create(&store, "pr", pipeline_run("oc-x2", "oc", None));
    until(&store, "pr", "oc-x2", done).await;
    let messages = steps(&mut again, "pr", "oc-x2", |o| cond(o)["message"].to_string());
    let running = r#""Tasks Completed: 0 (Failed: 0, Cancelled 0), Incomplete: 2, Skipped: 0""#;
    assert!(messages.contains(&running.to_owned()), "{messages:?}");
    assert_eq!(controllers.started(), ["oc-x1", "oc-x2"]);
}

#[tokio::test]
async fn pipelinerun_failure_timeout_and_digests() {
    let store = Store::default();
    let _controllers = Controllers::start(store.clone(), paths());
    create(&store, "pr", pipeline_run("cli-1", "bad", None));
    let mut timed = pipeline_run("slow-1", "late", None);
    timed["spec"]["timeouts"] = json!({"pipeline": "2h"});
    create(&store, "pr", timed);

    let pr = until(&store, "pr", "cli-1", done).await;
    has!(pr,
        "/status/conditions/0/status" => "False", "/status/conditions/0/reason" => "Failed",
        "/status/conditions/0/message" => "Tasks Completed: 2 (Failed: 1, Cancelled 0), Skipped: 0",
        "/status/results" => null,
    );
    let failed = store.get(&gvr("tr"), NS, "cli-1-build-container").expect("default task list");
    has!(failed,
        "/status/conditions/0/reason" => "Failed",
        "/status/conditions/0/message" => "\"step-build\" exited with code 1",
    );
    assert_eq!(reason(&store.get(&gvr("tr"), NS, "cli-1-push").expect("push")), "Succeeded");
    let pod = store.get(&gvr("pod"), NS, "cli-1-build-container-pod").expect("failed pod");
    has!(pod, "/status/phase" => "Failed", "/status/containerStatuses/0/state/terminated/exitCode" => 1);
    let log = log_of(&store, "cli-1-build-container-pod");
    assert!(log.trim_end().ends_with(BAD), "{log}");

    let pr = until(&store, "pr", "slow-1", done).await;
    has!(pr,
        "/status/conditions/0/reason" => "PipelineRunTimeout",
        "/status/conditions/0/message" => "PipelineRun \"slow-1\" failed to finish within \"2h0m0s\"",
    );
    assert_eq!(reason(&store.get(&gvr("tr"), NS, "slow-1-push").expect("tr")), "TaskRunCancelled");

    let digest = Script::digest_for("abc");
    assert_eq!(digest, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/// A client's merge patch on `spec`.
fn patch_spec(store: &Store, kind: &str, name: &str, key: &str, value: Value) {
    let mut object = store.get(&gvr(kind), NS, name).expect("object");
    object["spec"][key] = value;
    store.replace(&gvr(kind), NS, name, object, None, false).expect("patch spec");
}

#[tokio::test]
async fn pipelinerun_cancel_pending_and_graceful_stop() {
    let store = Store::default();
    let _controllers =
        Controllers::start(store.clone(), paths().default_duration(MS(150)).duration("quick", MS(20)));
    create(&store, "pr", pipeline_run("c-1", "c", None));
    until(&store, "pr", "c-1", |o| reason(o) == "Running").await;
    patch_spec(&store, "pr", "c-1", "status", json!("Cancelled"));
    let pr = until(&store, "pr", "c-1", done).await;
    has!(pr,
        "/status/conditions/0/reason" => "Cancelled",
        "/status/conditions/0/message" => "PipelineRun \"c-1\" was cancelled",
    );
    assert!(pr["status"]["completionTime"].is_string());
    let tr = store.get(&gvr("tr"), NS, "c-1-build-container").expect("tr");
    let why = "TaskRun cancelled as the PipelineRun it belongs to has been cancelled.";
    has!(tr,
        "/status/conditions/0/reason" => "TaskRunCancelled",
        "/status/conditions/0/message" => (format!("TaskRun \"c-1-build-container\" was cancelled. {why}")),
    );

    let mut held = pipeline_run("q-1", "quick", None);
    held["spec"]["status"] = json!("PipelineRunPending");
    create(&store, "pr", held);
    let pr = until(&store, "pr", "q-1", |o| reason(o) == "PipelineRunPending").await;
    assert!(pr["status"]["startTime"].is_null());
    patch_spec(&store, "pr", "q-1", "status", Value::Null);
    assert_eq!(reason(&until(&store, "pr", "q-1", done).await), "Succeeded");

    create(&store, "pr", pipeline_run("s-1", "s", None));
    until(&store, "pr", "s-1", |o| reason(o) == "Running").await;
    patch_spec(&store, "pr", "s-1", "status", json!("StoppedRunFinally"));
    let pr = until(&store, "pr", "s-1", done).await;
    assert_eq!(reason(&pr), "Cancelled");
    assert_eq!(reason(&store.get(&gvr("tr"), NS, "s-1-push").expect("tr")), "Succeeded", "tasks finish");
}

#[tokio::test]
async fn durations_order_completions_and_started_order() {
    let store = Store::default();
    let script = Script::new().duration("slow", MS(250)).duration("fast", MS(10)).duration("mid", MS(100));
    let controllers = Controllers::start(store.clone(), script);
    let mut events = store.subscribe();
    for c in ["slow", "fast", "mid"] {
        create(&store, "pr", pipeline_run(c, c, None));
    }
    until(&store, "pr", "slow", done).await;
    let mut finished = Vec::new();
    while let Ok(e) = events.try_recv() {
        let name = e.object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        if e.gvr == gvr("pr") && done(&e.object) && !finished.contains(&name) {
            finished.push(name);
        }
    }
    assert_eq!(finished, ["fast", "mid", "slow"]);
    assert_eq!(controllers.started(), ["slow", "fast", "mid"]);
}

#[tokio::test]
async fn pruning_and_deletion_collect_taskruns_and_pods() {
    let store = Store::default();
    let script =
        Script::new().default_duration(MS(20)).duration("long", MS(5_000)).prune_finished_after(MS(40));
    let controllers = Controllers::start(store.clone(), script);
    create(&store, "pr", pipeline_run("p-1", "p", None));
    until(&store, "pr", "p-1", done).await;
    until_gone(&store, "pr", "p-1").await;
    until_gone(&store, "tr", "p-1-push").await;
    until_gone(&store, "pod", "p-1-push-pod").await;

    create(&store, "pr", pipeline_run("long-1", "long", None));
    until(&store, "pr", "long-1", |o| reason(o) == "Running").await;
    store.delete(&gvr("pr"), NS, "long-1").expect("delete mid-run");
    until_gone(&store, "pod", "long-1-build-container-pod").await;
    // The controllers carry on.
    create(&store, "pr", pipeline_run("p-2", "p", None));
    until(&store, "pr", "p-2", done).await;
    assert_eq!(controllers.started(), ["p-1", "long-1", "p-2"]);
    controllers.stop();
    tokio::task::yield_now().await;
    create(&store, "pr", pipeline_run("p-3", "p", None));
    tokio::time::sleep(MS(60)).await;
    assert!(store.get(&gvr("pr"), NS, "p-3").expect("p-3")["status"].is_null(), "stopped: nothing runs");
}

fn task(name: &str, deps: &[&str]) -> Value {
    let deps: Vec<String> = deps.iter().map(|d| format!("t-{d}")).collect();
    json!({"name": format!("t-{name}"), "template": "build", "dependencies": deps,
           "arguments": {"parameters": [{"name": "component", "value": name}]}})
}

fn workflow(name: &str, tasks: Value) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": name},
        "spec": {"entrypoint": "main", "templates": [
            {"name": "main", "dag": {"tasks": tasks}},
            {"name": "build", "container": {"image": "quay.io/okd/payload-workflows:latest"}},
        ]},
    })
}

fn node<'a>(wf: &'a Value, display: &str) -> &'a Value {
    wf["status"]["nodes"]
        .as_object()
        .and_then(|n| n.values().find(|n| n["displayName"] == display))
        .expect("node")
}

fn phase(o: &Value) -> String {
    o["status"]["phase"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn workflow_dag_runs_in_dependency_order() {
    let store = Store::default();
    let controllers = Controllers::start(store.clone(), paths());
    let mut events = store.subscribe();
    let tasks = json!([task("a", &[]), task("slow", &["a"]), task("c", &["a"]), task("d", &["slow", "c"]),
                       {"name": "t-e", "template": "build", "depends": "t-d.Succeeded"}]);
    create(&store, "wf", workflow("okd", tasks));
    let wf = until(&store, "wf", "okd", |o| phase(o) == "Succeeded").await;
    assert_eq!(steps(&mut events, "wf", "okd", phase), ["Pending", "Running", "Succeeded"]);
    assert_eq!(controllers.started(), ["okd", "okd.t-a", "okd.t-slow", "okd.t-c", "okd.t-d", "okd.t-e"]);
    assert_eq!(wf["status"]["nodes"].as_object().expect("nodes").len(), 6);
    assert_eq!(wf["status"]["progress"], "5/5");
    assert!(wf["status"]["startedAt"].is_string() && wf["status"]["finishedAt"].is_string());
    let d = node(&wf, "t-d");
    let root = &wf["status"]["nodes"]["okd"];
    has!(root, "/type" => "DAG", "/phase" => "Succeeded", "/children" => [node(&wf, "t-a")["id"]]);
    has!(d, "/name" => "okd.t-d", "/type" => "Pod", "/phase" => "Succeeded");
    assert_eq!(node(&wf, "t-slow")["children"], json!([d["id"]]));
    assert!(d["id"].as_str().expect("id").starts_with("okd-"));
}

#[tokio::test]
async fn workflow_failure_omits_dependents_and_shutdown_terminates() {
    let store = Store::default();
    let _controllers = Controllers::start(store.clone(), paths());
    let tasks = json!([
        task("a", &[]),
        task("bad", &["a"]),
        task("slow", &["a"]),
        task("d", &["bad"]),
        task("e", &["d", "slow"])
    ]);
    create(&store, "wf", workflow("bad", tasks));
    let wf = until(&store, "wf", "bad", |o| phase(o) == "Failed").await;
    let b = node(&wf, "t-bad");
    has!(b, "/phase" => "Failed", "/message" => BAD);
    assert_eq!(wf["status"]["message"], format!("child '{}' failed", b["id"].as_str().expect("id")));
    assert_eq!(node(&wf, "t-slow")["phase"], "Succeeded", "running tasks finish");
    for omitted in ["t-d", "t-e"] {
        has!(node(&wf, omitted), "/phase" => "Omitted", "/type" => "Skipped",
            "/message" => "omitted: depends condition not met");
    }

    create(&store, "wf", workflow("late", json!([task("late", &[])])));
    let wf = until(&store, "wf", "late", |o| phase(o) == "Failed").await;
    assert_eq!(
        node(&wf, "t-late")["message"],
        "Pod was active on the node longer than the specified deadline"
    );

    create(&store, "wf", workflow("stop", json!([task("long", &[]), task("after", &["long"])])));
    until(&store, "wf", "stop", |o| o["status"]["nodes"].as_object().is_some_and(|n| n.len() == 2)).await;
    patch_spec(&store, "wf", "stop", "shutdown", json!("Terminate"));
    let wf = until(&store, "wf", "stop", |o| phase(o) == "Failed").await;
    assert_eq!(wf["status"]["message"], "Stopped with strategy 'Terminate'");
    assert_eq!(node(&wf, "t-long")["message"], "workflow shutdown with strategy:  Terminate");
}

#[tokio::test]
async fn workflow_from_a_template_and_single_pod_workflows() {
    let store = Store::default();
    let _controllers = Controllers::start(store.clone(), Script::new().default_duration(MS(10)));
    let template = workflow("tpl", json!([task("x", &[]), task("y", &["x"])]));
    store.create(&Gvr::new("argoproj.io", "v1alpha1", "workflowtemplates"), NS, template).expect("template");
    let from_template =
        json!({"metadata": {"name": "from-tpl"}, "spec": {"workflowTemplateRef": {"name": "tpl"}}});
    create(&store, "wf", from_template);
    let wf = until(&store, "wf", "from-tpl", |o| phase(o) == "Succeeded").await;
    assert_eq!(node(&wf, "t-y")["name"], "from-tpl.t-y");
    let spec = json!({"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "x"}}]});
    create(&store, "wf", json!({"metadata": {"name": "one"}, "spec": spec}));
    let wf = until(&store, "wf", "one", |o| phase(o) == "Succeeded").await;
    assert_eq!(wf["status"]["nodes"]["one"]["type"], "Pod");
}

fn build_run(name: &str, component: &str) -> Value {
    json!({"apiVersion": "shipwright.io/v1beta1", "kind": "BuildRun",
           "metadata": {"name": name, "labels": {"okd-build.io/component": component}},
           "spec": {"build": {"name": "okd-build"}, "timeout": "15m"}})
}

#[tokio::test]
async fn buildrun_paths() {
    let store = Store::default();
    let _controllers = Controllers::start(store.clone(), paths());
    let spec = json!({"output": {"image": "quay.io/okd/x"}, "retention": {"ttlAfterSucceeded": "80ms"}});
    let build = json!({"metadata": {"name": "okd-build"}, "spec": spec});
    store.create(&Gvr::new("shipwright.io", "v1beta1", "builds"), NS, build).expect("build");
    let mut events = store.subscribe();
    create(&store, "br", build_run("ok-1", "ok"));
    let br = until(&store, "br", "ok-1", done).await;
    assert_eq!(steps(&mut events, "br", "ok-1", reason), ["Pending", "Running", "Succeeded"]);
    has!(br,
        "/status/conditions/0/message" => "All Steps have completed executing",
        "/status/output/digest" => (Script::digest_for("ok")),
        "/status/executor/name" => (br["status"]["taskRunName"].clone()),
        "/status/buildSpec/output/image" => "quay.io/okd/x",
    );
    until_gone(&store, "br", "ok-1").await; // retention.ttlAfterSucceeded

    create(&store, "br", build_run("bad-1", "bad"));
    let br = until(&store, "br", "bad-1", done).await;
    assert_eq!(reason(&br), "Failed");
    let pod = br["status"]["failureDetails"]["location"]["pod"].as_str().expect("pod").to_owned();
    let step = "step-build-and-push";
    let how = format!("kubectl --namespace {NS} logs {pod} --container={step}");
    let text = format!("buildrun step {step} failed, for detailed information: {how}");
    assert_eq!(cond(&br)["message"], text);
    assert_eq!(br["status"]["failureDetails"]["message"], BAD);
    assert!(log_of(&store, &pod).trim_end().ends_with(BAD));

    create(&store, "br", build_run("late-1", "late"));
    let br = until(&store, "br", "late-1", done).await;
    has!(br,
        "/status/conditions/0/reason" => "BuildRunTimeout",
        "/status/conditions/0/message" => "BuildRun late-1 failed to finish within 15m0s",
    );

    create(&store, "br", build_run("long-1", "long"));
    until(&store, "br", "long-1", |o| reason(o) == "Running").await;
    patch_spec(&store, "br", "long-1", "state", json!("BuildRunCanceled"));
    let br = until(&store, "br", "long-1", done).await;
    has!(br,
        "/status/conditions/0/reason" => "BuildRunCanceled",
        "/status/conditions/0/message" => "The BuildRun and underlying TaskRun were canceled successfully.",
    );
    assert!(br["status"]["completionTime"].is_string());
}

fn os_build(name: &str, component: &str) -> Value {
    let labels = json!({"okd-build.io/component": component, "openshift.io/build-config.name": component});
    json!({"apiVersion": "build.openshift.io/v1", "kind": "Build",
           "metadata": {"name": name, "labels": labels},
           "spec": {"strategy": {"type": "Docker", "dockerStrategy": {}},
                    "output": {"to": {"kind": "ImageStreamTag", "name": format!("release:{component}")}}}})
}

#[tokio::test]
async fn openshift_build_paths() {
    let store = Store::default();
    let _controllers = Controllers::start(store.clone(), paths());
    let mut events = store.subscribe();
    create(&store, "build", os_build("cli-1", "cli"));
    let b = until(&store, "build", "cli-1", |o| phase(o) == "Complete").await;
    assert_eq!(steps(&mut events, "build", "cli-1", phase), ["New", "Pending", "Running", "Complete"]);
    let reference = format!("image-registry.openshift-image-registry.svc:5000/{NS}/release:cli");
    has!(b,
        "/status/output/to/imageDigest" => (Script::digest_for("cli")),
        "/status/outputDockerImageReference" => (reference),
        "/metadata/annotations/openshift.io~1build.pod-name" => "cli-1-build", "/status/config/name" => "cli",
    );
    assert!(b["status"]["startTimestamp"].is_string() && b["status"]["completionTimestamp"].is_string());
    assert!(b["status"]["duration"].as_u64().expect("duration ns") >= 20_000_000);
    let conditions = b["status"]["conditions"].as_array().expect("conditions");
    let current: Vec<_> =
        conditions.iter().filter(|c| c["status"] == "True").map(|c| c["type"].clone()).collect();
    assert_eq!((current, conditions.len()), (vec![json!("Complete")], 4));

    create(&store, "build", os_build("bad-1", "bad"));
    let b = until(&store, "build", "bad-1", |o| phase(o) == "Failed").await;
    has!(b,
        "/status/reason" => "GenericBuildFailed",
        "/status/message" => "Generic Build failure - check logs for details.",
    );
    assert!(b["status"]["logSnippet"].as_str().expect("snippet").ends_with(BAD));

    create(&store, "build", os_build("late-1", "late"));
    until(&store, "build", "late-1", |o| phase(o) == "Failed").await;
    let pod = store.get(&gvr("pod"), NS, "late-1-build").expect("pod");
    has!(pod, "/status/reason" => "DeadlineExceeded");

    create(&store, "build", os_build("long-1", "long"));
    until(&store, "build", "long-1", |o| phase(o) == "Running").await;
    store.update_status(&gvr("build"), NS, "long-1", |s| s["cancelled"] = json!(true)).expect("cancel");
    let b = until(&store, "build", "long-1", |o| phase(o) == "Cancelled").await;
    has!(b,
        "/status/reason" => "CancelledBuild", "/status/message" => "The build was cancelled by the user.",
    );
}

fn prow_job(name: &str, component: &str) -> Value {
    json!({"apiVersion": "prow.k8s.io/v1", "kind": "ProwJob",
           "metadata": {"name": name, "labels": {"okd-build.io/component": component}},
           "spec": {"type": "periodic", "job": format!("periodic-okd-{component}"), "agent": "kubernetes"}})
}

fn state(o: &Value) -> String {
    o["status"]["state"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn prowjob_paths() {
    let store = Store::default();
    let _controllers = Controllers::start(store.clone(), paths());
    let mut events = store.subscribe();
    create(&store, "pj", prow_job("pj-ok", "ok"));
    let pj = until(&store, "pj", "pj-ok", |o| state(o) == "success").await;
    assert_eq!(steps(&mut events, "pj", "pj-ok", state), ["triggered", "pending", "success"]);
    let s = &pj["status"];
    let build_id = s["build_id"].as_str().expect("build id");
    let url = format!(
        "https://prow.ci.openshift.org/view/gs/test-platform-results/logs/periodic-okd-ok/{build_id}"
    );
    has!(s, "/pod_name" => "pj-ok", "/description" => "Job succeeded.", "/url" => (url));
    assert!(s["startTime"].is_string() && s["pendingTime"].is_string() && s["completionTime"].is_string());

    create(&store, "pj", prow_job("pj-bad", "bad"));
    let pj = until(&store, "pj", "pj-bad", |o| state(o) == "failure").await;
    assert_eq!(pj["status"]["description"], "Job failed.");
    create(&store, "pj", prow_job("pj-late", "late"));
    let pj = until(&store, "pj", "pj-late", |o| state(o) == "aborted").await;
    assert_eq!(pj["status"]["description"], "Pod running timeout.");

    create(&store, "pj", prow_job("pj-long", "long"));
    until(&store, "pj", "pj-long", |o| state(o) == "pending").await;
    store
        .update_status(&gvr("pj"), NS, "pj-long", |s| {
            s["state"] = json!("aborted");
            s["description"] = json!("Aborted by okd-build.");
        })
        .expect("abort");
    let pj = until(&store, "pj", "pj-long", |o| o["status"]["completionTime"].is_string()).await;
    has!(pj, "/status/state" => "aborted", "/status/description" => "Aborted by okd-build.");
}

#[tokio::test]
async fn objects_created_before_start_are_picked_up() {
    let store = Store::default();
    create(&store, "pj", prow_job("early", "early"));
    let controllers = Controllers::start(store.clone(), Script::new().default_duration(MS(10)));
    until(&store, "pj", "early", |o| state(o) == "success").await;
    assert_eq!(controllers.started(), ["early"]);
}
