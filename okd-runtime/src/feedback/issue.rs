//! The release issue: one open issue per release and version while its builds fail, found
//! again by its title (and label), never opened twice; closed with a comment by the next run
//! that builds every component it lists.

use std::collections::BTreeSet;

use okd_core::backend::{Outcome, RunReport};
use serde::Serialize;

use super::{
    api::{GitHubApi, Issue, IssueUpdate, NewIssue, Repo},
    retry::Deliverer,
    status::first_line,
};

/// The label release issues carry.
pub const LABEL: &str = "okd-build";
/// Pages of open issues read when looking for the release issue (100 a page).
const PAGES: u32 = 5;
/// Where the issue body records the failing components, so a later run knows what it lists.
const MARKER: &str = "<!-- okd-build:failing=";

/// The release the issue is about.
#[derive(Debug, Clone)]
pub struct ReleaseRef {
    pub name: String,
    pub version: String,
    pub backend: String,
}

impl ReleaseRef {
    /// The issue's title, which is how it is found again.
    pub fn title(&self) -> String {
        format!("okd-build: {} {} build failures", self.name, self.version)
    }
}

/// One failed component as the issue lists it.
#[derive(Debug, Clone)]
pub struct FailedComponent {
    pub name: String,
    /// `owner/repo@sha`, when it has a git source.
    pub commit: Option<String>,
    pub error: String,
    pub link: Option<String>,
}

/// What happened to the issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueAction {
    Opened,
    Updated,
    Closed,
}

/// The issue a run opened, updated or closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssueReport {
    pub repository: String,
    pub number: u64,
    pub url: String,
    pub action: IssueAction,
}

/// Opens, updates or closes the release issue in `repo` after `report`; `Ok(None)` when there
/// is nothing to do (a green run and no open issue, a cancelled run, a partial green run).
pub async fn report(
    api: &dyn GitHubApi,
    deliverer: &Deliverer,
    repo: &Repo,
    release: &ReleaseRef,
    report: &RunReport,
    failed: &[FailedComponent],
) -> Result<Option<IssueReport>, String> {
    let title = release.title();
    let existing = find(api, deliverer, repo, &title).await?;
    let done = |issue: &Issue, action| IssueReport {
        repository: repo.to_string(),
        number: issue.number,
        url: issue.html_url.clone(),
        action,
    };
    if !failed.is_empty() {
        let body = body(release, report, failed);
        let Some(issue) = existing else {
            let new = NewIssue { title, body, labels: vec![LABEL.to_owned()] };
            let issue = deliverer.deliver(|| api.create_issue(repo, &new)).await?;
            return Ok(Some(done(&issue, IssueAction::Opened)));
        };
        let before = listed(&issue.body);
        let now: BTreeSet<String> = failed.iter().map(|f| f.name.clone()).collect();
        let update = IssueUpdate { body: Some(body), ..IssueUpdate::default() };
        deliverer.deliver(|| api.update_issue(repo, issue.number, &update)).await?;
        // A comment notifies subscribers; only when what fails changed, so a release failing
        // the same way every cycle of `okd watch` does not flood them.
        if before.as_ref() != Some(&now) {
            let comment = change_comment(release, report, before.unwrap_or_default(), &now);
            deliverer.deliver(|| api.comment(repo, issue.number, &comment)).await?;
        }
        return Ok(Some(done(&issue, IssueAction::Updated)));
    }
    let green = report.components.iter().all(|c| matches!(c.outcome, Outcome::Succeeded | Outcome::Reused));
    let Some(issue) = existing.filter(|_| green) else { return Ok(None) };
    // Close only when this run built everything the issue lists (a run of `--only` others
    // proves nothing about them).
    let built: BTreeSet<&str> = report.components.iter().map(|c| c.name.as_str()).collect();
    if let Some(listed) = listed(&issue.body)
        && !listed.iter().all(|c| built.contains(c.as_str()))
    {
        return Ok(None);
    }
    let comment = format!(
        "Run `{}` on {} built every component of {} {}: closing.",
        report.run, release.backend, release.name, release.version
    );
    deliverer.deliver(|| api.comment(repo, issue.number, &comment)).await?;
    let close = IssueUpdate {
        state: Some("closed".into()),
        state_reason: Some("completed".into()),
        ..IssueUpdate::default()
    };
    deliverer.deliver(|| api.update_issue(repo, issue.number, &close)).await?;
    Ok(Some(done(&issue, IssueAction::Closed)))
}

