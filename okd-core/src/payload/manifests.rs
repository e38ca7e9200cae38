//! What `oc adm release new` does to each operator's `/manifests` (new.go `writePayload`,
//! image_mapper.go): substitute image pull specs and `0.0.1-snapshot` versions, rename files
//! into the flat `0000_NN_<tag>_<file>` namespace, and check every manifest has a kind.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, Result};

/// One file of an operator image's `/manifests`, as read from its last layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFile {
    /// File name, no directories.
    pub name: String,
    /// Bytes.
    pub content: Vec<u8>,
    /// Modification time (seconds), kept into the payload layer as oc keeps it.
    pub mtime: u64,
}

/// An operator's `/manifests`: the payload tag it came from and its top-level files.
#[derive(Debug, Clone)]
pub struct OperatorManifests {
    /// The payload tag.
    pub tag: String,
    /// Top-level files, in directory order; `image-references` among them when present.
    pub files: Vec<ManifestFile>,
}

/// `image.openshift.io/v1` ImageStream, as far as payloads use it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageStream {
    /// Always `ImageStream`.
    pub kind: String,
    /// Always `image.openshift.io/v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// Name (the release version in a payload), creation time, annotations.
    #[serde(default)]
    pub metadata: StreamMeta,
    /// The tags.
    #[serde(default)]
    pub spec: StreamSpec,
    /// oc writes `{"dockerImageRepository": ""}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Value>,
}

/// ImageStream metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamMeta {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// RFC 3339; oc always writes the key.
    #[serde(rename = "creationTimestamp", default)]
    pub creation_timestamp: Option<String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// ImageStream spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamSpec {
    /// `{"local": false}` in payloads.
    #[serde(rename = "lookupPolicy", default, skip_serializing_if = "Option::is_none")]
    pub lookup_policy: Option<Value>,
    /// The tags.
    #[serde(default)]
    pub tags: Vec<StreamTag>,
}

/// One tag of an ImageStream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamTag {
    /// Tag name.
    pub name: String,
    /// `io.openshift.build.*` labels of the image, copied.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// `{"kind": "DockerImage", "name": "<pull spec>"}`.
    pub from: Option<ObjectReference>,
}

/// Where a tag points.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ObjectReference {
    /// `DockerImage`.
    pub kind: String,
    /// The pull spec.
    pub name: String,
}

impl StreamTag {
    /// The pull spec, when the tag is a `DockerImage` reference.
    pub fn pull_spec(&self) -> Option<&str> {
        self.from.as_ref().filter(|f| f.kind == "DockerImage").map(|f| f.name.as_str())
    }
}

/// Parses an ImageStream in YAML or JSON, checking kind and apiVersion as oc does.
pub fn parse_image_stream(text: &str, what: &str) -> Result<ImageStream> {
    let stream: ImageStream = serde_saphyr::from_str(text).map_err(|e| {
        Error::invalid(format!("{what} is not an ImageStream: {}", first_line(&e.to_string())))
    })?;
    if stream.kind != "ImageStream" || stream.api_version != "image.openshift.io/v1" {
        return Err(Error::invalid(format!(
            "{what} has kind `{}` and apiVersion `{}`, not ImageStream and image.openshift.io/v1",
            stream.kind, stream.api_version
        )));
    }
    Ok(stream)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// What rewriting one operator's manifests produced.
#[derive(Debug, Clone)]
pub struct Rewritten {
    /// Files, renamed and substituted, in the order they go into the layer.
    pub files: Vec<ManifestFile>,
    /// Payload tags the operator's image-references names.
    pub references: BTreeSet<String>,
}

/// Rewrites `operator`'s manifests for the payload. `pull_specs` maps every payload tag to
/// its digest pull spec; `versions` maps component keys (`kubernetes`, ...) to versions;
/// `taken` holds names already used by earlier operators.
pub fn rewrite_operator(
    operator: &OperatorManifests,
    release_name: &str,
    pull_specs: &BTreeMap<String, String>,
    versions: &BTreeMap<String, String>,
    taken: &mut BTreeSet<String>,
) -> Result<Rewritten> {
    let what = |f: &str| format!("{}'s /manifests/{f}", operator.tag);
    let mut mappings = Vec::new();
    let mut references = BTreeSet::new();
    if let Some(refs) = operator.files.iter().find(|f| f.name == "image-references") {
        let text = String::from_utf8_lossy(&refs.content);
        let stream = parse_image_stream(&text, &what("image-references"))?;
        let mut sources: BTreeMap<String, String> = BTreeMap::new();
        for tag in &stream.spec.tags {
            let Some(spec) = tag.pull_spec() else { continue };
            let target = pull_specs.get(&tag.name).ok_or_else(|| {
                Error::invalid(format!("no input image tag named {} ({} references it)", tag.name, what("image-references")))
                    .with_help(format!("add a payload component named `{}` to the release, or remove it from the operator's image-references", tag.name))
            })?;
            let repo = strip_tag_and_digest(spec).to_owned();
            if let Some(other) = sources.insert(repo.clone(), tag.name.clone()) {
                return Err(Error::invalid(format!(
                    "{}: tags {other} and {} share the source repository {repo}",
                    what("image-references"),
                    tag.name
                )));
            }
            references.insert(tag.name.clone());
            mappings.push((repo, target.clone()));
        }
    }
    // The release name without build metadata, as oc substitutes it.
    let release_version = release_name.split('+').next().unwrap_or(release_name);
    let mut files = Vec::new();
    for file in &operator.files {
        if file.name == "image-references" {
            continue;
        }
        let mut content = file.content.clone();
        if let Ok(text) = std::str::from_utf8(&file.content) {
            let mut text = text.to_owned();
            for (repo, target) in &mappings {
                text = replace_image(&text, repo, target);
            }
            text = replace_versions(&text, release_version, versions)
                .map_err(|e| e.context(what(&file.name)))?;
            content = text.into_bytes();
        }
        check_manifest(&file.name, &content).map_err(|e| e.context(what(&file.name)))?;
        let name = unique_name(payload_name(&operator.tag, &file.name), taken);
        files.push(ManifestFile { name, content, mtime: file.mtime });
    }
    Ok(Rewritten { files, references })
}

/// `quay.io/a/b:tag` and `quay.io/a/b@sha256:...` are both `quay.io/a/b`.
fn strip_tag_and_digest(spec: &str) -> &str {
    let spec = spec.split('@').next().unwrap_or(spec);
    match spec.rfind(':') {
        Some(i) if !spec[i..].contains('/') => &spec[..i],
        _ => spec,
    }
}

fn is_ref_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_.-/".contains(c)
}

