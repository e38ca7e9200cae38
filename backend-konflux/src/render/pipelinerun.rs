//! PipelineRuns: the `.tekton` files of the Konflux-only approach (shaped like build-service's
//! `generatePaCPipelineRunForComponentOldModel` output), the push run okd-build creates in their
//! place when it builds, and the run Doozer + Konflux creates from a docker-build-oci-ta-shaped
//! template.

use okd_core::{Error, ErrorKind, Result};
use serde_json::{Map, Value, json};

use super::ComponentView;
use crate::{
    config::Settings,
    names::{
        APPLICATION_LABEL, COMPONENT_LABEL, FINGERPRINT_ANNOTATION, GENERATED_ARGS_ANNOTATION,
        KONFLUX_COMPONENT_LABEL, PIPELINE_TYPE_LABEL, RUN_ANNOTATION, RUN_LABEL,
        SOURCE_DOCKERFILE_ANNOTATION, fit_name, label_value,
    },
};

/// The single-arch trusted-artifacts pipeline.
pub(crate) const SINGLE_ARCH: &str = "docker-build-oci-ta";
/// The multi-platform trusted-artifacts pipeline.
pub(crate) const MULTI_ARCH: &str = "docker-build-multi-platform-oci-ta";

/// Which Pipelines-as-Code event a `.tekton` file answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    Push,
    PullRequest,
}

impl Event {
    /// The file name suffix and the `metadata.name` suffix.
    fn suffixes(self) -> (&'static str, &'static str) {
        match self {
            Event::Push => ("push", "on-push"),
            Event::PullRequest => ("pull-request", "on-pull-request"),
        }
    }

    fn cel_event(self) -> &'static str {
        match self {
            Event::Push => "push",
            Event::PullRequest => "pull_request",
        }
    }
}

/// `.tekton/<component>-push.yaml` or `-pull-request.yaml`.
pub(crate) fn tekton_file(component: &str, event: Event) -> String {
    format!(".tekton/{component}-{}.yaml", event.suffixes().0)
}

/// `<component>-on-push` or `-on-pull-request`: the name the UI's rerun and the
/// `trigger-pac-build` request rely on.
pub(crate) fn pac_name(component: &str, event: Event) -> String {
    format!("{component}-{}", event.suffixes().1)
}

/// The pipeline a component's platforms need: the multi-platform one unless it builds only for
/// the cluster's own architecture.
pub(crate) fn pipeline_for(platforms: &[String]) -> &'static str {
    if platforms.len() == 1 && platforms[0] == "linux/x86_64" { SINGLE_ARCH } else { MULTI_ARCH }
}

fn param(name: &str, value: impl Into<Value>) -> Value {
    json!({"name": name, "value": value.into()})
}

fn pipeline_ref(settings: &Settings, pipeline: &str) -> Value {
    json!({"resolver": "bundles", "params": [
        param("name", pipeline),
        param("bundle", settings.bundle(pipeline)),
        param("kind", "pipeline"),
    ]})
}

/// The build params every Konflux build pipeline takes, after git-url, revision and output-image.
fn build_params(view: &ComponentView, params: &mut Vec<Value>) {
    params.push(param("dockerfile", view.dockerfile.as_str()));
    if view.context != "." {
        params.push(param("path-context", view.context.as_str()));
    }
    if pipeline_for(&view.platforms) == MULTI_ARCH {
        params.push(param("build-platforms", view.platforms.clone()));
    }
    if !view.build_args.is_empty() {
        params.push(param("build-args", view.build_args.clone()));
    }
}

/// `event == "push" && target_branch == "<branch>"`, plus the path filter build-service adds for
/// a component whose context is not the repository root.
fn cel(view: &ComponentView, event: Event) -> String {
    let mut cel = format!("event == \"{}\" && target_branch == \"{}\"", event.cel_event(), view.branch);
    if view.context != "." {
        let dockerfile = format!("{}/{}", view.context, view.dockerfile);
        cel.push_str(&format!(
            " && (\"{}/***\".pathChanged() || \"{}\".pathChanged() || \"{dockerfile}\".pathChanged())",
            view.context,
            tekton_file(&view.name, event)
        ));
    }
    cel
}

