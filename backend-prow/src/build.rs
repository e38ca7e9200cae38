//! One run on Prow: each ci-operator config's promotion postsubmit triggered once through
//! Gangway (found instead when the run already triggered it), followed through the run's one
//! ProwJob watch, and its images' digests read from the integration ImageStream it promotes to.
//! Reuse by fingerprint, recording and the schedule are the run driver's; the driver starts a
//! config only when every parent of its images outside the config is done
//! ([`ComponentBuilder::built_together`]).

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard, OnceLock},
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
use tokio::sync::{OnceCell, watch};

use crate::{
    client::{
        cluster::{Cluster, WatchState},
        gangway::{CreateRequest, Gangway, Refs},
    },
    config::Settings,
    names::{COMPONENTS_ANNOTATION, ConfigId, RUN_ANNOTATION, RUN_LABEL, label_value},
    promoted::{Promoted, read_promoted},
    render::{Config, View},
    status::JobState,
    strategy::Strategy,
};

/// A config's job ended without images: kept so every image of the config reports it.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    kind: ErrorKind,
    message: String,
    help: Option<String>,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure { kind: e.kind(), message: e.message().to_owned(), help: e.help().map(str::to_owned) }
    }
}

impl Failure {
    fn error(&self) -> Error {
        let error = Error::new(self.kind, self.message.clone());
        match &self.help {
            Some(help) => error.with_help(help.clone()),
            None => error,
        }
    }
}

type ConfigRun = Arc<OnceCell<std::result::Result<Promoted, Failure>>>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// One run on Prow: what every component build of it shares.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) strategy: Strategy,
    pub(crate) settings: Arc<Settings>,
    pub(crate) plan: Arc<Plan>,
    pub(crate) view: Arc<View>,
    pub(crate) gangway: Gangway,
    pub(crate) cluster: Cluster,
    /// The run's ProwJob watch, started on first use.
    pub(crate) watch: OnceLock<watch::Receiver<WatchState>>,
    /// Each config's job, shared by the config's images.
    pub(crate) configs: Mutex<HashMap<ConfigId, ConfigRun>>,
    /// The integration stream as first read (reuse checks), read once per run.
    pub(crate) stream: OnceCell<Option<Value>>,
    /// doozer-prow: every component's source, read once.
    pub(crate) sources: Option<Sources>,
    pub(crate) cache_dir: PathBuf,
    /// doozer-prow: where sources are generated before they are pushed.
    pub(crate) work: PathBuf,
    pub(crate) timestamp: jiff::Timestamp,
    /// Image and digest of each component built or reused in this run (doozer-prow's pins).
    pub(crate) built: Mutex<HashMap<String, (String, String)>>,
}

impl Job {
    fn jobs(&self, run: &RunContext) -> watch::Receiver<WatchState> {
        self.watch
            .get_or_init(|| self.cluster.watch_jobs(format!("{RUN_LABEL}={}", label_value(&run.run.0))))
            .clone()
    }

    fn log_all(&self, run: &RunContext, config: &Config, line: &str) {
        for image in &config.images {
            run.log(&image.component, line);
        }
    }

    /// Tells every image of the config where its job's page is (the ProwJob's `status.url`,
    /// Deck's view of its log), once per job.
    fn link_all(&self, run: &RunContext, config: &Config, job: &Value, linked: &mut bool) {
        let Some(url) = job["status"]["url"].as_str().filter(|u| u.starts_with("http")) else { return };
        if *linked {
            return;
        }
        *linked = true;
        for image in &config.images {
            run.events.emit(&image.component, okd_core::backend::EventKind::Link { url: url.to_owned() });
        }
    }

