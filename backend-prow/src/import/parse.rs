//! One ci-operator config file: which repository and branch it builds (from its path, as
//! ci-operator's `InfoFromPath`), and the parts a release manifest can take: `base_images`,
//! `external_images`, `images` (object or old list form) and `promotion`. Every other field is
//! one warning at its key's line; a field of the wrong type is an error, as for ci-operator.

use std::path::{Path, PathBuf};

use okd_core::{Error, Location, Result, doozer::Warning};

use super::{
    items::{Item, read_items},
    node::{Node, Reader, S, line},
    promotion::{Promotion, promotion},
    warn::Warnings,
};

/// Top-level fields the importer maps.
const MAPPED: &[&str] = &["zz_generated_metadata", "base_images", "external_images", "images", "promotion"];

/// Top-level ci-operator fields it does not map: the shape ci-operator decodes them as (a
/// mismatch is an error there too) and why they are left out.
const UNMAPPED: &[(&str, Shape, &str)] = &[
    (
        "build_root",
        Shape::Map,
        "the image ci-operator builds `src` and `bin` in; okd-build builds each Dockerfile straight from the git source",
    ),
    (
        "build_roots",
        Shape::Map,
        "the images ci-operator builds `src` and `bin` in; okd-build builds each Dockerfile straight from the git source",
    ),
    ("binary_build_commands", Shape::Str, "the commands that make pipeline:bin; okd-build has no such image"),
    (
        "test_binary_build_commands",
        Shape::Str,
        "the commands that make pipeline:test-bin; okd-build has no such image",
    ),
    ("rpm_build_commands", Shape::Str, "RPMs built in CI are not part of a release manifest"),
    ("rpm_build_location", Shape::Str, "RPMs built in CI are not part of a release manifest"),
    ("base_rpm_images", Shape::Map, "RPMs built in CI are not part of a release manifest"),
    (
        "canonical_go_repository",
        Shape::Str,
        "the GOPATH location of the source; okd-build builds from the Dockerfile alone",
    ),
    ("tests", Shape::Seq, "okd-build builds images; it does not run CI tests"),
    ("releases", Shape::Map, "the payloads CI tests against; the manifest itself is the release"),
    ("tag_specification", Shape::Map, "the payload CI tests against; the manifest itself is the release"),
    (
        "resources",
        Shape::Map,
        "CPU and memory requests of CI steps; okd-build's backends size builds themselves",
    ),
    ("raw_steps", Shape::Seq, "images made by raw steps are not built by okd-build"),
    ("operator", Shape::Map, "operator bundles are not built by okd-build"),
    ("prowgen", Shape::Map, "settings of the generated Prow jobs"),
];

#[derive(Debug, Clone, Copy)]
enum Shape {
    Map,
    Seq,
    Str,
}

/// The repository and branch a config builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Info {
    pub(super) org: String,
    pub(super) repo: String,
    pub(super) branch: String,
    pub(super) variant: Option<String>,
}

impl Info {
    /// `Metadata.Basename()`: `<org>-<repo>-<branch>[__<variant>].yaml`.
    fn basename(&self) -> String {
        let variant = self.variant.as_ref().map(|v| format!("__{v}")).unwrap_or_default();
        format!("{}-{}-{}{variant}.yaml", self.org, self.repo, self.branch)
    }
}

/// A `base_images` (or `external_images`) entry: pipeline tag `alias` imported from a pull spec.
#[derive(Debug, Clone)]
pub(super) struct BaseImage {
    pub(super) alias: String,
    pub(super) line: u32,
    pub(super) namespace: String,
    pub(super) name: String,
    pub(super) tag: String,
    /// Set for `external_images`; base images are on the CI registry.
    pub(super) registry: Option<String>,
}

impl BaseImage {
    /// Where a build outside CI pulls it from.
    pub(super) fn pull_spec(&self) -> String {
        let registry = self.registry.as_deref().unwrap_or("registry.ci.openshift.org");
        format!("{registry}/{}/{}:{}", self.namespace, self.name, self.tag)
    }
}

