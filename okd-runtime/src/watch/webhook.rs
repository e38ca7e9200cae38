//! `okd watch --listen ADDR`: GitHub webhooks that start a cycle at once instead of at the next
//! interval. Every delivery must carry `X-Hub-Signature-256`, the HMAC-SHA256 of the raw body
//! with the shared secret, compared in constant time; anything else is refused with 401 and
//! logged without its body. `push` triggers a cycle (any push: the cycle itself asks every
//! source's remote what moved, and costs little when nothing did), `ping` answers `pong`, every
//! other event is acknowledged with 204 and ignored.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Router,
    body::Bytes,
    extract::{ConnectInfo, DefaultBodyLimit, State},
    http::{HeaderMap, Method, StatusCode},
};
use hmac::{Hmac, KeyInit, Mac};
use okd_core::{Error, ErrorKind, Result};
use sha2::Sha256;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// GitHub's own limit on a webhook payload.
const MAX_BODY: usize = 25 * 1024 * 1024;

/// A verified push: what a cycle started by it says it was started by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// `owner/name` of the repository pushed to.
    pub repository: String,
    /// The ref pushed (`refs/heads/main`).
    pub reference: String,
    /// The commit it points at now.
    pub after: String,
}

/// Why a delivery's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No `X-Hub-Signature-256` header.
    Missing,
    /// Not `sha256=` and 64 hex digits.
    Malformed,
    /// Well formed, but not the body's HMAC with our secret.
    Mismatch,
}

impl SignatureError {
    fn describe(self) -> &'static str {
        match self {
            SignatureError::Missing => "no X-Hub-Signature-256 header",
            SignatureError::Malformed => "X-Hub-Signature-256 is not sha256=<64 hex digits>",
            SignatureError::Mismatch => "X-Hub-Signature-256 does not match the body and the secret",
        }
    }
}

/// Checks `header` (the `X-Hub-Signature-256` value) against the HMAC-SHA256 of `body` with
/// `secret`, in constant time.
pub fn verify_signature(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_part = header.trim().strip_prefix("sha256=").ok_or(SignatureError::Malformed)?;
    let expected = hex::decode(hex_part).map_err(|_| SignatureError::Malformed)?;
    if expected.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| SignatureError::Mismatch)?;
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| SignatureError::Mismatch)
}

/// `sha256=<hex>`: the header GitHub sends for `body` signed with `secret` (for tests and for
/// replaying a delivery by hand).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else { return String::new() };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The running listener; dropping it does not stop it, [`WebhookServer::stop`] does.
#[derive(Debug)]
pub struct WebhookServer {
    addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookServer {
    /// Where it listens (the port the system chose for `:0`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and waits for requests in flight.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

struct Hook {
    secret: Vec<u8>,
    pushes: mpsc::Sender<Push>,
}

/// Listens on `addr` (`127.0.0.1:8080`, `[::]:8080`); each verified push is sent to `pushes`
/// (dropped when a push is already waiting: one cycle answers them all).
pub async fn listen(addr: &str, secret: Vec<u8>, pushes: mpsc::Sender<Push>) -> Result<WebhookServer> {
    if secret.is_empty() {
        return Err(Error::invalid("the webhook secret is empty").with_help(
            "give the secret set on the GitHub webhook with --webhook-secret-file or OKD_WEBHOOK_SECRET",
        ));
    }
    let parsed: SocketAddr = addr.parse().map_err(|e| {
        Error::invalid(format!("--listen {addr} is not an address and port"))
            .with_source(e)
            .with_help("write e.g. --listen 127.0.0.1:8080, or [::]:8080 for every interface")
    })?;
    // axum's `tokio` feature is what brings tokio's net module in.
    let listener = tokio::net::TcpListener::bind(parsed).await.map_err(|e| {
        let kind = match e.kind() {
            std::io::ErrorKind::AddrInUse | std::io::ErrorKind::AddrNotAvailable => ErrorKind::InvalidInput,
            std::io::ErrorKind::PermissionDenied => ErrorKind::Unauthorized,
            _ => ErrorKind::Unavailable,
        };
        Error::new(kind, format!("cannot listen on {addr}"))
            .with_source(e)
            .with_help("pick a free port (ports below 1024 need privileges)")
    })?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::new(ErrorKind::Unavailable, format!("cannot listen on {addr}")).with_source(e))?;
    let app = Router::new()
        .fallback(receive)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Arc::new(Hook { secret, pushes }));
    let stop = CancellationToken::new();
    let shutdown = stop.clone();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the webhook listener stopped");
        }
    });
    Ok(WebhookServer { addr: local, stop, task })
}

