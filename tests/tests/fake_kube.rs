//! The fake Kubernetes API server, driven by kube-rs through an ordinary kubeconfig: discovery,
//! every verb on dynamic and typed objects, watches (resume, 410 relist, bookmarks),
//! `await_condition`, schema rejections and injected faults.

use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::{
    Api, Client, Config, Discovery, ResourceExt,
    api::{
        ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, LogParams, Patch,
        PatchParams, PostParams, WatchEvent, WatchParams,
    },
    config::{KubeConfigOptions, Kubeconfig},
    runtime::{wait::await_condition, watcher},
};
use okd_tests::{
    kube::{
        server::{FakeApiServer, ServerOptions},
        store::Gvr,
    },
    schema::Schemas,
};
use serde_json::{Value, json};

const NS: &str = "okd";

struct Fixture {
    server: FakeApiServer,
    config: Config,
    client: Client,
    _dir: tempfile::TempDir,
}

fn options() -> ServerOptions {
    ServerOptions {
        schemas: Schemas::from_env(),
        history_limit: 10_000,
        bookmark_interval: Duration::from_millis(100),
    }
}

async fn fixture(options: ServerOptions) -> Fixture {
    let server = FakeApiServer::start(options).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("kubeconfig");
    server.write_kubeconfig(&path, NS);
    let kubeconfig = Kubeconfig::read_from(&path).expect("the kubeconfig reads");
    let config =
        Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.expect("a config");
    assert_eq!(config.default_namespace, NS);
    let client = Client::try_from(config.clone()).expect("a client");
    Fixture { server, config, client, _dir: dir }
}

fn pipelinerun_resource() -> ApiResource {
    let gvk = GroupVersionKind::gvk("tekton.dev", "v1", "PipelineRun");
    ApiResource::from_gvk_with_plural(&gvk, "pipelineruns")
}

fn pipelineruns(client: &Client) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), NS, &pipelinerun_resource())
}

fn pipelinerun(name: &str, labels: Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": name, "labels": labels},
        "spec": {"pipelineRef": {"name": "build"}, "params": [{"name": "revision", "value": "abc"}]},
    }))
    .expect("a PipelineRun")
}

/// A JSON POST for `Client::request` / `Client::send`.
fn post(path: &str, body: Value) -> axum::http::Request<Vec<u8>> {
    axum::http::Request::post(path)
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(&body).expect("JSON"))
        .expect("a request")
}

