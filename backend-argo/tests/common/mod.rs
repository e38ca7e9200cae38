//! Shared by the backend-argo tests: okd-mini with every component in a git repository of its
//! own (file://, as OKD's components are git sources), planned; settings from `--set` pairs; the
//! 4.22 corpus import planned offline. The same approach as backend-prow's tests/common.
#![allow(dead_code, unused_imports, clippy::unwrap_used)]

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use backend_argo::{ArgoConfig, Settings};
use okd_core::{
    manifest::{LoadOptions, load},
    plan::{Plan, PlanOptions, plan},
    source::{SourceOptions, read_sources},
};
use okd_runtime::SettingsLayers;

pub use okd_tests::repos::{git, okd_mini_git, plan_of, repository, shared, workspace};

/// Settings from `--set` pairs (no settings file, no environment).
pub fn settings(pairs: &[(&str, &str)]) -> Settings {
    let flags = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let config: ArgoConfig = SettingsLayers::none().load("payload-pipeline", &flags).unwrap();
    config.settings().unwrap()
}

/// The 4.22 ocp-build-data import (variant okd), planned offline with an empty cache: nothing
/// is read. Returns the plan and the manifest's path (kept alive by `dir`).
pub async fn corpus_4_22(shared: &Path, dir: &Path) -> (Arc<Plan>, PathBuf) {
    let branch = shared.join("corpus/ocp-build-data/openshift-4.22");
    let options = okd_core::doozer::ImportOptions { variant: Some("okd".into()), ..Default::default() };
    let imported = okd_core::doozer::import(&branch, &options).unwrap();
    let manifest = dir.join("imported.yaml");
    std::fs::write(&manifest, &imported.manifest).unwrap();
    let release = load(&manifest, &LoadOptions::default()).unwrap();
    let options = SourceOptions { offline: true, cache_dir: dir.join("empty-cache"), jobs: 4 };
    let sources = read_sources(&release, &options).await.unwrap();
    let plan = plan(Arc::new(release), &sources, &PlanOptions::default()).unwrap();
    (Arc::new(plan), manifest)
}

/// A release of two git components whose Dockerfile (`odd`) has what the Build API cannot
/// express: a `COPY --from` naming an image whose text a later stage takes as its name (and a
/// later `FROM` uses as a stage), a `RUN --mount from=` image, one text mapped to two images by
/// position, next to what it can (a stream by position, a member by replace, written with an
/// ARG, the last FROM). Returns the manifest.
pub const ODD_DOCKERFILE: &str = "\
ARG CACHE=registry.example.com/cache:1
FROM registry.example.com/tools:1 AS tools
COPY --from=builder /x /x
RUN --mount=type=bind,from=registry.example.com/cache:1,target=/cache true
FROM registry.example.com/golang:1.22 AS builder
FROM registry.example.com/golang:1.22 AS second
FROM builder AS third
COPY --from=builder /a /a
FROM registry.example.com/base:1
COPY --from=${CACHE} /c /c
";

pub fn odd_release(dir: &Path) -> PathBuf {
    let files = dir.join("files");
    for (name, dockerfile) in
        [("base", "FROM registry.access.redhat.com/ubi9/ubi-minimal:latest\n"), ("odd", ODD_DOCKERFILE)]
    {
        let folder = files.join(name);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("Dockerfile"), dockerfile).unwrap();
        repository(&folder, &dir.join("src/example").join(name));
    }
    let url = |name: &str| format!("file://{}", dir.join("src/example").join(name).display());
    let manifest = dir.join("odd.yaml");
    std::fs::write(
        &manifest,
        format!(
            r#"name: odd
version: 4.17.0-0.odd
arches: [amd64, arm64]
output: {{ registry: quay.io, repository: example/odd }}
streams:
  ubi: {{ image: "quay.io/example/ubi:9", aliases: ["registry.access.redhat.com/ubi9/ubi-minimal:latest"] }}
components:
  - name: base
    source: {{ git: "{}", ref: main }}
  - name: odd
    source: {{ git: "{}", ref: main }}
    payload: true
    replace:
      builder: member:base
      "registry.example.com/cache:1": member:base
    from:
      builders: [stream:ubi, member:base, stream:ubi]
      final: member:base
"#,
            url("base"),
            url("odd")
        ),
    )
    .unwrap();
    manifest
}

/// The templates of a Workflow(Template) spec, by name.
pub fn templates(spec: &serde_json::Value) -> std::collections::BTreeMap<String, serde_json::Value> {
    let list = spec["templates"].as_array().unwrap();
    list.iter().map(|t| (t["name"].as_str().unwrap().to_owned(), t.clone())).collect()
}

/// Every task of every DAG template of `spec` (the entry DAG and its parts), with its DAG's name.
pub fn dag_tasks(spec: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    templates(spec)
        .into_iter()
        .filter_map(|(name, t)| t["dag"]["tasks"].as_array().map(|tasks| (name, tasks.clone())))
        .flat_map(|(name, tasks)| tasks.into_iter().map(move |t| (name.clone(), t)))
        .collect()
}

/// A task's arguments, by name.
pub fn arguments(task: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    let list = task["arguments"]["parameters"].as_array().into_iter().flatten();
    list.map(|p| (p["name"].as_str().unwrap().to_owned(), p["value"].as_str().unwrap().to_owned())).collect()
}

/// What each component task's `resource` steps create, with Argo's substitutions made: the
/// step's parameters (the task's, and each `withParam` item's fields) into the template's
/// manifest. (component, object).
pub fn created_objects(spec: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    let templates = templates(spec);
    let mut out = Vec::new();
    for (_, task) in dag_tasks(spec) {
        let args = arguments(&task);
        let Some(component_template) = templates.get(task["template"].as_str().unwrap()) else { continue };
        for group in component_template["steps"].as_array().into_iter().flatten() {
            for step in group.as_array().unwrap() {
                let template = &templates[step["template"].as_str().unwrap()];
                let Some(manifest) = template["resource"]["manifest"].as_str() else { continue };
                let items: Vec<serde_json::Value> = match step["withParam"].as_str() {
                    Some(list) => {
                        let name = list.trim_start_matches("{{inputs.parameters.").trim_end_matches("}}");
                        serde_json::from_str(&args[name]).unwrap()
                    }
                    None => vec![serde_json::json!({})],
                };
                for item in items {
                    let mut text = manifest.replace("{{workflow.name}}", "okd-build-test");
                    for p in step["arguments"]["parameters"].as_array().into_iter().flatten() {
                        let mut value = p["value"].as_str().unwrap().to_owned();
                        for (k, v) in &args {
                            value = value.replace(&format!("{{{{inputs.parameters.{k}}}}}"), v);
                        }
                        for (k, v) in item.as_object().into_iter().flatten() {
                            value = value.replace(&format!("{{{{item.{k}}}}}"), v.as_str().unwrap());
                        }
                        text = text.replace(
                            &format!("{{{{inputs.parameters.{}}}}}", p["name"].as_str().unwrap()),
                            &value,
                        );
                    }
                    assert!(!text.contains("{{"), "unsubstituted: {text}");
                    out.push((args["component"].clone(), serde_saphyr::from_str(&text).unwrap()));
                }
            }
        }
    }
    out
}
