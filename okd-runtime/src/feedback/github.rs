//! The GitHub client: octocrab over rustls (ring), against `GITHUB_API_URL` (GitHub Enterprise
//! included), authenticated with a token from `GITHUB_TOKEN` or `gh auth token`.
//!
//! octocrab's raw calls (`_get`, `_post`, `_patch`) are used rather than its typed builders
//! because the retry policy needs what the typed errors drop: the status and the rate-limit
//! headers of a refused request. Paths are relative, so octocrab joins them to the base URI
//! and sends the token only there.

use std::time::Duration;

use async_trait::async_trait;
use http::{HeaderMap, Uri};
use octocrab::Octocrab;
use okd_core::{Error, ErrorKind, Result};
use serde_json::{Value, json};

use super::api::{ApiFailure, CommitStatus, GitHubApi, Issue, IssueUpdate, NewIssue, Repo};

/// The public API.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// The longest one request may take before it counts as unanswered.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A GitHub token. It is only ever handed to octocrab (which keeps it as a secret and marks the
/// header sensitive): no `Display`, and `Debug` shows nothing of it.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// A token given directly (tests, a secret store).
    pub fn new(token: impl Into<String>) -> Self {
        Token(token.into())
    }

    /// `GITHUB_TOKEN`, else what `gh auth token` prints (for the API's host when it is not
    /// github.com), else an input error saying how to provide one.
    pub async fn from_env(api_url: &str) -> Result<Token> {
        if let Some(token) = std::env::var("GITHUB_TOKEN").ok().filter(|t| !t.trim().is_empty()) {
            return Ok(Token(token.trim().to_owned()));
        }
        if let Some(token) = gh_auth_token(api_url).await {
            return Ok(Token(token));
        }
        Err(Error::invalid("GitHub feedback (--report) needs a token: GITHUB_TOKEN is unset and `gh auth token` gave none")
            .with_help("export GITHUB_TOKEN=<a token allowed to create commit statuses, and issues for github-issue=>, or log in once with `gh auth login`"))
    }
}

/// What `gh auth token` prints, when gh is installed and logged in. Its output is never put in a
/// message: on failure it may echo what it read.
async fn gh_auth_token(api_url: &str) -> Option<String> {
    let mut command = tokio::process::Command::new("gh");
    command.args(["auth", "token"]);
    if let Some(host) = api_url.parse::<Uri>().ok().and_then(|u| u.host().map(str::to_owned))
        && host != "api.github.com"
    {
        command.args(["--hostname", &host]);
    }
    command.stdin(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let output = tokio::time::timeout(Duration::from_secs(10), command.output()).await.ok()?.ok()?;
    let token = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !token.is_empty()).then_some(token)
}

/// The base URL: `GITHUB_API_URL`, else the public API.
pub fn api_url_from_env() -> String {
    std::env::var("GITHUB_API_URL")
        .ok()
        .map(|u| u.trim().trim_end_matches('/').to_owned())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_API_URL.to_owned())
}

/// [`GitHubApi`] over octocrab.
#[derive(Debug)]
pub struct OctocrabApi {
    client: Octocrab,
}

impl OctocrabApi {
    /// A client of the API at `base` (e.g. `https://api.github.com`, or
    /// `https://ghe.example.com/api/v3`) with `token`.
    pub fn new(base: &str, token: &Token) -> Result<Self> {
        let bad_url = || {
            Error::invalid(format!("GITHUB_API_URL '{base}' is not an http(s) URL"))
                .with_help("e.g. GITHUB_API_URL=https://ghe.example.com/api/v3 for GitHub Enterprise; unset it for github.com")
        };
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(bad_url());
        }
        let builder = Octocrab::builder().base_uri(base).map_err(|_| bad_url())?;
        let client = builder
            .personal_token(token.0.clone())
            .build()
            .map_err(|e| Error::new(ErrorKind::Internal, "cannot make the GitHub client").with_source(e))?;
        Ok(OctocrabApi { client })
    }

    /// Sends one request; the JSON answer, or why not.
    async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, ApiFailure> {
        let call = async {
            match method {
                "POST" => self.client._post(path, body).await,
                "PATCH" => self.client._patch(path, body).await,
                _ => self.client._get(path).await,
            }
        };
        let response = match tokio::time::timeout(REQUEST_TIMEOUT, call).await {
            Err(_) => {
                return Err(ApiFailure::transport(format!(
                    "no answer within {}s",
                    REQUEST_TIMEOUT.as_secs()
                )));
            }
            Ok(Err(e)) => return Err(ApiFailure::transport(e.to_string())),
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = tokio::time::timeout(REQUEST_TIMEOUT, self.client.body_to_string(response))
            .await
            .map_err(|_| ApiFailure::transport("the answer did not arrive in time"))?
            .map_err(|e| ApiFailure::transport(e.to_string()))?;
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(json);
        }
        Err(failure(status, &headers, &json))
    }
}