async fn receive(
    State(hook): State<Arc<Hook>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    if method != Method::POST {
        return (StatusCode::METHOD_NOT_ALLOWED, "POST GitHub webhook deliveries here\n");
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let event = header("x-github-event").unwrap_or("");
    let delivery = header("x-github-delivery").unwrap_or("-");
    if let Err(why) = verify_signature(&hook.secret, &body, header("x-hub-signature-256")) {
        // Never the body: it is whatever an unauthenticated sender chose to send.
        tracing::warn!(%peer, event, delivery, bytes = body.len(), "webhook refused: {}", why.describe());
        return (StatusCode::UNAUTHORIZED, "bad or missing X-Hub-Signature-256\n");
    }
    match event {
        "ping" => (StatusCode::OK, "pong\n"),
        "push" => match parse_push(&body) {
            Some(push) => {
                tracing::info!(
                    delivery,
                    repository = push.repository,
                    reference = push.reference,
                    "push: starting a cycle"
                );
                // Full means a cycle is already due: it will see this push too.
                let _ = hook.pushes.try_send(push);
                (StatusCode::ACCEPTED, "cycle started\n")
            }
            None => {
                tracing::warn!(%peer, delivery, "webhook refused: a signed push event that is no push payload");
                (StatusCode::BAD_REQUEST, "not a push event payload\n")
            }
        },
        _ => {
            tracing::debug!(event, delivery, "webhook event ignored");
            (StatusCode::NO_CONTENT, "")
        }
    }
}

fn parse_push(body: &[u8]) -> Option<Push> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    Some(Push {
        repository: text(&value["repository"]["full_name"]).unwrap_or_default(),
        reference: text(&value["ref"])?,
        after: text(&value["after"]).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// GitHub's documented example: secret "It's a Secret to Everybody", body "Hello, World!".
    #[test]
    fn the_signature_matches_githubs_example_and_nothing_else() {
        let secret = b"It's a Secret to Everybody";
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign(secret, b"Hello, World!"), header);
        assert_eq!(verify_signature(secret, b"Hello, World!", Some(header)), Ok(()));
        assert_eq!(verify_signature(secret, b"Hello, World?", Some(header)), Err(SignatureError::Mismatch));
        assert_eq!(verify_signature(b"other", b"Hello, World!", Some(header)), Err(SignatureError::Mismatch));
        assert_eq!(verify_signature(secret, b"Hello, World!", None), Err(SignatureError::Missing));
        for bad in ["", "sha1=757107ea", "sha256=zz", "sha256=7571", &header.replace("sha256=", "")] {
            assert_eq!(
                verify_signature(secret, b"Hello, World!", Some(bad)),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        let upper = header.to_uppercase().replace("SHA256=", "sha256=");
        assert_eq!(verify_signature(secret, b"Hello, World!", Some(&upper)), Ok(()), "hex in either case");
    }

    #[test]
    fn a_push_payload_gives_its_repository_ref_and_commit() {
        let body = br#"{"ref":"refs/heads/main","after":"abc","repository":{"full_name":"okd/cli"}}"#;
        assert_eq!(
            parse_push(body),
            Some(Push {
                repository: "okd/cli".into(),
                reference: "refs/heads/main".into(),
                after: "abc".into()
            })
        );
        assert_eq!(parse_push(b"{}"), None);
        assert_eq!(parse_push(b"not json"), None);
    }

    #[tokio::test]
    async fn an_empty_secret_or_a_bad_address_is_refused() {
        let (tx, _rx) = mpsc::channel(1);
        let error = listen("127.0.0.1:0", Vec::new(), tx.clone()).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        let error = listen("localhost", b"s".to_vec(), tx).await.unwrap_err();
        assert!(error.message().contains("--listen localhost"), "{error}");
    }

    /// One HTTP/1.1 POST over a plain socket; returns the status code.
    fn post(addr: SocketAddr, event: &str, body: &str, signature: Option<&str>) -> u16 {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        let mut request = format!(
            "POST /hook HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n\
             X-GitHub-Event: {event}\r\nX-GitHub-Delivery: d-1\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(signature) = signature {
            request.push_str(&format!("X-Hub-Signature-256: {signature}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn signed_pushes_trigger_and_everything_else_does_not() {
        let (tx, mut rx) = mpsc::channel(4);
        let server = listen("127.0.0.1:0", b"s3cret".to_vec(), tx).await.unwrap();
        let addr = server.addr();
        let push = r#"{"ref":"refs/heads/main","after":"abc","repository":{"full_name":"okd/cli"}}"#;
        let good = sign(b"s3cret", push.as_bytes());
        let bad = sign(b"guess", push.as_bytes());
        let statuses = tokio::task::spawn_blocking(move || {
            [
                post(addr, "push", push, Some(&bad)),
                post(addr, "push", push, None),
                post(addr, "ping", "{}", Some(&sign(b"s3cret", b"{}"))),
                post(addr, "issues", "{}", Some(&sign(b"s3cret", b"{}"))),
                post(addr, "ping", "{}", None),
                post(addr, "push", push, Some(&good)),
            ]
        })
        .await
        .unwrap();
        assert_eq!(statuses, [401, 401, 200, 204, 401, 202]);
        let received = rx.recv().await.unwrap();
        assert_eq!(received.repository, "okd/cli");
        assert!(rx.try_recv().is_err(), "only the signed push triggered");
        server.stop().await;
    }
}
