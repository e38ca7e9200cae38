#![allow(clippy::unwrap_used)]
//! `okd watch` on the real engine and loopback registry that `scripts/engine.sh start` provides,
//! with every component in a local file:// git repository: cycles with and without upstream
//! changes, a killed watcher, the lock, signals and the push webhook. Without an engine the
//! engine tests say they skip, except under CI, where they fail.

mod common;

use std::{
    collections::{BTreeMap, BTreeSet},
    io::{BufRead, BufReader, Read, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use okd_core::backend::RunState;
use okd_runtime::{
    RunStore, SqliteRunStore,
    store::RunFilter,
    watch::{LockKind, ReleaseLock, webhook::sign},
};
use okd_tests::{engine::require, repos};
use serde_json::Value;

/// Generous: a first build of okd-mini takes ~15 s here, much longer on a loaded machine.
const DEADLINE: Duration = Duration::from_secs(600);

/// okd-mini with each component in a git repository of its own under `<dir>/src/okd/NAME`, its
/// images in a repository of their own.
fn okd_mini(dir: &Path, test: &str) -> PathBuf {
    let repository = format!("okd/watch-{test}-{}", std::process::id());
    repos::okd_mini_git(dir, |text| {
        text.replace("repository: okd/okd-mini", &format!("repository: {repository}"))
    })
}

/// A one-component release (its cluster-version-operator, so it has a payload) that builds in
/// a second, from a git repository at `<dir>/src/okd/cvo`.
fn tiny(dir: &Path, test: &str) -> PathBuf {
    let repo = dir.join("src/okd/cvo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(
        repo.join("Dockerfile"),
        "FROM localhost/okd-mini/busybox:1.36\nRUN mkdir -p /manifests\n",
    )
    .unwrap();
    repos::git(&repo, &["init", "-q"]);
    repos::git(&repo, &["add", "-A"]);
    repos::git(&repo, &["commit", "-q", "-m", "import"]);
    let manifest = dir.join("release.yaml");
    std::fs::write(
        &manifest,
        format!(
            "name: tiny\nversion: 1.0.0-0.tiny\n\
             output: {{ registry: {}, repository: okd/watch-{test}-{} }}\n\
             components:\n  - {{ name: cluster-version-operator, payload: true, \
             source: {{ git: \"file://{}\", ref: main }} }}\n",
            okd_tests::engine::registry(),
            std::process::id(),
            repo.display()
        ),
    )
    .unwrap();
    manifest
}

/// Appends a comment line to `file` of `repo` and commits everything.
fn commit(repo: &Path, file: &str, message: &str) {
    let path = repo.join(file);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!("# {message}\n"));
    std::fs::write(&path, text).unwrap();
    repos::git(repo, &["add", "-A"]);
    repos::git(repo, &["commit", "-q", "-m", message]);
}

/// `okd ARGS` in `dir`, with HOME, the git cache and the state folder inside it.
fn okd(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(common::OKD);
    command
        .args(args)
        .current_dir(dir)
        .env("OKD_STATE_DIR", dir.join("state"))
        .env("HOME", dir.join("home"))
        .env("OKD_CACHE_DIR", dir.join("cache"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("OKD_LOG")
        .env_remove("OKD_WEBHOOK_SECRET")
        .stdin(Stdio::null());
    command
}

/// Waits for `child`, killing it past [`DEADLINE`].
fn finish(mut child: Child) -> Output {
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("okd did not finish within {DEADLINE:?}");
}

/// `okd watch RELEASE --backend local --once --output json`: the exit code and the cycle.
fn once(dir: &Path, release: &Path) -> (i32, Value) {
    let child = okd(
        dir,
        &["watch", release.to_str().unwrap(), "--backend", "local", "--once", "-o", "json", "-j", "2"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let out = finish(child);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one object per cycle: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let cycle: Value = serde_json::from_str(lines[0]).unwrap();
    (out.status.code().unwrap_or(-1), cycle)
}

fn names(cycle: &Value, key: &str) -> BTreeSet<String> {
    cycle[key].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

/// `component` and every component that builds on it, from `okd graph`.
fn with_dependents(dir: &Path, release: &Path, component: &str) -> BTreeSet<String> {
    let out = okd(dir, &["graph", release.to_str().unwrap(), "-o", "json"]).output().unwrap();
    let graph: Value = serde_json::from_slice(&out.stdout).unwrap();
    let parents: BTreeMap<String, Vec<String>> = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let deps = n["depends_on"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_owned());
            (n["name"].as_str().unwrap().to_owned(), deps.collect())
        })
        .collect();
    let mut found = BTreeSet::from([component.to_owned()]);
    while let Some(next) = parents
        .iter()
        .find(|(n, ps)| !found.contains(*n) && ps.iter().any(|p| found.contains(p)))
        .map(|(n, _)| n.clone())
    {
        found.insert(next);
    }
    found
}

#[test]
fn cycles_build_only_what_moved_upstream_and_push_a_payload_only_then() {
    if !require() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let release = okd_mini(dir, "cycles");
    let all: BTreeSet<String> = with_dependents(dir, &release, "builder")
        .union(&with_dependents(dir, &release, "base"))
        .cloned()
        .collect();
    assert_eq!(all.len(), 10);

    let (code, first) = once(dir, &release);
    assert_eq!(code, 0, "{first}");
    assert_eq!(first["result"], "green");
    assert_eq!(names(&first, "built"), all, "{first}");
    let payload = first["payload"]["digest"].as_str().unwrap().to_owned();
    assert!(payload.starts_with("sha256:"), "{first}");

    // Nothing moved: nothing is fetched, built or pushed.
    let (code, second) = once(dir, &release);
    assert_eq!(code, 0, "{second}");
    assert_eq!(second["moved"], serde_json::json!([]), "{second}");
    assert_eq!(second["changed"], serde_json::json!([]), "{second}");
    assert!(names(&second, "built").is_empty(), "{second}");
    assert_eq!(second["reused"], 10);
    assert!(second["payload"].is_null(), "no new payload: {second}");
    assert_eq!(second["run"], first["run"], "the same inputs are the same run");
    let image = first["payload"]["image"].as_str().unwrap();
    let info = okd(dir, &["payload", "info", image, "-o", "json"]).output().unwrap();
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["digest"].as_str(), Some(payload.as_str()), "the registry still has the first payload");

    // A commit to one leaf: exactly it is built, and a new payload is pushed.
    commit(&dir.join("src/okd/network-tools"), "Dockerfile", "a leaf change");
    let (code, third) = once(dir, &release);
    assert_eq!(code, 0, "{third}");
    assert_eq!(names(&third, "built"), BTreeSet::from(["network-tools".to_owned()]), "{third}");
    assert_eq!(names(&third, "changed"), BTreeSet::from(["network-tools".to_owned()]), "{third}");
    assert_eq!(third["moved"].as_array().unwrap().len(), 1, "{third}");
    let new_payload = third["payload"]["digest"].as_str().unwrap();
    assert_ne!(new_payload, payload, "{third}");

    // A commit to a base: the base and everything that builds on it.
    commit(&dir.join("src/okd/base"), "base/Dockerfile.rhel9", "a base change");
    let (code, fourth) = once(dir, &release);
    assert_eq!(code, 0, "{fourth}");
    let expected = with_dependents(dir, &release, "base");
    assert!(expected.len() > 5 && !expected.contains("builder"), "{expected:?}");
    assert_eq!(names(&fourth, "built"), expected, "{fourth}");
    assert_ne!(fourth["payload"]["digest"].as_str(), Some(new_payload), "{fourth}");
    assert_eq!(fourth["cycle"], 4, "cycles are counted across processes: {fourth}");
}

#[test]
fn once_exits_1_when_the_build_fails_and_failures_are_counted_across_runs() {
    if !require() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let release = tiny(dir, "failing");
    let repo = dir.join("src/okd/cvo");
    let dockerfile = repo.join("Dockerfile");
    let good = std::fs::read_to_string(&dockerfile).unwrap();
    std::fs::write(&dockerfile, format!("{good}RUN false\n")).unwrap();
    commit(&repo, "Dockerfile", "broken");
    for failures in [1, 2] {
        let (code, cycle) = once(dir, &release);
        assert_eq!(code, 1, "{cycle}");
        assert_eq!(cycle["result"], "failed", "{cycle}");
        assert_eq!(names(&cycle, "failed"), BTreeSet::from(["cluster-version-operator".to_owned()]));
        assert!(cycle["payload"].is_null(), "no payload from a red run: {cycle}");
        assert_eq!(cycle["failures"], failures, "{cycle}");
    }
    std::fs::write(&dockerfile, &good).unwrap();
    commit(&repo, "Dockerfile", "fixed");
    let (code, cycle) = once(dir, &release);
    assert_eq!(code, 0, "{cycle}");
    assert_eq!(cycle["failures"], 0, "a green cycle ends the backoff: {cycle}");
    assert!(cycle["payload"]["digest"].is_string(), "{cycle}");
}

/// Each component's fingerprint, from `okd plan`.
fn fingerprints(dir: &Path, release: &Path) -> BTreeMap<String, String> {
    let out = okd(dir, &["plan", release.to_str().unwrap(), "-o", "json"]).output().unwrap();
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    plan["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_owned(), c["fingerprint"].as_str().unwrap().to_owned()))
        .collect()
}

/// The components whose build has finished (the run store has a build of their fingerprint,
/// recorded as each ends), and whether the latest run is still running.
fn progress(dir: &Path, fingerprints: &BTreeMap<String, String>) -> Option<(BTreeSet<String>, bool)> {
    let state = dir.join("state");
    if !state.join(okd_runtime::store::DB_FILE).is_file() {
        return None;
    }
    let store = SqliteRunStore::open(&state).unwrap();
    let runs = store.runs(&RunFilter::default(), 1).unwrap();
    let running = runs.first()?.state == RunState::Running;
    let done = fingerprints
        .iter()
        .filter(|(_, fingerprint)| store.lookup("local", fingerprint).unwrap().is_some())
        .map(|(name, _)| name.clone())
        .collect();
    Some((done, running))
}

#[test]
fn a_killed_watcher_restarts_without_rebuilding_what_finished() {
    if !require() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let release = okd_mini(dir, "killed");
    // One slow leaf keeps the run going while the rest finish.
    let console = dir.join("src/okd/console");
    let mut text = std::fs::read_to_string(console.join("Dockerfile")).unwrap();
    text.push_str("RUN sleep 20\n");
    std::fs::write(console.join("Dockerfile"), text).unwrap();
    commit(&console, "Dockerfile", "slow");
    let fingerprints = fingerprints(dir, &release);

    let mut watcher =
        okd(dir, &["watch", release.to_str().unwrap(), "--backend", "local", "--once", "-j", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    let start = Instant::now();
    let finished = loop {
        assert!(start.elapsed() < DEADLINE, "no component finished within {DEADLINE:?}");
        if watcher.try_wait().unwrap().is_some() {
            let out = watcher.wait_with_output().unwrap();
            panic!(
                "the watcher ended before it was killed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        if let Some((done, running)) = progress(dir, &fingerprints)
            && done.len() >= 2
        {
            assert!(running && !done.contains("console"), "{done:?}");
            break done;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    watcher.kill().unwrap();
    watcher.wait().unwrap();

    // The lock went with the process.
    drop(ReleaseLock::acquire(&dir.join("state"), "okd-mini", "local", LockKind::Watch).unwrap());
    let (code, cycle) = once(dir, &release);
    assert_eq!(code, 0, "{cycle}");
    let built = names(&cycle, "built");
    assert!(built.is_disjoint(&finished), "rebuilt what had finished: {built:?} of {finished:?}");
    assert!(built.contains("console"), "{cycle}");
    assert_eq!(built.len() + cycle["reused"].as_u64().unwrap() as usize, 10, "{cycle}");
}

/// A watcher in the background with its stdout and stderr read line by line.
struct Watching {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

impl Watching {
    fn start(mut command: Command) -> Self {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let lines = |pipe: Box<dyn Read + Send>| {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
            rx
        };
        let stdout = lines(Box::new(child.stdout.take().unwrap()));
        let stderr = lines(Box::new(child.stderr.take().unwrap()));
        Watching { child, stdout, stderr }
    }

    /// The next line of `which` that satisfies `want`.
    fn line(which: &mpsc::Receiver<String>, want: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        while start.elapsed() < DEADLINE {
            match which.recv_timeout(Duration::from_secs(1)) {
                Ok(line) if want(&line) => return line,
                Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => panic!("okd watch ended"),
            }
        }
        panic!("no such line within {DEADLINE:?}");
    }

    fn cycle(&self) -> Value {
        serde_json::from_str(&Self::line(&self.stdout, |l| l.starts_with('{'))).unwrap()
    }

    /// Sends SIGTERM and returns the exit code.
    fn terminate(self) -> Option<i32> {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        finish(self.child).status.code()
    }
}

#[test]
fn a_second_watcher_is_refused_and_sigterm_stops_the_first() {
    if !require() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let release = tiny(dir, "lock");
    let args = ["watch", release.to_str().unwrap(), "--backend", "local", "--interval", "1h", "-o", "json"];
    let first = Watching::start(okd(dir, &args));
    let cycle = first.cycle();
    assert_eq!(cycle["result"], "green", "{cycle}");
    assert!(cycle["next"].is_string(), "a watcher says when the next cycle is: {cycle}");

    let second = okd(dir, &args).output().unwrap();
    assert_eq!(second.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&second.stderr);
    let pid = first.child.id();
    assert!(
        stderr.contains(&format!("release tiny on backend local is already watched by process {pid}")),
        "{stderr}"
    );
    assert!(second.stdout.is_empty(), "nothing half-done: {}", String::from_utf8_lossy(&second.stdout));

    assert_eq!(first.terminate(), Some(143), "SIGTERM's code");
    drop(ReleaseLock::acquire(&dir.join("state"), "tiny", "local", LockKind::Watch).unwrap());
}

#[test]
fn sigterm_mid_build_cancels_the_run_and_exits_143() {
    if !require() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let release = tiny(dir, "sigterm");
    // Podman stops a cancelled build between steps, so the long build is many short steps.
    let repo = dir.join("src/okd/cvo");
    let mut text = std::fs::read_to_string(repo.join("Dockerfile")).unwrap();
    text.push_str(&"RUN sleep 1\n".repeat(120));
    std::fs::write(repo.join("Dockerfile"), text).unwrap();
    commit(&repo, "Dockerfile", "slow");
    let watching =
        Watching::start(okd(dir, &["watch", release.to_str().unwrap(), "--backend", "local", "-o", "json"]));
    let start = Instant::now();
    while progress(dir, &BTreeMap::new()).is_none_or(|(_, running)| !running) {
        assert!(start.elapsed() < DEADLINE, "the build did not start within {DEADLINE:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = watching.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let cycle = watching.cycle();
    assert_eq!(cycle["result"], "cancelled", "{cycle}");
    assert!(cycle["next"].is_null(), "a stopped watch has no next cycle: {cycle}");
    assert_eq!(finish(watching.child).status.code(), Some(143));
    let store = SqliteRunStore::open(&dir.join("state")).unwrap();
    let run = &store.runs(&RunFilter::default(), 1).unwrap()[0];
    assert_eq!(run.state, RunState::Cancelled, "the build was cancelled through the backend: {run:?}");
}

/// POSTs a webhook delivery to `addr`; returns the HTTP status.
fn deliver(addr: &str, event: &str, body: &str, signature: Option<&str>) -> u16 {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nX-GitHub-Event: {event}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(signature) = signature {
        request.push_str(&format!("X-Hub-Signature-256: {signature}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_signed_push_starts_a_cycle_and_a_bad_signature_gets_401() {
    if !require() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let release = tiny(dir, "hook");
    std::fs::write(dir.join("secret"), "s3cret\n").unwrap();
    let mut command = okd(
        dir,
        &["watch", release.to_str().unwrap(), "--backend", "local", "--interval", "1h", "-o", "json"],
    );
    command.args(["--listen", "127.0.0.1:0", "--webhook-secret-file", dir.join("secret").to_str().unwrap()]);
    let watching = Watching::start(command);
    let listening =
        Watching::line(&watching.stderr, |l| l.starts_with("listening for GitHub push webhooks on"));
    let addr = listening.rsplit("http://").next().unwrap().to_owned();
    let first = watching.cycle();
    assert_eq!(first["trigger"], "start", "{first}");

    commit(&dir.join("src/okd/cvo"), "Dockerfile", "pushed");
    let push = r#"{"ref":"refs/heads/main","after":"0","repository":{"full_name":"okd/cvo"}}"#;
    assert_eq!(deliver(&addr, "push", push, Some(&sign(b"guess", push.as_bytes()))), 401);
    assert_eq!(deliver(&addr, "push", push, None), 401);
    let refused = Watching::line(&watching.stderr, |l| l.contains("webhook refused"));
    assert!(
        !refused.contains("full_name") && !refused.contains("refs/heads"),
        "logged without the payload: {refused}"
    );
    assert_eq!(deliver(&addr, "ping", "{}", Some(&sign(b"s3cret", b"{}"))), 200);
    assert_eq!(deliver(&addr, "push", push, Some(&sign(b"s3cret", push.as_bytes()))), 202);

    let second = watching.cycle();
    assert_eq!(second["trigger"], "push okd/cvo refs/heads/main", "{second}");
    assert_eq!(second["cycle"], 2, "the refused deliveries started nothing: {second}");
    assert_eq!(names(&second, "built"), BTreeSet::from(["cluster-version-operator".to_owned()]), "{second}");
    assert!(second["payload"]["digest"].is_string(), "{second}");
    assert_eq!(watching.terminate(), Some(143));
}

#[test]
fn bad_flags_are_usage_errors_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("release.yaml"), "not: a release\n").unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["--interval", "5x"], "is not an interval"),
        (&["--interval", "0s"], "at least 1s"),
        (&["--listen", "127.0.0.1:0"], "needs the webhook's secret"),
        (&["--once", "--listen", "127.0.0.1:0"], "--once does one cycle"),
        (&["--webhook-secret-file", "secret"], "only read with --listen"),
    ];
    for (extra, message) in cases {
        let mut args = vec!["watch", "release.yaml", "--backend", "local"];
        args.extend_from_slice(extra);
        let out = okd(dir, &args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(message), "{extra:?}: {stderr}");
    }
    let out = okd(dir, &["watch", "-", "--backend", "local", "--once"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot come from standard input"));
    assert!(!dir.join("state").exists(), "nothing written");
}

#[test]
fn an_unreachable_remote_ends_once_with_code_3_and_the_error_said_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let gone = dir.join("src/okd/gone");
    std::fs::write(
        dir.join("release.yaml"),
        format!(
            "name: gone\nversion: 1.0.0\noutput: {{ registry: 127.0.0.1:5000, repository: okd/gone }}\n\
             components:\n  - {{ name: a, source: {{ git: \"file://{}\", ref: main }} }}\n",
            gone.display()
        ),
    )
    .unwrap();
    let out =
        okd(dir, &["watch", "release.yaml", "--backend", "local", "--once", "-o", "json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let cycle: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cycle["result"], "error", "{cycle}");
    assert_eq!(cycle["failures"], 1, "{cycle}");
    assert_eq!(stderr.matches("git ls-remote").count(), 1, "said once: {stderr}");
    assert!(stderr.contains(&gone.display().to_string()), "{stderr}");
}
