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
//! When `load_str` refuses a manifest (serde-saphyr's default YAML budget allows 250,000 nodes,
//! fewer than a 20,000-component manifest has), the benchmark says so and still times `plan`
//! on the same release built directly as a [`Release`] value. That value is checked to plan
//! exactly like the loaded manifest at every size `load_str` accepts.

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

/// The stream-alias texts of the `busybox` stream.
const CENTOS: &str = "quay.io/centos/centos:stream9";
const UBI_MINIMAL: &str = "registry.access.redhat.com/ubi9/ubi-minimal:latest";
const BUSYBOX: &str = "localhost/okd-mini/busybox:1.36";
const NODEJS_STREAM: &str = "registry.access.redhat.com/ubi9/nodejs-20:latest";
/// A Node.js builder that component `replace` entries send to `stream:busybox`.
const NODEJS: &str = "registry.ci.openshift.org/ocp/builder:rhel-9-base-nodejs-openshift-4.17";
/// FROM texts that only positional `from` or `last_from` resolve (in no map).
const NEWER_BUILDER: &str = "registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.23-openshift-4.18";
const NEWER_BASE: &str = "registry.ci.openshift.org/ocp/4.18:base-rhel9";
const NEWER_MINIMAL: &str = "registry.access.redhat.com/ubi9/ubi-minimal:9.4";
const ORIGIN_BASE: &str = "quay.io/openshift/origin-base:latest";

const WORDS: [&str; 12] = [
    "cluster",
    "network",
    "storage",
    "machine",
    "config",
    "dns",
    "ingress",
    "console",
    "monitoring",
    "etcd",
    "image",
    "node",
];
const KINDS: [&str; 6] = ["operator", "controller", "agent", "plugin", "tools", "exporter"];

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

// ---------------------------------------------------------------------------------------------
// The synthetic release.

/// A generated release: the manifest text, every component's Dockerfile, and what the manifest
/// says about each component (to build the same [`Release`] directly).
struct Input {
    size: usize,
    manifest: String,
    dockerfiles: HashMap<String, String>,
    dockerfile_lines: usize,
    /// In manifest order.
    specs: Vec<Spec>,
}

/// One component entry of the manifest.
struct Spec {
    name: String,
    payload: bool,
    /// Component `replace`: reference text -> target text.
    replace: BTreeMap<String, String>,
    /// Positional `from`: builders and final.
    from: Option<(Vec<String>, String)>,
    last_from: Option<String>,
    /// Has `variants: { scos: { build_args: { TAGS: scos } } }`.
    scos: bool,
    /// Line of `- name:` in the manifest.
    line: u32,
}

/// splitmix64: small, fast and good enough to spread choices; no dependency.
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

    fn in_range(&mut self, r: &Range<usize>) -> usize {
        r.start + self.below(r.len())
    }

    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }
}

/// How a component's FROM lines reach their parents.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Level 0: streams only.
    Streams,
    /// Component and release-wide `replace` maps.
    Replace,
    /// ci-operator `last_from` for the final FROM, maps for the rest.
    LastFrom,
    /// Doozer `from: {builders, final}`.
    Positional,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Streams => "stream aliases",
            Mode::Replace => "replace maps",
            Mode::LastFrom => "last_from",
            Mode::Positional => "positional from",
        }
    }
}

/// The key of the release-wide `replace` entry for `builder-j`.
fn builder_key(j: usize) -> String {
    format!("registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.{}-openshift-4.{}", 22 - j, 17 - j)
}

/// The key of the release-wide `replace` entry for `base-j`.
fn base_key(j: usize) -> String {
    format!("registry.ci.openshift.org/ocp/4.{}:base-rhel9", 17 - j)
}

/// The release-wide `replace` map: builder and base upstream texts -> `builder-j`, `base-j`.
fn release_replace() -> Vec<(String, String)> {
    (0..SHARED)
        .flat_map(|j| {
            [(builder_key(j), format!("member:builder-{j}")), (base_key(j), format!("member:base-{j}"))]
        })
        .collect()
}

