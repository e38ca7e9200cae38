//! Planning benchmark: how long `okd-core` takes to read a release manifest and plan it, and how
//! much memory that needs, for synthetic releases of 200, 2,000 and 20,000 components.
//!
//! Run it with `cargo bench -p okd-core --bench plan` (see BENCHMARKS.md). Without `--bench`
//! (as `cargo test --all-targets` runs it) it only plans the 200-component release once and
//! checks the result, so tests stay fast.
//!
//! Modes:
//! - `--bench`: the full benchmark; prints a table.
//! - `--one N`: plans the N-component release once and prints its peak RSS (VmHWM); the full
//!   benchmark re-executes itself this way, one child process per size.
//! - anything else: the smoke run.
//!
//! `OKD_BENCH_SIZES=200,2000` limits the full benchmark to some sizes.
//!
//! The releases are generated deterministically (a seeded splitmix64): five levels of
//! components; level 0 holds the builder and base images (named by a release-wide `replace`
//! map) and other images built on streams only; every component of level k > 0 is built on a
//! component of level k - 1 and may use a builder and one more lower-level component, through
//! component `replace` entries, the release-wide map, positional `from` or `last_from`. The
//! Dockerfiles have 2 to 4 stages, a global ARG used in a FROM, `AS` names, `COPY --from` a
//! stage (by name or index) and sometimes from an image, RUN lines with continuations and LABELs.
//!
//! Each size also plans the same release built directly as a [`Release`] value, and checks that
//! it plans exactly like the loaded manifest (a guard on the loader; it once refused manifests
//! past serde-saphyr's default YAML budget). The generator is in `synthetic.rs`.

use std::{
    collections::{BTreeMap, HashMap},
    fmt::Write as _,
    hint::black_box,
    ops::Range,
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use okd_core::{
    Location,
    manifest::{Component, LoadOptions, Output, PositionalFrom, Release, Source, Stream, Target, load_str},
    plan::{Plan, PlanOptions, plan, sources_from_memory},
    resolve::Rule,
};

/// Release sizes of the full benchmark, in components.
mod synthetic;

use synthetic::{Input, direct_release, generate};

const SIZES: [usize; 3] = [200, 2_000, 20_000];
/// Levels of the build graph; the critical path has this many components.
const LEVELS: usize = 5;
/// Share of the components on each level, in percent (the last level takes the rest).
const LEVEL_PERCENT: [usize; LEVELS - 1] = [10, 20, 25, 25];
/// Builder and base images named by the release-wide `replace` map: `builder-0..` and `base-0..`.
const SHARED: usize = 4;
/// The generator's seed; the same seed gives byte-identical releases.
const SEED: u64 = 0x6f6b_642d_6265_6e63;
/// Each size is timed for at least this long...
const MIN_TIME: Duration = Duration::from_secs(2);
/// ... and at least this many times.
const MIN_ITERATIONS: usize = 5;
/// Targets (see BENCHMARKS.md).
const TARGETS: [(usize, Duration); 2] = [(200, Duration::from_millis(20)), (20_000, Duration::from_secs(2))];
/// The manifest's name in errors and locations.
const MANIFEST_PATH: &str = "bench/release.yaml";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--one") {
        let size = args.get(i + 1).and_then(|s| s.parse().ok()).expect("--one needs a component count");
        one(size);
    } else if args.iter().any(|a| a == "--bench") {
        bench();
    } else {
        smoke();
    }
}

/// `cargo test --all-targets`: plan the smallest release once and check it.
fn smoke() {
    let size = SIZES[0];
    let input = generate(size);
    let start = Instant::now();
    let plan = pipeline(&input).expect("the generated manifest loads");
    let elapsed = start.elapsed();
    check(&plan, size);
    let direct = plan_release(Arc::new(direct_release(&input)), &input);
    assert_same(&plan, &direct);
    println!(
        "plan bench smoke run: {size} components, critical path {}, planned once in {:.1} ms \
         (run `cargo bench -p okd-core --bench plan` to measure)",
        plan.critical_path.len(),
        ms(elapsed)
    );
}

/// Child process of the full benchmark: one pipeline run, then the peak RSS.
fn one(size: usize) {
    let input = generate(size);
    let inputs_kib = vm_hwm_kib();
    let (plan, kind) = match pipeline(&input) {
        Ok(plan) => (plan, "pipeline"),
        Err(_) => (plan_release(Arc::new(direct_release(&input)), &input), "direct"),
    };
    let peak_kib = vm_hwm_kib();
    check(&plan, size);
    println!("okd-bench-rss {size} {inputs_kib} {peak_kib} {kind}");
    drop(black_box(plan));
}

