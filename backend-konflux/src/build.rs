//! Building one component on the cluster: reuse by fingerprint, find or create its PipelineRun
//! by deterministic name, follow it to the end, and turn the end into a result.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard},
};

use backend_local::state::{BuildRecord, StateStore};
use okd_core::{
    Error, ErrorKind, Result,
    backend::{EventKind, EventSink, RunId},
    generate::{GenerateOptions, generate},
    plan::{Plan, PlannedComponent},
    schedule::Built,
    source::{SourceOptions, Sources},
};
use serde_json::Value;

use crate::{
    Strategy,
    client::{Cluster, Kind, Watched},
    config::Settings,
    git,
    names::pinned,
    render::{
        View, build_branch,
        pipelinerun::{self, Created, Event, GeneratedSource},
        shared_image_repo,
    },
    status::{Phase, phase},
};

/// Lines of a failed step's log that a failure reports.
const LOG_TAIL: i64 = 40;

/// What every component task of one run shares.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) strategy: Strategy,
    pub(crate) cluster: Cluster,
    pub(crate) state: Arc<StateStore>,
    pub(crate) settings: Arc<Settings>,
    pub(crate) plan: Arc<Plan>,
    pub(crate) view: Arc<View>,
    pub(crate) run: RunId,
    pub(crate) events: EventSink,
    pub(crate) force: bool,
    /// Doozer + Konflux: every component's source, read once.
    pub(crate) sources: Option<Sources>,
    /// Doozer + Konflux: where sources are generated before they are pushed.
    pub(crate) work: PathBuf,
    pub(crate) timestamp: jiff::Timestamp,
    /// Image and digest of each component built or reused in this run (parents' pins).
    pub(crate) built: Mutex<HashMap<String, (String, String)>>,
    /// PipelineRuns this run follows, so a cancel reaches runs another run created.
    pub(crate) following: Arc<Mutex<BTreeSet<String>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Job {
    fn backend(&self) -> &'static str {
        self.strategy.name()
    }

    fn log(&self, component: &str, line: impl Into<String>) {
        self.events.emit(component, EventKind::Log { line: line.into() });
    }

    fn remember(&self, component: &str, image: &str, digest: &str) {
        lock(&self.built).insert(component.to_owned(), (image.to_owned(), digest.to_owned()));
    }

    /// The image and digest of a parent: built in this run, else recorded earlier.
    fn parent_build(&self, parent: &PlannedComponent) -> Result<(String, String)> {
        if let Some(found) = lock(&self.built).get(&parent.name) {
            return Ok(found.clone());
        }
        let recorded = match &parent.fingerprint {
            Some(fp) => self.state.lookup(self.backend(), fp)?,
            None => None,
        };
        recorded.and_then(|r| Some((r.image, r.digest?))).ok_or_else(|| {
            Error::invalid(format!("parent '{}' has no build with its current fingerprint", parent.name))
                .with_help("build the parent in the same run (leave it in --only)")
        })
    }
}

/// Builds (or reuses) component `name`.
pub(crate) async fn build_component(job: Arc<Job>, name: String) -> Result<Built> {
    let planned = job
        .plan
        .component(&name)
        .ok_or_else(|| Error::new(ErrorKind::Internal, format!("component '{name}' is not planned")))?;
    let fingerprint = planned.fingerprint.clone().ok_or_else(|| {
        Error::invalid(format!("component '{name}': its source was not read, so it cannot be built"))
            .with_help("run without --offline, or fetch the source into the git cache first")
    })?;
    if !job.force
        && let Some(record) = job.state.lookup(job.backend(), &fingerprint)?
        && let Some(digest) = record.digest.clone()
    {
        job.log(
            &name,
            format!(
                "reusing {} (PipelineRun {}), built with the same fingerprint",
                record.image, record.image_id
            ),
        );
        job.remember(&name, &record.image, &digest);
        return Ok(Built { image: record.image, digest, reused: true });
    }
    let run_name = match job.strategy {
        Strategy::Konflux => pipelinerun::run_name(&pipelinerun::pac_name(&name, Event::Push), &fingerprint),
        Strategy::DoozerKonflux => pipelinerun::run_name(&name, &fingerprint),
    };
    lock(&job.following).insert(run_name.clone());
    let (object, found_finished) = submit_and_follow(&job, planned, &fingerprint, &run_name).await?;
    match phase(&object) {
        Phase::Succeeded { image, digest } => {
            job.state.record_build(&BuildRecord {
                backend: job.backend().to_owned(),
                fingerprint,
                component: name.clone(),
                image: image.clone(),
                image_id: run_name,
                digest: Some(digest.clone()),
                built_at: jiff::Timestamp::now(),
                log: None,
            })?;
            job.remember(&name, &image, &digest);
            Ok(Built { image, digest, reused: found_finished })
        }
        other => Err(failure(&job, &name, &run_name, &other, &object).await),
    }
}

