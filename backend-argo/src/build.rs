//! One run on the okd-payload-pipeline way: the pipeline's objects applied, then ONE Workflow
//! whose DAG holds exactly the components that must be built (reusable ones are left out, their
//! images are still in the release ImageStream), followed through one watch. Each component's
//! build is its task: the run driver's `build` waits for the task's node and reads the image the
//! task pushed from the ImageStream. Argo runs the DAG itself; the driver mirrors it (parents
//! first, dependents of a failure skipped), so events and the run store stay the same as for
//! every backend.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex, MutexGuard, OnceLock},
};

use async_trait::async_trait;
use okd_core::{
    Error, ErrorKind, Result,
    backend::{ArchResult, Outcome},
    plan::{Plan, PlannedComponent},
};
use okd_runtime::{Built, ComponentBuilder, RunContext, store::BuildRecord};
use serde_json::Value;
use tokio::sync::{OnceCell, watch};

use crate::{
    client::{Cluster, WatchState},
    config::Settings,
    names::{COMPONENT_LABEL, workflow_name},
    render,
    status::{TaskState, arch_results, memoized, started_at, task_state},
};

/// Workflows of one run and component set tried before the last failed one is followed.
const MAX_ATTEMPTS: usize = 50;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// One run: what every component build of it shares.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) settings: Arc<Settings>,
    pub(crate) plan: Arc<Plan>,
    pub(crate) cluster: Cluster,
    /// ImageStreams and BuildConfigs (or Shipwright Builds), applied in `prepare`.
    pub(crate) objects: Vec<Value>,
    /// DAG parallelism of this run's Workflow (`--jobs`, else the setting).
    pub(crate) parallelism: usize,
    /// The components `prepare` found must be built: the Workflow's tasks.
    pub(crate) to_build: Mutex<Vec<String>>,
    /// Components that need an architecture no node of the cluster has, and why: left out of
    /// the Workflow (with their dependents), failed without building.
    pub(crate) unschedulable: Mutex<BTreeMap<String, String>>,
    /// The release ImageStream as read in `prepare` (reuse checks).
    pub(crate) stream: Mutex<Option<Value>>,
    /// The run's Workflow: created (or found) once, on the first build.
    pub(crate) workflow: OnceCell<std::result::Result<String, String>>,
    pub(crate) watch: OnceLock<watch::Receiver<WatchState>>,
}

/// How a component's task ended.
#[derive(Debug)]
struct Ended {
    state: TaskState,
    started_at: Option<String>,
    memoized: bool,
    arches: Vec<ArchResult>,
}

/// The architectures `c` builds for (amd64 when the manifest names none).
fn arches_of(c: &PlannedComponent) -> Vec<String> {
    if c.arches.is_empty() { vec!["amd64".to_owned()] } else { c.arches.clone() }
}

/// Why `c` cannot be built on a cluster whose nodes have `available`, if it cannot.
fn missing_arch(c: &PlannedComponent, available: &BTreeSet<String>) -> Option<String> {
    let missing: Vec<String> = arches_of(c).into_iter().filter(|a| !available.contains(a)).collect();
    (!missing.is_empty()).then(|| {
        format!(
            "{} needs {}, but no node of the cluster has kubernetes.io/arch={} (its nodes are {}), so its Build would never be scheduled",
            c.name,
            missing.join(", "),
            missing.join(" or "),
            available.iter().cloned().collect::<Vec<_>>().join(", ")
        )
    })
}

/// The components the rendered objects build (those with a BuildConfig or Shipwright Build).
fn buildable(objects: &[Value]) -> BTreeSet<String> {
    objects
        .iter()
        .filter(|o| matches!(o["kind"].as_str(), Some("BuildConfig" | "Build")))
        .filter_map(|o| {
            o["metadata"]["labels"][COMPONENT_LABEL].as_str().or_else(|| o["metadata"]["name"].as_str())
        })
        .map(str::to_owned)
        .collect()
}

