//! PATCH: merge (RFC 7386), JSON (RFC 6902), strategic merge (core kinds only, as a merge
//! patch) and server-side apply (simplified: the applied configuration is merged as a merge
//! patch; no field ownership, so no apply conflicts and `force` changes nothing).

use serde_json::{Value, json};

use super::{
    handlers::{Call, create_object, parse_json},
    status::{ApiError, ApiResult},
};
use crate::kube::store::{StoreError, rv_of};

/// How often a patch is re-applied when the object changed between read and write.
const ATTEMPTS: usize = 5;

#[derive(Debug)]
enum PatchDoc {
    Merge(Value),
    Json(json_patch::Patch),
    Apply(Value),
}

pub(crate) fn patch(call: &Call, status_only: bool) -> ApiResult {
    let content_type =
        call.headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let doc = match media.as_str() {
        "application/merge-patch+json" => PatchDoc::Merge(parse_json(&call.body)?),
        "application/strategic-merge-patch+json" if call.res.is_core() => {
            PatchDoc::Merge(parse_json(&call.body)?)
        }
        "application/json-patch+json" => PatchDoc::Json(
            serde_json::from_slice(&call.body)
                .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?,
        ),
        "application/apply-patch+yaml" => PatchDoc::Apply(applied_config(call)?),
        _ => return Err(ApiError::unsupported_media_type(content_type)),
    };
    for _attempt in 0..ATTEMPTS {
        let current = match (call.state.store.get(&call.res.gvr(), call.ns(), &call.name), &doc) {
            // Objects the store got directly may lack apiVersion and kind; patches see them.
            (Some(current), _) => call.typed(current),
            (None, PatchDoc::Apply(applied)) if !status_only => return create_object(call, applied.clone()),
            (None, _) => return Err(ApiError::not_found(&call.res, &call.name)),
        };
        let mut object = current.clone();
        match &doc {
            PatchDoc::Merge(patch) | PatchDoc::Apply(patch) => json_patch::merge(&mut object, patch),
            PatchDoc::Json(patch) => json_patch::patch(&mut object, patch).map_err(|e| {
                ApiError::new(422, "Invalid", format!("the JSON patch could not be applied: {e}"))
            })?,
        }
        match write_patched(call, &current, object, status_only) {
            Err(Retry) => continue,
            Ok(result) => return result,
        }
    }
    Err(ApiError::conflict(&call.res, &call.name))
}

/// The object changed between read and write: patch it again.
#[derive(Debug)]
struct Retry;

fn write_patched(
    call: &Call,
    current: &Value,
    mut object: Value,
    status_only: bool,
) -> Result<ApiResult, Retry> {
    let checked = (|| {
        if object["apiVersion"] != current["apiVersion"] || object["kind"] != current["kind"] {
            return Err(ApiError::bad_request("a patch may not change apiVersion or kind"));
        }
        if object["metadata"]["name"] != current["metadata"]["name"]
            || object["metadata"]["namespace"] != current["metadata"]["namespace"]
        {
            return Err(ApiError::invalid(
                &call.res,
                &call.name,
                &["metadata.name: Invalid value: field is immutable".to_owned()],
            ));
        }
        call.check_identity(&mut object)?;
        call.validate(&mut object)
    })();
    let warnings = match checked {
        Ok(warnings) => warnings,
        Err(error) => return Ok(Err(error)),
    };
    // A resourceVersion the patch set is a precondition; otherwise guard against a change
    // since the read, and re-apply the patch when there was one.
    let current_rv = rv_of(current);
    let explicit = match object["metadata"]["resourceVersion"].as_str() {
        Some(rv) if !rv.is_empty() && rv != current_rv.to_string() => Some(rv.parse().unwrap_or(0)),
        _ => None,
    };
    if call.dry_run() {
        if explicit.is_some() {
            return Ok(Err(ApiError::conflict(&call.res, &call.name)));
        }
        return Ok(Ok(call.respond(200, call.dry_run_result(current, object, status_only), &warnings)));
    }
    match call.write(object, Some(explicit.unwrap_or(current_rv)), status_only) {
        Ok(written) => Ok(Ok(call.respond(200, written, &warnings))),
        Err(StoreError::Conflict { .. }) if explicit.is_none() => Err(Retry),
        Err(error) => Ok(Err(call.store_error(error))),
    }
}

/// The body of a server-side apply: YAML (or JSON), with apiVersion and kind matching the URL
/// and `fieldManager` set.
fn applied_config(call: &Call) -> ApiResult<Value> {
    if call.param("fieldManager").is_none_or(str::is_empty) {
        return Err(ApiError::new(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        )
        .with_cause("fieldManager", "Required value: is required for apply patch"));
    }
    let text = std::str::from_utf8(&call.body).map_err(|_| ApiError::bad_request("the body is not UTF-8"))?;
    let mut applied: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(_) => serde_saphyr::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("the apply configuration is not valid YAML: {e}")))?,
    };
    let (api_version, kind) = (applied["apiVersion"].as_str(), applied["kind"].as_str());
    if api_version.is_none_or(str::is_empty) || kind.is_none_or(str::is_empty) {
        return Err(ApiError::bad_request("an apply configuration must set apiVersion and kind"));
    }
    call.check_identity(&mut applied)?;
    call.check_name(&mut applied)?;
    Ok(applied)
}

impl ApiError {
    fn with_cause(mut self, field: &str, message: &str) -> Self {
        self.details =
            Some(json!({"causes": [{"reason": "FieldValueRequired", "message": message, "field": field}]}));
        self
    }
}
