//! Walking an object against a [`Schema`]: pruning unknown fields (structural pruning), value
//! validation and defaulting, as `k8s.io/apiextensions-apiserver` does. Messages follow
//! kube-apiserver's (`field.Error` around kube-openapi's validation messages).

use std::sync::LazyLock;

use serde_json::{Number, Value};

use super::{
    compile::{Additional, Schema, Ty},
    meta::{self, OBJECT_META, quote},
};

/// The schema of a node nothing is known about: an object under it keeps no field.
static EMPTY: LazyLock<Schema> = LazyLock::new(Schema::default);

/// `parent.key` (or `key` at the root).
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

/// Records in `unknown` the path of every field of `value` that `schema` does not know and,
/// when `remove`, deletes it. `keep` says the parent array preserves unknown fields (kube's
/// `skipPrune` passes that down one level).
pub(crate) fn prune(
    schema: &Schema,
    value: &mut Value,
    path: &str,
    keep: bool,
    remove: bool,
    unknown: &mut Vec<String>,
) {
    let keep = keep || schema.keeps_unknown();
    match value {
        Value::Object(map) => {
            let mut dropped = Vec::new();
            for (key, child) in map.iter_mut() {
                let child_path = join(path, key);
                if schema.embedded && matches!(key.as_str(), "apiVersion" | "kind") {
                    continue;
                }
                if schema.embedded && key == "metadata" {
                    prune(&OBJECT_META, child, &child_path, false, remove, unknown);
                } else if let Some(property) = schema.properties.get(key) {
                    prune(property, child, &child_path, false, remove, unknown);
                } else if let Additional::Schema(additional) = &schema.additional {
                    prune(additional, child, &child_path, false, remove, unknown);
                } else if !keep {
                    unknown.push(child_path);
                    dropped.push(key.clone());
                }
            }
            if remove {
                for key in dropped {
                    map.remove(&key);
                }
            }
        }
        Value::Array(items) => {
            if keep && schema.items.is_none() {
                return;
            }
            let item_schema = schema.items.as_deref().unwrap_or(&EMPTY);
            for (i, item) in items.iter_mut().enumerate() {
                prune(item_schema, item, &format!("{path}[{i}]"), keep, remove, unknown);
            }
        }
        _ => {}
    }
}

/// Sets every missing property that has a `default` (and every null one that may not be null),
/// then descends, as kube-apiserver's structural defaulting does.
pub(crate) fn apply_defaults(schema: &Schema, value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, property) in &schema.properties {
                let Some(default) = &property.default else { continue };
                match map.get(key) {
                    None => {
                        map.insert(key.clone(), default.clone());
                    }
                    Some(Value::Null) if !property.nullable => {
                        map.insert(key.clone(), default.clone());
                    }
                    Some(_) => {}
                }
            }
            for (key, child) in map.iter_mut() {
                if let Some(property) = schema.properties.get(key) {
                    apply_defaults(property, child);
                } else if let Additional::Schema(additional) = &schema.additional {
                    apply_defaults(additional, child);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = &schema.items {
                items.iter_mut().for_each(|item| apply_defaults(item_schema, item));
            }
        }
        _ => {}
    }
}

