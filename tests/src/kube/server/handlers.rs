//! The resource verbs: list, get, create, replace, delete, deletecollection and pods/log, with
//! the checks and validation every write goes through.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{
    body::Bytes,
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    ServerState,
    discovery::Resource,
    select::Selector,
    status::{ApiError, ApiResult, add_warnings, json_response},
};
use crate::{
    kube::store::{StoreError, name_of, now, rv_of},
    schema::FieldValidation,
};

/// The pod annotation served as `pods/{name}/log`.
pub(crate) const LOG_ANNOTATION: &str = "okd-tests/log";

/// One request to a resource.
#[derive(Debug)]
pub(crate) struct Call {
    pub state: Arc<ServerState>,
    pub res: Resource,
    /// `None`: across namespaces; `Some("")`: cluster-scoped.
    pub namespace: Option<String>,
    /// The object's name (empty for collections).
    pub name: String,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Call {
    pub fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }

    pub fn param(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    /// A boolean query parameter (`true` or `1`).
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.param(key), Some("true" | "1"))
    }

    pub fn dry_run(&self) -> bool {
        self.param("dryRun") == Some("All")
    }

    pub fn selector(&self) -> Result<Selector, ApiError> {
        Selector::parse(self.param("labelSelector"), self.param("fieldSelector"))
    }

    pub fn current(&self) -> ApiResult<Value> {
        let store = &self.state.store;
        store
            .get(&self.res.gvr(), self.ns(), &self.name)
            .ok_or_else(|| ApiError::not_found(&self.res, &self.name))
    }

    pub fn store_error(&self, error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound => ApiError::not_found(&self.res, &self.name),
            StoreError::AlreadyExists => ApiError::already_exists(&self.res, &self.name),
            StoreError::Conflict { .. } => ApiError::conflict(&self.res, &self.name),
        }
    }

    /// The object as served: apiVersion and kind filled in when the store lacks them, and no
    /// namespace for a cluster-scoped object.
    pub fn typed(&self, mut object: Value) -> Value {
        if let Some(map) = object.as_object_mut() {
            map.entry("apiVersion").or_insert_with(|| json!(self.res.api_version()));
            map.entry("kind").or_insert_with(|| json!(self.res.kind));
            if !self.res.namespaced
                && let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut)
            {
                meta.remove("namespace");
            }
        }
        object
    }

    /// A JSON response with the object and a Warning header per warning.
    pub fn respond(&self, code: u16, object: Value, warnings: &[String]) -> Response {
        let mut response = json_response(code, &self.typed(object));
        add_warnings(&mut response, warnings);
        response
    }

    /// Checks apiVersion, kind and namespace of a body against the URL, filling them when empty.
    pub fn check_identity(&self, object: &mut Value) -> ApiResult<()> {
        let Some(map) = object.as_object_mut() else {
            return Err(ApiError::bad_request("the request body is not a JSON object"));
        };
        let expected =
            [("apiVersion", "API version", self.res.api_version()), ("kind", "kind", self.res.kind.clone())];
        for (field, what, want) in expected {
            let found = map.get(field).and_then(Value::as_str).unwrap_or_default().to_owned();
            if found.is_empty() {
                map.insert(field.into(), json!(want));
            } else if found != want {
                return Err(ApiError::bad_request(format!(
                    "the {what} in the data ({found}) does not match the expected {what} ({want})"
                )));
            }
        }
        if !map.get("metadata").is_some_and(Value::is_object) {
            map.insert("metadata".into(), json!({}));
        }
        let meta = map.get_mut("metadata").and_then(Value::as_object_mut).expect("metadata is an object");
        let body_ns = meta.get("namespace").and_then(Value::as_str).unwrap_or_default();
        if self.res.namespaced && !body_ns.is_empty() && body_ns != self.ns() {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        if self.res.namespaced {
            meta.insert("namespace".into(), json!(self.ns()));
        } else {
            meta.remove("namespace");
        }
        Ok(())
    }

    /// Checks a body's name against the URL's, filling it when empty.
    pub fn check_name(&self, object: &mut Value) -> ApiResult<()> {
        match name_of(object).as_str() {
            "" => object["metadata"]["name"] = json!(self.name),
            name if name != self.name => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({name}) does not match the name on the URL ({})",
                    self.name
                )));
            }
            _ => {}
        }
        Ok(())
    }

    /// Defaults, then validates (and outside Strict prunes) against the schemas: the warnings,
    /// or 422.
    pub fn validate(&self, object: &mut Value) -> ApiResult<Vec<String>> {
        let mode = match self.param("fieldValidation") {
            None | Some("") | Some("Warn") => FieldValidation::Warn,
            Some("Strict") => FieldValidation::Strict,
            Some("Ignore") => FieldValidation::Ignore,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "fieldValidation parameter unsupported: {other:?}: must be Ignore, Warn or Strict"
                )));
            }
        };
        let Some(schemas) = &self.state.schemas else { return Ok(Vec::new()) };
        let res = &self.res;
        schemas.apply_defaults(&res.group, &res.version, &res.kind, object);
        schemas
            .validate(&res.group, &res.version, &res.kind, object, mode)
            .map_err(|problems| ApiError::invalid(res, &name_of(object), &problems))
    }

    /// Writes `object` over the stored one (its identity comes from the store): the main
    /// resource, or with `status_only` just its status. Without a status subresource the status
    /// is part of the main resource, written as a second change when it differs.
    pub fn write(
        &self,
        mut object: Value,
        expected: Option<u64>,
        status_only: bool,
    ) -> Result<Value, StoreError> {
        let (store, gvr, ns) = (&self.state.store, self.res.gvr(), self.ns());
        if status_only || self.res.status {
            if !status_only && let Some(map) = object.as_object_mut() {
                // The store keeps a stored status, but takes this one when it has none.
                map.remove("status");
            }
            return store.replace(&gvr, ns, &self.name, object, expected, status_only);
        }
        let status = object.get("status").cloned();
        let written = store.replace(&gvr, ns, &self.name, object, expected, false)?;
        if written.get("status") == status.as_ref() {
            return Ok(written);
        }
        let mut with_status = written.clone();
        with_status["status"] = status.unwrap_or(Value::Null);
        store.replace(&gvr, ns, &self.name, with_status, Some(rv_of(&written)), true)
    }

    /// What a dry-run write would return: the stored identity over `object`.
    pub fn dry_run_result(&self, current: &Value, mut object: Value, status_only: bool) -> Value {
        if status_only {
            let mut kept = current.clone();
            kept["status"] = object.get("status").cloned().unwrap_or(Value::Null);
            return kept;
        }
        for key in ["uid", "creationTimestamp", "resourceVersion", "generation", "namespace", "name"] {
            if let Some(v) = current["metadata"].get(key) {
                object["metadata"][key] = v.clone();
            }
        }
        if self.res.status {
            object["status"] = current.get("status").cloned().unwrap_or(Value::Null);
        }
        object
    }
}

