//! Which commit status each component gets, from the run's events and, at the end, its report.
//! No IO: the reporter queues what this decides.
//!
//! | event or outcome | state | description |
//! |---|---|---|
//! | `started` | pending | `building on <backend>` |
//! | `link` while pending | pending again, now with the link | |
//! | `succeeded` | success | `built <digest>` |
//! | `reused` | success | `reused <digest>` |
//! | `failed` | failure | the reason's first line |
//! | `skipped` | error | `skipped: <parent> failed` |
//! | cancelled (report) | error | `cancelled` |

use std::collections::HashMap;

use okd_core::{
    backend::{BuildEvent, EventKind, Outcome, RunReport},
    plan::{Plan, PlannedSource},
    source::org_repo,
};

use super::{
    api::{CommitStatus, DESCRIPTION_LIMIT, Repo, StatusState},
    template::Template,
};

/// The placeholders of `--github-context`.
pub const CONTEXT_NAMES: [&str; 3] = ["backend", "component", "release"];
/// The default context.
pub const DEFAULT_CONTEXT: &str = "okd-build/{backend}/{component}";

/// A status to post on one component's commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    /// The component.
    pub component: String,
    /// Its source repository.
    pub repo: Repo,
    /// Its source commit.
    pub sha: String,
    /// The status.
    pub status: CommitStatus,
}

/// Where a component's status goes.
#[derive(Debug, Clone)]
struct Target {
    repo: Repo,
    sha: String,
    context: String,
}

/// What has been decided for each component so far.
#[derive(Debug)]
pub struct Tracker {
    backend: String,
    targets: HashMap<String, Target>,
    links: HashMap<String, String>,
    last: HashMap<String, (StatusState, String)>,
    /// Components that get no status, and why, in plan order.
    without: Vec<(String, String)>,
}

impl Tracker {
    /// A tracker for `plan`'s components built on `backend`, each status under `context`.
    pub fn new(plan: &Plan, backend: &str, context: &Template) -> Self {
        let mut targets = HashMap::new();
        let mut without = Vec::new();
        for c in &plan.components {
            let (url, commit) = match &c.source {
                PlannedSource::Commit { url, commit, .. } => (url, commit),
                PlannedSource::Path { .. } => {
                    without.push((c.name.clone(), "a path source has no commit".to_owned()));
                    continue;
                }
                PlannedSource::Unreadable { .. } => {
                    without.push((c.name.clone(), "its source was not read".to_owned()));
                    continue;
                }
            };
            let Some(repo) = org_repo(url).and_then(|(owner, name)| Repo::new(&owner, &name)) else {
                without.push((c.name.clone(), format!("{url} names no GitHub owner/repo")));
                continue;
            };
            let values = [
                ("backend", backend),
                ("component", c.name.as_str()),
                ("release", plan.release.name.as_str()),
            ];
            let context = context.fill(&values);
            targets.insert(c.name.clone(), Target { repo, sha: commit.clone(), context });
        }
        Tracker { backend: backend.to_owned(), targets, links: HashMap::new(), last: HashMap::new(), without }
    }

    /// Components that get no status, with why.
    pub fn without_commit(&self) -> &[(String, String)] {
        &self.without
    }

    /// `owner/repo@<short sha>` of the component's source, when it has a commit.
    pub fn commit(&self, component: &str) -> Option<String> {
        let target = self.targets.get(component)?;
        Some(format!("{}@{}", target.repo, target.sha.chars().take(12).collect::<String>()))
    }

    /// The component's link, when a backend sent one.
    pub fn link(&self, component: &str) -> Option<&str> {
        self.links.get(component).map(String::as_str)
    }

    /// The status `event` calls for, if any.
    pub fn on_event(&mut self, event: &BuildEvent) -> Option<StatusUpdate> {
        let name = event.component.as_str();
        let (state, description) = match &event.kind {
            EventKind::Started => (StatusState::Pending, format!("building on {}", self.backend)),
            EventKind::Link { url } => {
                let changed = self.links.insert(name.to_owned(), url.clone()).as_ref() != Some(url);
                // Pending was posted without the link: post it again with it. A final state
                // keeps whatever link it was posted with.
                let (state, description) = self.last.get(name).cloned()?;
                if !changed || state != StatusState::Pending {
                    return None;
                }
                return self.update(name, state, description, true);
            }
            EventKind::Succeeded { digest, .. } => (StatusState::Success, format!("built {digest}")),
            EventKind::Reused { digest, .. } => (StatusState::Success, format!("reused {digest}")),
            EventKind::Failed { reason } => (StatusState::Failure, first_line(reason)),
            EventKind::Skipped { because } => (StatusState::Error, format!("skipped: {because} failed")),
            EventKind::RunStarted { .. } | EventKind::Queued | EventKind::Log { .. } => return None,
        };
        self.update(name, state, description, false)
    }

