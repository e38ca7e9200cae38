//! One image file to one component: layering, mode, source, parents.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::{Path, PathBuf},
};

use serde_json::Value;

use super::{
    Group, Skipped, Warning, go_arch, read,
    text::{deep_merge, file_line, get, line_of, parse_yaml, scalar, substitute},
};
use crate::Result;

pub(super) struct Context<'a> {
    pub group: &'a Group,
    /// Stream name or alias -> (stream name, why images cannot use it).
    pub streams: &'a super::StreamNames,
    pub okd: bool,
}

/// An image file, layered, before it is mapped.
pub(super) struct LoadedImage {
    key: String,
    file: PathBuf,
    text: String,
    /// Lines in the file as written.
    lines: u32,
    config: Value,
}

pub(super) enum Loaded {
    Image(Box<LoadedImage>),
    Skipped(Skipped, Vec<Warning>),
}

/// A component, ready to be written into the manifest.
#[derive(Debug, Clone)]
pub(super) struct Built {
    pub key: String,
    /// The image file, and the line of its `from` (1 when it has none).
    pub file: PathBuf,
    pub from_line: u32,
    pub name: String,
    pub payload: bool,
    pub git: String,
    pub reference: String,
    pub context: Option<String>,
    pub dockerfile: Option<String>,
    pub arches: Option<Vec<String>>,
    pub builders: Vec<String>,
    pub final_: Option<String>,
    pub has_from: bool,
}

/// Reads, substitutes and layers one image file.
pub(super) fn load(file: &Path, ctx: &Context<'_>) -> Result<Loaded> {
    let key = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let raw = read(file)?;
    // Warnings point into the file as written (a substituted var may add lines).
    let lines = raw.lines().count().max(1) as u32;
    let text = substitute(&raw, &ctx.group.vars);
    let mut config = match parse_yaml(&text) {
        Ok(v) => v,
        Err((line, _, message)) => {
            let warning = Warning {
                file: file.to_path_buf(),
                line: file_line(&text, line).min(lines),
                message: format!("not imported: {message}"),
            };
            return Ok(Loaded::Skipped(
                Skipped { key, reason: format!("unparsable: {message}") },
                vec![warning],
            ));
        }
    };
    if ctx.okd
        && let Some(okd) = config.get("okd").cloned()
    {
        // images:okd: enabled_repos cleared, the okd stanza merged, `from` replaced whole.
        if let Some(obj) = config.as_object_mut() {
            obj.insert("enabled_repos".into(), Value::Array(Vec::new()));
            if let Some(from) = okd.get("from") {
                obj.insert("from".into(), from.clone());
            }
        }
        let mut rest = okd.clone();
        if let Some(o) = rest.as_object_mut() {
            o.remove("from");
        }
        deep_merge(&mut config, &rest);
    } else if ctx.okd
        && let Some(obj) = config.as_object_mut()
    {
        obj.insert("enabled_repos".into(), Value::Array(Vec::new()));
    }
    Ok(Loaded::Image(Box::new(LoadedImage { key, file: file.to_path_buf(), text, lines, config })))
}

impl LoadedImage {
    fn mode(&self) -> String {
        get(&self.config, &["mode"]).and_then(scalar).unwrap_or_else(|| "enabled".into())
    }

    fn payload(&self) -> bool {
        get(&self.config, &["for_payload"]).and_then(Value::as_bool).unwrap_or(false)
    }

    /// okd.payload_name (already merged), else payload_name, else the short name without `ose-`.
    fn payload_tag(&self) -> String {
        if let Some(tag) = get(&self.config, &["payload_name"]).and_then(scalar) {
            return tag;
        }
        let name = get(&self.config, &["name"]).and_then(scalar).unwrap_or_else(|| self.key.clone());
        let short = name.rsplit('/').next().unwrap_or(&name);
        short.strip_prefix("ose-").unwrap_or(short).to_owned()
    }

    fn resolve_as_stream(&self) -> Option<String> {
        get(&self.config, &["content", "source", "okd_alignment", "resolve_as", "stream"]).and_then(scalar)
    }

