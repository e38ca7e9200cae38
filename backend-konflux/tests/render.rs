#![allow(clippy::unwrap_used)]
//! Rendering: okd-mini (golden), the files as they land on disk, and the 4.22 ocp-build-data
//! branch imported (OKD_SHARED).

mod common;

use std::collections::BTreeMap;

use backend_konflux::Strategy;
use okd_core::{
    backend::{Artifact, BuildBackend},
    doozer::{ImportOptions, import},
};
use serde_json::Value;

fn yaml(artifact: &Artifact) -> Value {
    serde_saphyr::from_str(&artifact.content).unwrap()
}

fn param<'a>(run: &'a Value, name: &str) -> Option<&'a Value> {
    run["spec"]["params"].as_array()?.iter().find(|p| p["name"] == name).map(|p| &p["value"])
}

fn by_path(artifacts: &[Artifact]) -> BTreeMap<String, &Artifact> {
    artifacts.iter().map(|a| (format!("{}/{}", a.repository.as_deref().unwrap_or("."), a.path), a)).collect()
}

#[tokio::test]
async fn okd_mini_renders_as_golden_files() {
    let plan = common::okd_mini().await;
    let rendered = common::backend_plan(Strategy::Konflux, Some("okd-tenant"), plan).await;
    let mut text = String::new();
    for a in &rendered.artifacts {
        let repo = a.repository.as_deref().unwrap_or("(konflux)");
        text.push_str(&format!("===== {repo} {} {:?}\n{}\n", a.path, a.components, a.content));
    }
    insta::assert_snapshot!("okd_mini_konflux", text);
}

#[tokio::test]
async fn okd_mini_components_get_tekton_files_okd_dockerfiles_and_build_args() {
    let plan = common::okd_mini().await;
    let rendered = common::backend_plan(Strategy::Konflux, None, plan.clone()).await;
    let files = by_path(&rendered.artifacts);
    for c in &plan.components {
        for (suffix, name) in [("push", "on-push"), ("pull-request", "on-pull-request")] {
            // okd-mini's source folders are named after their components.
            let key = format!("okd-mini/{0}/.tekton/{0}-{suffix}.yaml", c.name);
            let run = yaml(files.get(&key).unwrap_or_else(|| panic!("{key} missing: {:?}", files.keys())));
            assert_eq!(run["metadata"]["name"], format!("{}-{name}", c.name));
            assert!(run["metadata"].get("namespace").is_none(), "no namespace unless configured");
            assert_eq!(
                run["spec"]["taskRunTemplate"]["serviceAccountName"],
                format!("build-pipeline-{}", c.name)
            );
        }
    }
    // coredns: its builder FROM needs an OKD Dockerfile, its `FROM ${BASE_IMAGE}` a build arg.
    let coredns = yaml(files["okd-mini/coredns/.tekton/coredns-push.yaml"]);
    assert_eq!(param(&coredns, "dockerfile").unwrap(), "Dockerfile.okd");
    assert_eq!(param(&coredns, "build-args").unwrap()[0], "BASE_IMAGE=127.0.0.1:5000/okd/okd-mini:base");
    let okd = &files["okd-mini/coredns/Dockerfile.okd"].content;
    assert!(
        okd.contains("FROM ${BASE_IMAGE}")
            && okd.contains("FROM 127.0.0.1:5000/okd/okd-mini:builder AS builder"),
        "{okd}"
    );
    // machine-config-operator: the scos variant's Dockerfile and build arg.
    let mco = yaml(files["okd-mini/machine-config-operator/.tekton/machine-config-operator-push.yaml"]);
    assert_eq!(param(&mco, "dockerfile").unwrap(), "Dockerfile.scos.okd");
    assert_eq!(param(&mco, "build-args").unwrap()[0], "TAGS=scos");
    // base: a context below the root, with build-service's path filter.
    let base = yaml(files["okd-mini/base/.tekton/base-push.yaml"]);
    assert_eq!(param(&base, "path-context").unwrap(), "base");
    let cel =
        base["metadata"]["annotations"]["pipelinesascode.tekton.dev/on-cel-expression"].as_str().unwrap();
    assert!(cel.contains("\"base/***\".pathChanged()"), "{cel}");
    // The tenant: one Application, a Component and an ImageRepository per component, nudges
    // from the build graph.
    let tenant: Vec<Value> = serde_saphyr::from_multiple(&files["./konflux/tenant.yaml"].content).unwrap();
    let kinds: Vec<&str> = tenant.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "Component").count(), 10);
    assert_eq!(kinds.iter().filter(|k| **k == "ImageRepository").count(), 10);
    let builder =
        tenant.iter().find(|o| o["kind"] == "Component" && o["metadata"]["name"] == "builder").unwrap();
    let nudges: Vec<&str> =
        builder["spec"]["build-nudges-ref"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(nudges.contains(&"cli") && !nudges.contains(&"network-tools"), "{nudges:?}");
    // The cost account counts every file.
    let summary: Value = serde_saphyr::from_str(&files["./konflux/repositories.yaml"].content).unwrap();
    assert_eq!(summary["totals"]["repositories"], 10);
    assert_eq!(summary["totals"]["files"], 30, "two .tekton files and one OKD Dockerfile per repository");
}

