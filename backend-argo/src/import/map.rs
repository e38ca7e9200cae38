//! BuildConfigs to components. A component is named after its output tag (`release:<tag>`),
//! which is what the release, the payload and every `release:<tag>` reference call the image;
//! `member:` targets therefore follow the tags one for one. References resolve as the cluster
//! resolves them: `release:<tag>` to the component that outputs the tag (else a placeholder's
//! image), `tools:<tag>` to the stream of that tag, `DockerImage` to the image. A reference that
//! nothing provides is a warning, and its FROM lines stay as written.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use okd_core::manifest::is_dns1123_label;

use super::{
    buildconfig::{BuildConfig, ImageRef},
    tree::At,
    warn::{WarningKind, Warns},
};

/// Images that only build other images: no operator's image-references names them, so
/// `oc adm release new` prunes them from the payload.
const INFRASTRUCTURE: &[&str] = &["builder", "base", "forked-dockerfiles"];

/// A tag of the `release` ImageStream that no BuildConfig builds.
#[derive(Debug, Clone)]
pub(super) struct ReleaseTag {
    pub(super) name: String,
    /// `DockerImage` pull spec, or `ImageStreamTag` name.
    pub(super) kind: String,
    pub(super) from: String,
    pub(super) at: At,
}

/// A stream (a tag of the `tools` ImageStream).
#[derive(Debug, Clone)]
pub(super) struct Stream {
    pub(super) image: String,
    pub(super) at: At,
}

#[derive(Debug, Clone)]
pub(super) struct Comp {
    pub(super) name: String,
    pub(super) bc: BuildConfig,
    pub(super) git: String,
    pub(super) reference: String,
    pub(super) context: String,
    pub(super) dockerfile: String,
    pub(super) build_args: BTreeMap<String, String>,
    pub(super) last_from: Option<String>,
    pub(super) replace: BTreeMap<String, String>,
    /// Keys of `replace` that only keep a release-wide name external (kustomize's selector
    /// leaves this BuildConfig out).
    pub(super) external: BTreeSet<String>,
    pub(super) payload: bool,
    /// `<git>@<ref>:<path>` of the forked Dockerfile the BuildConfig copies in.
    pub(super) forked: Option<String>,
    /// Components whose images the build takes (any `release:` reference), with the place.
    pub(super) parents: Vec<(String, String, At)>,
}

/// Everything the mapping produced.
#[derive(Debug, Default)]
pub(super) struct Mapped {
    pub(super) comps: Vec<Comp>,
    pub(super) replace: BTreeMap<String, String>,
    pub(super) skipped: Vec<(BuildConfig, String)>,
    /// References nothing provides: (owner, reference, place).
    pub(super) missing: Vec<(String, String, At)>,
}

pub(super) struct Catalogue<'a> {
    pub(super) release: &'a [ReleaseTag],
    /// Where the batch lists schedule each BuildConfig, when they were read.
    pub(super) slots: Option<&'a super::order::Slots>,
    pub(super) streams: &'a BTreeMap<String, Stream>,
    pub(super) root: &'a Path,
}

fn norm(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    if parts.is_empty() { ".".into() } else { parts.join("/") }
}

fn join(dir: &str, file: &str) -> String {
    norm(&format!("{dir}/{file}"))
}

/// A Dockerfile a BuildConfig copies in from an image built from a git folder (okd-payload-
/// pipeline's `forks/`, packed under `/code` by `release:forked-dockerfiles`).
struct Fork {
    at: At,
    git: String,
    reference: String,
    /// The file in that repository.
    path: String,
}

fn fork_of(bc: &BuildConfig, bcs: &[BuildConfig]) -> Option<Fork> {
    let wanted = join(&bc.context, &bc.dockerfile);
    bc.images.iter().find_map(|image| {
        let owner = bcs.iter().find(|b| Some(b.tag.as_str()) == image.from.name.strip_prefix("release:"))?;
        let (uri, r) = owner.git.as_ref()?;
        image.paths.iter().find_map(|(source, dest, at)| {
            let rest = source.strip_prefix("/code/")?;
            let copied = join(dest, source.rsplit('/').next().unwrap_or(source));
            (copied == wanted).then(|| Fork {
                at: at.clone(),
                git: trim_git(uri),
                reference: r.clone().unwrap_or_else(|| "HEAD".into()),
                path: join(&owner.context, rest),
            })
        })
    })
}

fn dns_label(text: &str) -> String {
    let mut s: String =
        text.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    s.truncate(63);
    s.trim_matches('-').to_owned()
}

fn trim_git(uri: &str) -> String {
    let uri = uri.trim_end_matches('/');
    uri.strip_suffix(".git").unwrap_or(uri).to_owned()
}

