//! `images`: the current object form (`images: {items: [...]}`) and the list form used before
//! March 2026 (`images: [...]`), read into one [`Item`] per image build.

use std::collections::BTreeMap;

use okd_core::{Error, Location, Result};

use super::{
    node::{Node, Reader, S, line},
    warn::Warnings,
};

const ARCHES: &[&str] = &["amd64", "arm64", "ppc64le", "s390x"];
const ITEM_EXAMPLE: &str = "images: {items: [{to: cli, dockerfile_path: images/cli/Dockerfile.rhel}]}";

/// One `inputs.<tag>` entry.
#[derive(Debug, Clone)]
pub(super) struct Input {
    pub(super) tag: String,
    pub(super) line: u32,
    /// The `as` strings and their lines.
    pub(super) names: Vec<(String, u32)>,
}

/// One image build.
#[derive(Debug, Clone)]
pub(super) struct Item {
    /// The line the item starts at.
    pub(super) line: u32,
    pub(super) to: String,
    pub(super) to_at: Location,
    pub(super) from: Option<(String, u32)>,
    pub(super) dockerfile: Option<String>,
    pub(super) context: Option<String>,
    pub(super) build_args: BTreeMap<String, String>,
    pub(super) inputs: Vec<Input>,
    /// amd64 plus `additional_architectures`, when those are given.
    pub(super) arches: Option<Vec<String>>,
    /// `ref: org.repo`: built from another repository of a multi-repo job.
    pub(super) repo: Option<(String, String)>,
    /// Why it is not imported (already warned about).
    pub(super) skip: Option<String>,
}

/// The image items of `images`, in order.
pub(super) fn read_items(r: Reader<'_>, value: &S<Node>, w: &mut Warnings) -> Result<Vec<Item>> {
    let items: &[S<Node>] = match &value.value {
        Node::Seq(items) => items,
        Node::Map(entries) => {
            let mut items: &[S<Node>] = &[];
            for (key, v) in entries {
                match key.value.as_str() {
                    "items" => items = r.seq(v, "images.items", ITEM_EXAMPLE)?,
                    field @ ("run_if_changed"
                    | "skip_if_only_changed"
                    | "pipeline_run_if_changed"
                    | "pipeline_skip_if_only_changed"
                    | "build_if_affected"
                    | "reporter_config") => w.once(&format!("images.{field}"), line(key), format!(
                        "images.{field} is not imported: it says when the images job runs and whom it reports to"
                    )),
                    other => w.once(&format!("images.{other}"), line(key), format!(
                        "images.{other} is not a ci-operator field; ignored"
                    )),
                }
            }
            items
        }
        n if n.is_null() => &[],
        _ => return Err(r.wrong(value, "images", "a mapping with items (or a list)", ITEM_EXAMPLE)),
    };
    let mut out: Vec<Item> = Vec::new();
    for node in items {
        let item = read_item(r, node, w)?;
        if let Some(first) = out.iter().find(|i| i.to == item.to) {
            return Err(Error::invalid_at(
                item.to_at,
                format!("image {} is built twice in this config (first at line {})", item.to, first.line),
                "ci-operator refuses two images with one `to`; rename or remove one",
            ));
        }
        out.push(item);
    }
    Ok(out)
}