#[tokio::test]
async fn a_from_that_takes_its_image_from_an_arg_needs_only_a_build_arg() {
    let manifest = r#"name: args
version: 1.0.0
output: { registry: quay.io, repository: okd/args }
replace: { "upstream/base:1": member:base }
components:
  - { name: base, source: { git: "https://github.com/okd/base", ref: main } }
  - { name: app, source: { git: "https://github.com/okd/app", ref: release-1 }, arches: [amd64, arm64] }
"#;
    let release = std::sync::Arc::new(
        okd_core::manifest::load_str(std::path::Path::new("args.yaml"), manifest, &Default::default())
            .unwrap(),
    );
    let dockerfiles = [
        ("base".to_owned(), "FROM scratch\n".to_owned()),
        ("app".to_owned(), "ARG BASE=upstream/base:1\nFROM ${BASE}\nRUN true\n".to_owned()),
    ]
    .into();
    let sources = okd_core::plan::sources_from_memory(&release, &dockerfiles);
    let plan = okd_core::plan::plan(release, &sources, &Default::default()).unwrap();
    let rendered = common::backend_plan(Strategy::Konflux, None, std::sync::Arc::new(plan)).await;
    let files = by_path(&rendered.artifacts);
    assert!(!files.keys().any(|k| k.ends_with(".okd")), "no OKD Dockerfile: {:?}", files.keys());
    let app = yaml(files["okd/app/.tekton/app-push.yaml"]);
    assert_eq!(param(&app, "dockerfile").unwrap(), "Dockerfile");
    assert_eq!(param(&app, "build-args").unwrap()[0], "BASE=quay.io/okd/args:base");
    assert_eq!(param(&app, "build-platforms").unwrap().as_array().unwrap().len(), 2);
    assert_eq!(app["spec"]["pipelineRef"]["params"][0]["value"], "docker-build-multi-platform-oci-ta");
    let cel =
        app["metadata"]["annotations"]["pipelinesascode.tekton.dev/on-cel-expression"].as_str().unwrap();
    assert_eq!(cel, "event == \"push\" && target_branch == \"release-1\"");
    let summary: Value = serde_saphyr::from_str(&files["./konflux/repositories.yaml"].content).unwrap();
    let about = &summary["repositories"]["okd/app"]["components"]["app"];
    assert_eq!(about["okd_dockerfile"], "not needed: FROM images come from build args");
}

#[tokio::test]
async fn render_writes_repositories_and_the_tenant_folder() {
    let plan = common::okd_mini().await;
    let backend = common::backend(Strategy::Konflux, Some("okd-tenant"));
    let rendered = backend.plan(plan, &Default::default()).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let summary = backend.render(&rendered, out.path()).await.unwrap();
    assert!(out.path().join("okd-mini/installer/.tekton/installer-push.yaml").is_file());
    assert!(out.path().join("okd-mini/installer/images/installer/Dockerfile.ci.okd").is_file());
    assert!(out.path().join("konflux/tenant.yaml").is_file());
    assert!(out.path().join("konflux/repositories.yaml").is_file());
    assert_eq!(summary.repositories, 10);
    assert_eq!(summary.files.len(), rendered.artifacts.len());
}

