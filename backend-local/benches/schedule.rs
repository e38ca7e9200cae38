//! How close the local backend's scheduler comes to the best possible makespan on a real Podman
//! engine, against a sequential script of `podman build` calls, and how long a no-op rebuild of
//! examples/okd-mini (a copy with its own output repository) takes. `cargo bench -p backend-local --bench schedule` (needs the engine of
//! `scripts/engine.sh start`; the no-op part needs `cargo build --release -p okd-cli` first).
//! Without `--bench` (as under `cargo test --all-targets`) it prints one line and exits.
//!
//! The release is a synthetic DAG: 40 path-source components on 5 levels, each a Dockerfile
//! `FROM <parent>` (level 0: the busybox base) whose only work is `RUN sleep <1..3 s>`; about a
//! third also take a second parent through a stage and `COPY --from`. Parents are named by
//! upstream-looking references that the release-wide `replace` map sends to `member:<name>`, so
//! the plan has real edges. The shape is seeded (splitmix64); a per-run nonce in every RUN line
//! and fresh repositories keep Podman from reusing any earlier image or layer.
//!
//! `OKD_BENCH_SLEEP_SCALE=K` multiplies every sleep by K (default 1). Podman costs about 0.5 s per
//! build whatever the build does, so with 1 to 3 s sleeps the engine, not the scheduler, decides
//! the ratio; K = 10 (10 to 30 s, closer to real component builds) measures the scheduler.
//!
//! `OKD_BENCH_SLEEP_SCALE=K` multiplies every sleep by K (default 1). Podman costs about 0.5 s per
//! build whatever the build does, so with 1 to 3 s sleeps the engine, not the scheduler, decides
//! the ratio; K = 10 (10 to 30 s, closer to real component builds) measures the scheduler.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use backend_local::{
    LocalBackend, LocalConfig,
    client::{BuildRequest, Engine},
};
use okd_core::{
    backend::{BackendPlanOptions, BuildBackend, BuildOptions, EventSink, Outcome},
    graph::BuildGraph,
    manifest::{LoadOptions, load},
    plan::{Plan, PlanOptions, plan},
    source::{SourceOptions, read_sources},
};

const BASE: &str = "localhost/okd-mini/busybox:1.36";
const REGISTRY: &str = "127.0.0.1:5000";
/// Components per level.
const LEVELS: [usize; 5] = [8, 8, 8, 8, 8];
const SEED: u64 = 0x5eed_0c4d;
const JOBS: usize = 4;
/// Builds of `RUN true` per way of building, for the fixed cost.
const PROBES: usize = 5;
/// Timed no-op rebuilds of okd-mini after the warm-up.
const NOOP_RUNS: usize = 5;

/// splitmix64: deterministic, no dependency.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One synthetic component.
#[derive(Debug, Clone)]
struct Node {
    name: String,
    level: usize,
    sleep: u64,
    /// The final FROM's parent (level - 1).
    parent: Option<String>,
    /// A second parent, reached through a stage and `COPY --from`.
    extra: Option<String>,
}

fn upstream(name: &str) -> String {
    format!("bench.example/okd/{name}:latest")
}

/// `OKD_BENCH_SLEEP_SCALE`, default 1.
fn sleep_scale() -> u64 {
    std::env::var("OKD_BENCH_SLEEP_SCALE").ok().and_then(|v| v.parse().ok()).filter(|&k| k > 0).unwrap_or(1)
}

fn dag() -> Vec<Node> {
    let mut rng = Rng(SEED);
    let mut levels: Vec<Vec<String>> = Vec::new();
    let mut nodes = Vec::new();
    for (level, &size) in LEVELS.iter().enumerate() {
        let names: Vec<String> = (0..size).map(|i| format!("l{level}-{i:02}")).collect();
        for name in &names {
            let sleep = (1 + rng.below(3) as u64) * sleep_scale();
            let parent = (level > 0).then(|| levels[level - 1][rng.below(levels[level - 1].len())].clone());
            let extra = match &parent {
                Some(p) if rng.below(3) == 0 => {
                    let lower: Vec<&String> = levels.iter().flatten().filter(|n| *n != p).collect();
                    Some(lower[rng.below(lower.len())].clone())
                }
                _ => None,
            };
            nodes.push(Node { name: name.clone(), level, sleep, parent, extra });
        }
        levels.push(names);
    }
    nodes
}

