//! Shared by the `okd build --report` tests: the conformance scenario from file:// git
//! repositories, `okd` run against the fake GitHub with a known token, the statuses each
//! component's commit got, and the search for the token in everything a run leaves behind.
#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
};

use okd_tests::github::FakeGitHub;
use serde_json::Value;

/// The token the runs get: distinctive, so finding it anywhere is a leak.
pub const TOKEN: &str = "ghp_okdBuildFeedbackTest0Secret7Token42";

/// The scenario's components, in plan order.
pub const COMPONENTS: [&str; 5] = ["base", "builder", "app", "tool", "solo"];

/// The conformance scenario with each component in a repository `okd-conformance/<name>`
/// (file://), its images under `okd/feedback-<test>-<pid>` so concurrent tests do not share
/// tags; `stream_image` as for [`okd_tests::conformance::git_scenario`].
pub fn scenario(dir: &Path, test: &str, stream_image: Option<&str>) -> PathBuf {
    let manifest = okd_tests::conformance::git_scenario(dir, stream_image);
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "repository: okd/conformance",
        &format!("repository: okd/feedback-{test}-{}", std::process::id()),
    );
    std::fs::write(&manifest, text).unwrap();
    manifest
}

/// The repository of component `name` in the scenario.
pub fn repo(dir: &Path, name: &str) -> PathBuf {
    dir.join("src/okd-conformance").join(name)
}

/// The commit `main` of component `name` is at.
pub fn head(dir: &Path, name: &str) -> String {
    okd_tests::repos::git(&repo(dir, name), &["rev-parse", "HEAD"])
}

/// Commits `text` as component `name`'s Dockerfile.
pub fn commit_dockerfile(dir: &Path, name: &str, text: &str) -> String {
    let repo = repo(dir, name);
    std::fs::write(repo.join("Dockerfile"), text).unwrap();
    okd_tests::repos::git(&repo, &["commit", "-q", "-am", "change"]);
    head(dir, name)
}

/// What one `okd` run printed.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The JSON lines of stdout.
    pub fn events(&self) -> Vec<Value> {
        self.stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }

    /// The `feedback` line of a `--output json` run.
    pub fn feedback(&self) -> Value {
        self.events()
            .into_iter()
            .find(|e| e["event"] == "feedback")
            .unwrap_or_else(|| panic!("no feedback line:\n{}\n{}", self.stdout, self.stderr))
    }
}

/// Runs `okd` with `args` against the fake GitHub at `github` (token [`TOKEN`]), HOME and the
/// git cache under `dir`, and `env` on top. Blocking: call it from `spawn_blocking` in async
/// tests, so the fakes keep serving.
pub fn okd(dir: &Path, github: &str, args: &[String], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_okd"));
    command
        .args(args)
        .env("HOME", dir.join("home"))
        .env("XDG_CONFIG_HOME", dir.join("home/.config"))
        .env("OKD_CACHE_DIR", dir.join("cache"))
        .env("GITHUB_API_URL", github)
        .env("GITHUB_TOKEN", TOKEN)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("KUBECONFIG")
        .env_remove("OKD_LOG");
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `okd` in a blocking task.
pub async fn okd_async(dir: &Path, github: &str, args: Vec<String>, env: Vec<(&'static str, String)>) -> Run {
    let (dir, github) = (dir.to_owned(), github.to_owned());
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        okd(&dir, &github, &args, &env)
    })
    .await
    .unwrap()
}

/// Words as owned arguments.
pub fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// One status as posted: (state, context, description, target_url).
pub type Posted = (String, String, String, Option<String>);

/// The statuses component `name`'s commit `sha` got, oldest first.
pub fn statuses(github: &FakeGitHub, name: &str, sha: &str) -> Vec<Posted> {
    github
        .statuses("okd-conformance", name, sha)
        .iter()
        .map(|s| {
            (
                s["state"].as_str().unwrap_or_default().to_owned(),
                s["context"].as_str().unwrap_or_default().to_owned(),
                s["description"].as_str().unwrap_or_default().to_owned(),
                s["target_url"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// Each component's statuses at its current commit, by name.
pub fn all_statuses(github: &FakeGitHub, dir: &Path) -> BTreeMap<String, Vec<Posted>> {
    COMPONENTS.iter().map(|c| ((*c).to_owned(), statuses(github, c, &head(dir, c)))).collect()
}

/// A component that built: first `pending`, last `success` whose description starts with
/// `verb`, every status under `okd-build/<backend>/<name>`, and the last one linked when
/// `link` says so (its text must contain each of `link`'s parts).
pub fn assert_built(statuses: &[Posted], backend: &str, name: &str, verb: &str, link: &[&str]) {
    let context = format!("okd-build/{backend}/{name}");
    assert!(statuses.iter().all(|s| s.1 == context), "{name}: {statuses:?}");
    let last = statuses.last().unwrap_or_else(|| panic!("{name}: no status"));
    assert_eq!(last.0, "success", "{name}: {statuses:?}");
    assert!(last.2.starts_with(&format!("{verb} sha256:")), "{name}: {statuses:?}");
    if verb == "built" {
        assert_eq!(statuses[0].0, "pending", "{name}: {statuses:?}");
        assert!(statuses[..statuses.len() - 1].iter().all(|s| s.0 == "pending"), "{name}: {statuses:?}");
    }
    if !link.is_empty() {
        let url = last.3.as_deref().unwrap_or_else(|| panic!("{name}: no link: {statuses:?}"));
        assert!(link.iter().all(|part| url.contains(part)), "{name}: {url} lacks {link:?}");
    }
}

/// Panics if [`TOKEN`] is in `runs`' output or in any file under `dirs` (the run store's
/// SQLite files, logs, the cache): the token must only ever reach GitHub. Also checks that it
/// did reach GitHub, so the search is not vacuous.
pub fn assert_token_kept_secret(github: &FakeGitHub, runs: &[&Run], dirs: &[&Path]) {
    let sent = github
        .requests()
        .iter()
        .filter(|r| r.authorization.as_deref().is_some_and(|a| a.contains(TOKEN)))
        .count();
    assert!(sent > 0, "the token was never sent to GitHub");
    for run in runs {
        assert!(!run.stdout.contains(TOKEN), "the token is in stdout:\n{}", run.stdout);
        assert!(!run.stderr.contains(TOKEN), "the token is in stderr:\n{}", run.stderr);
    }
    let mut files = 0;
    for dir in dirs {
        for file in walk(dir) {
            files += 1;
            let bytes = std::fs::read(&file).unwrap_or_default();
            let found = bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes());
            assert!(!found, "the token is in {}", file.display());
        }
    }
    assert!(files > 0, "no file was searched");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return files };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => files.extend(walk(&path)),
            Ok(t) if t.is_file() => files.push(path),
            _ => {}
        }
    }
    files
}
