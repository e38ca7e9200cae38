//! Git sources for a release whose real repositories are out of reach (the corpus's 4.22
//! ocp-build-data import names ~200 GitHub repositories; tests never reach the internet).
//!
//! [`git_sources`] makes one local repository per source URL and ref, with a small Dockerfile
//! at each component's path that has as many FROM lines as the component's positional `from`
//! needs (builders, then the final one), and rewrites the manifest's `https://github.com/` URLs
//! to `file://` ones. The build graph, FROM resolution and grouping by repository are therefore
//! the real release's; only the Dockerfiles' bodies are made up.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
};

use okd_core::{
    manifest::{Component, LoadOptions, Release, Source, load_str},
    source::{Origin, SourceSnapshot, SourceState, Sources},
};
use sha2::{Digest, Sha256};

/// A FROM text no rule but the positional one resolves.
const BUILDER_FROM: &str = "registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.24-openshift-4.22";
const FINAL_FROM: &str = "registry.ci.openshift.org/ocp/4.22:base-rhel9";

/// Writes the repositories under `dir/git/<org>/<repo>` and returns the manifest text with its
/// GitHub URLs pointing there.
///
/// # Panics
///
/// When `manifest` does not load or git fails (a test fixture bug).
pub fn git_sources(manifest: &str, dir: &Path) -> String {
    let release = load_str(&dir.join("release.yaml"), manifest, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("the manifest loads: {e}"));
    // (url, ref) -> files of the repository at that ref.
    let mut repos: BTreeMap<(String, String), BTreeMap<PathBuf, String>> = BTreeMap::new();
    for c in &release.components {
        let Source::Git { url, reference } = &c.source else { continue };
        repos.entry((url.clone(), reference.clone())).or_default().insert(c.dockerfile_path(), dockerfile(c));
    }
    for ((url, reference), files) in &repos {
        let root = local(url, dir);
        std::fs::create_dir_all(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
        if !root.join(".git").exists() {
            git(&root, &["init", "-q", "-b", reference]);
        } else {
            git(&root, &["checkout", "-q", "-B", reference]);
        }
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap_or(&root)).unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        git(&root, &["add", "-A"]);
        git(&root, &["commit", "-q", "-m", "synthetic sources"]);
    }
    manifest.replace("https://github.com/", &format!("file://{}/git/", dir.display()))
}

/// A Dockerfile with the FROM lines `c`'s positional `from` needs: one builder stage per
/// builder, then the final stage.
pub fn dockerfile(c: &Component) -> String {
    let builders = c.from.as_ref().map_or(0, |f| f.builders.len());
    let mut text = String::new();
    for i in 0..builders {
        text.push_str(&format!("FROM {BUILDER_FROM} AS builder{i}\nRUN make build-{i}\n"));
    }
    text.push_str(&format!("FROM {FINAL_FROM}\n"));
    if builders > 0 {
        text.push_str("COPY --from=builder0 /out /usr/bin/\n");
    }
    text.push_str(&format!("LABEL io.k8s.display-name={}\n", c.name));
    text
}

/// The release's git sources as if read, without any repository: each component's
/// [`dockerfile`] at a commit derived from its URL and ref (deterministic, so renders can be
/// golden files). Path sources are left out (plan them as unread).
pub fn sources_in_memory(release: &Release) -> Sources {
    let states = release
        .components
        .iter()
        .filter_map(|c| {
            let Source::Git { url, reference } = &c.source else { return None };
            let commit = hex::encode(&Sha256::digest(format!("{url}@{reference}").as_bytes())[..20]);
            let path = c.dockerfile_path();
            let snapshot = SourceSnapshot {
                origin: Origin::Git {
                    url: url.clone(),
                    reference: reference.clone(),
                    commit: commit.clone(),
                },
                dockerfile: dockerfile(c),
                dockerfile_path: PathBuf::from(format!("{url}@{commit}:{}", path.display())),
                content: format!("{url}@{commit}:{}", c.context),
            };
            Some((c.name.clone(), SourceState::Read(snapshot)))
        })
        .collect();
    Sources(states)
}

fn local(url: &str, dir: &Path) -> PathBuf {
    let rest = url.strip_prefix("https://github.com/").unwrap_or_else(|| panic!("{url} is not on GitHub"));
    dir.join("git").join(rest.trim_end_matches(".git"))
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap_or_else(|e| panic!("git: {e}"));
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
