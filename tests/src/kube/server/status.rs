//! Errors as Kubernetes `Status` objects (apiVersion v1, kind Status, status Failure).

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::discovery::Resource;

/// A failed request: the HTTP code, the Status reason and message, and optional details.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError { code, reason, message: message.into(), details: None, retry_after: None }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// 404 for a path that names no resource.
    pub fn no_route() -> Self {
        Self::new(404, "NotFound", "the server could not find the requested resource")
    }

    pub fn not_found(res: &Resource, name: &str) -> Self {
        Self::new(404, "NotFound", format!("{} \"{name}\" not found", res.qualified()))
            .with_details(json!({"name": name, "group": res.group, "kind": res.plural}))
    }

    pub fn already_exists(res: &Resource, name: &str) -> Self {
        Self::new(409, "AlreadyExists", format!("{} \"{name}\" already exists", res.qualified()))
            .with_details(json!({"name": name, "group": res.group, "kind": res.plural}))
    }

    pub fn conflict(res: &Resource, name: &str) -> Self {
        let message = format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply \
             your changes to the latest version and try again",
            res.qualified()
        );
        Self::new(409, "Conflict", message)
            .with_details(json!({"name": name, "group": res.group, "kind": res.plural}))
    }

    /// 422 with one cause per problem; each problem reads `field.path: message`.
    pub fn invalid(res: &Resource, name: &str, problems: &[String]) -> Self {
        let causes: Vec<Value> = problems.iter().map(|p| cause(p)).collect();
        let joined = match problems {
            [one] => one.clone(),
            many => format!("[{}]", many.join(", ")),
        };
        let kind =
            if res.group.is_empty() { res.kind.clone() } else { format!("{}.{}", res.kind, res.group) };
        Self::new(422, "Invalid", format!("{kind} \"{name}\" is invalid: {joined}")).with_details(json!({
            "name": name, "group": res.group, "kind": res.kind, "causes": causes,
        }))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource ({method})"),
        )
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format ({content_type}) - accepted media types \
                 include: application/json-patch+json, application/merge-patch+json, \
                 application/apply-patch+yaml"
            ),
        )
    }

    /// The injected failures (`Faults::fail_next`).
    pub fn injected(code: u16, retry_after: Option<u32>) -> Self {
        let reason = match code {
            400 => "BadRequest",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "NotFound",
            409 => "Conflict",
            410 => "Gone",
            429 => "TooManyRequests",
            503 => "ServiceUnavailable",
            504 => "Timeout",
            _ => "InternalError",
        };
        let message = match code {
            429 => "too many requests, please try again later".to_owned(),
            503 => "the server is currently unable to handle the request".to_owned(),
            _ => format!("injected failure ({code})"),
        };
        let mut err = Self::new(code, reason, message);
        if let Some(secs) = retry_after {
            err.retry_after = Some(secs);
            err.details = Some(json!({"retryAfterSeconds": secs}));
        }
        err
    }

    /// The Status object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "apiVersion": "v1",
            "kind": "Status",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

/// `spec.x: Required value` -> a StatusCause; the reason follows the message's Kubernetes wording.
fn cause(problem: &str) -> Value {
    let (field, message) = match problem.split_once(": ") {
        Some((field, message)) if !field.is_empty() && !field.contains(' ') => (field, message),
        // `unknown field "spec.x"` (Strict).
        _ => (
            problem.split('"').nth(1).filter(|_| problem.starts_with("unknown field")).unwrap_or_default(),
            problem,
        ),
    };
    let reason = if message.starts_with("Required value") {
        "FieldValueRequired"
    } else if message.starts_with("Unsupported value") {
        "FieldValueNotSupported"
    } else if message.starts_with("Duplicate value") {
        "FieldValueDuplicate"
    } else if message.starts_with("Forbidden") {
        "FieldValueForbidden"
    } else if message.starts_with("Too long") || message.starts_with("Too many") {
        "FieldValueTooLong"
    } else {
        "FieldValueInvalid"
    };
    json!({"reason": reason, "message": message, "field": field})
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (code, json_body(&self.to_status())).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A JSON body with `Content-Type: application/json`.
pub(crate) fn json_body(value: &Value) -> Response {
    let mut response = value.to_string().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A JSON response with a status code.
pub(crate) fn json_response(code: u16, value: &Value) -> Response {
    let mut response = json_body(value);
    *response.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    response
}

/// Adds a `Warning: 299 - "<text>"` header per warning.
pub(crate) fn add_warnings(response: &mut Response, warnings: &[String]) {
    for warning in warnings {
        let text: String = warning
            .chars()
            .map(|c| match c {
                '"' | '\\' => format!("\\{c}"),
                c if c.is_ascii_graphic() || c == ' ' => c.to_string(),
                _ => "?".to_owned(),
            })
            .collect();
        if let Ok(value) = HeaderValue::from_str(&format!("299 - \"{text}\"")) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
}

pub(crate) type ApiResult<T = Response> = Result<T, ApiError>;