/// The code and reason of an API error.
fn api_error<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> (u16, String) {
    match result {
        Err(kube::Error::Api(status)) => (status.code, status.reason),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The next item of `stream` that `want` accepts, within 5 s.
async fn next_where<T, S>(stream: &mut S, what: &str, mut want: impl FnMut(&T) -> bool) -> T
where
    S: Stream<Item = T> + Unpin,
{
    let found = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(item) = stream.next().await {
            if want(&item) {
                return item;
            }
        }
        panic!("the stream ended while waiting for {what}")
    });
    found.await.unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

#[tokio::test]
async fn discovery_serves_groups_resources_and_subresources() {
    let f = fixture(options()).await;
    let version = f.client.apiserver_version().await.expect("/version");
    assert_eq!((version.major.as_str(), version.minor.as_str()), ("1", "33"));
    for discovery in [
        Discovery::new(f.client.clone()).run().await.expect("discovery"),
        Discovery::new(f.client.clone()).run_aggregated().await.expect("aggregated discovery"),
    ] {
        let gvk = GroupVersionKind::gvk("tekton.dev", "v1", "PipelineRun");
        let (resource, caps) = discovery.resolve_gvk(&gvk).expect("PipelineRun is served");
        assert_eq!(resource.plural, "pipelineruns");
        assert!(
            caps.subresources
                .iter()
                .any(|(sub, _)| sub.plural == "pipelineruns/status" || sub.plural == "status")
        );
        for (group, version) in [
            ("argoproj.io", "v1alpha1"),
            ("shipwright.io", "v1beta1"),
            ("build.openshift.io", "v1"),
            ("image.openshift.io", "v1"),
            ("appstudio.redhat.com", "v1alpha1"),
            ("prow.k8s.io", "v1"),
        ] {
            let group = discovery.get(group).unwrap_or_else(|| panic!("{group} is served"));
            assert!(group.versions().any(|v| v == version), "{} serves {version}", group.name());
        }
        let core = GroupVersionKind::gvk("", "v1", "Namespace");
        assert_eq!(
            discovery.resolve_gvk(&core).expect("namespaces").1.scope,
            kube::discovery::Scope::Cluster
        );
    }
}

#[tokio::test]
async fn dynamic_pipelinerun_verbs() {
    let f = fixture(options()).await;
    let api = pipelineruns(&f.client);
    let pp = PostParams::default();

    let created = api.create(&pp, &pipelinerun("pr-a", json!({"app": "x"}))).await.expect("create");
    assert!(created.metadata.uid.is_some() && created.metadata.resource_version.is_some());
    assert_eq!(
        api_error(api.create(&pp, &pipelinerun("pr-a", json!({}))).await),
        (409, "AlreadyExists".into())
    );
    let mut generated = pipelinerun("", json!({"app": "y"}));
    generated.metadata.name = None;
    generated.metadata.generate_name = Some("pr-gen-".into());
    let generated = api.create(&pp, &generated).await.expect("generateName");
    let generated_name = generated.metadata.name.clone().expect("a generated name");
    assert!(generated_name.starts_with("pr-gen-") && generated_name.len() == "pr-gen-".len() + 5);
    let dry =
        api.create(&PostParams { dry_run: true, ..pp.clone() }, &pipelinerun("pr-dry", json!({}))).await;
    assert_eq!(dry.expect("dry run").metadata.name.as_deref(), Some("pr-dry"));
    assert_eq!(api_error(api.get("pr-dry").await), (404, "NotFound".into()));

    let fetched = api.get("pr-a").await.expect("get");
    assert_eq!(fetched.data["spec"]["pipelineRef"]["name"], "build");
    let listed = api.list(&ListParams::default().labels("app=x")).await.expect("list");
    assert_eq!(
        listed.items.iter().map(|o| o.metadata.name.clone().unwrap_or_default()).collect::<Vec<_>>(),
        ["pr-a"]
    );
    assert_eq!(api.list(&ListParams::default()).await.expect("list").items.len(), 2);
    let by_name = api.list(&ListParams::default().fields(&format!("metadata.name={generated_name}"))).await;
    assert_eq!(by_name.expect("field selector").items.len(), 1);

    // Replace: a stale resourceVersion conflicts, the current one succeeds.
    let mut stale = fetched.clone();
    stale.data["spec"]["params"][0]["value"] = json!("def");
    let replaced = api.replace("pr-a", &pp, &stale).await.expect("replace");
    assert_eq!(replaced.data["spec"]["params"][0]["value"], "def");
    assert_eq!(api_error(api.replace("pr-a", &pp, &stale).await), (409, "Conflict".into()));
    stale.metadata.resource_version = None;
    let unconditional = api.replace("pr-a", &pp, &stale).await;
    assert_eq!(api_error(unconditional), (422, "Invalid".into()), "custom resources need a resourceVersion");

    // Patches: merge, JSON, server-side apply; strategic merge is refused for a custom resource.
    let merge = Patch::Merge(json!({"metadata": {"labels": {"merged": "yes"}}, "status": {"ignored": true}}));
    let patched = api.patch("pr-a", &PatchParams::default(), &merge).await.expect("merge patch");
    assert_eq!(
        patched.metadata.labels.as_ref().and_then(|l| l.get("merged")).map(String::as_str),
        Some("yes")
    );
    assert!(
        patched.data.get("status").is_none_or(|s| s.get("ignored").is_none()),
        "main-resource patches keep status"
    );
    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "replace", "path": "/spec/pipelineRef/name", "value": "release"}
    ]))
    .expect("a JSON patch");
    let patched =
        api.patch("pr-a", &PatchParams::default(), &Patch::Json::<()>(ops)).await.expect("JSON patch");
    assert_eq!(patched.data["spec"]["pipelineRef"]["name"], "release");
    let apply = Patch::Apply(json!({
        "apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
        "metadata": {"name": "pr-a", "annotations": {"applied": "1"}},
        "spec": {"timeouts": {"pipeline": "1h"}},
    }));
    assert_eq!(api_error(api.patch("pr-a", &PatchParams::default(), &apply).await), (422, "Invalid".into()));
    let patched = api.patch("pr-a", &PatchParams::apply("okd").force(), &apply).await.expect("apply");
    assert_eq!(patched.data["spec"]["timeouts"]["pipeline"], "1h");
    assert_eq!(patched.data["spec"]["pipelineRef"]["name"], "release", "apply merges");
    let apply_new = Patch::Apply(
        json!({"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "metadata": {"name": "pr-applied"}, "spec": {}}),
    );
    api.patch("pr-applied", &PatchParams::apply("okd"), &apply_new).await.expect("apply creates");
    let strategic = Patch::Strategic(json!({"metadata": {"labels": {"s": "1"}}}));
    assert_eq!(
        api_error(api.patch("pr-a", &PatchParams::default(), &strategic).await),
        (415, "UnsupportedMediaType".into())
    );
    assert_eq!(
        api_error(api.patch("missing", &PatchParams::default(), &merge).await),
        (404, "NotFound".into())
    );

    // The status subresource writes only status.
    let running = json!([{"type": "Succeeded", "status": "Unknown", "reason": "Running"}]);
    let status_patch =
        Patch::Merge(json!({"spec": {"pipelineRef": {"name": "nope"}}, "status": {"conditions": running}}));
    let patched =
        api.patch_status("pr-a", &PatchParams::default(), &status_patch).await.expect("status patch");
    assert_eq!(patched.data["status"]["conditions"], running);
    assert_eq!(patched.data["spec"]["pipelineRef"]["name"], "release", "status writes keep spec");
    assert_eq!(api.get_status("pr-a").await.expect("get status").data["status"]["conditions"], running);

    // Across namespaces, and bodies that disagree with the URL.
    let other = Gvr::new("tekton.dev", "v1", "pipelineruns");
    f.server.store().create(&other, "elsewhere", json!({"metadata": {"name": "pr-x"}})).expect("fixture");
    let everywhere: Api<DynamicObject> = Api::all_with(f.client.clone(), &pipelinerun_resource());
    assert_eq!(everywhere.list(&ListParams::default()).await.expect("all namespaces").items.len(), 4);
    let runs = format!("/apis/tekton.dev/v1/namespaces/{NS}/pipelineruns");
    let wrong_kind = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "k"}});
    assert_eq!(
        api_error(f.client.request::<Value>(post(&runs, wrong_kind)).await),
        (400, "BadRequest".into())
    );
    let mut wrong_ns = serde_json::to_value(pipelinerun("n", json!({}))).expect("JSON");
    wrong_ns["metadata"]["namespace"] = json!("elsewhere");
    assert_eq!(api_error(f.client.request::<Value>(post(&runs, wrong_ns)).await).0, 400);

    let deleted = api.delete("pr-a", &DeleteParams::default()).await.expect("delete");
    assert!(deleted.left().is_some_and(|o| o.metadata.name.as_deref() == Some("pr-a")));
    assert_eq!(api_error(api.get("pr-a").await), (404, "NotFound".into()));
    assert_eq!(api_error(api.delete("pr-a", &DeleteParams::default()).await), (404, "NotFound".into()));
    let creates = f.server.requests().iter().filter(|r| r.method == "POST").count();
    assert_eq!(creates, 6, "each POST was sent once: 4 creates, 2 rejected bodies");
}

