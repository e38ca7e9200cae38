//! Building one component on the cluster: find or create its PipelineRun by deterministic name,
//! follow it to the end, and turn the end into a result. Reuse by fingerprint, recording and the
//! schedule are the run driver's (okd-runtime).

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    ops::Deref,
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard},
};

use async_trait::async_trait;
use okd_core::{
    Error, ErrorKind, Result,
    generate::{GenerateOptions, generate},
    plan::{Plan, PlannedComponent},
    source::{SourceOptions, Sources},
};
use okd_runtime::{Built, ComponentBuilder, RunContext, store::BuildRecord};
use serde_json::Value;

use crate::{
    Strategy,
    client::{Cluster, Kind, Watched},
    config::Settings,
    names::pinned,
    render::{
        View, build_branch,
        pipelinerun::{self, Created, Event, GeneratedSource},
        shared_image_repo, tenant,
    },
    status::{Phase, phase},
};

/// Lines of a failed step's log that a failure reports.
const LOG_TAIL: i64 = 40;

/// One run on the cluster: what every component build of it shares.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) strategy: Strategy,
    pub(crate) cluster: Cluster,
    pub(crate) settings: Arc<Settings>,
    pub(crate) plan: Arc<Plan>,
    pub(crate) view: Arc<View>,
    /// Doozer + Konflux: every component's source, read once.
    pub(crate) sources: Option<Sources>,
    /// The git cache sources were read into.
    pub(crate) cache_dir: PathBuf,
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

/// A job and the run it serves, for one call.
struct Step<'a> {
    job: &'a Job,
    run: &'a RunContext,
}

impl Deref for Step<'_> {
    type Target = Job;
    fn deref(&self) -> &Job {
        self.job
    }
}

impl Step<'_> {
    fn log(&self, component: &str, line: impl Into<String>) {
        self.run.log(component, line);
    }

    /// The image and digest of a parent: built in this run, else recorded earlier.
    fn parent_build(&self, parent: &PlannedComponent) -> Result<(String, String)> {
        if let Some(found) = lock(&self.built).get(&parent.name) {
            return Ok(found.clone());
        }
        let recorded = match &parent.fingerprint {
            Some(fp) => self.run.store.lookup(self.strategy.name(), fp)?,
            None => None,
        };
        recorded.and_then(|r| Some((r.image, r.digest?))).ok_or_else(|| {
            Error::invalid(format!("parent '{}' has no build with its current fingerprint", parent.name))
                .with_help("build the parent in the same run (leave it in --only)")
        })
    }
}

impl Job {
    fn remember(&self, component: &str, image: &str, digest: &str) {
        lock(&self.built).insert(component.to_owned(), (image.to_owned(), digest.to_owned()));
    }

    /// The tenant objects the selected components need, created when missing.
    async fn ensure_tenant(&self, selected: &[&PlannedComponent]) -> Result<()> {
        let (cluster, plan, view, settings) = (&self.cluster, &self.plan, &self.view, &self.settings);
        let ns = Some(cluster.namespace());
        let release = &plan.release;
        let mut objects = vec![tenant::application(&view.application, ns, release)];
        let chosen = view.components.iter().filter(|c| selected.iter().any(|s| s.name == c.name));
        match self.strategy {
            Strategy::Konflux => {
                for c in chosen {
                    objects.push(tenant::pac_component(c, &view.application, ns, settings));
                    objects.push(tenant::component_image_repository(c, &view.application, ns, release));
                }
            }
            Strategy::DoozerKonflux => {
                let remote = settings.git_remote.clone().ok_or_else(no_git_remote)?;
                objects.push(tenant::shared_image_repository(&view.application, ns, release));
                let shared = shared_image_repo(plan);
                for c in chosen {
                    let branch = build_branch(plan, &c.name);
                    objects.push(tenant::direct_component(
                        c,
                        &view.application,
                        ns,
                        settings,
                        &remote,
                        &branch,
                        &shared,
                    ));
                }
            }
        }
        for object in objects {
            let kind = Kind::of(&object)
                .ok_or_else(|| Error::new(ErrorKind::Internal, "an object of no known kind"))?;
            cluster.create_or_get(kind, &object).await?;
        }
        Ok(())
    }
}

