//! Fuzzing on stable Rust: a deterministic mutation fuzzer with a time budget.
//!
//! cargo-fuzz needs a nightly toolchain, so this is the small, dependency-free version of the
//! same idea. A fixed-seed PRNG ([`Rng`], splitmix64) drives a [`Mutator`] over seed texts (byte
//! flips, deletions, duplicated ranges, dictionary tokens, splices of two seeds, line shuffles,
//! repeated tokens for deep nesting and long lines); [`run_with`] feeds the mutants to a check
//! until the budget is spent, catches panics (a crash, or a property the check asserts), writes
//! each distinct one to `target/fuzz-crashes/<target>-<iteration>.txt` with a greedily minimized
//! copy next to it (`.min.txt`), and reports how many inputs ran. Inputs the check accepts join
//! a pool that later mutations start from, so the fuzzer gets past the first syntax check
//! without coverage feedback.
//!
//! A run is deterministic for a given seed: the same seed replays the same inputs in the same
//! order (the budget only decides where it stops). `OKD_FUZZ_SEED` overrides the per-target
//! seed, `OKD_FUZZ_SECONDS` the budget of the short runs, and `OKD_FUZZ_TRACE=1` writes every
//! input to `target/fuzz-crashes/<target>-current.txt` before running it (for a crash that
//! aborts the process, such as a stack overflow, which `catch_unwind` cannot catch).
//!
//! The targets are in `tests/tests/fuzz.rs`; docs/fuzzing.md has how to run them and results.