fn dockerfile(node: &Node, nonce: &str) -> String {
    let mut text = format!("# {}: level {}, sleeps {} s\n", node.name, node.level, node.sleep);
    if let Some(extra) = &node.extra {
        let _ = writeln!(text, "FROM {} AS extra", upstream(extra));
    }
    let from = node.parent.as_deref().map_or_else(|| BASE.to_owned(), upstream);
    let _ = writeln!(text, "FROM {from}");
    if let Some(extra) = &node.extra {
        let _ = writeln!(text, "COPY --from=extra /okd-bench/{extra} /okd-bench/{extra}");
    }
    let _ = writeln!(
        text,
        "RUN sleep {} && mkdir -p /okd-bench && echo '{} {nonce}' > /okd-bench/{}",
        node.sleep, node.name, node.name
    );
    text
}

fn manifest(nodes: &[Node], repository: &str) -> String {
    let mut text = format!(
        "name: schedule-bench\nversion: 1.0.0-0.bench\noutput: {{ registry: \"{REGISTRY}\", repository: {repository} }}\n\
         streams:\n  busybox: {{ image: \"{BASE}\" }}\nreplace:\n  \"{BASE}\": stream:busybox\n"
    );
    for n in nodes {
        let _ = writeln!(text, "  \"{}\": member:{}", upstream(&n.name), n.name);
    }
    text.push_str("components:\n");
    for n in nodes {
        let _ = writeln!(text, "  - {{ name: {0}, source: {{ path: components/{0} }} }}", n.name);
    }
    text
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { f64::NAN } else { v[v.len() / 2] }
}

/// The makespan of schedule.rs's policy (FIFO ready queue seeded in build order, children
/// released in ascending order, at most `jobs` at once) if every build took `cost(node)`.
fn simulate(graph: &BuildGraph, jobs: usize, cost: impl Fn(usize) -> f64, priority: &[u64]) -> f64 {
    let n = graph.len();
    let mut waiting: Vec<usize> = (0..n).map(|i| graph.parents(i).len()).collect();
    // (node, arrival): the highest priority starts first, ties by arrival, as in schedule.rs.
    let mut ready: Vec<(usize, usize)> =
        graph.order().iter().copied().filter(|&i| waiting[i] == 0).enumerate().map(|(k, i)| (i, k)).collect();
    let mut arrivals = ready.len();
    let mut running: Vec<(f64, usize)> = Vec::new();
    let (mut now, mut end) = (0.0f64, 0.0f64);
    let key = |&(node, arrival): &(usize, usize)| {
        (priority.get(node).copied().unwrap_or(0), std::cmp::Reverse(arrival))
    };
    loop {
        while running.len() < jobs {
            let Some(best) = ready.iter().enumerate().max_by_key(|(_, r)| key(r)).map(|(k, _)| k) else {
                break;
            };
            let (node, _) = ready.remove(best);
            running.push((now + cost(node), node));
        }
        if running.is_empty() {
            return end;
        }
        // The earliest to finish; ties go to the one started first.
        let (k, _) = running
            .iter()
            .enumerate()
            .fold((0, f64::INFINITY), |best, (k, (t, _))| if *t < best.1 { (k, *t) } else { best });
        let (t, node) = running.remove(k);
        now = t;
        end = end.max(t);
        for &c in graph.children(node) {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.push((c, arrivals));
                arrivals += 1;
            }
        }
    }
}