    /// Triggers (or finds) the config's job, follows it, and reads what it promoted.
    async fn run_config(&self, run: &RunContext, config: &Config) -> Result<Promoted> {
        let job_name = config.id.images_postsubmit();
        let commit = match self.strategy {
            Strategy::Prow => config.commit.clone().ok_or_else(|| {
                Error::invalid(format!(
                    "{}: the planned commit is unknown (the source was not read)",
                    config.id.config_path()
                ))
                .with_help("run without --offline, so the plan resolves each repository's branch to a commit")
            })?,
            Strategy::DoozerProw => self.generate_and_push(run, config).await?,
        };
        let mut rx = self.jobs(run);
        wait_listed(&mut rx).await?;
        let existing = find_existing(&rx.borrow(), &job_name, &commit);
        let mut found = false;
        let name = match existing {
            Some((name, state)) if state == JobState::Success && !run.force => {
                found = true;
                self.log_all(
                    run,
                    config,
                    &format!("Prow job {job_name} ({name}) already built {commit} in this run"),
                );
                name
            }
            Some((name, state)) if !state.is_terminal() => {
                self.log_all(
                    run,
                    config,
                    &format!("following Prow job {job_name} ({name}), already running"),
                );
                name
            }
            _ => {
                let refs = Refs {
                    org: config.id.org.clone(),
                    repo: config.id.repo.clone(),
                    base_ref: config.id.branch.clone(),
                    base_sha: commit.clone(),
                    repo_link: String::new(),
                };
                let components: Vec<&str> = config.images.iter().map(|i| i.component.as_str()).collect();
                let request = CreateRequest {
                    job_name: job_name.clone(),
                    refs,
                    labels: vec![(RUN_LABEL.into(), label_value(&run.run.0))],
                    annotations: vec![
                        (RUN_ANNOTATION.into(), run.run.0.clone()),
                        (COMPONENTS_ANNOTATION.into(), components.join(",")),
                    ],
                };
                let execution = self.gangway.create(&request).await?;
                self.log_all(
                    run,
                    config,
                    &format!(
                        "triggered {job_name} at {commit} through {}: execution {}",
                        self.gangway.base(),
                        execution.id
                    ),
                );
                execution.id
            }
        };
        let ended = self.follow(run, config, &mut rx, &name).await?;
        let state = JobState::of_prowjob(&ended);
        let url = ended["status"]["url"].as_str().unwrap_or_default();
        if let Some(error) =
            state.error(&job_name, ended["status"]["description"].as_str().unwrap_or_default(), url)
        {
            return Err(error);
        }
        let (ns, stream) = &self.view.stream;
        let stream_object = self.cluster.image_stream(ns, stream).await?;
        let started = ended["status"]["startTime"].as_str().unwrap_or_default();
        let mut promoted =
            read_promoted(config, &name, &job_name, stream_object.as_ref(), (ns, stream), started)?;
        promoted.found = found;
        Ok(promoted)
    }

    /// Follows ProwJob `name` through the run's watch until it ends, logging what changes.
    async fn follow(
        &self,
        run: &RunContext,
        config: &Config,
        rx: &mut watch::Receiver<WatchState>,
        name: &str,
    ) -> Result<Value> {
        let mut last = None;
        let mut linked = false;
        loop {
            {
                let state = rx.borrow_and_update();
                if let Some(reason) = &state.failed {
                    return Err(Error::new(
                        ErrorKind::Unavailable,
                        format!("following Prow job {name}: {reason}"),
                    ));
                }
                if let Some(job) = state.objects.get(name) {
                    self.link_all(run, config, job, &mut linked);
                    let now = JobState::of_prowjob(job);
                    if now.is_terminal() {
                        return Ok(job.clone());
                    }
                    if state.deleted.contains(name) {
                        return Err(Error::new(
                            ErrorKind::Unavailable,
                            format!("ProwJob {name} was deleted before it ended"),
                        )
                        .with_help("Prow's sinker deletes old ProwJobs; trigger the run again"));
                    }
                    if last.as_ref() != Some(&now) {
                        let url = job["status"]["url"].as_str().filter(|u| !u.is_empty());
                        let line = match (&now, url) {
                            (JobState::Running, Some(url)) => format!("ProwJob {name} is running: {url}"),
                            (JobState::Running, None) => format!("ProwJob {name} is running"),
                            _ => format!("ProwJob {name} is queued"),
                        };
                        self.log_all(run, config, &line);
                        last = Some(now);
                    }
                }
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() {
                    return Err(Error::new(ErrorKind::Internal, "the ProwJob watch stopped"));
                },
                () = run.cancel.cancelled() => {
                    return Err(Error::new(ErrorKind::Unavailable, "the run was cancelled"));
                }
            }
        }
    }

