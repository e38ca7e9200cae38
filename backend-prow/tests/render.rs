//! Rendering for Prow: okd-mini from git repositories (golden files), what each config says
//! about FROM lines, what cannot be expressed (located warnings), the cross-config promotion
//! rule, the shapes of the real okd-scos configs and jobs, and the 4.22 corpus offline.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use backend_prow::Strategy;
use okd_core::backend::{Artifact, BackendPlan};
use serde_json::Value;

fn yaml(artifact: &Artifact) -> Value {
    serde_saphyr::from_str(&artifact.content).unwrap()
}

fn by_path(plan: &BackendPlan) -> BTreeMap<String, &Artifact> {
    plan.artifacts
        .iter()
        .map(|a| (format!("{}/{}", a.repository.as_deref().unwrap_or("."), a.path), a))
        .collect()
}

const CLI: &str = "openshift/release/ci-operator/config/okd/cli/okd-cli-main__okd-scos.yaml";

#[tokio::test]
async fn okd_mini_from_git_renders_as_golden_files() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = common::okd_mini_git(dir.path(), |t| t);
    let plan = common::plan_of(&manifest, dir.path()).await;
    let rendered = common::backend_plan(Strategy::Prow, &[], plan.clone()).await;
    let files = by_path(&rendered);
    // One config per repository, plus its presubmits and postsubmits.
    assert_eq!(rendered.artifacts.len(), 3 * plan.components.len());
    let cli = yaml(files[CLI]);
    assert_eq!(
        cli["zz_generated_metadata"],
        serde_json::json!({"org": "okd", "repo": "cli", "branch": "main", "variant": "okd-scos"})
    );
    let item = &cli["images"]["items"][0];
    assert_eq!(item["to"], "cli");
    // The last FROM names member `base`, built in another repository: the promoted stream tag.
    assert_eq!(item["from"], "origin_scos-4.17_base");
    assert_eq!(
        cli["base_images"]["origin_scos-4.17_base"],
        serde_json::json!({"namespace": "origin", "name": "scos-4.17", "tag": "base"})
    );
    // The builder FROM goes through inputs.as with the Dockerfile's literal text.
    assert_eq!(
        item["inputs"]["origin_scos-4.17_builder"]["as"],
        serde_json::json!(["registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.22-openshift-4.17"])
    );
    assert_eq!(cli["promotion"]["to"][0], serde_json::json!({"namespace": "origin", "name": "scos-4.17"}));
    assert_eq!(cli["releases"]["latest"]["integration"]["include_built_images"], true);
    assert!(cli["resources"]["*"]["requests"].is_object());
    // The variant's Dockerfile and TAGS=scos.
    let mco = yaml(
        files["openshift/release/ci-operator/config/okd/machine-config-operator/okd-machine-config-operator-main__okd-scos.yaml"],
    );
    assert_eq!(mco["images"]["items"][0]["dockerfile_path"], "Dockerfile.scos");
    assert_eq!(
        mco["images"]["items"][0]["build_args"],
        serde_json::json!([{"name": "TAGS", "value": "scos"}])
    );
    let post = yaml(files["openshift/release/ci-operator/jobs/okd/cli/okd-cli-main-postsubmits.yaml"]);
    let job = &post["postsubmits"]["okd/cli"][0];
    assert_eq!(job["name"], "branch-ci-okd-cli-main-okd-scos-images");
    assert_eq!(job["labels"]["ci-operator.openshift.io/is-promotion"], "true");
    assert!(
        job["spec"]["containers"][0]["args"].as_array().unwrap().contains(&serde_json::json!("--promote"))
    );
    let mut golden = String::new();
    for artifact in &rendered.artifacts {
        golden.push_str(&format!(
            "===== {}/{}\n{}\n",
            artifact.repository.as_deref().unwrap_or("."),
            artifact.path,
            artifact.content
        ));
    }
    golden.push_str("===== warnings\n");
    for w in &rendered.warnings {
        golden.push_str(&format!("{w}\n"));
    }
    insta::assert_snapshot!("okd_mini_git_prow", golden);
}

#[tokio::test]
async fn what_ci_operator_cannot_express_is_a_located_warning() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = common::okd_mini_git(dir.path(), |t| t);
    let plan = common::plan_of(&manifest, dir.path()).await;
    let rendered = common::backend_plan(Strategy::Prow, &[], plan).await;
    // okd-mini's one external image is a local busybox: not an ImageStream on app.ci.
    let busybox: Vec<String> = rendered
        .warnings
        .iter()
        .filter(|w| w.message.contains("localhost/okd-mini/busybox"))
        .map(|w| w.to_string())
        .collect();
    assert!(!busybox.is_empty());
    for w in &busybox {
        assert!(w.contains("/Dockerfile") && w.split(':').nth(1).unwrap().parse::<u32>().unwrap() > 0, "{w}");
    }
    // Folder sources cannot be Prow configs: a warning at the component's manifest line, no file.
    let example = common::workspace().join("examples/okd-mini/release.yaml");
    let path_plan = common::plan_of(&example, dir.path()).await;
    let rendered = common::backend_plan(Strategy::Prow, &[], path_plan.clone()).await;
    assert!(rendered.artifacts.is_empty());
    assert_eq!(rendered.warnings.len(), path_plan.components.len());
    assert!(rendered.warnings.iter().all(|w| w.line > 0 && w.message.contains("give it a git source")));
}