/// What one Dockerfile looks like.
struct Shape<'a> {
    name: &'a str,
    level: usize,
    mode: Mode,
    /// Default of the global ARG `BUILDER_IMAGE`, the first FROM.
    builder: &'a str,
    /// A `FROM builder AS unit` stage.
    unit: bool,
    /// The FROM text of an `assets` stage, if there is one.
    assets: Option<&'a str>,
    /// `COPY --from=<index>` instead of `--from=assets`.
    assets_by_index: bool,
    /// The last FROM.
    final_from: &'a str,
    /// `COPY --from=<image>`: the image text and the binary copied from it.
    copy_image: Option<(&'a str, &'a str)>,
}

fn generate(size: usize) -> Input {
    assert!(size >= 4 * (2 * SHARED), "a release needs room for the builders and bases on every level");
    let mut rng = Rng(SEED ^ size as u64);

    // Level ranges over component indices; level 0 starts with builder-j then base-j.
    let mut levels: Vec<Range<usize>> = Vec::with_capacity(LEVELS);
    let mut start = 0;
    for (k, percent) in LEVEL_PERCENT.iter().enumerate() {
        let mut len = size * percent / 100;
        if k == 0 {
            len = len.max(2 * SHARED + 2);
        }
        levels.push(start..start + len);
        start += len;
    }
    levels.push(start..size);

    let names: Vec<String> = (0..size)
        .map(|i| match i {
            i if i < SHARED => format!("builder-{i}"),
            i if i < 2 * SHARED => format!("base-{}", i - SHARED),
            i => format!("{}-{}-{i:05}", WORDS[i % WORDS.len()], KINDS[(i / WORDS.len()) % KINDS.len()]),
        })
        .collect();
    // The text a Dockerfile uses for component m's image, and whether the component needs its own
    // `replace` entry for it (builders and bases are in the release-wide map).
    let upstream = |m: usize| -> (String, bool) {
        if m < SHARED {
            (builder_key(m), false)
        } else if m < 2 * SHARED {
            (base_key(m - SHARED), false)
        } else {
            (format!("registry.ci.openshift.org/ocp/4.17:{}", names[m]), true)
        }
    };

    let mut specs: Vec<Spec> = Vec::with_capacity(size);
    let mut dockerfiles = HashMap::with_capacity(size);
    let mut dockerfile_lines = 0;
    for (level, range) in levels.iter().enumerate() {
        for i in range.clone() {
            let name = &names[i];
            let mode = match (level, rng.below(100)) {
                (0, _) => Mode::Streams,
                (_, 0..60) => Mode::Replace,
                (_, 60..80) => Mode::LastFrom,
                _ => Mode::Positional,
            };
            let mut replace: BTreeMap<String, String> = BTreeMap::new();
            let mut builders: Vec<String> = Vec::new();
            let unit = rng.percent(50);
            let assets_stage = rng.percent(40);
            let assets_by_index = rng.percent(50);

            // The builder stage: a shared builder (85%), else a stream.
            let builder_member = (level > 0 && rng.percent(85)).then(|| rng.below(SHARED));
            let builder_text = match (mode, builder_member) {
                (Mode::Positional, member) => {
                    builders.push(
                        member
                            .map_or_else(|| "stream:busybox".to_owned(), |j| format!("member:{}", names[j])),
                    );
                    NEWER_BUILDER.to_owned()
                }
                (_, Some(j)) => builder_key(j),
                (Mode::Streams, None) => CENTOS.to_owned(),
                (_, None) => {
                    if rng.percent(50) {
                        replace.insert(NODEJS.to_owned(), "stream:busybox".to_owned());
                        NODEJS.to_owned()
                    } else {
                        CENTOS.to_owned()
                    }
                }
            };

            // The parent on the level below (a base image half of the time on level 1).
            let parent = match level {
                0 => None,
                1 if rng.percent(50) => Some(SHARED + rng.below(SHARED)),
                k => Some(rng.in_range(&levels[k - 1])),
            };
            // One more lower-level component, half of the time.
            let extra = match level {
                0 => None,
                k if rng.percent(50) => {
                    let e = rng.below(levels[k - 1].end);
                    (Some(e) != parent && Some(e) != builder_member).then_some(e)
                }
                _ => None,
            };

            let member_text = |m: usize, replace: &mut BTreeMap<String, String>| {
                let (text, own) = upstream(m);
                if own {
                    replace.insert(text.clone(), format!("member:{}", names[m]));
                }
                text
            };
            let assets_text = match (assets_stage, mode, extra) {
                (false, _, _) => None,
                (true, Mode::Positional, Some(e)) => {
                    builders.push(format!("member:{}", names[e]));
                    Some(format!("registry.ci.openshift.org/ocp/4.18:{}", names[e]))
                }
                (true, Mode::Positional, None) => {
                    builders.push("stream:busybox".to_owned());
                    Some(NEWER_MINIMAL.to_owned())
                }
                (true, _, Some(e)) => Some(member_text(e, &mut replace)),
                (true, _, None) => Some(UBI_MINIMAL.to_owned()),
            };
            let copy_image = match (assets_stage, extra) {
                (false, Some(e)) => Some((member_text(e, &mut replace), names[e].as_str())),
                _ => None,
            };
            let (final_text, from, last_from) = match (mode, parent) {
                (Mode::Replace, Some(p)) => (member_text(p, &mut replace), None, None),
                (Mode::LastFrom, Some(p)) => {
                    (ORIGIN_BASE.to_owned(), None, Some(format!("member:{}", names[p])))
                }
                (Mode::Positional, Some(p)) => {
                    (NEWER_BASE.to_owned(), Some((builders, format!("member:{}", names[p]))), None)
                }
                _ => (UBI_MINIMAL.to_owned(), None, None),
            };

            let shape = Shape {
                name,
                level,
                mode,
                builder: &builder_text,
                unit,
                assets: assets_text.as_deref(),
                assets_by_index,
                final_from: &final_text,
                copy_image: copy_image.as_ref().map(|(text, bin)| (text.as_str(), *bin)),
            };
            let dockerfile = dockerfile(&shape);
            dockerfile_lines += dockerfile.lines().count();
            dockerfiles.insert(name.clone(), dockerfile);
            let scos = rng.percent(10);
            specs.push(Spec {
                name: name.clone(),
                payload: i >= 2 * SHARED,
                replace,
                from,
                last_from,
                scos,
                line: 0,
            });
        }
    }

    // The manifest lists components in no particular order, as real ones do.
    for i in (1..specs.len()).rev() {
        specs.swap(i, rng.below(i + 1));
    }
    let mut manifest = String::with_capacity(size * 400 + 2048);
    let m = &mut manifest;
    line(m, format_args!("# Synthetic release generated by okd-core/benches/plan.rs ({size} components)."));
    line(m, format_args!("name: okd-bench"));
    line(m, format_args!("version: {}", version(size)));
    line(m, format_args!("variant: scos"));
    line(m, format_args!("arches: [amd64, arm64]"));
    line(m, format_args!("output: {{ registry: quay.io, repository: okd/okd-bench }}"));
    line(m, format_args!("streams:"));
    line(m, format_args!("  busybox:"));
    line(m, format_args!("    image: {BUSYBOX}"));
    line(m, format_args!("    aliases:"));
    line(m, format_args!("      - {CENTOS}"));
    line(m, format_args!("      - {UBI_MINIMAL}"));
    line(m, format_args!("  nodejs:"));
    line(m, format_args!("    image: {NODEJS_STREAM}"));
    line(m, format_args!("replace:"));
    for (key, target) in release_replace() {
        line(m, format_args!("  \"{key}\": {target}"));
    }
    line(m, format_args!("components:"));
    let mut at = m.bytes().filter(|&b| b == b'\n').count() as u32 + 1;
    for spec in &mut specs {
        spec.line = at;
        let before = m.len();
        let name = &spec.name;
        line(m, format_args!("  - name: {name}"));
        line(
            m,
            format_args!("    source: {{ git: https://github.com/okd-bench/{name}, ref: release-4.17 }}"),
        );
        line(m, format_args!("    payload: {}", spec.payload));
        if !spec.replace.is_empty() {
            line(m, format_args!("    replace:"));
            for (key, target) in &spec.replace {
                line(m, format_args!("      \"{key}\": {target}"));
            }
        }
        if let Some((builders, final_)) = &spec.from {
            line(m, format_args!("    from:"));
            line(m, format_args!("      builders: [{}]", builders.join(", ")));
            line(m, format_args!("      final: {final_}"));
        }
        if let Some(last_from) = &spec.last_from {
            line(m, format_args!("    last_from: {last_from}"));
        }
        if spec.scos {
            line(m, format_args!("    variants:"));
            line(m, format_args!("      scos:"));
            line(m, format_args!("        build_args: {{ TAGS: scos }}"));
        }
        at += m[before..].bytes().filter(|&b| b == b'\n').count() as u32;
    }
    Input { size, manifest, dockerfiles, dockerfile_lines, specs }
}