/// Validates `value` against `schema` (types, required, enum, bounds, patterns, formats,
/// allOf/anyOf/oneOf/not), appending one message per problem. Unknown fields are not its
/// business (see [`prune`]).
pub(crate) fn check(schema: &Schema, value: &Value, path: &str, errors: &mut Vec<String>) {
    if value.is_null() && (schema.nullable || (schema.ty.is_none() && !schema.int_or_string)) {
        return;
    }
    if schema.int_or_string {
        if !(is_integer(value) || value.is_string()) {
            return type_error(path, value, "integer,string", errors);
        }
    } else if let Some(ty) = schema.ty
        && !has_type(value, ty)
    {
        return type_error(path, value, ty.name(), errors);
    }
    if let (Some(bits), Value::Number(n)) = (schema.int_bits, value)
        && !fits(n, bits)
    {
        errors.push(format!("{path}: Invalid value: {n}: {path} in body must be of type int{bits}: \"{n}\""));
    }
    if !schema.enumeration.is_empty() && !schema.enumeration.iter().any(|e| same(e, value)) {
        let supported: Vec<String> = schema
            .enumeration
            .iter()
            .map(|e| quote(&e.as_str().map_or_else(|| e.to_string(), str::to_owned)))
            .collect();
        errors.push(format!(
            "{path}: Unsupported value: {}: supported values: {}",
            display(value),
            supported.join(", ")
        ));
    }
    match value {
        Value::String(s) => check_string(schema, s, path, errors),
        Value::Number(n) => check_number(schema, n, path, errors),
        Value::Array(items) => {
            let len = items.len() as u64;
            if let Some(min) = schema.min_items.filter(|min| len < *min) {
                errors.push(format!(
                    "{path}: Invalid value: {len}: {path} in body should have at least {min} items"
                ));
            }
            if let Some(max) = schema.max_items.filter(|max| len > *max) {
                errors.push(format!("{path}: Too many: {len}: must have at most {max} items"));
            }
            if schema.unique_items
                && items.iter().enumerate().any(|(i, a)| items[..i].iter().any(|b| same(a, b)))
            {
                errors.push(format!(
                    "{path}: Invalid value: \"array\": {path} in body shouldn't contain duplicates"
                ));
            }
            if let Some(item_schema) = &schema.items {
                for (i, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{path}[{i}]"), errors);
                }
            }
        }
        Value::Object(map) => {
            for name in &schema.required {
                if !map.contains_key(name) {
                    errors.push(format!("{}: Required value", join(path, name)));
                }
            }
            let count = map.len() as u64;
            if let Some(min) = schema.min_properties.filter(|min| count < *min) {
                errors.push(format!(
                    "{path}: Invalid value: {count}: {path} in body should have at least {min} properties"
                ));
            }
            if let Some(max) = schema.max_properties.filter(|max| count > *max) {
                errors.push(format!("{path}: Too many: {count}: must have at most {max} items"));
            }
            for (key, child) in map {
                if schema.embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                if let Some(property) = schema.properties.get(key) {
                    check(property, child, &join(path, key), errors);
                } else if let Additional::Schema(additional) = &schema.additional {
                    check(additional, child, &join(path, key), errors);
                }
            }
            if schema.embedded {
                check_embedded(map, path, errors);
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
    check_combinators(schema, value, path, errors);
}

fn check_string(schema: &Schema, s: &str, path: &str, errors: &mut Vec<String>) {
    let chars = s.chars().count() as u64;
    if let Some(min) = schema.min_length.filter(|min| chars < *min) {
        errors.push(format!(
            "{path}: Invalid value: {}: {path} in body should be at least {min} chars long",
            quote(s)
        ));
    }
    if let Some(max) = schema.max_length.filter(|max| chars > *max) {
        errors.push(format!("{path}: Too long: may not be longer than {max}"));
    }
    if let Some(pattern) = &schema.pattern
        && !pattern.regex.is_match(s)
    {
        errors.push(format!(
            "{path}: Invalid value: {}: {path} in body should match '{}'",
            quote(s),
            pattern.source
        ));
    }
}

fn check_number(schema: &Schema, n: &Number, path: &str, errors: &mut Vec<String>) {
    let Some(x) = n.as_f64() else { return };
    if let Some(min) = schema.minimum {
        let (fails, words) = if schema.exclusive_minimum {
            (x <= min, "greater than")
        } else {
            (x < min, "greater than or equal to")
        };
        if fails {
            errors.push(format!("{path}: Invalid value: {n}: {path} in body should be {words} {min}"));
        }
    }
    if let Some(max) = schema.maximum {
        let (fails, words) = if schema.exclusive_maximum {
            (x >= max, "less than")
        } else {
            (x > max, "less than or equal to")
        };
        if fails {
            errors.push(format!("{path}: Invalid value: {n}: {path} in body should be {words} {max}"));
        }
    }
    if let Some(factor) = schema.multiple_of
        && (x / factor).fract() != 0.0
    {
        errors.push(format!("{path}: Invalid value: {n}: {path} in body should be a multiple of {factor}"));
    }
}

/// `x-kubernetes-embedded-resource`: apiVersion and kind are required, metadata is ObjectMeta.
fn check_embedded(map: &serde_json::Map<String, Value>, path: &str, errors: &mut Vec<String>) {
    for key in ["apiVersion", "kind"] {
        match map.get(key) {
            None => errors.push(format!("{}: Required value: must not be empty", join(path, key))),
            Some(value) if !value.is_string() => type_error(&join(path, key), value, "string", errors),
            Some(_) => {}
        }
    }
    if let Some(metadata) = map.get("metadata") {
        let meta_path = join(path, "metadata");
        check(&OBJECT_META, metadata, &meta_path, errors);
        if let Some(metadata) = metadata.as_object() {
            meta::check(metadata, &meta_path, false, errors);
        }
    }
}

fn check_combinators(schema: &Schema, value: &Value, path: &str, errors: &mut Vec<String>) {
    let run = |branch: &Schema| {
        let mut found = Vec::new();
        check(branch, value, path, &mut found);
        found
    };
    let combinator = |words: &str| format!("{path}: Invalid value: {}: {path} {words}", display_kind(value));
    if !schema.all_of.is_empty() {
        let results: Vec<Vec<String>> = schema.all_of.iter().map(run).collect();
        if results.iter().any(|r| !r.is_empty()) {
            errors.push(combinator("must validate all the schemas (allOf)"));
            errors.extend(results.into_iter().flatten());
        }
    }
    if !schema.any_of.is_empty() {
        let results: Vec<Vec<String>> = schema.any_of.iter().map(run).collect();
        if results.iter().all(|r| !r.is_empty()) {
            errors.push(combinator("must validate at least one schema (anyOf)"));
            errors.extend(results.into_iter().min_by_key(Vec::len).unwrap_or_default());
        }
    }
    if !schema.one_of.is_empty() {
        let results: Vec<Vec<String>> = schema.one_of.iter().map(run).collect();
        match results.iter().filter(|r| r.is_empty()).count() {
            1 => {}
            0 => {
                errors.push(combinator("must validate one and only one schema (oneOf)"));
                errors.extend(results.into_iter().min_by_key(Vec::len).unwrap_or_default());
            }
            _ => errors.push(combinator("must validate one and only one schema (oneOf)")),
        }
    }
    if let Some(not) = &schema.not
        && run(not).is_empty()
    {
        errors.push(combinator("must not validate the schema (not)"));
    }
}

fn type_error(path: &str, value: &Value, expected: &str, errors: &mut Vec<String>) {
    let actual = json_type(value);
    errors.push(format!(
        "{path}: Invalid value: \"{actual}\": {path} in body must be of type {expected}: \"{actual}\""
    ));
}

/// The JSON type name kube-openapi reports for a value.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) if is_integer(value) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_integer(value: &Value) -> bool {
    match value {
        Value::Number(n) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.is_finite() && f.fract() == 0.0)
        }
        _ => false,
    }
}

