//! Feedback to developers on GitHub, for `okd build --report` and `okd watch`: a commit status
//! per component on its source commit, and one issue per release and version while it fails.
//!
//! A [`FeedbackReporter`] watches a run's events ([`observe`](FeedbackReporter::observe)
//! never blocks: statuses are queued and posted one at a time by a task, as GitHub asks of
//! clients that create content) and, at the end, settles what the events left open from the
//! report, waits for the queue, and opens, updates or closes the release issue
//! ([`finish`](FeedbackReporter::finish)). A status that cannot be posted never fails the
//! build: the [`FeedbackSummary`] counts it. Backends tell the reporter where each
//! component's build can be followed with an `EventKind::Link` event, whose URL
//! [`LinkTemplate`] builds from a `log_url` setting.
//!
//! The octocrab client ([`github`]) is behind the `github` feature; the rest (the decisions,
//! the retry policy, the templates) builds and is tested without it.

mod api;
#[cfg(feature = "github")]
pub mod github;
mod issue;
mod retry;
mod status;
mod template;

use std::sync::{
    Arc, Mutex, MutexGuard,
    atomic::{AtomicUsize, Ordering},
};

use okd_core::{
    Error, Result,
    backend::{BuildEvent, Outcome, RunReport},
    plan::Plan,
};
use serde::Serialize;
use tokio::{sync::mpsc, task::JoinHandle};

pub use api::{ApiFailure, CommitStatus, GitHubApi, Issue, IssueUpdate, NewIssue, Repo, StatusState};
pub use issue::{IssueAction, IssueReport, LABEL as ISSUE_LABEL};
pub use retry::{Deliverer, Pause, RealTime, RetryPolicy};
pub use status::{CONTEXT_NAMES, DEFAULT_CONTEXT, StatusUpdate};
pub use template::{LinkTemplate, Template};

use issue::{FailedComponent, ReleaseRef};
use status::Tracker;

/// Where a run reports, from `--report`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedbackTarget {
    /// `github`: a commit status per component on its source commit.
    CommitStatuses,
    /// `github-issue=OWNER/REPO`: the release issue in that repository.
    ReleaseIssue(Repo),
}

/// What `--report` takes, for messages.
pub const TARGETS_HELP: &str = "--report takes `github` (a commit status per component) or `github-issue=OWNER/REPO` (the release issue), e.g. --report github --report github-issue=okd-project/okd";

impl FeedbackTarget {
    /// One `--report` value.
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim().split_once('=') {
            None if text.trim() == "github" => Ok(FeedbackTarget::CommitStatuses),
            Some(("github-issue", repo)) => Repo::parse(repo.trim()).map(FeedbackTarget::ReleaseIssue).ok_or_else(|| {
                Error::invalid(format!("--report github-issue={repo}: '{repo}' is not OWNER/REPO"))
                    .with_help("name the repository the issue goes to, e.g. --report github-issue=okd-project/okd")
            }),
            _ => Err(Error::invalid(format!("--report '{text}' is not a report target")).with_help(TARGETS_HELP)),
        }
    }

    /// Every `--report` value, duplicates dropped.
    pub fn parse_all(texts: &[String]) -> Result<Vec<Self>> {
        let mut targets = Vec::new();
        for text in texts {
            let target = Self::parse(text)?;
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        Ok(targets)
    }
}

/// How statuses are made and delivered.
#[derive(Debug, Clone)]
pub struct FeedbackOptions {
    /// The status context, with {backend} {component} {release}.
    pub context: Template,
    /// Retries and the bound on waiting out rate limits.
    pub policy: RetryPolicy,
}

impl FeedbackOptions {
    /// The options for a `--github-context` template (the default when `None`).
    pub fn new(context: Option<&str>) -> Result<Self> {
        let context =
            Template::parse("--github-context", context.unwrap_or(DEFAULT_CONTEXT), &CONTEXT_NAMES)?;
        Ok(FeedbackOptions { context, policy: RetryPolicy::default() })
    }
}

/// A status that was not posted, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UndeliveredStatus {
    pub component: String,
    pub state: StatusState,
    pub reason: String,
}

/// What feedback a run gave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FeedbackSummary {
    /// Commit statuses posted.
    pub statuses_posted: usize,
    /// Commit statuses that could not be posted (rate limits past the wait bound, refusals).
    pub statuses_undelivered: usize,
    /// Each of those, with why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undelivered: Vec<UndeliveredStatus>,
    /// Components that get no status (path sources, sources not read), with why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub without_commit: Vec<String>,
    /// The release issue opened, updated or closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue: Option<IssueReport>,
    /// Why the release issue could not be reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue_error: Option<String>,
}

