//! Rendering for the okd-payload-pipeline way: okd-mini from git repositories for both engines
//! (golden files), what each BuildConfig says about FROM lines, what cannot be expressed
//! (located warnings), the DAG against the build graph, a run's Workflow for a subset, and the
//! 4.22 corpus offline.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use backend_argo::render_testing::{artifacts, cluster_objects, workflow};
use okd_core::{backend::RunId, plan::Plan};
use serde_json::{Value, json};

const REPO: &str = "okd-project/okd-payload-pipeline";

fn files(plan: &Plan, pairs: &[(&str, &str)]) -> (BTreeMap<String, String>, Vec<String>) {
    let (artifacts, warnings) = artifacts(plan, &common::settings(pairs)).unwrap();
    let files = artifacts
        .into_iter()
        .map(|a| {
            assert_eq!(a.repository.as_deref(), Some(REPO), "{}", a.path);
            (a.path, a.content)
        })
        .collect();
    (files, warnings.iter().map(ToString::to_string).collect())
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

fn documents(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text).unwrap().into_iter().filter(|d| !d.is_null()).collect()
}

use common::{arguments, created_objects, dag_tasks, templates};

/// Component tasks, by name, from every DAG of `spec`.
fn tasks(spec: &Value, plan: &Plan) -> BTreeMap<String, Value> {
    dag_tasks(spec)
        .into_iter()
        .map(|(_, t)| (t["name"].as_str().unwrap().to_owned(), t))
        .filter(|(n, _)| plan.component(n).is_some())
        .collect()
}

/// The tasks of DAG template `dag`, by name.
fn tasks_of(spec: &Value, dag: &str) -> BTreeMap<String, Value> {
    dag_tasks(spec)
        .into_iter()
        .filter(|(d, _)| d == dag)
        .map(|(_, t)| (t["name"].as_str().unwrap().to_owned(), t))
        .collect()
}

/// (parent, child) edges between component tasks, in every DAG of `spec`.
fn dag_edges(spec: &Value, plan: &Plan) -> BTreeSet<(String, String)> {
    let mut edges = BTreeSet::new();
    for (name, task) in tasks(spec, plan) {
        for parent in task["dependencies"].as_array().into_iter().flatten() {
            edges.insert((parent.as_str().unwrap().to_owned(), name.clone()));
        }
    }
    edges
}

/// The build graph's edges, read from the graph itself (not from `depends_on`).
fn graph_edges(plan: &Plan) -> BTreeSet<(String, String)> {
    let graph = &plan.graph;
    (0..graph.len())
        .flat_map(|i| {
            graph.parents(i).iter().map(move |&p| (graph.name(p).to_owned(), graph.name(i).to_owned()))
        })
        .collect()
}

/// Golden text: every file, then the warnings; temporary paths, commits and fingerprints
/// (which vary per run) redacted.
fn golden(
    plan: &Plan,
    files: &BTreeMap<String, String>,
    warnings: &[String],
    dir: &std::path::Path,
) -> String {
    let mut text = String::new();
    for (path, content) in files {
        text.push_str(&format!("===== {path}\n{content}\n"));
    }
    text.push_str("===== warnings\n");
    for w in warnings {
        text.push_str(&format!("{w}\n"));
    }
    for c in &plan.components {
        if let okd_core::plan::PlannedSource::Commit { commit, .. } = &c.source {
            text = text.replace(commit, &format!("<commit of {}>", c.name));
        }
        if let Some(fp) = &c.fingerprint {
            text = text.replace(fp.trim_start_matches("sha256:"), &format!("<fingerprint of {}>", c.name));
        }
    }
    text.replace(&dir.display().to_string(), "<tmp>")
}

