#![allow(clippy::unwrap_used)]
//! `okd build --backend local` on examples/okd-mini, against the real engine that
//! `scripts/engine.sh start` provides (CONTAINER_HOST). Without an engine the test says it skips,
//! except under CI, where it fails.

mod engine;

use std::{path::PathBuf, process::Command};

use serde_json::Value;

use engine::{build, labels, need_engine, release, with};

#[test]
fn builds_okd_mini_then_only_what_changed() {
    if !need_engine() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repository = format!("okd/e2e-{}", std::process::id());
    let release = release(tmp.path(), &repository);
    let state = tmp.path().join("state");

    let (code, first, _) = build(&release, &state, &[]);
    assert_eq!(code, 0, "{first:?}");
    assert_eq!(with(&first, "succeeded").len(), 10, "{first:?}");
    let operator = labels(&format!("127.0.0.1:5000/{repository}:cluster-dns-operator"));
    assert_eq!(operator["io.openshift.release.operator"], "true", "{operator}");
    assert!(operator["io.okd-build.fingerprint"].as_str().is_some_and(|f| f.starts_with("sha256:")));

    let (code, second, _) = build(&release, &state, &[]);
    assert_eq!(code, 0);
    assert_eq!(with(&second, "reused").len(), 10, "a second run builds nothing: {second:?}");

    let dir = release.parent().unwrap().join("components");
    std::fs::write(dir.join("network-tools/okd-build-touched"), "1").unwrap();
    let (_, third, _) = build(&release, &state, &[]);
    assert_eq!(with(&third, "succeeded"), ["network-tools"], "{third:?}");

    std::fs::write(dir.join("base/base/okd-build-touched"), "1").unwrap();
    let (_, fourth, _) = build(&release, &state, &[]);
    let mut rebuilt = with(&fourth, "succeeded");
    rebuilt.sort();
    let mut expected: Vec<String> = first.keys().filter(|c| *c != "builder").cloned().collect();
    expected.sort();
    assert_eq!(rebuilt, expected, "base and exactly its dependents");
}

