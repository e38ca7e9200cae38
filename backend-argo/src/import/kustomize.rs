//! The part of kustomize that okd-payload-pipeline uses: a `resources` list of files, inline
//! `patches` (JSON 6902 `add` operations, and merge patches, which for a BuildConfig, a kind
//! without a schema in kustomize, replace lists whole) with `target`s by kind, name and
//! equality label selectors, and `namespace`. Anything else in a kustomization is a located
//! warning and is not applied.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use okd_core::{Error, Result};
use serde_json::Value;

use super::{
    tree::{self, At, Key, Node, V},
    warn::{WarningKind, Warns},
};

/// One object of a resource file, patched in place.
#[derive(Debug, Clone)]
pub(super) struct Resource {
    pub(super) doc: Node,
}

impl Resource {
    pub(super) fn kind(&self) -> &str {
        self.doc.get("kind").and_then(Node::text).unwrap_or("")
    }

    pub(super) fn name(&self) -> &str {
        self.doc.path(&["metadata", "name"]).and_then(Node::text).unwrap_or("")
    }

    fn labels(&self) -> BTreeMap<String, String> {
        let labels = self.doc.path(&["metadata", "labels"]);
        labels
            .map(|l| {
                l.entries().iter().filter_map(|(k, v)| Some((k.text.clone(), v.scalar_text()?))).collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Debug)]
pub(super) struct Kustomization {
    pub(super) file: Arc<PathBuf>,
    pub(super) resources: Vec<(String, At)>,
    pub(super) patches: Vec<Patch>,
    pub(super) namespace: Option<(String, At)>,
}

#[derive(Debug)]
pub(super) struct Patch {
    at: At,
    body: Body,
    target: Target,
}

#[derive(Debug)]
enum Body {
    /// JSON 6902 `add` operations: (pointer, value, where the op is).
    Add(Vec<(String, Node, At)>),
    Merge(Node),
}

#[derive(Debug, Default)]
struct Target {
    kind: Option<String>,
    name: Option<String>,
    /// (label, wanted value or none for "present", equal?)
    selector: Vec<(String, Option<String>, bool)>,
}

impl Target {
    fn matches(&self, r: &Resource) -> bool {
        if self.kind.as_deref().is_some_and(|k| k != r.kind())
            || self.name.as_deref().is_some_and(|n| n != r.name())
        {
            return false;
        }
        let labels = r.labels();
        self.selector.iter().all(|(label, value, equal)| {
            let has = match value {
                Some(v) => labels.get(label) == Some(v),
                None => labels.contains_key(label),
            };
            has == *equal
        })
    }
}

const SUPPORTED: &str = "the importer applies resources, namespace and inline patches (JSON 6902 `add`, merge patches) with targets by kind, name and equality label selectors";

/// Reads a kustomization file. Unsupported keys, patches and targets are warnings.
pub(super) fn read(path: &Path, warns: &mut Warns) -> Result<Kustomization> {
    let (file, text, docs) = tree::read(path)?;
    let mut k = Kustomization {
        file: Arc::clone(&file),
        resources: Vec::new(),
        patches: Vec::new(),
        namespace: None,
    };
    let Some(doc) = docs.first() else {
        warns.at(WarningKind::Kustomize, &At::file(&file), "an empty kustomization");
        return Ok(k);
    };
    let example = "resources: [04-builder.yaml]";
    for (key, value) in doc.map("a kustomization", example)? {
        match key.text.as_str() {
            "apiVersion" => {}
            "kind" => {
                if value.text() != Some("Kustomization") {
                    warns.at(WarningKind::Kustomize, &value.at, "kind is not Kustomization; read as one");
                }
            }
            "resources" => {
                for item in value.seq("resources", example)? {
                    if let Some(s) = item.string("each resource", "- 04-builder.yaml")? {
                        k.resources.push((s.to_owned(), item.at.clone()));
                    }
                }
            }
            "namespace" => {
                if let Some(ns) = value.string("namespace", "namespace: okd")? {
                    k.namespace = Some((ns.to_owned(), value.at.clone()));
                }
            }
            "patches" => {
                for item in value.seq("patches", "patches: [{patch: ..., target: {kind: BuildConfig}}]")? {
                    if let Some(p) = patch(&text, item, warns)? {
                        k.patches.push(p);
                    }
                }
            }
            other => {
                warns.at(WarningKind::Kustomize, &key.at, format!("`{other}` is not applied: {SUPPORTED}"))
            }
        }
    }
    Ok(k)
}

fn patch(text: &str, item: &Node, warns: &mut Warns) -> Result<Option<Patch>> {
    let entries = item.map("each patch", "- {patch: ..., target: {kind: BuildConfig}}")?;
    let (mut body, mut target) = (None, Target::default());
    let mut ok = true;
    for (key, value) in entries {
        match key.text.as_str() {
            "patch" => {
                let Some(s) = value.string("patch", "patch: |-")? else { continue };
                body = Some(parse_body(text, key, s, warns)?);
            }
            "target" => ok &= read_target(value, &mut target, warns)?,
            other => {
                warns.at(
                    WarningKind::Kustomize,
                    &key.at,
                    format!("`{other}` of a patch is not supported; the patch is not applied: {SUPPORTED}"),
                );
                ok = false;
            }
        }
    }
    let Some(body) = body else {
        if ok {
            warns.at(WarningKind::Kustomize, &item.at, "a patch without an inline `patch` is not applied");
        }
        return Ok(None);
    };
    let Some(body) = body.filter(|_| ok) else { return Ok(None) };
    if let Body::Merge(doc) = &body
        && target.kind.is_none()
        && target.name.is_none()
        && target.selector.is_empty()
    {
        target.kind = doc.get("kind").and_then(Node::text).map(str::to_owned);
        target.name = doc.path(&["metadata", "name"]).and_then(Node::text).map(str::to_owned);
    }
    if target.kind.is_none() && target.name.is_none() && target.selector.is_empty() {
        warns.at(
            WarningKind::Kustomize,
            &item.at,
            "a patch without a target would patch every resource; not applied",
        );
        return Ok(None);
    }
    Ok(Some(Patch { at: item.at.clone(), body, target }))
}

fn parse_body(text: &str, key: &Key, s: &str, warns: &mut Warns) -> Result<Option<Body>> {
    let origin = tree::block_origin(text, key);
    let docs = tree::parse(&origin, s)?;
    let Some(doc) = docs.into_iter().next() else {
        warns.at(WarningKind::Kustomize, &key.at, "an empty patch; not applied");
        return Ok(None);
    };
    match &doc.value {
        V::Map(_) => Ok(Some(Body::Merge(doc))),
        V::Seq(ops) => {
            let mut adds = Vec::new();
            for op in ops {
                let example = "- {op: add, path: /spec/source/images/-, value: {...}}";
                op.map("each JSON 6902 operation", example)?;
                let kind = op.get("op").map(|o| o.string("op", "op: add")).transpose()?.flatten();
                let path = op
                    .get("path")
                    .map(|p| p.string("path", "path: /spec/source/images/-"))
                    .transpose()?
                    .flatten();
                match (kind, path, op.entry("value")) {
                    (Some("add"), Some(path), Some((_, value))) => {
                        adds.push((path.to_owned(), value.clone(), op.at.clone()))
                    }
                    (Some("add"), _, _) => {
                        return Err(op.at.error(
                            "a JSON 6902 add needs a path and a value",
                            "write e.g. {op: add, path: /spec/resources, value: {...}}",
                        ));
                    }
                    (other, _, _) => {
                        warns.at(WarningKind::Kustomize, &op.at, format!(
                            "JSON 6902 op {} is not applied: the importer applies `add` only; the rest of this patch is applied",
                            other.unwrap_or("(none)")
                        ));
                    }
                }
            }
            Ok(Some(Body::Add(adds)))
        }
        _ => Err(doc.at.error(
            format!("a patch must be a list of JSON 6902 operations or an object, not {}", doc.kind()),
            "write a JSON 6902 list (- op: add ...) or a partial object to merge",
        )),
    }
}

fn read_target(value: &Node, target: &mut Target, warns: &mut Warns) -> Result<bool> {
    let mut ok = true;
    for (key, v) in value.map("target", "target: {kind: BuildConfig, labelSelector: a==b}")? {
        let s =
            v.string(&format!("target.{}", key.text), "kind: BuildConfig")?.unwrap_or_default().to_owned();
        match key.text.as_str() {
            "kind" => target.kind = Some(s),
            "name" => target.name = Some(s),
            "labelSelector" => match selector(&s) {
                Some(sel) => target.selector = sel,
                None => {
                    warns.at(WarningKind::Kustomize, &v.at, format!("label selector {s:?} is not supported (only a==b, a=b, a!=b, a, !a); the patch is not applied"));
                    ok = false;
                }
            },
            "group" | "version" => {}
            other => {
                warns.at(
                    WarningKind::Kustomize,
                    &key.at,
                    format!("target `{other}` is not supported; the patch is not applied: {SUPPORTED}"),
                );
                ok = false;
            }
        }
    }
    Ok(ok)
}

fn selector(s: &str) -> Option<Vec<(String, Option<String>, bool)>> {
    let label = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    let mut out = Vec::new();
    for req in s.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        let (name, value, equal) = if let Some((k, v)) = req.split_once("!=") {
            (k, Some(v), false)
        } else if let Some((k, v)) = req.split_once("==").or_else(|| req.split_once('=')) {
            (k, Some(v), true)
        } else if let Some(k) = req.strip_prefix('!') {
            (k, None, false)
        } else {
            (req, None, true)
        };
        let (name, value) = (name.trim(), value.map(str::trim));
        if !label(name) || value.is_some_and(|v| !v.is_empty() && !label(v)) {
            return None;
        }
        out.push((name.to_owned(), value.map(str::to_owned), equal));
    }
    Some(out)
}

/// Applies `k`'s patches, in order, to `resources`. `root` shortens paths in messages.
pub(super) fn apply(k: &Kustomization, resources: &mut [Resource], root: &Path, warns: &mut Warns) {
    for patch in &k.patches {
        let mut matched = 0;
        for r in resources.iter_mut().filter(|r| patch.target.matches(r)) {
            matched += 1;
            let owner = format!("{} {}", r.kind(), r.name());
            match &patch.body {
                Body::Add(ops) => {
                    for (pointer, value, at) in ops {
                        if let Err(why) = add(&mut r.doc, pointer, value, at) {
                            warns.at(WarningKind::Kustomize, at, format!(
                                "add {pointer} on {owner} ({}): {why}; kustomize fails here, the importer skips the operation",
                                r.doc.at.shown(root)
                            ));
                        }
                    }
                }
                Body::Merge(body) => {
                    let mut lost = Vec::new();
                    merge(&mut r.doc, body, 0, "", &mut lost);
                    for (path, names) in lost {
                        warns.at(WarningKind::Kustomize, &patch.at, format!(
                            "this merge patch replaces the whole list {path} of {owner}, so {} {} dropped (as kustomize drops them)",
                            names.join(", "),
                            if names.len() == 1 { "is" } else { "are" }
                        ));
                    }
                }
            }
        }
        if matched == 0 {
            warns.at(
                WarningKind::Kustomize,
                &patch.at,
                "this patch matches no resource that is read; not applied",
            );
        }
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// JSON 6902 `add`.
fn add(doc: &mut Node, pointer: &str, value: &Node, op: &At) -> std::result::Result<(), String> {
    let tokens: Vec<String> = match pointer.strip_prefix('/') {
        Some(rest) => rest.split('/').map(unescape).collect(),
        None => return Err(format!("{pointer:?} is not a JSON pointer")),
    };
    let Some((last, parents)) = tokens.split_last() else {
        return Err("cannot add the whole document".into());
    };
    let mut node = doc;
    for (i, token) in parents.iter().enumerate() {
        let shown = || format!("/{}", parents[..=i].join("/"));
        node = match &mut node.value {
            V::Map(entries) => match entries.iter_mut().find(|(k, _)| &k.text == token) {
                Some((_, v)) => v,
                None => return Err(format!("{} does not exist", shown())),
            },
            V::Seq(items) => match token.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(v) => v,
                None => return Err(format!("{} does not exist", shown())),
            },
            V::Scalar(_) => return Err(format!("{} does not exist", shown())),
        };
    }
    match &mut node.value {
        V::Map(entries) => {
            match entries.iter_mut().find(|(k, _)| &k.text == last) {
                Some((_, v)) => *v = value.clone(),
                None => entries.push((Key { text: last.clone(), at: op.clone() }, value.clone())),
            }
            Ok(())
        }
        V::Seq(items) if last == "-" => {
            items.push(value.clone());
            Ok(())
        }
        V::Seq(items) => match last.parse::<usize>() {
            Ok(i) if i <= items.len() => {
                items.insert(i, value.clone());
                Ok(())
            }
            _ => Err(format!("index {last} is out of the list")),
        },
        V::Scalar(_) => Err(format!("the parent of {pointer} is {}, not a list or mapping", node_kind(node))),
    }
}

fn node_kind(node: &Node) -> &'static str {
    node.kind()
}

/// A merge patch (RFC 7386), which is what kustomize applies to a kind it has no schema for.
/// With a target, the patch's own apiVersion, kind and name are not applied.
fn merge(target: &mut Node, patch: &Node, depth: usize, path: &str, lost: &mut Vec<(String, Vec<String>)>) {
    let V::Map(patch_entries) = &patch.value else {
        note_lost(target, patch, path, lost);
        *target = patch.clone();
        return;
    };
    if !matches!(target.value, V::Map(_)) {
        *target = Node { value: V::Map(Vec::new()), at: patch.at.clone() };
    }
    let V::Map(entries) = &mut target.value else { return };
    for (key, value) in patch_entries {
        let skip = (depth == 0 && (key.text == "apiVersion" || key.text == "kind"))
            || (depth == 1 && path == "/metadata" && (key.text == "name" || key.text == "namespace"));
        if skip {
            continue;
        }
        let here = format!("{path}/{}", key.text);
        let index = entries.iter().position(|(k, _)| k.text == key.text);
        match (index, value.is_null()) {
            (Some(i), true) => {
                entries.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => merge(&mut entries[i].1, value, depth + 1, &here, lost),
            (None, false) => {
                let mut fresh = Node { value: V::Scalar(Value::Null), at: value.at.clone() };
                merge(&mut fresh, value, depth + 1, &here, lost);
                entries.push((key.clone(), fresh));
            }
        }
    }
}

/// Entries (by `name`) of a list a merge patch replaces that the new list does not have.
fn note_lost(old: &Node, new: &Node, path: &str, lost: &mut Vec<(String, Vec<String>)>) {
    let name = |n: &Node| n.get("name").and_then(Node::scalar_text);
    let kept: Vec<String> = new.items().iter().filter_map(name).collect();
    let gone: Vec<String> = old.items().iter().filter_map(name).filter(|n| !kept.contains(n)).collect();
    if !gone.is_empty() {
        lost.push((path.to_owned(), gone));
    }
}

/// The objects of the resource files `k` lists, relative to its folder. A listed file that is
/// missing is an error at its line, as in kustomize; a folder or URL is a warning (the importer
/// reads files, and the caller handles the folders it knows).
pub(super) fn load_resources(
    k: &Kustomization,
    skip: &dyn Fn(&Path) -> bool,
    out: &mut Vec<Resource>,
    warns: &mut Warns,
) -> Result<()> {
    let dir = k.file.parent().map(Path::to_path_buf).unwrap_or_default();
    for (name, at) in &k.resources {
        let path = dir.join(name);
        if skip(&path) {
            continue;
        }
        if name.contains("://") || path.is_dir() {
            warns.at(WarningKind::Kustomize, at, format!("resource {name} is not read: {SUPPORTED}"));
            continue;
        }
        if !path.is_file() {
            return Err(at.error(
                format!("resource {name} does not exist ({})", path.display()),
                "kustomize fails on it too: fix the name or remove the entry",
            ));
        }
        let (_, _, docs) = tree::read(&path)?;
        out.extend(docs.into_iter().map(|doc| Resource { doc }));
    }
    Ok(())
}

/// Checks that a listed path resolves under `dir` to `want`.
pub(super) fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

pub(super) fn error_no_kustomization(dir: &Path) -> Error {
    Error::invalid(format!(
        "{} has no buildconfigs/kustomization.yaml: not a checkout of okd-project/okd-payload-pipeline",
        dir.display()
    ))
    .with_help("pass the root of a checkout of https://github.com/okd-project/okd-payload-pipeline (the folder holding buildconfigs/ and variants/)")
}