pub(crate) fn no_git_remote() -> Error {
    Error::invalid("doozer-konflux needs a git remote to push generated sources to")
        .with_help("set the backend's `git_remote` setting (--set git_remote=URL, a URL git can push to)")
}

#[async_trait]
impl ComponentBuilder for Job {
    async fn prepare(&self, _run: &RunContext, selected: &[&PlannedComponent]) -> Result<()> {
        self.ensure_tenant(selected).await
    }

    async fn reuse(
        &self,
        run: &RunContext,
        c: &PlannedComponent,
        record: &BuildRecord,
    ) -> Result<Option<Built>> {
        let Some(digest) = record.digest.clone() else { return Ok(None) };
        run.log(
            &c.name,
            format!(
                "reusing {} (PipelineRun {}), built with the same fingerprint",
                record.image, record.build_ref
            ),
        );
        self.remember(&c.name, &record.image, &digest);
        Ok(Some(Built::new(record.image.clone(), digest).with_ref(record.build_ref.clone())))
    }

    async fn build(&self, run: &RunContext, planned: &PlannedComponent) -> Result<Built> {
        let step = Step { job: self, run };
        let name = &planned.name;
        let fingerprint = planned.fingerprint.clone().ok_or_else(|| {
            Error::invalid(format!("component '{name}': its source was not read, so it cannot be built"))
                .with_help("run without --offline, or fetch the source into the git cache first")
        })?;
        let run_name = match self.strategy {
            Strategy::Konflux => {
                pipelinerun::run_name(&pipelinerun::pac_name(name, Event::Push), &fingerprint)
            }
            Strategy::DoozerKonflux => pipelinerun::run_name(name, &fingerprint),
        };
        lock(&self.following).insert(run_name.clone());
        let (object, found_finished) = submit_and_follow(&step, planned, &fingerprint, &run_name).await?;
        match phase(&object) {
            Phase::Succeeded { image, digest } => {
                self.remember(name, &image, &digest);
                let built = Built::new(image, digest).with_ref(run_name);
                Ok(if found_finished { built.reused() } else { built })
            }
            other => Err(failure(&step, name, &run_name, &other, &object).await),
        }
    }
}

/// Finds or creates PipelineRun `run_name` and follows it to its end. Returns the ended object
/// and whether it had already ended before this run looked.
async fn submit_and_follow(
    job: &Step<'_>,
    planned: &PlannedComponent,
    fingerprint: &str,
    run_name: &str,
) -> Result<(Value, bool)> {
    let name = &planned.name;
    if let Some(link) = &job.settings.log_url {
        // The name is fixed before the PipelineRun exists, so the link is known at once.
        let namespace = job.cluster.namespace();
        let values = [
            ("namespace", namespace),
            ("name", run_name),
            ("component", name.as_str()),
            ("run", job.run.run.0.as_str()),
            ("application", job.view.application.as_str()),
        ];
        job.run.events.emit(name, okd_core::backend::EventKind::Link { url: link.url(&values) });
    }
    let mut force = job.run.force;
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
    job: &Step<'_>,
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
        run: &job.run.run.0,
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
async fn generate_and_push(job: &Step<'_>, planned: &PlannedComponent) -> Result<(String, String, String)> {
    let name = &planned.name;
    let remote = job.settings.git_remote.clone().ok_or_else(no_git_remote)?;
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
    let source = SourceOptions { offline: true, cache_dir: job.cache_dir.clone(), jobs: 1 };
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
    let commit = okd_runtime::git::push_tree(&dir, &remote, &branch, &message, job.timestamp).await;
    let _ = std::fs::remove_dir_all(&out);
    let commit = commit?;
    job.log(name, format!("pushed generated sources to {remote} {branch} at {commit}"));
    Ok((remote, branch, commit))
}

/// The error of a PipelineRun that ended without an image, with its failed step's log.
async fn failure(job: &Step<'_>, component: &str, run_name: &str, ended: &Phase, object: &Value) -> Error {
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
