//! The fake GitHub's issues: list (`state`, `labels`, `per_page`, `page`, newest first), create,
//! get, update (`title`, `body`, `state`, `state_reason`, `labels`) and comments (list,
//! create), in the shapes of GitHub's REST API. A label named on create is made on the fly,
//! as GitHub does for a token with push access.

use std::{collections::BTreeMap, sync::Arc};

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{DOCS, Hub, bad_json, gh_error, invalid, lock, now, parse_body, user};

/// One issue with where it lives.
#[derive(Debug, Clone)]
pub(super) struct StoredIssue {
    pub(super) owner: String,
    pub(super) repo: String,
    pub(super) issue: Value,
    pub(super) comments: Vec<Value>,
}

fn find<'a>(
    issues: &'a mut [StoredIssue],
    owner: &str,
    repo: &str,
    number: &str,
) -> Option<&'a mut StoredIssue> {
    let (owner, repo) = (owner.to_lowercase(), repo.to_lowercase());
    let number = number.parse::<u64>().ok()?;
    issues.iter_mut().find(|i| i.owner == owner && i.repo == repo && i.issue["number"] == number)
}

fn labels(names: &[&str], url: &str, owner: &str, repo: &str) -> Value {
    let labels: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({"id": i + 1, "node_id": format!("LA_fake{}", i + 1), "name": name, "color": "ededed",
                "default": false, "description": null,
                "url": format!("{url}/repos/{owner}/{repo}/labels/{name}")})
        })
        .collect();
    Value::Array(labels)
}

fn label_names(body: &Value) -> Result<Vec<String>, String> {
    match &body["labels"] {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|l| l.as_str().or_else(|| l["name"].as_str()).map(str::to_owned).ok_or(()))
            .collect::<Result<_, _>>()
            .map_err(|()| "For 'properties/labels', the items are not strings.".to_owned()),
        other => Err(format!("For 'properties/labels', {other} is not an array.")),
    }
}

