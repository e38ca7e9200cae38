//! OpenAPI v3 (CRD) and Swagger 2.0 schema nodes, turned into [`Schema`] once at load time.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use regex_lite::Regex;
use serde_json::Value;

/// The JSON type a node demands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
}

impl Ty {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Ty::Object => "object",
            Ty::Array => "array",
            Ty::String => "string",
            Ty::Integer => "integer",
            Ty::Number => "number",
            Ty::Boolean => "boolean",
        }
    }
}

/// What an object node says about keys it does not list in `properties`.
#[derive(Debug, Clone, Default)]
pub(crate) enum Additional {
    /// Not given: unlisted keys are unknown (unless the node preserves unknown fields).
    #[default]
    Absent,
    /// `additionalProperties: true`.
    Any,
    /// `additionalProperties: false`.
    Deny,
    /// `additionalProperties: {schema}`: every key is allowed, its value checked.
    Schema(Box<Schema>),
}

/// A compiled regular expression with the source text kube-apiserver quotes in its messages.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pub(crate) source: String,
    pub(crate) regex: Arc<Regex>,
}

/// One schema node.
#[derive(Debug, Clone, Default)]
pub(crate) struct Schema {
    pub(crate) ty: Option<Ty>,
    pub(crate) nullable: bool,
    pub(crate) int_or_string: bool,
    pub(crate) preserve_unknown: bool,
    pub(crate) embedded: bool,
    /// `int32` or `int64` (other formats are not checked).
    pub(crate) int_bits: Option<u32>,
    pub(crate) properties: BTreeMap<String, Schema>,
    pub(crate) additional: Additional,
    pub(crate) items: Option<Box<Schema>>,
    pub(crate) required: Vec<String>,
    pub(crate) enumeration: Vec<Value>,
    pub(crate) min_length: Option<u64>,
    pub(crate) max_length: Option<u64>,
    pub(crate) pattern: Option<Pattern>,
    pub(crate) minimum: Option<f64>,
    pub(crate) maximum: Option<f64>,
    pub(crate) exclusive_minimum: bool,
    pub(crate) exclusive_maximum: bool,
    pub(crate) multiple_of: Option<f64>,
    pub(crate) min_items: Option<u64>,
    pub(crate) max_items: Option<u64>,
    pub(crate) unique_items: bool,
    pub(crate) min_properties: Option<u64>,
    pub(crate) max_properties: Option<u64>,
    pub(crate) all_of: Vec<Schema>,
    pub(crate) any_of: Vec<Schema>,
    pub(crate) one_of: Vec<Schema>,
    pub(crate) not: Option<Box<Schema>>,
    pub(crate) default: Option<Value>,
}

impl Schema {
    /// Whether an object node keeps keys it does not list.
    pub(crate) fn keeps_unknown(&self) -> bool {
        self.preserve_unknown || matches!(self.additional, Additional::Any)
    }
}

/// Turns JSON schema documents into [`Schema`]s, sharing compiled patterns.
#[derive(Debug, Default)]
pub(crate) struct Compiler {
    regexes: HashMap<String, Option<Arc<Regex>>>,
    /// Patterns regex-lite could not compile (they are not checked).
    pub(crate) bad_patterns: Vec<String>,
    /// Swagger `definitions`, when compiling a Swagger document.
    definitions: Option<Arc<serde_json::Map<String, Value>>>,
    resolved: HashMap<String, Schema>,
    expanding: Vec<String>,
}

impl Compiler {
    /// A compiler for the Swagger 2.0 document whose `definitions` are given: `$ref`s resolve to
    /// them, every node is nullable (Go's decoder takes null for any field of a built-in type),
    /// free-form objects keep their contents, and `default`s are dropped (built-in types are
    /// defaulted in Go code, not from OpenAPI).
    pub(crate) fn swagger(definitions: serde_json::Map<String, Value>) -> Compiler {
        Compiler { definitions: Some(Arc::new(definitions)), ..Compiler::default() }
    }

    /// Compiles the Swagger definition `name`.
    pub(crate) fn definition(&mut self, name: &str) -> Option<Schema> {
        let found = self.definitions.as_ref()?.contains_key(name);
        found.then(|| self.resolve(name))
    }

