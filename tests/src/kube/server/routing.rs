//! The entry point: record, apply faults, then route by path to discovery or a resource verb.

use std::{collections::HashMap, sync::Arc};

use axum::{
    extract::{Query, Request, State},
    http::Method,
    response::{IntoResponse, Response},
};

use super::{
    RecordedRequest, ServerState,
    discovery::{Resource, Resources},
    handlers::{self, Call},
    patch,
    status::{ApiError, ApiResult},
    watch,
};

/// The largest request body read.
const BODY_LIMIT: usize = 64 << 20;

pub(crate) async fn entry(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let response = match state.faults.before(&method, &path).await {
        Some(error) => error.into_response(),
        None => route(&state, request).await.unwrap_or_else(IntoResponse::into_response),
    };
    state.record(RecordedRequest { method, path, query, status: response.status().as_u16() });
    response
}

/// Where a resource path points.
#[derive(Debug)]
struct Target {
    resource: Resource,
    /// `None`: across namespaces; `Some("")`: a cluster-scoped resource.
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn parse_target(resources: &Resources, path: &str) -> Result<Target, ApiError> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Err(ApiError::no_route()),
    };
    let namespaced = |plural: &str| resources.find(group, version, plural).is_some_and(|r| r.namespaced);
    let (namespace, rest) = match rest {
        ["namespaces", namespace, plural, ..] if namespaced(plural) => (Some(*namespace), &rest[2..]),
        _ => (None, rest),
    };
    let [plural, tail @ ..] = rest else { return Err(ApiError::no_route()) };
    let resource = resources.find(group, version, plural).ok_or_else(ApiError::no_route)?.clone();
    let (name, subresource) = match tail {
        [] => (None, None),
        [name] => (Some(*name), None),
        [name, sub] => (Some(*name), Some(*sub)),
        _ => return Err(ApiError::no_route()),
    };
    if resource.namespaced && namespace.is_none() && name.is_some() {
        return Err(ApiError::no_route());
    }
    let namespace = if resource.namespaced { namespace.map(str::to_owned) } else { Some(String::new()) };
    Ok(Target {
        resource,
        namespace,
        name: name.map(str::to_owned),
        subresource: subresource.map(str::to_owned),
    })
}

async fn route(state: &Arc<ServerState>, request: Request) -> ApiResult {
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    if let Some(result) = state.resources.serve(parts.uri.path(), &parts.headers) {
        if method != Method::GET {
            return Err(ApiError::method_not_allowed(method.as_str()));
        }
        return result;
    }
    let target = parse_target(&state.resources, parts.uri.path())?;
    let query: HashMap<String, String> =
        Query::try_from_uri(&parts.uri).map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))?.0;
    let body = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))?;
    let call = Call {
        state: state.clone(),
        res: target.resource,
        namespace: target.namespace,
        name: target.name.clone().unwrap_or_default(),
        query,
        headers: parts.headers,
        body,
    };
    let is = |m: &Method| method == *m;
    match (target.name.is_some(), target.subresource.as_deref()) {
        (false, _) if is(&Method::GET) && call.flag("watch") => watch::watch(call),
        (false, _) if is(&Method::GET) => handlers::list(&call),
        (false, _) if is(&Method::POST) && call.namespace.is_some() => handlers::create(&call),
        (false, _) if is(&Method::DELETE) => handlers::delete_collection(&call),
        (true, None) if is(&Method::GET) => handlers::get(&call),
        (true, None) if is(&Method::PUT) => handlers::replace(&call, false),
        (true, None) if is(&Method::PATCH) => patch::patch(&call, false),
        (true, None) if is(&Method::DELETE) => handlers::delete(&call),
        (true, Some("status")) if call.res.status => match method {
            Method::GET => handlers::get(&call),
            Method::PUT => handlers::replace(&call, true),
            Method::PATCH => patch::patch(&call, true),
            _ => Err(ApiError::method_not_allowed(method.as_str())),
        },
        (true, Some("log")) if call.res.log => match method {
            Method::GET => handlers::log(&call),
            _ => Err(ApiError::method_not_allowed(method.as_str())),
        },
        (true, Some(_)) => Err(ApiError::no_route()),
        _ => Err(ApiError::method_not_allowed(method.as_str())),
    }
}