pub(crate) fn parse_json(body: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
}

fn list_body(call: &Call, items: Vec<Value>, rv: u64) -> Value {
    let items: Vec<Value> = items.into_iter().map(|o| call.typed(o)).collect();
    json!({
        "apiVersion": call.res.api_version(),
        "kind": format!("{}List", call.res.kind),
        "metadata": {"resourceVersion": rv.to_string()},
        "items": items,
    })
}

pub(crate) fn list(call: &Call) -> ApiResult {
    let selector = call.selector()?;
    let (items, rv) = call.state.store.list(&call.res.gvr(), call.namespace.as_deref());
    let items = items.into_iter().filter(|o| selector.matches(o)).collect();
    Ok(json_response(200, &list_body(call, items, rv)))
}

pub(crate) fn get(call: &Call) -> ApiResult {
    Ok(call.respond(200, call.current()?, &[]))
}

pub(crate) fn create(call: &Call) -> ApiResult {
    let mut object = parse_json(&call.body)?;
    call.check_identity(&mut object)?;
    create_object(call, object)
}

/// Creates an object whose apiVersion, kind and namespace have been checked (also SSA's
/// create-when-missing): generateName, name checks, validation, dryRun.
pub(crate) fn create_object(call: &Call, mut object: Value) -> ApiResult {
    if let Some(meta) = object["metadata"].as_object_mut() {
        for key in ["resourceVersion", "uid", "creationTimestamp", "generation", "deletionTimestamp"] {
            meta.remove(key);
        }
    }
    if call.res.status
        && let Some(map) = object.as_object_mut()
    {
        // As the real server: a resource with a status subresource starts without status.
        map.remove("status");
    }
    let prefix = object["metadata"]["generateName"].as_str().unwrap_or_default().to_owned();
    let generate = name_of(&object).is_empty() && !prefix.is_empty();
    let mut name = name_of(&object);
    for _attempt in 0..8 {
        if generate {
            name = format!("{prefix}{}", random_suffix());
            object["metadata"]["name"] = json!(name);
        }
        let invalid = |problem: String| ApiError::invalid(&call.res, &name, &[problem]);
        if name.is_empty() {
            return Err(invalid("metadata.name: Required value: name or generateName is required".into()));
        }
        if let Some(problem) = name_problem(&name) {
            return Err(invalid(format!("metadata.name: Invalid value: {name:?}: {problem}")));
        }
        let warnings = call.validate(&mut object)?;
        if call.dry_run() {
            object["metadata"]["creationTimestamp"] = json!(now());
            return Ok(call.respond(201, object, &warnings));
        }
        match call.state.store.create(&call.res.gvr(), call.ns(), object.clone()) {
            Ok(created) => return Ok(call.respond(201, created, &warnings)),
            Err(StoreError::AlreadyExists) if generate => continue,
            Err(StoreError::AlreadyExists) => return Err(ApiError::already_exists(&call.res, &name)),
            Err(other) => return Err(call.store_error(other)),
        }
    }
    Err(ApiError::already_exists(&call.res, &name))
}

