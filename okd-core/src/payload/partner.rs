//! Partner payloads: start from an existing release and replace only some of its tags, as
//! `oc adm release new --from-release REF name=image ...` does. The rest keep the original's
//! digests, so `okd payload diff ORIGINAL NEW` lists exactly the replaced tags.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{ImageRef, ImageRegistry, PayloadTag, ReleaseInfo};
use crate::{Error, Result};

/// Where a tag of an assembled payload came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TagOrigin {
    /// Built by the release's backend run.
    Built,
    /// Kept from the release given by `--from-release`.
    FromRelease,
    /// Given by `--replace TAG=PULLSPEC`.
    Replaced,
}

impl TagOrigin {
    /// The word tables print.
    pub fn as_str(self) -> &'static str {
        match self {
            TagOrigin::Built => "built",
            TagOrigin::FromRelease => "from-release",
            TagOrigin::Replaced => "replaced",
        }
    }
}

/// An image given by digest as it is, or by tag resolved to the digest it has now: a payload
/// names every image by digest.
pub async fn pin(registry: &dyn ImageRegistry, image: &ImageRef) -> Result<ImageRef> {
    if image.digest.is_some() {
        return Ok(image.clone());
    }
    let (_, digest) = registry.manifest(image).await?;
    Ok(image.at_digest(&digest))
}

/// The tags of a payload made of `original`'s tags (when given), then `built` over them (where
/// the digest differs), then `replace` over both; and where each came from. A replaced tag must be in the original or
/// built, unless there is no original (then it adds the tag), so a typo cannot slip in a new
/// tag. Every image must carry a digest ([`pin`] them first).
pub fn merge(
    original: Option<&ReleaseInfo>,
    built: Vec<PayloadTag>,
    replace: Vec<PayloadTag>,
) -> Result<(Vec<PayloadTag>, BTreeMap<String, TagOrigin>)> {
    let mut tags: BTreeMap<String, (PayloadTag, TagOrigin)> = BTreeMap::new();
    if let Some(release) = original {
        for tag in &release.tags {
            let image = ImageRef::parse(&tag.pull_spec).map_err(|e| {
                e.context(format!("tag {} of {}'s image-references", tag.name, release.image))
            })?;
            if image.digest.is_none() {
                return Err(Error::invalid(format!(
                    "tag {} of {} is not a digest reference ({})",
                    tag.name, release.image, tag.pull_spec
                )));
            }
            tags.insert(
                tag.name.clone(),
                (PayloadTag { name: tag.name.clone(), image }, TagOrigin::FromRelease),
            );
        }
    }
    for tag in built {
        // A component whose current build is the very image the release has is not a
        // replacement: the result should name only what really differs from the original.
        let same = tags.get(&tag.name).is_some_and(|(old, _)| old.image.digest == tag.image.digest);
        if !same {
            tags.insert(tag.name.clone(), (tag, TagOrigin::Built));
        }
    }
    for tag in replace {
        if let Some(release) = original
            && !tags.contains_key(&tag.name)
        {
            let known: Vec<&str> = tags.keys().map(String::as_str).collect();
            return Err(Error::invalid(format!(
                "--replace {}: {} has no tag {} and this release does not build it",
                tag.name, release.image, tag.name
            ))
            .with_help(format!("the tags are: {}", known.join(", "))));
        }
        if tag.image.digest.is_none() {
            return Err(Error::invalid(format!("--replace {}: {} has no digest", tag.name, tag.image)));
        }
        tags.insert(tag.name.clone(), (tag, TagOrigin::Replaced));
    }
    let origins = tags.iter().map(|(name, (_, origin))| (name.clone(), *origin)).collect();
    Ok((tags.into_values().map(|(tag, _)| tag).collect(), origins))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::TagInfo;

    /// A valid sha256 hex digest starting with `short`.
    fn hex(short: &str) -> String {
        format!("{short:0<64}")
    }

    fn tag(name: &str, digest: &str) -> PayloadTag {
        PayloadTag {
            name: name.into(),
            image: ImageRef::parse(&format!("reg.io/okd/x@sha256:{}", hex(digest)))
                .unwrap_or_else(|e| panic!("{e}")),
        }
    }

    fn release(tags: &[(&str, &str)]) -> ReleaseInfo {
        ReleaseInfo {
            image: "reg.io/okd/release:1".into(),
            digest: "sha256:r".into(),
            name: "4.17.0".into(),
            created: None,
            base_image_digest: None,
            metadata: None,
            tags: tags
                .iter()
                .map(|(n, d)| TagInfo {
                    name: (*n).into(),
                    pull_spec: format!("reg.io/okd/x@sha256:{}", hex(d)),
                    digest: Some(format!("sha256:{}", hex(d))),
                    commit: None,
                    source_location: None,
                    source_content: None,
                    arch_digest: None,
                })
                .collect(),
            manifests: Vec::new(),
            platforms: Vec::new(),
            arch: "amd64".into(),
            warnings: Vec::new(),
            references: Default::default(),
            manifest_contents: Default::default(),
        }
    }

    #[test]
    fn built_tags_replace_only_what_differs_and_replacements_win() {
        let original = release(&[("cli", "a1"), ("installer", "b1"), ("cluster-version-operator", "c1")]);
        let built = vec![tag("cli", "a1"), tag("installer", "b2")];
        let (tags, origins) =
            merge(Some(&original), built, vec![tag("cli", "a3")]).unwrap_or_else(|e| panic!("{e}"));
        let digests: Vec<(String, String)> =
            tags.iter().map(|t| (t.name.clone(), t.image.digest.clone().unwrap_or_default())).collect();
        assert_eq!(
            digests,
            [("cli", "a3"), ("cluster-version-operator", "c1"), ("installer", "b2")]
                .map(|(a, b)| (a.to_owned(), format!("sha256:{}", hex(b))))
        );
        assert_eq!(origins["cli"], TagOrigin::Replaced);
        assert_eq!(origins["installer"], TagOrigin::Built);
        assert_eq!(origins["cluster-version-operator"], TagOrigin::FromRelease);
    }

    #[test]
    fn a_replacement_for_a_tag_nobody_has_is_refused_with_the_tags() {
        let original = release(&[("cli", "a1")]);
        let e = merge(Some(&original), Vec::new(), vec![tag("clii", "a2")])
            .err()
            .unwrap_or_else(|| panic!("refused"));
        assert!(
            e.to_string().contains("has no tag clii") && e.help().unwrap_or_default().contains("cli"),
            "{e}"
        );
        // Without an original release, --replace may add a tag.
        let (tags, _) =
            merge(None, vec![tag("cli", "a1")], vec![tag("extra", "e1")]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tags.len(), 2);
    }
}
