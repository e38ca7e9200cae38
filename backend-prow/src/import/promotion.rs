//! `promotion`: where CI puts the images a config builds. Its stream (`origin/scos-4.21`)
//! gives the release's defaults; a disabled target or an excluded image makes a component
//! that is not a payload image.

use okd_core::{Error, Result};

use super::{
    node::{Node, Reader, S, line},
    warn::Warnings,
};

/// One `promotion.to[]` entry.
#[derive(Debug, Clone)]
pub(super) struct Promotion {
    pub(super) line: u32,
    pub(super) namespace: String,
    /// `<namespace>/<name>:<image>` (the integration stream form)...
    pub(super) name: Option<String>,
    /// ... or `<namespace>/<image>:<tag>`.
    pub(super) tag: Option<String>,
    pub(super) disabled: bool,
    pub(super) excluded: Vec<String>,
}

impl Promotion {
    /// Whether CI promotes image `to` through this target.
    pub(super) fn promotes(&self, to: &str) -> bool {
        !self.disabled && !self.excluded.iter().any(|e| e == to || e == "*")
    }

    /// The ImageStreamTag image `to` is promoted to: (namespace, name, tag).
    pub(super) fn stream_tag(&self, to: &str) -> (String, String, String) {
        match (&self.name, &self.tag) {
            (Some(name), _) => (self.namespace.clone(), name.clone(), to.to_owned()),
            (None, tag) => (self.namespace.clone(), to.to_owned(), tag.clone().unwrap_or_default()),
        }
    }
}

const PROMOTION_EXAMPLE: &str = "promotion: {to: [{namespace: origin, name: scos-4.21}]}";

pub(super) fn promotion(r: Reader<'_>, value: &S<Node>, w: &mut Warnings) -> Result<Vec<Promotion>> {
    let entries = r.map(value, "promotion", PROMOTION_EXAMPLE)?;
    let mut targets = Vec::new();
    // The form before `to:` had one target's fields directly under `promotion`.
    if entries.iter().any(|(k, _)| k.value == "namespace") {
        targets.push(target(r, value, "promotion", w)?);
    }
    for (key, v) in entries {
        match key.value.as_str() {
            "to" => {
                for t in r.seq(v, "promotion.to", PROMOTION_EXAMPLE)? {
                    targets.push(target(r, t, "promotion.to[]", w)?);
                }
            }
            "namespace" | "name" | "tag" | "excluded_images" | "additional_images" | "disabled"
            | "tag_by_commit" => {}
            other => {
                let why = match other {
                    "registry_override" | "disable_build_cache" | "cron" => "it only changes how CI promotes",
                    _ => "it is not a ci-operator field",
                };
                w.once(
                    &format!("promotion.{other}"),
                    line(key),
                    format!("promotion.{other} is not imported: {why}"),
                );
            }
        }
    }
    Ok(targets)
}

fn target(r: Reader<'_>, node: &S<Node>, what: &str, w: &mut Warnings) -> Result<Promotion> {
    let fields = r.map(node, what, PROMOTION_EXAMPLE)?;
    let field = |name: &str| fields.iter().find(|(k, _)| k.value == name);
    let string = |name: &str| -> Result<Option<String>> {
        field(name).map_or(Ok(None), |(_, v)| r.string(v, &format!("{what}.{name}"), PROMOTION_EXAMPLE))
    };
    let (namespace, name, tag) = (string("namespace")?, string("name")?, string("tag")?);
    let Some(namespace) = namespace else {
        return Err(Error::invalid_at(
            r.at(node),
            format!("{what} has no namespace"),
            PROMOTION_EXAMPLE.to_owned(),
        ));
    };
    if name.is_some() == tag.is_some() {
        return Err(Error::invalid_at(
            r.at(node),
            format!("{what} must have exactly one of name and tag"),
            format!("ci-operator requires it; write e.g. {PROMOTION_EXAMPLE}"),
        ));
    }
    let shown = match (&name, &tag) {
        (Some(name), _) => format!("{namespace}/{name}"),
        (None, tag) => format!("{namespace}/<image>:{}", tag.as_deref().unwrap_or_default()),
    };
    let mut target =
        Promotion { line: line(node), namespace, name, tag, disabled: false, excluded: Vec::new() };
    if target.tag.is_some() {
        w.at(target.line, format!(
            "promotion to {shown} (tag form) gives every image its own repository; the manifest has one output repository"
        ));
    }
    for (key, v) in fields {
        match key.value.as_str() {
            "namespace" | "name" | "tag" => {}
            "disabled" => {
                target.disabled = r.boolean(v, &format!("{what}.disabled"))?;
                if target.disabled {
                    w.at(line(key), format!(
                        "promotion to {shown} is disabled: CI builds these images but does not promote them; they are imported with payload: false"
                    ));
                }
            }
            "excluded_images" => {
                let example = "excluded_images: [tests]";
                target.excluded = r.strings(v, "excluded_images", example)?.into_iter().map(|(s, _)| s).collect();
                w.at(line(key), format!(
                    "excluded_images [{}]: CI does not promote them to {shown}; they are imported with payload: false",
                    target.excluded.join(", ")
                ));
            }
            "additional_images" => w.at(line(key), format!(
                "additional_images (pipeline tags such as src promoted under other names) are not imported; {shown} would get them from CI only"
            )),
            "tag_by_commit" => w.once("tag_by_commit", line(key), "tag_by_commit is not imported: okd-build tags images by component name".into()),
            other => w.once(&format!("promotion.to[].{other}"), line(key), format!(
                "{what}.{other} is not a ci-operator field; ignored"
            )),
        }
    }
    Ok(target)
}
