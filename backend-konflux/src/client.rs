//! A thin kube-rs wrapper over the few calls the backends make: create-or-get by deterministic
//! name, get, list by label, delete, cancel by merge patch, a watch that resumes and tolerates
//! pruning, and the log of a failed TaskRun's pod. Every call goes through
//! [`okd_runtime::retry`]; kube's own layer already retries 429/503/504 honouring `Retry-After`.

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::{
    Api, Client,
    api::{
        ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, LogParams, Patch,
        PatchParams, PostParams,
    },
    runtime::{WatchStreamExt, watcher},
};
use okd_core::{Error, ErrorKind, Result};
use okd_runtime::{
    kube::{to_object, to_value},
    retry::{Backoff, retry},
};
use serde_json::{Value, json};

use crate::status::{failed_step, phase};

/// Consecutive watch errors (each after the watcher's own backoff) before giving up.
const MAX_WATCH_ERRORS: u32 = 30;

/// The kinds the backends touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    PipelineRun,
    TaskRun,
    Application,
    Component,
    ImageRepository,
}

impl Kind {
    fn resource(self) -> ApiResource {
        let (group, version, kind, plural) = match self {
            Kind::PipelineRun => ("tekton.dev", "v1", "PipelineRun", "pipelineruns"),
            Kind::TaskRun => ("tekton.dev", "v1", "TaskRun", "taskruns"),
            Kind::Application => ("appstudio.redhat.com", "v1alpha1", "Application", "applications"),
            Kind::Component => ("appstudio.redhat.com", "v1alpha1", "Component", "components"),
            Kind::ImageRepository => {
                ("appstudio.redhat.com", "v1alpha1", "ImageRepository", "imagerepositories")
            }
        };
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
    }

    /// The kind of a rendered object.
    pub(crate) fn of(object: &Value) -> Option<Kind> {
        match object["kind"].as_str()? {
            "PipelineRun" => Some(Kind::PipelineRun),
            "Application" => Some(Kind::Application),
            "Component" => Some(Kind::Component),
            "ImageRepository" => Some(Kind::ImageRepository),
            _ => None,
        }
    }
}

/// How a watched PipelineRun ended.
#[derive(Debug, Clone)]
pub(crate) enum Watched {
    /// It reached a terminal phase (possibly seen only in its deletion).
    Ended(Value),
    /// It disappeared before it ended (pruned or deleted while running).
    Vanished,
}

/// The log of the failed step of a PipelineRun.
#[derive(Debug, Clone)]
pub(crate) struct FailureLog {
    pub(crate) task: String,
    pub(crate) pod: String,
    pub(crate) text: String,
}

/// A namespace of a cluster.
#[derive(Clone)]
pub(crate) struct Cluster {
    client: Client,
    namespace: String,
    backoff: Backoff,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("namespace", &self.namespace).finish_non_exhaustive()
    }
}

/// A kube-rs error in okd-build's terms, with what to check on a Konflux cluster.
pub(crate) fn kube_error(error: kube::Error, action: &str) -> Error {
    let error = okd_runtime::kube::kube_error(error, action);
    let help = match error.kind() {
        ErrorKind::Unauthorized => Some("check the kubeconfig context's credentials and the tenant's RBAC"),
        ErrorKind::NotFound => Some("is the namespace right, and are Tekton and Konflux's CRDs installed?"),
        _ => None,
    };
    match help {
        Some(help) => error.with_help(help),
        None => error,
    }
}

impl Cluster {
    pub(crate) fn new(client: Client, namespace: String, backoff: Backoff) -> Self {
        Cluster { client, namespace, backoff }
    }

    pub(crate) fn namespace(&self) -> &str {
        &self.namespace
    }

