//! The names ci-operator and prowgen derive from a config's identity (ci-tools
//! `pkg/api/metadata.go`, `pkg/jobconfig/files.go`), and okd-build's labels on what it triggers.

use serde_json::{Value, json};

pub use okd_core::backend::names::{RUN_ANNOTATION, RUN_LABEL};
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

pub use okd_core::backend::names::label_value;

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
