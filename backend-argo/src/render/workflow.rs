//! The Argo templates: one DAG task per component, named after it and depending on exactly its
//! parents (the build graph, not okd-payload-pipeline's hand-kept batches), each building its
//! component for every architecture, and a last task that assembles the payload.
//!
//! Argo's CRD allows at most 200 templates per Workflow and 200 tasks per DAG, so templates are
//! generic and each task carries its component's data as parameters (`component`, `arches`,
//! `fingerprint`, `memo-key`; for OpenShift Builds the BuildConfig's `source` and `strategy` as
//! JSON and the per-arch `builds`; for Shipwright the pushed `image`). A release of more than
//! 199 components is split, in build order, into DAGs of at most 200 tasks (`part-N`) that the
//! entry DAG orders by the edges between them: there, a child in a later part waits for its
//! parent's whole part, which Argo's limits leave no way around.
//!
//! Per component (`component`, memoized on the fingerprint; `component-uncached` when there is
//! none):
//! - OpenShift Builds: `build` per architecture, in parallel, a `resource` step creating a Build
//!   (the BuildConfig's spec, the arch's nodeSelector, output `<stream>:<c>-<arch>` when there
//!   are several) and retried; then, with several architectures, `manifest-list`.
//! - Shipwright: `buildrun` (a BuildRun of the component's Build, retried; the strategy builds
//!   every architecture and pushes the list), then `import` tags the pushed image into the
//!   release stream, which the payload step reads.
//! - A component without a BuildConfig (folder source, Dockerfile not read) keeps its task
//!   (`unbuilt`), so the DAG stays the build graph, and the task fails saying why.

use std::collections::{BTreeMap, BTreeSet};

use okd_core::{Result, plan::PlannedComponent};
use serde_json::{Value, json};

use super::{REGISTRY_SECRET, View, objects, yaml};
use crate::{
    config::BuildEngine,
    names::{COMPONENT_LABEL, COMPONENT_PARAM, TEMPLATE_NAME},
};

/// The tool image of every script step, as in okd-payload-pipeline: oc, manifest-tool (`mtl`).
pub(crate) const TOOLS_IMAGE: &str = "quay.io/okd/payload-workflows:latest";
/// The entry DAG.
pub(crate) const ENTRYPOINT: &str = "main";
/// Argo's CRD: `maxItems` of `dag.tasks`.
const MAX_TASKS: usize = 200;
/// How long a memoized build counts: its key is content-addressed, so this only bounds how long
/// a deleted ImageStreamTag can be mistaken for built (okd-payload-pipeline used 96h too).
const MEMO_MAX_AGE: &str = "96h";

fn param(name: &str, value: impl Into<Value>) -> Value {
    json!({"name": name, "value": value.into()})
}

fn inputs(names: &[&str]) -> Value {
    json!({"parameters": names.iter().map(|n| json!({"name": n})).collect::<Vec<_>>()})
}

/// Passes the caller's parameters `names` on to a step.
fn pass(names: &[&str]) -> Value {
    json!({"parameters": names.iter().map(|n| param(n, format!("{{{{inputs.parameters.{n}}}}}"))).collect::<Vec<_>>()})
}

fn script(name: &str, parameters: &[&str], source: String) -> Value {
    json!({
        "name": name,
        "inputs": inputs(parameters),
        "script": {"image": TOOLS_IMAGE, "command": ["bash"], "source": source},
    })
}

/// A `resource` template creating `manifest` and waiting for it, retried: a Build fails for
/// flaky reasons (a pull or push timing out, a node going away) with the same phase as for a
/// real error, so every failure is retried, `retries` times, with backoff. Retries sit here and
/// not on the memoized template, where Argo would stop memoizing (argo-workflows#10426).
fn resource(
    view: &View<'_>,
    name: &str,
    parameters: &[&str],
    manifest: String,
    ok: &str,
    failed: &str,
) -> Value {
    let mut template = json!({
        "name": name,
        "inputs": inputs(parameters),
        "resource": {
            "action": "create",
            "setOwnerReference": true,
            "successCondition": ok,
            "failureCondition": failed,
            "manifest": manifest,
        },
    });
    if view.settings.retries > 0 {
        template["retryStrategy"] = json!({
            "limit": view.settings.retries,
            "retryPolicy": "Always",
            "backoff": {"duration": "1m", "factor": 2, "maxDuration": "1h"},
        });
    }
    template
}