#[tokio::test]
async fn typed_configmap_and_pod_verbs() {
    let f = fixture(options()).await;
    let configmaps: Api<ConfigMap> = Api::default_namespaced(f.client.clone());
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("settings".into());
    cm.metadata.labels = Some([("tier".to_owned(), "web".to_owned())].into());
    cm.data = Some([("a".to_owned(), "1".to_owned())].into());
    let created = configmaps.create(&PostParams::default(), &cm).await.expect("create");
    assert_eq!(created.metadata.namespace.as_deref(), Some(NS));
    let listed = configmaps.list(&ListParams::default().labels("tier in (web,db)")).await.expect("list");
    assert_eq!(listed.items.len(), 1);
    let strategic = Patch::Strategic(json!({"data": {"b": "2"}}));
    let patched = configmaps.patch("settings", &PatchParams::default(), &strategic).await.expect("strategic");
    assert_eq!(patched.data.as_ref().map(|d| d.len()), Some(2));
    let mut stale = created.clone();
    stale.data = Some([("c".to_owned(), "3".to_owned())].into());
    assert_eq!(api_error(configmaps.replace("settings", &PostParams::default(), &stale).await).0, 409);
    stale.metadata.resource_version = None;
    configmaps
        .replace("settings", &PostParams::default(), &stale)
        .await
        .expect("core kinds update unconditionally");
    let selected = ListParams::default().labels("tier=web");
    let deleted = configmaps.delete_collection(&DeleteParams::default(), &selected).await.expect("delete");
    assert_eq!(deleted.left().map(|list| list.items.len()), Some(1));
    assert_eq!(api_error(configmaps.get("settings").await), (404, "NotFound".into()));

    let namespaces: Api<Namespace> = Api::all(f.client.clone());
    let mut ns = Namespace::default();
    ns.metadata.name = Some("team-a".into());
    namespaces.create(&PostParams::default(), &ns).await.expect("a cluster-scoped create");
    let fetched = namespaces.get("team-a").await.expect("get namespace");
    assert_eq!(fetched.metadata.namespace, None);
    assert!(namespaces.list(&ListParams::default()).await.expect("list").items.len() == 1);

    let pods: Api<Pod> = Api::default_namespaced(f.client.clone());
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "step", "annotations": {"okd-tests/log": "line 1\nline 2\nline 3\n"}},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]},
    }))
    .expect("a pod");
    pods.create(&PostParams::default(), &pod).await.expect("create pod");
    let log = pods.logs("step", &LogParams::default()).await.expect("logs");
    assert_eq!(log, "line 1\nline 2\nline 3\n");
    let tail = pods.logs("step", &LogParams { tail_lines: Some(1), ..LogParams::default() }).await;
    assert_eq!(tail.expect("tail").trim_end(), "line 3");
    assert_eq!(api_error(pods.logs("nope", &LogParams::default()).await).0, 404);
    let gvr = Gvr::new("", "v1", "pods");
    f.server.store().update_status(&gvr, NS, "step", |s| s["phase"] = json!("Succeeded")).expect("status");
    let phase = pods.get("step").await.expect("get pod").status.and_then(|s| s.phase);
    assert_eq!(phase.as_deref(), Some("Succeeded"));
}

