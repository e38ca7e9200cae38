//! Promotion as ci-operator's promotion step and `oc tag --reference` do it on app.ci: a
//! successful promotion job (label `ci-operator.openshift.io/is-promotion: "true"`, container
//! arg `--promote`) tags every image its ci-operator config builds into each `promotion.to`
//! target's ImageStream, pointing at `quay-proxy.ci.openshift.org/openshift/ci@sha256:<digest>`.
//!
//! The config is `ci-operator/config/<org>/<repo>/<org>-<repo>-<branch>[__<variant>].yaml`:
//! org/repo from the job's `<org>/<repo>` key (else the ProwJob's refs), branch from
//! `refs.base_ref`, variant from `--variant=`. Images are `images.items[].to` (or the older bare
//! list); a target with `name` tags `<namespace>/<name>:<to>`, one with `tag` tags
//! `<namespace>/<to>:<tag>`; `disabled: true` targets and `excluded_images` (`*`: all) are
//! skipped; `additional_images` keys are promoted too. The digest of a promoted image is the
//! SHA-256 of `<prowjob name>/<to>`, so one build promoted to two targets has one digest.
//!
//! The controllers call the hook of [`super::FakeGangway::promoter`] just before they write
//! `success` (ci-operator promotes inside the job), so whoever sees success can read the stream;
//! an error fails the job.

use std::sync::Mutex;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{
    release_repo::{ReleaseRepo, args, variant},
    util::lock,
};
use crate::kube::store::{Gvr, Store, StoreError, now};

/// The label prowgen puts on promotion jobs.
pub const IS_PROMOTION: &str = "ci-operator.openshift.io/is-promotion";
/// Where promoted images live (QCI through its pull-through proxy).
pub const QCI_PROXY: &str = "quay-proxy.ci.openshift.org/openshift/ci";

/// One image promoted into one ImageStream tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    /// The ProwJob name (= the execution id).
    pub job_id: String,
    pub job_name: String,
    /// The ImageStream's namespace and name, and the tag.
    pub namespace: String,
    pub stream: String,
    pub tag: String,
    /// `sha256:<hex>`.
    pub digest: String,
}

/// `image.openshift.io/v1` `imagestreams`.
pub fn imagestreams() -> Gvr {
    Gvr::new("image.openshift.io", "v1", "imagestreams")
}

/// The digest a promotion job reports for the image `to`: `sha256:` and the SHA-256 of
/// `<prowjob name>/<to>`.
pub fn promoted_digest(prowjob_name: &str, to: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(format!("{prowjob_name}/{to}").as_bytes())))
}

/// `(tag, digest)` pairs to write into one ImageStream.
type Tags = Vec<(String, String)>;

/// Promotes for the fake Gangway; see the module docs.
#[derive(Debug)]
pub(crate) struct Promoter {
    pub store: Store,
    pub release: Option<ReleaseRepo>,
    pub done: Mutex<Vec<Promotion>>,
}