    fn warn(&self, path: &[&str], message: String) -> Warning {
        Warning { file: self.file.clone(), line: line_of(&self.text, path).min(self.lines), message }
    }
}

/// A DNS-1123 label from a distgit key or tag: lowercase, other characters become '-'.
fn label(text: &str) -> String {
    let mut out = String::new();
    for c in text.to_lowercase().chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    let mut out: String = out.trim_end_matches('-').chars().take(63).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() { "image".to_owned() } else { out }
}

/// Maps every loaded image; decides names, follows parents, drops what cannot be built.
pub(super) fn map_all(
    loaded: Vec<LoadedImage>,
    ctx: &Context<'_>,
    payload_only: bool,
    skipped: &mut Vec<Skipped>,
    warnings: &mut Vec<Warning>,
) -> Vec<Built> {
    let by_key: HashMap<&str, &LoadedImage> = loaded.iter().map(|i| (i.key.as_str(), i)).collect();
    let mut enabled: BTreeSet<&str> = BTreeSet::new();
    for image in &loaded {
        match image.mode().as_str() {
            "enabled" => {
                enabled.insert(&image.key);
            }
            mode => {
                let variant =
                    if ctx.okd && get(&image.config, &["okd", "mode"]).is_some() { " for okd" } else { "" };
                skipped.push(Skipped { key: image.key.clone(), reason: format!("mode {mode}{variant}") });
            }
        }
    }
    // Names: the payload tag for payload images, the distgit key otherwise; unique.
    let mut names: BTreeMap<&str, String> = BTreeMap::new();
    let mut taken: BTreeMap<String, &str> = BTreeMap::new();
    for key in &enabled {
        let image = by_key[key];
        let wanted = if image.payload() { label(&image.payload_tag()) } else { label(key) };
        let mut name = wanted.clone();
        let mut n = 2;
        while taken.contains_key(&name) {
            name = format!("{}-{n}", wanted.chars().take(60).collect::<String>());
            n += 1;
        }
        if name != wanted {
            warnings.push(image.warn(
                &["payload_name"],
                format!("component name '{wanted}' is taken by '{}'; using '{name}'", taken[&wanted]),
            ));
        }
        taken.insert(name.clone(), key);
        names.insert(key, name);
    }
    let mut built: BTreeMap<&str, Built> = BTreeMap::new();
    for key in &enabled {
        match map_image(by_key[key], ctx, &by_key, &names, warnings) {
            Ok(b) => {
                built.insert(key, b);
            }
            Err(reason) => skipped.push(Skipped { key: key.to_string(), reason }),
        }
    }
    // A component whose member parent was not built cannot be built either; repeat until stable.
    loop {
        let missing: Vec<(&str, String)> = built
            .iter()
            .filter_map(|(key, b)| {
                let members = b.builders.iter().chain(&b.final_).filter_map(|t| t.strip_prefix("member:"));
                let absent = members.clone().find(|m| !built.values().any(|o| o.name == *m))?;
                Some((*key, format!("parent: member '{absent}' is not imported")))
            })
            .collect();
        if missing.is_empty() {
            break;
        }
        for (key, reason) in missing {
            built.remove(key);
            skipped.push(Skipped { key: key.to_owned(), reason });
        }
    }
    if payload_only {
        let mut keep: BTreeSet<String> =
            built.values().filter(|b| b.payload).map(|b| b.name.clone()).collect();
        let mut frontier: Vec<String> = keep.iter().cloned().collect();
        while let Some(name) = frontier.pop() {
            if let Some(b) = built.values().find(|b| b.name == name) {
                for m in b.builders.iter().chain(&b.final_).filter_map(|t| t.strip_prefix("member:")) {
                    if keep.insert(m.to_owned()) {
                        frontier.push(m.to_owned());
                    }
                }
            }
        }
        built.retain(|key, b| {
            let retain = keep.contains(&b.name);
            if !retain {
                skipped.push(Skipped { key: key.to_string(), reason: "not payload: --payload-only".into() });
            }
            retain
        });
    }
    built.into_values().collect()
}