/// The Build of one architecture. `source` and `strategy` are the BuildConfig's, as JSON (a YAML
/// flow mapping); `generateName`, so a retry creates a new Build.
fn build_manifest() -> String {
    let p = |n: &str| format!("{{{{inputs.parameters.{n}}}}}");
    let (c, arch) = (p(COMPONENT_PARAM), p("arch"));
    let lines = [
        "apiVersion: build.openshift.io/v1".to_owned(),
        "kind: Build".to_owned(),
        "metadata:".to_owned(),
        format!("  generateName: '{c}-{arch}-'"),
        format!("  labels:\n    {COMPONENT_LABEL}: '{c}'"),
        format!("spec:\n  nodeSelector:\n    kubernetes.io/arch: '{arch}'"),
        format!("  output:\n    to:\n      kind: ImageStreamTag\n      name: '{}'", p("tag")),
        format!("  source: {}", p("source")),
        format!("  strategy: {}", p("strategy")),
        "  triggeredBy:\n  - message: 'okd-build Workflow {{workflow.name}}'\n".to_owned(),
    ];
    lines.join("\n")
}

/// The generic templates every task uses, for the engine.
fn templates(view: &View<'_>) -> Result<Vec<Value>> {
    let stream = &view.settings.stream;
    let common = [COMPONENT_PARAM, "arches", "fingerprint", "memo-key"];
    let mut out = Vec::new();
    let steps = match view.settings.engine {
        BuildEngine::Buildconfig => {
            out.push(resource(
                view,
                "build",
                &[COMPONENT_PARAM, "arch", "tag", "source", "strategy"],
                build_manifest(),
                "status.phase == Complete",
                "status.phase in (Failed, Error, Cancelled)",
            ));
            out.push(script("manifest-list", &[COMPONENT_PARAM, "arches"], manifest_list(stream)));
            let mut build = pass(&[COMPONENT_PARAM, "source", "strategy"]);
            if let Some(parameters) = build["parameters"].as_array_mut() {
                parameters.extend([param("arch", "{{item.arch}}"), param("tag", "{{item.tag}}")]);
            }
            json!([
                [{"name": "build", "template": "build", "arguments": build, "withParam": "{{inputs.parameters.builds}}"}],
                [{"name": "manifest-list", "template": "manifest-list", "arguments": pass(&[COMPONENT_PARAM, "arches"]),
                  "when": "{{inputs.parameters.manifest-list}} == true"}],
            ])
        }
        BuildEngine::Shipwright => {
            let run = objects::build_run(&format!("{{{{inputs.parameters.{COMPONENT_PARAM}}}}}"));
            // BuildRuns have one condition, Succeeded: True, False, or Unknown while running.
            out.push(resource(
                view,
                "buildrun",
                &[COMPONENT_PARAM],
                yaml(&run)?,
                "status.conditions.0.status == True",
                "status.conditions.0.status == False",
            ));
            let import = format!(
                "set -euo pipefail\noc import-image -n {{{{workflow.namespace}}}} \"{stream}:{{{{inputs.parameters.{COMPONENT_PARAM}}}}}\" \\\n  --from='{{{{inputs.parameters.image}}}}' --import-mode=PreserveOriginal --reference-policy=local --confirm\n"
            );
            out.push(script("import", &[COMPONENT_PARAM, "image"], import));
            json!([
                [{"name": "buildrun", "template": "buildrun", "arguments": pass(&[COMPONENT_PARAM])}],
                [{"name": "import", "template": "import", "arguments": pass(&[COMPONENT_PARAM, "image"])}],
            ])
        }
    };
    let specific: &[&str] = match view.settings.engine {
        BuildEngine::Buildconfig => &["source", "strategy", "builds", "manifest-list"],
        BuildEngine::Shipwright => &["image"],
    };
    let names: Vec<&str> = common.iter().chain(specific).copied().collect();
    let cache = format!("{TEMPLATE_NAME}-{}", view.settings.stream);
    out.insert(
        0,
        json!({
            "name": "component",
            "inputs": inputs(&names),
            "memoize": {
                "key": "{{inputs.parameters.memo-key}}",
                "maxAge": MEMO_MAX_AGE,
                // One cache per release stream: a hit means "this stream has the tag".
                "cache": {"configMap": {"name": cache}},
            },
            "steps": steps,
        }),
    );
    out.insert(1, json!({"name": "component-uncached", "inputs": inputs(&names), "steps": out[0]["steps"]}));
    out.push(json!({
        "name": "unbuilt",
        "inputs": inputs(&[COMPONENT_PARAM, "arches", "fingerprint", "reason"]),
        "container": {
            "image": TOOLS_IMAGE,
            "command": ["sh", "-c", "echo \"okd-build: $REASON\" >&2; exit 1"],
            "env": [{"name": "REASON", "value": "{{inputs.parameters.reason}}"}],
        },
    }));
    out.push(payload_template(view));
    Ok(out)
}

