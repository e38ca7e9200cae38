//! The resources after kustomize, sorted: BuildConfigs, the `release` ImageStream (placeholder
//! tags), the `tools` ImageStream (streams), the Namespace; and the release-level defaults.

use std::collections::BTreeMap;

use okd_core::Result;

use super::{
    INTERNAL_REGISTRY, ImportOptions, ReleaseDefaults,
    batches::Schedule,
    buildconfig::{self, BuildConfig},
    kustomize::Resource,
    map::{Comp, ReleaseTag, Stream},
    tree::{At, Node},
    warn::{WarningKind, Warns},
};

const ARCHES: &[&str] = &["amd64", "arm64", "ppc64le", "s390x"];

#[derive(Debug, Default)]
pub(super) struct Found {
    pub(super) bcs: Vec<BuildConfig>,
    /// BuildConfigs that could not be read as one: name, reason, place.
    pub(super) skipped: Vec<(String, String, At)>,
    pub(super) tags: Vec<ReleaseTag>,
    pub(super) streams: BTreeMap<String, Stream>,
    pub(super) namespace: Option<String>,
}

pub(super) fn classify(resources: &[Resource], warns: &mut Warns) -> Result<Found> {
    let mut found = Found::default();
    for r in resources {
        let at = r.doc.path(&["metadata", "name"]).map_or_else(|| r.doc.at.clone(), |n| n.at.clone());
        match (r.kind(), r.name()) {
            ("BuildConfig", name) => match buildconfig::read(&r.doc, warns)? {
                Ok(bc) => found.bcs.push(bc),
                Err((why, at)) => {
                    warns.at(WarningKind::Skipped, &at, format!("BuildConfig {name} is not imported: {why}"));
                    found.skipped.push((name.to_owned(), why, at));
                }
            },
            ("ImageStream", "release") => {
                for (name, kind, from, at) in tags(&r.doc, warns)? {
                    found.tags.push(ReleaseTag { name, kind, from, at });
                }
            }
            ("ImageStream", "tools") => {
                for (name, kind, from, at) in tags(&r.doc, warns)? {
                    if kind == "DockerImage" {
                        found.streams.insert(name, Stream { image: from, at });
                    } else {
                        warns.at(WarningKind::Unmapped, &at, format!(
                            "tools tag {name} follows {kind} {from}; a stream is an image, not imported"
                        ));
                    }
                }
            }
            ("Namespace", name) => found.namespace = Some(name.to_owned()),
            (kind, name) => warns.at(WarningKind::OtherResource, &at, format!(
                "{kind} {name} is not imported: only BuildConfigs and the release and tools ImageStreams are"
            )),
        }
    }
    Ok(found)
}

/// `spec.tags[]` of an ImageStream: (name, from kind, from name, place of the name).
fn tags(doc: &Node, warns: &mut Warns) -> Result<Vec<(String, String, String, At)>> {
    let example = "tags: [{name: centos9, from: {kind: DockerImage, name: quay.io/centos/centos:stream9}}]";
    let mut out = Vec::new();
    let Some(list) = doc.path(&["spec", "tags"]) else { return Ok(out) };
    for tag in list.seq("spec.tags", example)? {
        tag.map("each tag", example)?;
        let name_node = tag.get("name");
        let Some(name) = name_node.map(|n| n.string("tags[].name", example)).transpose()?.flatten() else {
            warns.at(WarningKind::Unmapped, &tag.at, "an ImageStream tag without a name; not imported");
            continue;
        };
        let at = name_node.map_or_else(|| tag.at.clone(), |n| n.at.clone());
        let Some(from) = tag.get("from") else {
            warns.at(WarningKind::Unmapped, &at, format!("tag {name} has no from; not imported"));
            continue;
        };
        let kind = from.get("kind").map(|k| k.string("from.kind", example)).transpose()?.flatten();
        let image = from.get("name").map(|k| k.string("from.name", example)).transpose()?.flatten();
        out.push((
            name.to_owned(),
            kind.unwrap_or("DockerImage").to_owned(),
            image.unwrap_or_default().to_owned(),
            at,
        ));
    }
    Ok(out)
}

/// Warns about every `release` tag a component does not stand for; returns their names.
pub(super) fn placeholders(tags: &[ReleaseTag], comps: &[Comp], warns: &mut Warns) -> Vec<String> {
    let mut out = Vec::new();
    for t in tags {
        let message = match (comps.iter().find(|c| c.name == t.name), t.kind.as_str()) {
            (Some(c), _) => format!(
                "release tag {} is a placeholder ({} {}) that BuildConfig {} overwrites when it builds; the component is imported, the placeholder is not",
                t.name, t.kind, t.from, c.bc.name
            ),
            (None, "DockerImage") => format!(
                "release tag {} is a placeholder ({}) that no BuildConfig builds: a manifest has only built components, so it is not imported and a payload whose image-references name {} lacks it",
                t.name, t.from, t.name
            ),
            (None, _) => format!(
                "release tag {} re-tags {} {}: a manifest cannot give an image a second tag, not imported",
                t.name, t.kind, t.from
            ),
        };
        warns.at(WarningKind::Placeholder, &t.at, message);
        out.push(t.name.clone());
    }
    out
}

pub(super) fn defaults(
    options: &ImportOptions,
    overlay: Option<String>,
    namespace: Option<String>,
    comps: &[Comp],
    schedule: Option<&Schedule>,
    warns: &mut Warns,
) -> ReleaseDefaults {
    // The release is named after the overlay's namespace, else the variant, else the namespace;
    // its images go to the `release` ImageStream of the namespace the BuildConfigs run in.
    let name = options.name.clone().or_else(|| overlay.clone()).unwrap_or_else(|| match &options.variant {
        Some(v) => format!("okd-{v}"),
        None => namespace.clone().unwrap_or_else(|| "okd".to_owned()),
    });
    let namespace = overlay.or(namespace).unwrap_or_else(|| "okd".to_owned());
    let version = options.version.clone().unwrap_or_else(|| {
        let mut counts: BTreeMap<(u64, u64), usize> = BTreeMap::new();
        for c in comps {
            if let Some((major, minor)) = c.reference.strip_prefix("release-").and_then(|v| v.split_once('.'))
                && let (Ok(major), Ok(minor)) = (major.parse(), minor.parse())
            {
                *counts.entry((major, minor)).or_default() += 1;
            }
        }
        let best = counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0))).map(|(v, _)| v);
        let (major, minor) = best.unwrap_or((0, 0));
        let version = format!("{major}.{minor}.0-0.{name}");
        if semver::Version::parse(&version).is_ok() { version } else { format!("{major}.{minor}.0") }
    });
    let repository = options.repository.clone().unwrap_or_else(|| format!("{namespace}/release"));
    let arches = schedule.and_then(|s| s.arches.as_ref()).and_then(|(list, at)| {
        let mut arches = Vec::new();
        for arch in list.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            if ARCHES.contains(&arch) {
                if !arches.iter().any(|a| a == arch) {
                    arches.push(arch.to_owned());
                }
            } else {
                warns.at(
                    WarningKind::Unmapped,
                    at,
                    format!(
                        "architecture {arch} is not one the manifest knows ({}); left out",
                        ARCHES.join(", ")
                    ),
                );
            }
        }
        (!arches.is_empty()).then_some(arches)
    });
    ReleaseDefaults {
        name,
        version,
        registry: options.registry.clone().unwrap_or_else(|| INTERNAL_REGISTRY.to_owned()),
        repository,
        arches,
    }
}
