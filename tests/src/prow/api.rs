//! Gangway's wire format as the JSON transcoder in front of it speaks it: gRPC-gateway error
//! bodies, enums by name or number, fields in snake_case or lowerCamelCase, and the request
//! checks of `CreateJobExecutionRequest.Validate` and `BulkJobStatusChangeRequest.Validate`.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

/// A gRPC-gateway error body with the gRPC code that maps to `status`.
pub(crate) fn grpc_error(status: StatusCode, message: &str) -> Response {
    let code = match status.as_u16() {
        400 => 3,
        401 => 16,
        403 => 7,
        404 => 5,
        409 => 6,
        429 => 8,
        500 => 13,
        501 => 12,
        502..=504 => 14,
        _ => 2,
    };
    (status, Json(json!({"code": code, "message": message, "details": []}))).into_response()
}

/// `JobExecutionType` names, by number.
pub(crate) const TYPES: [&str; 5] =
    ["JOB_EXECUTION_TYPE_UNSPECIFIED", "PERIODIC", "POSTSUBMIT", "PRESUBMIT", "BATCH"];
/// `JobExecutionStatus` names, by number.
pub(crate) const STATUSES: [&str; 8] = [
    "JOB_EXECUTION_STATUS_UNSPECIFIED",
    "TRIGGERED",
    "PENDING",
    "SUCCESS",
    "FAILURE",
    "ABORTED",
    "ERROR",
    "SCHEDULING",
];

/// Whether a `JobExecutionStatus` name is final.
pub(crate) fn is_final(status: &str) -> bool {
    matches!(status, "SUCCESS" | "FAILURE" | "ABORTED" | "ERROR")
}

/// An enum given as a name, a number or a numeric string.
pub(crate) fn parse_enum(value: Option<&Value>, names: &[&'static str]) -> Result<&'static str, String> {
    let index = match value {
        None | Some(Value::Null) => Some(0),
        Some(Value::Number(n)) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        Some(Value::String(s)) => s.parse::<usize>().ok().or_else(|| names.iter().position(|n| n == s)),
        Some(_) => None,
    };
    index
        .and_then(|i| names.get(i).copied())
        .ok_or_else(|| format!("invalid value for enum field: {value:?}"))
}

/// A field by its proto name or its lowerCamelCase JSON name.
pub(crate) fn field<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    let camel: String = name
        .split('_')
        .enumerate()
        .map(|(i, part)| if i == 0 { part.to_owned() } else { part[..1].to_uppercase() + &part[1..] })
        .collect();
    object.get(name).or_else(|| object.get(camel.as_str())).filter(|v| !v.is_null())
}

pub(crate) fn text<'a>(object: &'a Value, name: &str) -> &'a str {
    field(object, name).and_then(Value::as_str).unwrap_or_default()
}

/// `CreateJobExecutionRequest.Validate` plus the refs checks of the job handlers; the job
/// type's name.
pub(crate) fn validate(object: &Value, job_name: &str) -> Result<&'static str, String> {
    if !object.is_object() {
        return Err("invalid request body: expected a JSON object".to_owned());
    }
    let job_type = parse_enum(field(object, "job_execution_type"), &TYPES)?;
    if job_name.is_empty() {
        return Err("job_name field cannot be empty".to_owned());
    }
    if job_type == TYPES[0] || job_type == "BATCH" {
        return Err(format!("unsupported JobExecutionType: {job_type}"));
    }
    let refs = field(object, "refs");
    if job_type == "PERIODIC" && refs.is_some() {
        return Err("periodic jobs cannot also have gitRefs".to_owned());
    }
    if job_type != "PERIODIC" {
        let refs = refs.ok_or_else(|| format!("gitRefs must be defined for {job_type:?}"))?;
        for (name, label) in
            [("org", "Org"), ("repo", "Repo"), ("base_ref", "BaseRef"), ("base_sha", "BaseSha")]
        {
            if text(refs, name).is_empty() {
                return Err(format!("gitRefs: failed to validate: gitRefs: {label} cannot be empty"));
            }
        }
        let pulls = field(refs, "pulls").and_then(Value::as_array).cloned().unwrap_or_default();
        for pull in &pulls {
            let sha = text(pull, "sha");
            if sha.len() != 40 || !sha.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) {
                return Err(format!("gitRefs: failed to validate: pull: invalid SHA: {sha:?}"));
            }
        }
        if job_type == "PRESUBMIT" && pulls.is_empty() {
            return Err("at least 1 Pulls is required".to_owned());
        }
    }
    let options = field(object, "pod_spec_options").cloned().unwrap_or_default();
    for (name, what) in [("envs", "environment variable"), ("labels", "label"), ("annotations", "annotation")]
    {
        for (key, value) in field(&options, name).and_then(Value::as_object).unwrap_or(&Map::new()) {
            let value = value.as_str().unwrap_or_default();
            if key.is_empty() || value.is_empty() {
                return Err(format!("invalid {what} key/value pair: {key:?}, {value:?}"));
            }
            if name == "labels" && !label_value_ok(value) {
                return Err(format!("invalid label: the following errors found: {value:?}"));
            }
        }
    }
    Ok(job_type)
}