/// What a refused request said.
fn failure(status: u16, headers: &HeaderMap, json: &Value) -> ApiFailure {
    let number = |name: &str| {
        headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok())
    };
    let message = json["message"].as_str().map_or_else(
        || {
            http::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("error")
                .to_owned()
        },
        |m| m.lines().next().unwrap_or_default().to_owned(),
    );
    ApiFailure {
        status: Some(status),
        message,
        retry_after: number("retry-after").map(Duration::from_secs),
        remaining: number("x-ratelimit-remaining"),
        reset: number("x-ratelimit-reset"),
    }
}

fn issue_of(json: &Value) -> Issue {
    Issue {
        number: json["number"].as_u64().unwrap_or_default(),
        title: json["title"].as_str().unwrap_or_default().to_owned(),
        body: json["body"].as_str().unwrap_or_default().to_owned(),
        html_url: json["html_url"].as_str().unwrap_or_default().to_owned(),
        pull_request: json.get("pull_request").is_some_and(|p| !p.is_null()),
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<Value, ApiFailure> {
    serde_json::to_value(value).map_err(|e| ApiFailure::transport(format!("cannot encode the request: {e}")))
}

#[async_trait]
impl GitHubApi for OctocrabApi {
    async fn create_status(&self, repo: &Repo, sha: &str, status: &CommitStatus) -> Result<(), ApiFailure> {
        let path = format!("/repos/{}/{}/statuses/{sha}", repo.owner, repo.name);
        self.send("POST", &path, Some(&to_json(status)?)).await.map(drop)
    }

    async fn open_issues(&self, repo: &Repo, label: &str, page: u32) -> Result<Vec<Issue>, ApiFailure> {
        let mut path =
            format!("/repos/{}/{}/issues?state=open&per_page=100&page={page}", repo.owner, repo.name);
        if !label.is_empty() {
            path.push_str(&format!("&labels={label}"));
        }
        let json = self.send("GET", &path, None).await?;
        Ok(json.as_array().map(|a| a.iter().map(issue_of).collect()).unwrap_or_default())
    }

    async fn create_issue(&self, repo: &Repo, issue: &NewIssue) -> Result<Issue, ApiFailure> {
        let path = format!("/repos/{}/{}/issues", repo.owner, repo.name);
        Ok(issue_of(&self.send("POST", &path, Some(&to_json(issue)?)).await?))
    }

    async fn update_issue(&self, repo: &Repo, number: u64, update: &IssueUpdate) -> Result<(), ApiFailure> {
        let path = format!("/repos/{}/{}/issues/{number}", repo.owner, repo.name);
        self.send("PATCH", &path, Some(&to_json(update)?)).await.map(drop)
    }

    async fn comment(&self, repo: &Repo, number: u64, body: &str) -> Result<(), ApiFailure> {
        let path = format!("/repos/{}/{}/issues/{number}/comments", repo.owner, repo.name);
        self.send("POST", &path, Some(&json!({ "body": body }))).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_keeps_its_status_message_and_limits() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-remaining", "0".parse().unwrap_or_else(|_| panic!("a header")));
        headers.insert("x-ratelimit-reset", "1700000060".parse().unwrap_or_else(|_| panic!("a header")));
        let f = failure(403, &headers, &json!({"message": "API rate limit exceeded for user ID 1.\nmore"}));
        assert_eq!(
            (f.status, f.remaining, f.reset, f.retry_after),
            (Some(403), Some(0), Some(1_700_000_060), None)
        );
        assert_eq!(f.message, "API rate limit exceeded for user ID 1.");
        let f = failure(502, &HeaderMap::new(), &Value::Null);
        assert_eq!(f.message, "Bad Gateway");
        assert_eq!(format!("{:?}", Token::new("ghp_secret")), "Token(<redacted>)");
    }
}
