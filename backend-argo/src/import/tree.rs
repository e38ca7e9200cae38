//! A located YAML tree. Every node keeps the file and line it was written at, and keeps them
//! when a kustomize patch copies it into a resource: an `as` list added by
//! `buildconfigs/kustomization.yaml` still points at its line there, so every warning about it
//! can name the place to fix.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

// serde-saphyr's view of a node, before it gets its file: okd-core's located tree.
use okd_core::yaml::Node as Raw;
use okd_core::{Error, Location, Result, Warning};
use serde_json::Value;
use serde_saphyr::Spanned;

/// Where a node was written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct At {
    pub(super) file: Arc<PathBuf>,
    pub(super) line: u32,
    pub(super) column: u32,
}

impl At {
    pub(super) fn file(file: &Arc<PathBuf>) -> At {
        At { file: Arc::clone(file), line: 0, column: 0 }
    }

    pub(super) fn location(&self) -> Location {
        Location::new(self.file.as_path(), self.line.max(1), self.column.max(1))
    }

    pub(super) fn warning(&self, message: impl Into<String>) -> Warning {
        Warning { file: self.file.to_path_buf(), line: self.line, message: message.into() }
    }

    /// `file:line`, shown relative to `root`, for messages that point at a second place.
    pub(super) fn shown(&self, root: &Path) -> String {
        let file = self.file.strip_prefix(root).unwrap_or(&self.file);
        format!("{}:{}", file.display(), self.line)
    }

    pub(super) fn error(&self, message: impl Into<String>, help: impl Into<String>) -> Error {
        Error::invalid_at(self.location(), message, help)
    }
}

/// One YAML node.
#[derive(Debug, Clone)]
pub(super) struct Node {
    pub(super) value: V,
    pub(super) at: At,
}

#[derive(Debug, Clone)]
pub(super) enum V {
    Scalar(Value),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone)]
pub(super) struct Key {
    pub(super) text: String,
    pub(super) at: At,
}