pub(super) async fn list(
    State(hub): State<Arc<Hub>>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let state = query.get("state").map_or("open", String::as_str);
    let wanted: Vec<&str> =
        query.get("labels").map(|l| l.split(',').filter(|s| !s.is_empty()).collect()).unwrap_or_default();
    let per_page = query.get("per_page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(30).clamp(1, 100);
    let page = query.get("page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(1).max(1);
    let inner = lock(&hub.inner);
    let (owner, repo) = (owner.to_lowercase(), repo.to_lowercase());
    let matching: Vec<Value> = inner
        .issues
        .iter()
        .rev()
        .filter(|i| i.owner == owner && i.repo == repo)
        .map(|i| &i.issue)
        .filter(|i| state == "all" || i["state"] == state)
        .filter(|i| {
            wanted
                .iter()
                .all(|w| i["labels"].as_array().into_iter().flatten().any(|l| l["name"].as_str() == Some(w)))
        })
        .skip(per_page * (page - 1))
        .take(per_page)
        .cloned()
        .collect();
    Json(matching).into_response()
}

pub(super) async fn create(
    State(hub): State<Arc<Hub>>,
    Path((owner, repo)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let docs = "https://docs.github.com/rest/issues/issues#create-an-issue";
    let Some(body) = parse_body(&body) else { return bad_json() };
    let Some(title) = body["title"].as_str().filter(|t| !t.is_empty()) else {
        return invalid("\"title\" wasn't supplied.", docs);
    };
    let names = match label_names(&body) {
        Ok(names) => names,
        Err(message) => return invalid(&message, docs),
    };
    let mut inner = lock(&hub.inner);
    inner.next_id += 1;
    let id = inner.next_id;
    let (owner, repo) = (owner.to_lowercase(), repo.to_lowercase());
    let number = inner.issues.iter().filter(|i| i.owner == owner && i.repo == repo).count() as u64 + 1;
    let url = &hub.url;
    let api = format!("{url}/repos/{owner}/{repo}/issues/{number}");
    let at = now();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let issue = json!({
        "id": id, "node_id": format!("I_fake{id}"), "number": number, "title": title,
        "body": body["body"], "state": "open", "state_reason": null, "locked": false,
        "labels": labels(&names, url, &owner, &repo), "assignees": [], "comments": 0,
        "user": user(url), "author_association": "OWNER",
        "url": api, "repository_url": format!("{url}/repos/{owner}/{repo}"),
        "labels_url": format!("{api}/labels{{/name}}"), "comments_url": format!("{api}/comments"),
        "events_url": format!("{api}/events"), "html_url": format!("{url}/{owner}/{repo}/issues/{number}"),
        "created_at": at, "updated_at": at, "closed_at": null,
    });
    inner.issues.push(StoredIssue { owner, repo, issue: issue.clone(), comments: Vec::new() });
    (StatusCode::CREATED, Json(issue)).into_response()
}

pub(super) async fn get(
    State(hub): State<Arc<Hub>>,
    Path((owner, repo, number)): Path<(String, String, String)>,
) -> Response {
    match find(&mut lock(&hub.inner).issues, &owner, &repo, &number) {
        Some(stored) => Json(stored.issue.clone()).into_response(),
        None => gh_error(StatusCode::NOT_FOUND, "Not Found", DOCS),
    }
}

pub(super) async fn update(
    State(hub): State<Arc<Hub>>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let docs = "https://docs.github.com/rest/issues/issues#update-an-issue";
    let Some(body) = parse_body(&body) else { return bad_json() };
    let url = hub.url.clone();
    let mut inner = lock(&hub.inner);
    let Some(stored) = find(&mut inner.issues, &owner, &repo, &number) else {
        return gh_error(StatusCode::NOT_FOUND, "Not Found", DOCS);
    };
    let mut issue = stored.issue.clone();
    for name in ["title", "body"] {
        match &body[name] {
            Value::Null => {}
            Value::String(_) => issue[name] = body[name].clone(),
            other => return invalid(&format!("For 'properties/{name}', {other} is not a string."), docs),
        }
    }
    if body.get("labels").is_some() {
        match label_names(&body) {
            Ok(names) => {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                issue["labels"] = labels(&names, &url, &stored.owner, &stored.repo);
            }
            Err(message) => return invalid(&message, docs),
        }
    }
    match body["state"].as_str() {
        None if body["state"].is_null() => {}
        Some("open") => {
            issue["state"] = json!("open");
            issue["closed_at"] = Value::Null;
            issue["state_reason"] = json!("reopened");
        }
        Some("closed") => {
            let reason = body["state_reason"].as_str().unwrap_or("completed");
            if !["completed", "not_planned", "duplicate"].contains(&reason) {
                return invalid(
                    &format!("For 'properties/state_reason', \"{reason}\" is not a valid reason."),
                    docs,
                );
            }
            if issue["state"] != "closed" {
                issue["closed_at"] = json!(now());
            }
            issue["state"] = json!("closed");
            issue["state_reason"] = json!(reason);
        }
        _ => {
            return invalid(
                &format!("For 'properties/state', {} is not one of [\"open\", \"closed\"].", body["state"]),
                docs,
            );
        }
    }
    issue["updated_at"] = json!(now());
    stored.issue = issue.clone();
    Json(issue).into_response()
}

pub(super) async fn comments(
    State(hub): State<Arc<Hub>>,
    Path((owner, repo, number)): Path<(String, String, String)>,
) -> Response {
    match find(&mut lock(&hub.inner).issues, &owner, &repo, &number) {
        Some(stored) => Json(stored.comments.clone()).into_response(),
        None => gh_error(StatusCode::NOT_FOUND, "Not Found", DOCS),
    }
}

pub(super) async fn comment(
    State(hub): State<Arc<Hub>>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let docs = "https://docs.github.com/rest/issues/comments#create-an-issue-comment";
    let Some(body) = parse_body(&body) else { return bad_json() };
    let Some(text) = body["body"].as_str().filter(|b| !b.is_empty()) else {
        return invalid("\"body\" wasn't supplied.", docs);
    };
    let url = hub.url.clone();
    let mut inner = lock(&hub.inner);
    inner.next_id += 1;
    let id = inner.next_id;
    let Some(stored) = find(&mut inner.issues, &owner, &repo, &number) else {
        return gh_error(StatusCode::NOT_FOUND, "Not Found", DOCS);
    };
    let html = stored.issue["html_url"].as_str().unwrap_or_default().to_owned();
    let at = now();
    let comment = json!({
        "id": id, "node_id": format!("IC_fake{id}"), "body": text, "user": user(&url),
        "url": format!("{url}/repos/{}/{}/issues/comments/{id}", stored.owner, stored.repo),
        "html_url": format!("{html}#issuecomment-{id}"), "issue_url": stored.issue["url"],
        "author_association": "OWNER", "created_at": at, "updated_at": at,
    });
    stored.comments.push(comment.clone());
    stored.issue["comments"] = json!(stored.comments.len());
    (StatusCode::CREATED, Json(comment)).into_response()
}
