//! Kubernetes names and labels every cluster backend derives the same way, and the labels
//! okd-build puts on what it creates (so `okd status`/`okd cancel` from another process find a
//! run's objects by label whatever the backend).

use sha2::{Digest, Sha256};

/// The longest Kubernetes label value (and DNS-1123 label).
pub const MAX_LABEL: usize = 63;

/// The label on every remote object of a run: the run id as a label value ([`label_value`]).
pub const RUN_LABEL: &str = "okd-build.io/run";
/// The annotation carrying the full run id (a label value is limited to 63 characters).
pub const RUN_ANNOTATION: &str = "okd-build.io/run";
/// The label naming the component a remote object builds.
pub const COMPONENT_LABEL: &str = "okd-build.io/component";

/// A DNS-1123 label made from `text`: lowercase, runs of other characters become one '-',
/// at most 63 characters, never empty.
pub fn dns_label(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed: String = out.trim_matches('-').chars().take(MAX_LABEL).collect();
    let trimmed = trimmed.trim_end_matches('-');
    if trimmed.is_empty() { "x".to_owned() } else { trimmed.to_owned() }
}

/// `<prefix>-<suffix>` within 63 characters: the prefix is cut, never the suffix, which is what
/// makes the name unique.
pub fn fit_name(prefix: &str, suffix: &str) -> String {
    let room = MAX_LABEL.saturating_sub(suffix.len() + 1);
    let cut: String = prefix.chars().take(room).collect();
    format!("{}-{suffix}", cut.trim_end_matches('-'))
}

/// A label value made from `text`: at most 63 characters of `[A-Za-z0-9._-]`, starting and ending
/// alphanumeric. Text that does not fit becomes a readable prefix plus a hash, so distinct inputs
/// stay distinct.
pub fn label_value(text: &str) -> String {
    let valid = text.len() <= MAX_LABEL
        && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.ends_with(|c: char| c.is_ascii_alphanumeric());
    if valid || text.is_empty() {
        return text.to_owned();
    }
    let hash = short_hash(text, 10);
    fit_name(&dns_label(text), &hash)
}

/// The first `n` hex digits of the SHA-256 of `text`.
pub fn short_hash(text: &str, n: usize) -> String {
    hex::encode(Sha256::digest(text.as_bytes())).chars().take(n).collect()
}
