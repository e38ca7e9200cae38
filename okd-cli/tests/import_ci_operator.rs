#![allow(clippy::unwrap_used)]
//! `okd import ci-operator` end to end: a small openshift/release-shaped config folder imported
//! by the real binary (manifest on stdout or in -o, located warnings and the summary on
//! stderr), the result validated by the same binary, and a malformed config refused with its
//! file and line and nothing written.

mod common;

use std::path::Path;

use common::{okd, snapshot, write};
use okd_core::manifest::{LoadOptions, load_str};

const IMAGES: &str = "openshift/images/openshift-images-release-4.21__okd-scos.yaml";
const OC: &str = "openshift/oc/openshift-oc-release-4.21__okd-scos.yaml";
const OC_OCP: &str = "openshift/oc/openshift-oc-release-4.21.yaml";

/// Old list form; base-stream9 is promoted into origin/scos-4.21.
const IMAGES_CONFIG: &str = "base_images:
  ocp_builder_stream9:
    name: builder
    namespace: ocp
    tag: stream9
images:
- dockerfile_path: base/Dockerfile.rhel9
  from: ocp_builder_stream9
  to: base-stream9
promotion:
  to:
  - name: scos-4.21
    namespace: origin
zz_generated_metadata:
  branch: release-4.21
  org: openshift
  repo: images
  variant: okd-scos
";

/// Object form; cli builds on the base-stream9 that openshift/images promotes.
const OC_CONFIG: &str = "base_images:
  ocp_builder_rhel-9-golang-1.24-openshift-4.21:
    name: builder
    namespace: ocp
    tag: rhel-9-golang-1.24-openshift-4.21
  origin_scos-4.21_base-stream9:
    name: scos-4.21
    namespace: origin
    tag: base-stream9
images:
  items:
  - build_args:
    - name: TAGS
      value: scos
    dockerfile_path: images/cli/Dockerfile.rhel
    from: origin_scos-4.21_base-stream9
    inputs:
      ocp_builder_rhel-9-golang-1.24-openshift-4.21:
        as:
        - builder
        - registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.24-openshift-4.21
    to: cli
  - dockerfile_literal: |
      FROM scratch
    to: inline
promotion:
  to:
  - name: scos-4.21
    namespace: origin
tests:
- as: e2e-aws-ovn
  steps:
    workflow: openshift-e2e-aws
zz_generated_metadata:
  branch: release-4.21
  org: openshift
  repo: oc
  variant: okd-scos
";

/// A tempdir with `config/` laid out as openshift/release ci-operator/config, and `home/`.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &format!("config/{IMAGES}"), IMAGES_CONFIG);
    write(dir.path(), &format!("config/{OC}"), OC_CONFIG);
    // The OCP config of the same branch: another variant, left out by --variant.
    write(dir.path(), &format!("config/{OC_OCP}"), &ocp_config());
    std::fs::create_dir(dir.path().join("home")).unwrap();
    dir
}

