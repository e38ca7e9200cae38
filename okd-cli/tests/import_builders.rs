#![allow(clippy::unwrap_used)]
//! `--okd-builders` end to end through the real binary: `okd import ocp-build-data` and `okd
//! import ci-operator` with the example template (examples/okd-builders), the report without
//! it, bad template folders (exit 2, the path named, nothing written), and `okd plan` listing
//! the Go versions (table and JSON), on small trees and on the corpus 4.22 branch (OKD_SHARED).

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// Runs okd in `dir` (HOME and the git cache inside it).
fn okd(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_okd"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir.join("home"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .output()
        .unwrap()
}

fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

fn stderr(run: &Output) -> String {
    String::from_utf8_lossy(&run.stderr).into_owned()
}

/// The example template, copied to `dir/okd-builders`.
fn example_template(dir: &Path) -> PathBuf {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/okd-builders/Dockerfile");
    write(dir, "okd-builders/Dockerfile", &std::fs::read_to_string(example).unwrap());
    dir.join("okd-builders")
}

/// ocp-build-data with `installer` on the GO_LATEST stream (Go 1.24) and `ovn` on Go 1.25.
fn ocp_build_data(root: &Path) -> PathBuf {
    let dir = root.join("ocp-build-data");
    write(
        &dir,
        "group.yml",
        "vars:\n  MAJOR: 4\n  MINOR: 22\n  GO_LATEST: \"1.24\"\nname: openshift-{MAJOR}.{MINOR}\n",
    );
    write(
        &dir,
        "streams.yml",
        "rhel-9-golang:\n  aliases: [rhel-9-golang-{GO_LATEST}]\n  image: quay.io/art/art-images:golang-builder-v1.24.11-el9\n  upstream_image: registry.ci.openshift.org/ocp/builder:rhel-9-golang-{GO_LATEST}-openshift-{MAJOR}.{MINOR}\nrhel-9-golang-1.25:\n  image: quay.io/art/art-images:golang-builder-v1.25.3-el9\ncentos_stream9:\n  image: quay.io/centos/centos:stream9\n",
    );
    for (key, builder) in [("installer", "rhel-9-golang"), ("ovn", "rhel-9-golang-1.25")] {
        write(
            &dir,
            &format!("images/{key}.yml"),
            &format!(
                "content:\n  source:\n    git:\n      url: https://github.com/openshift/{key}\n      branch:\n        target: release-4.22\nname: openshift/ose-{key}\nfor_payload: true\nfrom:\n  builder:\n  - stream: {builder}\n  stream: centos_stream9\n"
            ),
        );
    }
    dir
}

#[test]
fn ocp_build_data_with_okd_builders_adds_one_builder_per_go_version_and_plan_lists_them() {
    let tmp = tempfile::tempdir().unwrap();
    let data = ocp_build_data(tmp.path());
    example_template(tmp.path());
    let run = okd(
        tmp.path(),
        &[
            "import",
            "ocp-build-data",
            data.to_str().unwrap(),
            "--okd-builders",
            "okd-builders",
            "-O",
            "release.yaml",
        ],
    );
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(0), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[lines.len() - 2],
        "Go builders: 1.24 (builder-golang-1-24, 1 component), 1.25 (builder-golang-1-25, 1 component)"
    );
    assert!(!err.contains("warning:"), "the example declares ARG GO_VERSION: {err}");
    let manifest = std::fs::read_to_string(tmp.path().join("release.yaml")).unwrap();
    assert!(manifest.contains("  - name: builder-golang-1-25  # Go 1.25's builder"), "{manifest}");
    assert!(
        manifest.contains("source: { path: \"okd-builders\" }") && manifest.contains("GO_VERSION: \"1.24\"")
    );

    let plan = okd(tmp.path(), &["plan", "release.yaml", "--offline"]);
    let table = String::from_utf8_lossy(&plan.stdout);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let section = table.split("Go builders (version, builder, components):\n").nth(1).unwrap();
    assert_eq!(
        section.lines().take(4).collect::<Vec<_>>(),
        [
            "  1.24  builder-golang-1-24  1 component",
            "      installer",
            "  1.25  builder-golang-1-25  1 component",
            "      ovn"
        ],
        "{table}"
    );
    let plan = okd(tmp.path(), &["plan", "release.yaml", "--offline", "-o", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(
        json["go_versions"],
        serde_json::json!([
            {"version": "1.24", "builders": ["builder-golang-1-24"], "components": ["installer"]},
            {"version": "1.25", "builders": ["builder-golang-1-25"], "components": ["ovn"]}
        ])
    );
    let ovn = json["components"].as_array().unwrap().iter().find(|c| c["name"] == "ovn").unwrap();
    assert_eq!(
        ovn["go_builders"],
        serde_json::json!([{"version": "1.25", "builder": "builder-golang-1-25"}])
    );
    assert_eq!(ovn["depends_on"], serde_json::json!(["builder-golang-1-25"]));
}

#[test]
fn without_the_flag_the_versions_are_reported_and_a_warning_names_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let data = ocp_build_data(tmp.path());
    let run = okd(tmp.path(), &["import", "ocp-build-data", data.to_str().unwrap(), "-o", "json"]);
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(0), "{err}");
    assert!(
        err.contains("Go builders: 1.24 (external, 1 component), 1.25 (external, 1 component)\n"),
        "{err}"
    );
    let warning = err.lines().find(|l| l.contains("--okd-builders")).unwrap();
    assert!(warning.starts_with("warning: ") && warning.contains("images/installer.yml:"), "{warning}");
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["go_versions"][1]["references"], serde_json::json!(["stream:rhel-9-golang-1.25"]));
    assert_eq!(report["go_versions"][1]["builder"], serde_json::Value::Null);
    // The plan of that manifest names the external builders it builds on.
    std::fs::write(tmp.path().join("r.yaml"), report["manifest"].as_str().unwrap()).unwrap();
    let plan = okd(tmp.path(), &["plan", "r.yaml", "--offline"]);
    let table = String::from_utf8_lossy(&plan.stdout);
    assert!(
        table.contains("  1.24  quay.io/art/art-images:golang-builder-v1.24.11-el9  1 component\n"),
        "{table}"
    );
}