/// The newest item of `tag` in `stream`: (pull spec by tag, digest, created).
fn newest<'a>(stream: &'a Value, tag: &str) -> Option<(String, &'a str, Option<&'a str>)> {
    let repository = stream["status"]["publicDockerImageRepository"]
        .as_str()
        .filter(|r| !r.is_empty())
        .or_else(|| stream["status"]["dockerImageRepository"].as_str())?;
    let item = stream["status"]["tags"].as_array()?.iter().find(|t| t["tag"] == tag)?["items"].get(0)?;
    let digest = item["image"].as_str().filter(|d| d.starts_with("sha256:"))?;
    Some((format!("{repository}:{tag}"), digest, item["created"].as_str()))
}

impl Run {
    fn jobs(&self, name: &str) -> watch::Receiver<WatchState> {
        self.watch.get_or_init(|| self.cluster.watch_workflow(name)).clone()
    }

    /// Creates the run's Workflow over the components to build, or finds the one an earlier
    /// submission of the same run created.
    async fn workflow(&self, run: &RunContext) -> Result<String> {
        let outcome = self
            .workflow
            .get_or_init(|| async {
                let components = lock(&self.to_build).clone();
                let mut settings = (*self.settings).clone();
                settings.parallelism = self.parallelism;
                // A Workflow of this name that failed is an earlier attempt of the same work:
                // build again under the next name rather than report its old failure.
                let mut attempt = 0;
                let (name, created) = loop {
                    let name = workflow_name(&run.run, &components, attempt);
                    let workflow = render::workflow(&self.plan, &settings, &name, &run.run, &components)
                        .map_err(|e| e.to_string())?;
                    let (found, created) =
                        self.cluster.create_workflow(&workflow).await.map_err(|e| e.to_string())?;
                    let failed = matches!(crate::status::ended(&found), Some("Failed" | "Error"));
                    if created || !failed || attempt >= MAX_ATTEMPTS {
                        break (name, created);
                    }
                    attempt += 1;
                };
                let line = if created {
                    format!("created Workflow {name} ({} tasks)", components.len())
                } else {
                    format!("following Workflow {name}, created by an earlier submission of this run")
                };
                for c in &components {
                    run.log(c, &line);
                }
                Ok(name)
            })
            .await;
        outcome.clone().map_err(|e| Error::new(ErrorKind::Unavailable, e))
    }

    /// Waits for `component`'s task to end, logging its progress.
    /// Only what the build needs is copied out: a release's Workflow is large (a node and a
    /// task per component), and every component's build wakes on each change.
    async fn follow(&self, run: &RunContext, name: &str, component: &str) -> Result<Ended> {
        let mut rx = self.jobs(name);
        let mut last = None;
        loop {
            {
                let state = rx.borrow_and_update();
                if let Some(reason) = &state.failed {
                    return Err(Error::new(
                        ErrorKind::Unavailable,
                        format!("following Workflow {name}: {reason}"),
                    ));
                }
                if let Some(wf) = state.objects.get(name) {
                    let now = task_state(wf, component);
                    if now.is_terminal() {
                        return Ok(Ended {
                            started_at: started_at(wf, component).map(str::to_owned),
                            memoized: memoized(wf, component),
                            arches: arch_results(wf, component),
                            state: now,
                        });
                    }
                    if state.deleted.contains(name) {
                        return Err(Error::new(
                            ErrorKind::Unavailable,
                            format!("Workflow {name} was deleted before {component} ended"),
                        )
                        .with_help("its ttlStrategy or someone else removed it; build again"));
                    }
                    if last.as_ref() != Some(&now) && now == TaskState::Running {
                        run.log(component, format!("task {component} of Workflow {name} is running"));
                    }
                    last = Some(now);
                }
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() {
                    return Err(Error::new(ErrorKind::Internal, "the Workflow watch stopped"));
                },
                () = run.cancel.cancelled() => {
                    return Err(Error::new(ErrorKind::Unavailable, "the run was cancelled"));
                }
            }
        }
    }
}