#[tokio::test]
async fn doozer_konflux_renders_run_templates_with_pac_off() {
    let plan = common::okd_mini().await;
    let rendered = common::backend_plan(Strategy::DoozerKonflux, Some("okd-tenant"), plan.clone()).await;
    let files = by_path(&rendered.artifacts);
    let run = yaml(files["./konflux/pipelineruns/installer.yaml"]);
    assert_eq!(param(&run, "git-url").unwrap(), "https://git.example/okd/okd-build-sources");
    assert_eq!(param(&run, "revision").unwrap(), "art-okd-4.17-assembly-stream-dgk-installer");
    assert_eq!(param(&run, "dockerfile").unwrap(), "Dockerfile");
    let fp = plan.component("installer").unwrap().fingerprint.clone().unwrap();
    let suffix = &fp.trim_start_matches("sha256:")[..12];
    assert_eq!(run["metadata"]["name"], format!("installer-{suffix}"));
    assert_eq!(
        *param(&run, "output-image").unwrap(),
        format!("127.0.0.1:5000/okd/okd-mini:installer-{suffix}")
    );
    assert!(run["metadata"]["annotations"].get("pipelinesascode.tekton.dev/on-cel-expression").is_none());
    assert!(run["spec"].get("workspaces").is_none(), "no git-auth Secret configured: no workspace");
    let tenant: Vec<Value> = serde_saphyr::from_multiple(&files["./konflux/tenant.yaml"].content).unwrap();
    for component in tenant.iter().filter(|o| o["kind"] == "Component") {
        let annotations = &component["metadata"]["annotations"];
        assert_eq!(annotations["build.appstudio.openshift.io/status"], "{\"pac\":{\"state\":\"disabled\"}}");
        assert_eq!(component["spec"]["containerImage"], "127.0.0.1:5000/okd/okd-mini");
        assert!(component["spec"].get("build-nudges-ref").is_none(), "nudges do not fire for direct runs");
    }
    assert!(
        files.contains_key("./konflux/build-branches/art-okd-4.17-assembly-stream-dgk-installer/Dockerfile")
    );
}

#[tokio::test]
async fn the_4_22_branch_renders_for_konflux() {
    let Some(shared) = common::shared("the_4_22_branch_renders_for_konflux") else { return };
    let branch = shared.join("corpus/ocp-build-data/openshift-4.22");
    let imported =
        import(&branch, &ImportOptions { variant: Some("okd".into()), ..Default::default() }).unwrap();
    let manifest = branch.join("imported-release.yaml");
    let plan = common::plan_offline(manifest.clone(), &imported.manifest).await;
    assert_eq!(plan.components.len(), 250);
    let rendered = common::backend_plan(Strategy::Konflux, Some("okd-tenant"), plan.clone()).await;
    // Sources were not read: components with Doozer's positional parents need an OKD
    // Dockerfile that cannot be written. They get no PipelineRuns naming it, and a warning at
    // their manifest line says so; the account counts them.
    let files = by_path(&rendered.artifacts);
    let summary: Value = serde_saphyr::from_str(&files["./konflux/repositories.yaml"].content).unwrap();
    let not_written = summary["totals"]["okd_dockerfiles_not_written"].as_u64().unwrap() as usize;
    assert!(not_written > 200, "{}", summary["totals"]);
    let tekton = rendered.artifacts.iter().filter(|a| a.path.starts_with(".tekton/")).count();
    assert_eq!(tekton, 2 * (plan.components.len() - not_written));
    assert_eq!(rendered.warnings.len(), 250, "one per unread source");
    let without_runs = rendered.warnings.iter().filter(|w| w.message.contains("no PipelineRuns")).count();
    assert_eq!(without_runs, not_written);
    assert!(rendered.warnings.iter().all(|w| w.file == manifest && w.line > 0));
    assert!(
        !rendered.artifacts.iter().any(|a| a.content.contains(".okd\n") && a.path.starts_with(".tekton/"))
    );

    // With the sources read (made up in memory: Dockerfiles with the FROM lines each
    // component's `from` needs, at a commit per repository), every component gets its
    // PipelineRuns and OKD Dockerfile.
    let release = std::sync::Arc::new(
        okd_core::manifest::load_str(&manifest, &imported.manifest, &Default::default()).unwrap(),
    );
    let sources = okd_tests::synthetic::sources_in_memory(&release);
    let plan = std::sync::Arc::new(okd_core::plan::plan(release, &sources, &Default::default()).unwrap());
    let rendered = common::backend_plan(Strategy::Konflux, Some("okd-tenant"), plan.clone()).await;
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings.first());
    let files = by_path(&rendered.artifacts);
    let tekton = rendered.artifacts.iter().filter(|a| a.path.starts_with(".tekton/")).count();
    assert_eq!(tekton, 2 * plan.components.len());
    let summary: Value = serde_saphyr::from_str(&files["./konflux/repositories.yaml"].content).unwrap();
    // A multi-arch component takes the multi-platform pipeline and its platforms.
    let installer = files
        .iter()
        .find(|(k, _)| k.ends_with("/.tekton/installer-push.yaml"))
        .map(|(_, a)| yaml(a))
        .unwrap();
    let platforms = param(&installer, "build-platforms").unwrap().as_array().unwrap().len();
    let pipeline = &installer["spec"]["pipelineRef"]["params"][0]["value"];
    assert_eq!((pipeline.as_str().unwrap(), platforms), ("docker-build-multi-platform-oci-ta", 4));
    let cel = installer["metadata"]["annotations"]["pipelinesascode.tekton.dev/on-cel-expression"]
        .as_str()
        .unwrap();
    assert!(cel.contains("target_branch == \"release-4.22\""), "{cel}");
    let mut golden = String::new();
    for key in [
        "openshift/installer/.tekton/installer-push.yaml",
        "openshift/installer/.tekton/installer-pull-request.yaml",
    ] {
        golden.push_str(&format!("===== {key}\n{}\n", files[key].content));
    }
    golden.push_str(&format!("===== totals\n{}\n", serde_saphyr::to_string(&summary["totals"]).unwrap()));
    insta::assert_snapshot!("okd_4_22_installer_konflux", golden);
}

