//! app.ci through kube-rs: the ProwJobs a run triggered (one watch per run, which resumes after a
//! drop and lists again after a 410), aborting them, and the integration ImageStream promotion
//! writes to.

use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams},
    runtime::watcher,
};
use okd_core::{Error, ErrorKind, Result};
use okd_runtime::{
    kube::to_value,
    retry::{Backoff, retry},
};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::status::JobState;

fn prowjobs() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("prow.k8s.io", "v1", "ProwJob"), "prowjobs")
}

fn imagestreams() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("image.openshift.io", "v1", "ImageStream"),
        "imagestreams",
    )
}

/// A kube-rs error in okd-build's terms, with what to check on app.ci.
pub(crate) fn kube_error(error: kube::Error, action: &str) -> Error {
    let error = okd_runtime::kube::kube_error(error, action);
    if error.kind() == ErrorKind::Unauthorized {
        return error.with_help(
            "the kubeconfig context must reach app.ci and may read ProwJobs and the integration ImageStream",
        );
    }
    error
}

/// app.ci: ProwJobs in `namespace`, ImageStreams anywhere.
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

    fn jobs(&self) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &self.namespace, &prowjobs())
    }

    /// ProwJobs carrying the labels `selector`.
    pub(crate) async fn list_jobs(&self, selector: &str) -> Result<Vec<Value>> {
        let api = self.jobs();
        let params = ListParams::default().labels(selector);
        let list = retry(&self.backoff, || async {
            api.list(&params).await.map_err(|e| kube_error(e, &format!("list ProwJobs {selector}")))
        })
        .await?;
        list.items.iter().map(to_value).collect()
    }

    /// Aborts ProwJob `name` as `prow`'s own clients do: `status.state: aborted` (plank then
    /// deletes the pod and completes it). One gone or already ended is fine.
    pub(crate) async fn abort_job(&self, name: &str) -> Result<()> {
        let api = self.jobs();
        let patch = json!({"status": {"state": "aborted", "description": "Aborted by okd-build."}});
        retry(&self.backoff, || async {
            match api.get_opt(name).await {
                Ok(Some(found)) if JobState::of_prowjob(&to_value(&found)?).is_terminal() => return Ok(()),
                Ok(None) => return Ok(()),
                Ok(Some(_)) => {}
                Err(e) => return Err(kube_error(e, &format!("get ProwJob {name}"))),
            }
            match api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
                Err(e) => Err(kube_error(e, &format!("abort ProwJob {name}"))),
            }
        })
        .await
    }

    /// ImageStream `namespace/name`, if it exists.
    pub(crate) async fn image_stream(&self, namespace: &str, name: &str) -> Result<Option<Value>> {
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), namespace, &imagestreams());
        let found = retry(&self.backoff, || async {
            api.get_opt(name).await.map_err(|e| kube_error(e, &format!("get ImageStream {namespace}/{name}")))
        })
        .await?;
        found.as_ref().map(to_value).transpose()
    }

    /// Starts the one watch of a run: every ProwJob labelled `selector`.
    pub(crate) fn watch_jobs(&self, selector: String) -> watch::Receiver<WatchState> {
        let config = watcher::Config::default().labels(&selector);
        okd_runtime::kube::watch_objects(self.jobs(), config, "ProwJobs".into())
    }
}

/// What the run's watch knows (`objects` are ProwJobs by name).
pub(crate) use okd_runtime::kube::WatchState;