fn read_item(r: Reader<'_>, node: &S<Node>, w: &mut Warnings) -> Result<Item> {
    let fields = r.map(node, "each entry of images.items", ITEM_EXAMPLE)?;
    let Some((_, to_node)) = fields.iter().find(|(k, _)| k.value == "to") else {
        return Err(Error::invalid_at(
            r.at(node),
            "this image has no `to`",
            format!("ci-operator requires the output tag; write e.g. {ITEM_EXAMPLE}"),
        ));
    };
    let to = r.string(to_node, "images.items[].to", "to: cli")?.unwrap_or_default();
    if to.is_empty() {
        return Err(Error::invalid_at(
            r.at(to_node),
            "`to` is empty",
            "give the image's output tag, e.g. to: cli",
        ));
    }
    let mut item = Item {
        line: line(node),
        to: to.clone(),
        to_at: r.at(to_node),
        from: None,
        dockerfile: None,
        context: None,
        build_args: BTreeMap::new(),
        inputs: Vec::new(),
        arches: None,
        repo: None,
        skip: None,
    };
    for (key, v) in fields {
        let at = line(key);
        let what = format!("images.items[].{}", key.value);
        match key.value.as_str() {
            "to" => {}
            "from" => item.from = r.string(v, &what, "from: origin_scos-4.21_base-stream9")?.map(|f| (f, at)),
            "dockerfile_path" => item.dockerfile = r.string(v, &what, "dockerfile_path: Dockerfile.rhel")?,
            "context_dir" => item.context = r.string(v, &what, "context_dir: images/cli")?,
            "dockerfile_literal" => {
                let text = r.string(v, &what, "dockerfile_literal: |\n  FROM ...")?.unwrap_or_default();
                let lines = match text.lines().count() {
                    1 => "1 line".to_owned(),
                    n => format!("{n} lines"),
                };
                w.at(at, format!(
                    "image {to}: dockerfile_literal (an inline Dockerfile of {lines}) cannot be mapped: a component builds a Dockerfile from its source; the image is not imported (commit the Dockerfile and use dockerfile_path)"
                ));
                item.skip = Some("dockerfile_literal".into());
            }
            "build_args" => build_args(r, v, &to, &mut item.build_args, w)?,
            "inputs" => item.inputs = inputs(r, v, &to, w)?,
            "additional_architectures" => {
                let mut arches = vec!["amd64".to_owned()];
                for (arch, l) in r.strings(v, &what, "additional_architectures: [arm64]")? {
                    if !ARCHES.contains(&arch.as_str()) {
                        w.at(l, format!("image {to}: architecture {arch} is not one the manifest knows (amd64, arm64, ppc64le, s390x); left out"));
                    } else if !arches.contains(&arch) {
                        arches.push(arch);
                    }
                }
                item.arches = Some(arches);
            }
            "ref" => {
                let reference = r.string(v, &what, "ref: openshift.installer")?.unwrap_or_default();
                match reference.split_once('.') {
                    Some((org, repo)) if !org.is_empty() && !repo.is_empty() => {
                        w.at(at, format!(
                            "image {to}: ref {reference} builds from another repository of a multi-repo job; its source is taken to be github.com/{org}/{repo} at the config's branch, check the ref"
                        ));
                        item.repo = Some((org.to_owned(), repo.to_owned()));
                    }
                    _ => {
                        return Err(Error::invalid_at(
                            r.at(v),
                            format!("ref '{reference}' is not org.repo"),
                            "write e.g. ref: openshift.installer",
                        ));
                    }
                }
            }
            "optional" => {
                r.boolean(v, &what)?;
                w.image_field(
                    "optional",
                    at,
                    &to,
                    "the image builds only when asked for in CI; okd-build builds every component",
                );
            }
            "multi_arch" => {
                r.boolean(v, &what)?;
                w.image_field(
                    "multi_arch",
                    at,
                    &to,
                    "deprecated; set additional_architectures, which becomes the component's arches",
                );
            }
            "capabilities" => {
                r.strings(v, &what, "capabilities: [intranet]")?;
                w.image_field(
                    "capabilities",
                    at,
                    &to,
                    "node capabilities of CI build farms have no counterpart",
                );
            }
            other => {
                w.image_field(other, at, &to, "it is not a ci-operator field (ci-operator ignores it too)")
            }
        }
    }
    for (path, what) in [(&item.context, "context_dir"), (&item.dockerfile, "dockerfile_path")] {
        if let Some(path) = path
            && (path.starts_with('/')
                || std::path::Path::new(path).components().any(|c| c.as_os_str() == ".."))
        {
            w.at(
                item.line,
                format!("image {to}: {what} {path} leaves the repository; the image is not imported"),
            );
            item.skip.get_or_insert_with(|| format!("{what} leaves the repository"));
        }
    }
    Ok(item)
}

fn build_args(
    r: Reader<'_>,
    value: &S<Node>,
    to: &str,
    out: &mut BTreeMap<String, String>,
    w: &mut Warnings,
) -> Result<()> {
    let example = "build_args: [{name: TAGS, value: scos}]";
    for arg in r.seq(value, "build_args", example)? {
        let fields = r.map(arg, "each build_args entry", example)?;
        let get = |k: &str| fields.iter().find(|(key, _)| key.value == k).map(|(_, v)| v);
        let name = match get("name") {
            Some(v) => r.string(v, "build_args[].name", example)?,
            None => None,
        };
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return Err(Error::invalid_at(r.at(arg), "a build arg has no name", example.to_owned()));
        };
        let value = match get("value") {
            Some(v) => r.string(v, "build_args[].value", "value: \"1\"")?.unwrap_or_default(),
            None => String::new(),
        };
        for (k, _) in fields.iter().filter(|(k, _)| k.value != "name" && k.value != "value") {
            w.once(
                &format!("build_args.{}", k.value),
                line(k),
                format!("build_args[].{} is not a ci-operator field; ignored", k.value),
            );
        }
        if out.insert(name.clone(), value).is_some() {
            w.at(line(arg), format!("image {to}: build arg {name} is given twice; the last value is used"));
        }
    }
    Ok(())
}

fn inputs(r: Reader<'_>, value: &S<Node>, to: &str, w: &mut Warnings) -> Result<Vec<Input>> {
    let example = "inputs: {ocp_builder_rhel-9-golang-1.24-openshift-4.21: {as: [builder, registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.24-openshift-4.21]}}";
    let mut out = Vec::new();
    for (tag, body) in r.map(value, "inputs", example)? {
        let mut input = Input { tag: tag.value.clone(), line: line(tag), names: Vec::new() };
        for (key, v) in r.map(body, &format!("inputs.{}", tag.value), example)? {
            match key.value.as_str() {
                "as" => input.names = r.strings(v, &format!("inputs.{}.as", tag.value), example)?,
                "paths" => {
                    let count = r
                        .seq(
                            v,
                            &format!("inputs.{}.paths", tag.value),
                            "paths: [{source_path: /bin/oc, destination_dir: .}]",
                        )?
                        .len();
                    w.at(line(key), format!(
                        "image {to}: inputs.{}.paths ({count} entries: files copied out of pipeline:{} into the build context) cannot be mapped; the build context will not have them",
                        tag.value, tag.value
                    ));
                }
                other => w.once(
                    &format!("inputs.*.{other}"),
                    line(key),
                    format!("inputs.*.{other} is not a ci-operator field; ignored"),
                ),
            }
        }
        out.push(input);
    }
    Ok(out)
}
