//! Settings of the Prow backends (docs/configuration.md lists every backend's).
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `context`, `kubeconfig` | the app.ci cluster: ProwJobs are watched and integration ImageStreams read there | the kubeconfig's current context |
//! | `namespace` | where ProwJobs live | `ci` |
//! | `gangway_url` | Gangway, where jobs are triggered | [`DEFAULT_GANGWAY`] |
//! | `token_file` | file holding the app.ci bearer token for Gangway | `$OKD_PROW_TOKEN` |
//! | `variant` | ci-operator variant of the configs | `okd-scos` |
//! | `promotion_namespace`, `promotion_name` | the integration stream images are promoted to | `origin`, `scos-<X.Y>` |
//! | `build_root` | ci-operator `build_root` image stream tag, `NAMESPACE/NAME:TAG` | `openshift/release:rhel-9-release-golang-1.24-openshift-<X.Y>` |
//! | `build_farm` | the build farm (`cluster:`) generated jobs name; sanitize-prow-jobs picks it in openshift/release | `build05` |
//! | `e2e_test` | add the optional `e2e-aws-ovn` test OKD configs carry | `true` |
//! | `release_repo` | a checkout of openshift/release: its configs join the cross-config promotion check | none |
//! | `git_remote` | where doozer-prow pushes generated sources (one branch per component) | none: required to build with doozer-prow |
//!
//! Nothing here connects: a backend built from these settings renders offline and connects on
//! its first build, status or cancel.

use okd_core::{Error, Result};
use okd_runtime::ClusterConfig;
use serde::{Deserialize, Serialize};

/// OpenShift CI's Gangway route on app.ci.
pub const DEFAULT_GANGWAY: &str = "https://gangway-ci.apps.ci.l2s4.p1.openshiftapps.com";
/// The variant OKD's ci-operator configs use.
pub const DEFAULT_VARIANT: &str = "okd-scos";
/// Where Prow keeps ProwJobs on app.ci.
pub const DEFAULT_PROWJOB_NAMESPACE: &str = "ci";

/// The settings of `prow` and `doozer-prow`, as the settings layers give them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProwConfig {
    /// kubeconfig, context and ProwJob namespace of app.ci.
    #[serde(flatten)]
    pub cluster: ClusterConfig,
    /// Gangway's base URL (`gangway_url`).
    pub gangway_url: Option<String>,
    /// File with the Gangway bearer token (`token_file`).
    pub token_file: Option<String>,
    /// ci-operator variant (`variant`).
    pub variant: Option<String>,
    /// Promotion namespace (`promotion_namespace`).
    pub promotion_namespace: Option<String>,
    /// Promotion stream (`promotion_name`).
    pub promotion_name: Option<String>,
    /// `build_root` image stream tag (`build_root`).
    pub build_root: Option<String>,
    /// Build farm of generated jobs (`build_farm`).
    pub build_farm: Option<String>,
    /// Whether configs carry the optional e2e test (`e2e_test`).
    pub e2e_test: Option<String>,
    /// Checkout of openshift/release for the cross-config check (`release_repo`).
    pub release_repo: Option<String>,
    /// Remote for generated sources (`git_remote`, doozer-prow).
    pub git_remote: Option<String>,
}

/// An image stream tag, `namespace/name:tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTag {
    pub namespace: String,
    pub name: String,
    pub tag: String,
}

impl StreamTag {
    /// Parses `NAMESPACE/NAME:TAG`.
    pub fn parse(text: &str) -> Option<StreamTag> {
        let (namespace, rest) = text.split_once('/')?;
        let (name, tag) = rest.split_once(':')?;
        let ok = |s: &str| !s.is_empty() && !s.contains(['/', ':', ' ']);
        (ok(namespace) && ok(name) && ok(tag)).then(|| StreamTag {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            tag: tag.to_owned(),
        })
    }
}

/// What rendering and building need, defaults applied (the release fills in `<X.Y>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub variant: String,
    pub promotion_namespace: String,
    /// `None`: `scos-<X.Y>` of the release.
    pub promotion_name: Option<String>,
    /// `None`: the golang release image of the release's `<X.Y>`.
    pub build_root: Option<StreamTag>,
    pub build_farm: String,
    pub e2e_test: bool,
    pub release_repo: Option<String>,
    pub git_remote: Option<String>,
    pub gangway_url: String,
    pub token_file: Option<String>,
    /// Where ProwJobs live.
    pub namespace: String,
}

