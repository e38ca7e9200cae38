//! `metadata`: ObjectMeta's fields and the name, namespace, label and annotation rules
//! kube-apiserver applies to every object (`apimachinery/pkg/api/validation/objectmeta.go`).

use std::sync::LazyLock;

use serde_json::{Map, Value, json};

use super::compile::{Compiler, Schema};

const DNS1123_SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric \
characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex \
used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters \
or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used \
for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_NAME: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and \
end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for \
validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE: &str = "a valid label must be an empty string or consist of alphanumeric characters, \
'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  \
or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
/// kube-apiserver's limit on the total size of an object's annotations.
const ANNOTATIONS_MAX: usize = 256 * 1024;

/// ObjectMeta as a structural schema: its fields are the only ones `metadata` may hold.
pub(crate) static OBJECT_META: LazyLock<Schema> = LazyLock::new(|| {
    let string = json!({"type": "string"});
    let integer = json!({"type": "integer", "format": "int64"});
    let time = json!({"type": "string", "nullable": true});
    let string_map = json!({"type": "object", "additionalProperties": {"type": "string"}});
    let meta = json!({
        "type": "object",
        "properties": {
            "name": string, "generateName": string, "namespace": string, "selfLink": string,
            "uid": string, "resourceVersion": string, "generation": integer,
            "creationTimestamp": time, "deletionTimestamp": time,
            "deletionGracePeriodSeconds": integer,
            "labels": string_map, "annotations": string_map,
            "finalizers": {"type": "array", "items": string},
            "ownerReferences": {"type": "array", "items": {
                "type": "object",
                "required": ["apiVersion", "kind", "name", "uid"],
                "properties": {
                    "apiVersion": string, "kind": string, "name": string, "uid": string,
                    "controller": {"type": "boolean"}, "blockOwnerDeletion": {"type": "boolean"},
                },
            }},
            "managedFields": {"type": "array", "items": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": true,
            }},
        },
    });
    Compiler::default().compile(&meta)
});

/// The checks beyond types: the name (required at the top level, not in embedded objects),
/// namespace, labels and annotations. `path` is the path of the metadata map.
pub(crate) fn check(meta: &Map<String, Value>, path: &str, top_level: bool, errors: &mut Vec<String>) {
    let name = meta.get("name").and_then(Value::as_str).filter(|n| !n.is_empty());
    let generate_name = meta.get("generateName").and_then(Value::as_str).filter(|n| !n.is_empty());
    match (name, generate_name) {
        (Some(name), _) => {
            for problem in dns1123_subdomain(name) {
                errors.push(format!("{path}.name: Invalid value: {}: {problem}", quote(name)));
            }
        }
        (None, Some(prefix)) => {
            // kube-apiserver checks the prefix with a trailing dash masked, as the random suffix
            // follows it.
            let masked = match prefix.strip_suffix('-') {
                Some(rest) => format!("{rest}a"),
                None => prefix.to_owned(),
            };
            for problem in dns1123_subdomain(&masked) {
                errors.push(format!("{path}.generateName: Invalid value: {}: {problem}", quote(prefix)));
            }
        }
        (None, None) if top_level => {
            errors.push(format!("{path}.name: Required value: name or generateName is required"));
        }
        (None, None) => {}
    }
    if let Some(namespace) = meta.get("namespace").and_then(Value::as_str).filter(|n| !n.is_empty()) {
        for problem in dns1123_label(namespace) {
            errors.push(format!("{path}.namespace: Invalid value: {}: {problem}", quote(namespace)));
        }
    }
    if let Some(labels) = meta.get("labels").and_then(Value::as_object) {
        for (key, value) in labels {
            for problem in qualified_name(key) {
                errors.push(format!("{path}.labels: Invalid value: {}: {problem}", quote(key)));
            }
            let Some(value) = value.as_str() else { continue };
            for problem in label_value(value) {
                errors.push(format!("{path}.labels: Invalid value: {}: {problem}", quote(value)));
            }
        }
    }
    if let Some(annotations) = meta.get("annotations").and_then(Value::as_object) {
        let mut size = 0;
        for (key, value) in annotations {
            size += key.len() + value.as_str().map_or(0, str::len);
            for problem in qualified_name(&key.to_lowercase()) {
                errors.push(format!("{path}.annotations: Invalid value: {}: {problem}", quote(key)));
            }
        }
        if size > ANNOTATIONS_MAX {
            errors.push(format!("{path}.annotations: Too long: must have at most {ANNOTATIONS_MAX} bytes"));
        }
    }
}

/// A JSON string literal, as Go's `%q` prints most strings.
pub(crate) fn quote(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// Problems with `s` as a DNS-1123 subdomain (at most 253 characters).
pub(crate) fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if s.len() > 253 {
        problems.push("must be no more than 253 characters".to_owned());
    }
    if s.is_empty() || !s.split('.').all(is_label) {
        problems.push(DNS1123_SUBDOMAIN.to_owned());
    }
    problems
}

/// Problems with `s` as a DNS-1123 label (at most 63 characters).
pub(crate) fn dns1123_label(s: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if s.len() > 63 {
        problems.push("must be no more than 63 characters".to_owned());
    }
    if !is_label(s) {
        problems.push(DNS1123_LABEL.to_owned());
    }
    problems
}

fn is_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
        && bytes.iter().all(|b| edge(b) || *b == b'-')
}

fn is_name_part(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Problems with `s` as a qualified name (`[prefix/]name`), the form of label and annotation keys.
fn qualified_name(s: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let parts: Vec<&str> = s.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                problems.push("prefix part must be non-empty".to_owned());
            } else {
                problems.extend(dns1123_subdomain(prefix).into_iter().map(|p| format!("prefix part {p}")));
            }
            *name
        }
        _ => {
            problems.push(format!(
                "a qualified name {QUALIFIED_NAME} with an optional DNS subdomain prefix and '/' (e.g. \
                 'example.com/MyName')"
            ));
            return problems;
        }
    };
    if name.is_empty() {
        problems.push("name part must be non-empty".to_owned());
    } else if name.len() > 63 {
        problems.push("name part must be no more than 63 characters".to_owned());
    }
    if !name.is_empty() && !is_name_part(name) {
        problems.push(format!("name part {QUALIFIED_NAME}"));
    }
    problems
}

fn label_value(s: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if s.len() > 63 {
        problems.push("must be no more than 63 characters".to_owned());
    }
    if !s.is_empty() && !is_name_part(s) {
        problems.push(LABEL_VALUE.to_owned());
    }
    problems
}