/// The OCP build of cli: no TAGS=scos, promoted to ocp/4.21.
fn ocp_config() -> String {
    OC_CONFIG
        .replace(
            "  - build_args:\n    - name: TAGS\n      value: scos\n    dockerfile_path",
            "  - dockerfile_path",
        )
        .replace("  - name: scos-4.21\n    namespace: origin\n", "  - name: \"4.21\"\n    namespace: ocp\n")
        .replace("  variant: okd-scos\n", "")
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn a_config_folder_imports_to_stdout_with_located_warnings_on_stderr() {
    let dir = fixture();
    let out = okd(dir.path(), "import ci-operator {dir}/config --variant okd-scos");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let release = load_str(&dir.path().join("release.yaml"), &stdout, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{e}\n{stdout}"));
    let names: Vec<&str> = release.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["base-stream9", "cli"]);
    assert_eq!(release.version.to_string(), "4.21.0");
    assert_eq!(release.output_image("cli"), "registry.ci.openshift.org/origin/scos-4.21:cli");
    assert_eq!(
        release.component("cli").unwrap().last_from.as_ref().map(ToString::to_string).as_deref(),
        Some("member:base-stream9")
    );
    let oc = dir.path().join("config").join(OC);
    for (needle, start) in [
        ("dockerfile_literal", "image inline: dockerfile_literal"),
        ("tests:", "tests (1 entry) is not imported"),
    ] {
        let expected = format!("warning: {}:{}: {start}", oc.display(), line_of(OC_CONFIG, needle));
        assert!(stderr.lines().any(|l| l.starts_with(&expected)), "{expected}\n{stderr}");
    }
    assert_eq!(
        stderr.lines().last().unwrap(),
        "3 YAML files: 2 ci-operator configs -> 2 components (2 payload), 1 files and 1 images skipped, 1 stage aliases dropped, 3 warnings"
    );
}

#[test]
fn with_out_the_manifest_is_written_and_validates_and_output_json_is_the_report_on_stdout() {
    let dir = fixture();
    let out = okd(
        dir.path(),
        "import ci-operator {dir}/config/openshift/images {dir}/config/openshift/oc --variant okd-scos --version 4.21.0-0.okd-scos -O {dir}/okd.yaml -o json",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let manifest = std::fs::read_to_string(dir.path().join("okd.yaml")).unwrap();
    assert!(manifest.contains("version: \"4.21.0-0.okd-scos\""), "{manifest}");
    // stdout is the JSON report alone (the manifest went to the file); stderr has no JSON.
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report.get("manifest").is_none(), "with --out the manifest is in the file only");
    assert!(!stderr.contains('{'), "{stderr}");
    assert_eq!(report["components"][1]["name"], "cli");
    assert_eq!(report["stage_aliases"][0]["alias"], "builder");
    assert_eq!(report["release"]["stream"], "origin/scos-4.21");
    // The same binary accepts what it wrote (offline: the git sources are not fetched).
    let run = okd(dir.path(), "validate {dir}/okd.yaml --offline --cache-dir {dir}/cache");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("is valid: 2 components"), "{stdout}");
}

#[test]
fn a_malformed_config_exits_2_with_its_file_and_line_and_writes_nothing() {
    let dir = fixture();
    let bad = OC_CONFIG.replace("    to: cli\n", "    to: [cli]\n");
    write(dir.path(), &format!("config/{OC}"), &bad);
    let before = snapshot(dir.path(), &[]);
    let out = okd(dir.path(), "import ci-operator {dir}/config -O {dir}/okd.yaml");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    let at = format!("--> {}:{}:", dir.path().join("config").join(OC).display(), line_of(&bad, "to: [cli]"));
    assert!(stderr.contains(&at), "{at}\n{stderr}");
    assert!(stderr.contains("images.items[].to must be a string") && stderr.contains("= help:"), "{stderr}");
    assert_eq!(snapshot(dir.path(), &[]), before, "nothing written");
    assert!(!Path::new(&dir.path().join("okd.yaml")).exists());
}

#[test]
fn a_tag_built_by_two_configs_exits_2_naming_both() {
    let dir = fixture();
    let out = okd(dir.path(), "import ci-operator {dir}/config/openshift/oc");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for (file, text) in [(OC_OCP, ocp_config()), (OC, OC_CONFIG.to_owned())] {
        let named =
            format!("{}:{}", dir.path().join("config").join(file).display(), line_of(&text, "to: cli"));
        assert!(stderr.contains(&named), "{named}\n{stderr}");
    }
}

#[test]
fn the_help_teaches_with_examples() {
    let dir = fixture();
    let out = okd(dir.path(), "import ci-operator --help");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    for needle in
        ["--variant", "--version", "--output", "--out", "--git-base", "Examples:", "okd import ci-operator "]
    {
        assert!(stdout.contains(needle), "{needle}\n{stdout}");
    }
}
