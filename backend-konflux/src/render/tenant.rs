//! The tenant objects (`appstudio.redhat.com/v1alpha1`): the Application, a Component per
//! component and the ImageRepositories its images go to.

use okd_core::{Error, ErrorKind, Result, manifest::Release};
use serde_json::{Value, json};

use super::{ComponentView, pipelinerun::pipeline_for};
use crate::config::Settings;

const API_VERSION: &str = "appstudio.redhat.com/v1alpha1";

fn metadata(name: &str, namespace: Option<&str>) -> Value {
    let mut metadata = json!({"name": name});
    if let Some(ns) = namespace {
        metadata["namespace"] = json!(ns);
    }
    metadata
}

/// The Application that groups the release's Components.
pub(crate) fn application(name: &str, namespace: Option<&str>, release: &Release) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "Application",
        "metadata": metadata(name, namespace),
        "spec": {
            "displayName": format!("{} {}", release.name, release.version),
            "description": format!("okd-build release {} ({} components)", release.name, release.components.len()),
        },
    })
}

fn pipeline_annotation(view: &ComponentView, settings: &Settings) -> String {
    let pipeline = pipeline_for(&view.platforms);
    json!({"name": pipeline, "bundle": settings.bundle(pipeline)}).to_string()
}

/// A Component of the Konflux-only approach: its repository carries the `.tekton` files
/// okd-build rendered, so build-service is asked to set up Pipelines-as-Code without sending its
/// own onboarding pull request; its push builds nudge the components built on it.
pub(crate) fn pac_component(
    view: &ComponentView,
    application: &str,
    namespace: Option<&str>,
    settings: &Settings,
) -> Value {
    let mut git = json!({"url": view.repo.url, "revision": view.branch, "dockerfileUrl": view.dockerfile});
    if view.context != "." {
        git["context"] = json!(view.context);
    }
    let mut object = json!({
        "apiVersion": API_VERSION,
        "kind": "Component",
        "metadata": metadata(&view.name, namespace),
        "spec": {
            "application": application,
            "componentName": view.name,
            "source": {"git": git},
            "containerImage": view.image_repo,
        },
    });
    object["metadata"]["annotations"] = json!({
        "build.appstudio.openshift.io/pipeline": pipeline_annotation(view, settings),
        "build.appstudio.openshift.io/request": "configure-pac-no-mr",
    });
    if !view.children.is_empty() {
        object["spec"]["build-nudges-ref"] = json!(view.children);
    }
    object
}

/// The ImageRepository of one component's images, linked to its Component so image-controller
/// gives the build service account push access and writes the repository back.
pub(crate) fn component_image_repository(
    view: &ComponentView,
    application: &str,
    namespace: Option<&str>,
    release: &Release,
) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "ImageRepository",
        "metadata": {
            "name": view.name,
            "namespace": namespace,
            "labels": {
                "appstudio.redhat.com/application": application,
                "appstudio.redhat.com/component": view.name,
            },
            "annotations": {"image-controller.appstudio.redhat.com/update-component-image": "true"},
        },
        "spec": {"image": {"name": format!("{}/{}", release.output.repository, view.name), "visibility": "public"}},
    })
}

/// A Component of Doozer + Konflux: sources come from its build branch of the git remote, and
/// Pipelines-as-Code and MintMaker stay off (okd-build creates every run itself).
pub(crate) fn direct_component(
    view: &ComponentView,
    application: &str,
    namespace: Option<&str>,
    settings: &Settings,
    remote: &str,
    branch: &str,
    image_repo: &str,
) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "Component",
        "metadata": {
            "name": view.name,
            "namespace": namespace,
            "annotations": {
                "build.appstudio.openshift.io/pipeline": pipeline_annotation(view, settings),
                "build.appstudio.openshift.io/status": "{\"pac\":{\"state\":\"disabled\"}}",
                "mintmaker.appstudio.redhat.com/disabled": "true",
            },
        },
        "spec": {
            "application": application,
            "componentName": view.name,
            "source": {"git": {"url": remote, "revision": branch, "dockerfileUrl": "Dockerfile"}},
            "containerImage": image_repo,
        },
    })
}

/// The one ImageRepository every Doozer + Konflux image goes to, as ART's `art-okd-images`.
pub(crate) fn shared_image_repository(
    application: &str,
    namespace: Option<&str>,
    release: &Release,
) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "ImageRepository",
        "metadata": {"name": application, "namespace": namespace},
        "spec": {"image": {"name": release.output.repository, "visibility": "public"}},
    })
}

/// Drops `null` namespaces (objects rendered without a namespace).
pub(crate) fn tidy(mut object: Value) -> Value {
    if let Some(metadata) = object["metadata"].as_object_mut()
        && metadata.get("namespace").is_some_and(Value::is_null)
    {
        metadata.remove("namespace");
    }
    object
}

/// Objects as one multi-document YAML file.
pub(crate) fn yaml_documents(header: &str, objects: &[Value]) -> Result<String> {
    let mut out = String::from(header);
    for object in objects {
        out.push_str("---\n");
        out.push_str(&yaml(object)?);
    }
    Ok(out)
}

/// One object as YAML, long strings on one line as build-service writes them (folded block
/// scalars would be valid YAML but hard to diff against real `.tekton` files).
pub(crate) fn yaml(object: &Value) -> Result<String> {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.prefer_block_scalars = false;
    serde_saphyr::to_string_with_options(object, options)
        .map_err(|e| Error::new(ErrorKind::Internal, "cannot write YAML").with_source(e))
}
