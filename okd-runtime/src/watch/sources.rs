//! What moved upstream since the source cache last fetched: one `git ls-remote` per repository
//! (bounded concurrency), compared with the cache's mirrors. When nothing moved, a cycle reads
//! its sources from the cache alone and fetches nothing.

use std::collections::{BTreeMap, BTreeSet};

use okd_core::{
    Result,
    manifest::{Release, Source},
    source::{SourceOptions, mirror_dir},
};
use serde::Serialize;

use crate::git;

/// A git source's ref whose remote commit is not the one the cache holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    /// The clone URL.
    pub url: String,
    /// The ref the manifest names.
    #[serde(rename = "ref")]
    pub reference: String,
    /// The commit the cache held; `None` when it never fetched this ref.
    pub from: Option<String>,
    /// The commit the remote has; `None` when the remote has no such ref (reading the sources
    /// then says so, with the manifest line).
    pub to: Option<String>,
}

impl Moved {
    /// `cli@main 1a2b3c4..5d6e7f8`, for one line of output.
    pub fn describe(&self) -> String {
        let repo = okd_core::source::org_repo(&self.url).map_or_else(|| self.url.clone(), |(_, repo)| repo);
        let short = |c: &Option<String>| c.as_deref().map_or("none", |c| &c[..c.len().min(7)]).to_owned();
        format!("{repo}@{} {}..{}", self.reference, short(&self.from), short(&self.to))
    }
}

/// Every git source's ref of `release` whose remote commit differs from the cache's (or that the
/// cache lacks). Empty: reading the sources offline gives exactly what upstream has now.
pub async fn upstream_moves(release: &Release, options: &SourceOptions) -> Result<Vec<Moved>> {
    let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for component in &release.components {
        if let Source::Git { url, reference } = &component.source {
            wanted.entry(url.clone()).or_default().insert(reference.clone());
        }
    }
    // A full commit id cannot move: it only has to be in the cache.
    let mut ask: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut moved = Vec::new();
    for (url, refs) in &wanted {
        let mirror = mirror_dir(options, url);
        for reference in refs {
            if git::is_commit_id(reference) {
                if git::cached_commit(&mirror, reference).await.is_none() {
                    moved.push(Moved {
                        url: url.clone(),
                        reference: reference.clone(),
                        from: None,
                        to: Some(reference.clone()),
                    });
                }
            } else {
                ask.entry(url.clone()).or_default().insert(reference.clone());
            }
        }
    }
    let remote = git::ls_remote_all(&ask, options.jobs).await?;
    for ((url, reference), to) in remote {
        let from = git::cached_commit(&mirror_dir(options, &url), &reference).await;
        if from.is_none() || from != to {
            moved.push(Moved { url, reference, from, to });
        }
    }
    moved.sort_by(|a, b| (&a.url, &a.reference).cmp(&(&b.url, &b.reference)));
    Ok(moved)
}
