//! Pure functions from a plan to what the okd-payload-pipeline way needs: the pipeline
//! repository's files (`artifacts`), the objects a build applies (`cluster_objects`) and the
//! Workflow of one run (`workflow`).
//!
//! - `mapping`: how each FROM maps to the Build API (`dockerStrategy.from` for the last FROM,
//!   `source.images[].as` with the Dockerfile's literal text for the others) or to Shipwright's
//!   buildah build contexts, with a located warning for whatever cannot be expressed.
//! - `objects`: ImageStreams, BuildConfigs, Shipwright Builds, and the BuildRun a Workflow
//!   creates.
//! - `workflow`: the Argo templates (generic; each task carries its component's data), a DAG
//!   that is the build graph, split in parts of 200 tasks above Argo's limit.
//!
//! The payload task (`oc adm release new`) is in the WorkflowTemplate whenever the release has
//! payload components. A run's Workflow has it only when the run builds every payload
//! component: a run of a subset (`okd build --only`) builds images, and assembling a payload
//! from whatever else the stream holds is `okd payload assemble`'s decision, not a side effect.

mod mapping;
mod objects;
mod workflow;

use std::collections::{BTreeMap, BTreeSet};

use okd_core::{
    Error, ErrorKind, Result, Warning,
    backend::{Artifact, ArtifactKind, ReferenceVerdict, RunId},
    plan::{Plan, PlannedComponent},
};
use serde_json::{Value, json};

use crate::{
    config::{BuildEngine, Settings},
    names::{RUN_ANNOTATION, RUN_LABEL, TEMPLATE_NAME, label_value},
};
use mapping::{Image, Replacement};

/// The `kubernetes.io/dockerconfigjson` Secret the payload step (and Shipwright's pushes) use
/// for the external registry, as okd-payload-pipeline names it.
pub(crate) const REGISTRY_SECRET: &str = "registry-robot-token";

/// How a whole plan looks to the pipeline.
#[derive(Debug)]
pub(crate) struct View<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) settings: &'a Settings,
    /// The components that get a BuildConfig (or Shipwright Build).
    pub(crate) images: BTreeMap<String, Image>,
    /// The others, and why.
    pub(crate) unbuilt: BTreeMap<String, String>,
    /// Memoization keys: the fingerprint's hex, which covers sources, Dockerfile, build args,
    /// arches, external images and parents. Two components with the same fingerprint would
    /// share an entry, so that one's tag would never be created: those get `-<component>` too.
    pub(crate) memo_keys: BTreeMap<String, String>,
    /// Tools stream tags: stream name → its image, for every stream a build uses.
    pub(crate) streams: BTreeMap<String, String>,
    pub(crate) warnings: Vec<Warning>,
    /// What the objects do with each reference of each read Dockerfile.
    pub(crate) verdicts: Vec<ReferenceVerdict>,
}

impl<'a> View<'a> {
    pub(crate) fn new(plan: &'a Plan, settings: &'a Settings) -> View<'a> {
        let release = &plan.release;
        let mut view = View {
            plan,
            settings,
            images: BTreeMap::new(),
            unbuilt: BTreeMap::new(),
            memo_keys: BTreeMap::new(),
            streams: BTreeMap::new(),
            warnings: Vec::new(),
            verdicts: Vec::new(),
        };
        for planned in &plan.components {
            let Some(component) = release.components.get(planned.index) else {
                view.unbuilt.insert(planned.name.clone(), "not in the manifest".into());
                continue;
            };
            match mapping::image(
                release,
                planned,
                component,
                settings.engine,
                &mut view.warnings,
                &mut view.verdicts,
            ) {
                Ok(image) => {
                    view.images.insert(planned.name.clone(), image);
                }
                Err(why) => {
                    view.unbuilt.insert(planned.name.clone(), why);
                }
            }
        }
        for image in view.images.values() {
            for target in image.inputs.keys().chain(image.from.as_ref().map(|(t, _)| t)) {
                if let Replacement::Stream(s) = target
                    && let Some(stream) = release.streams.get(s)
                {
                    view.streams.insert(s.clone(), stream.image.clone());
                }
            }
        }
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let hexes: Vec<(&str, String)> = plan
            .components
            .iter()
            .filter(|c| view.images.contains_key(&c.name))
            .map(|c| (c.name.as_str(), fingerprint_hex(c)))
            .filter(|(_, hex)| !hex.is_empty())
            .collect();
        for (_, hex) in &hexes {
            *seen.entry(hex.clone()).or_default() += 1;
        }
        for (name, hex) in hexes {
            let key = if seen[&hex] > 1 { format!("{hex}-{name}") } else { hex };
            view.memo_keys.insert(name.to_owned(), key);
        }
        view
    }

    /// Whether the release has payload components.
    fn has_payload(&self) -> bool {
        self.plan.components.iter().any(|c| c.payload)
    }

    /// The BuildConfig (or Shipwright Build) of `component`, if it gets one.
    fn object(&self, component: &str) -> Option<Value> {
        let image = self.images.get(component)?;
        Some(match self.settings.engine {
            BuildEngine::Buildconfig => objects::build_config(image, self.settings),
            BuildEngine::Shipwright => objects::shipwright_build(image),
        })
    }
}

