#![allow(clippy::unwrap_used)]
//! Bad input for the real `okd` binary. Every case builds a small release in a fresh tempdir,
//! breaks one thing and checks that `okd`:
//!
//! 1. exits with exactly 2;
//! 2. prints `error: MSG`, `--> FILE:LINE:COL` with the offending file and the exact line, and a
//!    `= help:` line;
//! 3. prints nothing on stdout;
//! 4. writes nothing (the tempdir's names and content hashes are identical before and after);
//! 5. never panics.
//!
//! Cases are tables; a failing case names itself and shows okd's stderr. Line numbers refer to
//! [`RELEASE`], [`BASE_DOCKERFILE`] and [`APP_DOCKERFILE`] after the case's edits.

mod common;

use std::{path::Path, process::Command, time::Duration};

use common::{changed_paths, git, okd, okd_within, snapshot, write};

const M: &str = "release.yaml";
const APP_DF: &str = "components/app/Dockerfile";
const BASE_DF: &str = "components/base/Dockerfile";
const VALIDATE: &str = "validate {dir}/release.yaml";
const GRAPH: &str = "graph {dir}/release.yaml";
const GIT_VALIDATE: &str = "validate {dir}/release.yaml --cache-dir {dir}/cache";
const FROMS: &str = "dockerfile froms {dir}/components/app/Dockerfile";

/// The valid release every case starts from (see `valid_release_passes`).
const RELEASE: &str = r#"name: mini
version: 4.17.0-0.mini
arches: [amd64]
output:
  registry: 127.0.0.1:5000
  repository: okd/mini
streams:
  busybox:
    image: localhost/busybox:1.36
    aliases: [quay.io/centos/centos:stream9]
replace:
  "registry.example/base:1": member:base
components:
  - name: base
    source: { path: components/base }
  - name: app
    source: { path: components/app }
    payload: true
"#;
// Lines:   14 `  - name: base`, 15 its source, 16 `  - name: app`, 17 its source, 18 payload;
// text appended by a case starts at line 19, inside component `app`.

const BASE_DOCKERFILE: &str = "FROM quay.io/centos/centos:stream9\nRUN true\n";
const APP_DOCKERFILE: &str = "FROM registry.example/base:1 AS builder\nRUN true\n\
FROM registry.example/base:1\nCOPY --from=builder /etc/hostname /x\n";

// Harness

/// A tempdir holding the valid release, plus `home/` (HOME for okd and git).
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("okd-bad-input-").tempdir().expect("create a tempdir");
    write(dir.path(), M, RELEASE);
    write(dir.path(), BASE_DF, BASE_DOCKERFILE);
    write(dir.path(), APP_DF, APP_DOCKERFILE);
    std::fs::create_dir(dir.path().join("home")).expect("create home");
    dir
}

/// Runs okd in `root` and checks 1, 3, 4 and 5, plus `more` on its stderr; the top-level
/// entries in `skip` may be written. Errors name the case and show okd's stderr.
fn verify(name: &str, root: &Path, skip: &[&str], command_line: &str, more: &[Check]) -> Result<(), String> {
    let before = snapshot(root, skip);
    let out = okd(root, command_line);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let mut problems = Vec::new();
    if out.status.code() != Some(2) {
        problems.push(format!("exit code {:?}, expected 2", out.status.code()));
    }
    if !stdout.is_empty() {
        problems.push(format!("stdout is not empty: {stdout:?}"));
    }
    if stderr.contains("panicked") || stdout.contains("panicked") {
        problems.push("okd panicked".to_owned());
    }
    if !stderr.starts_with("error: ") {
        problems.push("stderr does not start with `error: `".to_owned());
    }
    let first = stderr.lines().next().unwrap_or_default();
    let dir = root.display().to_string();
    for check in more {
        match check {
            Check::Says(text) if !stderr.contains(&text.replace("{dir}", &dir)) => {
                problems.push(format!("stderr does not say {text:?}"));
            }
            Check::FirstLine(text) if !first.contains(text) => {
                problems.push(format!("the error line does not say {text:?}"));
            }
            _ => {}
        }
    }
    let changed = changed_paths(&before, &snapshot(root, skip));
    if !changed.is_empty() {
        problems.push(format!("files were written: {changed:?}"));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!("case `{name}`:\n  - {}\n  stderr:\n{stderr}", problems.join("\n  - ")))
}

