#![allow(clippy::unwrap_used)]
//! Fuzz targets, one per input format, on stable Rust (see okd_tests::fuzz and docs/fuzzing.md):
//!
//! - `dockerfile`: `okd_core::dockerfile::parse` never panics; a parsed file rewrites to itself
//!   byte for byte (no edits, and every reference replaced by its own text); planning it in a
//!   tiny release never panics, and what the plan rewrites parses again with the same shape.
//! - `manifest`: `okd_core::manifest::load_str` never panics; its errors name the file and
//!   quote at most a line's worth (300 characters) of the input.
//! - `doozer`: `okd_core::doozer::import` over an ocp-build-data tree with one file mutated.
//! - `tekton`: `backend_konflux::import_tekton` over a repository with one `.tekton` file
//!   mutated.
//!
//! No target may return an `Internal` error (the code's own word for a bug), and the importers'
//! warnings must point at lines that exist.
//!
//! Each target runs `OKD_FUZZ_SECONDS` (default 7) seconds; the `_long` twins run 150 s each:
//! `cargo test -p okd-tests --test fuzz -- --ignored --test-threads 1 --nocapture`.
//! Crashes found become regression tests at the end of this file.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use okd_core::{
    ErrorKind,
    dockerfile::{self, Edit},
    doozer::{self, ImportOptions, Warning},
    manifest::{LoadOptions, Release, load_str},
    plan::{PlanOptions, plan, sources_from_memory},
};
use okd_tests::{
    fuzz::{self, DOCKERFILE_DICT, DOOZER_WORDS, MANIFEST_WORDS, Options, Report, TEKTON_WORDS, YAML_DICT},
    repos::workspace,
};

const SHORT_SECONDS: u64 = 7;
const LONG_SECONDS: u64 = 150;

fn short() -> Duration {
    fuzz::budget(SHORT_SECONDS)
}

fn long() -> Duration {
    Duration::from_secs(LONG_SECONDS)
}

fn finish(report: &Report) {
    eprintln!("{}", report.summary());
    report.assert_clean();
}

fn dict(extra: &[&'static str]) -> Vec<&'static str> {
    YAML_DICT.iter().chain(extra).copied().collect()
}

// ---------------------------------------------------------------------------------------------
// Dockerfile: parse, rewrite, plan.
// ---------------------------------------------------------------------------------------------

const CRAFTED_DOCKERFILES: &[&str] = &[
    "# syntax=docker/dockerfile:1\n\
     ARG BASE=registry.ci.openshift.org/ocp/4.17:base-rhel9\n\
     ARG TAG\n\
     FROM --platform=$BUILDPLATFORM registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.22-openshift-4.17 AS builder\n\
     RUN <<EOF\nset -e\necho FROM not-an-image\nEOF\n\
     COPY <<-'EOT' /etc/x\n\tFROM also-not-an-image\n\tEOT\n\
     FROM ${BASE}\n\
     COPY --from=builder /a /b\n\
     COPY --from=registry.ci.openshift.org/ocp/4.17:cli /usr/bin/oc /usr/bin/oc\n\
     RUN --mount=type=bind,from=quay.io/centos/centos:stream9,target=/x --mount=type=cache,target=/c make\n\
     ADD --from=0 /x /y\n",
    "# escape=`\n\
     FROM quay.io/centos/centos:stream9 `\n  AS one\n\
     RUN echo `\n  hi\n\
     FROM one\n\
     COPY --from=one C:\\a C:\\b\n",
    "FROM registry.ci.openshift.org/ocp/\\\n# a comment inside the reference\n4.17:base-rhel9 as base\n\
     ONBUILD COPY --from=base /a /b\n\
     ENTRYPOINT []\n",
    "arg A=quay.io\n\
     from ${A}/centos/centos:stream9\n\
     copy --from=0 [\"a\", \"b\"]\n\
     FROM scratch\n\
     COPY --from=${A:-x}/y:1 /a /b\n\
     FROM \"registry.ci.openshift.org/ocp/4.17:base-rhel9\"\r\n\
     RUN --mount=from=0,target=/z ls\r\n",
    "ARG TAGS\nARG BASE_IMAGE=registry.ci.openshift.org/ocp/4.17:base-rhel9\n\
     FROM registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.22-openshift-4.17 AS b1\n\
     FROM registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.22-openshift-4.17 AS b2\n\
     FROM ${BASE_IMAGE}@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n\
     COPY --from=b1 /a /a\nCOPY --from=B2 /b /b\n",
];

/// The tiny releases a fuzzed Dockerfile is planned in: component `c` is the Dockerfile, `base`
/// has no source (planned from the manifest alone).
const PLAN_RELEASES: &[&str] = &[
    r#"name: fuzz
version: 1.0.0
output: { registry: "reg:5000", repository: okd/fuzz }
streams:
  bb: { image: "localhost/bb:1", aliases: ["quay.io/centos/centos:stream9", "registry.access.redhat.com/ubi9/ubi-minimal:latest"] }
replace:
  "registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.22-openshift-4.17": member:base
  "registry.ci.openshift.org/ocp/4.17:base-rhel9": stream:bb
  "registry.ci.openshift.org/ocp/4.17:cli": "image:quay.io/x/cli@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  "quay.io/a/b:1": member:base
components:
  - name: c
    source: { path: c }
    build_args: { TAGS: scos, A: "quay.io" }
    replace: { "quay.io/openshift/origin-base:latest": image:quay.io/x/base:1 }
  - name: base
    source: { path: base }
"#,
    r#"name: fuzz
version: 1.0.0
output: { registry: "reg:5000", repository: okd/fuzz }
streams:
  bb: { image: "localhost/bb:1" }
components:
  - name: c
    source: { path: c }
    from: { builders: [member:base, stream:bb], final: "image:quay.io/x/final:1" }
  - name: base
    source: { path: base }
"#,
    r#"name: fuzz
version: 1.0.0
output: { registry: "reg:5000", repository: okd/fuzz }
components:
  - name: c
    source: { path: c }
    last_from: member:base
  - name: base
    source: { path: base }
"#,
];

fn dockerfile_seeds() -> Vec<String> {
    let mut seeds: Vec<String> = CRAFTED_DOCKERFILES.iter().map(|s| (*s).to_owned()).collect();
    let mut files = Vec::new();
    find_files(
        &workspace().join("examples/okd-mini/components"),
        &|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("Dockerfile")),
        &mut files,
    );
    files.sort();
    seeds.extend(files.iter().map(|f| std::fs::read_to_string(f).unwrap()));
    seeds
}

fn find_files(dir: &Path, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            find_files(&path, keep, out);
        } else if keep(&path) {
            out.push(path);
        }
    }
}