fn map_image(
    image: &LoadedImage,
    ctx: &Context<'_>,
    by_key: &HashMap<&str, &LoadedImage>,
    names: &BTreeMap<&str, String>,
    warnings: &mut Vec<Warning>,
) -> std::result::Result<Built, String> {
    let c = &image.config;
    let Some(private) = get(c, &["content", "source", "git", "url"]).and_then(scalar) else {
        warnings.push(
            image.warn(&["content"], "no content.source.git.url: the image has no source to build".into()),
        );
        return Err("no source: no content.source.git.url".into());
    };
    let git = public_url(&private, &ctx.group.public_upstreams);
    let target = get(c, &["content", "source", "git", "branch", "target"]).and_then(scalar);
    let fallback = get(c, &["content", "source", "git", "branch", "fallback"]).and_then(scalar);
    if let (Some(t), Some(f)) = (&target, &fallback) {
        warnings.push(image.warn(
            &["content", "source", "git", "branch", "fallback"],
            format!("branch fallback '{f}' is not followed; the manifest uses the target '{t}'"),
        ));
    }
    let reference = target.or(fallback).unwrap_or_else(|| "HEAD".into());
    for (path, what) in [
        (
            &["content", "source", "modifications"][..],
            "content.source.modifications are not applied by okd-build",
        ),
        (&["envs"][..], "envs are not passed on (the generator adds Doozer's own ENV only)"),
        (&["content", "source", "artifacts"][..], "content.source.artifacts downloads are not fetched"),
        (&["alternative_upstream"][..], "alternative_upstream (legacy Brew path) is ignored"),
    ] {
        if get(c, path).is_some_and(|v| !v.is_null() && v != &Value::Array(Vec::new())) {
            warnings.push(image.warn(path, what.to_owned()));
        }
    }
    if get(c, &["canonical_builders_from_upstream"]).and_then(Value::as_bool) == Some(true) {
        warnings.push(image.warn(
            &["canonical_builders_from_upstream"],
            "canonical_builders_from_upstream is not emulated: builder streams are used as configured".into(),
        ));
    }
    let mut missing_members: Vec<(Vec<&str>, String)> = Vec::new();
    let mut entry = |v: &Value, path: &[&'static str]| -> std::result::Result<String, String> {
        if let Some(stream) = v.get("stream").and_then(scalar) {
            return stream_target(ctx, &stream, "");
        }
        if let Some(member) = v.get("member").and_then(scalar) {
            if let Some(name) = names.get(member.as_str()) {
                return Ok(format!("member:{name}"));
            }
            // OKD: a parent that OKD does not build may stand for a stream.
            if ctx.okd
                && let Some(stream) = by_key.get(member.as_str()).and_then(|p| p.resolve_as_stream())
            {
                return stream_target(ctx, &stream, &format!(" (okd_alignment of '{member}')"));
            }
            if by_key.contains_key(member.as_str()) {
                return Err(format!("parent: member '{member}' is not imported"));
            }
            // Not in this checkout at all (a partial branch): like Doozer's
            // --latest-parent-version, build on what an earlier build of this release pushed.
            let (registry, repository) = ctx.group.output();
            let pulled = format!("{registry}/{repository}:{}", label(&member));
            missing_members.push((path.to_vec(), format!("member '{member}' is not in this checkout; using {pulled}, the image an earlier build would have pushed")));
            return Ok(format!("image:{pulled}"));
        }
        if let Some(image_ref) = v.get("image").and_then(scalar) {
            // The manifest refuses an `image:` target that is empty or has spaces.
            let target = format!("image:{image_ref}");
            return match crate::manifest::Target::parse(&target) {
                Ok(_) => Ok(target),
                Err(_) => Err(format!(
                    "parent: image '{image_ref}' is not an image reference (it is empty or has spaces)"
                )),
            };
        }
        Err("parent: a from entry names no stream, member or image".into())
    };
    let from = get(c, &["from"]);
    let mut builders = Vec::new();
    let mut final_ = None;
    if let Some(from) = from {
        for b in from.get("builder").and_then(Value::as_array).into_iter().flatten() {
            builders.push(entry(b, &["from", "builder"]).inspect_err(|reason| {
                warnings.push(image.warn(&["from", "builder"], format!("not imported: {reason}")));
            })?);
        }
        if ["stream", "member", "image"].iter().any(|k| from.get(k).is_some()) {
            final_ = Some(entry(from, &["from"]).inspect_err(|reason| {
                warnings.push(image.warn(&["from"], format!("not imported: {reason}")));
            })?);
        }
    }
    for (path, message) in missing_members {
        warnings.push(image.warn(&path, message));
    }
    let arches = get(c, &["arches"]).and_then(Value::as_array).map(|list| {
        let wanted: Vec<String> = list.iter().filter_map(scalar).filter_map(|a| go_arch(&a)).collect();
        ctx.group.arches.iter().filter(|a| wanted.contains(a)).cloned().collect::<Vec<_>>()
    });
    let arches = match arches {
        Some(a) if a.is_empty() => {
            warnings
                .push(image.warn(&["arches"], "no arch in common with the group; using the group's".into()));
            None
        }
        Some(a) if a == ctx.group.arches => None,
        other => other,
    };
    let clean = |v: Option<String>| v.filter(|s| !s.is_empty() && s != "." && s != "Dockerfile");
    Ok(Built {
        key: image.key.clone(),
        file: image.file.clone(),
        from_line: line_of(&image.text, &["from"]).min(image.lines),
        name: names[image.key.as_str()].clone(),
        payload: image.payload(),
        git,
        reference,
        context: clean(get(c, &["content", "source", "path"]).and_then(scalar)),
        dockerfile: clean(get(c, &["content", "source", "dockerfile"]).and_then(scalar)),
        arches,
        has_from: !builders.is_empty() || final_.is_some(),
        builders,
        final_,
    })
}

