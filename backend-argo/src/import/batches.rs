//! The hand-kept build order of the Argo path: `build-okd-from-scratch` passes the JSON string
//! parameter `buildconfigs-batched-list` (a list of batches, each a list of
//! `{buildConfig, overrideRepoUrl, overrideBranch}`) to `mirror-and-customize`, which first runs
//! its own fixed `initial` batches (`[[builder, forked-dockerfiles, base], [cli]]`) and after the
//! list builds the `os-buildconfig`. Each entry keeps its line: the JSON sits in a literal block
//! scalar, whose lines are the file's.

use std::path::Path;

use okd_core::Result;
use serde_json::Value;

use super::{
    tree::{self, At, Key, Node},
    warn::{WarningKind, Warns},
};

pub(super) const FROM_SCRATCH: &str = "build-okd-from-scratch";
const CUSTOMIZE: &str = "mirror-and-customize";
const LIST: &str = "buildconfigs-batched-list";
const FOLDER: &str = "argo-workflows/okd-workflows";

/// A BuildConfig named by a batch list.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) name: String,
    pub(super) at: At,
}

#[derive(Debug)]
pub(super) struct Schedule {
    /// In run order: the initial batches, the list's, then the OS build.
    pub(super) batches: Vec<(String, Vec<Entry>)>,
    /// `architectures` of the from-scratch template.
    pub(super) arches: Option<(String, At)>,
}

/// Reads the batch lists; `None` (with a warning) when the templates are not there.
pub(super) fn read(dir: &Path, warns: &mut Warns) -> Result<Option<Schedule>> {
    let folder = dir.join(FOLDER);
    let mut files: Vec<_> = match std::fs::read_dir(&folder) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => {
            let at = At::file(&std::sync::Arc::new(dir.to_path_buf()));
            warns.at(
                WarningKind::BatchList,
                &at,
                format!("no {FOLDER}/: the batch lists are not read and the build order is not checked"),
            );
            return Ok(None);
        }
    };
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
    files.sort();
    let (mut scratch, mut customize) = (None, None);
    for path in &files {
        let (_, text, docs) = tree::read(path)?;
        for doc in docs {
            if doc.get("kind").and_then(Node::text) != Some("WorkflowTemplate") {
                continue;
            }
            match doc.path(&["metadata", "name"]).and_then(Node::text) {
                Some(FROM_SCRATCH) => scratch = Some((text.clone(), doc)),
                Some(CUSTOMIZE) => customize = Some((text.clone(), doc)),
                _ => {}
            }
        }
    }
    let Some((text, scratch)) = scratch else {
        let at = At::file(&std::sync::Arc::new(folder));
        warns.at(
            WarningKind::BatchList,
            &at,
            format!("no WorkflowTemplate {FROM_SCRATCH}: the build order is not checked"),
        );
        return Ok(None);
    };
    let mut batches = Vec::new();
    match customize.as_ref().and_then(|(t, d)| initial(d).map(|k| (t, k))) {
        Some((t, (key, value))) => {
            for (i, b) in parse_list(t, key, value, warns).into_iter().enumerate() {
                batches.push((format!("initial batch {}", i + 1), b));
            }
        }
        None => {
            let at = customize.as_ref().map_or_else(|| scratch.at.clone(), |(_, d)| d.at.clone());
            warns.at(WarningKind::BatchList, &at, format!(
                "no `initial` step with a {LIST} in WorkflowTemplate {CUSTOMIZE}; taking [[builder, forked-dockerfiles, base], [cli]]"
            ));
            let fixed = [vec!["builder", "forked-dockerfiles", "base"], vec!["cli"]];
            for (i, b) in fixed.iter().enumerate() {
                let entries = b.iter().map(|n| Entry { name: (*n).to_owned(), at: at.clone() }).collect();
                batches.push((format!("initial batch {}", i + 1), entries));
            }
        }
    }
    let params = scratch.path(&["spec", "arguments", "parameters"]).map(Node::items).unwrap_or_default();
    let param = |name: &str| -> Option<(&Key, &Node)> {
        let p = params.iter().find(|p| p.get("name").and_then(Node::text) == Some(name))?;
        p.entry("value").or_else(|| p.entry("default")).filter(|(_, v)| !v.is_null())
    };
    match param(LIST) {
        Some((key, value)) => {
            for (i, b) in parse_list(&text, key, value, warns).into_iter().enumerate() {
                batches.push((format!("batch {}", i + 1), b));
            }
        }
        None => warns.at(WarningKind::BatchList, &scratch.at, format!("{FROM_SCRATCH} sets no {LIST}")),
    }
    if let Some((_, os)) = param("os-buildconfig")
        && let Some(name) = os.text().filter(|n| !n.is_empty())
    {
        batches.push(("the OS build".into(), vec![Entry { name: name.to_owned(), at: os.at.clone() }]));
    }
    let arches = param("architectures").and_then(|(_, v)| Some((v.text()?.to_owned(), v.at.clone())));
    Ok(Some(Schedule { batches, arches }))
}