#[tokio::test]
async fn images_of_one_repository_share_a_config_and_name_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("src/openshift/kubernetes");
    std::fs::create_dir_all(repo.join("images/hyperkube")).unwrap();
    std::fs::create_dir_all(repo.join("images/kube-proxy")).unwrap();
    std::fs::write(
        repo.join("images/hyperkube/Dockerfile"),
        "FROM registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.24-openshift-4.22 AS builder\nRUN make\nFROM registry.ci.openshift.org/ocp/4.22:base-rhel9\nCOPY --from=builder /out /usr/bin/\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("images/kube-proxy/Dockerfile"),
        "ARG BASE=registry.ci.openshift.org/ocp/4.22:hyperkube\nFROM ${BASE}\nFROM registry.ci.openshift.org/ocp/4.22:hyperkube AS tools\nFROM registry.ci.openshift.org/ocp/4.22:base-rhel9\nCOPY --from=tools /a /a\n",
    )
    .unwrap();
    common::repository(&repo, &dir.path().join("src/openshift/kubernetes-repo"));
    let url = format!("file://{}", dir.path().join("src/openshift/kubernetes-repo").display());
    let url = url.replace("kubernetes-repo", "kubernetes");
    std::fs::remove_dir_all(&repo).unwrap();
    std::fs::rename(dir.path().join("src/openshift/kubernetes-repo"), &repo).unwrap();
    let manifest = dir.path().join("release.yaml");
    std::fs::write(
        &manifest,
        format!(
            r#"name: okd-scos
version: 4.22.0
output: {{ registry: registry.ci.openshift.org, repository: origin/scos-4.22 }}
streams:
  rhel-9-golang: {{ image: "registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.24-openshift-4.22" }}
replace:
  "registry.ci.openshift.org/ocp/4.22:base-rhel9": stream:base
  "registry.ci.openshift.org/ocp/4.22:hyperkube": member:hyperkube
  "registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.24-openshift-4.22": stream:rhel-9-golang
components:
  - name: hyperkube
    source: {{ git: "{url}", ref: release-4.22 }}
    context: images/hyperkube
  - name: kube-proxy
    source: {{ git: "{url}", ref: release-4.22 }}
    context: images/kube-proxy
"#
        )
        .replace(
            "streams:\n",
            "streams:\n  base: { image: \"registry.ci.openshift.org/origin/scos-4.22:base-stream9\" }\n",
        ),
    )
    .unwrap();
    common::git(&repo, &["branch", "release-4.22"]);
    let plan = common::plan_of(&manifest, dir.path()).await;
    let rendered = common::backend_plan(Strategy::Prow, &[("e2e_test", "false")], plan).await;
    let files = by_path(&rendered);
    let config = yaml(
        files["openshift/release/ci-operator/config/openshift/kubernetes/openshift-kubernetes-release-4.22__okd-scos.yaml"],
    );
    let items = config["images"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let proxy = items.iter().find(|i| i["to"] == "kube-proxy").unwrap();
    assert_eq!(proxy["from"], "origin_scos-4.22_base-stream9");
    // Built by the same config: the image's own pipeline tag, and the literal texts, the
    // `${BASE}` FROM included (ci-operator matches the text, it does not expand ARGs).
    assert_eq!(
        proxy["inputs"]["hyperkube"]["as"],
        serde_json::json!(["${BASE}", "registry.ci.openshift.org/ocp/4.22:hyperkube"])
    );
    assert_eq!(proxy["context_dir"], "images/kube-proxy");
    assert!(config.get("tests").is_none());
    let hyperkube = items.iter().find(|i| i["to"] == "hyperkube").unwrap();
    // The builder FROM already names the image its stream resolves to: nothing to replace
    // (ci-operator's input detection imports registry.ci references as they are).
    assert!(hyperkube.get("inputs").is_none(), "{hyperkube}");
    assert_eq!(hyperkube["from"], "origin_scos-4.22_base-stream9");
    // No stage name goes into `as`.
    for item in items {
        for input in item["inputs"].as_object().into_iter().flatten() {
            for text in input.1["as"].as_array().unwrap() {
                assert!(!["builder", "tools"].contains(&text.as_str().unwrap()), "{item}");
            }
        }
    }
    // Both presubmits and the postsubmit share the branch's job files.
    let post = yaml(
        files["openshift/release/ci-operator/jobs/openshift/kubernetes/openshift-kubernetes-release-4.22-postsubmits.yaml"],
    );
    assert_eq!(
        post["postsubmits"]["openshift/kubernetes"][0]["branches"],
        serde_json::json!(["^release-4.22$"])
    );
}