use std::{
    cell::{Cell, RefCell},
    collections::{BTreeMap, HashSet},
    fmt::Write as _,
    panic::{self, AssertUnwindSafe, PanicHookInfo},
    path::PathBuf,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

/// Tokens for Dockerfiles: instructions, stage syntax, ARG expansion, continuations, heredocs,
/// flags that name images, parser directives, JSON form, line ends, odd characters.
pub const DOCKERFILE_DICT: &[&str] = &[
    "FROM ",
    "from ",
    "FROM scratch\n",
    "FROM --platform=$BUILDPLATFORM ",
    "--platform=",
    " AS ",
    " as ",
    " AS base\n",
    "ARG ",
    "ARG A=1\n",
    "ARG BASE=quay.io/a/b:1\n",
    "ARG TAGS\n",
    "${",
    "}",
    "$",
    "${A}",
    "${BASE}",
    "${A:-x}",
    "${A:+y}",
    "${A?err}",
    "$A",
    "\\\n",
    "\\\n# comment\n",
    "`\n",
    " \\\n  ",
    "<<EOF\n",
    "\nEOF\n",
    "<<-'EOF'\n",
    "<<\"EOT\"\n",
    "\tEOF\n",
    "RUN <<EOF\necho hi\nEOF\n",
    "--from=",
    "--from=0 ",
    "--from=base ",
    "--from=quay.io/x/y:1 ",
    "--mount=type=bind,from=",
    "--mount=type=cache,target=/c,from=",
    "--mount=from=",
    ",target=/x ",
    "# escape=`\n",
    "# escape=\\\n",
    "# syntax=docker/dockerfile:1\n",
    "# check=skip=all\n",
    "#",
    "\"",
    "'",
    "ENTRYPOINT []",
    "ENTRYPOINT [\"/bin/sh\", \"-c\"]\n",
    "[\"a\", \"b\"]",
    "[",
    "]",
    "COPY --from=",
    "COPY --link --from=",
    "ADD --from=",
    "ADD --chmod=755 ",
    "RUN ",
    "RUN --mount=type=bind,from=",
    "ONBUILD ",
    "ONBUILD COPY --from=",
    "HEALTHCHECK CMD ",
    "LABEL a=b \\\n  c=d\n",
    "ENV A=1\n",
    "WORKDIR /x\n",
    "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "registry.ci.openshift.org/ocp/4.17:base-rhel9",
    "registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.22-openshift-4.17",
    "quay.io/centos/centos:stream9",
    "\r\n",
    "\r",
    "\0",
    "\t",
    " ",
    "\n",
    "\n\n",
    "=",
    ",",
    ":",
    "/",
    "é",
    "日本",
    "🦀",
    "\u{feff}",
    "\u{2028}",
    "\u{a0}",
];

/// Tokens for YAML: indicators, anchors and aliases, tags, document markers, YAML 1.1 booleans,
/// block scalars, flow collections (repeated for deep nesting), huge and odd numbers.
pub const YAML_DICT: &[&str] = &[
    ": ",
    ":",
    "- ",
    "-",
    "{",
    "}",
    "{}",
    "[",
    "]",
    "[]",
    ", ",
    "&a ",
    "*a",
    "<<: *a\n",
    "!!str ",
    "!!int ",
    "!!binary ",
    "!!map ",
    "!!seq ",
    "!custom ",
    "---\n",
    "--- ",
    "...\n",
    "%YAML 1.2\n---\n",
    "%TAG ! tag:x,2024:\n",
    "\"no\"",
    "no",
    "yes",
    "on",
    "off",
    "true",
    "false",
    "True",
    "~",
    "null",
    "\"\"",
    "''",
    "? ",
    "|\n",
    "|-\n",
    ">\n",
    ">+2\n",
    "#",
    " # comment\n",
    "'",
    "\"",
    "\\",
    "\\u0000",
    "\\x",
    "99999999999999999999999999999",
    "-1",
    "-0",
    "1e400",
    "0x1F",
    "0o17",
    ".nan",
    ".inf",
    "1.0",
    "4.17.0-0.okd",
    "\t",
    "  ",
    "    ",
    "\n",
    "\n  ",
    "\n    ",
    "\n- ",
    "\r\n",
    "\0",
    "\u{feff}",
    "\u{85}",
    "é",
    "🦀",
    "{MAJOR}",
    "{MINOR}",
    "{",
    "member:",
    "stream:",
    "image:",
];

/// Release-manifest keys and values (docs/release-manifest.md).
pub const MANIFEST_WORDS: &[&str] = &[
    "name: ",
    "version: ",
    "variant: scos\n",
    "variants:\n  scos:\n    dockerfile: Dockerfile.scos\n",
    "arches: [amd64, arm64]\n",
    "arches: ",
    "amd64",
    "s390x",
    "output: { registry: quay.io, repository: okd/x }\n",
    "registry: ",
    "repository: ",
    "streams:\n  s: { image: quay.io/s:1, aliases: [a/b:1] }\n",
    "aliases: ",
    "replace:\n  \"a/b:1\": member:base\n",
    "components:\n",
    "  - name: c\n    source: { path: c }\n",
    "source: ",
    "path: ",
    "git: https://github.com/openshift/x\n",
    "ref: main\n",
    "context: ",
    "dockerfile: ",
    "payload: true\n",
    "payload: ",
    "build_args: { TAGS: scos }\n",
    "from: { builders: [member:builder], final: member:base }\n",
    "builders: ",
    "final: ",
    "last_from: member:base\n",
    "member:base",
    "stream:busybox",
    "image:quay.io/x/y:1",
];

/// ocp-build-data keys (group.yml, streams.yml, images/*.yml) as Doozer reads them.
pub const DOOZER_WORDS: &[&str] = &[
    "vars:\n  MAJOR: 4\n  MINOR: 22\n",
    "name: ",
    "arches: [x86_64, aarch64]\n",
    "konflux:\n",
    "okd:\n",
    "  mode: enabled\n",
    "mode: disabled\n",
    "mode: wip\n",
    "public_upstreams:\n- private: a\n  public: b\n",
    "image: ",
    "upstream_image: ",
    "aliases:\n- ",
    "not_applicable",
    "content:\n  source:\n",
    "git:\n",
    "url: git@github.com:openshift-priv/x.git\n",
    "branch:\n  target: release-{MAJOR}.{MINOR}\n",
    "dockerfile: ",
    "path: ",
    "modifications:\n",
    "okd_alignment:\n  resolve_as:\n    stream: ",
    "for_payload: true\n",
    "payload_name: ",
    "from:\n",
    "builder:\n- stream: ",
    "- member: ",
    "member: ",
    "stream: ",
    "distgit:\n",
    "enabled_repos: []\n",
    "{GO_LATEST}",
    "{runtime_assembly}",
];

/// Pipelines-as-Code PipelineRun keys, annotations and params as the .tekton importer reads them.
pub const TEKTON_WORDS: &[&str] = &[
    "apiVersion: tekton.dev/v1\n",
    "apiVersion: tekton.dev/v1beta1\n",
    "kind: PipelineRun\n",
    "kind: ConfigMap\n",
    "metadata:\n",
    "annotations:\n",
    "labels:\n",
    "build.appstudio.openshift.io/repo: ",
    "pipelinesascode.tekton.dev/on-cel-expression: ",
    "event == \"push\" && target_branch == \"main\"",
    "event == \"pull_request\"",
    "pipelinesascode.tekton.dev/on-target-branch: ",
    "pipelinesascode.tekton.dev/on-event: ",
    "appstudio.openshift.io/component: ",
    "appstudio.openshift.io/application: ",
    "spec:\n",
    "params:\n",
    "- name: ",
    "value: ",
    "git-url",
    "revision",
    "output-image",
    "dockerfile",
    "path-context",
    "build-platforms",
    "build-args",
    "build-args-file",
    "hermetic",
    "prefetch-input",
    "linux/x86_64",
    "linux/arm64",
    "linux/riscv64",
    "pipelineRef:\n",
    "pipelineSpec:\n",
    "resolver: bundles\n",
    "resolver: git\n",
    "{{revision}}",
    "{{source_url}}",
    "{{target_branch}}",
    "?rev=",
    "timeouts:\n",
];

/// A small, fast, deterministic PRNG (splitmix64). Not for anything but test inputs.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator; the same seed gives the same sequence.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }

    /// True one time in `n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// A length in `1..=max` biased towards small values (every power of two equally likely).
    pub fn small(&mut self, max: usize) -> usize {
        if max <= 1 {
            return max;
        }
        let bits = usize::BITS - max.leading_zeros();
        let cap = 1usize << self.below(bits as usize + 1);
        1 + self.below(cap.min(max))
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Bytes that tend to matter to parsers.
const INTERESTING: &[u8] =
    b"\0\n\r\t \\\"'`:-#$={}[],&*!|>?%@.0123456789aAzZ\x7f\xc3\xa9\xff\xfe\xef\xbb\xbf";

/// Mutates seed texts. Inputs stay `String`s: a mutation that breaks UTF-8 is repaired with
/// U+FFFD, and every input is cut at `max_len` bytes.
#[derive(Debug)]
pub struct Mutator<'a> {
    seeds: &'a [String],
    dict: &'a [&'a str],
    max_len: usize,
}