/// Finds or creates PipelineRun `run_name` and follows it to its end. Returns the ended object
/// and whether it had already ended before this run looked.
async fn submit_and_follow(
    job: &Job,
    planned: &PlannedComponent,
    fingerprint: &str,
    run_name: &str,
) -> Result<(Value, bool)> {
    let name = &planned.name;
    let mut force = job.force;
    let mut resubmitted = false;
    loop {
        match job.cluster.get(Kind::PipelineRun, run_name).await? {
            Some(existing) if !force && matches!(phase(&existing), Phase::Succeeded { .. }) => {
                job.log(name, format!("PipelineRun {run_name} already succeeded"));
                return Ok((existing, true));
            }
            Some(existing) if force || phase(&existing).is_terminal() => {
                job.log(name, format!("PipelineRun {run_name} ended before; deleting it to build again"));
                job.cluster.delete(Kind::PipelineRun, run_name).await?;
                let object = object_for(job, planned, fingerprint, run_name).await?;
                job.cluster.create(Kind::PipelineRun, &object).await?;
                job.log(name, format!("created PipelineRun {}/{run_name}", job.cluster.namespace()));
            }
            Some(_) => job.log(name, format!("following PipelineRun {run_name}, already running")),
            None => {
                let object = object_for(job, planned, fingerprint, run_name).await?;
                let (_, created) = job.cluster.create_or_get(Kind::PipelineRun, &object).await?;
                let verb = if created { "created" } else { "found" };
                job.log(name, format!("{verb} PipelineRun {}/{run_name}", job.cluster.namespace()));
            }
        }
        force = false;
        let mut last_reason = String::new();
        let watched = job
            .cluster
            .watch_run(run_name, |object| {
                if let Phase::Running { reason, message } = phase(object)
                    && reason != last_reason
                {
                    job.log(
                        name,
                        format!("PipelineRun {run_name}: {reason} {message}").trim_end().to_owned(),
                    );
                    last_reason = reason;
                }
            })
            .await?;
        match watched {
            Watched::Ended(object) => return Ok((object, false)),
            Watched::Vanished if !resubmitted => {
                resubmitted = true;
                job.log(
                    name,
                    format!("PipelineRun {run_name} disappeared before it ended; creating it again"),
                );
            }
            Watched::Vanished => {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    format!("PipelineRun {run_name} disappeared twice before it ended"),
                )
                .with_help("something deletes unfinished PipelineRuns in the namespace (a pruner?)"));
            }
        }
    }
}

/// The PipelineRun to create for `planned`.
async fn object_for(
    job: &Job,
    planned: &PlannedComponent,
    fingerprint: &str,
    run_name: &str,
) -> Result<Value> {
    let view = job
        .view
        .component(&planned.name)
        .ok_or_else(|| Error::new(ErrorKind::Internal, format!("no view of '{}'", planned.name)))?;
    let created = Created {
        name: run_name.to_owned(),
        namespace: job.cluster.namespace(),
        run: &job.run.0,
        fingerprint,
    };
    match job.strategy {
        Strategy::Konflux => {
            let commit = view.commit.as_deref().ok_or_else(|| {
                Error::invalid(format!(
                    "component '{}': the konflux backend builds git commits, and its source is a folder",
                    planned.name
                ))
                .with_help("give the component a git source, or build with doozer-konflux, which pushes generated sources")
            })?;
            pipelinerun::push_run(view, &job.view.application, &job.settings, commit, &created)
        }
        Strategy::DoozerKonflux => {
            let (remote, branch, commit) = generate_and_push(job, planned).await?;
            let output = format!("{}:{run_name}", shared_image_repo(&job.plan));
            let source = GeneratedSource {
                remote: &remote,
                revision: &commit,
                branch: &branch,
                output_image: &output,
            };
            Ok(pipelinerun::doozer_run(view, &job.view.application, &job.settings, &source, &created))
        }
    }
}

