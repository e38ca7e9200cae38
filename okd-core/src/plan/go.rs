//! Go builders: which Go version a builder image reference names, and the `builder-golang-X-Y`
//! components okd-build builds for them (OKD cannot pull OCP's builders, which sit behind CI
//! credentials, so it builds one per Go version its components use; see docs/builders.md).
//!
//! Pure text rules: the importers use them to find builder references, the plan to say which
//! Go version each component builds with.

use std::{collections::BTreeMap, fmt};

use serde::{Serialize, Serializer};

use crate::{
    manifest::{Component, Release, Target},
    resolve::{Resolution, Rule},
};

/// The prefix of the components that build a Go builder. A component name is a DNS-1123 label
/// (no '.'), so Go 1.24's builder is `builder-golang-1-24`.
pub const BUILDER_PREFIX: &str = "builder-golang-";

/// A Go release line, `major.minor` (patch releases share a builder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoVersion {
    /// 1 for every Go release so far.
    pub major: u32,
    /// 24 for Go 1.24.
    pub minor: u32,
}

impl GoVersion {
    /// The component that builds this version's builder: `builder-golang-1-24`.
    pub fn builder_name(self) -> String {
        format!("{BUILDER_PREFIX}{}-{}", self.major, self.minor)
    }
}

impl fmt::Display for GoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl Serialize for GoVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A decimal number as Go writes version parts: 1 to 4 digits, no leading zero (except `0`).
fn number(text: &str) -> Option<(u32, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 4 || (digits > 1 && text.starts_with('0')) {
        return None;
    }
    Some((text[..digits].parse().ok()?, &text[digits..]))
}

/// The Go version an image reference, tag, stream or base image name names, as OpenShift's
/// builders are named: `golang-X.Y` as a word of its own (`rhel-9-golang-1.24`,
/// `builder:rhel-9-golang-1.24-openshift-4.22`, `rhel-9-release-golang-1.24-openshift-4.22`),
/// or ART's builder tags `golang-builder-vX.Y.Z-...`. A patch number is dropped. Nothing else
/// matches: not `golang` alone (`stream: golang`, resolved through streams.yml), not
/// `golangci-lint-1.55`, not `mygolang-1.2`, not `golang-1.24rc1`.
pub fn go_version(reference: &str) -> Option<GoVersion> {
    let text = reference.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = text[from..].find("golang-") {
        let start = from + found;
        from = start + 1;
        if text[..start].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        let rest = &text[start + "golang-".len()..];
        let rest = rest.strip_prefix("builder-").unwrap_or(rest);
        let rest = rest.strip_prefix('v').unwrap_or(rest);
        let Some((major, rest)) = number(rest) else { continue };
        let Some((minor, rest)) = rest.strip_prefix('.').and_then(number) else { continue };
        if rest.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        return Some(GoVersion { major, minor });
    }
    None
}

/// The Go version of a builder component's name (`builder-golang-1-24`), else `None`.
pub fn builder_version(component: &str) -> Option<GoVersion> {
    let (major, minor) = component.strip_prefix(BUILDER_PREFIX)?.split_once('-')?;
    let whole = |s: &str| number(s).filter(|(_, rest)| rest.is_empty()).map(|(n, _)| n);
    Some(GoVersion { major: whole(major)?, minor: whole(minor)? })
}

/// One Go builder a component builds on: the version and what provides it (a `builder-golang`
/// member, or the external image as it resolves).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct GoBuilderUse {
    /// The Go version.
    pub version: GoVersion,
    /// The member's name, or the image reference built on.
    pub builder: String,
}

/// The Go builder a target stands for, if any.
fn target_use(release: &Release, target: &Target) -> Option<GoBuilderUse> {
    let (version, builder) = match target {
        Target::Member(m) => (builder_version(m)?, m.clone()),
        Target::Stream(s) => {
            let image = release.streams.get(s).map_or(s.as_str(), |st| st.image.as_str());
            (go_version(image).or_else(|| go_version(s))?, image.to_owned())
        }
        Target::Image(p) => (go_version(p)?, p.clone()),
    };
    Some(GoBuilderUse { version, builder })
}

/// The Go builders component `c` builds on: from its resolved references when its source was
/// read (`stages`), else from its explicit `from`/`last_from` targets.
pub(super) fn component_uses(release: &Release, c: &Component, stages: &[Resolution]) -> Vec<GoBuilderUse> {
    let mut uses: Vec<GoBuilderUse> = if stages.is_empty() {
        c.from
            .iter()
            .flat_map(|f| f.targets())
            .chain(&c.last_from)
            .filter_map(|t| target_use(release, t))
            .collect()
    } else {
        stages
            .iter()
            .filter(|s| !matches!(s.rule, Rule::Stage | Rule::Scratch))
            .filter_map(|s| match &s.target {
                Some(t @ Target::Member(_)) => target_use(release, t),
                Some(t) => target_use(release, t).or_else(|| {
                    go_version(&s.resolved)
                        .map(|version| GoBuilderUse { version, builder: s.resolved.clone() })
                }),
                None => go_version(&s.resolved)
                    .map(|version| GoBuilderUse { version, builder: s.resolved.clone() }),
            })
            .collect()
    };
    uses.sort();
    uses.dedup();
    uses
}