impl<'a> Mutator<'a> {
    /// A mutator splicing from `seeds` and inserting tokens from `dict`.
    pub fn new(seeds: &'a [String], dict: &'a [&'a str], max_len: usize) -> Self {
        Mutator { seeds, dict, max_len }
    }

    /// `base` with one to eight stacked mutations (fewer more often).
    pub fn mutate(&self, rng: &mut Rng, base: &str) -> String {
        let mut buf = base.as_bytes().to_vec();
        let most = 1 + rng.below(8);
        let rounds = 1 + rng.below(most);
        for _ in 0..rounds {
            self.mutate_once(rng, &mut buf);
            buf.truncate(self.max_len);
        }
        match String::from_utf8(buf) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }

    fn token(&self, rng: &mut Rng) -> &'a [u8] {
        if self.dict.is_empty() { b"x" } else { rng.pick(self.dict).as_bytes() }
    }

    fn mutate_once(&self, rng: &mut Rng, buf: &mut Vec<u8>) {
        let len = buf.len();
        match rng.below(14) {
            // Flip one bit.
            0 if len > 0 => {
                let i = rng.below(len);
                buf[i] ^= 1 << rng.below(8);
            }
            // Overwrite a byte with one parsers care about.
            1 if len > 0 => {
                let i = rng.below(len);
                buf[i] = *rng.pick(INTERESTING);
            }
            // Delete a range.
            2 if len > 0 => {
                let n = rng.small(len);
                let at = rng.below(len - n + 1);
                buf.drain(at..at + n);
            }
            // Duplicate a range somewhere else.
            3 if len > 0 => {
                let n = rng.small(len.min(4096));
                let from = rng.below(len - n + 1);
                let copy = buf[from..from + n].to_vec();
                let at = rng.below(len + 1);
                buf.splice(at..at, copy);
            }
            // Insert a dictionary token, anywhere or at a line start.
            4 | 5 => {
                let at = position(rng, buf);
                let token = self.token(rng);
                buf.splice(at..at, token.iter().copied());
            }
            // Replace a range with a dictionary token.
            6 if len > 0 => {
                let n = rng.small(len.min(64));
                let at = rng.below(len - n + 1);
                let token = self.token(rng);
                buf.splice(at..at + n, token.iter().copied());
            }
            // Splice with a seed: our head, its tail (at line boundaries half the time).
            7 => {
                let other = rng.pick(self.seeds).as_bytes();
                let (mut i, mut j) = (rng.below(len + 1), rng.below(other.len() + 1));
                if rng.one_in(2) {
                    i = line_start(buf, i);
                    j = line_start(other, j);
                }
                buf.truncate(i);
                buf.extend_from_slice(&other[j..]);
            }
            // Splice a seed's lines into the middle.
            8 => {
                let other = rng.pick(self.seeds).as_bytes();
                let start = line_start(other, rng.below(other.len() + 1));
                let end = line_end(other, (start + rng.small(other.len().max(1))).min(other.len()));
                let at = line_start(buf, rng.below(len + 1));
                buf.splice(at..at, other[start..end].iter().copied());
            }
            // Line operations: duplicate, delete or move a line.
            9 if len > 0 => {
                let start = line_start(buf, rng.below(len));
                let end = line_end(buf, start);
                let line = buf[start..end].to_vec();
                match rng.below(3) {
                    0 => {
                        let at = line_start(buf, rng.below(len + 1));
                        buf.splice(at..at, line);
                    }
                    1 => {
                        buf.drain(start..end);
                    }
                    _ => {
                        buf.drain(start..end);
                        let at = line_start(buf, rng.below(buf.len() + 1));
                        buf.splice(at..at, line);
                    }
                }
            }
            // Random bytes, printable or not.
            10 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(8);
                let printable = rng.one_in(2);
                let bytes: Vec<u8> = (0..n)
                    .map(|_| if printable { b' ' + rng.below(95) as u8 } else { rng.next_u64() as u8 })
                    .collect();
                buf.splice(at..at, bytes);
            }
            // A token repeated many times: deep nesting, long lines, long values.
            11 => {
                let token = self.token(rng);
                let scale = 1 << rng.below(12);
                let times = 2 + rng.below(scale);
                let at = position(rng, buf);
                let repeated = token.repeat(times);
                buf.splice(at..at, repeated);
            }
            // Indentation: add or remove leading spaces of a line.
            12 if len > 0 => {
                let start = line_start(buf, rng.below(len));
                if rng.one_in(2) {
                    let n = 1 + rng.below(4);
                    buf.splice(start..start, std::iter::repeat_n(b' ', n));
                } else {
                    let spaces = buf[start..].iter().take_while(|b| **b == b' ').count();
                    let n = rng.small(spaces);
                    buf.drain(start..start + n);
                }
            }
            // Truncate.
            13 if len > 0 => {
                let at = rng.below(len);
                buf.truncate(at);
            }
            _ => {
                let at = rng.below(len + 1);
                let token = self.token(rng);
                buf.splice(at..at, token.iter().copied());
            }
        }
    }
}

