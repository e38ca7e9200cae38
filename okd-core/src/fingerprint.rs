//! Fingerprints: a sha256 over everything that decides a component's image, and nothing else.
//!
//! Inputs are the source identity (a commit, or a content hash of a path source), the rewritten
//! Dockerfile, the build args, the arches, the resolved external references and the fingerprints
//! of member parents. The component's name is not an input: two components built from the same
//! inputs produce the same image. Every field is length-prefixed, so no two different inputs
//! can hash the same by shifting bytes between fields.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// Everything that decides an image.
#[derive(Debug, Clone, Copy)]
pub struct FingerprintInput<'a> {
    /// Commit and context (git) or `sha256:` of the context (path).
    pub content: &'a str,
    /// The Dockerfile's path inside the source.
    pub dockerfile_path: &'a str,
    /// The Dockerfile after FROM resolution.
    pub dockerfile: &'a str,
    /// `--build-arg` values.
    pub build_args: &'a BTreeMap<String, String>,
    /// Target architectures.
    pub arches: &'a [String],
    /// Resolved references that are not members (streams, images, external), in file order.
    pub externals: &'a [&'a str],
    /// `(name, fingerprint)` of each member parent.
    pub parents: &'a [(&'a str, &'a str)],
}

/// The fingerprint of `input`, as `sha256:<hex>`.
pub fn fingerprint(input: &FingerprintInput<'_>) -> String {
    let mut h = Hasher(Sha256::new());
    h.field(b"okd-build fingerprint v1");
    h.field(input.content.as_bytes());
    h.field(input.dockerfile_path.as_bytes());
    h.field(input.dockerfile.as_bytes());
    h.count(input.build_args.len());
    for (k, v) in input.build_args {
        h.field(k.as_bytes());
        h.field(v.as_bytes());
    }
    let mut arches: Vec<&str> = input.arches.iter().map(String::as_str).collect();
    arches.sort_unstable();
    h.count(arches.len());
    arches.iter().for_each(|a| h.field(a.as_bytes()));
    h.count(input.externals.len());
    input.externals.iter().for_each(|e| h.field(e.as_bytes()));
    let mut parents = input.parents.to_vec();
    parents.sort_unstable();
    h.count(parents.len());
    for (name, fp) in parents {
        h.field(name.as_bytes());
        h.field(fp.as_bytes());
    }
    format!("sha256:{}", hex::encode(h.0.finalize()))
}

struct Hasher(Sha256);

impl Hasher {
    fn field(&mut self, bytes: &[u8]) {
        self.count(bytes.len());
        self.0.update(bytes);
    }

    fn count(&mut self, n: usize) {
        self.0.update((n as u64).to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_cannot_bleed_into_each_other() {
        let args = BTreeMap::new();
        let base = FingerprintInput {
            content: "ab",
            dockerfile_path: "c",
            dockerfile: "",
            build_args: &args,
            arches: &[],
            externals: &[],
            parents: &[],
        };
        let shifted = FingerprintInput { content: "a", dockerfile_path: "bc", ..base };
        assert_ne!(fingerprint(&base), fingerprint(&shifted));
        assert!(fingerprint(&base).starts_with("sha256:") && fingerprint(&base).len() == 71);
    }

    #[test]
    fn arch_and_parent_order_do_not_matter() {
        let args = BTreeMap::new();
        let (a1, a2) = (["amd64".to_owned(), "arm64".to_owned()], ["arm64".to_owned(), "amd64".to_owned()]);
        let mk =
            |arches: &'static [String], parents: &'static [(&'static str, &'static str)]| FingerprintInput {
                content: "x",
                dockerfile_path: "Dockerfile",
                dockerfile: "FROM a",
                build_args: &args,
                arches,
                externals: &[],
                parents,
            };
        let (a1, a2): (&'static [String], &'static [String]) =
            (Box::leak(Box::new(a1)), Box::leak(Box::new(a2)));
        assert_eq!(
            fingerprint(&mk(a1, &[("a", "1"), ("b", "2")])),
            fingerprint(&mk(a2, &[("b", "2"), ("a", "1")]))
        );
        assert_ne!(fingerprint(&mk(a1, &[("a", "1")])), fingerprint(&mk(a1, &[("a", "2")])));
    }
}