#[async_trait]
impl ComponentBuilder for Run {
    async fn prepare(&self, run: &RunContext, selected: &[&PlannedComponent]) -> Result<()> {
        let buildable = buildable(&self.objects);
        let missing: Vec<&str> =
            selected.iter().filter(|c| !buildable.contains(&c.name)).map(|c| c.name.as_str()).collect();
        if !missing.is_empty() {
            return Err(Error::invalid(format!(
                "payload-pipeline cannot build {}: no BuildConfig would build {}",
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "them" }
            ))
            .with_help("see the warnings of `okd render --backend payload-pipeline` (git sources only; Dockerfiles must be readable)"));
        }
        let stream = self.cluster.image_stream(&self.settings.stream).await?;
        // The Workflow gets only what cannot be reused, decided here as the driver will: same
        // fingerprint recorded and its digest still in the tag's history.
        let mut to_build = Vec::new();
        for c in selected {
            let record = match (&c.fingerprint, run.force) {
                (Some(fp), false) => run.store.lookup(run.backend, fp)?,
                _ => None,
            };
            let kept = record.as_ref().is_some_and(|r| {
                r.digest.as_deref().is_some_and(|digest| {
                    stream.as_ref().is_some_and(|s| kept(s, &c.name, &r.component, digest))
                })
            });
            if !kept {
                to_build.push(c.name.clone());
            }
        }
        // The objects are applied only when something is built: a run that reuses everything
        // costs one read.
        if !to_build.is_empty() {
            self.leave_out_unschedulable(run, &mut to_build).await?;
            self.cluster.apply(&self.objects).await?;
        }
        *lock(&self.to_build) = to_build;
        *lock(&self.stream) = stream;
        Ok(())
    }

    async fn reuse(
        &self,
        run: &RunContext,
        c: &PlannedComponent,
        record: &BuildRecord,
    ) -> Result<Option<Built>> {
        let Some(digest) = record.digest.clone() else { return Ok(None) };
        if lock(&self.to_build).contains(&c.name) {
            return Ok(None);
        }
        let kept = lock(&self.stream).as_ref().is_some_and(|s| kept(s, &c.name, &record.component, &digest));
        if !kept {
            return Ok(None);
        }
        run.log(
            &c.name,
            format!(
                "reusing {}@{digest} (Workflow {}), built with the same fingerprint",
                record.image, record.build_ref
            ),
        );
        Ok(Some(Built::new(record.image.clone(), digest).with_ref(record.build_ref.clone())))
    }

    async fn build(&self, run: &RunContext, planned: &PlannedComponent) -> Result<Built> {
        if let Some(why) = lock(&self.unschedulable).get(&planned.name) {
            return Err(Error::new(ErrorKind::BuildFailed, why.clone())
                .with_help("add nodes of that architecture, or take it out of the component's arches"));
        }
        let name = self.workflow(run).await?;
        if let Some(link) = &self.settings.log_url {
            let values = [
                ("namespace", self.settings.namespace.as_str()),
                ("name", name.as_str()),
                ("component", planned.name.as_str()),
                ("run", run.run.0.as_str()),
            ];
            run.events.emit(&planned.name, okd_core::backend::EventKind::Link { url: link.url(&values) });
        }
        let ended = self.follow(run, &name, &planned.name).await?;
        match ended.state {
            TaskState::Succeeded => {}
            TaskState::Failed(message) => {
                // Say which architecture failed: the others may have built.
                let failed: Vec<&str> = ended
                    .arches
                    .iter()
                    .filter(|a| a.outcome == Outcome::Failed)
                    .map(|a| a.arch.as_str())
                    .collect();
                let arch =
                    if failed.is_empty() { String::new() } else { format!(" ({})", failed.join(", ")) };
                return Err(Error::new(
                    ErrorKind::BuildFailed,
                    format!("task {} of Workflow {name} failed{arch}: {message}", planned.name),
                )
                .with_help(format!(
                    "argo logs {name} -n {} shows every step's log",
                    self.settings.namespace
                )));
            }
            TaskState::Omitted(message) => {
                return Err(Error::new(
                    ErrorKind::BuildFailed,
                    format!("task {} of Workflow {name} did not run: {message}", planned.name),
                ));
            }
            TaskState::Waiting | TaskState::Running => {
                return Err(Error::new(
                    ErrorKind::Internal,
                    format!("task {} of Workflow {name} was followed to no end", planned.name),
                ));
            }
        }
        let stream = self.cluster.image_stream(&self.settings.stream).await?;
        let not_pushed = |why: String| {
            Error::new(
                ErrorKind::BuildFailed,
                format!("task {} of Workflow {name} succeeded but {why}", planned.name),
            )
            .with_help(format!(
                "its Build must push to the ImageStreamTag {}:{}",
                self.settings.stream, planned.name
            ))
        };
        let stream = stream
            .ok_or_else(|| not_pushed(format!("the ImageStream {} does not exist", self.settings.stream)))?;
        let (image, digest, created) = newest(&stream, &planned.name)
            .ok_or_else(|| not_pushed(format!("{} has no tag {}", self.settings.stream, planned.name)))?;
        let since: Option<jiff::Timestamp> = ended.started_at.as_deref().and_then(|s| s.parse().ok());
        let created: Option<jiff::Timestamp> = created.and_then(|c| c.parse().ok());
        // A memoized task built nothing: its image is the one an earlier run pushed.
        if !ended.memoized
            && let (Some(since), Some(created)) = (since, created)
            && created < since
        {
            return Err(not_pushed(format!(
                "{}:{} is older than the task ({created})",
                self.settings.stream, planned.name
            )));
        }
        // A memoized task ran no step: every arch was taken from the cache.
        let arches = if ended.memoized && ended.arches.is_empty() {
            arches_of(planned)
                .into_iter()
                .map(|arch| ArchResult { arch, outcome: Outcome::Reused, reason: None })
                .collect()
        } else {
            ended.arches
        };
        Ok(Built::new(image, digest.to_owned()).with_ref(name).with_arches(arches))
    }
}