impl Promoter {
    /// Promotes what a ProwJob about to succeed would; nothing for jobs that do not promote.
    pub(crate) fn promote(&self, prowjob: &Value) -> Result<(), String> {
        let (metadata, spec) = (&prowjob["metadata"], &prowjob["spec"]);
        let id = metadata["name"].as_str().unwrap_or_default();
        let job_name = spec["job"].as_str().unwrap_or_default();
        let kind = spec["type"].as_str().unwrap_or_default();
        let job = self.release.as_ref().and_then(|r| r.job_named(kind, job_name));
        let labelled = |labels: &Value| labels[IS_PROMOTION] == "true";
        let is_promotion =
            labelled(&metadata["labels"]) || job.as_ref().is_some_and(|j| labelled(&j.config["labels"]));
        if !is_promotion || !args(&spec["pod_spec"]).any(|a| a == "--promote") {
            return Ok(());
        }
        let Some(release) = &self.release else {
            return Err(format!(
                "promotion job {job_name}: the fake Gangway has no release repo to read its config from"
            ));
        };
        let refs = if spec["refs"].is_object() { &spec["refs"] } else { &spec["extra_refs"][0] };
        let (org, repo) =
            match job.as_ref().and_then(|j| j.org_repo.as_deref()).and_then(|k| k.split_once('/')) {
                Some((org, repo)) => (org.to_owned(), repo.to_owned()),
                None => (
                    refs["org"].as_str().unwrap_or_default().to_owned(),
                    refs["repo"].as_str().unwrap_or_default().to_owned(),
                ),
            };
        let branch = refs["base_ref"].as_str().unwrap_or_default();
        let variant = variant(&spec["pod_spec"]);
        let (path, config) = release.ci_operator_config(&org, &repo, branch, variant.as_deref())?;
        let planned = plan(&config).map_err(|e| format!("{}: {e}", path.display()))?;

        // One write per stream, in the order the config names them.
        let mut streams: Vec<((String, String), Tags)> = Vec::new();
        for (namespace, stream, tag, source) in planned {
            let digest = promoted_digest(id, &source);
            let key = (namespace, stream);
            match streams.iter_mut().find(|(k, _)| *k == key) {
                Some((_, tags)) => tags.push((tag, digest)),
                None => streams.push((key, vec![(tag, digest)])),
            }
        }
        for ((namespace, stream), tags) in streams {
            let public = format!("registry.ci.openshift.org/{namespace}/{stream}");
            let repos = StreamRepos { source: QCI_PROXY, public: &public };
            tag_stream(&self.store, &namespace, &stream, &tags, repos)?;
            lock(&self.done).extend(tags.into_iter().map(|(tag, digest)| Promotion {
                job_id: id.to_owned(),
                job_name: job_name.to_owned(),
                namespace: namespace.clone(),
                stream: stream.clone(),
                tag,
                digest,
            }));
        }
        Ok(())
    }
}

/// `(namespace, stream, tag, source image)` for every image a config promotes.
fn plan(config: &Value) -> Result<Vec<(String, String, String, String)>, String> {
    let items = match &config["images"] {
        Value::Array(list) => list.clone(),
        Value::Object(images) => images.get("items").and_then(Value::as_array).cloned().unwrap_or_default(),
        Value::Null => Vec::new(),
        _ => return Err("images: neither a list nor {items: [...]}".to_owned()),
    };
    let mut images = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let to = item["to"].as_str().filter(|t| !t.is_empty());
        images.push(to.ok_or_else(|| format!("images.items[{i}]: `to` is required"))?.to_owned());
    }
    let promotion = &config["promotion"];
    // The pre-`to` form had the target's fields at the top of `promotion`.
    let targets = match &promotion["to"] {
        Value::Array(targets) => targets.clone(),
        Value::Null if promotion["namespace"].is_string() => vec![promotion.clone()],
        Value::Null => Vec::new(),
        _ => return Err("promotion.to: not a list".to_owned()),
    };
    let mut planned = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        if target["disabled"] == json!(true) {
            continue;
        }
        let namespace =
            target["namespace"].as_str().ok_or_else(|| format!("promotion.to[{i}]: no namespace"))?;
        let excluded: Vec<&str> =
            target["excluded_images"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let mut names: Vec<(String, String)> = images
            .iter()
            .filter(|to| !excluded.contains(&"*") && !excluded.contains(&to.as_str()))
            .map(|to| (to.clone(), to.clone()))
            .collect();
        if let Some(extra) = target["additional_images"].as_object() {
            names.extend(extra.keys().map(|name| (name.clone(), name.clone())));
        }
        for (name, source) in names {
            let (stream, tag) = match (target["name"].as_str(), target["tag"].as_str()) {
                (Some(stream), None) => (stream.to_owned(), name),
                (None, Some(tag)) => (name, tag.to_owned()),
                _ => return Err(format!("promotion.to[{i}]: exactly one of name and tag is required")),
            };
            planned.push((namespace.to_owned(), stream, tag, source));
        }
    }
    Ok(planned)
}

