//! Release streams as the release controller keeps them: payloads named
//! `<X.Y.0-0.<stream>>-<UTC YYYY-MM-DD-HHMMSS>`, the stream's configuration
//! (`core-services/release-controller/_releases/release-<stream>-<X.Y>.json` in openshift/release)
//! and the public image-mirroring mapping. okd-build renders these so one pull request to
//! openshift/release turns what `okd payload publish` pushes into a real stream.

use serde_json::{Value, json};

use super::{PayloadTag, valid_tag};
use crate::{Error, Result};

/// A release stream: its name (`okd-scos`) and the release's minor version (`4.21`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    /// `okd-scos`, `okd`, ...
    pub name: String,
    /// `MAJOR.MINOR`.
    pub minor: String,
}

impl Stream {
    /// The stream of `version` (`4.21.0-0.okd-scos` or any 4.21 version) called `name`.
    pub fn new(name: &str, version: &semver::Version) -> Result<Stream> {
        let ok = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if !ok {
            return Err(Error::invalid(format!("stream name `{name}` is not a semver identifier"))
                .with_help("a stream name is letters, digits and inner dashes, like okd-scos"));
        }
        Ok(Stream { name: name.to_owned(), minor: format!("{}.{}", version.major, version.minor) })
    }

    /// The release-name prefix, the config's `name`: `4.21.0-0.okd-scos`.
    pub fn prefix(&self) -> String {
        format!("{}.0-0.{}", self.minor, self.name)
    }

    /// A nightly's name at `at` (UTC): `4.21.0-0.okd-scos-2026-01-20-123456`.
    pub fn nightly(&self, at: jiff::Timestamp) -> String {
        format!("{}-{}", self.prefix(), at.strftime("%Y-%m-%d-%H%M%S"))
    }

    /// Whether `tag` is one of this stream's nightlies.
    pub fn is_nightly(&self, tag: &str) -> bool {
        let Some(rest) = tag.strip_prefix(&format!("{}-", self.prefix())) else { return false };
        rest.len() == 17
            && rest
                .char_indices()
                .all(|(i, c)| if [4, 7, 10].contains(&i) { c == '-' } else { c.is_ascii_digit() })
    }

    /// The tag the newest payload also gets, as the config's `publish.tag.tagRef` moves it:
    /// `scos-4.21` for `okd-scos` (OKD's streams drop the `okd-`).
    pub fn moving_tag(&self) -> String {
        format!("{}-{}", self.name.strip_prefix("okd-").unwrap_or(&self.name), self.minor)
    }

    /// The config file's path in openshift/release.
    pub fn config_path(&self) -> String {
        format!("core-services/release-controller/_releases/release-{}-{}.json", self.name, self.minor)
    }

    /// The mirroring mapping's path in openshift/release (`mapping_origin_scos-4_21`).
    pub fn mapping_path(&self) -> String {
        format!(
            "core-services/image-mirroring/openshift/mapping_origin_{}-{}",
            self.name.strip_prefix("okd-").unwrap_or(&self.name),
            self.minor.replace('.', "_")
        )
    }

    /// The release-controller configuration of the stream, shaped like OKD/SCOS's real ones:
    /// nightlies at most every 12 hours, one unready at a time, kept 72 hours, the moving tag
    /// published, and the blocking e2e-aws-ovn periodic that the release-gating config
    /// (`openshift-release-master__<stream>-<X.Y>.yaml`) generates.
    pub fn release_controller_config(&self, to: &str) -> Value {
        let job = format!("periodic-ci-openshift-release-master-{}-{}-e2e-aws-ovn", self.name, self.minor);
        json!({
            "name": self.prefix(),
            "to": to,
            "mirrorPrefix": format!("{}-{}", self.minor, self.name),
            "expires": "72h",
            "maxUnreadyReleases": 1,
            "minCreationIntervalSeconds": 43200,
            "check": {},
            "publish": {"tag": {"tagRef": {"name": self.moving_tag()}}},
            "verify": {
                "aws": {"maxRetries": 2, "prowJob": {"name": job}},
                "aws-upgrade": {
                    "maxRetries": 2,
                    "optional": true,
                    "prowJob": {"name": format!("{job}-upgrade")},
                    "upgrade": true
                }
            }
        })
    }
}

/// The `oc image mirror` mapping of a payload's tags: each image by digest to
/// `<prefix><tag>:<X.Y>` and `:<X.Y.0>`, as openshift/release mirrors origin/scos-X.Y to
/// quay.io/openshift/origin-<tag>. One line per tag, sorted.
pub fn mirror_mapping(tags: &[PayloadTag], prefix: &str, stream: &Stream) -> Result<String> {
    let mut lines = Vec::new();
    for tag in tags {
        if !valid_tag(&tag.name) {
            return Err(Error::invalid(format!("tag `{}` cannot be a mirror tag", tag.name)));
        }
        lines.push(format!(
            "{} {prefix}{name}:{minor} {prefix}{name}:{minor}.0",
            tag.image,
            name = tag.name,
            minor = stream.minor
        ));
    }
    lines.sort();
    let mut text = lines.join("\n");
    text.push('\n');
    Ok(text)
}

/// The stream's nightlies among `tags`, oldest first (their names sort by time).
pub fn nightlies(stream: &Stream, tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = tags.iter().filter(|t| stream.is_nightly(t)).cloned().collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream() -> Stream {
        Stream::new(
            "okd-scos",
            &semver::Version::parse("4.21.0-0.okd-scos").unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn nightlies_are_named_like_the_release_controllers() {
        let s = stream();
        let at: jiff::Timestamp = "2026-01-20T12:34:56Z".parse().unwrap_or_else(|e| panic!("{e}"));
        let name = s.nightly(at);
        assert_eq!(name, "4.21.0-0.okd-scos-2026-01-20-123456");
        assert!(semver::Version::parse(&name).is_ok());
        assert!(s.is_nightly(&name));
        assert!(!s.is_nightly("4.21.0-0.okd-scos"));
        assert!(!s.is_nightly("4.21.0-0.okd-scos-2026-01-20-12345x"));
        assert!(!s.is_nightly("4.20.0-0.okd-scos-2026-01-20-123456"));
        assert_eq!(s.moving_tag(), "scos-4.21");
        assert_eq!(s.config_path(), "core-services/release-controller/_releases/release-okd-scos-4.21.json");
        assert_eq!(s.mapping_path(), "core-services/image-mirroring/openshift/mapping_origin_scos-4_21");
        let tags = vec!["latest".to_owned(), name.clone(), "4.21.0-0.okd-scos-2025-12-31-000000".to_owned()];
        assert_eq!(nightlies(&s, &tags), ["4.21.0-0.okd-scos-2025-12-31-000000".to_owned(), name]);
    }

    #[test]
    fn a_stream_name_that_cannot_be_in_a_version_is_refused() {
        let v = semver::Version::new(4, 21, 0);
        for bad in ["", "okd scos", "okd_scos", "-okd", "okd/scos"] {
            assert!(Stream::new(bad, &v).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_mapping_names_every_tag_twice() {
        let image = super::super::ImageRef::parse(&format!("reg.io/okd/x@sha256:{}", "a".repeat(64)))
            .unwrap_or_else(|e| panic!("{e}"));
        let tags = vec![PayloadTag { name: "cli".into(), image }];
        let text =
            mirror_mapping(&tags, "quay.io/openshift/origin-", &stream()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            text,
            format!(
                "reg.io/okd/x@sha256:{} quay.io/openshift/origin-cli:4.21 quay.io/openshift/origin-cli:4.21.0\n",
                "a".repeat(64)
            )
        );
    }
}