/// The `initial` step's list in `mirror-and-customize`'s `entrypoint` template.
fn initial(doc: &Node) -> Option<(&Key, &Node)> {
    let templates = doc.path(&["spec", "templates"])?.items();
    let entry = templates.iter().find(|t| t.get("name").and_then(Node::text) == Some("entrypoint"))?;
    let steps = entry.get("steps")?.items().iter().flat_map(Node::items);
    let step = steps.into_iter().find(|s| s.get("name").and_then(Node::text) == Some("initial"))?;
    let params = step.path(&["arguments", "parameters"])?.items();
    let p = params.iter().find(|p| p.get("name").and_then(Node::text) == Some(LIST))?;
    p.entry("value")
}

/// Parses a batch list; problems are warnings, and what can be read is kept.
fn parse_list(file_text: &str, key: &Key, value: &Node, warns: &mut Warns) -> Vec<Vec<Entry>> {
    let Some(json) = value.text() else {
        warns.at(WarningKind::BatchList, &value.at, format!("{LIST} is {}, not a JSON string", value.kind()));
        return Vec::new();
    };
    let parsed: Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => {
            let origin = tree::block_origin(file_text, key);
            let at = At { line: origin.line_of(e.line() as u32), ..value.at.clone() };
            warns.at(
                WarningKind::BatchList,
                &at,
                format!("{LIST} is not valid JSON ({e}); the build order is not checked against it"),
            );
            return Vec::new();
        }
    };
    let Some(outer) = parsed.as_array().filter(|o| o.iter().all(Value::is_array)) else {
        warns.at(WarningKind::BatchList, &value.at, format!("{LIST} is not a list of lists; not read"));
        return Vec::new();
    };
    // The lines of the `"buildConfig"` keys, in order: one per object when the text is regular.
    let origin = tree::block_origin(file_text, key);
    let lines: Vec<u32> = json
        .match_indices("\"buildConfig\"")
        .filter(|(i, m)| json[i + m.len()..].trim_start().starts_with(':'))
        .map(|(i, _)| origin.line_of(json[..i].matches('\n').count() as u32 + 1))
        .collect();
    let objects = outer.iter().flat_map(|b| b.as_array().into_iter().flatten()).count();
    let line_of = |index: usize| if lines.len() == objects { lines[index] } else { value.at.line };
    let mut index = 0;
    let mut out = Vec::new();
    for batch in outer {
        let mut entries = Vec::new();
        for item in batch.as_array().into_iter().flatten() {
            let at = At { line: line_of(index), column: 1, ..value.at.clone() };
            index += 1;
            let Some(name) = item.get("buildConfig").and_then(Value::as_str) else {
                warns.at(
                    WarningKind::BatchList,
                    &at,
                    format!("an entry of {LIST} without a buildConfig name: {item}"),
                );
                continue;
            };
            for field in ["overrideRepoUrl", "overrideBranch"] {
                if let Some(v) = item.get(field).and_then(Value::as_str).filter(|v| !v.is_empty()) {
                    warns.at(WarningKind::BatchList, &at, format!(
                        "{name}: {field} {v:?} overrides the BuildConfig's source for this run; the manifest takes the BuildConfig's"
                    ));
                }
            }
            entries.push(Entry { name: name.to_owned(), at });
        }
        out.push(entries);
    }
    out
}