    fn api(&self, kind: Kind) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &self.namespace, &kind.resource())
    }

    /// Creates `object` unless an object of that name exists; returns the object and whether it
    /// was created.
    pub(crate) async fn create_or_get(&self, kind: Kind, object: &Value) -> Result<(Value, bool)> {
        let api = self.api(kind);
        let name = object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let dynamic = to_object(object)?;
        retry(&self.backoff, || async {
            match api.create(&PostParams::default(), &dynamic).await {
                Ok(created) => Ok((to_value(&created)?, true)),
                Err(kube::Error::Api(status)) if status.code == 409 => match api.get_opt(&name).await {
                    Ok(Some(found)) => Ok((to_value(&found)?, false)),
                    // Deleted between the two calls: creating again is the way forward.
                    Ok(None) => {
                        Err(Error::new(ErrorKind::Conflict, format!("{name} vanished while created"))
                            .set_retryable(true))
                    }
                    Err(e) => Err(kube_error(e, &format!("get {name}"))),
                },
                Err(e) => Err(kube_error(e, &format!("create {name}"))),
            }
        })
        .await
    }

    /// Creates `object`, waiting out an earlier object of the same name that is still going away.
    pub(crate) async fn create(&self, kind: Kind, object: &Value) -> Result<Value> {
        let api = self.api(kind);
        let name = object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let dynamic = to_object(object)?;
        retry(&self.backoff, || async {
            match api.create(&PostParams::default(), &dynamic).await {
                Ok(created) => to_value(&created),
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    Err(Error::new(ErrorKind::Conflict, format!("{name} still exists")).set_retryable(true))
                }
                Err(e) => Err(kube_error(e, &format!("create {name}"))),
            }
        })
        .await
    }

    /// The object called `name`, if it exists.
    pub(crate) async fn get(&self, kind: Kind, name: &str) -> Result<Option<Value>> {
        let api = self.api(kind);
        let found = retry(&self.backoff, || async {
            api.get_opt(name).await.map_err(|e| kube_error(e, &format!("get {name}")))
        })
        .await?;
        found.as_ref().map(to_value).transpose()
    }

    /// Objects carrying the labels `selector`.
    pub(crate) async fn list(&self, kind: Kind, selector: &str) -> Result<Vec<Value>> {
        let api = self.api(kind);
        let params = ListParams::default().labels(selector);
        let list = retry(&self.backoff, || async {
            api.list(&params).await.map_err(|e| kube_error(e, &format!("list {selector}")))
        })
        .await?;
        list.items.iter().map(to_value).collect()
    }

    /// Deletes `name`; one already gone is fine.
    pub(crate) async fn delete(&self, kind: Kind, name: &str) -> Result<()> {
        let api = self.api(kind);
        retry(&self.backoff, || async {
            match api.delete(name, &DeleteParams::background()).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
                Err(e) => Err(kube_error(e, &format!("delete {name}"))),
            }
        })
        .await
    }

    /// Asks Tekton to cancel PipelineRun `name` (kills its pods, skips `finally`); one already
    /// gone is fine.
    pub(crate) async fn cancel_run(&self, name: &str) -> Result<()> {
        let api = self.api(Kind::PipelineRun);
        let patch = json!({"spec": {"status": "Cancelled"}});
        retry(&self.backoff, || async {
            match api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
                Err(e) => Err(kube_error(e, &format!("cancel {name}"))),
            }
        })
        .await
    }

    /// Watches PipelineRun `name` until it ends or disappears, calling `seen` with every version.
    /// kube's watcher resumes a dropped stream from the last resourceVersion and lists again
    /// after a 410; a list that no longer has the object means it was pruned.
    pub(crate) async fn watch_run(&self, name: &str, mut seen: impl FnMut(&Value)) -> Result<Watched> {
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let mut stream = watcher(self.api(Kind::PipelineRun), config).default_backoff().boxed();
        let (mut listed, mut errors) = (false, 0u32);
        while let Some(item) = stream.next().await {
            let event = match item {
                Ok(event) => {
                    errors = 0;
                    event
                }
                Err(error) => {
                    errors += 1;
                    tracing::debug!(%error, name, errors, "watch error; the watcher backs off and resumes");
                    if errors >= MAX_WATCH_ERRORS {
                        return Err(Error::new(
                            ErrorKind::Unavailable,
                            format!("watching PipelineRun {name} failed {errors} times in a row: {error}"),
                        ));
                    }
                    continue;
                }
            };
            match event {
                watcher::Event::Init => listed = false,
                watcher::Event::InitApply(object) | watcher::Event::Apply(object) => {
                    let value = to_value(&object)?;
                    listed = true;
                    seen(&value);
                    if phase(&value).is_terminal() {
                        return Ok(Watched::Ended(value));
                    }
                }
                watcher::Event::InitDone if !listed => return Ok(Watched::Vanished),
                watcher::Event::InitDone => {}
                watcher::Event::Delete(object) => {
                    let value = to_value(&object)?;
                    seen(&value);
                    return Ok(if phase(&value).is_terminal() {
                        Watched::Ended(value)
                    } else {
                        Watched::Vanished
                    });
                }
            }
        }
        Err(Error::new(ErrorKind::Unavailable, format!("the watch of PipelineRun {name} ended")))
    }

    /// The last `lines` lines of the failed step of a failed PipelineRun, when its TaskRuns and
    /// pods are still there.
    pub(crate) async fn failure_log(&self, run: &Value, lines: i64) -> Result<Option<FailureLog>> {
        let name = run["metadata"]["name"].as_str().unwrap_or_default();
        let taskruns = self.list(Kind::TaskRun, &format!("tekton.dev/pipelineRun={name}")).await?;
        let Some((task, pod, container)) = failed_step(&taskruns) else { return Ok(None) };
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let params = LogParams { container, tail_lines: Some(lines), ..LogParams::default() };
        let text = retry(&self.backoff, || async {
            match pods.logs(&pod, &params).await {
                Ok(text) => Ok(Some(text)),
                Err(kube::Error::Api(status)) if status.code == 404 || status.code == 400 => Ok(None),
                Err(e) => Err(kube_error(e, &format!("read the log of pod {pod}"))),
            }
        })
        .await?;
        Ok(text.map(|text| FailureLog { task, pod, text }))
    }
}