#[tokio::test]
async fn okd_mini_from_git_renders_as_golden_files() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = common::okd_mini_git(dir.path(), |t| t);
    let plan = common::plan_of(&manifest, dir.path()).await;
    let (bc, warnings) = files(&plan, &[]);
    // okd-mini's references are all expressible with source.images and dockerStrategy.from.
    assert!(warnings.is_empty(), "{warnings:?}");
    let names: BTreeSet<&str> = bc.keys().map(String::as_str).collect();
    for c in &plan.components {
        assert!(names.contains(format!("buildconfigs/{}.yaml", c.name).as_str()), "{}", c.name);
    }
    for path in
        ["buildconfigs/imagestreams.yaml", "buildconfigs/kustomization.yaml", "argo-workflows/okd-build.yaml"]
    {
        assert!(names.contains(path), "{path}");
    }
    assert!(!names.iter().any(|n| n.contains("nightly") || n.starts_with("shipwright/")), "{names:?}");
    let kustomization = yaml(&bc["buildconfigs/kustomization.yaml"]);
    assert_eq!(kustomization["resources"].as_array().unwrap().len(), plan.components.len() + 1);

    let cli = yaml(&bc["buildconfigs/cli.yaml"]);
    let planned = plan.component("cli").unwrap();
    let okd_core::plan::PlannedSource::Commit { url, commit, .. } = &planned.source else { panic!() };
    assert_eq!(
        (cli["apiVersion"].as_str(), cli["kind"].as_str()),
        (Some("build.openshift.io/v1"), Some("BuildConfig"))
    );
    assert_eq!(cli["metadata"]["labels"]["okd-build.io/component"], "cli");
    assert_eq!(cli["spec"]["source"]["git"], json!({"uri": url, "ref": commit}));
    assert_eq!(cli["spec"]["source"]["contextDir"], ".");
    // The builder FROM through source.images with the Dockerfile's literal text (lowercase `as`
    // alias and all), the last FROM through dockerStrategy.from.
    assert_eq!(
        cli["spec"]["source"]["images"],
        json!([{"from": {"kind": "ImageStreamTag", "name": "release:builder"},
                "as": ["registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.22-openshift-4.17"]}])
    );
    let docker = &cli["spec"]["strategy"]["dockerStrategy"];
    assert_eq!(docker["from"], json!({"kind": "ImageStreamTag", "name": "release:base"}));
    assert_eq!(docker["imageOptimizationPolicy"], "SkipLayers");
    assert_eq!(docker["dockerfilePath"], "Dockerfile");
    assert_eq!(cli["spec"]["output"]["to"], json!({"kind": "ImageStreamTag", "name": "release:cli"}));
    // The context is a folder; the Dockerfile is named relative to it.
    let base = yaml(&bc["buildconfigs/base.yaml"]);
    assert_eq!(base["spec"]["source"]["contextDir"], "base");
    assert_eq!(base["spec"]["strategy"]["dockerStrategy"]["dockerfilePath"], "Dockerfile.rhel9");
    assert_eq!(base["spec"]["strategy"]["dockerStrategy"]["from"]["name"], "tools:busybox");
    let mco = yaml(&bc["buildconfigs/machine-config-operator.yaml"]);
    assert_eq!(
        mco["spec"]["strategy"]["dockerStrategy"]["buildArgs"],
        json!([{"name": "TAGS", "value": "scos"}])
    );
    // `FROM ${BASE_IMAGE}` is the last FROM: positional, whatever its text.
    let coredns = yaml(&bc["buildconfigs/coredns.yaml"]);
    assert_eq!(coredns["spec"]["strategy"]["dockerStrategy"]["from"]["name"], "release:base");
    // The stage alias `tools` never goes into `as`; the image it names does.
    let tools = yaml(&bc["buildconfigs/network-tools.yaml"]);
    assert_eq!(
        tools["spec"]["source"]["images"],
        json!([{"from": {"kind": "ImageStreamTag", "name": "tools:busybox"}, "as": ["quay.io/centos/centos:stream9"]}])
    );
    // A COPY --from image naming a member.
    let installer = yaml(&bc["buildconfigs/installer.yaml"]);
    let images = installer["spec"]["source"]["images"].as_array().unwrap();
    assert!(images.contains(&json!({"from": {"kind": "ImageStreamTag", "name": "release:cli"}, "as": ["registry.ci.openshift.org/ocp/4.17:cli"]})), "{images:?}");
    let streams = documents(&bc["buildconfigs/imagestreams.yaml"]);
    assert_eq!(streams[0]["metadata"]["name"], "release");
    assert_eq!(streams[0]["spec"]["lookupPolicy"]["local"], true);
    assert_eq!(
        streams[1]["spec"]["tags"],
        json!([{"name": "busybox", "from": {"kind": "DockerImage", "name": "localhost/okd-mini/busybox:1.36"},
                "importPolicy": {"importMode": "PreserveOriginal"}, "referencePolicy": {"type": "Local"}}])
    );
    // The same objects as a build applies, in apply order.
    let mut applied: Vec<Value> = streams.clone();
    applied.extend(plan.components.iter().map(|c| yaml(&bc[&format!("buildconfigs/{}.yaml", c.name)])));
    assert_eq!(cluster_objects(&plan, &common::settings(&[])).unwrap(), applied);
    insta::assert_snapshot!("okd_mini_git_buildconfig", golden(&plan, &bc, &warnings, dir.path()));

    let (sw, warnings) = files(&plan, &[("engine", "shipwright"), ("schedule", "0 2 * * *")]);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(!sw.keys().any(|k| k.starts_with("buildconfigs/")
        && !k.ends_with("imagestreams.yaml")
        && !k.ends_with("kustomization.yaml")));
    let cli = yaml(&sw["shipwright/cli.yaml"]);
    assert_eq!(
        (cli["apiVersion"].as_str(), cli["kind"].as_str()),
        (Some("shipwright.io/v1beta1"), Some("Build"))
    );
    assert_eq!(cli["spec"]["source"]["git"], json!({"url": url, "revision": commit}));
    assert_eq!(
        cli["spec"]["strategy"],
        json!({"name": "multiarch-native-buildah", "kind": "ClusterBuildStrategy"})
    );
    assert_eq!(cli["spec"]["output"]["image"], planned.image);
    let params: BTreeMap<String, Value> = cli["spec"]["paramValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (p["name"].as_str().unwrap().to_owned(), p.get("value").or(p.get("values")).unwrap().clone())
        })
        .collect();
    assert_eq!(params["dockerfile"], "Dockerfile");
    assert_eq!(params["architectures"], json!([{"value": "amd64"}]));
    assert_eq!(
        params["build-contexts"],
        json!([{"value": "registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.22-openshift-4.17=docker://127.0.0.1:5000/okd/okd-mini:builder"}])
    );
    assert_eq!(params["runtime-stage-from"], "docker://127.0.0.1:5000/okd/okd-mini:base");
    let cron = yaml(&sw["argo-workflows/okd-build-nightly.yaml"]);
    assert_eq!(cron["kind"], "CronWorkflow");
    assert_eq!(cron["spec"]["schedules"], json!(["0 2 * * *"]));
    assert_eq!(cron["spec"]["workflowSpec"]["workflowTemplateRef"]["name"], "okd-build");
    let spec = yaml(&sw["argo-workflows/okd-build.yaml"])["spec"].clone();
    let buildrun = &templates(&spec)["buildrun"];
    assert_eq!(buildrun["resource"]["successCondition"], "status.conditions.0.status == True");
    assert_eq!(buildrun["resource"]["failureCondition"], "status.conditions.0.status == False");
    assert_eq!(buildrun["retryStrategy"]["limit"], 2);
    // Each task runs a BuildRun of its own component's Build, then imports the pushed image.
    let runs: BTreeMap<String, Value> = created_objects(&spec).into_iter().collect();
    assert_eq!(runs.len(), plan.components.len());
    for (component, run) in &runs {
        assert_eq!(
            (run["apiVersion"].as_str(), run["kind"].as_str()),
            (Some("shipwright.io/v1beta1"), Some("BuildRun"))
        );
        assert_eq!(run["spec"], json!({"build": {"name": component}}));
    }
    assert_eq!(arguments(&tasks(&spec, &plan)["cli"])["image"], planned.image);
    insta::assert_snapshot!("okd_mini_git_shipwright", golden(&plan, &sw, &warnings, dir.path()));
}