    /// doozer-prow: generates the config's one component with its parents pinned by digest and
    /// pushes it to its build branch. Returns the commit.
    async fn generate_and_push(&self, run: &RunContext, config: &Config) -> Result<String> {
        let remote = self.settings.git_remote.clone().ok_or_else(no_git_remote)?;
        let name = config
            .images
            .first()
            .map(|i| i.component.clone())
            .ok_or_else(|| Error::new(ErrorKind::Internal, "a doozer-prow config with no image"))?;
        let sources = self
            .sources
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::Internal, "doozer-prow built without reading sources"))?;
        let planned = self
            .plan
            .component(&name)
            .ok_or_else(|| Error::new(ErrorKind::Internal, format!("'{name}' is not planned")))?;
        let mut pins = BTreeMap::new();
        for parent in &planned.depends_on {
            let (image, digest) = self.parent_build(run, parent)?;
            let pinned = okd_core::payload::ImageRef::parse(&image)?.at_digest(&digest);
            pins.insert(parent.clone(), pinned.to_string());
        }
        let out = self.work.join(&name);
        if out.exists() {
            std::fs::remove_dir_all(&out).map_err(|e| Error::io(&out, "remove", e))?;
        }
        let source = SourceOptions { offline: true, cache_dir: self.cache_dir.clone(), jobs: 1 };
        let mut options = GenerateOptions::new(&self.plan.release, out.clone(), source);
        options.components = vec![name.clone()];
        options.pins = pins;
        options.timestamp = self.timestamp;
        let generated = generate(&self.plan, sources, &options).await?;
        let dir = generated
            .first()
            .map(|g| g.dir.clone())
            .ok_or_else(|| Error::new(ErrorKind::Internal, format!("nothing generated for '{name}'")))?;
        let message =
            format!("okd-build: {name} of {} {}", self.plan.release.name, self.plan.release.version);
        let pushed =
            okd_runtime::git::push_tree(&dir, &remote, &config.id.branch, &message, self.timestamp).await;
        let _ = std::fs::remove_dir_all(&out);
        let commit = pushed?;
        run.log(&name, format!("pushed generated sources to {remote} {} at {commit}", config.id.branch));
        Ok(commit)
    }

    /// A parent's image and digest: built or reused in this run, else recorded earlier.
    fn parent_build(&self, run: &RunContext, parent: &str) -> Result<(String, String)> {
        if let Some(found) = lock(&self.built).get(parent) {
            return Ok(found.clone());
        }
        let planned = self.plan.component(parent);
        let recorded = match planned.and_then(|p| p.fingerprint.as_ref()) {
            Some(fp) => run.store.lookup(self.strategy.name(), fp)?,
            None => None,
        };
        recorded.and_then(|r| Some((r.image, r.digest?))).ok_or_else(|| {
            Error::invalid(format!("parent '{parent}' has no build with its current fingerprint"))
                .with_help("build the parent in the same run (leave it in --only)")
        })
    }

    fn remember(&self, component: &str, image: &str, digest: &str) {
        lock(&self.built).insert(component.to_owned(), (image.to_owned(), digest.to_owned()));
    }
}

pub(crate) fn no_git_remote() -> Error {
    Error::invalid("doozer-prow needs a git remote to push generated sources to")
        .with_help("set the backend's `git_remote` setting (--set git_remote=URL, a URL git can push to)")
}

/// Waits for the run's watch to have listed once.
async fn wait_listed(rx: &mut watch::Receiver<WatchState>) -> Result<()> {
    let state = rx
        .wait_for(|s| s.ready || s.failed.is_some())
        .await
        .map_err(|_| Error::new(ErrorKind::Internal, "the ProwJob watch stopped"))?;
    match &state.failed {
        Some(reason) => {
            Err(Error::new(ErrorKind::Unavailable, format!("listing the run's ProwJobs: {reason}")))
        }
        None => Ok(()),
    }
}