#[test]
fn ci_operator_with_okd_builders_points_builder_base_images_at_the_builders() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write(
        tmp.path(),
        "config/openshift/oc/openshift-oc-release-4.22__okd-scos.yaml",
        "base_images:\n  ocp_builder_rhel-9-golang-1.24-openshift-4.22: {name: builder, namespace: ocp, tag: rhel-9-golang-1.24-openshift-4.22}\nbuild_root:\n  image_stream_tag: {name: release, namespace: openshift, tag: rhel-9-release-golang-1.24-openshift-4.22}\nimages:\n  items:\n  - dockerfile_path: images/cli/Dockerfile.rhel\n    inputs:\n      ocp_builder_rhel-9-golang-1.24-openshift-4.22:\n        as: [registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.24-openshift-4.21]\n    to: cli\npromotion:\n  to: [{name: scos-4.22, namespace: origin}]\n",
    );
    example_template(tmp.path());
    let run = okd(
        tmp.path(),
        &["import", "ci-operator", config.to_str().unwrap(), "--okd-builders", "okd-builders"],
    );
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(0), "{err}");
    assert!(
        err.contains(
            "Go builders: 1.24 (builder-golang-1-24, 1 component); build roots name Go 1.24 (not built"
        ),
        "{err}"
    );
    let manifest = String::from_utf8_lossy(&run.stdout);
    assert!(manifest.contains("  - name: builder-golang-1-24"), "{manifest}");
    assert!(
        manifest.contains(
            "\"registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.24-openshift-4.21\": \"member:builder-golang-1-24\""
        ),
        "{manifest}"
    );
}

#[test]
fn a_bad_template_folder_is_exit_2_naming_the_path_with_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let data = ocp_build_data(tmp.path());
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let outside = example_template(elsewhere.path());
    for (template, says) in [
        ("empty".to_owned(), "--okd-builders empty has no Dockerfile"),
        ("missing".to_owned(), "--okd-builders missing: no such folder"),
        (outside.display().to_string(), "is outside"),
    ] {
        for command in ["ocp-build-data", "ci-operator"] {
            let run = okd(
                tmp.path(),
                &["import", command, data.to_str().unwrap(), "--okd-builders", &template, "-O", "out.yaml"],
            );
            let err = stderr(&run);
            assert_eq!(run.status.code(), Some(2), "{command} {template}: {err}");
            assert!(err.starts_with("error: ") && err.contains(says) && err.contains(&template), "{err}");
            assert!(err.contains("help:"), "{err}");
            assert!(run.stdout.is_empty() && !tmp.path().join("out.yaml").exists(), "nothing written");
        }
    }
}

#[test]
fn the_corpus_4_22_branch_builds_go_1_24_and_1_25_builders_first() {
    let Some(shared) = std::env::var_os("OKD_SHARED") else {
        eprintln!("skipping: OKD_SHARED is unset, so the ocp-build-data corpus cannot be read (CI sets it)");
        return;
    };
    let branch = PathBuf::from(shared).join("corpus/ocp-build-data/openshift-4.22");
    let tmp = tempfile::tempdir().unwrap();
    example_template(tmp.path());
    let args = ["import", "ocp-build-data", branch.to_str().unwrap(), "--variant", "okd"];
    let run = okd(tmp.path(), &[&args[..], &["--okd-builders", "okd-builders", "-O", "okd.yaml"]].concat());
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let plan = okd(tmp.path(), &["plan", "okd.yaml", "--offline", "-o", "json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let json: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let versions: Vec<(&str, &serde_json::Value)> = json["go_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_str().unwrap(), &v["builders"]))
        .collect();
    assert_eq!(
        versions,
        [
            ("1.24", &serde_json::json!(["builder-golang-1-24"])),
            ("1.25", &serde_json::json!(["builder-golang-1-25"]))
        ]
    );
    for c in json["components"].as_array().unwrap() {
        for used in c["go_builders"].as_array().into_iter().flatten() {
            let builder = used["builder"].as_str().unwrap();
            assert!(c["depends_on"].as_array().unwrap().iter().any(|d| d == builder), "{}", c["name"]);
            assert_eq!(
                builder,
                format!("builder-golang-{}", used["version"].as_str().unwrap().replace('.', "-"))
            );
        }
        let level = c["level"].as_u64().unwrap();
        if c["name"].as_str().unwrap().starts_with("builder-golang-") {
            assert_eq!(level, 0, "builders are built first");
        }
    }
}