/// Where a stream's images are pulled from: each digest at `source` (`<source>@<digest>`), and
/// the stream's `status.publicDockerImageRepository`.
#[derive(Debug, Clone, Copy)]
pub struct StreamRepos<'a> {
    pub source: &'a str,
    pub public: &'a str,
}

/// Points `tags` of `<namespace>/<name>` at their digests in `repos.source`, creating the
/// stream if needed: the spec tag `oc tag --reference` writes, then the status item the image
/// controller adds (newest first). Retries on conflicts with concurrent writers. Used by the
/// promotion step here and by the fake Argo builds (crate::kube::controllers).
pub fn tag_stream(
    store: &Store,
    namespace: &str,
    name: &str,
    tags: &[(String, String)],
    repos: StreamRepos<'_>,
) -> Result<(), String> {
    let gvr = imagestreams();
    let spec_tag = |tag: &str, digest: &str, generation: u64| {
        json!({
            "name": tag,
            "from": {"kind": "DockerImage", "name": format!("{}@{digest}", repos.source)},
            "generation": generation,
            "importPolicy": {"importMode": "PreserveOriginal"},
            "referencePolicy": {"type": "Local"},
        })
    };
    let mut written = None;
    for _ in 0..50 {
        let result = match store.get(&gvr, namespace, name) {
            None => {
                let tags: Vec<Value> = tags.iter().map(|(t, d)| spec_tag(t, d, 1)).collect();
                let stream = json!({
                    "apiVersion": "image.openshift.io/v1",
                    "kind": "ImageStream",
                    "metadata": {"name": name, "namespace": namespace},
                    "spec": {"lookupPolicy": {"local": false}, "tags": tags},
                });
                store.create(&gvr, namespace, stream)
            }
            Some(mut stream) => {
                let next = stream["metadata"]["generation"].as_u64().unwrap_or(1) + 1;
                if !stream["spec"]["tags"].is_array() {
                    stream["spec"]["tags"] = json!([]);
                }
                if let Some(list) = stream["spec"]["tags"].as_array_mut() {
                    list.retain(|t| !tags.iter().any(|(tag, _)| t["name"] == tag.as_str()));
                    list.extend(tags.iter().map(|(t, d)| spec_tag(t, d, next)));
                }
                let rv = stream["metadata"]["resourceVersion"].as_str().and_then(|v| v.parse().ok());
                store.replace(&gvr, namespace, name, stream, rv, false)
            }
        };
        match result {
            Ok(stream) => {
                written = Some(stream);
                break;
            }
            Err(StoreError::AlreadyExists | StoreError::Conflict { .. }) => {}
            Err(e) => return Err(format!("tagging {namespace}/{name}: {e:?}")),
        }
    }
    let stream = written.ok_or_else(|| format!("tagging {namespace}/{name}: too many conflicts"))?;
    let generation = stream["metadata"]["generation"].as_u64().unwrap_or(1);
    let created = now();
    store
        .update_status(&gvr, namespace, name, |status| {
            status["dockerImageRepository"] =
                json!(format!("image-registry.openshift-image-registry.svc:5000/{namespace}/{name}"));
            status["publicDockerImageRepository"] = json!(repos.public);
            if !status["tags"].is_array() {
                status["tags"] = json!([]);
            }
            let Some(lists) = status["tags"].as_array_mut() else { return };
            for (tag, digest) in tags {
                let item = json!({
                    "created": created,
                    "dockerImageReference": format!("{}@{digest}", repos.source),
                    "image": digest,
                    "generation": generation,
                });
                match lists.iter_mut().find(|l| l["tag"] == tag.as_str()) {
                    Some(list) => match list["items"].as_array_mut() {
                        Some(items) => items.insert(0, item),
                        None => list["items"] = json!([item]),
                    },
                    None => lists.push(json!({"tag": tag, "items": [item]})),
                }
            }
        })
        .map(|_| ())
        .map_err(|e| format!("tagging {namespace}/{name}: {e:?}"))
}