/// What stderr must contain: anywhere (`{dir}` stands for the tempdir), or in the `error:` line.
enum Check {
    Says(String),
    FirstLine(&'static str),
}

/// Check 2: the `--> FILE:LINE:` line and a help line.
fn located(file: &str, line: u32) -> Vec<Check> {
    vec![Check::Says(format!("  --> {{dir}}/{file}:{line}:")), Check::Says("\n   = help: ".to_owned())]
}

enum Edit {
    /// Replace the only occurrence of a text in a file.
    Sub(&'static str, &'static str, String),
    /// Append to a file.
    Append(&'static str, String),
    /// Write a whole file.
    Write(&'static str, String),
    /// Delete a file.
    Remove(&'static str),
}

/// One bad input and where okd must point.
struct Case {
    name: &'static str,
    edits: Vec<Edit>,
    command_line: &'static str,
    file: &'static str,
    line: u32,
    messages: Vec<&'static str>,
}

/// `okd validate {dir}/release.yaml` must point at `file:line` and say `message`.
fn case(name: &'static str, file: &'static str, line: u32, message: &'static str) -> Case {
    Case { name, edits: Vec::new(), command_line: VALIDATE, file, line, messages: vec![message] }
}

impl Case {
    fn sub(self, from: &'static str, to: impl Into<String>) -> Self {
        self.sub_in(M, from, to)
    }
    fn sub_in(mut self, file: &'static str, from: &'static str, to: impl Into<String>) -> Self {
        self.edits.push(Edit::Sub(file, from, to.into()));
        self
    }
    /// Appends to the manifest, i.e. to component `app` (from line 19).
    fn append(mut self, text: impl Into<String>) -> Self {
        self.edits.push(Edit::Append(M, text.into()));
        self
    }
    fn write(mut self, file: &'static str, text: impl Into<String>) -> Self {
        self.edits.push(Edit::Write(file, text.into()));
        self
    }
    fn remove(mut self, file: &'static str) -> Self {
        self.edits.push(Edit::Remove(file));
        self
    }
    /// Runs these arguments instead of `validate {dir}/release.yaml`.
    fn cmd(mut self, command_line: &'static str) -> Self {
        self.command_line = command_line;
        self
    }
    /// Another text the message must contain.
    fn also(mut self, message: &'static str) -> Self {
        self.messages.push(message);
        self
    }

    fn apply(&self, root: &Path) -> Result<(), String> {
        for edit in &self.edits {
            match edit {
                Edit::Sub(file, from, to) => {
                    let text = std::fs::read_to_string(root.join(file)).expect("read a fixture file");
                    if text.matches(from).count() != 1 {
                        return Err(format!(
                            "case `{}`: fixture edit: {from:?} is not once in {file}",
                            self.name
                        ));
                    }
                    write(root, file, &text.replacen(from, to, 1));
                }
                Edit::Append(file, more) => {
                    let text = std::fs::read_to_string(root.join(file)).expect("read a fixture file");
                    write(root, file, &(text + more));
                }
                Edit::Write(file, text) => write(root, file, text),
                Edit::Remove(file) => std::fs::remove_file(root.join(file)).expect("remove a fixture file"),
            }
        }
        Ok(())
    }

    fn check(&self) -> Result<(), String> {
        let dir = fixture();
        self.apply(dir.path())?;
        let mut checks = located(self.file, self.line);
        checks.extend(self.messages.iter().map(|m| Check::FirstLine(m)));
        verify(self.name, dir.path(), &[], self.command_line, &checks)
    }
}

fn run_table(cases: &[Case]) {
    let failures: Vec<String> = cases.iter().filter_map(|c| c.check().err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

// Positive controls: the fixtures are valid, so the cases fail for the reason they name.

#[test]
fn valid_release_passes() {
    let dir = fixture();
    let root = dir.path();
    let before = snapshot(root, &[]);
    for command_line in
        ["validate {dir}/release.yaml --strict", "plan {dir}/release.yaml --output json", GRAPH, FROMS]
    {
        let out = okd(root, command_line);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "okd {command_line} failed:\n{stderr}");
        assert!(!out.stdout.is_empty(), "okd {command_line} printed nothing");
    }
    let out = okd(root, VALIDATE);
    assert!(String::from_utf8_lossy(&out.stdout).contains("is valid: 2 components, 2 levels"));
    assert_eq!(changed_paths(&before, &snapshot(root, &[])), Vec::<String>::new());
    // The snapshot notices a new file, a new folder and a changed file.
    write(root, "new/file", "x");
    write(root, APP_DF, "FROM scratch\n");
    assert_eq!(
        changed_paths(&before, &snapshot(root, &[])),
        ["components/app/Dockerfile", "new", "new/file"]
    );
}

// The manifest as YAML: syntax, unknown keys, wrong types.

#[test]
fn manifest_syntax_keys_and_types() {
    let variants = "    variants:\n      scos:\n        payload: false\n";
    run_table(&[
        case("yaml-syntax-error", M, 1, "mapping values are not allowed")
            .sub("name: mini\n", "name: mini: x\n"),
        case("yaml-tab-indentation", M, 18, "tabs disallowed").sub("    payload: true", "\tpayload: true"),
        // The parser notices the missing `}` on the next line.
        case("yaml-unclosed-flow-mapping", M, 18, "did not find expected ',' or '}'")
            .sub("{ path: components/app }", "{ path: components/app"),
        case("empty-file", M, 1, "the manifest is empty").write(M, ""),
        case("unknown-top-level-key", M, 2, "unknown field `relase`")
            .sub("name: mini\n", "name: mini\nrelase: x\n"),
        case("unknown-component-key", M, 19, "unknown field `dockerfle`")
            .append("    dockerfle: Dockerfile\n"),
        case("unknown-source-key", M, 17, "unknown field `branch`")
            .sub("{ path: components/app }", "{ path: components/app, branch: main }"),
        case("unknown-output-key", M, 7, "unknown field `tag`")
            .sub("  repository: okd/mini\n", "  repository: okd/mini\n  tag: latest\n"),
        case("unknown-stream-key", M, 11, "unknown field `mirror`")
            .sub("stream9]\n", "stream9]\n    mirror: quay.io\n"),
        case("unknown-from-key", M, 19, "unknown field `builder`")
            .append("    from: { final: member:base, builder: [member:base] }\n"),
        case("unknown-variant-key", M, 21, "unknown field `payload`").append(variants),
        case("payload-not-a-bool", M, 18, "expected a boolean")
            .sub("payload: true", "payload: \"yes please\""),
        case("payload-quoted-no", M, 18, "expected a boolean").sub("payload: true", "payload: \"no\""),
        case("payload-yaml-1-1-no", M, 18, "expected a boolean").sub("payload: true", "payload: no"),
        case("two-documents", M, 20, "holds more than one YAML document").append("---\nname: other\n"),
        case("arches-a-string", M, 3, "expected sequence").sub("arches: [amd64]", "arches: amd64"),
        case("components-a-map", M, 14, "expected sequence").sub(
            "  - name: base\n    source: { path: components/base }\n  - name: app\n    \
             source: { path: components/app }\n    payload: true\n",
            "  base: { source: { path: components/base } }\n",
        ),
        case("build-arg-value-a-list", M, 19, "expected string").append("    build_args: { TAGS: [scos] }\n"),
        case("duplicate-mapping-key", M, 2, "duplicate mapping key: name")
            .sub("name: mini\n", "name: mini\nname: other\n"),
        // The same errors through the other release commands: still nothing on stdout.
        case("unknown-key-plan-json", M, 19, "unknown field `dockerfle`")
            .append("    dockerfle: Dockerfile\n")
            .cmd("plan {dir}/release.yaml --output json"),
        case("unknown-key-graph", M, 19, "unknown field `dockerfle`")
            .append("    dockerfle: Dockerfile\n")
            .cmd("graph {dir}/release.yaml --format json"),
    ]);
}

// Values: names, version, architectures, output.

#[test]
fn manifest_values() {
    let long = "a".repeat(64);
    run_table(&[
        case("duplicate-component", M, 16, "component 'base' is declared twice (first at line 14)")
            .sub("- name: app", "- name: base"),
        case("component-name-uppercase", M, 16, "'App' is not a DNS-1123 label")
            .sub("- name: app", "- name: App"),
        case("component-name-underscore", M, 16, "'app_x' is not a DNS-1123 label")
            .sub("- name: app", "- name: app_x"),
        case("component-name-64-chars", M, 16, "is not a DNS-1123 label")
            .sub("- name: app", format!("- name: {long}")),
        case("component-name-leading-dash", M, 16, "'-app' is not a DNS-1123 label")
            .sub("- name: app", "- name: -app"),
        case("version-two-parts", M, 2, "version '4.17' is not strict semver")
            .sub("version: 4.17.0-0.mini", "version: \"4.17\""),
        case("version-leading-v", M, 2, "version 'v4.17.0' is not strict semver")
            .sub("version: 4.17.0-0.mini", "version: v4.17.0"),
        case("arch-x86_64", M, 3, "unknown architecture 'x86_64'").sub("[amd64]", "[x86_64]"),
        case("component-arch-aarch64", M, 19, "unknown architecture 'aarch64'")
            .append("    arches: [aarch64]\n"),
        case("registry-with-scheme", M, 5, "output registry 'https://quay.io' is not a registry host")
            .sub("registry: 127.0.0.1:5000", "registry: https://quay.io"),
        case("repository-uppercase", M, 6, "output repository 'okd/Mini' is not a valid repository path")
            .sub("repository: okd/mini", "repository: okd/Mini"),
    ]);
}

// Sources and paths.

#[test]
fn manifest_sources_and_paths() {
    let app_source = "{ path: components/app }";
    run_table(&[
        case("source-path-and-git", M, 17, "exactly one of `path` and `git`")
            .sub(app_source, "{ path: components/app, git: https://example.com/app.git }"),
        case("source-neither", M, 17, "exactly one of `path` and `git`").sub(app_source, "{}"),
        case("ref-on-path-source", M, 17, "`ref` applies only to git sources")
            .sub(app_source, "{ path: components/app, ref: main }"),
        case("path-leaves-manifest-folder", M, 17, "source path '../x' leaves the manifest's folder")
            .sub(app_source, "{ path: ../x }"),
        case("path-absolute", M, 17, "source path '/etc' is absolute").sub(app_source, "{ path: /etc }"),
        case("context-leaves-source", M, 19, "context '../other' leaves the source root")
            .append("    context: ../other\n"),
        case("dockerfile-leaves-context", M, 20, "dockerfile '../../Dockerfile' leaves the context")
            .append("    context: sub\n    dockerfile: ../../Dockerfile\n"),
        case("source-path-does-not-exist", M, 16, "source path 'components/nope' is not a folder")
            .sub(app_source, "{ path: components/nope }"),
        case("dockerfile-missing", M, 16, "component 'app': cannot read its Dockerfile").remove(APP_DF),
        case("dockerfile-missing-plan", M, 16, "cannot read its Dockerfile")
            .remove(APP_DF)
            .cmd("plan {dir}/release.yaml --output yaml"),
    ]);
}

// Targets, `from`, `last_from`, streams and variants.

#[test]
fn manifest_targets_and_from() {
    let other_stream =
        "  other:\n    image: localhost/other:1\n    aliases: [quay.io/centos/centos:stream9]\nreplace:\n";
    run_table(&[
        case("from-and-last_from", M, 20, "component 'app' sets both `from` and `last_from`")
            .append("    from: { final: member:base }\n    last_from: member:base\n"),
        case("from-without-builders-or-final", M, 19, "`from` has neither builders nor final")
            .append("    from: {}\n"),
        case("unknown-member-target", M, 19, "'member:nope' names no component").append("    last_from: member:nope\n"),
        case("unknown-stream-target", M, 19, "'stream:nope' names no stream").append("    last_from: stream:nope\n"),
        case("target-without-prefix", M, 19, "'base' is not a target").append("    last_from: base\n"),
        case("target-unknown-kind", M, 19, "unknown target kind 'tag'").append("    last_from: tag:x\n"),
        case("target-empty-name", M, 19, "'member:' names no member").append("    last_from: \"member:\"\n"),
        case("replace-bad-target", M, 12, "unknown target kind 'pipeline'")
            .sub("\": member:base", "\": pipeline:base"),
        case("from-builder-unknown-member", M, 19, "'member:nope' names no component")
            .append("    from: { builders: [member:nope], final: member:base }\n"),
        case("alias-claimed-by-two-streams", M, 13, "claimed by streams 'busybox' and 'other'")
            .sub("replace:\n", other_stream),
        case("variant-from-and-last_from", M, 22, "component 'app' sets both `from` and `last_from`")
            .append("    variants:\n      scos:\n        from: { final: member:base }\n        last_from: member:base\n"),
        case("variant-unknown-member", M, 21, "'member:nope' names no component")
            .append("    variants:\n      scos:\n        last_from: member:nope\n"),
    ]);
}

// Dockerfiles: the location points into the Dockerfile.

#[test]
fn dockerfile_errors() {
    let builder = "FROM registry.example/base:1 AS builder\n";
    run_table(&[
        case("bad-escape-directive", APP_DF, 1, "invalid escape 'x'")
            .write(APP_DF, format!("# escape=x\n{APP_DOCKERFILE}")),
        case("from-without-arguments", APP_DF, 3, "FROM instruction requires at least one argument")
            .write(APP_DF, format!("{builder}RUN true\nFROM\n")),
        case("copy-without-arguments", APP_DF, 2, "COPY instruction requires at least two arguments")
            .write(APP_DF, format!("{builder}COPY\nFROM registry.example/base:1\n")),
        case("unknown-instruction", APP_DF, 2, "unknown instruction 'FROOM'")
            .write(APP_DF, format!("{builder}FROOM x\nFROM registry.example/base:1\n")),
        case("instruction-before-from", APP_DF, 2, "expected FROM").write(APP_DF, "# comment\nRUN true\n"),
        case("no-from-only-args", APP_DF, 1, "no FROM instruction").write(APP_DF, "ARG X=1\n"),
        case("no-from-empty", APP_DF, 1, "no FROM instruction").write(APP_DF, ""),
        case("unterminated-variable", APP_DF, 3, "missing '}'")
            .write(APP_DF, format!("{builder}RUN true\nFROM ${{BASE\n")),
        case("duplicate-stage-name", APP_DF, 3, "duplicate stage name 'BUILDER'")
            .write(APP_DF, format!("{builder}RUN true\nFROM registry.example/base:1 AS BUILDER\n")),
        case("copy-from-later-stage", APP_DF, 2, "does not refer to an earlier stage")
            .write(APP_DF, format!("{builder}COPY --from=1 /x /y\nFROM registry.example/base:1\n")),
        case("bad-mount-list", APP_DF, 2, "is not a valid comma-separated list")
            .write(APP_DF, format!("{builder}RUN --mount=type=bind,from=\"x /x\n")),
        case("base-dockerfile-syntax", BASE_DF, 1, "unknown instruction").write(BASE_DF, "FORM x\n"),
    ]);
}

// Resolution: positional counts, cycles, strict mode.

#[test]
fn resolution_errors() {
    let base_source = "    source: { path: components/base }\n";
    let base_on_app = "    source: { path: components/base }\n    last_from: member:app\n";
    let positional = "    from: { final: member:base }\n";
    let external = "COPY --from=docker.io/library/alpine:3 /x /y\n";
    run_table(&[
        case("positional-count-mismatch", APP_DF, 3, "component 'app'")
            .append(positional)
            .also("`from` lists 1 parent")
            .also("has 2 FROM line(s)"),
        case("positional-count-mismatch-graph", APP_DF, 3, "`from` lists 1 parent")
            .append(positional)
            .cmd(GRAPH),
        case("positional-too-many", APP_DF, 3, "`from` lists 3 parent")
            .append("    from: { builders: [member:base, member:base], final: member:base }\n")
            .also("has 2 FROM line(s)"),
        case("member-cycle", M, 14, "the build graph has a cycle: base -> app -> base")
            .sub(base_source, base_on_app),
        case("member-cycle-graph", M, 14, "cycle: base -> app -> base")
            .sub(base_source, base_on_app)
            .cmd("graph {dir}/release.yaml --format dot"),
        case("member-self-cycle", M, 14, "cycle: base -> base")
            .sub(base_source, "    source: { path: components/base }\n    last_from: member:base\n"),
        case("strict-external-copy-from", APP_DF, 5, "'docker.io/library/alpine:3' is resolved by no rule")
            .sub_in(APP_DF, "/x\n", format!("/x\n{external}"))
            .cmd("validate {dir}/release.yaml --strict"),
        case(
            "strict-external-from",
            BASE_DF,
            2,
            "component 'base': 'quay.io/other/image:1' is resolved by no rule",
        )
        .write(BASE_DF, "ARG X=1\nFROM quay.io/other/image:1\n")
        .cmd("plan {dir}/release.yaml --strict --output json"),
    ]);
}

// `okd dockerfile` and `okd plan --compare`: the file named on the command line.

#[test]
fn tool_inputs() {
    let broken = "FROM registry.example/base:1 AS builder\nCOPY\n";
    run_table(&[
        case("froms-broken-dockerfile", APP_DF, 2, "COPY instruction requires at least two arguments")
            .write(APP_DF, broken)
            .cmd(FROMS),
        case("froms-json-no-from", APP_DF, 1, "no FROM instruction")
            .write(APP_DF, "# nothing\n")
            .cmd("dockerfile froms {dir}/components/app/Dockerfile --output json"),
        case("froms-unterminated-variable", APP_DF, 1, "missing '}'")
            .write(APP_DF, "FROM ${BASE\n")
            .cmd(FROMS),
        // --in-place must leave neither a changed file nor a temporary one behind.
        case("rewrite-in-place-broken", APP_DF, 2, "COPY instruction requires at least two arguments")
            .write(APP_DF, broken)
            .cmd("dockerfile rewrite {dir}/components/app/Dockerfile --replace a=b --in-place"),
        case("plan-compare-not-json", "plan.json", 3, "not a saved plan")
            .write("plan.json", "{\n  \"components\": [\n  oops\n")
            .cmd("plan {dir}/release.yaml --compare {dir}/plan.json"),
    ]);
}

// Errors without a file position: usage errors and an unknown backend.

/// Checks 1, 3, 4 and 5 and that stderr says each of `must_say`, after `setup` has changed the
/// fixture.
fn unlocated(setup: fn(&Path), command_line: &str, must_say: &[&str]) -> Result<(), String> {
    let dir = fixture();
    setup(dir.path());
    let checks: Vec<Check> = must_say.iter().map(|s| Check::Says(s.to_string())).collect();
    verify(command_line, dir.path(), &[], command_line, &checks)
}

#[test]
fn rewrite_replace_without_equals_is_a_usage_error() {
    let usage = "dockerfile rewrite {dir}/components/app/Dockerfile --replace nothing-to-split";
    unlocated(|_| {}, usage, &["--replace", "'nothing-to-split' is not KEY=VALUE"])
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn rewrite_refuses_a_new_reference_that_is_empty_or_has_spaces() {
    let usage = "dockerfile rewrite {dir}/components/app/Dockerfile --replace old:1=";
    unlocated(|_| {}, usage, &["--replace old:1=", "\"\" is not an image reference"])
        .unwrap_or_else(|e| panic!("{e}"));
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("Dockerfile");
    std::fs::write(&file, "FROM old:1\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_okd"))
        .args(["dockerfile", "rewrite", file.to_str().unwrap(), "--replace", "old:1=has space"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"has space\" is not an image reference"));
}

#[test]
fn rewrite_warns_when_a_replace_matches_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("Dockerfile");
    std::fs::write(&file, "FROM quay.io/a:1\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_okd"))
        .args(["dockerfile", "rewrite", file.to_str().unwrap(), "--replace", "quay.io/b:1=quay.io/c:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "FROM quay.io/a:1\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: --replace quay.io/b:1=") && stderr.contains("nothing replaced"),
        "{stderr}"
    );
}

#[test]
fn plan_with_unknown_backend_lists_the_known_ones() {
    let must_say = ["unknown backend 'nope'", "= help: known backends: ", "local"];
    unlocated(|_| {}, "plan {dir}/release.yaml --backend nope", &must_say).unwrap_or_else(|e| panic!("{e}"));
}

// A git source with a ref the repository does not have.

/// A tempdir with `upstream/`, a git repository with one commit on `main`, and a release whose
/// only component builds it at `reference` (line 5 is `  - name: remote`).
fn git_fixture(reference: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("okd-bad-input-git-").tempdir().expect("create a tempdir");
    let root = dir.path();
    std::fs::create_dir(root.join("home")).expect("create home");
    write(root, "upstream/Dockerfile", "FROM scratch\nCOPY x /x\n");
    write(root, "upstream/x", "x\n");
    let (upstream, home) = (root.join("upstream"), root.join("home"));
    for command_line in ["init --quiet --initial-branch=main", "add .", "commit --quiet -m init"] {
        git(&upstream, &home, command_line);
    }
    let url = format!("file://{}", root.join("upstream").display());
    let release = format!(
        "name: mini\nversion: 4.17.0-0.mini\noutput: {{ registry: quay.io, repository: okd/mini }}\ncomponents:\n  \
         - name: remote\n    source: {{ git: \"{url}\", ref: {reference} }}\n"
    );
    write(root, M, &release);
    dir
}

#[test]
fn git_source_with_an_existing_ref_is_valid() {
    let dir = git_fixture("main");
    let out = okd(dir.path(), GIT_VALIDATE);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn git_source_with_a_missing_ref() {
    let dir = git_fixture("no-such-branch");
    let root = dir.path();
    // The git cache (`cache/`) is allowed to be written: okd creates its bare mirror before it
    // knows that the ref is missing. Everything else must stay as it was.
    let mut checks = located(M, 5);
    checks.extend(["component 'remote'", "'no-such-branch'"].map(Check::FirstLine));
    verify("git-missing-ref", root, &["cache"], GIT_VALIDATE, &checks).unwrap_or_else(|e| panic!("{e}"));
}

// Genuine bugs: these assert the correct behaviour and are ignored until the bug is fixed.

#[test]

fn empty_arches_list_is_located() {
    run_table(&[
        case("release-arches-empty", M, 3, "empty arches list").sub("arches: [amd64]", "arches: []"),
        case("component-arches-empty", M, 19, "empty arches list").append("    arches: []\n"),
    ]);
}

#[test]

fn unterminated_heredoc_points_at_its_start() {
    run_table(&[case("unterminated-heredoc", APP_DF, 2, "here-document")
        .write(APP_DF, "FROM registry.example/base:1 AS builder\nRUN <<EOF\necho hi\n")]);
}

#[test]
fn unreadable_inputs_exit_2() {
    fn not_utf8(root: &Path) {
        std::fs::write(root.join(M), b"name: mini\n\xff\xfe\n").expect("write bytes");
        std::fs::write(root.join(APP_DF), b"FROM a\n\xff\n").expect("write bytes");
    }
    let failures: Vec<String> = [
        unlocated(not_utf8, VALIDATE, &["{dir}/release.yaml", "= help: "]),
        unlocated(not_utf8, FROMS, &["{dir}/components/app/Dockerfile", "= help: "]),
        unlocated(|_| {}, "validate {dir}/components", &["{dir}/components", "= help: "]),
    ]
    .into_iter()
    .filter_map(Result::err)
    .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]

fn fifo_in_build_context_does_not_hang() {
    let dir = fixture();
    let status =
        Command::new("mkfifo").arg(dir.path().join("components/app/pipe")).status().expect("run mkfifo");
    assert!(status.success(), "mkfifo failed");
    let out = okd_within(dir.path(), VALIDATE, Duration::from_secs(10)).expect("okd validate hung on a FIFO");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 2)) && !stderr.contains("panicked"), "stderr:\n{stderr}");
}

/// A file where a folder is needed is bad input (exit 2) naming the path, not a failed build.
#[test]
fn a_file_as_the_state_folder_is_exit_2_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-folder");
    std::fs::write(&file, "x").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_okd"))
        .args(["runs", "--state", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("state folder {} is a file", file.display())), "{stderr}");
}

#[test]
fn version_names_the_commit_and_every_backend() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_okd"))
        .args(["version", "-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert!(v["commit"].as_str().is_some_and(|c| !c.is_empty()), "{v}");
    assert_eq!(v["backends"].as_array().unwrap().len(), 6, "{v}");
}

/// A bad OKD_LOG is reported, and the command still runs with the default filter.
#[test]
fn a_bad_okd_log_is_reported() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_okd"))
        .args(["version"])
        .env("OKD_LOG", "okd_core=notalevel")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning: OKD_LOG=\"okd_core=notalevel\" is not a log filter"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no colour codes off a terminal: {stderr}");
}

// A file where a folder is needed is bad input (exit 2) naming the flag and the path.

#[test]
fn a_file_where_a_folder_is_needed() {
    for (name, command_line, flag) in [
        ("render-out-file", "render {dir}/release.yaml --backend local --out {dir}/afile", "--out"),
        ("generate-out-file", "generate {dir}/release.yaml --out {dir}/afile", "--out"),
        ("plan-cache-dir-file", "plan {dir}/release.yaml --cache-dir {dir}/afile", "--cache-dir"),
    ] {
        let dir = fixture();
        write(dir.path(), "afile", "not a folder\n");
        let says =
            [Check::FirstLine("is a file, not a folder"), Check::Says(format!("{flag} {{dir}}/afile"))];
        verify(name, dir.path(), &[], command_line, &says).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// A huge value in an error is quoted at most a line's worth: a 1 MB name does not come back
/// as a 1 MB error.
#[test]
fn errors_quote_at_most_a_line_of_the_input() {
    let dir = fixture();
    let huge = "x".repeat(1_000_000);
    write(dir.path(), M, &RELEASE.replace("name: mini", &format!("name: {huge}")));
    let out = okd(dir.path(), "validate {dir}/release.yaml");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", &stderr[..stderr.len().min(500)]);
    assert!(stderr.len() < 2_000, "{} bytes of error for one bad value", stderr.len());
    assert!(stderr.lines().all(|l| l.chars().count() < 400), "{}", &stderr[..stderr.len().min(2000)]);
}
