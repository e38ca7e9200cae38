//! What every object task shares: its object's identity and latest version, guarded status
//! writes, waiting on timers and changes, pruning, and the helpers for conditions, owner
//! references and pods with logs.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use serde_json::{Value, json};
use tokio::{
    sync::watch,
    time::{Instant, sleep_until},
};

use super::{COMPONENT_LABEL, LOG_ANNOTATION, Outcome, Script, Shared};
use crate::kube::store::{Gvr, Store, now};

/// The object is gone (deleted, replaced, or the controllers stopped): stop driving it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gone;

/// One object being driven.
#[derive(Debug)]
pub(crate) struct Run {
    shared: Arc<Shared>,
    pub(crate) gvr: Gvr,
    pub(crate) ns: String,
    pub(crate) name: String,
    pub(crate) uid: String,
    rx: watch::Receiver<Option<Value>>,
}

impl Run {
    pub(crate) fn new(
        shared: Arc<Shared>,
        gvr: Gvr,
        ns: String,
        name: String,
        uid: String,
        rx: watch::Receiver<Option<Value>>,
    ) -> Self {
        Run { shared, gvr, ns, name, uid, rx }
    }

    pub(crate) fn store(&self) -> &Store {
        &self.shared.store
    }

    pub(crate) fn script(&self) -> &Script {
        &self.shared.script
    }

    /// The latest version of the object the dispatcher has seen.
    pub(crate) fn object(&self) -> Result<Value, Gone> {
        self.rx.borrow().clone().ok_or(Gone)
    }

    /// `okd-build.io/component`, else the object name.
    pub(crate) fn component(&self, object: &Value) -> String {
        object["metadata"]["labels"][COMPONENT_LABEL].as_str().unwrap_or(&self.name).to_owned()
    }

    pub(crate) fn duration_of(&self, component: &str) -> Duration {
        self.script().duration_of(component)
    }

    pub(crate) fn outcome_of(&self, component: &str) -> Outcome {
        self.script().outcome_of(component)
    }

    /// The image and digest a scripted success of `component` reports, when the script set one.
    pub(crate) fn image_of(&self, component: &str) -> Option<(String, String)> {
        self.script().image_of(component).cloned()
    }

    pub(crate) fn mark_started(&self, name: &str) {
        self.shared.mark_started(name);
    }