/// The Dockerfile target's check: parse, the rewrite properties, then a plan in each release.
fn dockerfile_check(releases: &[(Arc<Release>, PlanOptions)]) -> impl FnMut(usize, &str) -> bool + '_ {
    move |_, text| {
        let path = Path::new("fuzz/Dockerfile");
        let args: BTreeMap<String, String> = [("TAGS".to_owned(), "scos".to_owned())].into();
        let parsed = match dockerfile::parse(path, text, &args) {
            Ok(parsed) => parsed,
            Err(e) => {
                assert!(e.kind() != ErrorKind::Internal, "property: parse returns no internal error: {e}");
                return false;
            }
        };
        let same = dockerfile::rewrite(text, &[]).unwrap();
        assert!(same == text, "property: a rewrite without edits changes no byte");
        for r in &parsed.refs {
            assert!(
                text.get(r.span.clone()) == Some(r.raw.as_str()),
                "property: a reference's span holds its raw text ({:?} at {:?})",
                r.raw,
                r.span
            );
        }
        let edits: Vec<Edit> =
            parsed.refs.iter().map(|r| Edit { span: r.span.clone(), replacement: r.raw.clone() }).collect();
        match dockerfile::rewrite(text, &edits) {
            Ok(same) => {
                assert!(same == text, "property: replacing every reference by itself changes no byte")
            }
            Err(e) => panic!("property: the parser's own spans rewrite: {e}"),
        }
        for (release, options) in releases {
            let files: HashMap<String, String> = [("c".to_owned(), text.to_owned())].into();
            let planned = match plan(release.clone(), &sources_from_memory(release, &files), options) {
                Ok(p) => p,
                Err(e) => {
                    assert!(e.kind() != ErrorKind::Internal, "property: plan returns no internal error: {e}");
                    continue;
                }
            };
            let c = planned.component("c").unwrap();
            let Some(rewritten) = &c.rewritten else { panic!("property: a read source is rewritten") };
            match dockerfile::parse(path, rewritten, &c.build_args) {
                Ok(again) => {
                    let before = dockerfile::parse(path, text, &c.build_args).unwrap();
                    assert!(
                        again.stages.len() == before.stages.len()
                            && again.refs.len() == before.refs.len()
                            && again.instruction_count == before.instruction_count,
                        "property: the rewritten Dockerfile has the same stages ({} -> {}), references ({} -> {}) and instructions ({} -> {})",
                        before.stages.len(),
                        again.stages.len(),
                        before.refs.len(),
                        again.refs.len(),
                        before.instruction_count,
                        again.instruction_count
                    );
                }
                Err(e) => panic!("property: the rewritten Dockerfile parses again: {e}"),
            }
        }
        true
    }
}

fn plan_releases() -> Vec<(Arc<Release>, PlanOptions)> {
    PLAN_RELEASES
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let release = load_str(Path::new("fuzz/release.yaml"), text, &LoadOptions::default()).unwrap();
            (Arc::new(release), PlanOptions { strict: i == 1 })
        })
        .collect()
}

fn fuzz_dockerfile_for(budget: Duration) {
    let seeds = dockerfile_seeds();
    let releases = plan_releases();
    let report = fuzz::run_with(
        &Options { known: KNOWN_DOCKERFILE.to_vec(), ..Options::new("dockerfile", budget) },
        &seeds,
        DOCKERFILE_DICT,
        dockerfile_check(&releases),
    );
    finish(&report);
}

#[test]
fn fuzz_dockerfile() {
    fuzz_dockerfile_for(short());
}

#[test]
#[ignore = "long fuzz run (150 s)"]
fn fuzz_dockerfile_long() {
    fuzz_dockerfile_for(long());
}