/// `stream:NAME` for a stream name or alias that has an image to build from.
fn stream_target(ctx: &Context<'_>, stream: &str, via: &str) -> std::result::Result<String, String> {
    match ctx.streams.get(stream) {
        Some((name, None)) => Ok(format!("stream:{name}")),
        Some((name, Some(why))) => Err(format!("parent: stream '{name}'{via} {why}")),
        None => Err(format!("parent: stream '{stream}'{via} is not in streams.yml")),
    }
}

/// The public repository for a private URL: ssh form to https, then the longest matching
/// `public_upstreams` prefix, without a trailing `.git`.
fn public_url(url: &str, upstreams: &[(String, String)]) -> String {
    let https = match url.strip_prefix("git@") {
        Some(rest) => match rest.split_once(':') {
            Some((host, path)) => format!("https://{host}/{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    };
    let https = https.strip_suffix(".git").unwrap_or(&https).to_owned();
    for (private, public) in upstreams {
        if let Some(rest) = https.strip_prefix(private.as_str())
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return format!("{public}{rest}");
        }
    }
    https
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_take_the_longest_prefix() {
        let ups = vec![
            (
                "https://github.com/openshift-priv/operator-marketplace".to_owned(),
                "https://github.com/operator-framework/operator-marketplace".to_owned(),
            ),
            ("https://github.com/openshift-priv".to_owned(), "https://github.com/openshift".to_owned()),
        ];
        assert_eq!(
            public_url("git@github.com:openshift-priv/installer.git", &ups),
            "https://github.com/openshift/installer"
        );
        assert_eq!(
            public_url("git@github.com:openshift-priv/operator-marketplace.git", &ups),
            "https://github.com/operator-framework/operator-marketplace"
        );
        assert_eq!(
            public_url("https://github.com/openshift-privx/a", &ups),
            "https://github.com/openshift-privx/a"
        );
    }

    #[test]
    fn labels_are_dns1123() {
        assert_eq!(label("ci-openshift-base.rhel9"), "ci-openshift-base-rhel9");
        assert_eq!(label("Foo__Bar-"), "foo-bar");
        assert!(crate::manifest::is_dns1123_label(&label(&"x.".repeat(80))));
    }
}