#[tokio::test]
async fn a_tag_promoted_from_two_configs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = common::okd_mini_git(dir.path(), |t| t);
    let plan = common::plan_of(&manifest, dir.path()).await;
    let release = dir.path().join("openshift-release");
    let other = release.join("ci-operator/config/openshift/oc");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(
        other.join("openshift-oc-main__okd-scos.yaml"),
        "images:\n  items:\n  - to: cli\n    dockerfile_path: images/cli/Dockerfile.rhel\npromotion:\n  to:\n  - namespace: origin\n    name: scos-4.17\n",
    )
    .unwrap();
    let backend = common::backend(Strategy::Prow, &[("release_repo", release.to_str().unwrap())]);
    let err = backend.plan(plan.clone(), &Default::default()).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("origin/scos-4.17:cli") && text.contains("openshift-oc-main__okd-scos.yaml"),
        "{text}"
    );
    // Promoting elsewhere resolves it.
    let backend = common::backend(
        Strategy::Prow,
        &[("release_repo", release.to_str().unwrap()), ("promotion_name", "scos-5.0")],
    );
    backend.plan(plan, &Default::default()).await.unwrap();
}

/// Keys of every mapping in `value`, by path (`images.items[]`), so shapes compare by place.
fn keys(value: &Value, path: &str, out: &mut BTreeMap<String, BTreeSet<String>>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let dynamic = ["base_images", "inputs", "resources", "labels", "postsubmits", "presubmits"]
                    .iter()
                    .any(|d| path.ends_with(d));
                out.entry(path.to_owned()).or_default().insert(if dynamic { "*".into() } else { k.clone() });
                keys(v, &format!("{path}.{}", if dynamic { "*" } else { k }), out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| keys(i, &format!("{path}[]"), out)),
        _ => {}
    }
}

#[tokio::test]
async fn rendered_configs_and_jobs_keep_the_corpus_shapes() {
    let Some(shared) = common::shared("rendered_configs_and_jobs_keep_the_corpus_shapes") else { return };
    let corpus = shared.join("corpus/openshift-release/ci-operator");
    let mut real: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut walk = vec![corpus.clone()];
    while let Some(dir) = walk.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk.push(path);
            } else if path.to_string_lossy().contains("okd-scos") || path.to_string_lossy().contains("/jobs/")
            {
                let value: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                // Old list-form images count as items.
                let value = match value.get("images") {
                    Some(Value::Array(list)) => {
                        let mut v = value.clone();
                        v["images"] = serde_json::json!({"items": list});
                        v
                    }
                    _ => value,
                };
                keys(&value, "", &mut real);
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let manifest = common::okd_mini_git(dir.path(), |t| t);
    let plan = common::plan_of(&manifest, dir.path()).await;
    let rendered = common::backend_plan(Strategy::Prow, &[], plan).await;
    let mut ours: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for artifact in &rendered.artifacts {
        keys(&yaml(artifact), "", &mut ours);
    }
    for (path, names) in &ours {
        let known = real.get(path).unwrap_or_else(|| panic!("no corpus file has {path}"));
        let unknown: Vec<&String> = names.difference(known).collect();
        assert!(unknown.is_empty(), "{path}: {unknown:?} not in the corpus's okd-scos configs and jobs");
    }
}

#[tokio::test]
async fn the_4_22_corpus_renders_offline_with_a_warning_per_unread_dockerfile() {
    let Some(shared) = common::shared("the_4_22_corpus_renders_offline_with_a_warning_per_unread_dockerfile")
    else {
        return;
    };
    let branch = shared.join("corpus/ocp-build-data/openshift-4.22");
    let options = okd_core::doozer::ImportOptions { variant: Some("okd".into()), ..Default::default() };
    let imported = okd_core::doozer::import(&branch, &options).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("imported.yaml");
    std::fs::write(&manifest, &imported.manifest).unwrap();
    let release = okd_core::manifest::load(&manifest, &Default::default()).unwrap();
    let cache = dir.path().join("empty-cache");
    let sources = okd_core::source::read_sources(
        &release,
        &okd_core::source::SourceOptions { offline: true, cache_dir: cache, jobs: 4 },
    )
    .await
    .unwrap();
    let plan = std::sync::Arc::new(
        okd_core::plan::plan(std::sync::Arc::new(release), &sources, &Default::default()).unwrap(),
    );
    assert_eq!(plan.components.len(), 250);
    let rendered = common::backend_plan(Strategy::Prow, &[], plan.clone()).await;
    // Nothing was read, so no config guesses at FROM lines: every component is a warning at its
    // manifest line, and no config is written.
    assert!(rendered.artifacts.is_empty(), "{:?}", rendered.artifacts.first().map(|a| &a.path));
    assert_eq!(rendered.warnings.len(), 250);
    assert!(
        rendered
            .warnings
            .iter()
            .all(|w| w.file == manifest && w.line > 0 && w.message.contains("was not read"))
    );
}
