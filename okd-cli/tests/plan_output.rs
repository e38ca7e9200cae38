#![allow(clippy::unwrap_used)]
//! Snapshots of what `okd` prints for examples/okd-mini. Fingerprints and content hashes are
//! redacted: they change with every edit of the example, and their behaviour is tested in
//! okd-core. Review changes with `cargo insta review`.

use std::{path::PathBuf, process::Command};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Runs `okd` from the workspace root; returns stdout, asserting success and a quiet stderr.
fn okd(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_okd")).args(args).current_dir(root()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "okd {args:?} failed: {stderr}");
    assert_eq!(stderr, "", "okd {args:?} wrote to stderr");
    String::from_utf8(out.stdout).unwrap()
}

/// Replaces every `sha256:<hex>` with a placeholder.
fn redact_hashes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("sha256:") {
        out.push_str(&rest[..i]);
        out.push_str("sha256:[hash]");
        rest = rest[i + 7..].trim_start_matches(|c: char| c.is_ascii_hexdigit());
    }
    out.push_str(rest);
    out
}

const RELEASE: &str = "examples/okd-mini/release.yaml";

#[test]
fn plan_table() {
    insta::assert_snapshot!(redact_hashes(&okd(&["plan", RELEASE])));
}

#[test]
fn plan_json() {
    let json: serde_json::Value = serde_json::from_str(&okd(&["plan", RELEASE, "--output", "json"])).unwrap();
    insta::assert_json_snapshot!(json, {
        ".components[].fingerprint" => "[fingerprint]",
        ".components[].source.content" => "[content]",
    });
}

#[test]
fn plan_yaml_has_the_same_data_as_json() {
    let json: serde_json::Value = serde_json::from_str(&okd(&["plan", RELEASE, "-o", "json"])).unwrap();
    let yaml = okd(&["plan", RELEASE, "-o", "yaml"]);
    for c in json["components"].as_array().unwrap() {
        assert!(yaml.contains(c["fingerprint"].as_str().unwrap()), "{}", c["name"]);
    }
}

#[test]
fn plan_compare_marks_what_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let saved = tmp.path().join("plan.json");
    let mut json: serde_json::Value = serde_json::from_str(&okd(&["plan", RELEASE, "-o", "json"])).unwrap();
    // Pretend `cli` had another fingerprint when the plan was saved.
    for c in json["components"].as_array_mut().unwrap() {
        if c["name"] == "cli" {
            c["fingerprint"] = "sha256:0".into();
        }
    }
    std::fs::write(&saved, json.to_string()).unwrap();
    let out: serde_json::Value =
        serde_json::from_str(&okd(&["plan", RELEASE, "-o", "json", "--compare", saved.to_str().unwrap()]))
            .unwrap();
    let rebuild: Vec<_> = out["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["rebuild"] == true)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(rebuild, ["cli"]);
}

#[test]
fn graph_dot() {
    insta::assert_snapshot!(okd(&["graph", RELEASE, "--format", "dot"]));
}

#[test]
fn backends_table() {
    insta::assert_snapshot!(okd(&["backends"]));
}

#[test]
fn validate_summary() {
    insta::assert_snapshot!(okd(&["validate", RELEASE, "--strict"]));
}