/// A config, read.
#[derive(Debug)]
pub(super) struct Config {
    pub(super) file: PathBuf,
    pub(super) info: Info,
    /// The line of `images:` (or 1).
    pub(super) images_line: u32,
    pub(super) base_images: Vec<BaseImage>,
    pub(super) promotion: Vec<Promotion>,
    pub(super) items: Vec<Item>,
    /// Pipeline tags `raw_steps` make, for a clearer message when an image builds on one.
    pub(super) raw_step_tags: Vec<String>,
    /// `build_root.image_stream_tag` as a pull spec, and its line: not built, but its Go
    /// version is reported.
    pub(super) build_root: Option<(String, u32)>,
    pub(super) warnings: Vec<Warning>,
}

impl Config {
    /// The base image or external image with pipeline tag `alias`.
    pub(super) fn base_image(&self, alias: &str) -> Option<&BaseImage> {
        self.base_images.iter().find(|b| b.alias == alias)
    }

    /// Whether CI promotes image `to` at all (a payload candidate).
    pub(super) fn promoted(&self, to: &str) -> bool {
        self.promotion.iter().any(|p| p.promotes(to))
    }
}

/// Why a YAML document is not a ci-operator config, or `None` when it is one.
pub(super) fn not_a_config(node: &S<Node>) -> Option<String> {
    let Node::Map(entries) = &node.value else {
        return Some(format!("its top level is {}, not a mapping", node.value.kind()));
    };
    let known = |k: &str| MAPPED.contains(&k) || UNMAPPED.iter().any(|(f, _, _)| *f == k);
    if entries.iter().any(|(k, _)| known(&k.value)) {
        None
    } else {
        Some(
            "it has none of the ci-operator fields (zz_generated_metadata, build_root, images, tests, ...)"
                .into(),
        )
    }
}

/// org/repo/branch/variant from the path, as ci-operator's `InfoFromPath`: org is the
/// grandparent folder, repo the parent, and the file name minus `<org>-<repo>-` is the branch,
/// with the variant split off at the last `__`.
pub(super) fn path_info(path: &Path) -> Option<Info> {
    let stem = path.file_name()?.to_str()?.strip_suffix(".yaml")?;
    let repo = path.parent()?.file_name()?.to_str()?;
    let org = path.parent()?.parent()?.file_name()?.to_str()?;
    let rest = stem.strip_prefix(&format!("{org}-{repo}-"))?;
    let (branch, variant) = match rest.rsplit_once("__") {
        Some((branch, variant)) => (branch, Some(variant.to_owned())),
        None => (rest, None),
    };
    (!branch.is_empty()).then(|| Info {
        org: org.to_owned(),
        repo: repo.to_owned(),
        branch: branch.to_owned(),
        variant,
    })
}