/// A position in `buf`: anywhere, or (half the time) the start of a line.
fn position(rng: &mut Rng, buf: &[u8]) -> usize {
    let at = rng.below(buf.len() + 1);
    if rng.one_in(2) { line_start(buf, at) } else { at }
}

fn line_start(buf: &[u8], at: usize) -> usize {
    let at = at.min(buf.len());
    buf[..at].iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1)
}

/// Just past the line break of the line holding `at` (or the end of `buf`).
fn line_end(buf: &[u8], at: usize) -> usize {
    let at = at.min(buf.len());
    buf[at..].iter().position(|b| *b == b'\n').map_or(buf.len(), |i| at + i + 1)
}

/// How a fuzz run is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// The target's name, used in messages and crash file names.
    pub target: String,
    /// How long to run (the seeds always run once, unmutated, whatever the budget).
    pub budget: Duration,
    /// The PRNG seed.
    pub seed: u64,
    /// Inputs are cut at this many bytes.
    pub max_len: usize,
    /// Stop saving (and minimizing) after this many distinct crashes.
    pub max_crashes: usize,
    /// Time spent minimizing each distinct crash.
    pub minimize: Duration,
    /// Crashes already found and kept as `#[ignore]`d regression tests: counted, not saved, and
    /// not a failure, so the target keeps looking for new ones until the code is fixed.
    pub known: Vec<Known>,
}