/// The manifest-list step of reference §4.3, the arches read from the CSV parameter rather than
/// trimmed out of a fan-out's JSON (which broke single-arch runs upstream).
fn manifest_list(stream: &str) -> String {
    format!(
        "set -euo pipefail\n\
         component='{{{{inputs.parameters.{COMPONENT_PARAM}}}}}'\n\
         image=\"image-registry.openshift-image-registry.svc:5000/{{{{workflow.namespace}}}}/{stream}:$component\"\n\
         IFS=, read -ra arches <<< '{{{{inputs.parameters.arches}}}}'\n\
         {{ echo \"image: $image\"; echo 'manifests:'\n  \
         for arch in \"${{arches[@]}}\"; do\n    \
         printf '  - image: %s-%s\\n    platform: {{architecture: %s, os: linux}}\\n' \"$image\" \"$arch\" \"$arch\"\n  \
         done; }} > /tmp/manifest-list.yaml\n\
         mtl --insecure --username k8s --password \"$(cat /var/run/secrets/kubernetes.io/serviceaccount/token)\" \\\n  \
         push from-spec /tmp/manifest-list.yaml\n\
         # The list holds the per-arch manifests by digest; their tags are no longer needed.\n\
         for arch in \"${{arches[@]}}\"; do oc delete -n {{{{workflow.namespace}}}} istag \"{stream}:$component-$arch\"; done\n"
    )
}

/// The payload step: `oc adm release new` over the release stream, keeping manifest lists
/// (reference §6). `--from-image-stream` in the default reference mode needs the stream's public
/// repository, i.e. the internal registry exposed with a route; oc refuses internal-registry
/// sources in `--reference-mode=source`.
fn payload_template(view: &View<'_>) -> Value {
    let version = view.plan.release.version.to_string();
    let source = format!(
        "set -euo pipefail\n\
         export HOME=/tmp\n\
         cp /var/run/credentials/.dockerconfigjson /tmp/auth.json\n\
         oc registry login --registry-config=/tmp/auth.json\n\
         oc adm release new -n {{{{workflow.namespace}}}} --registry-config=/tmp/auth.json \\\n  \
         --from-image-stream={} --keep-manifest-list=true --insecure=true \\\n  \
         --mirror='{{{{workflow.parameters.release-mirror}}}}' \\\n  \
         --to-image='{{{{workflow.parameters.release-image}}}}' --name='{version}'\n",
        view.settings.stream
    );
    let mut template = script("payload", &[], source);
    template.as_object_mut().into_iter().for_each(|t| {
        t.remove("inputs");
    });
    template["script"]["volumeMounts"] =
        json!([{"name": "credentials", "mountPath": "/var/run/credentials"}]);
    template["volumes"] = json!([{"name": "credentials", "secret": {"secretName": "{{workflow.parameters.registry-credentials-secret}}"}}]);
    template
}

/// A task name no component has, so a controller mapping tasks to components (by the
/// `component` parameter, else the name) never takes it for one.
fn free_name(view: &View<'_>, base: &str) -> String {
    let mut name = base.to_owned();
    let mut i = 1;
    while view.plan.component(&name).is_some() {
        name = format!("{base}-{i}");
        i += 1;
    }
    name
}

/// The task building `planned`, depending on its parents in `set`.
fn task(view: &View<'_>, planned: &PlannedComponent, set: &BTreeSet<&str>) -> Result<Value> {
    let c = planned.name.as_str();
    let mut parameters = vec![
        param(COMPONENT_PARAM, c),
        param("arches", planned.arches.join(",")),
        param("fingerprint", super::fingerprint_hex(planned)),
    ];
    let template = match view.images.get(c) {
        None => {
            parameters.push(param("reason", view.unbuilt.get(c).cloned().unwrap_or_default()));
            "unbuilt"
        }
        Some(image) => {
            let memo = view.memo_keys.get(c);
            parameters.push(param("memo-key", memo.cloned().unwrap_or_default()));
            match view.settings.engine {
                BuildEngine::Buildconfig => {
                    let spec = objects::build_spec(image, view.settings);
                    let multi = image.arches.len() > 1;
                    let builds: Vec<Value> = image
                        .arches
                        .iter()
                        .map(|arch| {
                            let tag = if multi { format!("{c}-{arch}") } else { c.to_owned() };
                            json!({"arch": arch, "tag": format!("{}:{tag}", view.settings.stream)})
                        })
                        .collect();
                    parameters.push(param("source", spec["source"].to_string()));
                    parameters.push(param("strategy", spec["strategy"].to_string()));
                    parameters.push(param("builds", Value::Array(builds).to_string()));
                    parameters.push(param("manifest-list", multi.to_string()));
                }
                BuildEngine::Shipwright => parameters.push(param("image", image.output.as_str())),
            }
            if memo.is_some() { "component" } else { "component-uncached" }
        }
    };
    let mut task = json!({"name": c, "template": template, "arguments": {"parameters": parameters}});
    // Parents outside the set are built already.
    let parents: Vec<&str> =
        planned.depends_on.iter().map(String::as_str).filter(|p| set.contains(p)).collect();
    if !parents.is_empty() {
        task["dependencies"] = json!(parents);
    }
    Ok(task)
}