fn version(size: usize) -> String {
    format!("4.17.0-0.okd-bench-{size}")
}

/// The release `load_str` makes of `input.manifest` (variant `scos` applied), built directly.
fn direct_release(input: &Input) -> Release {
    let path = PathBuf::from(MANIFEST_PATH);
    let target = |text: &str| Target::parse(text).expect("the generator writes valid targets");
    let arches = vec!["amd64".to_owned(), "arm64".to_owned()];
    let components = input
        .specs
        .iter()
        .map(|s| Component {
            name: s.name.clone(),
            source: Source::Git {
                url: format!("https://github.com/okd-bench/{}", s.name),
                reference: "release-4.17".to_owned(),
            },
            dockerfile: "Dockerfile".to_owned(),
            context: ".".to_owned(),
            payload: s.payload,
            arches: arches.clone(),
            build_args: if s.scos {
                BTreeMap::from([("TAGS".to_owned(), "scos".to_owned())])
            } else {
                BTreeMap::new()
            },
            replace: s.replace.iter().map(|(k, v)| (k.clone(), target(v))).collect(),
            from: s.from.as_ref().map(|(builders, final_)| PositionalFrom {
                builders: builders.iter().map(|b| target(b)).collect(),
                final_: Some(target(final_)),
            }),
            last_from: s.last_from.as_deref().map(target),
            declared_at: Location::new(&path, s.line, 11),
        })
        .collect();
    Release {
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        path,
        name: "okd-bench".to_owned(),
        version: semver::Version::parse(&version(input.size)).expect("the version is semver"),
        variant: Some("scos".to_owned()),
        arches,
        output: Output { registry: "quay.io".to_owned(), repository: "okd/okd-bench".to_owned() },
        streams: BTreeMap::from([
            (
                "busybox".to_owned(),
                Stream {
                    image: BUSYBOX.to_owned(),
                    aliases: vec![CENTOS.to_owned(), UBI_MINIMAL.to_owned()],
                },
            ),
            ("nodejs".to_owned(), Stream { image: NODEJS_STREAM.to_owned(), aliases: Vec::new() }),
        ]),
        replace: release_replace().into_iter().map(|(k, v)| (k, target(&v))).collect(),
        components,
    }
}