#[tokio::test]
async fn the_dag_is_the_build_graph_and_each_task_builds_its_component() {
    let dir = tempfile::tempdir().unwrap();
    let manifest =
        common::okd_mini_git(dir.path(), |t| t.replace("arches: [amd64]", "arches: [amd64, arm64]"));
    let plan = common::plan_of(&manifest, dir.path()).await;
    let (files, _) = files(&plan, &[("parallelism", "3"), ("retries", "4")]);
    let template = yaml(&files["argo-workflows/okd-build.yaml"]);
    assert_eq!(
        (template["kind"].as_str(), template["metadata"]["name"].as_str()),
        (Some("WorkflowTemplate"), Some("okd-build"))
    );
    let spec = &template["spec"];
    assert!(spec.get("workflowTemplateRef").is_none());
    assert_eq!(dag_edges(spec, &plan), graph_edges(&plan));
    let templates = templates(spec);
    let main = &templates["main"];
    assert_eq!(main["parallelism"], 3);
    // One DAG: one task per component, plus the payload; no batches, no levels.
    assert_eq!(main["dag"]["tasks"].as_array().unwrap().len(), plan.components.len() + 1);
    let tasks = tasks(spec, &plan);
    let component = &templates["component"];
    assert_eq!(component["memoize"]["key"], "{{inputs.parameters.memo-key}}");
    assert!(component["memoize"]["cache"]["configMap"]["name"].is_string());
    // One Build per arch, in parallel, then the manifest list.
    let steps = component["steps"].as_array().unwrap();
    assert_eq!(steps[0][0]["withParam"], "{{inputs.parameters.builds}}");
    assert_eq!(steps[1][0]["template"], "manifest-list");
    let build = &templates["build"];
    assert_eq!(build["retryStrategy"]["limit"], 4);
    assert_eq!(build["resource"]["action"], "create");
    assert_eq!(build["resource"]["successCondition"], "status.phase == Complete");
    assert_eq!(build["resource"]["failureCondition"], "status.phase in (Failed, Error, Cancelled)");
    let list = templates["manifest-list"]["script"]["source"].as_str().unwrap();
    assert!(list.contains("mtl ") && list.contains("release:$component-$arch"), "{list}");
    let created = created_objects(spec);
    for c in &plan.components {
        let args = arguments(&tasks[&c.name]);
        let hex = c.fingerprint.as_deref().unwrap().trim_start_matches("sha256:");
        assert_eq!(tasks[&c.name]["template"], "component");
        assert_eq!(args["component"], c.name);
        assert_eq!(args["arches"], "amd64,arm64");
        assert_eq!(args["fingerprint"], hex);
        assert_eq!(args["memo-key"], hex, "the cache key is the fingerprint");
        assert_eq!(args["manifest-list"], "true");
        // Each Build is the BuildConfig's spec on a node of its arch, into <stream>:<c>-<arch>.
        let bc = yaml(&files[&format!("buildconfigs/{}.yaml", c.name)]);
        let builds: Vec<&Value> = created.iter().filter(|(n, _)| n == &c.name).map(|(_, b)| b).collect();
        assert_eq!(builds.len(), 2);
        for (build, arch) in builds.into_iter().zip(["amd64", "arm64"]) {
            assert_eq!(build["kind"], "Build");
            assert_eq!(build["metadata"]["generateName"], format!("{}-{arch}-", c.name));
            let mut wanted = bc["spec"].clone();
            wanted["nodeSelector"] = json!({"kubernetes.io/arch": arch});
            wanted["output"]["to"]["name"] = json!(format!("release:{}-{arch}", c.name));
            wanted["triggeredBy"] = json!([{"message": "okd-build Workflow okd-build-test"}]);
            assert_eq!(build["spec"], wanted, "{} {arch}", c.name);
        }
    }
    let payload = dag_tasks(spec).into_iter().map(|(_, t)| t).find(|t| t["template"] == "payload").unwrap();
    let parents: BTreeSet<&str> =
        payload["dependencies"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
    let wanted: BTreeSet<&str> =
        plan.components.iter().filter(|c| c.payload).map(|c| c.name.as_str()).collect();
    assert_eq!(parents, wanted);
    let script = templates["payload"]["script"]["source"].as_str().unwrap();
    for flag in [
        "oc adm release new",
        "--from-image-stream=release",
        "--keep-manifest-list=true",
        "--name='4.17.0-0.okd-mini'",
    ] {
        assert!(script.contains(flag), "{flag}: {script}");
    }
}

#[tokio::test]
async fn a_runs_workflow_carries_only_its_components_and_their_edges() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = common::okd_mini_git(dir.path(), |t| t);
    let plan = common::plan_of(&manifest, dir.path()).await;
    let settings = common::settings(&[]);
    let run = RunId("okd-mini/2026-08-30T10:00:00Z+abc".into());
    let subset: Vec<String> = ["installer", "cli", "console"].map(String::from).to_vec();
    let wf = workflow(&plan, &settings, "okd-build-0123456789", &run, &subset).unwrap();
    assert_eq!(
        (wf["apiVersion"].as_str(), wf["kind"].as_str()),
        (Some("argoproj.io/v1alpha1"), Some("Workflow"))
    );
    assert_eq!(wf["metadata"]["name"], "okd-build-0123456789");
    let label = wf["metadata"]["labels"]["okd-build.io/run"].as_str().unwrap();
    assert!(
        label.len() <= 63 && label.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
        "{label}"
    );
    assert_eq!(wf["metadata"]["annotations"]["okd-build.io/run"], run.0.as_str());
    let spec = &wf["spec"];
    assert!(spec.get("workflowTemplateRef").is_none(), "templates are embedded");
    // Only these tasks (not every payload component is in: no payload task); builder and base
    // are outside the set, so built already: only the cli → installer edge remains.
    let names: Vec<String> =
        dag_tasks(spec).into_iter().map(|(_, t)| t["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["cli", "installer", "console"], "in build order");
    assert_eq!(dag_edges(spec, &plan), BTreeSet::from([("cli".to_owned(), "installer".to_owned())]));
    // Every component: the whole graph, and the payload task.
    let all: Vec<String> = plan.components.iter().rev().map(|c| c.name.clone()).collect();
    let wf = workflow(&plan, &settings, "okd-build-x", &run, &all).unwrap();
    assert_eq!(dag_edges(&wf["spec"], &plan), graph_edges(&plan));
    assert!(dag_tasks(&wf["spec"]).iter().any(|(_, t)| t["template"] == "payload"));
    let err = workflow(&plan, &settings, "okd-build-x", &run, &["nope".to_owned()]).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    // Single arch: the Build goes straight to release:<c>, no manifest list.
    assert_eq!(arguments(&tasks(&wf["spec"], &plan)["cli"])["manifest-list"], "false");
    let created = created_objects(&wf["spec"]);
    let (_, build) = created.iter().find(|(c, _)| c == "cli").unwrap();
    assert_eq!(build["spec"]["output"]["to"]["name"], "release:cli");
    assert_eq!(build["spec"]["nodeSelector"], json!({"kubernetes.io/arch": "amd64"}));
    assert_eq!(created.len(), plan.components.len());
}

#[tokio::test]
async fn what_the_build_api_cannot_express_is_a_located_warning() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = common::odd_release(dir.path());
    let plan = common::plan_of(&manifest, dir.path()).await;
    let (bc, warnings) = files(&plan, &[]);
    let at = |line: u32| {
        warnings
            .iter()
            .filter(|w| w.starts_with(&format!("example/odd/Dockerfile:{line}: ")))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(at(3).iter().any(|w| w.contains("'builder' is also a stage name")), "{warnings:?}");
    assert!(at(4).iter().any(|w| w.contains("RUN --mount from")), "{warnings:?}");
    for line in [5, 6] {
        assert!(at(line).iter().any(|w| w.contains("resolve to different images")), "{line}: {warnings:?}");
    }
    assert_eq!(warnings.len(), 4, "{warnings:?}");
    let odd = yaml(&bc["buildconfigs/odd.yaml"]);
    assert_eq!(
        odd["spec"]["source"]["images"],
        json!([
            // The COPY --from written `${CACHE}`: matched as written, not as expanded.
            {"from": {"kind": "ImageStreamTag", "name": "release:base"}, "as": ["${CACHE}"]},
            {"from": {"kind": "ImageStreamTag", "name": "tools:ubi"}, "as": ["registry.example.com/tools:1"]},
        ])
    );
    assert_eq!(odd["spec"]["strategy"]["dockerStrategy"]["from"]["name"], "release:base");
    // buildah's build contexts also serve RUN --mount; the other three stay warnings.
    let (sw, warnings) = files(&plan, &[("engine", "shipwright")]);
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(!warnings.iter().any(|w| w.contains("--mount")), "{warnings:?}");
    let odd = yaml(&sw["shipwright/odd.yaml"]);
    let contexts = odd["spec"]["paramValues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "build-contexts")
        .unwrap();
    assert_eq!(
        contexts["values"],
        json!([{"value": "${CACHE}=docker://quay.io/example/odd:base"},
               {"value": "registry.example.com/cache:1=docker://quay.io/example/odd:base"},
               {"value": "registry.example.com/tools:1=docker://quay.io/example/ubi:9"}])
    );
    // Folder sources cannot be cloned by a build: a warning at the component's manifest line,
    // no BuildConfig, and a task that fails saying so (the DAG stays the build graph).
    let example = common::workspace().join("examples/okd-mini/release.yaml");
    let path_plan = common::plan_of(&example, dir.path()).await;
    let (files, warnings) = files(&path_plan, &[]);
    assert_eq!(warnings.len(), path_plan.components.len());
    assert!(
        warnings
            .iter()
            .all(|w| w.starts_with(&format!("{}:", example.display())) && w.contains("give it a git source"))
    );
    assert!(!files.keys().any(|k| k.starts_with("buildconfigs/")
        && !k.ends_with("imagestreams.yaml")
        && !k.ends_with("kustomization.yaml")));
    let spec = yaml(&files["argo-workflows/okd-build.yaml"])["spec"].clone();
    assert_eq!(dag_edges(&spec, &path_plan), graph_edges(&path_plan));
    let cli = &tasks(&spec, &path_plan)["cli"];
    assert_eq!(cli["template"], "unbuilt");
    assert!(arguments(cli)["reason"].contains("give it a git source"), "{cli}");
    assert!(created_objects(&spec).is_empty());
}

#[tokio::test]
async fn the_4_22_corpus_renders_offline_with_a_warning_per_unread_dockerfile() {
    let Some(shared) = common::shared("the_4_22_corpus_renders_offline_with_a_warning_per_unread_dockerfile")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (plan, manifest) = common::corpus_4_22(&shared, dir.path()).await;
    assert_eq!(plan.components.len(), 250);
    let (artifacts, warnings) = artifacts(&plan, &common::settings(&[])).unwrap();
    // Nothing was read, so no BuildConfig guesses at FROM lines: every component is a warning
    // at its manifest line.
    assert_eq!(warnings.len(), 250);
    let lines: BTreeSet<u32> = warnings.iter().map(|w| w.line).collect();
    assert_eq!(lines.len(), 250, "each at its own component's line");
    assert!(warnings.iter().all(|w| w.file == manifest && w.line > 0 && w.message.contains("was not read")));
    let paths: BTreeSet<&str> = artifacts.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(
        paths,
        BTreeSet::from([
            "buildconfigs/imagestreams.yaml",
            "buildconfigs/kustomization.yaml",
            "argo-workflows/okd-build.yaml",
            "argo-workflows/kustomization.yaml"
        ])
    );
    let template = artifacts.iter().find(|a| a.path == "argo-workflows/okd-build.yaml").unwrap();
    let spec = yaml(&template.content)["spec"].clone();
    // The manifest's explicit parents still make the graph. 250 tasks are more than Argo's 200
    // per DAG: parts of at most 200, in build order; an edge inside a part is a task edge, one
    // across parts an edge between the parts' tasks in the entry DAG.
    let edges = graph_edges(&plan);
    assert!(!edges.is_empty());
    let part_of: BTreeMap<String, String> =
        dag_tasks(&spec).into_iter().map(|(dag, t)| (t["name"].as_str().unwrap().to_owned(), dag)).collect();
    let parts = tasks_of(&spec, "main");
    assert_eq!(parts.len(), 3, "two parts and the payload");
    let inner = dag_edges(&spec, &plan);
    assert!(inner.is_subset(&edges));
    for (parent, child) in &edges {
        let (p, c) = (&part_of[parent], &part_of[child]);
        assert_ne!(p, "main");
        if p == c {
            assert!(inner.contains(&(parent.clone(), child.clone())), "{parent} -> {child}");
        } else {
            let deps = &parts[c]["dependencies"];
            assert!(deps.as_array().unwrap().contains(&json!(p)), "{parent} ({p}) -> {child} ({c})");
        }
    }
    for part in ["part-1", "part-2"] {
        assert!(tasks_of(&spec, part).len() <= 200);
    }
    assert_eq!(part_of.keys().filter(|n| plan.component(n).is_some()).count(), 250);
    assert!(
        cluster_objects(&plan, &common::settings(&[])).unwrap().iter().all(|o| o["kind"] == "ImageStream")
    );
}