    /// A number unique among these controllers (Prow build ids).
    pub(crate) fn next_number(&self) -> u64 {
        self.shared.counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Writes the object's status with `change`, which returns false to leave it alone (a
    /// client already finished or aborted it). `change` sees the current stored status, so
    /// fields a client wrote survive.
    pub(crate) fn status(&self, change: impl Fn(&mut Value) -> bool) -> Result<bool, Gone> {
        let current = self.store().get(&self.gvr, &self.ns, &self.name).ok_or(Gone)?;
        if current["metadata"]["uid"] != self.uid.as_str() {
            return Err(Gone);
        }
        let mut probe = current.get("status").filter(|s| s.is_object()).cloned().unwrap_or_else(|| json!({}));
        if !change(&mut probe) {
            return Ok(false);
        }
        self.store()
            .update_status(&self.gvr, &self.ns, &self.name, |s| {
                change(s);
            })
            .map(|_| true)
            .map_err(|_| Gone)
    }

    /// Changes the object's metadata (labels, annotations) through a main-resource write.
    pub(crate) fn metadata(&self, change: impl FnOnce(&mut Value)) -> Result<(), Gone> {
        let mut current = self.store().get(&self.gvr, &self.ns, &self.name).ok_or(Gone)?;
        if current["metadata"]["uid"] != self.uid.as_str() {
            return Err(Gone);
        }
        change(&mut current["metadata"]);
        self.store()
            .replace(&self.gvr, &self.ns, &self.name, current, None, false)
            .map(|_| ())
            .map_err(|_| Gone)
    }

    /// Waits for the deadline (`Ok(None)`) or a change of the object (`Ok(Some(new))`).
    pub(crate) async fn wait(&mut self, deadline: Option<Instant>) -> Result<Option<Value>, Gone> {
        let changed = match deadline {
            Some(deadline) => tokio::select! {
                () = sleep_until(deadline) => return Ok(None),
                changed = self.rx.changed() => changed,
            },
            None => self.rx.changed().await,
        };
        changed.map_err(|_| Gone)?;
        self.rx.borrow_and_update().clone().map(Some).ok_or(Gone)
    }

    /// Waits for the deadline (`Ok(None)`) or a version of the object matching `wanted`
    /// (`Ok(Some(it))`); the current version counts too.
    pub(crate) async fn wait_for(
        &mut self,
        deadline: Option<Instant>,
        wanted: impl Fn(&Value) -> bool,
    ) -> Result<Option<Value>, Gone> {
        let current = self.object()?;
        if wanted(&current) {
            return Ok(Some(current));
        }
        loop {
            match self.wait(deadline).await? {
                None => return Ok(None),
                Some(object) if wanted(&object) => return Ok(Some(object)),
                Some(_) => {}
            }
        }
    }

    /// After the object finished: deletes it once `ttl` (or the script's pruning delay) has
    /// passed, unless it is deleted first.
    pub(crate) async fn finish(mut self, ttl: Option<Duration>) {
        let Some(ttl) = ttl.or(self.script().prune_after) else { return };
        let deadline = Instant::now() + ttl;
        loop {
            match self.wait(Some(deadline)).await {
                Ok(None) => break,
                Ok(Some(_)) => {}
                Err(Gone) => return,
            }
        }
        if self
            .store()
            .get(&self.gvr, &self.ns, &self.name)
            .is_some_and(|o| o["metadata"]["uid"] == self.uid.as_str())
        {
            // Deleted concurrently is fine.
            let _ = self.store().delete(&self.gvr, &self.ns, &self.name);
        }
    }

    /// An ownerReference to this object.
    pub(crate) fn owner_ref(&self, api_version: &str, kind: &str) -> Value {
        json!({
            "apiVersion": api_version, "kind": kind, "name": self.name, "uid": self.uid,
            "controller": true, "blockOwnerDeletion": true,
        })
    }
}

/// A `Succeeded` condition (Tekton, Shipwright, knative style).
pub(crate) fn condition(status: &str, reason: &str, message: &str) -> Value {
    json!({
        "type": "Succeeded", "status": status, "reason": reason, "message": message,
        "lastTransitionTime": now(),
    })
}

/// Replaces the condition of the same type in `status.conditions`.
pub(crate) fn set_condition(status: &mut Value, condition: Value) {
    if !status["conditions"].is_array() {
        status["conditions"] = json!([]);
    }
    if let Some(list) = status["conditions"].as_array_mut() {
        list.retain(|c| c["type"] != condition["type"]);
        list.push(condition);
    }
}

/// The `status` of the `Succeeded` condition, if any.
pub(crate) fn succeeded(status: &Value) -> Option<&str> {
    status["conditions"].as_array()?.iter().find(|c| c["type"] == "Succeeded")?["status"].as_str()
}

/// True when the `Succeeded` condition is True or False.
pub(crate) fn condition_done(status: &Value) -> bool {
    matches!(succeeded(status), Some("True" | "False"))
}

/// A pod's log while its step runs.
pub(crate) fn running_log(component: &str, image: &str) -> String {
    format!(
        "[okd-tests] building {component}\nSTEP 1/2: FROM base\nSTEP 2/2: RUN make build\n\
         + output image {image}\n"
    )
}

/// A finished pod's log: the success tail, or lines ending with the failure message.
pub(crate) fn final_log(component: &str, image: &str, outcome: &Outcome) -> String {
    let mut log = running_log(component, image);
    match outcome {
        Outcome::Succeed => {
            log.push_str(&format!(
                "Writing manifest to image destination\n{image}@{}\n",
                Script::digest_for(component)
            ));
        }
        Outcome::Fail(message) => {
            log.push_str("error: build step failed\n");
            log.push_str(message);
            log.push('\n');
        }
        Outcome::Timeout => log.push_str("Terminated: deadline exceeded\n"),
    }
    log
}

/// Core v1 pods.
pub(crate) fn pods() -> Gvr {
    Gvr::new("", "v1", "pods")
}

/// Creates a running pod with one container per step and its log in [`LOG_ANNOTATION`].
pub(crate) fn create_pod(
    store: &Store,
    ns: &str,
    name: &str,
    labels: Value,
    owner: Value,
    containers: &[String],
    log: &str,
) {
    let started = now();
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name, "labels": labels, "ownerReferences": [owner],
            "annotations": {LOG_ANNOTATION: log},
        },
        "spec": {
            "restartPolicy": "Never",
            "containers": containers
                .iter()
                .map(|c| json!({"name": c, "image": "registry.invalid/okd-tests/step"}))
                .collect::<Vec<_>>(),
        },
        "status": {
            "phase": "Running",
            "startTime": started,
            "containerStatuses": containers.iter().map(|c| json!({
                "name": c, "ready": true, "restartCount": 0, "state": {"running": {"startedAt": started}},
            })).collect::<Vec<_>>(),
        },
    });
    // A pod of that name left from an earlier object of the same name is kept as it is.
    let _ = store.create(&pods(), ns, pod);
}

/// Finishes a pod: its final log, phase `Succeeded`/`Failed`, and `exit_code` for its last
/// container (the others exit 0). `reason` is the pod-level reason (`DeadlineExceeded`).
pub(crate) fn finish_pod(
    store: &Store,
    ns: &str,
    name: &str,
    log: &str,
    exit_code: i64,
    reason: Option<&str>,
) {
    let Some(mut pod) = store.get(&pods(), ns, name) else { return };
    pod["metadata"]["annotations"][LOG_ANNOTATION] = json!(log);
    if store.replace(&pods(), ns, name, pod, None, false).is_err() {
        return;
    }
    let finished = now();
    let _ = store.update_status(&pods(), ns, name, |s| {
        s["phase"] = json!(if exit_code == 0 { "Succeeded" } else { "Failed" });
        if let Some(reason) = reason {
            s["reason"] = json!(reason);
            s["message"] = json!("Pod was active on the node longer than the specified deadline");
        }
        if let Some(list) = s["containerStatuses"].as_array_mut() {
            let last = list.len().saturating_sub(1);
            for (i, c) in list.iter_mut().enumerate() {
                let code = if i == last { exit_code } else { 0 };
                let started = c["state"]["running"]["startedAt"].clone();
                c["ready"] = json!(false);
                c["state"] = json!({"terminated": {
                    "exitCode": code, "reason": if code == 0 { "Completed" } else { "Error" },
                    "startedAt": started, "finishedAt": finished,
                }});
            }
        }
    });
}

/// The last `n` lines of `log`.
pub(crate) fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