#[test]
fn a_failing_step_fails_its_component_and_skips_its_dependents() {
    if !need_engine() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repository = format!("okd/e2e-fail-{}", std::process::id());
    let release = release(tmp.path(), &repository);
    let dockerfile = release.parent().unwrap().join("components/cli/Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    std::fs::write(&dockerfile, text.replacen("RUN go-build", "RUN echo compiling && false && go-build", 1))
        .unwrap();
    let (code, outcomes, events) = build(&release, &tmp.path().join("state"), &[]);
    assert_eq!(code, 1);
    assert_eq!(outcomes["cli"], "failed");
    assert_eq!(outcomes["installer"], "skipped", "installer copies from cli");
    assert_eq!(with(&outcomes, "succeeded").len(), 8, "{outcomes:?}");
    let failed = events.iter().find(|e| e["event"] == "failed").unwrap();
    let reason = failed["reason"].as_str().unwrap();
    assert!(reason.contains("RUN echo compiling && false"), "the failing step is named: {reason}");

    // okd compare reads the run back from the run store: metrics of a real run on the engine.
    let out = Command::new(env!("CARGO_BIN_EXE_okd"))
        .args([
            "compare",
            release.to_str().unwrap(),
            "--backends",
            "local",
            "--runs",
            "latest",
            "--jobs",
            "2",
        ])
        .args(["--state", tmp.path().join("state").to_str().unwrap(), "--output", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let comparison: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = &comparison["runs"][0];
    assert_eq!(run["backend"], "local", "{comparison}");
    assert_eq!(
        (run["succeeded"].as_u64(), run["failed"].as_u64(), run["not_built"].as_u64()),
        (Some(8), Some(1), Some(1))
    );
    let makespan = run["makespan"].as_f64().unwrap();
    let first_failure = run["first_failure"].as_f64().unwrap();
    assert!(first_failure > 0.0 && first_failure <= makespan, "{run}");
    assert!(run["bound"].as_f64().unwrap() <= makespan + 0.05, "{run}");
    assert_eq!(run["timeline"].as_array().unwrap().len(), 9, "a bar per build: {run}");
    let path: Vec<&str> =
        run["critical_path"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(!path.is_empty() && run["critical_path_seconds"].as_f64().unwrap() > 0.0, "{run}");
}

#[test]
fn push_sends_every_image_to_the_registry_at_the_reported_digest() {
    if !need_engine() {
        return;
    }
    let registry = std::env::var("OKD_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".to_owned());
    let tmp = tempfile::tempdir().unwrap();
    let repository = format!("okd/e2e-push-{}", std::process::id());
    let release = release(tmp.path(), &repository);
    let (code, outcomes, events) = build(&release, &tmp.path().join("state"), &["--push"]);
    assert_eq!(code, 0, "{outcomes:?}");
    for e in events.iter().filter(|e| e["event"] == "succeeded") {
        let tag = e["component"].as_str().unwrap();
        let out = Command::new("curl")
            .args(["-sfI", "-H", "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"])
            .arg(format!("http://{registry}/v2/{repository}/manifests/{tag}"))
            .output()
            .unwrap();
        let headers = String::from_utf8_lossy(&out.stdout).to_lowercase();
        let digest = e["digest"].as_str().unwrap();
        assert!(headers.contains(&format!("docker-content-digest: {digest}")), "{tag}: {headers}");
    }
    assert_eq!(events.iter().filter(|e| e["event"] == "succeeded").count(), 10);
}

/// Starts `okd build --output json` in the background on a copy of okd-mini whose installer (the
/// last component in the graph) ends with `slow_steps`; stdout and stderr are piped.
fn spawn_slow_build(
    tmp: &std::path::Path,
    name: &str,
    slow_steps: &str,
) -> (PathBuf, PathBuf, std::process::Child) {
    let release = release(tmp, &format!("okd/e2e-{name}-{}", std::process::id()));
    let state = tmp.join("state");
    let dockerfile = release.parent().unwrap().join("components/installer/images/installer/Dockerfile.ci");
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    std::fs::write(&dockerfile, format!("{text}{slow_steps}")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_okd"))
        .args(["build", release.to_str().unwrap(), "--backend", "local", "--output", "json", "--jobs", "2"])
        .args(["--state", state.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    (release, state, child)
}

/// Reads the build's events until the nine other components succeeded and installer is in one
/// of its sleep steps; returns the components that succeeded. Interrupting a build only inside a
/// RUN step matters: Podman 4.3's service can crash (a nil dereference in buildah) when a build
/// is cancelled during a COPY, which would take the engine away from every later test.
fn wait_for_installer_sleep(child: &mut std::process::Child) -> Vec<String> {
    use std::io::{BufRead, BufReader};
    let mut finished = Vec::new();
    let mut sleeping = false;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while finished.len() < 9 || !sleeping {
        let line = lines.next().expect("the build keeps reporting").unwrap();
        let event: Value = serde_json::from_str(&line).unwrap();
        if event["event"] == "succeeded" {
            finished.push(event["component"].as_str().unwrap().to_owned());
        }
        sleeping |= event["component"] == "installer"
            && event["event"] == "log"
            && event["line"].as_str().is_some_and(|l| l.contains("RUN sleep"));
    }
    // Keep draining stdout so the build never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    finished
}

#[test]
fn a_run_killed_part_way_resumes_without_rebuilding_what_finished() {
    if !need_engine() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // installer is last in the graph; make it slow enough to be killed mid-build.
    let (release, state, mut child) = spawn_slow_build(tmp.path(), "kill", "RUN sleep 6\n");
    let finished = wait_for_installer_sleep(&mut child);
    assert!(!finished.contains(&"installer".to_owned()));
    child.kill().unwrap(); // SIGKILL: no cleanup, no final records
    child.wait().unwrap();

    let (code, outcomes, _) = build(&release, &state, &[]);
    assert_eq!(code, 0, "{outcomes:?}");
    assert_eq!(
        with(&outcomes, "succeeded"),
        ["installer"],
        "only the unfinished component is built: {outcomes:?}"
    );
    assert_eq!(with(&outcomes, "reused").len(), 9);
}

#[test]
fn okd_cancel_from_another_process_stops_the_run() {
    use std::io::{BufRead, BufReader};
    if !need_engine() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // Many short steps, since Podman stops a cancelled build between steps.
    let (_, state, mut child) = spawn_slow_build(tmp.path(), "cancel", &"RUN sleep 0.5\n".repeat(60));
    let first = BufReader::new(child.stderr.take().unwrap()).lines().next().unwrap().unwrap();
    let run =
        first.strip_prefix("run ").unwrap_or_else(|| panic!("the run id comes first: {first}")).to_owned();
    wait_for_installer_sleep(&mut child);
    let okd = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_okd"))
            .args(args)
            .args(["--backend", "local", "--state", state.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let cancelled = okd(&["cancel", &run]);
    assert!(cancelled.status.success(), "{}", String::from_utf8_lossy(&cancelled.stderr));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "a cancelled run is not a successful build");
    let out = okd(&["status", &run, "--output", "json"]);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["state"], "cancelled", "{status}");
    let installer = status["components"].as_array().unwrap().iter().find(|c| c["name"] == "installer");
    assert_eq!(installer.unwrap()["outcome"], "cancelled", "{status}");
    // Cancelling again, or a finished run, is not an error: nothing runs.
    assert!(okd(&["cancel", &run]).status.success());
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=okd-tests", "-c", "user.email=okd-tests@example.invalid"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Every OKD component is a git source: a file:// repository whose context is a subfolder, with
/// an executable script and a symlink in it, builds on the engine (the build checks both), and
/// the image carries the commit labels `oc adm release new` copies into a payload. A second run
/// reuses it and says so without saying it started.
#[test]
fn a_git_source_builds_with_its_context_modes_and_commit_labels() {
    if !need_engine() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(repo.join("images/app")).unwrap();
    std::fs::write(
        repo.join("images/app/Dockerfile"),
        "FROM localhost/okd-mini/busybox:1.36\nCOPY . /src\n\
         RUN test -x /src/run.sh && test -L /src/link && [ \"$(readlink /src/link)\" = run.sh ]\n",
    )
    .unwrap();
    std::fs::write(repo.join("images/app/run.sh"), "#!/bin/sh\necho hi\n").unwrap();
    let mut perms = std::fs::metadata(repo.join("images/app/run.sh")).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(repo.join("images/app/run.sh"), perms).unwrap();
    std::os::unix::fs::symlink("run.sh", repo.join("images/app/link")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "app"]);
    let commit = String::from_utf8(
        Command::new("git").args(["rev-parse", "HEAD"]).current_dir(&repo).output().unwrap().stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    let repository = format!("okd/e2e-git-{}", std::process::id());
    let url = format!("file://{}", repo.display());
    let release = tmp.path().join("release.yaml");
    std::fs::write(
        &release,
        format!(
            "name: git-e2e\nversion: 1.0.0\noutput: {{ registry: 127.0.0.1:5000, repository: {repository} }}\n\
             components:\n  - {{ name: app, source: {{ git: \"{url}\", ref: main }}, context: images/app }}\n"
        ),
    )
    .unwrap();
    let state = tmp.path().join("state");
    let cache = tmp.path().join("cache");
    let cache = ["--cache-dir", cache.to_str().unwrap()];

    let (code, first, _) = build(&release, &state, &cache);
    assert_eq!((code, with(&first, "succeeded")), (0, vec!["app".to_owned()]), "{first:?}");
    let labels = labels(&format!("127.0.0.1:5000/{repository}:app"));
    assert_eq!(labels["io.openshift.build.commit.id"], commit.as_str(), "{labels}");
    assert_eq!(labels["io.openshift.build.commit.ref"], "main", "{labels}");
    assert_eq!(labels["io.openshift.build.source-location"], url.as_str(), "{labels}");

    let (code, second, events) = build(&release, &state, &cache);
    assert_eq!((code, with(&second, "reused")), (0, vec!["app".to_owned()]), "{second:?}");
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(kinds, ["run_started", "queued", "reused"], "a reuse is not a build that started");
}