enum Resolved {
    Target(String),
    /// Why nothing provides the reference.
    Missing(String),
}

impl Catalogue<'_> {
    fn resolve(&self, r: &ImageRef, names: &BTreeMap<String, String>, bcs: &[BuildConfig]) -> Resolved {
        if r.kind == "DockerImage" {
            return Resolved::Target(format!("image:{}", r.name));
        }
        if r.kind != "ImageStreamTag" {
            return Resolved::Missing(format!("a {} reference, which the manifest cannot express", r.kind));
        }
        if let Some(ns) = &r.namespace {
            return Resolved::Missing(format!("an ImageStreamTag of namespace {ns}, outside the release"));
        }
        let Some((stream, tag)) = r.name.split_once(':') else {
            return Resolved::Missing("an ImageStreamTag without a tag".into());
        };
        match stream {
            "release" => self.release_tag(tag, names, bcs, 0),
            "tools" => match self.streams.get(tag) {
                Some(_) => Resolved::Target(format!("stream:{tag}")),
                None => {
                    let known: Vec<&str> = self.streams.keys().map(String::as_str).collect();
                    Resolved::Missing(format!(
                        "the tools ImageStream has no tag {tag} (it has {}; a variant may add it)",
                        known.join(", ")
                    ))
                }
            },
            other => {
                Resolved::Missing(format!("ImageStream {other} is not read (only release and tools are)"))
            }
        }
    }

    fn release_tag(
        &self,
        tag: &str,
        names: &BTreeMap<String, String>,
        bcs: &[BuildConfig],
        depth: u8,
    ) -> Resolved {
        if let Some(name) = names.get(tag) {
            return Resolved::Target(format!("member:{name}"));
        }
        if let Some(t) = self.release.iter().find(|t| t.name == tag) {
            match (t.kind.as_str(), t.from.strip_prefix("release:")) {
                ("DockerImage", _) => return Resolved::Target(format!("image:{}", t.from)),
                ("ImageStreamTag", Some(other)) if depth < 4 => {
                    return self.release_tag(other, names, bcs, depth + 1);
                }
                _ => {}
            }
        }
        let mut why = "no BuildConfig outputs it".to_owned();
        if let Some(bc) = bcs.iter().find(|b| b.name == tag) {
            why = format!(
                "{why} (BuildConfig {tag} outputs release:{}, at {})",
                bc.tag,
                bc.tag_at.shown(self.root)
            );
        } else if let Some(bc) = bcs.iter().find(|b| b.tag.starts_with(&format!("{tag}-"))) {
            why = format!("{why} (BuildConfig {} outputs release:{})", bc.name, bc.tag);
        }
        Resolved::Missing(why)
    }
}

/// Maps BuildConfigs (file order) to components.
pub(super) fn map(bcs: Vec<BuildConfig>, cat: &Catalogue<'_>, warns: &mut Warns) -> Mapped {
    let mut out = Mapped::default();
    // Names first: every reference needs the full tag -> component table.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut kept = Vec::new();
    let all = bcs.clone();
    for bc in bcs {
        let name = if is_dns1123_label(&bc.tag) { bc.tag.clone() } else { dns_label(&bc.tag) };
        if bc.git.is_none() && fork_of(&bc, &all).is_none() {
            let why = "it has no git source and builds no forked Dockerfile: the manifest needs a source"
                .to_owned();
            warns.at(WarningKind::Skipped, &bc.at, format!("BuildConfig {} is not imported: {why}", bc.name));
            out.skipped.push((bc, why));
            continue;
        }
        if name.is_empty() || names.values().any(|n| *n == name) {
            let why = if name.is_empty() {
                format!("its output tag {:?} makes no component name", bc.tag)
            } else {
                format!("another BuildConfig already outputs release:{} (or a tag named like it)", bc.tag)
            };
            warns.at(
                WarningKind::Skipped,
                &bc.tag_at,
                format!("BuildConfig {} is not imported: {why}", bc.name),
            );
            out.skipped.push((bc, why));
            continue;
        }
        if name != bc.tag {
            warns.at(
                WarningKind::Renamed,
                &bc.tag_at,
                format!("output tag {} is not a DNS-1123 label; the component is named {name}", bc.tag),
            );
        } else if name != bc.name {
            warns.at(WarningKind::Renamed, &bc.tag_at, format!(
                "BuildConfig {} outputs release:{name}: the component is named {name}, as the release calls the image (batch lists say {})",
                bc.name, bc.name
            ));
        }
        names.insert(bc.tag.clone(), name);
        kept.push(bc);
    }
    let bcs = kept;
    let hoisted = hoist(&bcs, &names, cat, warns, &mut out);
    for bc in &bcs {
        if let Some(comp) = component(bc, &bcs, &names, &hoisted, cat, warns, &mut out) {
            out.comps.push(comp);
        }
    }
    out
}

