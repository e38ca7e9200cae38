//! The cluster objects of the pipeline repository: the ImageStreams, one BuildConfig (or
//! Shipwright Build) per component, and the BuildRun a Workflow creates. (A Workflow's Builds
//! are templated from the BuildConfig's spec in `workflow`.)
//! Shaped as okd-payload-pipeline's `buildconfigs/*.yaml`, with the fields reference §2.2 lists.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::mapping::{Image, Replacement};
use crate::{config::Settings, names::COMPONENT_LABEL};

/// The Shipwright strategy (shipwright-io/build's `multiarch-native-buildah`): one Job per
/// architecture on a node of that architecture, then a manifest list.
pub(crate) const SHIPWRIGHT_STRATEGY: &str = "multiarch-native-buildah";

fn labels(component: &str) -> Value {
    json!({ COMPONENT_LABEL: component })
}

/// The Build API's image reference for a replacement: members are tags of the release stream,
/// streams are imported into the tools stream, a literal pull spec stays one.
pub(crate) fn image_ref(target: &Replacement, settings: &Settings) -> Value {
    match target {
        Replacement::Member(m) => {
            json!({"kind": "ImageStreamTag", "name": format!("{}:{m}", settings.stream)})
        }
        Replacement::Stream(s) => {
            json!({"kind": "ImageStreamTag", "name": format!("{}:{s}", settings.tools_stream)})
        }
        Replacement::Image(i) => json!({"kind": "DockerImage", "name": i}),
    }
}

/// The BuildConfig's spec; a Build of it is this spec plus what makes it one architecture's.
pub(crate) fn build_spec(image: &Image, settings: &Settings) -> Value {
    let mut source = Map::new();
    source.insert("type".into(), json!("Git"));
    source.insert("git".into(), json!({"uri": image.url, "ref": image.commit}));
    source.insert("contextDir".into(), json!(image.context_dir));
    if !image.inputs.is_empty() {
        let images: Vec<Value> = image
            .inputs
            .iter()
            .map(|(target, input)| json!({"from": image_ref(target, settings), "as": input.texts}))
            .collect();
        source.insert("images".into(), Value::Array(images));
    }
    let mut docker = Map::new();
    docker.insert("imageOptimizationPolicy".into(), json!("SkipLayers"));
    docker.insert("dockerfilePath".into(), json!(image.dockerfile_path));
    if !image.build_args.is_empty() {
        let args: Vec<Value> = image.build_args.iter().map(|(k, v)| json!({"name": k, "value": v})).collect();
        docker.insert("buildArgs".into(), Value::Array(args));
    }
    if let Some((target, _)) = &image.from {
        docker.insert("from".into(), image_ref(target, settings));
    }
    let mut spec = Map::new();
    spec.insert("source".into(), Value::Object(source));
    spec.insert("strategy".into(), json!({"type": "Docker", "dockerStrategy": docker}));
    spec.insert(
        "output".into(),
        json!({"to": {"kind": "ImageStreamTag", "name": format!("{}:{}", settings.stream, image.component)}}),
    );
    Value::Object(spec)
}

/// `buildconfigs/<component>.yaml`.
pub(crate) fn build_config(image: &Image, settings: &Settings) -> Value {
    json!({
        "apiVersion": "build.openshift.io/v1",
        "kind": "BuildConfig",
        "metadata": {"name": image.component, "labels": labels(&image.component)},
        "spec": build_spec(image, settings),
    })
}

/// `shipwright/<component>.yaml` (reference §5's BuildConfig → Shipwright mapping).
pub(crate) fn shipwright_build(image: &Image) -> Value {
    let one = |name: &str, value: &str| json!({"name": name, "value": value});
    let many = |name: &str, values: Vec<String>| json!({"name": name, "values": values.into_iter().map(|v| json!({"value": v})).collect::<Vec<_>>()});
    let mut params =
        vec![one("dockerfile", &image.dockerfile_path), many("architectures", image.arches.clone())];
    if !image.build_args.is_empty() {
        params.push(many("build-args", image.build_args.iter().map(|(k, v)| format!("{k}={v}")).collect()));
    }
    let contexts: Vec<String> = image
        .inputs
        .values()
        .flat_map(|input| input.texts.iter().map(move |text| format!("{text}=docker://{}", input.resolved)))
        .collect();
    if !contexts.is_empty() {
        params.push(many("build-contexts", contexts));
    }
    if let Some((_, resolved)) = &image.from {
        params.push(one("runtime-stage-from", &format!("docker://{resolved}")));
    }
    json!({
        "apiVersion": "shipwright.io/v1beta1",
        "kind": "Build",
        "metadata": {"name": image.component, "labels": labels(&image.component)},
        "spec": {
            "source": {
                "type": "Git",
                "git": {"url": image.url, "revision": image.commit},
                "contextDir": image.context_dir,
            },
            "strategy": {"name": SHIPWRIGHT_STRATEGY, "kind": "ClusterBuildStrategy"},
            "paramValues": params,
            // The same credentials as the payload step pushes with.
            "output": {"image": image.output, "pushSecret": super::REGISTRY_SECRET},
        },
    })
}

/// The BuildRun a Workflow creates for a component's Shipwright Build.
pub(crate) fn build_run(component: &str) -> Value {
    json!({
        "apiVersion": "shipwright.io/v1beta1",
        "kind": "BuildRun",
        "metadata": {"generateName": format!("{component}-"), "labels": labels(component)},
        "spec": {"build": {"name": component}},
    })
}

/// The release stream (what the components are built into and `oc adm release new` reads,
/// `lookupPolicy.local` so `<stream>:<tag>` works as a short name) and the tools stream
/// (`streams`: stream name → pull spec, imported as manifest lists and served locally).
pub(crate) fn image_streams(settings: &Settings, streams: &BTreeMap<String, String>) -> Vec<Value> {
    let tags: Vec<Value> = streams
        .iter()
        .map(|(name, image)| {
            json!({
                "name": name,
                "from": {"kind": "DockerImage", "name": image},
                "importPolicy": {"importMode": "PreserveOriginal"},
                "referencePolicy": {"type": "Local"},
            })
        })
        .collect();
    vec![
        json!({
            "apiVersion": "image.openshift.io/v1",
            "kind": "ImageStream",
            "metadata": {"name": settings.stream},
            "spec": {"lookupPolicy": {"local": true}},
        }),
        json!({
            "apiVersion": "image.openshift.io/v1",
            "kind": "ImageStream",
            "metadata": {"name": settings.tools_stream},
            "spec": {"lookupPolicy": {"local": true}, "tags": tags},
        }),
    ]
}