/// One `.tekton` file's PipelineRun.
pub(crate) fn pac_pipelinerun(
    view: &ComponentView,
    application: &str,
    namespace: Option<&str>,
    settings: &Settings,
    event: Event,
) -> Value {
    let mut annotations = Map::new();
    let mut annotate = |k: &str, v: String| {
        annotations.insert(k.to_owned(), Value::String(v));
    };
    annotate("build.appstudio.openshift.io/repo", format!("{}?rev={{{{revision}}}}", view.repo.web));
    annotate("build.appstudio.redhat.com/commit_sha", "{{revision}}".into());
    annotate("build.appstudio.redhat.com/target_branch", "{{target_branch}}".into());
    if event == Event::PullRequest {
        annotate("build.appstudio.redhat.com/pull_request_number", "{{pull_request_number}}".into());
    }
    annotate("pipelinesascode.tekton.dev/max-keep-runs", "3".into());
    annotate("pipelinesascode.tekton.dev/cancel-in-progress", (event == Event::PullRequest).to_string());
    annotate("pipelinesascode.tekton.dev/on-cel-expression", cel(view, event));
    if view.dockerfile != view.source_dockerfile {
        annotate(SOURCE_DOCKERFILE_ANNOTATION, view.source_dockerfile.clone());
    }
    if !view.generated_args.is_empty() {
        annotate(GENERATED_ARGS_ANNOTATION, view.generated_args.join(","));
    }
    let mut metadata = json!({
        "name": pac_name(&view.name, event),
        "annotations": annotations,
        "labels": {
            APPLICATION_LABEL: application,
            KONFLUX_COMPONENT_LABEL: view.name,
            PIPELINE_TYPE_LABEL: "build",
        },
        "creationTimestamp": null,
    });
    if let Some(ns) = namespace {
        metadata["namespace"] = json!(ns);
    }
    let output = match event {
        Event::Push => format!("{}:{{{{revision}}}}", view.image_repo),
        Event::PullRequest => format!("{}:on-pr-{{{{revision}}}}", view.image_repo),
    };
    let mut params = vec![
        param("git-url", "{{source_url}}"),
        param("revision", "{{revision}}"),
        param("output-image", output),
    ];
    if event == Event::PullRequest {
        params.push(param("image-expires-after", "5d"));
    }
    build_params(view, &mut params);
    json!({
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": metadata,
        "spec": {
            "params": params,
            "pipelineRef": pipeline_ref(settings, pipeline_for(&view.platforms)),
            "taskRunTemplate": {"serviceAccountName": format!("build-pipeline-{}", view.name)},
            "workspaces": [{"name": "git-auth", "secret": {"secretName": "{{ git_auth_secret }}"}}],
        },
        "status": {},
    })
}

/// What okd-build puts on every PipelineRun it creates.
pub(crate) struct Created<'a> {
    pub(crate) name: String,
    pub(crate) namespace: &'a str,
    pub(crate) run: &'a str,
    pub(crate) fingerprint: &'a str,
}

fn mark(object: &mut Value, component: &str, created: &Created<'_>) {
    let metadata = &mut object["metadata"];
    metadata["name"] = json!(created.name);
    metadata["namespace"] = json!(created.namespace);
    metadata["labels"][COMPONENT_LABEL] = json!(component);
    metadata["labels"][RUN_LABEL] = json!(label_value(created.run));
    metadata["annotations"][RUN_ANNOTATION] = json!(created.run);
    metadata["annotations"][FINGERPRINT_ANNOTATION] = json!(created.fingerprint);
}

fn git_auth(object: &mut Value, settings: &Settings) {
    match &settings.git_auth_secret {
        Some(secret) => {
            object["spec"]["workspaces"] = json!([{"name": "git-auth", "secret": {"secretName": secret}}]);
        }
        // Without Pipelines-as-Code there is no per-run secret; the workspace is optional in
        // the trusted-artifacts pipelines, so public repositories clone without it.
        None => {
            if let Some(spec) = object["spec"].as_object_mut() {
                spec.remove("workspaces");
            }
        }
    }
}