/// A crash already known: a panic whose message contains `pattern`, on an input that starts
/// with `input_prefix`, is the one regression test `test` reproduces.
#[derive(Debug, Clone, Copy)]
pub struct Known {
    /// Text of the panic message that identifies the crash.
    pub pattern: &'static str,
    /// How the input starts ("" for any input).
    pub input_prefix: &'static str,
    /// The regression test (in tests/tests/fuzz.rs) that reproduces it.
    pub test: &'static str,
}

impl Known {
    /// A crash known by its message alone.
    pub const fn new(pattern: &'static str, test: &'static str) -> Self {
        Known { pattern, input_prefix: "", test }
    }

    /// Only on inputs that start with `prefix`.
    pub const fn input_starts_with(self, prefix: &'static str) -> Self {
        Known { input_prefix: prefix, ..self }
    }

    /// Whether a panic with `message` on `input` is this crash.
    pub fn matches(&self, message: &str, input: &str) -> bool {
        message.contains(self.pattern) && input.starts_with(self.input_prefix)
    }
}

impl Options {
    /// Defaults for `target`: its fixed seed ([`seed_for`]), 64 KiB inputs, 8 crashes, 10 s of
    /// minimizing per crash.
    pub fn new(target: &str, budget: Duration) -> Self {
        Options {
            target: target.to_owned(),
            budget,
            seed: seed_for(target),
            max_len: 64 * 1024,
            max_crashes: 8,
            minimize: Duration::from_secs(10),
            known: Vec::new(),
        }
    }
}