#[tokio::test]
async fn watcher_sees_changes_and_relists_after_compaction() {
    let f = fixture(options()).await;
    let api = pipelineruns(&f.client);
    let config = watcher::Config::default().disable_bookmarks();
    let mut events = watcher(api.clone(), config).boxed();
    let _ = next_where(&mut events, "the initial list", |e| matches!(e, Ok(watcher::Event::InitDone))).await;
    let named = |name: &'static str| {
        move |e: &Result<watcher::Event<DynamicObject>, watcher::Error>| match e {
            Ok(watcher::Event::Apply(o) | watcher::Event::Delete(o)) => {
                o.metadata.name.as_deref() == Some(name)
            }
            _ => false,
        }
    };
    api.create(&PostParams::default(), &pipelinerun("w1", json!({}))).await.expect("create");
    assert!(matches!(next_where(&mut events, "w1 added", named("w1")).await, Ok(watcher::Event::Apply(_))));
    let label = Patch::Merge(json!({"metadata": {"labels": {"step": "2"}}}));
    api.patch("w1", &PatchParams::default(), &label).await.expect("patch");
    match next_where(&mut events, "w1 modified", named("w1")).await {
        Ok(watcher::Event::Apply(o)) => assert_eq!(o.labels().get("step").map(String::as_str), Some("2")),
        other => panic!("expected w1 modified, got {other:?}"),
    }
    api.delete("w1", &DeleteParams::default()).await.expect("delete");
    assert!(matches!(
        next_where(&mut events, "w1 deleted", named("w1")).await,
        Ok(watcher::Event::Delete(_))
    ));

    // Resume after a dropped watch: no relist.
    f.server.faults().drop_watches();
    api.create(&PostParams::default(), &pipelinerun("w2", json!({}))).await.expect("create");
    let _ = next_where(&mut events, "w2 after a dropped watch", named("w2")).await;
    let lists = |f: &Fixture| {
        f.server.requests().iter().filter(|r| r.method == "GET" && !r.query.contains("watch=true")).count()
    };
    assert_eq!(lists(&f), 1, "a dropped watch resumes without listing");
    assert!(
        f.server
            .requests()
            .iter()
            .any(|r| r.query.contains("watch=true") && !r.query.contains("resourceVersion=0"))
    );

    // Another resource moves the resourceVersion on; compaction makes the watcher's too old.
    let cm = Gvr::new("", "v1", "configmaps");
    f.server.store().create(&cm, NS, json!({"metadata": {"name": "bump"}})).expect("bump");
    f.server.faults().compact();
    f.server.faults().drop_watches();
    let expired =
        next_where(&mut events, "410 Expired", |e| matches!(e, Err(watcher::Error::WatchError(_)))).await;
    assert!(matches!(expired, Err(watcher::Error::WatchError(s)) if s.code == 410 && s.reason == "Expired"));
    let _ = next_where(&mut events, "the relist", |e| matches!(e, Ok(watcher::Event::InitDone))).await;
    assert_eq!(lists(&f), 2, "410 made the watcher list again");
    api.create(&PostParams::default(), &pipelinerun("w3", json!({}))).await.expect("create");
    let _ = next_where(&mut events, "w3 after the relist", named("w3")).await;
}