/// One measured size.
struct Row {
    size: usize,
    lines: usize,
    manifest_bytes: usize,
    yaml_nodes: usize,
    /// `Err(message)` when `load_str` refused the manifest.
    pipeline: Result<Vec<Duration>, String>,
    load: Vec<Duration>,
    plan_only: Vec<Duration>,
    inputs_kib: u64,
    peak_kib: u64,
    rss_kind: String,
}

fn bench() {
    let sizes: Vec<usize> = match std::env::var("OKD_BENCH_SIZES") {
        Ok(list) => list
            .split(',')
            .map(|s| {
                s.trim().replace('_', "").parse().expect("OKD_BENCH_SIZES is a comma-separated list of sizes")
            })
            .collect(),
        Err(_) => SIZES.to_vec(),
    };
    println!("okd-core planning benchmark: load_str + sources_from_memory + plan of synthetic releases");
    println!(
        "each size: at least {MIN_ITERATIONS} iterations and {} s; peak RSS from a child process per size\n",
        MIN_TIME.as_secs()
    );
    let mut rows = Vec::new();
    for &size in &sizes {
        let input = generate(size);
        let direct = Arc::new(direct_release(&input));
        let direct_plan = plan_release(Arc::clone(&direct), &input);
        check(&direct_plan, size);
        if size == sizes[0] {
            print_coverage(&direct_plan);
        }

        let mut load = Vec::new();
        let (pipeline_times, release) = match pipeline(&input) {
            Ok(loaded) => {
                check(&loaded, size);
                assert_same(&loaded, &direct_plan);
                let release = Arc::clone(&loaded.release);
                drop(loaded);
                let times = sample(|| {
                    let start = Instant::now();
                    let release =
                        load_str(Path::new(MANIFEST_PATH), &input.manifest, &LoadOptions::default())
                            .expect("the generated manifest loads");
                    let loaded = start.elapsed();
                    let sources = sources_from_memory(&release, &input.dockerfiles);
                    let plan = plan(Arc::new(release), &sources, &PlanOptions::default())
                        .expect("the release plans");
                    let elapsed = start.elapsed();
                    load.push(loaded);
                    drop(black_box(plan));
                    elapsed
                });
                (Ok(times), release)
            }
            Err(e) => {
                let message = match e.location() {
                    Some(at) => format!("{at}: {}", e.message()),
                    None => e.message().to_owned(),
                };
                eprintln!("{size} components: load_str fails ({message}); timing plan on the direct Release");
                (Err(message), Arc::clone(&direct))
            }
        };
        drop(direct_plan);

        let sources = sources_from_memory(&release, &input.dockerfiles);
        let plan_only = sample(|| {
            let start = Instant::now();
            let plan =
                plan(Arc::clone(&release), &sources, &PlanOptions::default()).expect("the release plans");
            let elapsed = start.elapsed();
            drop(black_box(plan));
            elapsed
        });
        drop((release, direct, sources));

        let (inputs_kib, peak_kib, rss_kind) = child_rss(size);
        let row = Row {
            size,
            lines: input.dockerfile_lines,
            manifest_bytes: input.manifest.len(),
            yaml_nodes: yaml_nodes(&input.manifest),
            pipeline: pipeline_times,
            load,
            plan_only,
            inputs_kib,
            peak_kib,
            rss_kind,
        };
        eprintln!(
            "{size} components: plan median {:.2} ms over {} runs",
            ms(median(&row.plan_only)),
            row.plan_only.len()
        );
        rows.push(row);
    }
    report(&rows);
}

/// Times `f` at least `MIN_ITERATIONS` times and for at least `MIN_TIME`.
fn sample(mut f: impl FnMut() -> Duration) -> Vec<Duration> {
    let start = Instant::now();
    let mut out = Vec::new();
    while out.len() < MIN_ITERATIONS || start.elapsed() < MIN_TIME {
        out.push(f());
    }
    out
}