/// The hex of a component's fingerprint; empty when its source was not read.
pub(crate) fn fingerprint_hex(planned: &PlannedComponent) -> String {
    let fingerprint = planned.fingerprint.as_deref().unwrap_or_default();
    fingerprint.strip_prefix("sha256:").unwrap_or(fingerprint).to_owned()
}

/// One object as YAML: multi-line strings (scripts, manifests) as literal blocks, long lines
/// unfolded (folded scalars are valid but hard to diff against the real files).
pub(crate) fn yaml(object: &Value) -> Result<String> {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.folded_wrap_chars = usize::MAX;
    serde_saphyr::to_string_with_options(object, options)
        .map_err(|e| Error::new(ErrorKind::Internal, "cannot write YAML").with_source(e))
}

fn yaml_documents(objects: &[Value]) -> Result<String> {
    let documents: Vec<String> = objects.iter().map(yaml).collect::<Result<_>>()?;
    Ok(documents.join("---\n"))
}

fn kustomization(resources: &[String]) -> Result<String> {
    yaml(&json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    }))
}

/// The pipeline repository's files, under repository `<pipeline_org>/<pipeline_repo>`, and what
/// the Build API cannot express, as located warnings.
pub(crate) fn artifacts(
    plan: &Plan,
    settings: &Settings,
) -> Result<(Vec<Artifact>, Vec<Warning>, Vec<ReferenceVerdict>)> {
    let view = View::new(plan, settings);
    let repository = Some(format!("{}/{}", settings.pipeline_org, settings.pipeline_repo));
    let all: Vec<String> = plan.components.iter().map(|c| c.name.clone()).collect();
    let mut artifacts = Vec::new();
    let mut add = |path: String, content: String, components: Vec<String>| {
        artifacts.push(Artifact {
            repository: repository.clone(),
            path,
            content,
            components,
            kind: ArtifactKind::Config,
        });
    };
    let dir = match settings.engine {
        BuildEngine::Buildconfig => "buildconfigs",
        BuildEngine::Shipwright => "shipwright",
    };
    let mut files = Vec::new();
    for planned in &plan.components {
        if let Some(object) = view.object(&planned.name) {
            files.push(format!("{}.yaml", planned.name));
            add(format!("{dir}/{}.yaml", planned.name), yaml(&object)?, vec![planned.name.clone()]);
        }
    }
    add(
        "buildconfigs/imagestreams.yaml".into(),
        yaml_documents(&objects::image_streams(settings, &view.streams))?,
        all.clone(),
    );
    // kustomize refuses files outside a kustomization's folder, so Shipwright Builds get their
    // own, which buildconfigs/ includes as a directory.
    let mut resources = vec!["imagestreams.yaml".to_owned()];
    match settings.engine {
        BuildEngine::Buildconfig => resources.extend(files),
        BuildEngine::Shipwright => {
            resources.push("../shipwright".into());
            add("shipwright/kustomization.yaml".into(), kustomization(&files)?, all.clone());
        }
    }
    add("buildconfigs/kustomization.yaml".into(), kustomization(&resources)?, all.clone());
    let ordered: Vec<&PlannedComponent> = plan.components.iter().collect();
    let template = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": TEMPLATE_NAME},
        "spec": workflow::spec(&view, &ordered, view.has_payload())?,
    });
    let mut workflows = vec![format!("{TEMPLATE_NAME}.yaml")];
    add(format!("argo-workflows/{TEMPLATE_NAME}.yaml"), yaml(&template)?, all.clone());
    if let Some(schedule) = &settings.schedule {
        workflows.push(format!("{TEMPLATE_NAME}-nightly.yaml"));
        add(
            format!("argo-workflows/{TEMPLATE_NAME}-nightly.yaml"),
            yaml(&cron_workflow(schedule))?,
            all.clone(),
        );
    }
    add("argo-workflows/kustomization.yaml".into(), kustomization(&workflows)?, all);
    Ok((artifacts, view.warnings, view.verdicts))
}

