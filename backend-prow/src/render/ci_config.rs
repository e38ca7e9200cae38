//! One ci-operator config as openshift/release carries it: the fields of an okd-scos config
//! (reference §1.10), keys sorted as determinize-ci-operator writes them.

use serde_json::{Map, Value, json};

use super::{Config, Image};
use crate::config::{Settings, StreamTag};

fn stream_tag(tag: &StreamTag) -> Value {
    json!({"namespace": tag.namespace, "name": tag.name, "tag": tag.tag})
}

fn image_item(image: &Image) -> Value {
    let mut item = Map::new();
    item.insert("to".into(), json!(image.component));
    item.insert("dockerfile_path".into(), json!(image.dockerfile_path));
    if let Some(dir) = &image.context_dir {
        item.insert("context_dir".into(), json!(dir));
    }
    if let Some(from) = &image.from {
        item.insert("from".into(), json!(from));
    }
    if !image.inputs.is_empty() {
        let inputs: Map<String, Value> =
            image.inputs.iter().map(|(tag, texts)| (tag.clone(), json!({"as": texts}))).collect();
        item.insert("inputs".into(), Value::Object(inputs));
    }
    if !image.build_args.is_empty() {
        let args: Vec<Value> = image.build_args.iter().map(|(k, v)| json!({"name": k, "value": v})).collect();
        item.insert("build_args".into(), Value::Array(args));
    }
    Value::Object(item)
}

/// The config of `config`, promoting to `stream`.
pub(crate) fn config(
    config: &Config,
    settings: &Settings,
    version: &semver::Version,
    stream: &(String, String),
) -> Value {
    let (ns, name) = stream;
    let mut object = Map::new();
    object.insert("zz_generated_metadata".into(), config.id.metadata());
    object
        .insert("build_root".into(), json!({"image_stream_tag": stream_tag(&settings.build_root(version))}));
    if !config.base_images.is_empty() {
        let base: Map<String, Value> =
            config.base_images.iter().map(|(alias, tag)| (alias.clone(), stream_tag(tag))).collect();
        object.insert("base_images".into(), Value::Object(base));
    }
    if !config.external_images.is_empty() {
        let external: Map<String, Value> = config
            .external_images
            .iter()
            .map(|(alias, e)| {
                (
                    alias.clone(),
                    json!({"registry": "quay.io", "namespace": e.namespace, "name": e.name, "tag": e.tag}),
                )
            })
            .collect();
        object.insert("external_images".into(), Value::Object(external));
    }
    object
        .insert("images".into(), json!({"items": config.images.iter().map(image_item).collect::<Vec<_>>()}));
    object.insert("promotion".into(), json!({"to": [{"namespace": ns, "name": name}]}));
    object.insert(
        "releases".into(),
        json!({"latest": {"integration": {"namespace": ns, "name": name, "include_built_images": true}}}),
    );
    object.insert("resources".into(), json!({"*": {"requests": {"cpu": "100m", "memory": "200Mi"}}}));
    if settings.e2e_test {
        object.insert(
            "tests".into(),
            json!([{
                "as": "e2e-aws-ovn",
                "always_run": false,
                "optional": true,
                "steps": {"cluster_profile": "aws", "workflow": "openshift-e2e-aws"},
            }]),
        );
    }
    Value::Object(object)
}
