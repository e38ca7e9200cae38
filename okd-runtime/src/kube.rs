//! What every cluster backend does with kube-rs the same way (feature `kube`): kube errors in
//! okd-build's terms, and `DynamicObject` ⇄ JSON.

use kube::api::DynamicObject;
use okd_core::{Error, ErrorKind, Result};
use serde_json::Value;

/// A kube-rs error in okd-build's terms: what the user can fix (input, credentials), what may
/// pass (retryable: 429, 5xx, no answer), what is a bug. `action` says what was being done
/// ("create PipelineRun x"); backends add the help that fits their system.
pub fn kube_error(error: kube::Error, action: &str) -> Error {
    let (kind, retryable, message) = match &error {
        kube::Error::Api(status) => {
            let kind = match status.code {
                404 => ErrorKind::NotFound,
                409 => ErrorKind::Conflict,
                401 | 403 => ErrorKind::Unauthorized,
                400 | 422 => ErrorKind::InvalidInput,
                429 | 500..=599 => ErrorKind::Unavailable,
                _ => ErrorKind::Internal,
            };
            (
                kind,
                matches!(status.code, 429 | 500..=599),
                format!("{action}: {} ({})", status.message, status.code),
            )
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => {
            (ErrorKind::Unavailable, true, format!("{action}: the API server did not answer"))
        }
        kube::Error::Auth(_) => (ErrorKind::Unauthorized, false, format!("{action}: authentication failed")),
        _ => (ErrorKind::Internal, false, format!("{action}: {error}")),
    };
    Error::new(kind, message).set_retryable(retryable).with_source(error)
}

/// An object as JSON.
pub fn to_value(object: &DynamicObject) -> Result<Value> {
    serde_json::to_value(object)
        .map_err(|e| Error::new(ErrorKind::Internal, "cannot read an object").with_source(e))
}

/// JSON as an object to send.
pub fn to_object(value: &Value) -> Result<DynamicObject> {
    serde_json::from_value(value.clone())
        .map_err(|e| Error::new(ErrorKind::Internal, "cannot encode an object").with_source(e))
}
