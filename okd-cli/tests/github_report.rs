#![allow(clippy::unwrap_used)]
//! `okd build --report github --report github-issue=OWNER/REPO` end to end, on the local
//! backend and the real engine, against the fake GitHub: a commit status per component on its
//! file:// source commit (pending, then success, failure or error, linked through `--set
//! log_url=`), nothing for a path source, the release issue opened by a failing run and closed
//! by the next green one, and the token nowhere but in the requests to GitHub. Usage errors need
//! no engine. The cluster backends are in `github_report_cluster.rs`.

mod feedback;

use feedback::{
    Run, TOKEN, all_statuses, args, assert_built, assert_token_kept_secret, commit_dockerfile, okd,
    okd_async, scenario,
};
use okd_tests::github::FakeGitHub;

const APP: &str = "FROM upstream/builder:1 AS build\nRUN echo app > /app\nFROM upstream/base:1\nCOPY --from=build /app /app\n";
const ISSUE_REPO: &str = "okd-release";

fn build_args(manifest: &std::path::Path, state: &std::path::Path, output: &str) -> Vec<String> {
    let mut words = args(&["build", manifest.to_str().unwrap(), "--backend", "local", "--jobs", "2"]);
    words.extend(args(&["--state", state.to_str().unwrap(), "--output", output]));
    words.extend(args(&["--report", "github", "--report", &format!("github-issue=okd/{ISSUE_REPO}")]));
    words.extend(args(&["--set", "log_url=https://logs.example.com/{run}/{component}.log"]));
    words
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_builds_post_statuses_open_and_close_the_issue_and_keep_the_token_secret() {
    if !okd_tests::engine::require() {
        return;
    }
    let github = FakeGitHub::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let manifest = scenario(dir, "local", None);
    // One path source: it has no commit, so no status; said once.
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("  - { name: extra, source: { path: extra } }\n");
    std::fs::write(&manifest, text).unwrap();
    std::fs::create_dir_all(dir.join("extra")).unwrap();
    std::fs::write(dir.join("extra/Dockerfile"), "FROM upstream/os:9\nRUN echo extra > /extra\n").unwrap();
    let failing = commit_dockerfile(dir, "app", &format!("{APP}RUN exit 3\n"));
    let state = dir.join("state");

    let first = okd_async(dir, &github.url(), build_args(&manifest, &state, "json"), vec![]).await;
    assert_eq!(first.code, 1, "{first:?}");
    assert!(
        first.stderr.contains("github: no commit status for extra (a path source has no commit)"),
        "{}",
        first.stderr
    );
    let statuses = all_statuses(&github, dir);
    for name in ["base", "builder", "solo"] {
        assert_built(
            &statuses[name],
            "local",
            name,
            "built",
            &["https://logs.example.com/", &format!("/{name}.log")],
        );
    }
    let app = &statuses["app"];
    assert_eq!(app.first().map(|s| s.0.as_str()), Some("pending"), "{app:?}");
    let failed = app.last().unwrap();
    assert_eq!((failed.0.as_str(), failed.1.as_str()), ("failure", "okd-build/local/app"), "{app:?}");
    assert!(!failed.2.is_empty() && failed.2.chars().count() <= 140 && !failed.2.contains('\n'), "{app:?}");
    assert!(failed.3.as_deref().is_some_and(|u| u.ends_with("/app.log")), "{app:?}");
    assert_eq!(
        statuses["tool"],
        [("error".into(), "okd-build/local/tool".into(), "skipped: app failed".into(), None)]
    );
    let summary = first.feedback();
    assert_eq!(summary["statuses_undelivered"], 0, "{summary}");
    assert_eq!(
        summary["statuses_posted"].as_u64(),
        Some(statuses.values().map(Vec::len).sum::<usize>() as u64)
    );
    assert_eq!(summary["without_commit"], serde_json::json!(["extra"]), "{summary}");
    assert_eq!(summary["issue"]["action"], "opened", "{summary}");

    let issues = github.issues("okd", ISSUE_REPO);
    assert_eq!(issues.len(), 1, "{issues:?}");
    let issue = &issues[0];
    assert_eq!(issue["title"], "okd-build: conformance 1.0.0 build failures");
    assert_eq!(issue["labels"][0]["name"], "okd-build");
    let body = issue["body"].as_str().unwrap();
    assert!(body.contains(&format!("`okd-conformance/app@{}`", &failing[..12])), "{body}");
    assert!(
        body.contains("[log](https://logs.example.com/")
            && body.contains("Not built because a parent failed: tool."),
        "{body}"
    );

    // Fixed: the next run builds app and tool, reuses the rest, and closes the issue. With
    // debug logs on, which must not carry the token either.
    commit_dockerfile(dir, "app", APP);
    let env = vec![("OKD_LOG", "debug".to_owned())];
    let second = okd_async(dir, &github.url(), build_args(&manifest, &state, "table"), env).await;
    assert_eq!(second.code, 0, "{second:?}");
    let statuses = all_statuses(&github, dir);
    for name in ["base", "builder", "solo"] {
        let last = statuses[name].last().unwrap();
        assert!(last.0 == "success" && last.2.starts_with("reused sha256:"), "{name}: {:?}", statuses[name]);
    }
    assert_built(&statuses["app"], "local", "app", "built", &["/app.log"]);
    assert_eq!(statuses["tool"].last().map(|s| s.0.as_str()), Some("success"), "{:?}", statuses["tool"]);
    assert!(second.stdout.contains("commit statuses posted\n"), "{}", second.stdout);
    assert!(second.stdout.contains(&format!("github: issue okd/{ISSUE_REPO}#1 closed")), "{}", second.stdout);
    let issue = &github.issues("okd", ISSUE_REPO)[0];
    assert_eq!(
        (issue["state"].as_str(), issue["state_reason"].as_str()),
        (Some("closed"), Some("completed"))
    );
    let comments = github.comments("okd", ISSUE_REPO, 1);
    assert!(
        comments.len() == 1 && comments[0]["body"].as_str().unwrap().contains("built every component"),
        "{comments:?}"
    );

    assert_token_kept_secret(&github, &[&first, &second], &[dir]);
    github.stop().await;
}

/// okd-mini (path sources only: no git, no engine reached) with `extra` arguments.
fn mini(dir: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let release = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/okd-mini/release.yaml");
    let state = dir.join("state");
    let mut words =
        args(&["build", release.to_str().unwrap(), "--backend", "local", "--state", state.to_str().unwrap()]);
    words.extend(args(extra));
    okd(dir, "http://127.0.0.1:9", &words, env)
}

#[test]
fn bad_report_values_templates_and_a_missing_token_are_usage_errors_with_nothing_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cases: [(&[&str], &[&str]); 5] = [
        (&["--report", "slack"], &["--report 'slack' is not a report target", "github-issue=OWNER/REPO"]),
        (&["--report", "github-issue=okd"], &["'okd' is not OWNER/REPO"]),
        (
            &["--report", "github", "--github-context", "ci/{nme}"],
            &["unknown placeholder {nme}", "{backend}"],
        ),
        (
            &["--report", "github", "--set", "log_url=ftp://logs/{component}"],
            &["log_url", "not an http:// or https:// URL"],
        ),
        (&["--github-context", "ci/{component}"], &["--report"]),
    ];
    for (extra, wanted) in cases {
        let run = mini(dir, extra, &[]);
        assert_eq!(run.code, 2, "{extra:?}: {run:?}");
        for text in wanted {
            assert!(run.stderr.contains(text), "{extra:?}: {text:?} not in {}", run.stderr);
        }
    }
    // No GITHUB_TOKEN and no gh on PATH: exit 2 saying how to give one, before any build.
    let empty = dir.join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let run = mini(dir, &["--report", "github"], &[("GITHUB_TOKEN", ""), ("PATH", empty.to_str().unwrap())]);
    assert_eq!(run.code, 2, "{run:?}");
    for text in ["needs a token", "GITHUB_TOKEN", "gh auth login"] {
        assert!(run.stderr.contains(text), "{text:?} not in {}", run.stderr);
    }
    assert!(!dir.join("state/state.db").exists() && !dir.join("state/logs").exists(), "nothing ran");
    assert!(!run.stderr.contains(TOKEN));
}