/// The config's identity: the path's, cross-checked with `zz_generated_metadata` (which
/// determinize-ci-operator rewrites from the path, so the path wins); the metadata's when the
/// path does not follow the layout. `real` is the file's canonical path.
pub(super) fn info(r: Reader<'_>, node: &S<Node>, real: &Path, w: &mut Warnings) -> Result<Info> {
    let from_path = path_info(real);
    let meta = node.value.get("zz_generated_metadata");
    let mut fields: Vec<(&str, Option<String>, u32)> = Vec::new();
    if let Some((key, value)) = meta {
        let example = "zz_generated_metadata: {org: openshift, repo: oc, branch: main, variant: okd-scos}";
        let entries = r.map(value, "zz_generated_metadata", example)?;
        for field in ["org", "repo", "branch", "variant"] {
            let found = entries.iter().find(|(k, _)| k.value == field);
            let text = match found {
                Some((_, v)) => r.string(v, &format!("zz_generated_metadata.{field}"), example)?,
                None => None,
            };
            fields.push((field, text, found.map_or(line(key), |(k, _)| line(k))));
        }
        for (k, _) in
            entries.iter().filter(|(k, _)| !["org", "repo", "branch", "variant"].contains(&&*k.value))
        {
            w.once(
                &format!("zz_generated_metadata.{}", k.value),
                line(k),
                format!("zz_generated_metadata.{} is not a ci-operator field; ignored", k.value),
            );
        }
    }
    let field =
        |name: &str| fields.iter().find(|(f, _, _)| *f == name).and_then(|(_, v, l)| Some((v.clone()?, *l)));
    match from_path {
        Some(info) => {
            if meta.is_some() {
                let path_values = [
                    ("org", Some(&info.org)),
                    ("repo", Some(&info.repo)),
                    ("branch", Some(&info.branch)),
                    ("variant", info.variant.as_ref()),
                ];
                for (name, from_path) in path_values {
                    let (in_meta, at) = fields
                        .iter()
                        .find(|(f, _, _)| *f == name)
                        .map_or((None, 1), |(_, v, l)| (v.clone(), *l));
                    if in_meta.as_ref() != from_path {
                        w.at(at, format!(
                            "zz_generated_metadata.{name} is {} but the path says {}; the path wins, as in ci-operator (determinize-ci-operator rewrites the metadata from the path)",
                            in_meta.as_deref().unwrap_or("unset"),
                            from_path.map_or("none", |v| v.as_str())
                        ));
                    }
                }
            }
            Ok(info)
        }
        None => match (field("org"), field("repo"), field("branch")) {
            (Some((org, at)), Some((repo, _)), Some((branch, _))) => {
                let info = Info { org, repo, branch, variant: field("variant").map(|(v, _)| v) };
                w.at(at, format!(
                    "the path does not follow ci-operator/config/{}/{}/{}; org, repo, branch and variant come from zz_generated_metadata",
                    info.org,
                    info.repo,
                    info.basename()
                ));
                Ok(info)
            }
            _ => Err(Error::invalid_at(
                Location::new(r.file, meta.map_or(1, |(k, _)| line(k)), 1),
                format!("cannot tell which repository and branch {} builds", r.file.display()),
                "put it at <org>/<repo>/<org>-<repo>-<branch>[__<variant>].yaml, as in openshift/release \
                 ci-operator/config, or add zz_generated_metadata: {org, repo, branch}",
            )),
        },
    }
}

/// Reads the rest of a config whose identity is `info`.
pub(super) fn config(r: Reader<'_>, node: &S<Node>, info: Info, mut w: Warnings) -> Result<Config> {
    let Node::Map(entries) = &node.value else {
        return Err(r.wrong(node, "a ci-operator config", "a mapping", "images: {items: [...]}"));
    };
    let mut config = Config {
        file: r.file.to_owned(),
        info,
        images_line: 1,
        base_images: Vec::new(),
        promotion: Vec::new(),
        items: Vec::new(),
        raw_step_tags: Vec::new(),
        build_root: None,
        warnings: Vec::new(),
    };
    let mut promotion_at = None;
    for (key, value) in entries {
        match key.value.as_str() {
            "zz_generated_metadata" => {}
            "base_images" | "external_images" => base_images(r, key, value, &mut config.base_images, &mut w)?,
            "images" => {
                config.images_line = line(key);
                config.items = read_items(r, value, &mut w)?;
            }
            "promotion" => {
                promotion_at = Some(line(key));
                config.promotion = promotion(r, value, &mut w)?;
            }
            name => {
                if let Some((_, shape, why)) = UNMAPPED.iter().find(|(f, _, _)| *f == name) {
                    let count = check_shape(r, name, value, *shape)?;
                    w.once(name, line(key), format!("{name}{count} is not imported: {why}"));
                } else {
                    w.once(name, line(key), format!(
                        "{name} is not a ci-operator field; ignored (ci-operator ignores unknown fields too)"
                    ));
                }
                if name == "raw_steps" {
                    config.raw_step_tags = raw_step_tags(value);
                }
                if name == "build_root" {
                    config.build_root = build_root_image(value);
                }
            }
        }
    }
    if !config.items.is_empty() && !config.items.iter().any(|i| config.promoted(&i.to)) {
        let (at, why) = match promotion_at {
            Some(at) => (at, "its promotion promotes none of its images"),
            None => (config.images_line, "it has no promotion"),
        };
        w.at(at, format!("{why}: CI builds these images but does not promote them; they are imported with payload: false"));
    }
    config.warnings = w.finish();
    Ok(config)
}

