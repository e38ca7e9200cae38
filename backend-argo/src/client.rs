//! The few calls the backend makes on its cluster through kube-rs: server-side apply of the
//! pipeline's objects, create-or-get of a run's Workflow by its deterministic name, the one watch
//! that follows it, a terminate patch, and ImageStream reads. Every call goes through
//! [`okd_runtime::retry`].

use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams},
    runtime::watcher,
};
use okd_core::{Error, ErrorKind, Result};
use okd_runtime::{
    kube::{to_object, to_value},
    retry::{Backoff, retry},
};
use serde_json::{Value, json};
use tokio::sync::watch;

/// The field manager of server-side apply.
const MANAGER: &str = "okd-build";

/// The API resource of a rendered object's `apiVersion` and `kind`.
pub(crate) fn resource_of(object: &Value) -> Result<ApiResource> {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let kind = object["kind"].as_str().unwrap_or_default();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let plural = match kind {
        "Workflow" => "workflows",
        "WorkflowTemplate" => "workflowtemplates",
        "CronWorkflow" => "cronworkflows",
        "ImageStream" => "imagestreams",
        "BuildConfig" => "buildconfigs",
        "Build" => "builds",
        "BuildRun" => "buildruns",
        other => {
            return Err(Error::new(ErrorKind::Internal, format!("no API resource for kind {other}")));
        }
    };
    Ok(ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural))
}

fn workflows() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Workflow"),
        "workflows",
    )
}

fn imagestreams() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("image.openshift.io", "v1", "ImageStream"),
        "imagestreams",
    )
}

fn nodes() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "Node"), "nodes")
}

/// A kube-rs error with what to check on an okd-payload-pipeline cluster.
pub(crate) fn kube_error(error: kube::Error, action: &str) -> Error {
    let error = okd_runtime::kube::kube_error(error, action);
    let help = match error.kind() {
        ErrorKind::Unauthorized => Some(
            "the kubeconfig context needs to create Workflows, BuildConfigs and ImageStreams in the namespace",
        ),
        ErrorKind::NotFound => {
            Some("is the namespace right, and are Argo Workflows and OpenShift Builds installed?")
        }
        _ => None,
    };
    match help {
        Some(help) => error.with_help(help),
        None => error,
    }
}

pub(crate) use okd_runtime::kube::WatchState;

/// A namespace of the cluster the pipeline runs in.
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

impl Cluster {
    pub(crate) fn new(client: Client, namespace: String, backoff: Backoff) -> Self {
        Cluster { client, namespace, backoff }
    }

    fn api(&self, resource: &ApiResource) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &self.namespace, resource)
    }

    /// Server-side applies each object into the namespace, in order: idempotent, and what
    /// okd-build does not manage (fields others set) is left alone.
    pub(crate) async fn apply(&self, objects: &[Value]) -> Result<()> {
        for object in objects {
            let resource = resource_of(object)?;
            let name = object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
            let mut object = object.clone();
            object["metadata"]["namespace"] = json!(self.namespace);
            let api = self.api(&resource);
            let params = PatchParams::apply(MANAGER).force();
            let body = to_object(&object)?;
            let what = format!("apply {} {name}", resource.kind);
            retry(&self.backoff, || async {
                api.patch(&name, &params, &Patch::Apply(&body)).await.map_err(|e| kube_error(e, &what))
            })
            .await?;
        }
        Ok(())
    }

    /// Creates the Workflow, or returns the one already there under its name (a resubmission
    /// of the same run).
    pub(crate) async fn create_workflow(&self, workflow: &Value) -> Result<(Value, bool)> {
        let api = self.api(&workflows());
        let name = workflow["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let mut workflow = workflow.clone();
        workflow["metadata"]["namespace"] = json!(self.namespace);
        let body = to_object(&workflow)?;
        retry(&self.backoff, || async {
            match api.create(&PostParams::default(), &body).await {
                Ok(created) => Ok((to_value(&created)?, true)),
                Err(kube::Error::Api(status)) if status.code == 409 => match api.get_opt(&name).await {
                    Ok(Some(found)) => Ok((to_value(&found)?, false)),
                    Ok(None) => Err(Error::new(ErrorKind::Unavailable, format!("Workflow {name} vanished"))
                        .set_retryable(true)),
                    Err(e) => Err(kube_error(e, &format!("get Workflow {name}"))),
                },
                Err(e) => Err(kube_error(e, &format!("create Workflow {name}"))),
            }
        })
        .await
    }

    /// Workflows carrying the labels `selector`.
    pub(crate) async fn list_workflows(&self, selector: &str) -> Result<Vec<Value>> {
        let api = self.api(&workflows());
        let params = ListParams::default().labels(selector);
        let list = retry(&self.backoff, || async {
            api.list(&params).await.map_err(|e| kube_error(e, &format!("list Workflows {selector}")))
        })
        .await?;
        list.items.iter().map(to_value).collect()
    }

    /// Stops Workflow `name` as `argo terminate` does: `spec.shutdown: Terminate`. One gone or
    /// already finished is fine.
    pub(crate) async fn terminate(&self, name: &str) -> Result<()> {
        let api = self.api(&workflows());
        let patch = json!({"spec": {"shutdown": "Terminate"}});
        retry(&self.backoff, || async {
            match api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
                Err(e) => Err(kube_error(e, &format!("terminate Workflow {name}"))),
            }
        })
        .await
    }

    /// ImageStream `name` of the namespace, if it exists.
    pub(crate) async fn image_stream(&self, name: &str) -> Result<Option<Value>> {
        let api = self.api(&imagestreams());
        let found = retry(&self.backoff, || async {
            api.get_opt(name).await.map_err(|e| kube_error(e, &format!("get ImageStream {name}")))
        })
        .await?;
        found.as_ref().map(to_value).transpose()
    }

    /// The architectures the cluster's nodes have (`kubernetes.io/arch`), or `None` when that
    /// cannot be told: no node is visible, or listing nodes (cluster-scoped) is forbidden to
    /// this user, as it often is to a tenant.
    pub(crate) async fn node_arches(&self) -> Result<Option<std::collections::BTreeSet<String>>> {
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &nodes());
        let params = ListParams::default();
        let listed = retry(&self.backoff, || async {
            match api.list(&params).await {
                Ok(list) => Ok(Some(list)),
                Err(kube::Error::Api(status)) if matches!(status.code, 401 | 403 | 404) => Ok(None),
                Err(e) => Err(kube_error(e, "list Nodes")),
            }
        })
        .await?;
        let arches: std::collections::BTreeSet<String> = listed
            .into_iter()
            .flat_map(|l| l.items)
            .filter_map(|n| n.metadata.labels.and_then(|mut l| l.remove("kubernetes.io/arch")))
            .collect();
        Ok((!arches.is_empty()).then_some(arches))
    }

    /// The one watch of a run: Workflow `name` (its object is `objects[name]`).
    pub(crate) fn watch_workflow(&self, name: &str) -> watch::Receiver<WatchState> {
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        okd_runtime::kube::watch_objects(self.api(&workflows()), config, format!("Workflow {name}"))
    }
}
