//! A YAML document as a tree in which every key and every value keeps its line and column.
//!
//! ci-operator configs are read by hand from this tree rather than through typed structs: the
//! importer must see every key (to warn about each one it does not map, at the key's line) and
//! must report a wrong type where it is, with a fix, as ci-operator's own decoder would refuse it.

use std::path::Path;

use okd_core::{Error, Location, Result};
use serde_json::Value;
use serde_saphyr::Spanned;

/// A value with the place it was written.
pub(super) type S<T> = Spanned<T>;

/// One YAML node (okd-core's located tree).
pub(super) use okd_core::yaml::Node;

pub(super) fn line<T>(s: &S<T>) -> u32 {
    s.referenced.line() as u32
}

/// Reading one file's tree, with errors located in it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reader<'a> {
    pub(super) file: &'a Path,
}

impl Reader<'_> {
    pub(super) fn at<T>(&self, s: &S<T>) -> Location {
        Location::new(self.file, line(s).max(1), (s.referenced.column() as u32).max(1))
    }

    /// `what` has the wrong type: ci-operator's decoder refuses the file, so do we.
    pub(super) fn wrong(&self, node: &S<Node>, what: &str, expected: &str, example: &str) -> Error {
        Error::invalid_at(
            self.at(node),
            format!("{what} must be {expected}, not {}", node.value.kind()),
            format!("ci-operator cannot decode this file either; write e.g. {example}"),
        )
    }

    /// A mapping's entries; an empty value is an empty mapping, as in Go.
    pub(super) fn map<'n>(
        &self,
        node: &'n S<Node>,
        what: &str,
        example: &str,
    ) -> Result<&'n [(S<String>, S<Node>)]> {
        match &node.value {
            Node::Map(entries) => Ok(entries),
            n if n.is_null() => Ok(&[]),
            _ => Err(self.wrong(node, what, "a mapping", example)),
        }
    }

    /// A list's items; an empty value is an empty list.
    pub(super) fn seq<'n>(&self, node: &'n S<Node>, what: &str, example: &str) -> Result<&'n [S<Node>]> {
        match &node.value {
            Node::Seq(items) => Ok(items),
            n if n.is_null() => Ok(&[]),
            _ => Err(self.wrong(node, what, "a list", example)),
        }
    }

    /// A string; an empty value is none. Numbers and booleans are refused rather than
    /// stringified: `name: 4.20` would otherwise silently become `4.2`.
    pub(super) fn string(&self, node: &S<Node>, what: &str, example: &str) -> Result<Option<String>> {
        match &node.value {
            Node::Scalar(Value::String(s)) => Ok(Some(s.clone())),
            n if n.is_null() => Ok(None),
            Node::Scalar(Value::Number(_) | Value::Bool(_)) => Err(Error::invalid_at(
                self.at(node),
                format!("{what} must be a string, not {}", node.value.kind()),
                format!("quote it, as ci-operator's decoder requires: {example}"),
            )),
            _ => Err(self.wrong(node, what, "a string", example)),
        }
    }

    pub(super) fn boolean(&self, node: &S<Node>, what: &str) -> Result<bool> {
        match &node.value {
            Node::Scalar(Value::Bool(b)) => Ok(*b),
            n if n.is_null() => Ok(false),
            _ => Err(self.wrong(node, what, "true or false", &format!("{what}: true"))),
        }
    }

    /// A list of strings.
    pub(super) fn strings(&self, node: &S<Node>, what: &str, example: &str) -> Result<Vec<(String, u32)>> {
        let mut out = Vec::new();
        for item in self.seq(node, what, example)? {
            if let Some(s) = self.string(item, &format!("each entry of {what}"), example)? {
                out.push((s, line(item)));
            }
        }
        Ok(out)
    }
}

/// Parses `text`. `Ok(None)` for a file that holds several YAML documents: no ci-operator
/// config does, so the caller skips it as some other YAML.
pub(super) fn parse(file: &Path, text: &str) -> Result<Option<S<Node>>> {
    let options = okd_core::manifest::yaml_options(text.len());
    match serde_saphyr::from_str_with_options::<S<Node>>(text, options) {
        Ok(node) => Ok(Some(node)),
        Err(e) if e.to_string().contains("multiple YAML documents") => Ok(None),
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
            let location = e.location().map_or_else(
                || Location::new(file, 1, 1),
                |l| Location::new(file, (l.line() as u32).max(1), (l.column() as u32).max(1)),
            );
            Err(Error::invalid_at(
                location,
                format!("not valid YAML: {message}"),
                "fix the file (ci-operator cannot read it either), or leave it out of the PATHs",
            ))
        }
    }
}