impl Node {
    pub(super) fn kind(&self) -> &'static str {
        match &self.value {
            V::Map(_) => "a mapping",
            V::Seq(_) => "a list",
            V::Scalar(Value::String(_)) => "a string",
            V::Scalar(Value::Bool(_)) => "a boolean",
            V::Scalar(Value::Number(_)) => "a number",
            V::Scalar(Value::Null) => "empty",
            V::Scalar(_) => "a value",
        }
    }

    pub(super) fn is_null(&self) -> bool {
        matches!(self.value, V::Scalar(Value::Null))
    }

    pub(super) fn entries(&self) -> &[(Key, Node)] {
        match &self.value {
            V::Map(entries) => entries,
            _ => &[],
        }
    }

    pub(super) fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        self.entries().iter().find(|(k, _)| k.text == key).map(|(k, v)| (k, v))
    }

    pub(super) fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v).filter(|v| !v.is_null())
    }

    /// `a.b.c` through mappings.
    pub(super) fn path(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    /// The text of a string scalar, if this is one.
    pub(super) fn text(&self) -> Option<&str> {
        match &self.value {
            V::Scalar(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// A scalar as Kubernetes would print it (labels, selectors).
    pub(super) fn scalar_text(&self) -> Option<String> {
        match &self.value {
            V::Scalar(Value::String(s)) => Some(s.clone()),
            V::Scalar(Value::Null) => Some(String::new()),
            V::Scalar(v) => Some(v.to_string()),
            _ => None,
        }
    }

    pub(super) fn items(&self) -> &[Node] {
        match &self.value {
            V::Seq(items) => items,
            _ => &[],
        }
    }

    /// A string, located error when it is something else; empty is none.
    pub(super) fn string(&self, what: &str, example: &str) -> Result<Option<&str>> {
        match &self.value {
            V::Scalar(Value::String(s)) => Ok(Some(s)),
            V::Scalar(Value::Null) => Ok(None),
            V::Scalar(Value::Number(_) | Value::Bool(_)) => Err(self.at.error(
                format!("{what} must be a string, not {}", self.kind()),
                format!("quote it, as the Kubernetes API requires: {example}"),
            )),
            _ => Err(self.wrong(what, "a string", example)),
        }
    }

    pub(super) fn seq(&self, what: &str, example: &str) -> Result<&[Node]> {
        match &self.value {
            V::Seq(items) => Ok(items),
            V::Scalar(Value::Null) => Ok(&[]),
            _ => Err(self.wrong(what, "a list", example)),
        }
    }

    pub(super) fn map(&self, what: &str, example: &str) -> Result<&[(Key, Node)]> {
        match &self.value {
            V::Map(entries) => Ok(entries),
            V::Scalar(Value::Null) => Ok(&[]),
            _ => Err(self.wrong(what, "a mapping", example)),
        }
    }

    pub(super) fn wrong(&self, what: &str, expected: &str, example: &str) -> Error {
        self.at.error(
            format!("{what} must be {expected}, not {}", self.kind()),
            format!("the cluster would refuse this object too; write e.g. {example}"),
        )
    }
}

/// Where a text sits in its file: its first line is file line `line`, indented by `indent`.
#[derive(Debug, Clone)]
pub(super) struct Origin {
    pub(super) file: Arc<PathBuf>,
    pub(super) line: u32,
    pub(super) indent: u32,
    /// The text's lines are not the file's (a quoted or folded string): everything is placed at
    /// `line`.
    pub(super) flat: bool,
}

impl Origin {
    pub(super) fn file(file: &Arc<PathBuf>) -> Origin {
        Origin { file: Arc::clone(file), line: 1, indent: 0, flat: false }
    }

    /// The file line of line `line` (1-based) of the text.
    pub(super) fn line_of(&self, line: u32) -> u32 {
        if self.flat || line == 0 { self.line } else { self.line + line - 1 }
    }

    fn at<T>(&self, s: &Spanned<T>) -> At {
        let line = s.referenced.line() as u32;
        let column = s.referenced.column() as u32;
        At { file: Arc::clone(&self.file), line: self.line_of(line), column: column + self.indent }
    }

    fn node(&self, raw: Spanned<Raw>) -> Node {
        let at = self.at(&raw);
        let value = match raw.value {
            Raw::Scalar(v) => V::Scalar(v),
            Raw::Seq(items) => V::Seq(items.into_iter().map(|i| self.node(i)).collect()),
            Raw::Map(entries) => V::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (Key { at: self.at(&k), text: k.value }, self.node(v)))
                    .collect(),
            ),
        };
        Node { value, at }
    }
}

/// The YAML documents of `text` (empty ones left out). A syntax error is located in the file.
pub(super) fn parse(origin: &Origin, text: &str) -> Result<Vec<Node>> {
    let options = okd_core::manifest::yaml_options(text.len());
    match serde_saphyr::from_multiple_with_options::<Spanned<Raw>>(text, options) {
        Ok(docs) => Ok(docs.into_iter().map(|d| origin.node(d)).filter(|n| !n.is_null()).collect()),
        Err(e) => {
            let message = e.to_string();
            let mut message = message.lines().next().unwrap_or("invalid YAML").trim().to_owned();
            // serde-saphyr leads with its own position; ours comes from the location.
            if let Some(rest) = message.strip_prefix("error: ")
                && let Some((_, tail)) = rest.split_once(": ")
                && rest.starts_with("line ")
            {
                message = tail.to_owned();
            }
            if let Some(i) = message.find(", set DuplicateKeyPolicy") {
                message.truncate(i);
            }
            let (line, column) =
                e.location().map_or((1, 1), |l| (l.line().max(1) as u32, l.column().max(1) as u32));
            let at = At {
                file: Arc::clone(&origin.file),
                line: origin.line_of(line),
                column: column + origin.indent,
            };
            Err(at.error(
                format!("not valid YAML: {message}"),
                "fix the file: `oc apply -k` and `kubectl kustomize` cannot read it either",
            ))
        }
    }
}

/// Reads and parses a file.
pub(super) fn read(path: &Path) -> Result<(Arc<PathBuf>, String, Vec<Node>)> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read", e))?;
    let file = Arc::new(path.to_path_buf());
    let docs = parse(&Origin::file(&file), &text)?;
    Ok((file, text, docs))
}

/// Where the content of the string value of `key` starts, when it is a literal block scalar
/// (`key: |`), whose lines are the file's lines one for one. For any other style (quoted,
/// plain, folded) the text's lines do not map to the file's, and everything in it is placed
/// at the key's line.
pub(super) fn block_origin(text: &str, key: &Key) -> Origin {
    let lines: Vec<&str> = text.lines().collect();
    let here = Origin { file: Arc::clone(&key.at.file), line: key.at.line, indent: 0, flat: true };
    let Some(line) = lines.get((key.at.line as usize).saturating_sub(1)) else { return here };
    let after = line.split_once(':').map_or("", |(_, rest)| rest);
    let after = after.split(" #").next().unwrap_or("").trim();
    let literal =
        after.starts_with('|') && after[1..].chars().all(|c| c == '-' || c == '+' || c.is_ascii_digit());
    if !literal {
        return here;
    }
    let first = lines.iter().skip(key.at.line as usize).find(|l| !l.trim().is_empty());
    let indent = first.map_or(0, |l| (l.len() - l.trim_start().len()) as u32);
    Origin { file: Arc::clone(&key.at.file), line: key.at.line + 1, indent, flat: false }
}