/// Entries that kustomize adds to most BuildConfigs become the release-wide `replace`. Returns,
/// per entry place, the components it does not apply to (they keep those references external).
fn hoist(
    bcs: &[BuildConfig],
    names: &BTreeMap<String, String>,
    cat: &Catalogue<'_>,
    warns: &mut Warns,
    out: &mut Mapped,
) -> BTreeMap<At, BTreeSet<String>> {
    let mut groups: BTreeMap<At, Vec<&BuildConfig>> = BTreeMap::new();
    for bc in bcs {
        for image in bc.images.iter().filter(|i| i.at.file != bc.at.file && !i.names.is_empty()) {
            groups.entry(image.at.clone()).or_default().push(bc);
        }
    }
    let mut hoisted = BTreeMap::new();
    for (at, owners) in groups {
        if owners.len() * 2 <= bcs.len() {
            continue;
        }
        let Some(image) = owners[0].images.iter().find(|i| i.at == at) else { continue };
        let target = match cat.resolve(&image.from, names, bcs) {
            Resolved::Target(t) => t,
            Resolved::Missing(why) => {
                warns.at(WarningKind::MissingParent, &image.from.at, format!(
                    "this patch's {} is not provided: {why}; its {} names stay as written (external) in every BuildConfig",
                    image.from.name,
                    image.names.len()
                ));
                hoisted.insert(at, BTreeSet::new());
                continue;
            }
        };
        let with: BTreeSet<&str> = owners.iter().map(|b| b.name.as_str()).collect();
        let mut excluded: BTreeSet<String> =
            bcs.iter().filter(|b| !with.contains(b.name.as_str())).map(|b| b.name.clone()).collect();
        if let Some(own) = target.strip_prefix("member:")
            && let Some(bc) = bcs
                .iter()
                .find(|b| names.get(&b.tag).is_some_and(|n| n == own) && with.contains(b.name.as_str()))
        {
            warns.at(WarningKind::MissingParent, &image.from.at, format!(
                "this patch gives BuildConfig {} its own output {}; in the manifest that is a cycle, so {} keeps these names external",
                bc.name, image.from.name, bc.name
            ));
            excluded.insert(bc.name.clone());
        }
        for (name, name_at) in &image.names {
            match out.replace.get(name) {
                Some(existing) if *existing != target => warns.at(
                    WarningKind::Kustomize,
                    name_at,
                    format!("{name} is also replaced by {existing} in another patch; the first is kept"),
                ),
                Some(_) => {}
                None => {
                    out.replace.insert(name.clone(), target.clone());
                }
            }
        }
        hoisted.insert(at, excluded);
    }
    hoisted
}