// ---------------------------------------------------------------------------------------------
// The release manifest.
// ---------------------------------------------------------------------------------------------

/// The longest line an error may show: "a line's worth of the offending text" plus the file,
/// line and column in front of it.
const MAX_ERROR_LINE: usize = 300;
const MANIFEST_PATH: &str = "fuzz/release.yaml";

fn manifest_seeds() -> Vec<String> {
    let mut seeds =
        vec![std::fs::read_to_string(workspace().join("examples/okd-mini/release.yaml")).unwrap()];
    let doc = std::fs::read_to_string(workspace().join("docs/release-manifest.md")).unwrap();
    seeds.extend(yaml_blocks(&doc).into_iter().filter(|b| b.contains("components:") && b.contains("name:")));
    seeds.extend(PLAN_RELEASES.iter().map(|s| (*s).to_owned()));
    seeds
}

/// The ```yaml blocks of a Markdown text.
fn yaml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start().starts_with("```yaml") => current = Some(String::new()),
            Some(block) if line.trim_start().starts_with("```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

fn manifest_check(_: usize, text: &str) -> bool {
    let mut accepted = false;
    for variant in [None, Some("scos".to_owned())] {
        match load_str(Path::new(MANIFEST_PATH), text, &LoadOptions { variant }) {
            Ok(_) => accepted = true,
            Err(e) => {
                assert!(e.kind() != ErrorKind::Internal, "property: load_str returns no internal error: {e}");
                let shown = e.to_string();
                assert!(shown.contains(MANIFEST_PATH), "property: the error names the file: {shown}");
                for line in shown.lines() {
                    let n = line.chars().count();
                    assert!(
                        n <= MAX_ERROR_LINE,
                        "property: an error line is at most {MAX_ERROR_LINE} characters, not {n}: {}...",
                        line.chars().take(160).collect::<String>()
                    );
                }
            }
        }
    }
    accepted
}

fn fuzz_manifest_for(budget: Duration) {
    let seeds = manifest_seeds();
    let report = fuzz::run_with(
        &Options { known: KNOWN_MANIFEST.to_vec(), ..Options::new("manifest", budget) },
        &seeds,
        &dict(MANIFEST_WORDS),
        manifest_check,
    );
    finish(&report);
}

#[test]
fn fuzz_manifest() {
    fuzz_manifest_for(short());
}

#[test]
#[ignore = "long fuzz run (150 s)"]
fn fuzz_manifest_long() {
    fuzz_manifest_for(long());
}

// ---------------------------------------------------------------------------------------------
// Importers: a tree of files on disk, one file mutated per input.
// ---------------------------------------------------------------------------------------------

/// Files on disk for an importer: every seed is one file of one tree; an input replaces that
/// file, and the file mutated before it is put back first.
struct Trees {
    /// (tree root, path under the root, seed text) per seed.
    files: Vec<(PathBuf, PathBuf, String)>,
    dirty: Option<usize>,
}

impl Trees {
    fn new() -> Self {
        Trees { files: Vec::new(), dirty: None }
    }

    fn add(&mut self, root: &Path, relative: impl Into<PathBuf>, text: String) {
        let relative = relative.into();
        let path = root.join(&relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        self.files.push((root.to_owned(), relative, text));
    }

    fn seeds(&self) -> Vec<String> {
        self.files.iter().map(|f| f.2.clone()).collect()
    }

    /// Writes `text` as seed file `index` and returns the root of its tree.
    fn put(&mut self, index: usize, text: &str) -> PathBuf {
        if let Some(dirty) = self.dirty.filter(|d| *d != index) {
            let (root, relative, seed) = &self.files[dirty];
            std::fs::write(root.join(relative), seed).unwrap();
        }
        let (root, relative, _) = &self.files[index];
        std::fs::write(root.join(relative), text).unwrap();
        self.dirty = Some(index);
        root.clone()
    }
}

/// Warnings point at lines of files that exist (line 0 is the whole file).
fn check_warnings(warnings: &[Warning]) {
    for w in warnings {
        let text = std::fs::read_to_string(&w.file).unwrap_or_else(|e| {
            panic!("property: a warning names a readable file ({}): {e}", w.file.display())
        });
        let lines = text.lines().count().max(1);
        assert!(
            w.line as usize <= lines,
            "property: a warning's line is in its file (line {} of {lines}): {}",
            w.line,
            w.message.chars().take(160).collect::<String>()
        );
    }
}

const GROUP: &str = "vars:\n  MAJOR: 4\n  MINOR: 22\n  GO_LATEST: \"1.24\"\nname: openshift-{MAJOR}.{MINOR}\narches: [x86_64, aarch64, s390x]\nkonflux:\n  arches: [x86_64, aarch64]\nokd:\n  arches: [x86_64]\npublic_upstreams:\n- private: \"https://github.com/openshift-priv\"\n  public: \"https://github.com/openshift\"\n";

const GROUP_EXT: &str = "urls:\n  brew_image_host: registry.example.com\nname: openshift-{MAJOR}.{MINOR}\n";

const STREAMS: &str = "rhel-9-golang:\n  aliases:\n  - rhel-9-golang-{GO_LATEST}\n  image: quay.io/art/golang:{GO_LATEST}\n  upstream_image: registry.ci.openshift.org/ocp/builder:rhel-9-golang-{GO_LATEST}-openshift-{MAJOR}.{MINOR}\ncentos_stream9:\n  image: quay.io/centos/centos:stream9\n  upstream_image: registry.ci.openshift.org/ocp/builder:stream9\nci-only:\n  image: not_applicable\n  upstream_image: x\n";

fn doozer_image(source: &str, in_source: &str, rest: &str) -> String {
    format!(
        "content:\n  source:\n{in_source}    git:\n      url: git@github.com:openshift-priv/{source}.git\n      branch:\n        target: release-{{MAJOR}}.{{MINOR}}\n{rest}"
    )
}

fn doozer_images() -> Vec<(&'static str, String)> {
    vec![
        (
            "openshift-base-rhel9",
            doozer_image(
                "images",
                "    okd_alignment:\n      resolve_as:\n        stream: centos_stream9\n",
                "name: openshift/ose-base-rhel9\nfor_payload: false\nfrom:\n  stream: rhel-9-golang-{GO_LATEST}\nokd:\n  mode: disabled\n",
            ),
        ),
        (
            "ose-base-minimal",
            doozer_image(
                "images",
                "",
                "name: openshift/ose-base-minimal\nfor_payload: false\nfrom:\n  member: openshift-base-rhel9\n",
            ),
        ),
        (
            "ose-installer",
            doozer_image(
                "installer",
                "",
                "name: openshift/ose-installer-rhel9\nfor_payload: true\npayload_name: installer\narches: [x86_64, s390x]\nfrom:\n  builder:\n  - stream: rhel-9-golang\n  member: ose-base-minimal\n",
            ),
        ),
        (
            "ironic",
            doozer_image(
                "ironic-image",
                "    dockerfile: Dockerfile.ocp\n    path: images/ironic\n    modifications:\n    - action: replace\n      match: a\n      replacement: b\n",
                "name: openshift/ose-ironic-rhel9\nfor_payload: true\nfrom:\n  builder:\n  - member: ose-installer\n  member: ose-base-minimal\nokd:\n  content:\n    source:\n      dockerfile: Dockerfile.scos\n  from:\n    stream: centos_stream9\n",
            ),
        ),
        (
            "okd-only",
            doozer_image(
                "okd-only",
                "",
                "name: openshift/ose-okd-only\nfor_payload: true\nmode: disabled\nokd:\n  mode: enabled\n",
            ),
        ),
        (
            "wip-thing",
            doozer_image("wip", "", "name: openshift/ose-wip-thing\nfor_payload: true\nmode: wip\n"),
        ),
        (
            "uses-ci-only",
            doozer_image(
                "x",
                "",
                "name: openshift/ose-uses-ci-only\nfor_payload: true\nfrom:\n  stream: ci-only\n",
            ),
        ),
    ]
}

/// Up to `n` files, spread evenly over the sorted list.
fn spread(mut files: Vec<PathBuf>, n: usize) -> Vec<PathBuf> {
    files.sort();
    if files.len() <= n {
        return files;
    }
    let step = files.len() as f64 / n as f64;
    (0..n).map(|i| files[(i as f64 * step) as usize].clone()).collect()
}

fn doozer_trees(tmp: &Path) -> Trees {
    let mut trees = Trees::new();
    let builtin = tmp.join("builtin");
    trees.add(&builtin, "group.yml", GROUP.to_owned());
    trees.add(&builtin, "group.ext.yml", GROUP_EXT.to_owned());
    trees.add(&builtin, "streams.yml", STREAMS.to_owned());
    for (key, text) in doozer_images() {
        trees.add(&builtin, format!("images/{key}.yml"), text);
    }
    match okd_tests::repos::shared("fuzz_doozer's corpus seeds") {
        None => eprintln!("fuzz doozer: using built-in seeds only"),
        Some(shared) => {
            let from = shared.join("corpus/ocp-build-data/openshift-4.22");
            let real = tmp.join("openshift-4.22");
            for name in ["group.yml", "group.ext.yml", "streams.yml"] {
                if let Ok(text) = std::fs::read_to_string(from.join(name)) {
                    trees.add(&real, name, text);
                }
            }
            let images: Vec<PathBuf> = std::fs::read_dir(from.join("images"))
                .map(|d| {
                    d.filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
                        .collect()
                })
                .unwrap_or_default();
            let images = spread(images, 10);
            for image in &images {
                let name = image.file_name().unwrap().to_string_lossy().into_owned();
                trees.add(&real, format!("images/{name}"), std::fs::read_to_string(image).unwrap());
            }
            eprintln!(
                "fuzz doozer: seeds from {} ({} images) and the built-in tree",
                from.display(),
                images.len()
            );
        }
    }
    trees
}

fn doozer_import(root: &Path) -> bool {
    let mut accepted = false;
    for options in
        [ImportOptions { variant: Some("okd".into()), ..Default::default() }, ImportOptions::default()]
    {
        match doozer::import(root, &options) {
            Ok(import) => {
                check_warnings(&import.warnings);
                accepted = true;
            }
            Err(e) => {
                assert!(e.kind() != ErrorKind::Internal, "property: import returns no internal error: {e}");
            }
        }
    }
    accepted
}

fn fuzz_doozer_for(budget: Duration) {
    let tmp = tempfile::tempdir().unwrap();
    let mut trees = doozer_trees(tmp.path());
    let seeds = trees.seeds();
    // The unmutated trees import.
    let roots: std::collections::BTreeSet<PathBuf> = trees.files.iter().map(|f| f.0.clone()).collect();
    for root in &roots {
        let import =
            doozer::import(root, &ImportOptions { variant: Some("okd".into()), ..Default::default() });
        match import {
            Ok(i) => eprintln!("fuzz doozer: {}: {}", root.display(), i.summary()),
            Err(e) => eprintln!("fuzz doozer: {}: {e}", root.display()),
        }
    }
    let report = fuzz::run_with(
        &Options { known: KNOWN_DOOZER.to_vec(), ..Options::new("doozer", budget) },
        &seeds,
        &dict(DOOZER_WORDS),
        |index, text| {
            let root = trees.put(index, text);
            doozer_import(&root)
        },
    );
    finish(&report);
}

#[test]
fn fuzz_doozer() {
    fuzz_doozer_for(short());
}

#[test]
#[ignore = "long fuzz run (150 s)"]
fn fuzz_doozer_long() {
    fuzz_doozer_for(long());
}

const TEKTON_PUSH: &str = r#"apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  annotations:
    build.appstudio.openshift.io/repo: https://github.com/openshift/fuzz-operator?rev={{revision}}
    build.appstudio.redhat.com/commit_sha: '{{revision}}'
    build.appstudio.redhat.com/target_branch: '{{target_branch}}'
    pipelinesascode.tekton.dev/max-keep-runs: "3"
    pipelinesascode.tekton.dev/on-cel-expression: event == "push" && target_branch
      == "release-4.20" && ("bundle/***".pathChanged() || ".tekton/fuzz-operator-push.yaml".pathChanged())
  labels:
    appstudio.openshift.io/application: fuzz-4-20
    appstudio.openshift.io/component: fuzz-operator-4-20
    pipelines.appstudio.openshift.io/type: build
  name: fuzz-operator-4-20-on-push
  namespace: fuzz-tenant
spec:
  params:
  - name: git-url
    value: '{{source_url}}'
  - name: revision
    value: '{{revision}}'
  - name: output-image
    value: quay.io/redhat-user-workloads/fuzz-tenant/fuzz-operator-4-20:{{revision}}
  - name: dockerfile
    value: /bundle/Dockerfile.ocp
  - name: path-context
    value: bundle
  - name: build-platforms
    value:
    - linux/x86_64
    - linux/arm64
    - linux/ppc64le
  - name: build-args
    value: [GO_VERSION=1.24, TAGS=scos, not-an-arg]
  - name: build-args-file
    value: release/build.args
  - name: hermetic
    value: "true"
  - name: prefetch-input
    value: '{"type": "gomod", "path": "."}'
  pipelineRef:
    resolver: bundles
    params:
    - {name: name, value: docker-build-multi-platform-oci-ta}
    - {name: bundle, value: quay.io/konflux-ci/tekton-catalog/pipeline-docker-build-multi-platform-oci-ta:abc}
    - {name: kind, value: pipeline}
  taskRunTemplate:
    serviceAccountName: build-pipeline-fuzz-operator-4-20
  timeouts:
    pipeline: 4h
  workspaces:
  - name: git-auth
    secret:
      secretName: '{{ git_auth_secret }}'
status: {}
"#;

const TEKTON_PULL_REQUEST: &str = r#"apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  annotations:
    build.appstudio.openshift.io/repo: https://github.com/openshift/fuzz-operator?rev={{revision}}
    pipelinesascode.tekton.dev/on-event: '[pull_request]'
    pipelinesascode.tekton.dev/on-target-branch: '[release-4.20, main]'
  labels:
    appstudio.openshift.io/application: fuzz-4-20
    appstudio.openshift.io/component: fuzz-operator-4-20
  name: fuzz-operator-4-20-on-pull-request
spec:
  params:
  - name: git-url
    value: https://github.com/openshift/fuzz-operator
  - name: output-image
    value: quay.io/redhat-user-workloads/fuzz-tenant/fuzz-operator-4-20:on-pr-{{revision}}
  - name: image-expires-after
    value: 5d
  - name: dockerfile
    value: Dockerfile.ocp
  - name: path-context
    value: bundle
  pipelineSpec:
    params:
    - name: build-platforms
      default: [linux/x86_64, linux/s390x]
    tasks:
    - name: build
      taskRef: {name: buildah}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: not-a-run
"#;

fn tekton_trees(tmp: &Path) -> Trees {
    let mut trees = Trees::new();
    let crafted = tmp.join("fuzz-operator");
    std::fs::create_dir_all(crafted.join("release")).unwrap();
    std::fs::write(crafted.join("release/build.args"), "# args\nVERSION=4.20\nGO_VERSION=1.23\n").unwrap();
    trees.add(&crafted, ".tekton/fuzz-operator-4-20-push.yaml", TEKTON_PUSH.to_owned());
    trees.add(&crafted, ".tekton/fuzz-operator-4-20-pull-request.yaml", TEKTON_PULL_REQUEST.to_owned());
    match okd_tests::repos::shared("fuzz_tekton's corpus seeds") {
        None => eprintln!("fuzz tekton: using built-in seeds only"),
        Some(shared) => {
            let examples = shared.join("corpus/konflux/tekton-examples");
            let mut repos: Vec<PathBuf> = std::fs::read_dir(&examples)
                .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect())
                .unwrap_or_default();
            repos.sort();
            let mut n = 0;
            for repo in &repos {
                let name = repo.file_name().unwrap().to_string_lossy().into_owned();
                let root = tmp.join(&name);
                let mut files = Vec::new();
                find_files(repo, &|p| p.extension().is_some_and(|e| e == "yaml"), &mut files);
                files.sort();
                for file in files {
                    let text = std::fs::read_to_string(&file).unwrap();
                    // PipelineRuns only: the other documents are skipped by kind anyway.
                    if !text.contains("kind: PipelineRun") {
                        continue;
                    }
                    let file_name = file.file_name().unwrap().to_string_lossy().into_owned();
                    trees.add(&root, format!(".tekton/{file_name}"), text);
                    n += 1;
                }
                // A build-args-file the corpus names, where the importer looks for it.
                if let Ok(args) = std::fs::read_to_string(repo.join("release_container-build.args")) {
                    std::fs::create_dir_all(root.join("release")).unwrap();
                    std::fs::write(root.join("release/container-build.args"), args).unwrap();
                }
            }
            eprintln!("fuzz tekton: {n} PipelineRun files from {} and the crafted ones", examples.display());
        }
    }
    trees
}

fn tekton_import(root: &Path) -> bool {
    match backend_konflux::import_tekton(root) {
        Ok(import) => {
            check_warnings(&import.warnings);
            true
        }
        Err(e) => {
            assert!(
                e.kind() != ErrorKind::Internal,
                "property: import_tekton returns no internal error: {e}"
            );
            false
        }
    }
}

fn fuzz_tekton_for(budget: Duration) {
    let tmp = tempfile::tempdir().unwrap();
    let mut trees = tekton_trees(tmp.path());
    let seeds = trees.seeds();
    let roots: std::collections::BTreeSet<PathBuf> = trees.files.iter().map(|f| f.0.clone()).collect();
    for root in &roots {
        match backend_konflux::import_tekton(root) {
            Ok(i) => eprintln!("fuzz tekton: {}: {}", root.display(), i.summary()),
            Err(e) => eprintln!("fuzz tekton: {}: {e}", root.display()),
        }
    }
    let report = fuzz::run_with(
        &Options { known: KNOWN_TEKTON.to_vec(), ..Options::new("tekton", budget) },
        &seeds,
        &dict(TEKTON_WORDS),
        |index, text| {
            let root = trees.put(index, text);
            tekton_import(&root)
        },
    );
    finish(&report);
}

#[test]
fn fuzz_tekton() {
    fuzz_tekton_for(short());
}

#[test]
#[ignore = "long fuzz run (150 s)"]
fn fuzz_tekton_long() {
    fuzz_tekton_for(long());
}

// ---------------------------------------------------------------------------------------------
// The engine itself.
// ---------------------------------------------------------------------------------------------

#[test]
fn the_rng_is_deterministic_and_small_stays_in_range() {
    let (mut a, mut b) = (fuzz::Rng::new(7), fuzz::Rng::new(7));
    for _ in 0..1000 {
        assert_eq!(a.next_u64(), b.next_u64());
        let n = a.small(10);
        assert!((1..=10).contains(&n), "{n}");
        b.small(10);
    }
}

#[test]
fn mutants_differ_from_their_seed_and_respect_the_length_cap() {
    let seeds = vec!["FROM a\nRUN b\n".to_owned(), "x: [1, 2]\n".to_owned()];
    let mutator = fuzz::Mutator::new(&seeds, DOCKERFILE_DICT, 256);
    let mut rng = fuzz::Rng::new(1);
    let mut changed = 0;
    for i in 0..4000 {
        let m = mutator.mutate(&mut rng, &seeds[i % 2]);
        // U+FFFD repairs may grow a cut input by a few bytes.
        assert!(m.len() <= 256 * 3, "{}", m.len());
        changed += usize::from(m != seeds[i % 2]);
    }
    assert!(changed > 3000, "{changed}");
}

#[test]
fn a_panic_is_caught_saved_and_minimized() {
    let seeds = vec!["line one\nline two\nBOOM here\nline four\n".to_owned(), "fine\n".to_owned()];
    let mut options = Options::new("selftest", Duration::from_millis(300));
    options.minimize = Duration::from_secs(2);
    let report = fuzz::run_with(&options, &seeds, &["x"], |_, text| {
        assert!(!text.contains("BOOM"), "found a boom");
        true
    });
    assert!(report.inputs > 2, "{}", report.summary());
    assert_eq!(report.crashes.len(), 1, "{report:?}");
    let crash = &report.crashes[0];
    assert_eq!((crash.iteration, crash.seed_index), (0, 0));
    assert!(crash.message.contains("found a boom"), "{crash:?}");
    assert!(crash.location.contains("fuzz.rs"), "{crash:?}");
    assert_eq!(std::fs::read_to_string(&crash.file).unwrap(), seeds[0]);
    assert_eq!(std::fs::read_to_string(&crash.minimized).unwrap(), "BOOM");
    let message = report.failure().unwrap();
    assert!(message.contains("selftest-0.txt") && message.contains("seed 0x"), "{message}");
    std::fs::remove_file(&crash.file).unwrap();
    std::fs::remove_file(&crash.minimized).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Regression tests: crashes and property failures the fuzzers found, minimized, fixed since.
// A new find goes here `#[ignore]`d (and into its target's known list) until it is fixed.
// ---------------------------------------------------------------------------------------------

/// The crashes above, for the targets' `Options::known`: a run counts them instead of failing
/// while their regression tests are ignored.
/// (First match wins.)
const KNOWN_DOCKERFILE: &[fuzz::Known] = &[];
const KNOWN_MANIFEST: &[fuzz::Known] = &[];
const KNOWN_DOOZER: &[fuzz::Known] = &[];
const KNOWN_TEKTON: &[fuzz::Known] = &[];

/// Found by `fuzz_manifest` (seed 0xa1f6d4953bacabe4, iteration 31: a key of 170 U+FEFF
/// characters). serde-saphyr's "unknown field `KEY`, expected one of ..." quotes the whole key,
/// and okd_core::manifest::load's `yaml_error` passes the first line on unclipped: one error
/// line of 1,126 characters.
#[test]
fn regression_manifest_an_unknown_key_is_quoted_whole() {
    let text = format!("name: r\n{}: 1\n", "k".repeat(400));
    manifest_check(0, &text);
}

/// A fresh copy of the built-in ocp-build-data tree with `file` replaced by `text`, imported.
fn doozer_case(file: &str, text: &str) -> bool {
    let tmp = tempfile::tempdir().unwrap();
    let mut trees = doozer_trees(tmp.path());
    let index = trees.files.iter().position(|f| f.1 == Path::new(file)).unwrap();
    let root = trees.put(index, text);
    doozer_import(&root)
}

/// Found by `fuzz_doozer` (seed 0x28d8b878a15d87fa, iteration 70: group.ext.yml's `name` became
/// `penshift/ose-base-minimal`). Without `--variant okd` the group's name is the release name
/// as written, so `import` emits a manifest that does not load and returns an Internal error
/// ("the imported manifest does not load: ... release name '/' is not valid").
#[test]
fn regression_doozer_a_group_name_that_is_no_release_name() {
    doozer_case("group.ext.yml", "name: /\n");
}

/// Found by `fuzz_tekton` (seed 0x369651a22544c468, iteration 21: the pull-request run's
/// component label became `fuzz-operatoR-4-20`). Runs are grouped by the label as written, then
/// each group's name is made a DNS-1123 label, so two labels that differ only in case (or in
/// characters dns_label replaces) become two components of the same name, and import_tekton
/// returns an Internal error ("component 'fuzz-operator-4-20' is declared twice").
#[test]
fn regression_tekton_labels_that_differ_in_case_make_one_component_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let mut trees = tekton_trees(tmp.path());
    let index =
        trees.files.iter().position(|f| f.1.ends_with("fuzz-operator-4-20-pull-request.yaml")).unwrap();
    let text = TEKTON_PULL_REQUEST.replace(
        "appstudio.openshift.io/component: fuzz-operator-4-20",
        "appstudio.openshift.io/component: fuzz-operatoR-4-20",
    );
    let root = trees.put(index, &text);
    tekton_import(&root);
}

/// A manifest with one component; `name`, `component` and `target` are quoted into it.
fn small_manifest(name: &str, component: &str, target: &str) -> String {
    format!(
        "name: {name}\nversion: 1.0.0\noutput: {{ registry: quay.io, repository: okd/r }}\nreplace: {{ \"a/b:1\": \"{target}\" }}\ncomponents:\n  - name: {component}\n    source: {{ path: c }}\n"
    )
}

/// Found by `fuzz_manifest` (seed 0xa1f6d4953bacabe4, iterations 52 and 1860: a component name
/// of 300 characters, a `replace` target of 400). Every check in okd_core::manifest::load
/// quotes the offending value whole (`release name '{}'`, `component name '{}'`, `'{}' names no
/// component`, Target::parse's messages, ...), so one long value makes one long error line.
#[test]
fn regression_manifest_a_value_in_a_validation_error_is_quoted_whole() {
    let long = "x".repeat(400);
    assert!(manifest_check(0, &small_manifest("r", "c", "member:c")), "the template loads");
    manifest_check(0, &small_manifest(&long, "c", "member:c"));
    manifest_check(0, &small_manifest("r", &long, "member:c"));
    manifest_check(0, &small_manifest("r", "c", &format!("member:{long}")));
    manifest_check(0, &small_manifest("r", "c", &format!("image:a {long}")));
}

/// Found by `fuzz_doozer` (seed 0x28d8b878a15d87fa, iteration 303: group.yml's `arches: []`).
/// okd_core::doozer's `load_group` keeps only the arches it knows and falls back to amd64 only
/// when the key is missing, so a group whose arches are empty (or all unknown) emits
/// `arches: []`, which the manifest refuses: an Internal error ("an empty arches list builds
/// nothing").
#[test]
fn regression_doozer_a_group_without_a_known_arch() {
    doozer_case("group.yml", &GROUP.replace("arches: [x86_64, aarch64, s390x]", "arches: [sparc]"));
    doozer_case("group.yml", "vars:\n  MAJOR: 4\n  MINOR: 2\narches: []\n");
}

/// Found by `fuzz_tekton` (seed 0x369651a22544c468, iteration 805: the push run's output-image
/// became `R`). backend-konflux's import `output` takes the most common image repository as the
/// manifest's output without checking it is a repository path (here `docker.io` + `R`), so the
/// manifest does not load: an Internal error ("output repository 'R' is not a valid repository
/// path").
#[test]
fn regression_tekton_an_output_image_that_is_no_repository_path() {
    let tmp = tempfile::tempdir().unwrap();
    let mut trees = tekton_trees(tmp.path());
    let index = trees.files.iter().position(|f| f.1.ends_with("fuzz-operator-4-20-push.yaml")).unwrap();
    let text = TEKTON_PUSH.replace(
        "value: quay.io/redhat-user-workloads/fuzz-tenant/fuzz-operator-4-20:{{revision}}",
        "value: R",
    );
    let root = trees.put(index, &text);
    tekton_import(&root);
}

/// Found by `fuzz_dockerfile_long` (seed 0x585dd269ed838a0b, iterations 88086 and 327628).
/// okd_core::dockerfile's `parse` (okd-core/src/dockerfile/parse.rs:19-24) skips one byte order
/// mark and shifts spans back by its 3 bytes, but parse-dockerfile skips a second one itself
/// (parse-dockerfile 0.1.9 lib.rs:1004), so with two every span is 3 bytes early: `raw` is the
/// wrong text and the plan's rewrite splices the new image into the FROM keyword
/// (`FRreg:5000/okd/fuzz:base...`). BuildKit strips one BOM only; the second makes the first
/// instruction unknown.
#[test]
fn regression_dockerfile_two_byte_order_marks_shift_every_span() {
    let text = "\u{feff}\u{feff}FROM r\n";
    if let Ok(parsed) = dockerfile::parse(Path::new("Dockerfile"), text, &BTreeMap::new()) {
        assert_eq!(parsed.refs[0].raw, "r", "the FROM reference's span: {:?}", parsed.refs[0].span);
    }
    let releases = plan_releases();
    let mut check = dockerfile_check(&releases);
    check(0, text);
    check(0, "\u{feff}\u{feff}FROM --RM rop AS u");
}

/// Found by `fuzz_doozer_long` (seed 0x28d8b878a15d87fa, iterations 587 and 2735: streams.yml
/// with `image: r }` and a stream named `:rhel-9-golang`). okd_core::doozer's `load_streams`
/// (okd-core/src/doozer/mod.rs:276-290) takes stream names and images as written, and the
/// manifest refuses both ("stream name ':x' is not valid", "image 'r }' has spaces"): an
/// Internal error.
#[test]
fn regression_doozer_stream_names_and_images_are_not_checked() {
    // The stream is used through its alias rhel-9-golang-{GO_LATEST}.
    doozer_case("streams.yml", &STREAMS.replace("rhel-9-golang:\n", "\":rhel-9-golang\":\n"));
    doozer_case(
        "streams.yml",
        &STREAMS.replace("image: quay.io/centos/centos:stream9", "image: quay.io/a b"),
    );
}

/// Found by `fuzz_tekton_long` (seed 0x369651a22544c468, iteration 751: lvm-operator's push run
/// with `- name: dockerfile` and no value). backend-konflux's import (src/import/parse.rs:234)
/// takes the param's text, "" for a missing value, as the Dockerfile, and the manifest refuses
/// it ("dockerfile is empty"): an Internal error.
#[test]
fn regression_tekton_an_empty_dockerfile_param() {
    let tmp = tempfile::tempdir().unwrap();
    let mut trees = tekton_trees(tmp.path());
    let index = trees.files.iter().position(|f| f.1.ends_with("fuzz-operator-4-20-push.yaml")).unwrap();
    let text = TEKTON_PUSH
        .replace("  - name: dockerfile\n    value: /bundle/Dockerfile.ocp\n", "  - name: dockerfile\n");
    let root = trees.put(index, &text);
    tekton_import(&root);
}

/// Found by `fuzz_manifest` (seed 0xa1f6d4953bacabe4, iteration 1077) once quoted values were
/// cut: a key holding a backquote of its own (`` h`COP`` and 29 U+0085 NEXT LINE characters,
/// which YAML reads as a key but `str::lines` does not split) closes the quote early, and the
/// rest of the key ran on unquoted; the unknown-key message now cuts the key whole.
#[test]
fn regression_manifest_a_key_with_its_own_backquote_is_cut_too() {
    let key = format!("h`COP{}", "\u{85}".repeat(29));
    assert!(!manifest_check(0, &format!("{key}:\n")));
    assert!(!manifest_check(0, &format!("name: r\n{key}{}: 1\n", "`x ".repeat(200))));
}