/// ` (N entries)` for lists; errors for a wrong shape.
fn check_shape(r: Reader<'_>, name: &str, value: &S<Node>, shape: Shape) -> Result<String> {
    Ok(match shape {
        Shape::Map => {
            r.map(value, name, &format!("{name}: {{...}}"))?;
            String::new()
        }
        Shape::Seq => match r.seq(value, name, &format!("{name}: [...]"))?.len() {
            1 => " (1 entry)".to_owned(),
            n => format!(" ({n} entries)"),
        },
        Shape::Str => {
            r.string(value, name, &format!("{name}: \"make build\""))?;
            String::new()
        }
    })
}

/// `build_root: {image_stream_tag: {namespace, name, tag}}` as a pull spec on the CI registry,
/// with the line of `image_stream_tag`; `None` for the other forms (`from_repository`, ...).
fn build_root_image(value: &S<Node>) -> Option<(String, u32)> {
    let (key, tag) = value.value.get("image_stream_tag")?;
    let field = |f: &str| match &tag.value.get(f)?.1.value {
        Node::Scalar(serde_json::Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let image =
        format!("registry.ci.openshift.org/{}/{}:{}", field("namespace")?, field("name")?, field("tag")?);
    Some((image, line(key)))
}

fn raw_step_tags(value: &S<Node>) -> Vec<String> {
    let Node::Seq(steps) = &value.value else { return Vec::new() };
    let mut tags = Vec::new();
    for step in steps {
        let Node::Map(kinds) = &step.value else { continue };
        for (_, body) in kinds {
            if let Some((_, to)) = body.value.get("to")
                && let Node::Scalar(serde_json::Value::String(tag)) = &to.value
            {
                tags.push(tag.clone());
            }
        }
    }
    tags
}

fn base_images(
    r: Reader<'_>,
    key: &S<String>,
    value: &S<Node>,
    out: &mut Vec<BaseImage>,
    w: &mut Warnings,
) -> Result<()> {
    let external = key.value == "external_images";
    let example = if external {
        "external_images: {centos: {registry: quay.io, namespace: centos, name: centos, tag: stream9}}"
    } else {
        "base_images: {ocp_builder_stream9: {namespace: ocp, name: builder, tag: stream9}}"
    };
    for (alias, entry) in r.map(value, &key.value, example)? {
        let what = format!("{}.{}", key.value, alias.value);
        let fields = r.map(entry, &what, example)?;
        let get = |field: &str| -> Result<Option<String>> {
            match fields.iter().find(|(k, _)| k.value == field) {
                Some((_, v)) => r.string(v, &format!("{what}.{field}"), example),
                None => Ok(None),
            }
        };
        let (namespace, name, tag) = (get("namespace")?, get("name")?, get("tag")?);
        let registry = if external { get("registry")? } else { None };
        let (Some(namespace), Some(name), Some(tag)) = (namespace, name, tag) else {
            return Err(Error::invalid_at(
                r.at(alias),
                format!("{what} needs namespace, name and tag"),
                format!("ci-operator requires all three; write e.g. {example}"),
            ));
        };
        if external && registry.is_none() {
            return Err(Error::invalid_at(
                r.at(alias),
                format!("{what} needs a registry"),
                example.to_owned(),
            ));
        }
        let known: &[&str] = if external {
            &["registry", "namespace", "name", "tag", "pull_secret"]
        } else {
            &["namespace", "name", "tag", "as"]
        };
        for (k, _) in fields {
            if !known.contains(&k.value.as_str()) {
                w.once(
                    &format!("{}.*.{}", key.value, k.value),
                    line(k),
                    format!("{}.*.{} is not a ci-operator field; ignored", key.value, k.value),
                );
            } else if k.value == "pull_secret" {
                w.once(
                    "external_images.*.pull_secret",
                    line(k),
                    "external_images.*.pull_secret is not imported: \
                    okd-build pulls with the registry credentials of the machine that builds"
                        .into(),
                );
            }
        }
        out.push(BaseImage { alias: alias.value.clone(), line: line(alias), namespace, name, tag, registry });
    }
    Ok(())
}
