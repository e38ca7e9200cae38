//! A YAML document as a tree in which every key and every value keeps its line and column, for
//! importers that read foreign configuration by hand (ci-operator configs, okd-payload-pipeline
//! BuildConfigs): they must see every key, to warn about each one they do not map at its line,
//! and report a wrong type where it is written.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

/// One YAML node. Scalars keep their YAML 1.1 type (`yes` is a boolean, `4.20` a number), as
/// ci-operator's decoder (ghodss/yaml) reads them.
#[derive(Debug)]
pub enum Node {
    Scalar(Value),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            entries.push((key, map.next_value::<Spanned<Node>>()?));
        }
        Ok(Node::Map(entries))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Node, E> {
        Ok(Node::Scalar(Value::String(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> std::result::Result<Node, E> {
        Ok(Node::Scalar(Value::String(v)))
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Node, E> {
        Ok(Node::Scalar(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Node, E> {
        Ok(Node::Scalar(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Node, E> {
        Ok(Node::Scalar(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<Node, E> {
        Ok(Node::Scalar(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)))
    }

    fn visit_unit<E>(self) -> std::result::Result<Node, E> {
        Ok(Node::Scalar(Value::Null))
    }

    fn visit_none<E>(self) -> std::result::Result<Node, E> {
        Ok(Node::Scalar(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Node, D::Error> {
        Node::deserialize(d)
    }
}

impl Node {
    /// What the node is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Map(_) => "a mapping",
            Node::Seq(_) => "a list",
            Node::Scalar(Value::String(_)) => "a string",
            Node::Scalar(Value::Bool(_)) => "a boolean",
            Node::Scalar(Value::Number(_)) => "a number",
            Node::Scalar(Value::Null) => "empty",
            Node::Scalar(_) => "a value",
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Node::Scalar(Value::Null))
    }

    /// The entry `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<(&Spanned<String>, &Spanned<Node>)> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k.value == key).map(|(k, v)| (k, v)),
            _ => None,
        }
    }
}