/// Generates `planned`'s sources with its parents pinned by digest and pushes them to its build
/// branch. Returns the remote, the branch and the commit.
async fn generate_and_push(job: &Job, planned: &PlannedComponent) -> Result<(String, String, String)> {
    let name = &planned.name;
    let remote = job.settings.git_remote.clone().ok_or_else(|| {
        Error::invalid("doozer-konflux needs a git remote to push generated sources to")
            .with_help("set the backend's `git_remote` setting (a URL git can push to)")
    })?;
    let sources = job
        .sources
        .as_ref()
        .ok_or_else(|| Error::new(ErrorKind::Internal, "doozer-konflux built without reading sources"))?;
    let mut pins = BTreeMap::new();
    for parent in &planned.depends_on {
        let parent = job
            .plan
            .component(parent)
            .ok_or_else(|| Error::new(ErrorKind::Internal, format!("unknown parent '{parent}'")))?;
        let (image, digest) = job.parent_build(parent)?;
        pins.insert(parent.name.clone(), pinned(&image, &digest));
    }
    let out = job.work.join(name);
    if out.exists() {
        std::fs::remove_dir_all(&out).map_err(|e| Error::io(&out, "remove", e))?;
    }
    let source = SourceOptions { offline: true, cache_dir: job.settings.cache_dir.clone(), jobs: 1 };
    let mut options = GenerateOptions::new(&job.plan.release, out.clone(), source);
    options.components = vec![name.clone()];
    options.pins = pins;
    options.timestamp = job.timestamp;
    let generated = generate(&job.plan, sources, &options).await?;
    let dir = generated
        .first()
        .map(|g| g.dir.clone())
        .ok_or_else(|| Error::new(ErrorKind::Internal, format!("nothing generated for '{name}'")))?;
    let branch = build_branch(&job.plan, name);
    let message = format!("okd-build: {name} of {} {}", job.plan.release.name, job.plan.release.version);
    let commit = git::push_tree(&dir, &remote, &branch, &message, job.timestamp).await;
    let _ = std::fs::remove_dir_all(&out);
    let commit = commit?;
    job.log(name, format!("pushed generated sources to {remote} {branch} at {commit}"));
    Ok((remote, branch, commit))
}

/// The error of a PipelineRun that ended without an image, with its failed step's log.
async fn failure(job: &Job, component: &str, run_name: &str, ended: &Phase, object: &Value) -> Error {
    let error = ended.error(run_name).unwrap_or_else(|| {
        Error::new(ErrorKind::Internal, format!("PipelineRun {run_name} ended in an unexpected state"))
    });
    if !matches!(ended, Phase::Failed { .. }) {
        return error;
    }
    let log = match job.cluster.failure_log(object, LOG_TAIL).await {
        Ok(log) => log,
        Err(e) => {
            job.log(component, format!("cannot read the failed step's log: {e}"));
            None
        }
    };
    let Some(log) = log else { return error };
    for line in log.text.lines() {
        job.log(component, line);
    }
    let last = log.text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default().trim().to_owned();
    let message = if last.is_empty() {
        error.message().to_owned()
    } else {
        format!("{}; last log line: {last}", error.message())
    };
    Error::new(error.kind(), message).set_retryable(false).with_help(format!(
        "the log of task {} (pod {}) ends:\n{}",
        log.task,
        log.pod,
        log.text.trim_end()
    ))
}