/// Removes every image tagged into this run's repositories when dropped, also after a panic.
#[derive(Debug)]
struct Cleanup {
    url: String,
    repositories: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let listed = podman(&self.url).args(["images", "--format", "{{.Repository}}:{{.Tag}}"]).output();
        let listed = listed.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
        let tags: Vec<&str> = listed
            .lines()
            .filter(|t| t.rsplit_once(':').is_some_and(|(r, _)| self.repositories.iter().any(|x| x == r)))
            .collect();
        if tags.is_empty() {
            return;
        }
        let removed = podman(&self.url).arg("rmi").args(&tags).stdout(Stdio::null()).status();
        if !removed.is_ok_and(|s| s.success()) {
            eprintln!("schedule bench: podman rmi failed; remove {} by hand", self.repositories.join(", "));
        } else {
            eprintln!("schedule bench: removed {} images", tags.len());
        }
    }
}

fn podman(url: &str) -> Command {
    let mut cmd = Command::new("podman");
    cmd.arg("--url").arg(url);
    cmd
}

/// A shell word.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace folder").to_path_buf()
}

fn okd_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("OKD_BIN") {
        return PathBuf::from(bin);
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace().join("target"), PathBuf::from);
    target.join("release").join("okd")
}

fn plan_release(runtime: &tokio::runtime::Runtime, path: &Path) -> Plan {
    let release = load(path, &LoadOptions::default()).expect("load the synthetic manifest");
    let sources =
        runtime.block_on(read_sources(&release, &SourceOptions::default())).expect("read the sources");
    plan(Arc::new(release), &sources, &PlanOptions { strict: true }).expect("plan the synthetic release")
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "schedule bench: skipped without --bench (`cargo bench -p backend-local --bench schedule` builds ~40 images on Podman)"
        );
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let engine =
        runtime.block_on(Engine::connect(None)).expect("a container engine (scripts/engine.sh start)");
    assert!(
        runtime.block_on(engine.image_id(BASE)).expect("ask for the base image").is_some(),
        "no {BASE}: run scripts/engine.sh start"
    );
    let url = std::env::var("CONTAINER_HOST").unwrap_or_else(|_| engine.endpoint().to_owned());
    let version = runtime.block_on(engine.version()).expect("engine version");
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_nanos();
    let nonce = format!("{:x}", nanos as u64 ^ u64::from(std::process::id()));
    let repo = format!("okd-bench/schedule-{nonce}");
    let seq_repo = format!("{repo}-seq");
    let probe_repo = format!("localhost/okd-bench/probe-{nonce}");
    let mini_repo = format!("okd-bench/okd-mini-{nonce}");
    let cleanup = Cleanup {
        url: url.clone(),
        repositories: vec![
            format!("{REGISTRY}/{repo}"),
            format!("{REGISTRY}/{seq_repo}"),
            probe_repo.clone(),
            format!("{REGISTRY}/{mini_repo}"),
        ],
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("release");
    eprintln!("schedule bench: engine {version} at {url}; run {nonce} in {}", tmp.path().display());

    // The release: one folder per component, two manifests differing only in the repository.
    let nodes = dag();
    for n in &nodes {
        let folder = dir.join("components").join(&n.name);
        std::fs::create_dir_all(&folder).expect("component folder");
        std::fs::write(folder.join("Dockerfile"), dockerfile(n, &nonce)).expect("write Dockerfile");
    }
    std::fs::write(dir.join("release.yaml"), manifest(&nodes, &repo)).expect("write manifest");
    std::fs::write(dir.join("release-seq.yaml"), manifest(&nodes, &seq_repo)).expect("write manifest");
    let core = Arc::new(plan_release(&runtime, &dir.join("release.yaml")));
    let seq_core = Arc::new(plan_release(&runtime, &dir.join("release-seq.yaml")));
    let graph = &core.graph;
    let sleep_of = |i: usize| nodes.iter().find(|n| n.name == graph.name(i)).expect("a generated node").sleep;
    let edges: usize = (0..graph.len()).map(|i| graph.parents(i).len()).sum();
    let levels = (0..graph.len()).map(|i| graph.level(i)).max().map_or(0, |l| l + 1);
    let two_parents = (0..graph.len()).filter(|&i| graph.parents(i).len() == 2).count();
    let total: u64 = (0..graph.len()).map(sleep_of).sum();
    let path = graph.critical_path(sleep_of);
    let critical: u64 = path.iter().map(|&i| sleep_of(i)).sum();
    let bound = (critical as f64).max(total as f64 / JOBS as f64);
    let ideal = simulate(graph, JOBS, |i| sleep_of(i) as f64, &[]);

    // The fixed cost of one build: `RUN true`, through the API (as the backend builds) and the CLI.
    let probe_dir = tmp.path().join("probe");
    std::fs::create_dir_all(&probe_dir).expect("probe folder");
    let (mut api_probe, mut cli_probe) = (Vec::new(), Vec::new());
    for k in 0..PROBES {
        let request = BuildRequest {
            context_dir: probe_dir.clone(),
            dockerfile: format!("FROM {BASE}\nRUN true {nonce}-api-{k}\n"),
            tag: format!("{probe_repo}:api-{k}"),
            build_args: Default::default(),
            labels: Default::default(),
            platform: None,
            no_cache: true,
        };
        let started = Instant::now();
        runtime.block_on(engine.build(&request, &mut |_| {})).expect("probe build through the API");
        api_probe.push(secs(started.elapsed()));
        let tag = format!("{probe_repo}:cli-{k}");
        let file = probe_dir.join(format!("Dockerfile.{k}"));
        std::fs::write(&file, format!("FROM {BASE}\nRUN true {nonce}-cli-{k}\n")).expect("probe Dockerfile");
        let started = Instant::now();
        let status = podman(&url)
            .args(["build", "--pull=never", "--no-cache", "-q", "-f"])
            .arg(&file)
            .args(["-t", &tag])
            .arg(&probe_dir)
            .stdout(Stdio::null())
            .status()
            .expect("run podman");
        assert!(status.success(), "probe build through the CLI failed");
        cli_probe.push(secs(started.elapsed()));
    }
    let (api_fixed, cli_fixed) = (median(api_probe), median(cli_probe));
    // The same through the API, JOBS at once, as in the DAG run: the two cores are shared.
    let mut parallel_probe = Vec::new();
    for round in 0..PROBES {
        let builds = (0..JOBS).map(|k| {
            let request = BuildRequest {
                context_dir: probe_dir.clone(),
                dockerfile: format!("FROM {BASE}\nRUN true {nonce}-par-{round}-{k}\n"),
                tag: format!("{probe_repo}:par-{round}-{k}"),
                build_args: Default::default(),
                labels: Default::default(),
                platform: None,
                no_cache: true,
            };
            let engine = engine.clone();
            async move {
                let started = Instant::now();
                engine.build(&request, &mut |_| {}).await.expect("probe build through the API");
                secs(started.elapsed())
            }
        });
        parallel_probe.extend(runtime.block_on(futures::future::join_all(builds)));
    }
    let parallel_fixed = median(parallel_probe);

    // The DAG through the local backend, 4 at once.
    eprintln!("schedule bench: building {} components with --jobs {JOBS}", graph.len());
    let bench_runtime =
        okd_runtime::Runtime::new(tmp.path().join("state"), SourceOptions::default_cache_dir())
            .with_settings(okd_runtime::SettingsLayers::none());
    let backend = LocalBackend::new(&bench_runtime, LocalConfig::default());
    let backend_plan =
        runtime.block_on(backend.plan(core.clone(), &BackendPlanOptions::default())).expect("backend plan");
    let started = Instant::now();
    let report = runtime
        .block_on(backend.build(
            &backend_plan,
            &BuildOptions::default().with_jobs(JOBS),
            EventSink::discard(),
        ))
        .expect("build the DAG");
    let makespan = secs(started.elapsed());
    for c in &report.components {
        assert_eq!(c.outcome, Outcome::Succeeded, "{} did not build: {:?}", c.name, c.reason);
    }
    let at = |t: jiff::Timestamp| secs(t.duration_since(report.started).unsigned_abs());
    // name, level, sleep, start, finish (seconds from the run's start)
    let spans: Vec<(String, usize, u64, f64, f64)> = report
        .components
        .iter()
        .map(|c| {
            let i = (0..graph.len()).find(|&i| graph.name(i) == c.name).expect("a graph node");
            let (s, f) = (c.started.expect("started"), c.finished.expect("finished"));
            (c.name.clone(), graph.level(i), sleep_of(i), at(s), at(f))
        })
        .collect();
    let overheads: Vec<f64> = spans.iter().map(|s| s.4 - s.3 - s.2 as f64).collect();
    let mean_overhead = overheads.iter().sum::<f64>() / overheads.len() as f64;
    let busy: f64 = spans.iter().map(|s| s.4 - s.3).sum();
    let peak =
        spans.iter().map(|s| spans.iter().filter(|o| o.3 <= s.3 && s.3 < o.4).count()).max().unwrap_or(0);
    // Components that started while some component of an earlier level was still building.
    let early = spans
        .iter()
        .filter(|s| spans.iter().any(|o| o.1 < s.1 && o.4 > s.3 && o.3 < s.3))
        .filter(|s| s.1 > 0)
        .count();
    let predicted = simulate(graph, JOBS, |i| sleep_of(i) as f64 + mean_overhead, &[]);
    // The lower bound again, with each build costing what it took in this run (ms).
    let span_ms = |i: usize| {
        let s = spans.iter().find(|s| s.0 == graph.name(i)).expect("a span");
        ((s.4 - s.3) * 1000.0).round() as u64
    };
    let span_path: u64 = graph.critical_path(span_ms).iter().map(|&i| span_ms(i)).sum();
    let span_total: u64 = (0..graph.len()).map(span_ms).sum();
    let span_bound = (span_path as f64).max(span_total as f64 / JOBS as f64) / 1000.0;
    // Time in build() outside the schedule: before the first start (engine, state) and after
    // the last finish (recording results).
    let last = spans.iter().map(|s| s.4).fold(0.0, f64::max);
    let before = makespan - secs(report.finished.duration_since(report.started).unsigned_abs());
    let after = at(report.finished) - last;

    // Everything again with new sources (a second nonce: every fingerprint changes, nothing is
    // reused), now with the first build's times in the state store, so ready components start
    // longest remaining work first.
    eprintln!(
        "schedule bench: rebuilding all {} components, ordered by the first build's times",
        graph.len()
    );
    let rebuild_nonce = format!("{nonce}-2");
    for n in &nodes {
        let file = dir.join("components").join(&n.name).join("Dockerfile");
        std::fs::write(file, dockerfile(n, &rebuild_nonce)).expect("write Dockerfile");
    }
    let rebuild_core = Arc::new(plan_release(&runtime, &dir.join("release.yaml")));
    let rebuild_plan =
        runtime.block_on(backend.plan(rebuild_core, &BackendPlanOptions::default())).expect("backend plan");
    let started = Instant::now();
    let rebuild = runtime
        .block_on(backend.build(
            &rebuild_plan,
            &BuildOptions::default().with_jobs(JOBS),
            EventSink::discard(),
        ))
        .expect("rebuild the DAG");
    let rebuild_makespan = secs(started.elapsed());
    for c in &rebuild.components {
        assert_eq!(c.outcome, Outcome::Succeeded, "{} did not rebuild: {:?}", c.name, c.reason);
    }
    let by_remaining = graph.remaining_work(|i| sleep_of(i) * 1000);
    let rebuild_ideal = simulate(graph, JOBS, |i| sleep_of(i) as f64, &by_remaining);

    // The same Dockerfiles (rewritten for a second repository), one `podman build` after another.
    eprintln!("schedule bench: sequential podman build script");
    let rendered = tmp.path().join("rendered");
    let seq_plan = runtime
        .block_on(backend.plan(seq_core.clone(), &BackendPlanOptions::default()))
        .expect("backend plan");
    runtime.block_on(backend.render(&seq_plan, &rendered)).expect("render the rewritten Dockerfiles");
    let mut script = String::from("#!/bin/sh\nset -e\n");
    for &i in seq_core.graph.order() {
        let c = seq_core.components.iter().find(|c| c.index == i).expect("planned component");
        let file = rendered.join("_").join(&c.name).join("Dockerfile");
        let _ = writeln!(
            script,
            "podman --url {} build --pull=never --no-cache -f {} -t {} {}",
            quote(&url),
            quote(&file.display().to_string()),
            quote(&c.image),
            quote(&dir.join("components").join(&c.name).display().to_string())
        );
    }
    let script_path = tmp.path().join("sequential.sh");
    std::fs::write(&script_path, &script).expect("write the script");
    let log = std::fs::File::create(tmp.path().join("sequential.log")).expect("script log");
    let started = Instant::now();
    let status = Command::new("sh")
        .arg(&script_path)
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        .status()
        .expect("run the script");
    let sequential = secs(started.elapsed());
    if !status.success() {
        let text = std::fs::read_to_string(tmp.path().join("sequential.log")).unwrap_or_default();
        panic!("the sequential script failed:\n{text}");
    }

    // A no-op rebuild of okd-mini through the CLI, on a copy of examples/okd-mini that differs
    // only in its output repository, so the run tags nothing outside its own repositories.
    let okd = okd_binary();
    let noop = if okd.is_file() {
        eprintln!("schedule bench: no-op rebuilds of okd-mini with {}", okd.display());
        let state = tmp.path().join("okd-mini-state");
        let mini = tmp.path().join("okd-mini");
        std::fs::create_dir_all(&mini).expect("okd-mini folder");
        okd_core::source::copy_tree(&workspace().join("examples/okd-mini"), &mini).expect("copy okd-mini");
        let text = std::fs::read_to_string(mini.join("release.yaml")).expect("read okd-mini");
        let moved = text.replace("repository: okd/okd-mini", &format!("repository: {mini_repo}"));
        assert_ne!(text, moved, "examples/okd-mini/release.yaml no longer says `repository: okd/okd-mini`");
        std::fs::write(mini.join("release.yaml"), moved).expect("write okd-mini");
        let run = || {
            let started = Instant::now();
            let out = Command::new(&okd)
                .arg("build")
                .arg(mini.join("release.yaml"))
                .args(["--backend", "local", "--output", "json"])
                .arg("--state")
                .arg(&state)
                .env("CONTAINER_HOST", &url)
                .stderr(Stdio::null())
                .output()
                .expect("run okd");
            let took = secs(started.elapsed());
            assert!(out.status.success(), "okd build examples/okd-mini failed");
            let reused = String::from_utf8_lossy(&out.stdout).matches("\"event\":\"reused\"").count();
            (took, reused)
        };
        let (warm, _) = run();
        let runs: Vec<(f64, usize)> = (0..NOOP_RUNS).map(|_| run()).collect();
        let reused = runs.iter().map(|r| r.1).min().unwrap_or(0);
        let times: Vec<f64> = runs.iter().map(|r| r.0).collect();
        let (min, max) = times.iter().fold((f64::INFINITY, 0.0f64), |(a, b), &t| (a.min(t), b.max(t)));
        Some((warm, median(times), min, max, reused))
    } else {
        eprintln!(
            "schedule bench: no {} (cargo build --release -p okd-cli): no-op rebuild skipped",
            okd.display()
        );
        None
    };

    drop(cleanup);

    println!("\nBuild spans (s from the run's start; overhead = span - sleep):");
    println!("| component | level | sleep | start | finish | overhead |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut sorted = spans.clone();
    sorted.sort_by(|a, b| a.3.total_cmp(&b.3));
    for (s, o) in sorted.iter().map(|s| (s, s.4 - s.3 - s.2 as f64)) {
        println!("| {} | {} | {} | {:.2} | {:.2} | {:.2} |", s.0, s.1, s.2, s.3, s.4, o);
    }
    let names: Vec<&str> = path.iter().map(|&i| graph.name(i)).collect();
    println!(
        "\nDAG: {} components, {levels} levels {LEVELS:?}, {edges} edges ({two_parents} with 2 parents)",
        graph.len()
    );
    println!(
        "total work {total} s; critical path {critical} s ({}); total / {JOBS} = {:.2} s",
        names.join(" -> "),
        total as f64 / JOBS as f64
    );
    println!("\n| measure | value |");
    println!("|---|---:|");
    println!("| lower bound max(critical path, work / {JOBS}) | {bound:.2} s |");
    println!("| makespan, local backend --jobs {JOBS} | {makespan:.2} s |");
    let ratio = makespan / bound;
    println!("| ratio (target <= 1.10) | {ratio:.3} ({}) |", if ratio <= 1.10 { "met" } else { "missed" });
    println!("| same scheduler simulated, zero overhead | {ideal:.2} s ({:.3} x bound) |", ideal / bound);
    let rebuild_ratio = rebuild_makespan / bound;
    println!(
        "| makespan, full rebuild ordered by the first build's times (longest remaining work first) | {rebuild_makespan:.2} s |"
    );
    println!(
        "| ratio of that rebuild (target <= 1.10) | {rebuild_ratio:.3} ({}) |",
        if rebuild_ratio <= 1.10 { "met" } else { "missed" }
    );
    println!(
        "| longest remaining work first, simulated, zero overhead | {rebuild_ideal:.2} s ({:.3} x bound) |",
        rebuild_ideal / bound
    );
    println!("| same scheduler simulated, + mean overhead per build | {predicted:.2} s |");
    println!(
        "| lower bound with each build's measured span (critical path {:.2} s, work / {JOBS} {:.2} s) | {span_bound:.2} s (makespan / it = {:.3}) |",
        span_path as f64 / 1000.0,
        span_total as f64 / 1000.0 / JOBS as f64,
        makespan / span_bound
    );
    println!(
        "| in build() outside the schedule: before the first start, after the last finish | {before:.2} s, {after:.2} s |"
    );
    println!("| builds running at once (peak), mean | {peak}, {:.2} |", busy / makespan);
    println!(
        "| components started while an earlier level still built | {early} of {} |",
        graph.len() - LEVELS[0]
    );
    println!(
        "| per-build overhead in the DAG run: mean, median, max | {mean_overhead:.2}, {:.2}, {:.2} s |",
        median(overheads.clone()),
        overheads.iter().copied().fold(0.0, f64::max)
    );
    println!("| sequential podman build script | {sequential:.2} s |");
    println!("| speed-up over the script | {:.2} x |", sequential / makespan);
    println!("| fixed cost of a `RUN true` build, API (median of {PROBES}) | {api_fixed:.2} s |");
    println!("| fixed cost of a `RUN true` build, podman CLI (median of {PROBES}) | {cli_fixed:.2} s |");
    println!(
        "| fixed cost of a `RUN true` build, API, {JOBS} at once (median of {}) | {parallel_fixed:.2} s |",
        PROBES * JOBS
    );
    match noop {
        Some((warm, med, min, max, reused)) => {
            println!("| okd-mini first build (fresh state) | {warm:.2} s |");
            println!(
                "| okd-mini no-op rebuild, median of {NOOP_RUNS} (target < 1 s) | {med:.3} s, min {min:.3}, max {max:.3} ({}; {reused} of 10 reused) |",
                if med < 1.0 { "met" } else { "missed" }
            );
        }
        None => println!("| okd-mini no-op rebuild | skipped: no {} |", okd.display()),
    }
}