fn dag(view: &View<'_>, name: &str, tasks: Vec<Value>) -> Value {
    // failFast off: a failed component stops its dependents only, not unrelated branches.
    json!({"name": name, "parallelism": view.settings.parallelism, "dag": {"failFast": false, "tasks": tasks}})
}

/// The spec of a Workflow (or WorkflowTemplate) building `components`, in plan order, with the
/// payload task when `payload`.
pub(crate) fn spec(view: &View<'_>, components: &[&PlannedComponent], payload: bool) -> Result<Value> {
    let set: BTreeSet<&str> = components.iter().map(|c| c.name.as_str()).collect();
    let tasks: Vec<Value> = components.iter().map(|c| task(view, c, &set)).collect::<Result<_>>()?;
    let payload_parents: Vec<&str> =
        components.iter().filter(|c| c.payload).map(|c| c.name.as_str()).collect();
    let payload_task = |dependencies: Vec<String>| json!({"name": free_name(view, "release-payload"), "template": "payload", "dependencies": dependencies});
    let mut dags = Vec::new();
    if tasks.len() + usize::from(payload) <= MAX_TASKS {
        let mut tasks = tasks;
        if payload {
            tasks.push(payload_task(payload_parents.iter().map(|p| (*p).to_owned()).collect()));
        }
        dags.push(dag(view, ENTRYPOINT, tasks));
    } else {
        // Parts of consecutive components in build order; a part depends on the parts its
        // components' parents are in, so the parts form a DAG too.
        let mut part_of: BTreeMap<&str, String> = BTreeMap::new();
        let mut parts: Vec<(String, Vec<Value>)> = Vec::new();
        for (chunk, planned) in tasks.chunks(MAX_TASKS).zip(components.chunks(MAX_TASKS)) {
            let name = free_name(view, &format!("part-{}", parts.len() + 1));
            let mut inner = Vec::new();
            for (task, c) in chunk.iter().zip(planned) {
                part_of.insert(c.name.as_str(), name.clone());
                let mut task = task.clone();
                if let Some(deps) = task.get_mut("dependencies").and_then(Value::as_array_mut) {
                    deps.retain(|d| d.as_str().is_some_and(|d| part_of.get(d) == Some(&name)));
                    if deps.is_empty() {
                        task.as_object_mut().into_iter().for_each(|t| {
                            t.remove("dependencies");
                        });
                    }
                }
                inner.push(task);
            }
            parts.push((name, inner));
        }
        let part_parents = |members: &[&PlannedComponent], own: &str| -> Vec<String> {
            let found: BTreeSet<&String> = members
                .iter()
                .flat_map(|c| c.depends_on.iter().filter_map(|p| part_of.get(p.as_str())))
                .filter(|p| *p != own)
                .collect();
            found.into_iter().cloned().collect()
        };
        let mut top = Vec::new();
        for ((name, inner), members) in parts.iter().zip(components.chunks(MAX_TASKS)) {
            let mut task = json!({"name": name, "template": name});
            let deps = part_parents(members, name);
            if !deps.is_empty() {
                task["dependencies"] = json!(deps);
            }
            top.push(task);
            dags.push(dag(view, name, inner.clone()));
        }
        if payload {
            let deps: BTreeSet<String> =
                payload_parents.iter().filter_map(|p| part_of.get(p).cloned()).collect();
            top.push(payload_task(deps.into_iter().collect()));
        }
        dags.insert(0, json!({"name": ENTRYPOINT, "dag": {"failFast": false, "tasks": top}}));
    }
    let release = &view.plan.release;
    let tag = release.version.to_string().replace('+', "_");
    let repository = format!("{}/{}", release.output.registry, release.output.repository);
    dags.extend(templates(view)?);
    Ok(json!({
        "entrypoint": ENTRYPOINT,
        "serviceAccountName": view.settings.service_account,
        "arguments": {"parameters": [
            param("release-image", format!("{repository}-release:{tag}")),
            param("release-mirror", repository),
            param("registry-credentials-secret", REGISTRY_SECRET),
        ]},
        "templates": dags,
    }))
}