/// The open release issue: among those with the label, else (the label may have been dropped:
/// GitHub drops labels a token may not set) among all open ones.
async fn find(
    api: &dyn GitHubApi,
    deliverer: &Deliverer,
    repo: &Repo,
    title: &str,
) -> Result<Option<Issue>, String> {
    for label in [LABEL, ""] {
        for page in 1..=PAGES {
            let issues = deliverer.deliver(|| api.open_issues(repo, label, page)).await?;
            let full = issues.len() >= 100;
            if let Some(found) = issues.into_iter().find(|i| !i.pull_request && i.title == title) {
                return Ok(Some(found));
            }
            if !full {
                break;
            }
        }
    }
    Ok(None)
}

/// The components an issue body lists as failing, from its marker.
fn listed(body: &str) -> Option<BTreeSet<String>> {
    let start = body.find(MARKER)? + MARKER.len();
    let end = body[start..].find("-->")? + start;
    Some(body[start..end].split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
}

fn body(release: &ReleaseRef, report: &RunReport, failed: &[FailedComponent]) -> String {
    let mut text = format!(
        "okd-build could not build {} {} on **{}** (run `{}`, {}).\n\n| component | commit | error | log |\n|---|---|---|---|\n",
        release.name, release.version, release.backend, report.run, report.finished
    );
    for f in failed {
        let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let commit = f.commit.as_deref().map_or("-".to_owned(), |c| format!("`{c}`"));
        let link = f.link.as_deref().map_or("-".to_owned(), |l| format!("[log]({l})"));
        text.push_str(&format!("| {} | {commit} | {} | {link} |\n", f.name, cell(&first_line(&f.error))));
    }
    let skipped: Vec<&str> =
        report.components.iter().filter(|c| c.outcome == Outcome::Skipped).map(|c| c.name.as_str()).collect();
    if !skipped.is_empty() {
        text.push_str(&format!("\nNot built because a parent failed: {}.\n", skipped.join(", ")));
    }
    text.push_str(
        "\nThis issue is updated by every failing run of this release and closed by the first run that builds every component above.\n",
    );
    let names: Vec<&str> = failed.iter().map(|f| f.name.as_str()).collect();
    text.push_str(&format!("\n{MARKER}{} -->\n", names.join(",")));
    text
}

fn change_comment(
    release: &ReleaseRef,
    report: &RunReport,
    before: BTreeSet<String>,
    now: &BTreeSet<String>,
) -> String {
    let list = |set: Vec<&String>| set.into_iter().map(String::as_str).collect::<Vec<_>>().join(", ");
    let mut text = format!("Run `{}` on {}:", report.run, release.backend);
    let new: Vec<&String> = now.difference(&before).collect();
    let fixed: Vec<&String> = before.difference(now).collect();
    if !new.is_empty() {
        text.push_str(&format!(" now failing: {}.", list(new)));
    }
    if !fixed.is_empty() {
        text.push_str(&format!(" built again: {}.", list(fixed)));
    }
    text.push_str(&format!(" Still failing: {}.", list(now.iter().collect())));
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::{Arc, Mutex};

    use mockall::predicate::{always, eq};
    use okd_core::backend::{ComponentResult, RunId};

    use super::{super::api::MockGitHubApi, super::retry::RealTime, *};
    use crate::feedback::retry::RetryPolicy;

    fn result(name: &str, outcome: Outcome) -> ComponentResult {
        ComponentResult {
            name: name.into(),
            outcome,
            image: None,
            digest: None,
            reason: None,
            started: None,
            finished: None,
            fingerprint: None,
            arches: Vec::new(),
        }
    }

    fn run(components: Vec<ComponentResult>) -> RunReport {
        RunReport {
            run: RunId("r-local-1".into()),
            backend: "local".into(),
            started: jiff::Timestamp::UNIX_EPOCH,
            finished: jiff::Timestamp::UNIX_EPOCH,
            components,
            logs: None,
            api_requests: None,
        }
    }

    fn release() -> ReleaseRef {
        ReleaseRef { name: "okd-mini".into(), version: "4.17.0".into(), backend: "local".into() }
    }

    fn repo() -> Repo {
        Repo::parse("okd/okd").unwrap()
    }

    fn failed(name: &str) -> FailedComponent {
        FailedComponent {
            name: name.into(),
            commit: Some(format!("openshift/{name}@abc")),
            error: "step 3 failed | exit 1\nmore".into(),
            link: Some(format!("https://ci/{name}")),
        }
    }

    fn deliverer() -> Deliverer {
        Deliverer::new(RetryPolicy::fast(), Box::new(RealTime))
    }

    fn issue(number: u64, title: &str, body: &str) -> Issue {
        Issue {
            number,
            title: title.into(),
            body: body.into(),
            html_url: format!("https://gh/{number}"),
            pull_request: false,
        }
    }

    #[tokio::test]
    async fn a_failing_run_opens_one_issue_listing_what_failed() {
        let mut api = MockGitHubApi::new();
        // Neither the labelled issues nor the others hold it (a pull request of that title does not count).
        api.expect_open_issues()
            .returning(|_, _, _| Ok(vec![Issue { pull_request: true, ..issue(3, &release().title(), "") }]));
        let created = Arc::new(Mutex::new(None));
        let seen = created.clone();
        api.expect_create_issue().times(1).returning(move |_, new| {
            *seen.lock().unwrap() = Some(new.clone());
            Ok(issue(7, &new.title, &new.body))
        });
        let report = run(vec![result("cli", Outcome::Failed), result("console", Outcome::Skipped)]);
        let done = super::report(&api, &deliverer(), &repo(), &release(), &report, &[failed("cli")]).await;
        assert_eq!(done.unwrap().map(|d| (d.number, d.action)), Some((7, IssueAction::Opened)));
        let new = created.lock().unwrap().clone().unwrap();
        assert_eq!(new.title, "okd-build: okd-mini 4.17.0 build failures");
        assert_eq!(new.labels, [LABEL]);
        assert!(
            new.body
                .contains("| cli | `openshift/cli@abc` | step 3 failed \\| exit 1 | [log](https://ci/cli) |"),
            "{}",
            new.body
        );
        assert!(new.body.contains("Not built because a parent failed: console."), "{}", new.body);
        assert_eq!(listed(&new.body), Some(BTreeSet::from(["cli".to_owned()])));
    }

    #[tokio::test]
    async fn a_failing_run_updates_the_open_issue_and_comments_only_on_change() {
        let title = release().title();
        let old = body(&release(), &run(vec![]), &[failed("cli")]);
        let mut api = MockGitHubApi::new();
        api.expect_open_issues()
            .with(always(), eq(LABEL), eq(1))
            .returning(move |_, _, _| Ok(vec![issue(9, &title, &old)]));
        api.expect_create_issue().never();
        api.expect_update_issue().with(always(), eq(9), always()).times(2).returning(|_, _, _| Ok(()));
        api.expect_comment()
            .withf(|_, n, body| {
                *n == 9
                    && body.contains("now failing: installer.")
                    && body.contains("Still failing: cli, installer.")
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        let report = run(vec![result("cli", Outcome::Failed)]);
        let (d, r) = (deliverer(), repo());
        let same = super::report(&api, &d, &r, &release(), &report, &[failed("cli")]).await.unwrap();
        assert_eq!(same.map(|s| s.action), Some(IssueAction::Updated));
        let more =
            super::report(&api, &d, &r, &release(), &report, &[failed("cli"), failed("installer")]).await;
        assert_eq!(more.unwrap().map(|s| s.action), Some(IssueAction::Updated));
    }

    #[tokio::test]
    async fn a_green_run_closes_the_issue_with_a_comment_unless_it_built_only_others() {
        let title = release().title();
        let old = body(&release(), &run(vec![]), &[failed("cli")]);
        let mut api = MockGitHubApi::new();
        api.expect_open_issues().returning(move |_, _, _| Ok(vec![issue(4, &title, &old)]));
        api.expect_comment()
            .withf(|_, n, b| *n == 4 && b.contains("built every component"))
            .times(1)
            .returning(|_, _, _| Ok(()));
        api.expect_update_issue()
            .withf(|_, n, u| *n == 4 && u.state.as_deref() == Some("closed") && u.body.is_none())
            .times(1)
            .returning(|_, _, _| Ok(()));
        let (d, r) = (deliverer(), repo());
        let partial = run(vec![result("base", Outcome::Succeeded)]);
        assert_eq!(super::report(&api, &d, &r, &release(), &partial, &[]).await, Ok(None));
        let green = run(vec![result("base", Outcome::Reused), result("cli", Outcome::Succeeded)]);
        let closed = super::report(&api, &d, &r, &release(), &green, &[]).await.unwrap();
        assert_eq!(closed.map(|c| (c.number, c.action)), Some((4, IssueAction::Closed)));
        // A cancelled run neither opens nor closes.
        let cancelled = run(vec![result("cli", Outcome::Cancelled)]);
        assert_eq!(super::report(&api, &d, &r, &release(), &cancelled, &[]).await, Ok(None));
    }
}