/// The push run Pipelines-as-Code would create from the component's push file for `commit`:
/// the placeholders filled, PaC's labels added, a deterministic name.
pub(crate) fn push_run(
    view: &ComponentView,
    application: &str,
    settings: &Settings,
    commit: &str,
    created: &Created<'_>,
) -> Result<Value> {
    let file = pac_pipelinerun(view, application, None, settings, Event::Push);
    let escape = |s: &str| {
        let quoted = Value::String(s.to_owned()).to_string();
        quoted[1..quoted.len() - 1].to_owned()
    };
    let text = file
        .to_string()
        .replace("{{source_url}}", &escape(&view.repo.url))
        .replace("{{revision}}", &escape(commit))
        .replace("{{target_branch}}", &escape(&view.branch));
    let mut object: Value = serde_json::from_str(&text).map_err(|e| {
        Error::new(ErrorKind::Internal, "the filled push PipelineRun is not JSON").with_source(e)
    })?;
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
    if let Some(metadata) = object["metadata"].as_object_mut() {
        metadata.remove("creationTimestamp");
    }
    let org_repo = view.repo.slug.split_once('/').unwrap_or(("", &view.repo.slug));
    for (key, value) in [
        ("pipelinesascode.tekton.dev/event-type", "push".to_owned()),
        ("pipelinesascode.tekton.dev/original-prname", pac_name(&view.name, Event::Push)),
        ("pipelinesascode.tekton.dev/sha", commit.to_owned()),
        ("pipelinesascode.tekton.dev/url-org", org_repo.0.to_owned()),
        ("pipelinesascode.tekton.dev/url-repository", org_repo.1.to_owned()),
    ] {
        object["metadata"]["labels"][key] = json!(label_value(&value));
    }
    mark(&mut object, &view.name, created);
    git_auth(&mut object, settings);
    Ok(object)
}

/// What a Doozer + Konflux run builds: the generated commit on the component's build branch.
pub(crate) struct GeneratedSource<'a> {
    pub(crate) remote: &'a str,
    pub(crate) revision: &'a str,
    pub(crate) branch: &'a str,
    pub(crate) output_image: &'a str,
}

/// The PipelineRun Doozer + Konflux creates directly: the generated `/Dockerfile` at the root of
/// the build branch, no PaC annotations (nothing matches events), okd-build's labels.
pub(crate) fn doozer_run(
    view: &ComponentView,
    application: &str,
    settings: &Settings,
    source: &GeneratedSource<'_>,
    created: &Created<'_>,
) -> Value {
    let mut params = vec![
        param("git-url", source.remote),
        param("revision", source.revision),
        param("output-image", source.output_image),
        param("dockerfile", "Dockerfile"),
    ];
    if pipeline_for(&view.platforms) == MULTI_ARCH {
        params.push(param("build-platforms", view.platforms.clone()));
    }
    let manifest_args: Vec<String> = view.manifest_args.clone();
    if !manifest_args.is_empty() {
        params.push(param("build-args", manifest_args));
    }
    let mut object = json!({
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {
            "annotations": {
                "build.appstudio.openshift.io/repo": format!("{}?rev={}", source.remote, source.revision),
                "okd-build.io/branch": source.branch,
            },
            "labels": {
                APPLICATION_LABEL: application,
                KONFLUX_COMPONENT_LABEL: view.name,
                PIPELINE_TYPE_LABEL: "build",
            },
        },
        "spec": {
            "params": params,
            "pipelineRef": pipeline_ref(settings, pipeline_for(&view.platforms)),
            "taskRunTemplate": {"serviceAccountName": format!("build-pipeline-{}", view.name)},
            "workspaces": [],
        },
    });
    mark(&mut object, &view.name, created);
    git_auth(&mut object, settings);
    object
}

/// The deterministic name of a build of `component` with `fingerprint` (`<prefix>-<fp12>`).
pub(crate) fn run_name(prefix: &str, fingerprint: &str) -> String {
    fit_name(prefix, &crate::names::fingerprint_suffix(fingerprint))
}