#[tokio::test]
async fn watch_bookmarks_timeout_and_await_condition() {
    let f = fixture(options()).await;
    let api = pipelineruns(&f.client);
    api.create(&PostParams::default(), &pipelinerun("b1", json!({}))).await.expect("create");
    let params = WatchParams::default().timeout(1);
    assert!(params.bookmarks, "allowWatchBookmarks=true by default");
    let mut stream = api.watch(&params, "0").await.expect("watch").boxed();
    let added = next_where(&mut stream, "ADDED b1", |e| matches!(e, Ok(WatchEvent::Added(_)))).await;
    assert!(matches!(added, Ok(WatchEvent::Added(o)) if o.metadata.name.as_deref() == Some("b1")));
    let rv = f.server.store().resource_version().to_string();
    let bookmark = next_where(&mut stream, "a bookmark", |e| matches!(e, Ok(WatchEvent::Bookmark(_)))).await;
    assert!(matches!(bookmark, Ok(WatchEvent::Bookmark(b)) if b.metadata.resource_version == rv));
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(3), async { while stream.next().await.is_some() {} })
        .await
        .expect("timeoutSeconds=1 ends the watch");
    assert!(started.elapsed() < Duration::from_millis(1500));

    let store = f.server.store();
    let gvr = Gvr::new("tekton.dev", "v1", "pipelineruns");
    let succeeded = |o: Option<&DynamicObject>| {
        o.and_then(|o| o.data["status"]["conditions"].as_array())
            .is_some_and(|c| c.iter().any(|c| c["type"] == "Succeeded" && c["status"] == "True"))
    };
    let wait = tokio::spawn(await_condition(api.clone(), "b1", succeeded));
    tokio::time::sleep(Duration::from_millis(50)).await;
    store
        .update_status(&gvr, NS, "b1", |s| {
            s["conditions"] = json!([{"type": "Succeeded", "status": "Unknown"}])
        })
        .expect("running");
    store
        .update_status(&gvr, NS, "b1", |s| s["conditions"] = json!([{"type": "Succeeded", "status": "True"}]))
        .expect("done");
    let done = tokio::time::timeout(Duration::from_secs(5), wait).await.expect("in time").expect("joined");
    assert!(succeeded(done.expect("await_condition").as_ref()));
}