/// The newest ProwJob of `job` at `commit` the run triggered before, with its state.
fn find_existing(state: &WatchState, job: &str, commit: &str) -> Option<(String, JobState)> {
    state
        .objects
        .iter()
        .filter(|(name, _)| !state.deleted.contains(*name))
        .filter(|(_, j)| j["spec"]["job"] == job && j["spec"]["refs"]["base_sha"] == commit)
        .max_by_key(|(_, j)| j["metadata"]["creationTimestamp"].as_str().unwrap_or_default().to_owned())
        .map(|(name, j)| (name.clone(), JobState::of_prowjob(j)))
}

#[async_trait]
impl ComponentBuilder for Job {
    async fn prepare(&self, _run: &RunContext, selected: &[&PlannedComponent]) -> Result<()> {
        let missing: Vec<&str> = selected
            .iter()
            .filter(|c| self.view.config_of(&c.name).is_none())
            .map(|c| c.name.as_str())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let why: Vec<String> = self.view.warnings.iter().map(|w| w.to_string()).collect();
        Err(Error::invalid(format!(
            "{} cannot build {}: no ci-operator config would build {}",
            self.strategy.name(),
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" }
        ))
        .with_help(if why.is_empty() {
            "see `okd render --backend prow`".to_owned()
        } else {
            why.join("\n")
        }))
    }

    async fn reuse(
        &self,
        run: &RunContext,
        c: &PlannedComponent,
        record: &BuildRecord,
    ) -> Result<Option<Built>> {
        let Some(digest) = record.digest.clone() else { return Ok(None) };
        let (ns, name) = &self.view.stream;
        let stream = self.stream.get_or_try_init(|| self.cluster.image_stream(ns, name)).await?;
        // The digest must still be in the tag's history: Prow promoted it, and nothing pruned it.
        // (A record of a twin component with the same inputs does not count: its config's job
        // promotes every image under its own tag.)
        let kept = stream.as_ref().is_some_and(|s| {
            s["status"]["tags"].as_array().into_iter().flatten().any(|t| {
                t["tag"] == c.name.as_str()
                    && t["items"].as_array().into_iter().flatten().any(|i| i["image"] == digest.as_str())
            })
        });
        if !kept {
            return Ok(None);
        }
        run.log(
            &c.name,
            format!(
                "reusing {}@{digest} (ProwJob {}), promoted with the same fingerprint",
                record.image, record.build_ref
            ),
        );
        self.remember(&c.name, &record.image, &digest);
        Ok(Some(Built::new(record.image.clone(), digest).with_ref(record.build_ref.clone())))
    }

    async fn build(&self, run: &RunContext, planned: &PlannedComponent) -> Result<Built> {
        let config = self.view.config_of(&planned.name).ok_or_else(|| {
            Error::new(ErrorKind::Internal, format!("no ci-operator config builds '{}'", planned.name))
        })?;
        let cell = lock(&self.configs).entry(config.id.clone()).or_default().clone();
        let outcome =
            cell.get_or_init(|| async { self.run_config(run, config).await.map_err(Failure::from) }).await;
        let promoted = outcome.as_ref().map_err(Failure::error)?;
        let (image, digest) = promoted.images.get(&planned.name).ok_or_else(|| {
            Error::new(
                ErrorKind::Internal,
                format!("{} promoted nothing for '{}'", promoted.job, planned.name),
            )
        })?;
        self.remember(&planned.name, image, digest);
        let built = Built::new(image.clone(), digest.clone()).with_ref(promoted.job.clone());
        Ok(if promoted.found { built.reused() } else { built })
    }

    fn built_together(&self, _plan: &Plan) -> Vec<Vec<String>> {
        self.view.configs.iter().map(|c| c.images.iter().map(|i| i.component.clone()).collect()).collect()
    }
}