/// One Go version of a plan: what provides it and which components build on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GoVersionUse {
    /// The Go version.
    pub version: GoVersion,
    /// `builder-golang` members and external images that provide it.
    pub builders: Vec<String>,
    /// Components that build on it, in build order.
    pub components: Vec<String>,
}

impl super::Plan {
    /// The Go versions the release's components build with, oldest first.
    pub fn go_versions(&self) -> Vec<GoVersionUse> {
        let mut by_version: BTreeMap<GoVersion, GoVersionUse> = BTreeMap::new();
        for c in &self.components {
            for u in &c.go_builders {
                let entry = by_version.entry(u.version).or_insert_with(|| GoVersionUse {
                    version: u.version,
                    builders: Vec::new(),
                    components: Vec::new(),
                });
                if !entry.builders.contains(&u.builder) {
                    entry.builders.push(u.builder.clone());
                }
                if !entry.components.contains(&c.name) {
                    entry.components.push(c.name.clone());
                }
            }
        }
        by_version.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(major: u32, minor: u32) -> Option<GoVersion> {
        Some(GoVersion { major, minor })
    }

    #[test]
    fn go_versions_are_read_from_openshift_builder_names() {
        for (name, want) in [
            ("golang-1.23", v(1, 23)),
            ("rhel-9-golang-1.24", v(1, 24)),
            ("rhel-9-release-golang-1.24-openshift-4.22", v(1, 24)),
            ("registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.24-openshift-4.22", v(1, 24)),
            ("registry.ci.openshift.org/ocp/builder:rhel-8-golang-1.25-openshift-4.22.art", v(1, 25)),
            (
                "registry.ci.openshift.org/openshift/release:rhel-9-release-golang-1.22-openshift-4.19",
                v(1, 22),
            ),
            ("ocp_builder_rhel-9-golang-1.23-openshift-4.20", v(1, 23)),
            ("rhel-9-golang-1.25", v(1, 25)),
            ("partner-rhel-9-golang-1.25", v(1, 25)),
            (
                "quay.io/redhat-user-workloads/ocp-art-tenant/art-images:golang-builder-v1.24.11-202601061056.ge8e5642.el9",
                v(1, 24),
            ),
            ("golang-1.24.3", v(1, 24)),
            ("GOLANG-1.9", v(1, 9)),
            ("builder:golang-1.10-openshift-4.1", v(1, 10)),
        ] {
            assert_eq!(go_version(name), want, "{name}");
        }
    }

    #[test]
    fn names_without_a_go_version_do_not_match() {
        for name in [
            "golang",
            "rhel-9-golang",
            "registry.ci.openshift.org/ocp/builder:rhel-9-base-nodejs-openshift-4.22",
            "registry.ci.openshift.org/ocp/4.22:base-rhel9",
            "golangci-lint-1.55",
            "mygolang-1.23",
            "golang-1",
            "golang-1.",
            "golang-x.y",
            "golang-01.22",
            "golang-1.024",
            "golang-1.24rc1",
            "golang-builder",
            "go-1.23",
            "golang:1.23",
            "quay.io/centos/centos:stream9",
            "golang-99999.1",
            "",
        ] {
            assert_eq!(go_version(name), None, "{name}");
        }
    }

    #[test]
    fn builder_names_round_trip_and_only_they_parse() {
        let go = GoVersion { major: 1, minor: 24 };
        assert_eq!(go.builder_name(), "builder-golang-1-24");
        assert!(crate::manifest::is_dns1123_label(&go.builder_name()));
        assert_eq!(builder_version(&go.builder_name()), Some(go));
        assert_eq!(go.to_string(), "1.24");
        for name in [
            "builder",
            "builder-golang-1",
            "builder-golang-1-24-x",
            "builder-golang-1-",
            "xbuilder-golang-1-24",
        ] {
            assert_eq!(builder_version(name), None, "{name}");
        }
    }

    #[test]
    fn versions_order_numerically() {
        let mut list = [go_version("golang-1.10"), go_version("golang-1.9")];
        list.sort();
        assert_eq!(list.iter().flatten().map(ToString::to_string).collect::<Vec<_>>(), ["1.9", "1.10"]);
    }
}
