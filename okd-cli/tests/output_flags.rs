#![allow(clippy::unwrap_used)]
//! `-o`/`--output` is the output format in every command, and JSON goes to stdout alone: a
//! program can parse stdout of validate, graph, froms and import as it is.

mod common;

use std::path::Path;

use common::okd;
use serde_json::Value;

fn example(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/okd-mini").join(rel).display().to_string()
}

fn json_of(dir: &Path, command_line: &str) -> Value {
    let out = okd(dir, command_line);
    assert_eq!(out.status.code(), Some(0), "{command_line}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{command_line}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn validate_graph_and_froms_speak_json_with_dash_o() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("home")).unwrap();
    let release = example("release.yaml");
    let validated = json_of(dir.path(), &format!("validate {release} -o json"));
    assert_eq!((validated["valid"].as_bool(), validated["components"].as_u64()), (Some(true), Some(10)));
    assert_eq!(validated["release"]["name"], "okd-mini");

    let graph = json_of(dir.path(), &format!("graph {release} -o json"));
    assert_eq!(graph, json_of(dir.path(), &format!("graph {release} --format json")), "--format is an alias");

    let froms =
        json_of(dir.path(), &format!("dockerfile froms {} -o json", example("components/cli/Dockerfile")));
    let first = &froms.as_array().unwrap()[0];
    assert!(first["original"].is_string() && first.get("raw").is_none(), "{first}");
    // The same name `okd plan` uses for the text as written.
    let plan = json_of(dir.path(), &format!("plan {release} -o json"));
    let cli = plan["components"].as_array().unwrap().iter().find(|c| c["name"] == "cli").unwrap();
    assert!(cli.to_string().contains("\"original\""), "{cli}");
}