fn report(rows: &[Row]) {
    println!();
    println!(
        "{:>6} {:>8} {:>8} {:>8} | {:>5} {:>9} {:>9} {:>9} {:>8} | {:>5} {:>9} {:>9} {:>8} | {:>7} {:>7}",
        "size",
        "df lines",
        "yaml KiB",
        "nodes",
        "runs",
        "pipe med",
        "pipe min",
        "load med",
        "us/comp",
        "runs",
        "plan med",
        "plan min",
        "us/comp",
        "RSS MiB",
        "inputs"
    );
    for r in rows {
        let pipeline = match &r.pipeline {
            Ok(times) => format!(
                "{:>5} {:>6.1} ms {:>6.1} ms {:>6.1} ms {:>8.1}",
                times.len(),
                ms(median(times)),
                ms(min(times)),
                ms(median(&r.load)),
                per_component_us(median(times), r.size)
            ),
            Err(_) => format!("{:>5} {:>39}", "-", "load_str refuses the manifest"),
        };
        println!(
            "{:>6} {:>8} {:>8} {:>8} | {pipeline} | {:>5} {:>6.1} ms {:>6.1} ms {:>8.1} | {:>7.1} {:>7.1}{}",
            r.size,
            r.lines,
            r.manifest_bytes / 1024,
            r.yaml_nodes,
            r.plan_only.len(),
            ms(median(&r.plan_only)),
            ms(min(&r.plan_only)),
            per_component_us(median(&r.plan_only), r.size),
            r.peak_kib as f64 / 1024.0,
            r.inputs_kib as f64 / 1024.0,
            if r.rss_kind == "pipeline" { "" } else { " (plan only)" },
        );
    }
    println!();
    println!("df lines = Dockerfile lines in all; nodes = YAML nodes of the manifest;");
    println!("pipe = load_str + sources_from_memory + plan; load = load_str alone (within pipe);");
    println!("plan = plan alone on an already loaded release; us/comp = median microseconds per component;");
    println!("RSS MiB = peak RSS (VmHWM) of a child process that generates the inputs and runs the pipeline");
    println!("once; inputs = its VmHWM after generating the inputs, before load_str.");
    for r in rows {
        if let Err(message) = &r.pipeline {
            println!("{} components: load_str fails: {message}", r.size);
        }
    }
    println!();
    let timed: Vec<&Row> = rows.iter().filter(|r| r.pipeline.is_ok()).collect();
    if let (Some(first), Some(last)) = (rows.first(), rows.last())
        && last.size > first.size
    {
        let exponent = |a: &Row, b: &Row, t: &dyn Fn(&Row) -> Duration| {
            (t(b).as_secs_f64() / t(a).as_secs_f64()).ln() / (b.size as f64 / a.size as f64).ln()
        };
        let plan_time = |r: &Row| median(&r.plan_only);
        let pipe_time = |r: &Row| r.pipeline.as_ref().map(|t| median(t)).unwrap_or_default();
        println!(
            "plan: time ~ n^{:.2} from {} to {} components (1.00 is linear); us per component {}",
            exponent(first, last, &plan_time),
            first.size,
            last.size,
            rows.iter()
                .map(|r| format!("{:.1}", per_component_us(median(&r.plan_only), r.size)))
                .collect::<Vec<_>>()
                .join(" / ")
        );
        if let (Some(a), Some(b)) = (timed.first(), timed.last())
            && b.size > a.size
        {
            println!(
                "pipeline: time ~ n^{:.2} from {} to {} components; us per component {}",
                exponent(a, b, &pipe_time),
                a.size,
                b.size,
                timed
                    .iter()
                    .map(|r| format!("{:.1}", per_component_us(pipe_time(r), r.size)))
                    .collect::<Vec<_>>()
                    .join(" / ")
            );
        }
    }
    for (size, limit) in TARGETS {
        if let Some(r) = rows.iter().find(|r| r.size == size) {
            let plan = median(&r.plan_only);
            let pipeline = match &r.pipeline {
                Ok(times) => format!("{:.1} ms {}", ms(median(times)), verdict(median(times) <= limit)),
                Err(_) => "load_str fails (NOT met)".to_owned(),
            };
            println!(
                "target: {size} components in <= {} ms: pipeline {pipeline}, plan alone {:.1} ms {}",
                limit.as_millis(),
                ms(plan),
                verdict(plan <= limit),
            );
        }
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "(met)" } else { "(NOT met)" }
}

