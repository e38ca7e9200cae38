//! The names ci-operator and prowgen derive from a config's identity (ci-tools
//! `pkg/api/metadata.go`, `pkg/jobconfig/files.go`), and okd-build's labels on what it triggers.

use serde_json::{Value, json};

/// The label on every ProwJob a run triggers: the run id as a label value.
pub const RUN_LABEL: &str = "okd-build.io/run";
/// The annotation carrying the full run id (a label value is limited to 63 characters).
pub const RUN_ANNOTATION: &str = "okd-build.io/run";
/// The annotation listing the components a triggered job builds, comma-separated.
pub const COMPONENTS_ANNOTATION: &str = "okd-build.io/components";

/// One ci-operator config's identity: `<org>/<repo>@<branch>__<variant>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConfigId {
    pub org: String,
    pub repo: String,
    pub branch: String,
    pub variant: String,
}

impl ConfigId {
    /// `ci-operator/config/<org>/<repo>/<org>-<repo>-<branch>__<variant>.yaml`.
    pub fn config_path(&self) -> String {
        let ConfigId { org, repo, branch, variant } = self;
        format!("ci-operator/config/{org}/{repo}/{org}-{repo}-{branch}__{variant}.yaml")
    }

    /// `ci-operator/jobs/<org>/<repo>/<org>-<repo>-<branch>-<kind>.yaml`: variants share the
    /// branch's job files.
    pub fn jobs_path(&self, kind: &str) -> String {
        let ConfigId { org, repo, branch, .. } = self;
        format!("ci-operator/jobs/{org}/{repo}/{org}-{repo}-{branch}-{kind}.yaml")
    }

    /// `zz_generated_metadata`, equal to what determinize-ci-operator derives from the path.
    pub fn metadata(&self) -> Value {
        json!({"org": self.org, "repo": self.repo, "branch": self.branch, "variant": self.variant})
    }

    /// A test's short name: `<variant>-<test>`.
    pub fn short(&self, test: &str) -> String {
        format!("{}-{test}", self.variant)
    }

    /// `<prefix>-ci-<org>-<repo>-<branch>-<variant>-<test>`, prefix `pull`, `branch` or `periodic`.
    pub fn job_name(&self, prefix: &str, test: &str) -> String {
        format!("{prefix}-ci-{}-{}-{}-{}", self.org, self.repo, self.branch, self.short(test))
    }

    /// The promotion postsubmit that builds and promotes every image of the config.
    pub fn images_postsubmit(&self) -> String {
        self.job_name("branch", "images")
    }

    /// `<org>/<repo>`, as Prow's job config keys jobs.
    pub fn org_repo(&self) -> String {
        format!("{}/{}", self.org, self.repo)
    }
}

/// The pipeline alias ci-operator's convention gives an image stream tag:
/// `<namespace>_<name>_<tag>`.
pub fn base_image_alias(namespace: &str, name: &str, tag: &str) -> String {
    format!("{namespace}_{name}_{tag}")
}

/// `text` as a Kubernetes label value: at most 63 characters of `[A-Za-z0-9._-]`, alphanumeric
/// at both ends. Longer values keep a prefix and a hash so they stay distinct.
pub fn label_value(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let clean: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' })
        .collect();
    let clean = clean.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_owned();
    if clean.len() <= 63 {
        return clean;
    }
    let hash = hex::encode(Sha256::digest(text.as_bytes()));
    format!("{}-{}", clean[..50].trim_end_matches(|c: char| !c.is_ascii_alphanumeric()), &hash[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_ci_tools() {
        let id = ConfigId {
            org: "openshift".into(),
            repo: "cluster-dns-operator".into(),
            branch: "main".into(),
            variant: "okd-scos".into(),
        };
        assert_eq!(
            id.config_path(),
            "ci-operator/config/openshift/cluster-dns-operator/openshift-cluster-dns-operator-main__okd-scos.yaml"
        );
        assert_eq!(
            id.jobs_path("postsubmits"),
            "ci-operator/jobs/openshift/cluster-dns-operator/openshift-cluster-dns-operator-main-postsubmits.yaml"
        );
        assert_eq!(id.images_postsubmit(), "branch-ci-openshift-cluster-dns-operator-main-okd-scos-images");
        assert_eq!(
            id.job_name("pull", "e2e-aws-ovn"),
            "pull-ci-openshift-cluster-dns-operator-main-okd-scos-e2e-aws-ovn"
        );
        assert_eq!(base_image_alias("origin", "scos-4.19", "base-stream9"), "origin_scos-4.19_base-stream9");
        let long = label_value(&"x".repeat(80));
        assert!(long.len() <= 63 && long.starts_with("xxxx"));
        assert_eq!(label_value("okd-mini-prow-0123456789ab"), "okd-mini-prow-0123456789ab");
    }
}