/// A valid Kubernetes label value (empty is valid).
pub(crate) fn label_value_ok(value: &str) -> bool {
    let inner = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.');
    value.is_empty()
        || (value.len() <= 63
            && value.bytes().all(inner)
            && value.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && value.bytes().last().is_some_and(|c| c.is_ascii_alphanumeric()))
}

/// A parsed `BulkJobStatusChangeRequest`.
#[derive(Debug)]
pub(crate) struct BulkChange {
    /// `JobExecutionStatus` names.
    pub current: &'static str,
    pub desired: &'static str,
    pub cluster: String,
    pub started_before: Option<jiff::Timestamp>,
    pub started_after: Option<jiff::Timestamp>,
    /// A `JobExecutionType` name; only PRESUBMIT, POSTSUBMIT and PERIODIC select.
    pub job_type: &'static str,
    pub org: String,
    pub repo: String,
}

/// What a bulk change looks at in one execution.
#[derive(Debug)]
pub(crate) struct Candidate<'a> {
    pub status: &'a str,
    pub job_type: &'a str,
    pub org: &'a str,
    pub repo: &'a str,
    pub cluster: &'a str,
    pub started: Option<jiff::Timestamp>,
}

impl BulkChange {
    /// Parses and validates as `BulkJobStatusChangeRequest.Validate` does.
    pub(crate) fn parse(body: &[u8]) -> Result<BulkChange, String> {
        let object: Value = serde_json::from_slice(body).map_err(|e| format!("invalid request body: {e}"))?;
        if !object.is_object() {
            return Err("invalid request body: expected a JSON object".to_owned());
        }
        let change = field(&object, "job_status_change").cloned().unwrap_or_default();
        let current = parse_enum(field(&change, "current"), &STATUSES)?;
        let desired = parse_enum(field(&change, "desired"), &STATUSES)?;
        if current == STATUSES[0] {
            return Err("current status is unspecified".to_owned());
        }
        if desired == STATUSES[0] {
            return Err("desired status is unspecified".to_owned());
        }
        let time = |name: &str| match field(&object, name) {
            None => Ok(None),
            Some(value) => value
                .as_str()
                .and_then(|s| s.parse::<jiff::Timestamp>().ok())
                .map(Some)
                .ok_or_else(|| format!("{name} field is invalid")),
        };
        let refs = field(&object, "refs").cloned().unwrap_or_default();
        Ok(BulkChange {
            current,
            desired,
            cluster: text(&object, "cluster").to_owned(),
            started_before: time("started_before")?,
            started_after: time("started_after")?,
            job_type: parse_enum(field(&object, "job_type"), &TYPES)?,
            org: text(&refs, "org").to_owned(),
            repo: text(&refs, "repo").to_owned(),
        })
    }

    /// The label selector of `getRequestLabelSelector` plus `isMatchingCondition`.
    pub(crate) fn matches(&self, c: &Candidate<'_>) -> bool {
        let selects_type = matches!(self.job_type, "PRESUBMIT" | "POSTSUBMIT" | "PERIODIC");
        (!selects_type || c.job_type == self.job_type)
            && (self.org.is_empty() || c.org == self.org)
            && (self.repo.is_empty() || c.repo == self.repo)
            && c.status == self.current
            && (self.cluster.is_empty() || c.cluster == self.cluster)
            && self.started_before.is_none_or(|before| c.started.is_none_or(|s| s <= before))
            && self.started_after.is_none_or(|after| c.started.is_none_or(|s| s >= after))
    }
}