/// `OKD_FUZZ_SECONDS` (fractions allowed), else `default_secs`.
pub fn budget(default_secs: u64) -> Duration {
    std::env::var("OKD_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(default_secs), Duration::from_secs_f64)
}

/// The seed of `target`: `OKD_FUZZ_SEED` (decimal or 0x-hex) if set, else a fixed hash of the
/// target's name, so every run of a target replays the same inputs.
pub fn seed_for(target: &str) -> u64 {
    if let Ok(s) = std::env::var("OKD_FUZZ_SEED") {
        let s = s.trim();
        let parsed = match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => s.parse().ok(),
        };
        if let Some(seed) = parsed {
            return seed;
        }
    }
    // FNV-1a.
    target.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Where crash inputs go: `target/fuzz-crashes` (under `CARGO_TARGET_DIR` when set).
pub fn crash_dir() -> PathBuf {
    let workspace = crate::repos::workspace();
    let workspace = workspace.canonicalize().unwrap_or(workspace);
    let target = match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    target.join("fuzz-crashes")
}

/// One distinct crash (a panic or a failed property) a run found.
#[derive(Debug, Clone)]
pub struct Crash {
    /// The input's number in the run (0-based; the seeds come first).
    pub iteration: u64,
    /// The seed input it was derived from (an index into the run's seeds).
    pub seed_index: usize,
    /// The panic message.
    pub message: String,
    /// Where it panicked, `file:line:column`.
    pub location: String,
    /// The input as found.
    pub file: PathBuf,
    /// The input after minimizing.
    pub minimized: PathBuf,
    /// Bytes of the minimized input.
    pub minimized_len: usize,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The target.
    pub target: String,
    /// The PRNG seed.
    pub seed: u64,
    /// Inputs run, the unmutated seeds included.
    pub inputs: u64,
    /// Inputs the check accepted (it returned true: e.g. they parsed).
    pub accepted: u64,
    /// Wall time, minimizing included.
    pub elapsed: Duration,
    /// Distinct crashes, in the order found.
    pub crashes: Vec<Crash>,
    /// Crashing inputs that repeated a crash already saved (same place, same message start).
    pub repeats: u64,
    /// Inputs that hit a known crash, per regression test.
    pub known: BTreeMap<&'static str, u64>,
    /// The slowest single input.
    pub slowest: Duration,
}

impl Report {
    /// Inputs per second.
    pub fn per_second(&self) -> f64 {
        self.inputs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// One line for the test's output (and docs/fuzzing.md).
    pub fn summary(&self) -> String {
        format!(
            "fuzz {}: {} inputs in {:.1} s ({:.0}/s), {} accepted ({:.0}%), seed {:#x}, slowest input {} ms, {} new crashes ({} repeats){}",
            self.target,
            self.inputs,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            self.accepted,
            100.0 * self.accepted as f64 / self.inputs.max(1) as f64,
            self.seed,
            self.slowest.as_millis(),
            self.crashes.len(),
            self.repeats,
            if self.known.is_empty() {
                String::new()
            } else {
                let known: Vec<String> = self.known.iter().map(|(t, n)| format!("{t} x{n}")).collect();
                format!(", known crashes: {}", known.join(", "))
            }
        )
    }

    /// Panics (failing the test) if the run found a new crash; see [`Report::failure`].
    pub fn assert_clean(&self) {
        if let Some(failure) = self.failure() {
            panic!("{failure}");
        }
    }

    /// What the run found that is not known yet, naming each crash's files, seed and iteration.
    pub fn failure(&self) -> Option<String> {
        if self.crashes.is_empty() {
            return None;
        }
        let mut text = format!(
            "fuzz {}: {} distinct crashes (seed {:#x}, {} inputs):\n",
            self.target,
            self.crashes.len(),
            self.seed,
            self.inputs
        );
        for c in &self.crashes {
            let _ = writeln!(
                text,
                "- iteration {} (from seed input {}): {} at {}\n  input {}\n  minimized ({} bytes) {}",
                c.iteration,
                c.seed_index,
                one_line(&c.message, 300),
                c.location,
                c.file.display(),
                c.minimized_len,
                c.minimized.display()
            );
        }
        Some(text)
    }
}

/// The simple form: fuzz `check` from `seeds` for `budget`, fail the test on any panic (naming
/// the saved input, the seed and the iteration), and return how many inputs ran.
pub fn run(target: &str, budget: Duration, seeds: &[String], dict: &[&str], check: impl Fn(&str)) -> u64 {
    let report = run_with(&Options::new(target, budget), seeds, dict, |_, text| {
        check(text);
        false
    });
    eprintln!("{}", report.summary());
    report.assert_clean();
    report.inputs
}

/// Fuzzes `check` from `seeds` until `options.budget` is spent. `check(seed_index, input)`
/// gets the index of the seed the input was derived from (importers use it to know which file
/// the input is) and returns whether the input was accepted; accepted inputs join the pool that
/// later mutations start from. A panic in `check` is a crash: the input is saved and minimized,
/// and the run goes on looking for others. The report says what was found; see
/// [`Report::assert_clean`].
///
/// Every seed runs once unmutated first, whatever the budget.
pub fn run_with(
    options: &Options,
    seeds: &[String],
    dict: &[&str],
    mut check: impl FnMut(usize, &str) -> bool,
) -> Report {
    assert!(!seeds.is_empty(), "fuzz {}: no seeds", options.target);
    eprintln!(
        "fuzz {}: seed {:#x}, {} seed inputs, {} dictionary tokens, budget {:.0} s",
        options.target,
        options.seed,
        seeds.len(),
        dict.len(),
        options.budget.as_secs_f64()
    );
    let trace = std::env::var_os("OKD_FUZZ_TRACE").is_some_and(|v| v == "1");
    let quiet = QuietPanics::install();
    let mutator = Mutator::new(seeds, dict, options.max_len);
    let mut rng = Rng::new(options.seed);
    let mut pool: Vec<(usize, String)> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut report = Report {
        target: options.target.clone(),
        seed: options.seed,
        inputs: 0,
        accepted: 0,
        elapsed: Duration::ZERO,
        crashes: Vec::new(),
        repeats: 0,
        known: BTreeMap::new(),
        slowest: Duration::ZERO,
    };
    let start = Instant::now();
    let mut iteration: u64 = 0;
    loop {
        let (seed_index, input, mutated) = match seeds.get(iteration as usize) {
            Some(seed) => (iteration as usize, seed.clone(), false),
            None if start.elapsed() >= options.budget => break,
            None => {
                let (seed_index, base) = if !pool.is_empty() && rng.one_in(2) {
                    let (i, text) = rng.pick(&pool);
                    (*i, text.as_str())
                } else {
                    let i = rng.below(seeds.len());
                    (i, seeds[i].as_str())
                };
                (seed_index, mutator.mutate(&mut rng, base), true)
            }
        };
        if trace {
            let dir = crash_dir();
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(dir.join(format!("{}-current.txt", options.target)), &input);
        }
        let began = Instant::now();
        let outcome = catch(|| check(seed_index, &input));
        report.slowest = report.slowest.max(began.elapsed());
        report.inputs += 1;
        match outcome {
            Ok(true) => {
                report.accepted += 1;
                if mutated {
                    if pool.len() < 1024 {
                        pool.push((seed_index, input));
                    } else {
                        let i = rng.below(pool.len());
                        pool[i] = (seed_index, input);
                    }
                }
            }
            Ok(false) => {}
            Err(crash) => {
                let key = crash.key();
                if let Some(known) = options.known.iter().find(|k| k.matches(&crash.message, &input)) {
                    *report.known.entry(known.test).or_default() += 1;
                } else if !seen.insert(key.clone()) || report.crashes.len() >= options.max_crashes {
                    report.repeats += 1;
                } else {
                    let found = save(options, iteration, seed_index, &input, &crash, &key, &mut check);
                    eprintln!(
                        "fuzz {}: CRASH at iteration {iteration} (seed {:#x}, from seed input {seed_index}): {} at {}\n  saved {} and, minimized to {} bytes, {}",
                        options.target,
                        options.seed,
                        one_line(&found.message, 300),
                        found.location,
                        found.file.display(),
                        found.minimized_len,
                        found.minimized.display()
                    );
                    report.crashes.push(found);
                }
            }
        }
        iteration += 1;
    }
    report.elapsed = start.elapsed();
    drop(quiet);
    report
}

/// Writes the crashing input and its minimized form.
fn save(
    options: &Options,
    iteration: u64,
    seed_index: usize,
    input: &str,
    crash: &Panic,
    key: &str,
    check: &mut dyn FnMut(usize, &str) -> bool,
) -> Crash {
    let dir = crash_dir();
    let file = dir.join(format!("{}-{iteration}.txt", options.target));
    let minimized_file = dir.join(format!("{}-{iteration}.min.txt", options.target));
    let _ = std::fs::create_dir_all(&dir);
    if let Err(e) = std::fs::write(&file, input) {
        eprintln!("fuzz {}: cannot write {}: {e}", options.target, file.display());
    }
    let minimized = minimize(check, seed_index, input, key, options.minimize);
    if let Err(e) = std::fs::write(&minimized_file, &minimized) {
        eprintln!("fuzz {}: cannot write {}: {e}", options.target, minimized_file.display());
    }
    Crash {
        iteration,
        seed_index,
        message: crash.message.clone(),
        location: crash.location.clone(),
        file,
        minimized: minimized_file,
        minimized_len: minimized.len(),
    }
}

/// Greedy delta debugging: drops chunks of lines, then chunks of characters, while the input
/// still crashes the same way (same place, same message start), until nothing more goes or the
/// time is up.
pub fn minimize(
    check: &mut dyn FnMut(usize, &str) -> bool,
    seed_index: usize,
    input: &str,
    key: &str,
    budget: Duration,
) -> String {
    let deadline = Instant::now() + budget;
    let mut fails = |candidate: &str| match catch(|| check(seed_index, candidate)) {
        Err(p) => p.key() == key,
        Ok(_) => false,
    };
    let mut best = input.to_owned();
    loop {
        let before = best.len();
        for by_lines in [true, false] {
            let mut units: Vec<String> = if by_lines {
                best.split_inclusive('\n').map(str::to_owned).collect()
            } else {
                best.chars().map(String::from).collect()
            };
            let mut chunk = units.len() / 2;
            while chunk >= 1 {
                let mut at = 0;
                while at < units.len() {
                    if Instant::now() >= deadline {
                        return best;
                    }
                    let end = (at + chunk).min(units.len());
                    let candidate: String =
                        units[..at].iter().chain(&units[end..]).map(String::as_str).collect();
                    if fails(&candidate) {
                        units.drain(at..end);
                        best = candidate;
                    } else {
                        at += chunk;
                    }
                }
                chunk /= 2;
            }
        }
        if best.len() == before {
            return best;
        }
    }
}

/// A caught panic: its message and where it happened.
#[derive(Debug)]
struct Panic {
    message: String,
    location: String,
}

impl Panic {
    /// Crashes with the same key are the same crash: the same place and the same start of the
    /// message, with numbers and quoted text (which quote the input) left out.
    fn key(&self) -> String {
        let mut head = String::new();
        let mut quote: Option<char> = None;
        for c in self.message.chars() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if matches!(c, '\'' | '`' | '"') => {
                    quote = Some(c);
                    head.push_str("<q>");
                }
                None if c.is_ascii_digit() => {
                    if !head.ends_with('#') {
                        head.push('#');
                    }
                }
                None => head.push(c),
            }
            if head.len() >= 160 {
                break;
            }
        }
        format!("{} {head}", self.location)
    }
}