/// Replaces each whole occurrence of `repo`, with an optional `:tag` or `@digest` after it,
/// by `target`. "Whole" means the characters around it cannot continue an image reference,
/// so `quay.io/a/b` does not match inside `quay.io/a/b-extra`.
pub fn replace_image(text: &str, repo: &str, target: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(repo) {
        let before_ok = rest[..i].chars().next_back().is_none_or(|c| !is_ref_char(c));
        let after = &rest[i + repo.len()..];
        let suffix = reference_suffix(after);
        let end_ok = after[suffix..].chars().next().is_none_or(|c| !is_ref_char(c) && c != ':' && c != '@');
        if before_ok && end_ok {
            out.push_str(&rest[..i]);
            out.push_str(target);
            rest = &after[suffix..];
        } else {
            out.push_str(&rest[..i + repo.len()]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Length of a `:tag` or `@sha256:hex` at the start of `s`, or 0.
fn reference_suffix(s: &str) -> usize {
    if let Some(tag) = s.strip_prefix(':') {
        let n = tag.find(|c: char| !(c.is_ascii_alphanumeric() || "_.-".contains(c))).unwrap_or(tag.len());
        if n > 0 { n + 1 } else { 0 }
    } else if let Some(d) = s.strip_prefix("@sha256:") {
        let n = d.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(d.len());
        if n == 64 { n + 8 } else { 0 }
    } else {
        0
    }
}

const SNAPSHOT: &str = "0.0.1-snapshot";

/// `0.0.1-snapshot` becomes the release version; `0.0.1-snapshot-<key>` the version of
/// component `<key>`. An unknown key is an error, as in oc: a ClusterOperator would otherwise
/// report a version the CVO waits for forever.
pub fn replace_versions(text: &str, release: &str, versions: &BTreeMap<String, String>) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(SNAPSHOT) {
        let boundary = rest[..i].chars().next_back().is_none_or(|c| !(c.is_ascii_digit() || c == '.'));
        let after = &rest[i + SNAPSHOT.len()..];
        out.push_str(&rest[..i]);
        if !boundary {
            out.push_str(SNAPSHOT);
            rest = after;
            continue;
        }
        let key_len = after
            .strip_prefix('-')
            .map(|k| {
                k.find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
                    .unwrap_or(k.len())
            })
            .unwrap_or(0);
        if key_len >= 2 {
            let key = after[1..=key_len].trim_end_matches('-');
            let version = versions.get(key).ok_or_else(|| {
                Error::invalid(format!(
                    "`{SNAPSHOT}-{key}` names component `{key}`, but no referenced image reports its version"
                ))
                .with_help(
                    "label the image with io.openshift.build.versions=KEY=VERSION, or fix the placeholder",
                )
            })?;
            out.push_str(version);
            rest = &after[1 + key.len()..];
        } else {
            out.push_str(release);
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// oc's renaming: files not already in the `0000_` namespace run at level 50 under the tag.
fn payload_name(tag: &str, file: &str) -> String {
    if file.starts_with("0000_") { file.to_owned() } else { format!("0000_50_{tag}_{file}") }
}

fn unique_name(name: String, taken: &mut BTreeSet<String>) -> String {
    let mut candidate = name.clone();
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name.as_str(), ""),
    };
    let mut n = 1;
    while taken.contains(&candidate) {
        candidate = format!("{stem}_{n}{ext}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

/// oc's manifest check: every YAML or JSON document has a kind and an apiVersion. Files of
/// other types ride along unchecked, as in oc.
pub fn check_manifest(name: &str, content: &[u8]) -> Result<()> {
    if !(name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json")) {
        return Ok(());
    }
    let text = std::str::from_utf8(content).map_err(|_| Error::invalid("is not UTF-8"))?;
    let docs: Vec<Value> = serde_saphyr::from_multiple(text)
        .map_err(|e| Error::invalid(format!("does not parse: {}", first_line(&e.to_string()))))?;
    for doc in docs.iter().filter(|d| !d.is_null()) {
        let has = |k: &str| doc.get(k).and_then(Value::as_str).is_some_and(|s| !s.is_empty());
        if !has("kind") || !has("apiVersion") {
            return Err(Error::invalid("a document has no kind or apiVersion").with_help(
                "every manifest must be a Kubernetes object; the CVO refuses the whole payload otherwise",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    #[test]
    fn replaces_whole_references_with_any_tag_or_digest() {
        let target = format!("127.0.0.1:5000/okd/mini@{DIGEST}");
        let text =
            "a: quay.io/o/dns:latest\nb: \"quay.io/o/dns\"\nc: quay.io/o/dns-extra:1\nd: x.quay.io/o/dns\n";
        let out = replace_image(text, "quay.io/o/dns", &target);
        assert_eq!(
            out,
            format!("a: {target}\nb: \"{target}\"\nc: quay.io/o/dns-extra:1\nd: x.quay.io/o/dns\n")
        );
        let pinned = format!("image: quay.io/o/dns@{DIGEST}");
        assert_eq!(replace_image(&pinned, "quay.io/o/dns", "X"), "image: X");
    }

    #[test]
    fn substitutes_release_and_component_versions() {
        let versions = BTreeMap::from([("kubernetes".to_owned(), "1.30.2".to_owned())]);
        let out =
            replace_versions("v: 0.0.1-snapshot\nk: 0.0.1-snapshot-kubernetes\n", "4.17.0-0.okd", &versions);
        assert_eq!(out.expect("substitutes"), "v: 4.17.0-0.okd\nk: 1.30.2\n");
        let err = replace_versions("0.0.1-snapshot-crio", "4.17.0", &versions).expect_err("unknown key");
        assert!(err.to_string().contains("crio"), "{err}");
        assert_eq!(replace_versions("10.0.1-snapshot", "4", &versions).expect("kept"), "10.0.1-snapshot");
    }

    #[test]
    fn renames_into_the_flat_namespace_without_collisions() {
        let mut taken = BTreeSet::new();
        assert_eq!(unique_name(payload_name("dns", "a.yaml"), &mut taken), "0000_50_dns_a.yaml");
        assert_eq!(unique_name(payload_name("dns", "a.yaml"), &mut taken), "0000_50_dns_a_1.yaml");
        assert_eq!(unique_name(payload_name("dns", "0000_70_x.yaml"), &mut taken), "0000_70_x.yaml");
    }

    #[test]
    fn manifests_need_kind_and_api_version() {
        assert!(check_manifest("a.yaml", b"kind: A\napiVersion: v1\n---\nkind: B\napiVersion: v1\n").is_ok());
        assert!(check_manifest("a.yaml", b"kind: A\n").is_err());
        assert!(check_manifest("a.yaml", b"kind: [\n").is_err());
        assert!(check_manifest("README", b"anything").is_ok());
    }

    #[test]
    fn an_unknown_referenced_tag_is_an_error_naming_it() {
        let refs = "kind: ImageStream\napiVersion: image.openshift.io/v1\nspec:\n  tags:\n  - name: coredns\n    from: {kind: DockerImage, name: quay.io/o/coredns:latest}\n";
        let op = OperatorManifests {
            tag: "dns".into(),
            files: vec![ManifestFile { name: "image-references".into(), content: refs.into(), mtime: 0 }],
        };
        let err = rewrite_operator(&op, "4.17.0", &BTreeMap::new(), &BTreeMap::new(), &mut BTreeSet::new())
            .expect_err("coredns is missing");
        assert!(err.to_string().contains("no input image tag named coredns"), "{err}");
    }
}