    /// The statuses the report's outcomes still call for: components whose last status does
    /// not say how they ended (cancelled ones, or an event that was missed).
    pub fn on_report(&mut self, report: &RunReport) -> Vec<StatusUpdate> {
        let mut updates = Vec::new();
        for c in &report.components {
            let (state, description) = match c.outcome {
                Outcome::Succeeded | Outcome::Reused => {
                    let verb = if c.outcome == Outcome::Reused { "reused" } else { "built" };
                    (StatusState::Success, format!("{verb} {}", c.digest.as_deref().unwrap_or("")))
                }
                Outcome::Failed => {
                    (StatusState::Failure, first_line(c.reason.as_deref().unwrap_or("failed")))
                }
                Outcome::Skipped => (
                    StatusState::Error,
                    format!("skipped: {}", c.reason.as_deref().unwrap_or("a parent failed")),
                ),
                Outcome::Cancelled => (StatusState::Error, "cancelled".to_owned()),
            };
            if self.last.get(&c.name).is_some_and(|(last, _)| *last == state) {
                continue;
            }
            updates.extend(self.update(&c.name, state, description, false));
        }
        updates
    }

    fn update(
        &mut self,
        name: &str,
        state: StatusState,
        description: String,
        again: bool,
    ) -> Option<StatusUpdate> {
        let target = self.targets.get(name)?;
        let description = cut(description.trim());
        if !again && self.last.get(name) == Some(&(state, description.clone())) {
            return None;
        }
        self.last.insert(name.to_owned(), (state, description.clone()));
        Some(StatusUpdate {
            component: name.to_owned(),
            repo: target.repo.clone(),
            sha: target.sha.clone(),
            status: CommitStatus {
                state,
                target_url: self.links.get(name).cloned(),
                description,
                context: target.context.clone(),
            },
        })
    }
}

/// The first line of `text` that says something.
pub fn first_line(text: &str) -> String {
    text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("failed").to_owned()
}