fn has_type(value: &Value, ty: Ty) -> bool {
    match ty {
        Ty::Object => value.is_object(),
        Ty::Array => value.is_array(),
        Ty::String => value.is_string(),
        Ty::Integer => is_integer(value),
        Ty::Number => value.is_number(),
        Ty::Boolean => value.is_boolean(),
    }
}

/// Whether `n` fits a signed integer of `bits` bits.
fn fits(n: &Number, bits: u32) -> bool {
    match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => bits == 64 || i32::try_from(i).is_ok(),
        (None, _) if n.is_u64() => false,
        (None, Some(f)) if bits == 32 => f >= f64::from(i32::MIN) && f <= f64::from(i32::MAX),
        // 2^63 is the first float past i64::MAX.
        (None, Some(f)) => f >= -(2f64.powi(63)) && f < 2f64.powi(63),
        (None, None) => false,
    }
}

/// JSON equality with numbers compared by value (1 equals 1.0).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// A value as kube-apiserver prints a bad value: strings quoted, scalars as they are.
fn display(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s),
        Value::Array(_) | Value::Object(_) => display_kind(value),
        other => other.to_string(),
    }
}

/// Compound values are named by their type, not printed whole.
fn display_kind(value: &Value) -> String {
    match value {
        Value::Array(_) | Value::Object(_) => format!("\"{}\"", json_type(value)),
        other => display(other),
    }
}
