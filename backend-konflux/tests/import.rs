#![allow(clippy::unwrap_used)]
//! `import_tekton`: the corpus's real `.tekton` files (OKD_SHARED) round-trip through
//! import -> plan -> render -> import, the rendered files carry the keys, annotations and params
//! of the real ones, and bad input is located.

mod common;

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

use backend_konflux::{KonfluxBackend, KonfluxConfig, Strategy, import_tekton};
use okd_core::{
    ErrorKind,
    backend::BuildBackend,
    manifest::{LoadOptions, Release, load_str},
};
use serde_json::Value;

const CORPUS_REPOS: [&str; 3] = [
    "openshift-cert-manager-operator",
    "openshift-lvm-operator",
    "openshift-windows-machine-config-operator",
];

fn release(dir: &Path, manifest: &str) -> Release {
    load_str(&dir.join("imported.yaml"), manifest, &LoadOptions::default()).unwrap()
}

/// What a component is, as far as a `.tekton` file can say.
fn shape(release: &Release) -> Vec<String> {
    release
        .components
        .iter()
        .map(|c| {
            format!(
                "{} {:?} {} {} {:?} {:?}",
                c.name, c.source, c.dockerfile, c.context, c.build_args, c.arches
            )
        })
        .collect()
}

fn read_yaml(path: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn pipelineruns(dir: &Path) -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let value = read_yaml(&path);
            if value["kind"] == "PipelineRun" {
                out.push((path, value));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

fn params(run: &Value) -> Vec<(String, Value)> {
    run["spec"]["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_owned(), p["value"].clone()))
        .collect()
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Renders `release` for Konflux into a fresh folder, in the corpus file's namespace.
async fn render(manifest: &str, dir: &Path, namespace: &str) -> tempfile::TempDir {
    let plan = common::plan_offline(dir.join("imported.yaml"), manifest).await;
    let config = KonfluxConfig {
        cluster: okd_runtime::ClusterConfig { namespace: Some(namespace.into()), ..Default::default() },
        ..KonfluxConfig::default()
    };
    let backend =
        KonfluxBackend::from_config(Strategy::Konflux, &okd_runtime::Runtime::default_dirs(), &config);
    let rendered = backend.plan(plan, &Default::default()).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    backend.render(&rendered, out.path()).await.unwrap();
    out
}

#[tokio::test]
async fn the_corpus_tekton_files_round_trip_and_keep_their_shape() {
    let Some(shared) = common::shared("the_corpus_tekton_files_round_trip_and_keep_their_shape") else {
        return;
    };
    for repo in CORPUS_REPOS {
        let dir = shared.join("corpus/konflux/tekton-examples").join(repo);
        let first = import_tekton(&dir).unwrap();
        eprintln!("{repo}: {}", first.summary());
        for w in &first.warnings {
            assert!(w.file.is_file() && w.line >= 1, "{w:?}");
        }
        let corpus = pipelineruns(&dir);
        let namespace = corpus[0].1["metadata"]["namespace"].as_str().unwrap().to_owned();
        let out = render(&first.manifest, &dir, &namespace).await;
        let again = import_tekton(out.path()).unwrap();
        assert_eq!(
            shape(&release(&dir, &again.manifest)),
            shape(&release(&dir, &first.manifest)),
            "{repo}: import -> render -> import changed the components"
        );
        assert!(again.warnings.is_empty(), "{repo}: okd-build's own files map fully: {:?}", again.warnings);
        // Every real PipelineRun has a rendered twin with the same keys, annotations and params.
        for (file, real) in corpus {
            let name = real["metadata"]["name"].as_str().unwrap();
            let slug = "openshift/".to_owned() + repo.trim_start_matches("openshift-");
            let event = if name.ends_with("-on-push") { "push" } else { "pull-request" };
            let component = real["metadata"]["labels"]["appstudio.openshift.io/component"].as_str().unwrap();
            let ours = read_yaml(&out.path().join(&slug).join(format!(".tekton/{component}-{event}.yaml")));
            let what = format!("{} vs {}", file.display(), name);
            assert_eq!(ours["metadata"]["name"], real["metadata"]["name"], "{what}");
            assert_eq!(keys(&ours["metadata"]), keys(&real["metadata"]), "{what}: metadata keys");
            assert_eq!(ours["metadata"]["labels"], real["metadata"]["labels"], "{what}: labels");
            assert_eq!(ours["metadata"]["namespace"], real["metadata"]["namespace"], "{what}");
            let (ours_a, real_a) = (&ours["metadata"]["annotations"], &real["metadata"]["annotations"]);
            let extra: BTreeSet<String> = keys(ours_a).difference(&keys(real_a)).cloned().collect();
            assert!(
                keys(real_a).is_subset(&keys(ours_a)),
                "{what}: annotations {:?} vs {:?}",
                keys(ours_a),
                keys(real_a)
            );
            assert!(
                extra.iter().all(|k| k == "pipelinesascode.tekton.dev/cancel-in-progress"),
                "{what}: {extra:?}"
            );
            for key in [
                "build.appstudio.openshift.io/repo",
                "build.appstudio.redhat.com/commit_sha",
                "build.appstudio.redhat.com/target_branch",
                "build.appstudio.redhat.com/pull_request_number",
            ] {
                assert_eq!(ours_a[key], real_a[key], "{what}: {key}");
            }
            assert_eq!(ours_a["pipelinesascode.tekton.dev/max-keep-runs"].as_str(), Some("3"));
            let cel =
                |v: &Value| one_line(v["pipelinesascode.tekton.dev/on-cel-expression"].as_str().unwrap());
            assert!(cel(real_a).starts_with(&cel(ours_a)), "{what}: {} vs {}", cel(ours_a), cel(real_a));
            // Params: every one okd-build maps is there with the same value, in the same
            // spelling; path-context "." is the default.
            let ours_p = params(&ours);
            let mapped = [
                "git-url",
                "revision",
                "image-expires-after",
                "dockerfile",
                "path-context",
                "build-platforms",
                "build-args",
            ];
            for (key, value) in params(&real).into_iter().filter(|(k, _)| mapped.contains(&k.as_str())) {
                let found = ours_p.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
                match found {
                    Some(v) => assert_eq!(v, value, "{what}: param {key}"),
                    None => assert!(key == "path-context" && value == ".", "{what}: param {key} missing"),
                }
            }
            let output = |run: &Value| params(run).into_iter().find(|(k, _)| k == "output-image").unwrap().1;
            let tag = |v: Value| v.as_str().unwrap().rsplit_once(':').unwrap().1.to_owned();
            assert_eq!(tag(output(&ours)), tag(output(&real)), "{what}: output-image tag");
            if !repo.contains("lvm") {
                assert_eq!(output(&ours), output(&real), "{what}: output-image");
            }
            let spec_keys: BTreeSet<String> = keys(&ours["spec"]);
            let allowed: BTreeSet<String> = keys(&real["spec"])
                .into_iter()
                .chain(["pipelineRef".to_owned(), "taskRunTemplate".to_owned()])
                .collect();
            assert!(spec_keys.is_subset(&allowed), "{what}: spec keys {spec_keys:?} vs {allowed:?}");
            assert_eq!(ours["spec"]["workspaces"], real["spec"]["workspaces"], "{what}: workspaces");
            if let Some(sa) = real["spec"]["taskRunTemplate"]["serviceAccountName"].as_str() {
                assert_eq!(ours["spec"]["taskRunTemplate"]["serviceAccountName"], sa, "{what}");
            }
            assert_eq!(ours["status"], real["status"], "{what}: status");
        }
    }
}

#[tokio::test]
async fn what_the_corpus_cannot_map_is_warned_about_with_its_line() {
    let Some(shared) = common::shared("what_the_corpus_cannot_map_is_warned_about_with_its_line") else {
        return;
    };
    let root = shared.join("corpus/konflux/tekton-examples");
    let lvm = import_tekton(&root.join("openshift-lvm-operator")).unwrap();
    let messages: Vec<String> = lvm
        .warnings
        .iter()
        .map(|w| format!("{}:{}: {}", w.file.file_name().unwrap().to_string_lossy(), w.line, w.message))
        .collect();
    for expected in [
        "lvm-operator-push.yaml:9: the on-cel-expression conditions beyond the event and target branch are not mapped",
        "lvm-operator-push.yaml:34: build-args-file release/container-build.args is not in the folder",
        "lvm-operator-push.yaml:32: param prefetch-input=",
        "lvm-operator-push.yaml:36: the pipelineRef through the git resolver",
        "lvm-operator-push.yaml:47: spec.timeouts is not mapped",
        "lvm-operator-pull-request.yaml:39: param skip-additional-tags=true is not mapped",
    ] {
        assert!(messages.iter().any(|m| m.starts_with(expected)), "no warning {expected:?} in {messages:#?}");
    }
    assert_eq!(lvm.skipped.len(), 2, "the mirror set and the Pipeline: {:?}", lvm.skipped);
    let wmco = import_tekton(&root.join("openshift-windows-machine-config-operator")).unwrap();
    assert_eq!(wmco.components.len(), 2);
    assert!(
        wmco.warnings
            .iter()
            .any(|w| w.message.starts_with("the inline pipelineSpec (14 tasks)") && w.line == 36)
    );
    assert!(wmco.warnings.iter().any(|w| w.message == "param hermetic=true is not mapped"));
    let cert = import_tekton(&root.join("openshift-cert-manager-operator")).unwrap();
    // The inline multi-platform pipeline's default platforms become the component's arches.
    let release = release(&root, &cert.manifest);
    assert_eq!(release.components[0].arches, ["amd64", "arm64"]);
    assert_eq!(
        cert.summary(),
        "2 YAML files: 2 PipelineRuns -> 1 components, 0 other documents skipped, 1 warnings"
    );
}

const HAND_WRITTEN: &str = r#"apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  annotations:
    build.appstudio.openshift.io/repo: https://github.com/openshift/hypershift?rev={{revision}}
    pipelinesascode.tekton.dev/on-cel-expression: event == "push" && target_branch == "release-4.20"
  labels:
    appstudio.openshift.io/application: hypershift-4-20
    appstudio.openshift.io/component: control-plane-operator-4-20
  name: control-plane-operator-4-20-on-push
spec:
  params:
  - name: git-url
    value: '{{source_url}}'
  - name: revision
    value: '{{revision}}'
  - name: output-image
    value: quay.io/redhat-user-workloads/crt-redhat-acm-tenant/control-plane-operator-4-20:{{revision}}
  - name: dockerfile
    value: /Containerfile.control-plane
  - name: build-platforms
    value: [linux/x86_64, linux/arm64, linux/riscv64]
  - name: build-args
    value: [GO_VERSION=1.24, not-an-arg]
  - name: build-args-file
    value: release/build.args
  pipelineRef:
    resolver: bundles
    params:
    - {name: name, value: docker-build-multi-platform-oci-ta}
    - {name: bundle, value: quay.io/konflux-ci/tekton-catalog/pipeline-docker-build-multi-platform-oci-ta:abc}
    - {name: kind, value: pipeline}
"#;

#[test]
fn a_hand_written_repository_imports_with_its_build_args_file() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("hypershift");
    std::fs::create_dir_all(repo.join(".tekton")).unwrap();
    std::fs::create_dir_all(repo.join("release")).unwrap();
    std::fs::write(repo.join(".tekton/control-plane-operator-4-20-push.yaml"), HAND_WRITTEN).unwrap();
    std::fs::write(repo.join("release/build.args"), "# args\nVERSION=4.20\n").unwrap();
    let imported = import_tekton(tmp.path()).unwrap();
    let release = release(tmp.path(), &imported.manifest);
    let c = &release.components[0];
    assert_eq!(c.name, "control-plane-operator-4-20");
    assert_eq!(c.dockerfile, "Containerfile.control-plane", "a leading '/' is the repository root");
    assert_eq!(c.arches, ["amd64", "arm64"]);
    assert_eq!(c.build_args.get("GO_VERSION").map(String::as_str), Some("1.24"));
    assert_eq!(c.build_args.get("VERSION").map(String::as_str), Some("4.20"));
    assert_eq!(release.output.repository, "redhat-user-workloads/crt-redhat-acm-tenant");
    let lines: Vec<(u32, &str)> = imported.warnings.iter().map(|w| (w.line, w.message.as_str())).collect();
    assert!(
        lines.contains(&(
            21,
            "platform linux/riscv64 is not one the manifest knows (amd64, arm64, ppc64le, s390x)"
        )),
        "{lines:?}"
    );
    assert!(
        lines.contains(&(23, "build arg 'not-an-arg' is not NAME=value; it is not imported")),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|(_, m)| m.contains("pipelineRef")), "the docker-build bundle maps: {lines:?}");
}

#[test]
fn invalid_yaml_is_located_and_an_empty_folder_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("broken-push.yaml");
    std::fs::write(&bad, "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata:\n  name: [unclosed\n")
        .unwrap();
    let err = import_tekton(tmp.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let location = err.location().expect("a location");
    assert_eq!(location.file, bad);
    assert!(location.line >= 4, "{err}");
    assert!(err.help().is_some());
    std::fs::remove_file(&bad).unwrap();
    std::fs::write(tmp.path().join("other.yaml"), "kind: ConfigMap\napiVersion: v1\n").unwrap();
    let err = import_tekton(tmp.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("no PipelineRun"), "{err}");
    let err = import_tekton(&tmp.path().join("missing")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn okd_build_renders_import_back_to_the_manifest_components() {
    let plan = common::okd_mini().await;
    let backend = common::backend(Strategy::Konflux, None);
    let rendered = backend.plan(plan.clone(), &Default::default()).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    backend.render(&rendered, out.path()).await.unwrap();
    let imported = import_tekton(out.path()).unwrap();
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    let back = release(out.path(), &imported.manifest);
    assert_eq!(back.components.len(), plan.components.len());
    for original in &plan.release.components {
        let c = back.component(&original.name).unwrap();
        // Each Dockerfile is the component's own, not the OKD copy; build args that only
        // stand for FROM images are dropped.
        assert_eq!(
            (&c.dockerfile, &c.context, &c.build_args),
            (&original.dockerfile, &original.context, &original.build_args)
        );
        assert_eq!(c.arches, original.arches);
    }
    assert_eq!(
        (back.output.registry.as_str(), back.output.repository.as_str()),
        ("127.0.0.1:5000", "okd/okd-mini")
    );
}