fn one_line(text: &str, max: usize) -> String {
    let flat = text.replace('\n', " | ");
    match flat.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &flat[..i]),
        None => flat,
    }
}

thread_local! {
    /// Whether this thread is running a fuzz input (its panics are recorded, not printed).
    static FUZZING: Cell<bool> = const { Cell::new(false) };
    /// The last panic on this thread while fuzzing.
    static LAST_PANIC: RefCell<Option<Panic>> = const { RefCell::new(None) };
}

/// Runs `f`, turning a panic into its message and location.
fn catch<T>(f: impl FnOnce() -> T) -> Result<T, Panic> {
    FUZZING.with(|fuzzing| fuzzing.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    FUZZING.with(|fuzzing| fuzzing.set(false));
    result.map_err(|payload| {
        let recorded = LAST_PANIC.with(|last| last.borrow_mut().take());
        recorded.unwrap_or_else(|| Panic {
            message: payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic with a non-string payload".to_owned()),
            location: "unknown".to_owned(),
        })
    })
}

type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

/// The previous panic hook and how many runs are using the quiet one.
static HOOK: Mutex<(usize, Option<Arc<Hook>>)> = Mutex::new((0, None));

/// While alive, panics on fuzzing threads are recorded instead of printed (thousands of
/// expected panic messages would bury the report); other threads' panics go to the previous
/// hook as before. The last guard dropped puts the previous hook back.
struct QuietPanics;

impl QuietPanics {
    fn install() -> Self {
        let mut state = HOOK.lock().unwrap_or_else(PoisonError::into_inner);
        if state.0 == 0 {
            let previous: Arc<Hook> = Arc::new(panic::take_hook());
            let delegate = Arc::clone(&previous);
            panic::set_hook(Box::new(move |info| {
                if FUZZING.with(Cell::get) {
                    let message = info
                        .payload()
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| info.payload().downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic with a non-string payload".to_owned());
                    let location = info.location().map_or_else(
                        || "unknown".to_owned(),
                        |l| format!("{}:{}:{}", l.file(), l.line(), l.column()),
                    );
                    LAST_PANIC.with(|last| *last.borrow_mut() = Some(Panic { message, location }));
                } else {
                    delegate(info);
                }
            }));
            state.1 = Some(previous);
        }
        state.0 += 1;
        QuietPanics
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        let mut state = HOOK.lock().unwrap_or_else(PoisonError::into_inner);
        state.0 = state.0.saturating_sub(1);
        // take_hook may not be called while panicking; the quiet hook delegates anyway.
        if state.0 == 0 && !std::thread::panicking() {
            drop(panic::take_hook());
            if let Some(previous) = state.1.take() {
                match Arc::try_unwrap(previous) {
                    Ok(hook) => panic::set_hook(hook),
                    Err(shared) => panic::set_hook(Box::new(move |info| shared(info))),
                }
            }
        }
    }
}