/// `app` builds on `base`: its OKD Dockerfile must name base's Konflux output image
/// (`<registry>/<repository>/base:<commit>`), pinned by digest so nudges can move it.
const PINS: &str = r#"name: pins
version: 1.0.0
output: { registry: quay.io, repository: okd/pins }
components:
  - { name: base, source: { git: "https://github.com/okd/base", ref: main } }
  - { name: app, source: { git: "https://github.com/okd/app", ref: main }, from: { final: "member:base" } }
"#;

#[tokio::test]
async fn a_parent_is_its_konflux_image_pinned_by_the_last_digest_or_a_marked_placeholder() {
    let path = std::path::Path::new("pins.yaml");
    let release = std::sync::Arc::new(okd_core::manifest::load_str(path, PINS, &Default::default()).unwrap());
    let sources = okd_tests::synthetic::sources_in_memory(&release);
    let plan = std::sync::Arc::new(okd_core::plan::plan(release, &sources, &Default::default()).unwrap());
    let base = plan.component("base").unwrap();
    let okd_core::plan::PlannedSource::Commit { commit, .. } = &base.source else { panic!("a git source") };
    let image = format!("quay.io/okd/pins/base:{commit}");

    let dir = tempfile::tempdir().unwrap();
    let runtime = okd_runtime::Runtime::new(dir.path().join("state"), dir.path().join("cache"))
        .with_settings(okd_runtime::SettingsLayers::none());
    let config = backend_konflux::KonfluxConfig::default();
    let backend = backend_konflux::KonfluxBackend::from_config(Strategy::Konflux, &runtime, &config);
    let dockerfile = |rendered: &okd_core::backend::BackendPlan| {
        rendered
            .artifacts
            .iter()
            .find(|a| a.path == "Dockerfile.okd" && a.components == ["app"])
            .unwrap()
            .content
            .clone()
    };

    // Never built: a placeholder digest, said to be one; and no state folder was created.
    let rendered = backend.plan(plan.clone(), &Default::default()).await.unwrap();
    let text = dockerfile(&rendered);
    let placeholder = format!("FROM {image}@sha256:{}", "0".repeat(64));
    assert!(text.contains(&placeholder), "{text}");
    let marker = text
        .lines()
        .position(|l| l.starts_with("# okd-build: the parent below has no Konflux build"))
        .unwrap();
    assert!(text.lines().nth(marker + 1).unwrap().starts_with(&placeholder), "{text}");
    assert!(!dir.path().join("state").exists(), "a render creates no run store");

    // Built before with the current fingerprint: the recorded digest.
    let digest = format!("sha256:{}", "ab".repeat(32));
    runtime
        .store()
        .get()
        .unwrap()
        .record_build(&okd_runtime::store::BuildRecord {
            backend: "konflux".into(),
            fingerprint: base.fingerprint.clone().unwrap(),
            component: "base".into(),
            image: image.clone(),
            build_ref: "base-on-push-x".into(),
            digest: Some(digest.clone()),
            built_at: jiff::Timestamp::now(),
            log: None,
        })
        .unwrap();
    let text = dockerfile(&backend.plan(plan, &Default::default()).await.unwrap());
    assert!(text.contains(&format!("FROM {image}@{digest}")), "{text}");
    assert!(!text.contains("# okd-build: the parent below"), "{text}");
}