#[allow(clippy::too_many_arguments)]
fn component(
    bc: &BuildConfig,
    bcs: &[BuildConfig],
    names: &BTreeMap<String, String>,
    hoisted: &BTreeMap<At, BTreeSet<String>>,
    cat: &Catalogue<'_>,
    warns: &mut Warns,
    out: &mut Mapped,
) -> Option<Comp> {
    let name = names.get(&bc.tag)?.clone();
    let self_target = format!("member:{name}");
    let mut parents = Vec::new();
    let mut missing = |r: &ImageRef, why: &str, left: String, warns: &mut Warns| {
        // The BuildConfig the reference probably means, and whether the lists order it first.
        let meant = r.name.strip_prefix("release:").and_then(|t| bcs.iter().find(|b| b.name == t));
        let order = match (meant, cat.slots) {
            (Some(m), Some(slots)) => match (slots.get(&bc.name), slots.get(&m.name)) {
                (Some((i, label, _)), Some((j, mlabel, _))) if j >= i => format!(
                    "; and BuildConfig {} is in {}, so fixing the tag alone would not build it first",
                    m.name,
                    if i == j { format!("{label} too") } else { format!("{mlabel}, after {label}") }
                ),
                _ => String::new(),
            },
            _ => String::new(),
        };
        warns.at(
            WarningKind::MissingParent,
            &r.at,
            format!("BuildConfig {} takes {}, but {why}; {left}{order}", bc.name, r.name),
        );
        out.missing.push((bc.name.clone(), r.name.clone(), r.at.clone()));
    };
    let mut resolve = |r: &ImageRef,
                       left: String,
                       warns: &mut Warns,
                       parents: &mut Vec<(String, String, At)>|
     -> Option<String> {
        match cat.resolve(r, names, bcs) {
            Resolved::Target(t) if t == self_target => {
                missing(r, "that is its own output (a cycle in the manifest)", left, warns);
                None
            }
            Resolved::Target(t) => {
                if let Some(m) = t.strip_prefix("member:") {
                    parents.push((m.to_owned(), r.name.clone(), r.at.clone()));
                }
                Some(t)
            }
            Resolved::Missing(why) => {
                missing(r, &why, left, warns);
                None
            }
        }
    };
    let last_from = bc
        .from
        .as_ref()
        .and_then(|r| resolve(r, "the last FROM stays as written (external)".into(), warns, &mut parents));
    let (mut git, mut reference) = match &bc.git {
        Some((uri, r)) => (Some(trim_git(uri)), r.clone().unwrap_or_else(|| "HEAD".into())),
        None => (None, String::new()),
    };
    let (mut context, mut dockerfile) = (norm(&bc.context), norm(&bc.dockerfile));
    let mut forked = None;
    let fork = fork_of(bc, bcs);
    let mut replace = BTreeMap::new();
    for image in &bc.images {
        if let Some(excluded) = hoisted.get(&image.at) {
            // In the release-wide map; a component it does not apply to keeps those names.
            if let Resolved::Target(t) = cat.resolve(&image.from, names, bcs)
                && t != self_target
                && let Some(m) = t.strip_prefix("member:")
                && !excluded.contains(&bc.name)
            {
                parents.push((m.to_owned(), image.from.name.clone(), image.from.at.clone()));
            }
            continue;
        }
        let shown: Vec<&str> = image.names.iter().map(|(n, _)| n.as_str()).collect();
        let left = if shown.is_empty() {
            "nothing is copied from it".to_owned()
        } else {
            format!("the FROM lines naming {} stay as written (external)", shown.join(", "))
        };
        let Some(target) = resolve(&image.from, left, warns, &mut parents) else { continue };
        for (alias, at) in &image.names {
            if !alias.contains(['/', ':', '.']) {
                warns.at(WarningKind::Unmapped, at, format!(
                    "`as` name {alias} of BuildConfig {} is a Dockerfile stage name, not an image; a manifest replaces images only, so it is left out",
                    bc.name
                ));
                continue;
            }
            match replace.get(alias) {
                Some(t) if *t != target => warns.at(
                    WarningKind::Unmapped,
                    at,
                    format!(
                        "{alias} is also replaced by {t} in BuildConfig {}; the first entry is kept",
                        bc.name
                    ),
                ),
                _ => {
                    replace.entry(alias.clone()).or_insert_with(|| target.clone());
                }
            }
        }
        for (source, dest, at) in &image.paths {
            let fork = fork.as_ref().filter(|f| f.at == *at);
            match fork {
                Some(f) => {
                    let shown = format!("{}@{}:{}", f.git, f.reference, f.path);
                    if git.is_none() {
                        let (dir, file) = f.path.rsplit_once('/').unwrap_or((".", f.path.as_str()));
                        warns.at(WarningKind::ForkedDockerfile, at, format!(
                            "BuildConfig {} has no git source: its context is only the Dockerfile it copies from {}; the component builds {shown} in its folder instead",
                            bc.name, image.from.name
                        ));
                        (git, reference, context, dockerfile) =
                            (Some(f.git.clone()), f.reference.clone(), norm(dir), file.to_owned());
                    } else {
                        warns.at(WarningKind::ForkedDockerfile, at, format!(
                            "BuildConfig {} builds {dockerfile} copied from {} ({shown}); a manifest cannot copy files into a source, so that Dockerfile must be committed to {} (a fork) before the component builds",
                            bc.name, image.from.name, git.as_deref().unwrap_or_default()
                        ));
                    }
                    forked = Some(shown);
                }
                None => warns.at(WarningKind::Unmapped, at, format!(
                    "BuildConfig {} copies {source} from {} into {dest}; the manifest cannot copy files into a source, not imported",
                    bc.name, image.from.name
                )),
            }
        }
    }
    // Names the release-wide map replaces but kustomize's selectors left out of this one.
    let mut external = BTreeSet::new();
    for (at, excluded) in hoisted {
        if !excluded.contains(&bc.name) {
            continue;
        }
        let Some(image) = bcs.iter().flat_map(|b| &b.images).find(|i| i.at == *at) else { continue };
        for (alias, _) in &image.names {
            if !replace.contains_key(alias) {
                replace.insert(alias.clone(), format!("image:{alias}"));
                external.insert(alias.clone());
            }
        }
    }
    // Checked when names were given: a BuildConfig without either source was skipped.
    let git = git?;
    let build_args = bc.build_args.iter().map(|(k, v, _)| (k.clone(), v.clone())).collect();
    let payload = !INFRASTRUCTURE.contains(&name.as_str()) && !name.ends_with("-base");
    Some(Comp {
        name,
        bc: bc.clone(),
        git,
        reference,
        context,
        dockerfile,
        build_args,
        last_from,
        replace,
        external,
        payload,
        forked,
        parents,
    })
}