impl FeedbackSummary {
    /// The lines the table output ends with.
    pub fn text(&self) -> String {
        let mut text = String::new();
        if self.statuses_posted + self.statuses_undelivered > 0 {
            text.push_str(&format!("github: {} commit statuses posted", self.statuses_posted));
            if self.statuses_undelivered > 0 {
                text.push_str(&format!(", {} not delivered", self.statuses_undelivered));
            }
            text.push('\n');
            for u in self.undelivered.iter().take(5) {
                text.push_str(&format!("  {} ({}): {}\n", u.component, u.state.as_str(), u.reason));
            }
            if self.undelivered.len() > 5 {
                text.push_str(&format!("  ... and {} more\n", self.undelivered.len() - 5));
            }
        }
        if let Some(issue) = &self.issue {
            let action = match issue.action {
                IssueAction::Opened => "opened",
                IssueAction::Updated => "updated",
                IssueAction::Closed => "closed",
            };
            text.push_str(&format!(
                "github: issue {}#{} {action}: {}\n",
                issue.repository, issue.number, issue.url
            ));
        }
        if let Some(error) = &self.issue_error {
            text.push_str(&format!("github: the release issue was not reported: {error}\n"));
        }
        text
    }
}

/// What the delivery task counts.
#[derive(Debug, Default)]
struct Delivery {
    posted: usize,
    undelivered: Vec<UndeliveredStatus>,
}

/// Reports one run's feedback to GitHub.
pub struct FeedbackReporter {
    tracker: Mutex<Tracker>,
    statuses: bool,
    issue: Option<Repo>,
    queue: mpsc::UnboundedSender<StatusUpdate>,
    worker: JoinHandle<Delivery>,
    outstanding: Arc<AtomicUsize>,
    api: Arc<dyn GitHubApi>,
    deliverer: Arc<Deliverer>,
    release: ReleaseRef,
}

impl std::fmt::Debug for FeedbackReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedbackReporter")
            .field("statuses", &self.statuses)
            .field("issue", &self.issue)
            .finish_non_exhaustive()
    }
}

impl FeedbackReporter {
    /// A reporter to GitHub as the environment says (`GITHUB_API_URL`, `GITHUB_TOKEN` or `gh
    /// auth token`); `None` when `targets` is empty. Fails, before anything is built, when no
    /// token can be found (an input error that says how to give one).
    #[cfg(feature = "github")]
    pub async fn connect(
        targets: &[FeedbackTarget],
        plan: &Plan,
        backend: &str,
        options: FeedbackOptions,
    ) -> Result<Option<Self>> {
        if targets.is_empty() {
            return Ok(None);
        }
        let url = github::api_url_from_env();
        let token = github::Token::from_env(&url).await?;
        let api = Arc::new(github::OctocrabApi::new(&url, &token)?);
        Ok(Some(Self::with_api(targets, plan, backend, options, api, Box::new(RealTime))))
    }

    /// A reporter over `api` (a client, or a mock), sleeping through `pause`. Starts the task
    /// that posts statuses, so it needs a tokio runtime.
    pub fn with_api(
        targets: &[FeedbackTarget],
        plan: &Plan,
        backend: &str,
        options: FeedbackOptions,
        api: Arc<dyn GitHubApi>,
        pause: Box<dyn Pause>,
    ) -> Self {
        let deliverer = Arc::new(Deliverer::new(options.policy, pause));
        let (queue, rx) = mpsc::unbounded_channel();
        let outstanding = Arc::new(AtomicUsize::new(0));
        let worker = tokio::spawn(deliver(rx, api.clone(), deliverer.clone(), outstanding.clone()));
        let issue = targets.iter().find_map(|t| match t {
            FeedbackTarget::ReleaseIssue(repo) => Some(repo.clone()),
            FeedbackTarget::CommitStatuses => None,
        });
        FeedbackReporter {
            tracker: Mutex::new(Tracker::new(plan, backend, &options.context)),
            statuses: targets.contains(&FeedbackTarget::CommitStatuses),
            issue,
            queue,
            worker,
            outstanding,
            api,
            deliverer,
            release: ReleaseRef {
                name: plan.release.name.clone(),
                version: plan.release.version.to_string(),
                backend: backend.to_owned(),
            },
        }
    }