impl Run {
    /// Takes the components that need an architecture no node has, and their dependents, out
    /// of `to_build` (the Workflow would wait forever on their Builds); they fail in `build`
    /// with the reason. One Node list per run; skipped when nodes cannot be listed.
    async fn leave_out_unschedulable(&self, run: &RunContext, to_build: &mut Vec<String>) -> Result<()> {
        let Some(available) = self.cluster.node_arches().await? else { return Ok(()) };
        let mut unschedulable = lock(&self.unschedulable);
        let mut dropped = BTreeSet::new();
        for c in self.plan.components.iter().filter(|c| to_build.contains(&c.name)) {
            if let Some(why) = missing_arch(c, &available) {
                run.log(&c.name, &why);
                unschedulable.insert(c.name.clone(), why);
                dropped.extend(
                    self.plan
                        .graph
                        .dependents_closure(c.index)
                        .into_iter()
                        .map(|i| self.plan.graph.name(i).to_owned()),
                );
            }
        }
        to_build.retain(|c| !dropped.contains(c));
        Ok(())
    }
}

/// A recorded build of `component` can be taken: its digest is still in the history of the
/// component's tag, or of the tag of the component it was recorded for (two components with the
/// same inputs have one fingerprint, so one record, and build the same image).
fn kept(stream: &Value, component: &str, recorded_for: &str, digest: &str) -> bool {
    in_history(stream, component, digest) || in_history(stream, recorded_for, digest)
}

/// The digest is still in the tag's history (built before, not pruned).
fn in_history(stream: &Value, tag: &str, digest: &str) -> bool {
    stream["status"]["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| t["tag"] == tag && t["items"].as_array().into_iter().flatten().any(|i| i["image"] == digest))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_newest_item_and_the_history_of_a_tag() {
        let stream = json!({"status": {"dockerImageRepository": "image-registry:5000/okd/release", "tags": [
            {"tag": "cli", "items": [{"image": "sha256:2", "created": "2026-01-02T00:00:00Z"}, {"image": "sha256:1"}]},
        ]}});
        let (image, digest, created) = newest(&stream, "cli").unwrap_or_else(|| panic!("a tag"));
        assert_eq!(
            (image.as_str(), digest, created),
            ("image-registry:5000/okd/release:cli", "sha256:2", Some("2026-01-02T00:00:00Z"))
        );
        assert!(in_history(&stream, "cli", "sha256:1"));
        assert!(!in_history(&stream, "cli", "sha256:3"));
        // A record of a twin component (same fingerprint) is taken through the twin's tag.
        assert!(kept(&stream, "cli-twin", "cli", "sha256:1"));
        assert!(!kept(&stream, "cli-twin", "base", "sha256:1"));
        assert!(newest(&stream, "base").is_none());
    }
}