fn line(out: &mut String, args: std::fmt::Arguments<'_>) {
    out.write_fmt(args).expect("writing to a String cannot fail");
    out.push('\n');
}

/// A multi-stage Dockerfile shaped like an OpenShift component's.
fn dockerfile(s: &Shape<'_>) -> String {
    let name = s.name;
    let mut d = String::with_capacity(2048);
    let o = &mut d;
    line(
        o,
        format_args!(
            "# {name}: synthetic level-{} component; FROM lines resolved by {}.",
            s.level,
            s.mode.as_str()
        ),
    );
    line(o, format_args!("ARG BUILDER_IMAGE={}", s.builder));
    line(o, format_args!("ARG GOFLAGS=-mod=vendor"));
    line(o, format_args!(""));
    line(o, format_args!("FROM ${{BUILDER_IMAGE}} AS builder"));
    line(o, format_args!("ARG TAGS"));
    line(o, format_args!("WORKDIR /go/src/github.com/openshift/{name}"));
    line(o, format_args!("COPY . ."));
    line(o, format_args!("ENV GOFLAGS=-mod=vendor \\"));
    line(o, format_args!("    CGO_ENABLED=1"));
    line(o, format_args!("RUN make build \\"));
    line(o, format_args!("        TAGS=\"${{TAGS}}\" \\"));
    line(o, format_args!("        GO_BUILD_PACKAGES=./cmd/{name} && \\"));
    line(o, format_args!("    mkdir -p /tmp/build && \\"));
    line(o, format_args!("    cp _output/bin/{name} /tmp/build/{name}"));
    let mut stages = 1;
    if s.unit {
        line(o, format_args!(""));
        line(o, format_args!("FROM builder AS unit"));
        line(o, format_args!("RUN make test \\"));
        line(o, format_args!("        GOTEST_FLAGS=\"-race -count=1\" && \\"));
        line(o, format_args!("    touch /tmp/build/.unit-tested"));
        stages += 1;
    }
    let assets_index = stages;
    if let Some(assets) = s.assets {
        line(o, format_args!(""));
        line(o, format_args!("FROM {assets} AS assets"));
        line(o, format_args!("WORKDIR /opt/assets"));
        line(o, format_args!("COPY manifests/ manifests/"));
        line(o, format_args!("RUN find manifests -type f -name '*.yaml' | sort > MANIFEST && \\"));
        line(o, format_args!("    sha256sum $(cat MANIFEST) > SHA256SUMS"));
    }
    line(o, format_args!(""));
    line(o, format_args!("FROM {}", s.final_from));
    line(o, format_args!("COPY --from=builder /tmp/build/{name} /usr/bin/{name}"));
    if s.unit {
        line(o, format_args!("COPY --from=unit /tmp/build/.unit-tested /usr/share/{name}/.unit-tested"));
    }
    if s.assets.is_some() {
        let from = if s.assets_by_index { assets_index.to_string() } else { "assets".to_owned() };
        line(o, format_args!("COPY --from={from} /opt/assets/manifests /manifests"));
    }
    if let Some((image, binary)) = s.copy_image {
        line(o, format_args!("COPY --from={image} /usr/bin/{binary} /usr/bin/{binary}"));
    }
    line(o, format_args!("RUN chmod 0755 /usr/bin/{name} && \\"));
    line(o, format_args!("    mkdir -p /var/lib/{name} && \\"));
    line(o, format_args!("    chown -R 1001:0 /var/lib/{name}"));
    line(o, format_args!("USER 1001"));
    line(o, format_args!("ENTRYPOINT [\"/usr/bin/{name}\"]"));
    line(o, format_args!("LABEL io.openshift.release.operator=true \\"));
    line(o, format_args!("      io.k8s.display-name=\"{name}\" \\"));
    line(o, format_args!("      io.openshift.tags=\"openshift,{name}\" \\"));
    line(o, format_args!("      io.openshift.build.source-location=\"https://github.com/okd-bench/{name}\""));
    d
}