    fn tracker(&self) -> MutexGuard<'_, Tracker> {
        self.tracker.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What the user should know before the build starts: components that get no status.
    pub fn notes(&self) -> Vec<String> {
        let tracker = self.tracker();
        let without = tracker.without_commit();
        if !self.statuses || without.is_empty() {
            return Vec::new();
        }
        let list: Vec<String> = without.iter().map(|(name, why)| format!("{name} ({why})")).collect();
        vec![format!("github: no commit status for {}", list.join(", "))]
    }

    /// Takes one event of the run into account; queues the status it calls for. Never blocks.
    pub fn observe(&self, event: &BuildEvent) {
        let update = self.tracker().on_event(event);
        if let Some(update) = update.filter(|_| self.statuses) {
            self.send(update);
        }
    }

    fn send(&self, update: StatusUpdate) {
        self.outstanding.fetch_add(1, Ordering::SeqCst);
        if self.queue.send(update).is_err() {
            self.outstanding.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Statuses queued and not yet posted (or given up on).
    pub fn outstanding(&self) -> usize {
        self.outstanding.load(Ordering::SeqCst)
    }

    /// Settles every component's status from `report`, waits until every status is posted or
    /// given up on, then reports the release issue.
    pub async fn finish(self, report: &RunReport) -> FeedbackSummary {
        let (updates, without) = {
            let mut tracker = self.tracker();
            let without = tracker.without_commit().iter().map(|(name, _)| name.clone()).collect::<Vec<_>>();
            (tracker.on_report(report), without)
        };
        if self.statuses {
            updates.into_iter().for_each(|u| self.send(u));
        }
        let failed = self.failed_components(report);
        let FeedbackReporter { queue, worker, api, deliverer, issue, release, statuses, .. } = self;
        drop(queue);
        let delivery = worker.await.unwrap_or_else(|e| {
            tracing::warn!("the task posting commit statuses stopped: {e}");
            Delivery::default()
        });
        let mut summary = FeedbackSummary {
            statuses_posted: delivery.posted,
            statuses_undelivered: delivery.undelivered.len(),
            undelivered: delivery.undelivered,
            without_commit: if statuses { without } else { Vec::new() },
            ..FeedbackSummary::default()
        };
        if let Some(repo) = issue {
            match issue::report(api.as_ref(), &deliverer, &repo, &release, report, &failed).await {
                Ok(done) => summary.issue = done,
                Err(why) => summary.issue_error = Some(why),
            }
        }
        summary
    }

    fn failed_components(&self, report: &RunReport) -> Vec<FailedComponent> {
        let tracker = self.tracker();
        report
            .components
            .iter()
            .filter(|c| c.outcome == Outcome::Failed)
            .map(|c| FailedComponent {
                name: c.name.clone(),
                commit: tracker.commit(&c.name),
                error: c.reason.clone().unwrap_or_else(|| "failed".to_owned()),
                link: tracker.link(&c.name).map(str::to_owned),
            })
            .collect()
    }
}

/// Posts queued statuses one at a time, in order, until the queue closes. A pending status
/// whose component's next queued status is pending too (the same start, now with its link) is
/// skipped: one request instead of two, and the later one says more.
async fn deliver(
    mut rx: mpsc::UnboundedReceiver<StatusUpdate>,
    api: Arc<dyn GitHubApi>,
    deliverer: Arc<Deliverer>,
    outstanding: Arc<AtomicUsize>,
) -> Delivery {
    let mut delivery = Delivery::default();
    let mut queued = std::collections::VecDeque::new();
    loop {
        if queued.is_empty() {
            match rx.recv().await {
                Some(update) => queued.push_back(update),
                None => break,
            }
        }
        while let Ok(update) = rx.try_recv() {
            queued.push_back(update);
        }
        let Some(update) = queued.pop_front() else { continue };
        let next = queued.iter().find(|u| u.component == update.component);
        let superseded = update.status.state == StatusState::Pending
            && next.is_some_and(|u| u.status.state == StatusState::Pending);
        if !superseded {
            let posted =
                deliverer.deliver(|| api.create_status(&update.repo, &update.sha, &update.status)).await;
            match posted {
                Ok(()) => delivery.posted += 1,
                Err(reason) => {
                    tracing::debug!(component = %update.component, "commit status not delivered: {reason}");
                    delivery.undelivered.push(UndeliveredStatus {
                        component: update.component,
                        state: update.status.state,
                        reason,
                    });
                }
            }
        }
        outstanding.fetch_sub(1, Ordering::SeqCst);
    }
    delivery
}

#[cfg(test)]
mod tests;