/// The nightly run: the WorkflowTemplate as rendered (the commits it pins; re-render to move
/// them), unchanged components served from the memoization cache. `schedules` (a list) is the
/// field since Argo 3.6.
fn cron_workflow(schedule: &str) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "CronWorkflow",
        "metadata": {"name": format!("{TEMPLATE_NAME}-nightly")},
        "spec": {
            "schedules": [schedule],
            "concurrencyPolicy": "Forbid",
            "workflowSpec": {"workflowTemplateRef": {"name": TEMPLATE_NAME}},
        },
    })
}

/// The objects a build applies before it creates its Workflow, in apply order: ImageStreams,
/// then BuildConfigs (or Shipwright Builds), each with `metadata.namespace` unset.
pub(crate) fn cluster_objects(plan: &Plan, settings: &Settings) -> Result<Vec<Value>> {
    let view = View::new(plan, settings);
    let mut out = objects::image_streams(settings, &view.streams);
    out.extend(plan.components.iter().filter_map(|c| view.object(&c.name)));
    Ok(out)
}

/// The Workflow of `run`, named `name`: a DAG whose tasks are `components` (each task named
/// after its component, depending on its parents among `components`; parents outside are
/// built already), labelled [`crate::names::RUN_LABEL`] and annotated with the run id.
pub(crate) fn workflow(
    plan: &Plan,
    settings: &Settings,
    name: &str,
    run: &RunId,
    components: &[String],
) -> Result<Value> {
    if let Some(unknown) = components.iter().find(|c| plan.component(c).is_none()) {
        return Err(Error::invalid(format!("the release has no component '{unknown}'")));
    }
    if components.is_empty() {
        return Err(Error::invalid("a Workflow needs at least one component to build"));
    }
    let set: BTreeSet<&str> = components.iter().map(String::as_str).collect();
    let ordered: Vec<&PlannedComponent> =
        plan.components.iter().filter(|c| set.contains(c.name.as_str())).collect();
    let view = View::new(plan, settings);
    let payload = view.has_payload()
        && plan.components.iter().filter(|c| c.payload).all(|c| set.contains(c.name.as_str()));
    Ok(json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {
            "name": name,
            "labels": {RUN_LABEL: label_value(&run.0)},
            "annotations": {RUN_ANNOTATION: run.0},
        },
        "spec": workflow::spec(&view, &ordered, payload)?,
    }))
}

/// The render, for tests, until the backend exposes it (lib.rs re-exports this module as
/// `render_testing`).
#[doc(hidden)]
pub mod testing {
    use okd_core::{
        Result, Warning,
        backend::{Artifact, RunId},
        plan::Plan,
    };
    use serde_json::Value;

    use crate::config::Settings;

    pub fn artifacts(plan: &Plan, settings: &Settings) -> Result<(Vec<Artifact>, Vec<Warning>)> {
        super::artifacts(plan, settings).map(|(artifacts, warnings, _)| (artifacts, warnings))
    }

    pub fn cluster_objects(plan: &Plan, settings: &Settings) -> Result<Vec<Value>> {
        super::cluster_objects(plan, settings)
    }

    pub fn workflow(
        plan: &Plan,
        settings: &Settings,
        name: &str,
        run: &RunId,
        components: &[String],
    ) -> Result<Value> {
        super::workflow(plan, settings, name, run, components)
    }
}