impl Default for Settings {
    fn default() -> Self {
        ProwConfig::default().settings().unwrap_or_else(|_| unreachable!("the defaults are valid"))
    }
}

impl ProwConfig {
    /// The settings these keys give, checked.
    pub fn settings(&self) -> Result<Settings> {
        let build_root = match &self.build_root {
            None => None,
            Some(text) => Some(StreamTag::parse(text).ok_or_else(|| {
                Error::invalid(format!("build_root '{text}' is not NAMESPACE/NAME:TAG")).with_help(
                    "e.g. --set build_root=openshift/release:rhel-9-release-golang-1.24-openshift-4.21",
                )
            })?),
        };
        let e2e_test = match self.e2e_test.as_deref() {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => {
                return Err(Error::invalid(format!("e2e_test '{other}' is not true or false"))
                    .with_help("--set e2e_test=false leaves the optional e2e-aws-ovn test out"));
            }
        };
        let variant = self.variant.clone().unwrap_or_else(|| DEFAULT_VARIANT.to_owned());
        if variant.is_empty()
            || !variant
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        {
            return Err(Error::invalid(format!("variant '{variant}' is not a ci-operator variant"))
                .with_help("variants are lowercase words joined by dashes, e.g. okd-scos"));
        }
        Ok(Settings {
            variant,
            promotion_namespace: self.promotion_namespace.clone().unwrap_or_else(|| "origin".to_owned()),
            promotion_name: self.promotion_name.clone(),
            build_root,
            build_farm: self.build_farm.clone().unwrap_or_else(|| "build05".to_owned()),
            e2e_test,
            release_repo: self.release_repo.clone(),
            git_remote: self.git_remote.clone(),
            gangway_url: self.gangway_url.clone().unwrap_or_else(|| DEFAULT_GANGWAY.to_owned()),
            token_file: self.token_file.clone(),
            namespace: self.cluster.namespace.clone().unwrap_or_else(|| DEFAULT_PROWJOB_NAMESPACE.to_owned()),
        })
    }
}

impl Settings {
    /// `<X.Y>` of the release version.
    pub fn minor(version: &semver::Version) -> String {
        format!("{}.{}", version.major, version.minor)
    }

    /// The integration stream: `promotion_name`, else `scos-<X.Y>`.
    pub fn stream(&self, version: &semver::Version) -> String {
        self.promotion_name.clone().unwrap_or_else(|| format!("scos-{}", Self::minor(version)))
    }

    /// The `build_root` image stream tag.
    pub fn build_root(&self, version: &semver::Version) -> StreamTag {
        self.build_root.clone().unwrap_or_else(|| StreamTag {
            namespace: "openshift".into(),
            name: "release".into(),
            tag: format!("rhel-9-release-golang-1.24-openshift-{}", Self::minor(version)),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use okd_core::registry::BackendSettings;
    use okd_runtime::SettingsLayers;

    use super::*;

    #[test]
    fn defaults_and_checked_values() {
        let settings = Settings::default();
        assert_eq!(settings.variant, "okd-scos");
        let version = semver::Version::parse("4.22.0-0.okd-scos-2026-01-01-000000").unwrap();
        assert_eq!(settings.stream(&version), "scos-4.22");
        assert_eq!(settings.build_root(&version).tag, "rhel-9-release-golang-1.24-openshift-4.22");
        let mut flags = BackendSettings::new();
        flags.insert("build_root".into(), "ocp/builder".into());
        let config: ProwConfig = SettingsLayers::none().load("prow", &flags).unwrap();
        let err = config.settings().unwrap_err();
        assert!(err.to_string().contains("NAMESPACE/NAME:TAG"), "{err}");
        flags.insert("build_root".into(), "ocp/builder:rhel-9".into());
        flags.insert("variant".into(), "okd".into());
        flags.insert("e2e_test".into(), "false".into());
        let settings = SettingsLayers::none().load::<ProwConfig>("prow", &flags).unwrap().settings().unwrap();
        assert_eq!(settings.build_root(&version).name, "builder");
        assert_eq!(settings.variant, "okd");
        assert!(!settings.e2e_test);
        flags.insert("varient".into(), "x".into());
        let err = SettingsLayers::none().load::<ProwConfig>("prow", &flags).unwrap_err();
        assert!(err.help().unwrap().contains("promotion_namespace"), "{err:?}");
    }
}
