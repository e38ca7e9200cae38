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

/// The tags of a payload made of `original`'s tags (when given), then `built` over them, then
/// `replace` over both; and where each came from. A replaced tag must be in the original or
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
        tags.insert(tag.name.clone(), (tag, TagOrigin::Built));
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