#[tokio::test]
async fn schemas_reject_invalid_objects() {
    let Some(schemas) = Schemas::from_env() else {
        eprintln!("note: OKD_SHARED is unset; schema rejections are not checked");
        return;
    };
    let f = fixture(ServerOptions { schemas: Some(schemas), ..options() }).await;
    let api = pipelineruns(&f.client);
    api.create(&PostParams::default(), &pipelinerun("valid", json!({"app": "x"})))
        .await
        .expect("a valid run");
    let mut unknown = serde_json::to_value(pipelinerun("strict", json!({}))).expect("JSON");
    unknown["spec"]["notAField"] = json!(true);
    let runs = format!("/apis/tekton.dev/v1/namespaces/{NS}/pipelineruns");
    let strict =
        f.client.request::<Value>(post(&format!("{runs}?fieldValidation=Strict"), unknown.clone())).await;
    assert_eq!(api_error(strict), (422, "Invalid".into()));
    let strict_apply = PatchParams::apply("okd").validation_strict();
    let applied = api.patch("strict", &strict_apply, &Patch::Apply(unknown.clone())).await;
    assert_eq!(api_error(applied), (422, "Invalid".into()));

    let component = json!({"apiVersion": "appstudio.redhat.com/v1alpha1", "kind": "Component", "metadata": {"name": "c"}, "spec": {}});
    let components = format!("/apis/appstudio.redhat.com/v1alpha1/namespaces/{NS}/components");
    match f.client.request::<Value>(post(&components, component)).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
            let causes = status.details.map(|d| d.causes).unwrap_or_default();
            assert!(causes.iter().any(|c| c.field.contains("source")), "{causes:?}");
        }
        other => panic!("a Component without spec.source must be rejected, got {other:?}"),
    }

    unknown["metadata"]["name"] = json!("warned");
    let response =
        f.client.send(post(&runs, unknown).map(kube::client::Body::from)).await.expect("a response");
    assert_eq!(response.status(), 201);
    let warnings: Vec<&str> =
        response.headers().get_all("warning").iter().filter_map(|v| v.to_str().ok()).collect();
    assert!(warnings.iter().any(|w| w.starts_with("299 - ") && w.contains("notAField")), "{warnings:?}");
    let stored = api.get("warned").await.expect("stored");
    assert!(stored.data["spec"].get("notAField").is_none(), "Warn prunes unknown fields");
}

#[tokio::test]
async fn faults_fail_delay_refuse_and_stop() {
    let f = fixture(options()).await;
    let (faults, configmaps) = (f.server.faults(), Api::<ConfigMap>::default_namespaced(f.client.clone()));
    let path = format!("/api/v1/namespaces/{NS}/configmaps");
    let lp = ListParams::default();

    faults.fail_next(Some("GET"), &path, 500, 2, None);
    assert_eq!(api_error(configmaps.list(&lp).await), (500, "InternalError".into()));
    assert_eq!(api_error(configmaps.list(&lp).await).0, 500);
    configmaps.list(&lp).await.expect("the third request succeeds");

    // kube-rs retries 503 and 429 itself, honouring Retry-After.
    f.server.clear_requests();
    faults.fail_next(None, &path, 503, 2, None);
    configmaps.list(&lp).await.expect("retried past two 503s");
    let statuses: Vec<u16> = f.server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503, 200]);
    faults.fail_next(None, &path, 429, 1, Some(0));
    configmaps.list(&lp).await.expect("retried past a 429");
    // Without kube-rs's retries: the 429 itself, with Retry-After and retryAfterSeconds.
    let mut config = f.config.clone();
    config.default_retry = false;
    let no_retry = Client::try_from(config).expect("a client");
    let get = || axum::http::Request::get(&path).body(Vec::new()).expect("a request");
    faults.fail_next(Some("GET"), &path, 429, 2, Some(7));
    let response = no_retry.send(get().map(kube::client::Body::from)).await.expect("a response");
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("7"));
    match no_retry.request::<Value>(get()).await {
        Err(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (429, "TooManyRequests"));
            assert_eq!(s.details.map(|d| d.retry_after_seconds), Some(7));
        }
        other => panic!("expected 429, got {other:?}"),
    }

    faults.slow(&path, Duration::from_millis(100));
    let started = Instant::now();
    configmaps.list(&lp).await.expect("slow");
    assert!(started.elapsed() >= Duration::from_millis(100));
    faults.slow(&path, Duration::ZERO);

    faults.refuse_connections(true);
    assert!(!matches!(configmaps.list(&lp).await, Ok(_) | Err(kube::Error::Api(_))), "refused");
    faults.refuse_connections(false);
    configmaps.list(&lp).await.expect("accepted again");

    f.server.stop().await;
    assert!(!matches!(configmaps.list(&lp).await, Ok(_) | Err(kube::Error::Api(_))), "stopped");
}