    fn resolve(&mut self, name: &str) -> Schema {
        if let Some(done) = self.resolved.get(name) {
            return done.clone();
        }
        match name {
            "io.k8s.apimachinery.pkg.api.resource.Quantity"
            | "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => {
                return Schema { int_or_string: true, nullable: true, ..Schema::default() };
            }
            _ => {}
        }
        let definition = self.definitions.as_ref().and_then(|d| d.get(name)).cloned();
        let Some(definition) = definition else {
            // An undefined target: anything goes.
            return Schema { preserve_unknown: true, nullable: true, ..Schema::default() };
        };
        if self.expanding.iter().any(|n| n == name) {
            // A recursive type: stop expanding here and accept anything below.
            return Schema { preserve_unknown: true, nullable: true, ..Schema::default() };
        }
        self.expanding.push(name.to_owned());
        let schema = self.compile(&definition);
        self.expanding.pop();
        self.resolved.insert(name.to_owned(), schema.clone());
        schema
    }

    /// Compiles one schema node and everything below it.
    pub(crate) fn compile(&mut self, node: &Value) -> Schema {
        let Some(map) = node.as_object() else { return Schema::default() };
        let swagger = self.definitions.is_some();
        if swagger && let Some(target) = map.get("$ref").and_then(Value::as_str) {
            return self.resolve(target.trim_start_matches("#/definitions/"));
        }
        let flag = |key: &str| map.get(key).and_then(Value::as_bool).unwrap_or(false);
        let uint = |key: &str| map.get(key).and_then(Value::as_u64);
        let float = |key: &str| map.get(key).and_then(Value::as_f64);
        let ty = match map.get("type").and_then(Value::as_str) {
            Some("object") => Some(Ty::Object),
            Some("array") => Some(Ty::Array),
            Some("string") => Some(Ty::String),
            Some("integer") => Some(Ty::Integer),
            Some("number") => Some(Ty::Number),
            Some("boolean") => Some(Ty::Boolean),
            _ => None,
        };
        let format = map.get("format").and_then(Value::as_str);
        let mut schema = Schema {
            ty,
            nullable: swagger || flag("nullable"),
            int_or_string: flag("x-kubernetes-int-or-string") || format == Some("int-or-string"),
            preserve_unknown: flag("x-kubernetes-preserve-unknown-fields"),
            embedded: flag("x-kubernetes-embedded-resource"),
            int_bits: match (ty, format) {
                (Some(Ty::Integer), Some("int32")) => Some(32),
                (Some(Ty::Integer), Some("int64")) => Some(64),
                _ => None,
            },
            required: strings(map.get("required")),
            enumeration: map.get("enum").and_then(Value::as_array).cloned().unwrap_or_default(),
            min_length: uint("minLength"),
            max_length: uint("maxLength"),
            minimum: float("minimum"),
            maximum: float("maximum"),
            exclusive_minimum: flag("exclusiveMinimum"),
            exclusive_maximum: flag("exclusiveMaximum"),
            multiple_of: float("multipleOf").filter(|m| *m > 0.0),
            min_items: uint("minItems"),
            max_items: uint("maxItems"),
            unique_items: flag("uniqueItems"),
            min_properties: uint("minProperties"),
            max_properties: uint("maxProperties"),
            default: if swagger { None } else { map.get("default").cloned() },
            ..Schema::default()
        };
        if let Some(source) = map.get("pattern").and_then(Value::as_str) {
            schema.pattern = self.pattern(source);
        }
        if let Some(properties) = map.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                let compiled = self.compile(property);
                schema.properties.insert(name.clone(), compiled);
            }
        }
        schema.additional = match map.get("additionalProperties") {
            Some(Value::Bool(true)) => Additional::Any,
            Some(Value::Bool(false)) => Additional::Deny,
            Some(node @ Value::Object(_)) => Additional::Schema(Box::new(self.compile(node))),
            _ => Additional::Absent,
        };
        match map.get("items") {
            Some(node @ Value::Object(_)) => schema.items = Some(Box::new(self.compile(node))),
            // Tuple form (not allowed in CRDs): check the first schema against every item.
            Some(Value::Array(list)) => schema.items = list.first().map(|n| Box::new(self.compile(n))),
            _ => {}
        }
        schema.all_of = self.list(map.get("allOf"));
        schema.any_of = self.list(map.get("anyOf"));
        schema.one_of = self.list(map.get("oneOf"));
        schema.not = map.get("not").map(|n| Box::new(self.compile(n)));
        let free_form = schema.properties.is_empty() && matches!(schema.additional, Additional::Absent);
        if swagger && free_form && matches!(schema.ty, Some(Ty::Object) | None) {
            // In plain OpenAPI an object without properties takes anything.
            schema.preserve_unknown = true;
        }
        schema
    }

    fn list(&mut self, node: Option<&Value>) -> Vec<Schema> {
        let items = node.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        items.iter().map(|n| self.compile(n)).collect()
    }

    fn pattern(&mut self, source: &str) -> Option<Pattern> {
        let regex = self
            .regexes
            .entry(source.to_owned())
            .or_insert_with(|| {
                Regex::new(source).or_else(|_| Regex::new(&unescape(source))).ok().map(Arc::new)
            })
            .clone();
        if regex.is_none() && !self.bad_patterns.iter().any(|p| p == source) {
            self.bad_patterns.push(source.to_owned());
        }
        regex.map(|regex| Pattern { source: source.to_owned(), regex })
    }
}

/// ECMA-262 patterns may escape characters that need no escape (`\/`); RE2 and regex-lite may not.
fn unescape(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            (
                '\\',
                Some(
                    next @ ('/' | '"' | '\'' | '@' | '#' | '%' | '&' | ':' | ';' | '<' | '>' | '=' | '!'
                    | ',' | '`' | '~'),
                ),
            ) => {
                out.push(next);
                chars.next();
            }
            ('\\', Some(next)) => {
                out.push(c);
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

fn strings(node: Option<&Value>) -> Vec<String> {
    let items = node.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    items.iter().filter_map(Value::as_str).map(str::to_owned).collect()
}