/// `text` cut to GitHub's description limit, with an ellipsis when cut.
pub fn cut(text: &str) -> String {
    if text.chars().count() <= DESCRIPTION_LIMIT {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(DESCRIPTION_LIMIT - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::{collections::HashMap as Map, path::Path, sync::Arc};

    use okd_core::{
        backend::{ComponentResult, RunId},
        manifest::{LoadOptions, load_str},
        plan::{PlanOptions, plan},
        source::{Origin, SourceSnapshot, SourceState, Sources},
    };

    use super::*;

    const RELEASE: &str = "name: r\nversion: 1.0.0\noutput: { registry: 127.0.0.1:5000, repository: okd/r }\n\
        components:\n  - { name: base, source: { git: https://github.com/okd/base, ref: main } }\n  \
        - { name: cli, source: { git: https://github.com/openshift/oc, ref: main } }\n  \
        - { name: local, source: { path: local } }\n";

    fn tracker() -> Tracker {
        let release = Arc::new(load_str(Path::new("r.yaml"), RELEASE, &LoadOptions::default()).unwrap());
        let sources = release
            .components
            .iter()
            .map(|c| {
                let origin = match c.name.as_str() {
                    "local" => Origin::Path { dir: "/tmp/local".into() },
                    name => {
                        let url = if name == "cli" {
                            "https://github.com/openshift/oc"
                        } else {
                            "https://github.com/okd/base"
                        };
                        Origin::Git {
                            url: url.into(),
                            reference: "main".into(),
                            commit: format!("{name}-sha"),
                        }
                    }
                };
                let snapshot = SourceSnapshot {
                    origin,
                    dockerfile: "FROM scratch\n".into(),
                    dockerfile_path: "Dockerfile".into(),
                    content: format!("sha256:{}", c.name),
                };
                (c.name.clone(), SourceState::Read(snapshot))
            })
            .collect::<Map<_, _>>();
        let plan = plan(release, &Sources(sources), &PlanOptions::default()).unwrap();
        let context = Template::parse("--github-context", DEFAULT_CONTEXT, &CONTEXT_NAMES).unwrap();
        Tracker::new(&plan, "konflux", &context)
    }

    fn event(component: &str, kind: EventKind) -> BuildEvent {
        BuildEvent::now(component, kind)
    }

    fn states(updates: &[StatusUpdate]) -> Vec<(&str, &str, &str)> {
        updates
            .iter()
            .map(|u| (u.component.as_str(), u.status.state.as_str(), u.status.description.as_str()))
            .collect()
    }

    #[test]
    fn each_event_becomes_its_status_on_the_component_commit() {
        let mut t = tracker();
        assert_eq!(t.without_commit(), [("local".to_owned(), "a path source has no commit".to_owned())]);
        let started = t.on_event(&event("cli", EventKind::Started)).unwrap();
        assert_eq!((started.repo.to_string(), started.sha.as_str()), ("openshift/oc".into(), "cli-sha"));
        assert_eq!(started.status.context, "okd-build/konflux/cli");
        assert_eq!((started.status.state, started.status.target_url.clone()), (StatusState::Pending, None));
        let linked = t.on_event(&event("cli", EventKind::Link { url: "https://k/cli".into() })).unwrap();
        assert_eq!(
            (linked.status.state, linked.status.target_url.as_deref()),
            (StatusState::Pending, Some("https://k/cli"))
        );
        assert_eq!(
            t.on_event(&event("cli", EventKind::Link { url: "https://k/cli".into() })),
            None,
            "same link twice"
        );
        let reason = format!("PipelineRun cli-x failed: {}\nsecond line", "e".repeat(200));
        let failed = t.on_event(&event("cli", EventKind::Failed { reason })).unwrap();
        assert_eq!(failed.status.state, StatusState::Failure);
        assert_eq!(failed.status.description.chars().count(), DESCRIPTION_LIMIT);
        assert!(
            failed.status.description.starts_with("PipelineRun cli-x failed: ee")
                && failed.status.description.ends_with('…')
        );
        assert_eq!(failed.status.target_url.as_deref(), Some("https://k/cli"));

        let reused =
            t.on_event(&event("base", EventKind::Reused { image: "i".into(), digest: "sha256:1".into() }));
        assert_eq!(states(&reused.into_iter().collect::<Vec<_>>()), [("base", "success", "reused sha256:1")]);
        assert_eq!(t.on_event(&event("local", EventKind::Started)), None, "a path source gets nothing");
        assert_eq!(t.on_event(&event("cli", EventKind::Log { line: "x".into() })), None);
    }

    #[test]
    fn the_report_settles_what_events_left_open() {
        let mut t = tracker();
        t.on_event(&event("cli", EventKind::Started));
        t.on_event(&event("base", EventKind::Skipped { because: "builder".into() }));
        let result = |name: &str, outcome, reason: Option<&str>| ComponentResult {
            name: name.into(),
            outcome,
            image: None,
            digest: None,
            reason: reason.map(Into::into),
            started: None,
            finished: None,
            fingerprint: None,
            arches: Vec::new(),
        };
        let report = RunReport {
            run: RunId("r-1".into()),
            backend: "konflux".into(),
            started: jiff::Timestamp::now(),
            finished: jiff::Timestamp::now(),
            components: vec![
                result("base", Outcome::Skipped, Some("builder failed")),
                result("cli", Outcome::Cancelled, Some("cancelled")),
                result("local", Outcome::Cancelled, None),
            ],
            logs: None,
            api_requests: None,
        };
        assert_eq!(states(&t.on_report(&report)), [("cli", "error", "cancelled")]);
        assert!(t.on_report(&report).is_empty(), "settled once");
    }

    #[test]
    fn descriptions_are_one_line_within_the_limit() {
        assert_eq!(first_line("\n  boom  \nmore"), "boom");
        assert_eq!(cut(&"é".repeat(DESCRIPTION_LIMIT)), "é".repeat(DESCRIPTION_LIMIT));
        assert_eq!(cut(&"é".repeat(DESCRIPTION_LIMIT + 1)).chars().count(), DESCRIPTION_LIMIT);
    }
}