/// Why `name` is not a DNS-1123 subdomain, if it is not.
fn name_problem(name: &str) -> Option<&'static str> {
    let valid_chars =
        name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if name.len() > 253 {
        Some("must be no more than 253 characters")
    } else if !valid_chars || !alnum(name.chars().next()) || !alnum(name.chars().last()) {
        Some(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or \
             '.', and must start and end with an alphanumeric character",
        )
    } else {
        None
    }
}

/// Five characters as the real server's generateName uses.
fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    static STATE: AtomicU64 = AtomicU64::new(0);
    let seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    // splitmix64 over a counter mixed with the clock.
    let mut x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed).wrapping_add(seed);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (0..5).map(|i| ALPHABET[((x >> (i * 8)) % ALPHABET.len() as u64) as usize] as char).collect()
}

/// PUT: optimistic concurrency when the body carries a resourceVersion (which custom resources
/// require).
pub(crate) fn replace(call: &Call, status_only: bool) -> ApiResult {
    let mut object = parse_json(&call.body)?;
    call.check_identity(&mut object)?;
    call.check_name(&mut object)?;
    let current = call.current()?;
    let expected = match object["metadata"]["resourceVersion"].as_str().unwrap_or_default() {
        "" => None,
        rv => Some(rv.parse().map_err(|_| ApiError::conflict(&call.res, &call.name))?),
    };
    if expected.is_none() && !call.res.is_core() {
        // As for custom resources on kube-apiserver: no unconditional updates.
        let problem = "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update";
        return Err(ApiError::invalid(&call.res, &call.name, &[problem.to_owned()]));
    }
    if status_only {
        // Validate the object as it will be: the stored one with this status.
        let mut whole = current.clone();
        whole["status"] = object.get("status").cloned().unwrap_or(Value::Null);
        object = whole;
    }
    let warnings = call.validate(&mut object)?;
    if call.dry_run() {
        if expected.is_some_and(|rv| rv != rv_of(&current)) {
            return Err(ApiError::conflict(&call.res, &call.name));
        }
        return Ok(call.respond(200, call.dry_run_result(&current, object, status_only), &warnings));
    }
    let written = call.write(object, expected, status_only).map_err(|e| call.store_error(e))?;
    Ok(call.respond(200, written, &warnings))
}

/// DELETE: the deleted object (finalizers are not modelled: deletion is immediate).
pub(crate) fn delete(call: &Call) -> ApiResult {
    let current = call.current()?;
    if !call.body.is_empty() {
        let options = parse_json(&call.body)?;
        let preconditions = &options["preconditions"];
        let failed = |key: &str, actual: &str| {
            preconditions[key].as_str().is_some_and(|want| !want.is_empty() && want != actual)
        };
        let (uid, rv) =
            (current["metadata"]["uid"].as_str().unwrap_or_default(), rv_of(&current).to_string());
        if failed("uid", uid) || failed("resourceVersion", &rv) {
            return Err(ApiError::conflict(&call.res, &call.name));
        }
    }
    if call.dry_run() {
        return Ok(call.respond(200, current, &[]));
    }
    let deleted =
        call.state.store.delete(&call.res.gvr(), call.ns(), &call.name).map_err(|e| call.store_error(e))?;
    Ok(call.respond(200, deleted, &[]))
}

/// DELETE on a collection: every object matching the selectors; the list of them.
pub(crate) fn delete_collection(call: &Call) -> ApiResult {
    let selector = call.selector()?;
    let (store, gvr) = (&call.state.store, call.res.gvr());
    let (items, _) = store.list(&gvr, call.namespace.as_deref());
    let mut deleted = Vec::new();
    for object in items.iter().filter(|o| selector.matches(o)) {
        let ns = object["metadata"]["namespace"].as_str().unwrap_or_default();
        if call.dry_run() {
            deleted.push(object.clone());
        } else if let Ok(gone) = store.delete(&gvr, ns, &name_of(object)) {
            deleted.push(gone);
        }
    }
    Ok(json_response(200, &list_body(call, deleted, store.resource_version())))
}

/// GET pods/{name}/log: the pod's `okd-tests/log` annotation as text (`tailLines` honoured).
pub(crate) fn log(call: &Call) -> ApiResult {
    let pod = call.current()?;
    let text = pod["metadata"]["annotations"][LOG_ANNOTATION].as_str().unwrap_or_default();
    let text = match call.param("tailLines").and_then(|n| n.parse::<usize>().ok()) {
        Some(n) => {
            let lines: Vec<&str> = text.lines().collect();
            let mut tail = lines[lines.len().saturating_sub(n)..].join("\n");
            if !tail.is_empty() && text.ends_with('\n') {
                tail.push('\n');
            }
            tail
        }
        None => text.to_owned(),
    };
    let mut response = text.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(response)
}