/// Runs `--one size` in a child process; returns its inputs and peak VmHWM in KiB, and whether
/// it ran the pipeline or only planned the direct release.
fn child_rss(size: usize) -> (u64, u64, String) {
    let exe = std::env::current_exe().expect("the bench binary knows its own path");
    let output = Command::new(exe)
        .arg("--one")
        .arg(size.to_string())
        .output()
        .expect("the bench binary can re-run itself");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child --one {size} failed: {}\n{stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let line =
        stdout.lines().find_map(|l| l.strip_prefix("okd-bench-rss ")).expect("the child prints its RSS");
    let fields: Vec<&str> = line.split_whitespace().collect();
    let number = |s: &str| -> u64 { s.parse().expect("RSS figures are numbers") };
    match fields[..] {
        [child_size, inputs, peak, kind] if number(child_size) == size as u64 => {
            (number(inputs), number(peak), kind.to_owned())
        }
        _ => panic!("unexpected RSS line from the child: {line}"),
    }
}

/// VmHWM (peak resident set size) of this process, in KiB.
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status is readable (Linux)");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("/proc/self/status has a VmHWM line")
}

/// The number of YAML nodes (scalars, sequences, mappings) in `text`, as serde-saphyr counts
/// them against its budget; parsed here without a budget.
fn yaml_nodes(text: &str) -> usize {
    static NODES: AtomicUsize = AtomicUsize::new(0);
    fn record(report: &serde_saphyr::budget::BudgetReport) {
        NODES.store(report.nodes, Ordering::Relaxed);
    }
    let mut options = serde_saphyr::Options::default();
    options.budget_report = Some(record);
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = usize::MAX;
    budget.max_events = usize::MAX;
    options.budget = Some(budget);
    serde_saphyr::from_str_with_options::<serde::de::IgnoredAny>(text, options)
        .expect("the manifest is YAML");
    NODES.load(Ordering::Relaxed)
}

/// The whole pipeline once: load the manifest, read the in-memory sources, plan.
fn pipeline(input: &Input) -> okd_core::Result<Plan> {
    let release = load_str(Path::new(MANIFEST_PATH), &input.manifest, &LoadOptions::default())?;
    let sources = sources_from_memory(&release, &input.dockerfiles);
    plan(Arc::new(release), &sources, &PlanOptions::default())
}

fn plan_release(release: Arc<Release>, input: &Input) -> Plan {
    let sources = sources_from_memory(&release, &input.dockerfiles);
    plan(release, &sources, &PlanOptions::default()).expect("the release plans")
}

/// The plan has every component, five levels, and nothing left unresolved.
fn check(plan: &Plan, size: usize) {
    assert_eq!(plan.components.len(), size, "every component is planned");
    assert!(plan.critical_path.len() >= LEVELS, "critical path {:?} is too short", plan.critical_path);
    let deepest = plan.components.iter().map(|c| c.level).max().unwrap_or_default();
    assert_eq!(deepest, LEVELS - 1, "the graph has {LEVELS} levels");
    for c in &plan.components {
        assert!(c.fingerprint.is_some(), "{} has a fingerprint", c.name);
        for s in &c.stages {
            assert_ne!(s.rule, Rule::External, "{} line {}: '{}' is unresolved", c.name, s.line, s.original);
        }
    }
}

/// The directly built release plans exactly like the loaded manifest.
fn assert_same(loaded: &Plan, direct: &Plan) {
    let key = |p: &Plan| -> Vec<(String, usize, Vec<String>, Option<String>)> {
        p.components
            .iter()
            .map(|c| (c.name.clone(), c.level, c.depends_on.clone(), c.fingerprint.clone()))
            .collect()
    };
    assert!(key(loaded) == key(direct), "the direct Release plans differently from the loaded manifest");
    assert_eq!(loaded.critical_path, direct.critical_path);
}

/// How often each rule decided a reference, to show what the release exercises.
fn print_coverage(plan: &Plan) {
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut edges = 0;
    for c in &plan.components {
        edges += c.depends_on.len();
        for s in &c.stages {
            *counts.entry(s.rule.as_str()).or_default() += 1;
        }
    }
    let rules: Vec<String> = counts.iter().map(|(rule, n)| format!("{rule} {n}")).collect();
    println!(
        "release of {} components: {edges} member edges, critical path {}; references by rule: {}\n",
        plan.components.len(),
        plan.critical_path.len(),
        rules.join(", ")
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn per_component_us(d: Duration, size: usize) -> f64 {
    d.as_secs_f64() * 1e6 / size as f64
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

fn min(times: &[Duration]) -> Duration {
    times.iter().copied().min().unwrap_or_default()
}
