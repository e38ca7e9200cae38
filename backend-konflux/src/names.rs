//! Names and references: Kubernetes name and label rules, repositories from git URLs, Konflux
//! platforms, image references. Kept in one place because render, build and import must agree on
//! every one of them.

/// Labels okd-build puts on what it creates, so a later process finds its objects.
pub(crate) use okd_core::backend::names::{COMPONENT_LABEL, RUN_ANNOTATION, RUN_LABEL};
pub(crate) const FINGERPRINT_ANNOTATION: &str = "okd-build.io/fingerprint";
/// On a rendered PipelineRun that points at an OKD Dockerfile: the component's own Dockerfile,
/// so an import restores it instead of adopting the generated one.
pub(crate) const SOURCE_DOCKERFILE_ANNOTATION: &str = "okd-build.io/source-dockerfile";
/// Build args okd-build computed (FROM images taken from ARGs), which an import drops.
pub(crate) const GENERATED_ARGS_ANNOTATION: &str = "okd-build.io/generated-build-args";

pub(crate) const APPLICATION_LABEL: &str = "appstudio.openshift.io/application";
pub(crate) const KONFLUX_COMPONENT_LABEL: &str = "appstudio.openshift.io/component";
pub(crate) const PIPELINE_TYPE_LABEL: &str = "pipelines.appstudio.openshift.io/type";

pub(crate) use okd_core::backend::names::{dns_label, fit_name, label_value};

/// The first 12 hex digits of a `sha256:` fingerprint: what deterministic object names carry.
pub(crate) fn fingerprint_suffix(fingerprint: &str) -> String {
    fingerprint.trim_start_matches("sha256:").chars().take(12).collect()
}

/// A repository as the rendered tree and the Konflux annotations name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Repo {
    /// `org/repo`: where its files land under the render folder.
    pub(crate) slug: String,
    /// The clone URL as the manifest gives it.
    pub(crate) url: String,
    /// `https://host/org/repo`, for `build.appstudio.openshift.io/repo`.
    pub(crate) web: String,
}

/// The repository a git URL names: https, ssh (`git@host:org/repo`) and file URLs.
pub(crate) fn repo_from_url(url: &str) -> Repo {
    let trimmed = url.trim_end_matches('/');
    let without_scheme = trimmed.split_once("://").map_or(trimmed, |(_, rest)| rest);
    // scp-like `git@host:org/repo`.
    let (host, path) = match without_scheme.split_once('/') {
        Some((host, path)) if !host.contains(':') || trimmed.contains("://") => (host, path.to_owned()),
        _ => match without_scheme.split_once(':') {
            Some((host, path)) => (host, path.to_owned()),
            None => ("", without_scheme.to_owned()),
        },
    };
    let host = host.rsplit('@').next().unwrap_or(host);
    let path = path.trim_end_matches(".git");
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let slug = match parts.as_slice() {
        [] => "unknown/unknown".to_owned(),
        [one] => format!("local/{one}"),
        [.., org, repo] => format!("{org}/{repo}"),
    };
    let web = if url.starts_with("file:") || host.is_empty() {
        url.to_owned()
    } else {
        format!("https://{host}/{}", parts.join("/"))
    };
    Repo { slug, url: url.to_owned(), web }
}

/// Konflux's platform name for a manifest architecture (the multi-platform controller's names,
/// as ART uses them).
pub(crate) fn platform(arch: &str) -> String {
    match arch {
        "amd64" => "linux/x86_64".to_owned(),
        other => format!("linux/{other}"),
    }
}

/// The manifest architecture of a Konflux platform, if it is one the manifest knows.
pub(crate) fn arch_of_platform(platform: &str) -> Option<&'static str> {
    match platform.strip_prefix("linux/").unwrap_or(platform) {
        "x86_64" | "amd64" => Some("amd64"),
        "arm64" | "aarch64" => Some("arm64"),
        "ppc64le" => Some("ppc64le"),
        "s390x" => Some("s390x"),
        _ => None,
    }
}

/// An image reference without its tag or digest: `reg/repo:tag` and `reg/repo@sha256:...`
/// give `reg/repo` (a registry port is not a tag).
pub(crate) fn image_repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => &image[..i],
        _ => image,
    }
}

/// `repo@digest` for an image built as `image` with `digest`.
pub(crate) fn pinned(image: &str, digest: &str) -> String {
    format!("{}@{digest}", image_repository(image))
}

/// Whether `text` is a whole variable reference, `$NAME` or `${NAME}`, and which.
pub(crate) fn whole_variable(text: &str) -> Option<&str> {
    let name =
        text.strip_prefix("${").and_then(|t| t.strip_suffix('}')).or_else(|| text.strip_prefix('$'))?;
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    (first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_kubernetes_rules() {
        assert_eq!(dns_label("okd-4.22"), "okd-4-22");
        assert_eq!(dns_label("OKD Mini!"), "okd-mini");
        assert_eq!(dns_label("..."), "x");
        let long = "a".repeat(80);
        let name = fit_name(&long, "0123456789ab");
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("-0123456789ab"));
        assert_eq!(label_value("okd-mini-konflux-abc"), "okd-mini-konflux-abc");
        let odd = label_value("a/b:c");
        assert!(odd.len() <= 63 && odd.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "{odd}");
    }

    #[test]
    fn repositories_come_from_every_url_shape() {
        let https = repo_from_url("https://github.com/openshift/lvm-operator.git");
        assert_eq!(
            (https.slug.as_str(), https.web.as_str()),
            ("openshift/lvm-operator", "https://github.com/openshift/lvm-operator")
        );
        let ssh = repo_from_url("git@github.com:openshift-priv/installer.git");
        assert_eq!(
            (ssh.slug.as_str(), ssh.web.as_str()),
            ("openshift-priv/installer", "https://github.com/openshift-priv/installer")
        );
        let file = repo_from_url("file:///tmp/x/remote.git");
        assert_eq!(file.slug, "x/remote");
        assert_eq!(file.web, "file:///tmp/x/remote.git");
    }

    #[test]
    fn image_references() {
        assert_eq!(image_repository("127.0.0.1:5000/okd/x:cli-abc"), "127.0.0.1:5000/okd/x");
        assert_eq!(image_repository("127.0.0.1:5000/okd/x"), "127.0.0.1:5000/okd/x");
        assert_eq!(image_repository("quay.io/a/b@sha256:00"), "quay.io/a/b");
        assert_eq!(pinned("quay.io/a/b:t", "sha256:01"), "quay.io/a/b@sha256:01");
        assert_eq!(whole_variable("${BASE_IMAGE}"), Some("BASE_IMAGE"));
        assert_eq!(whole_variable("$BASE"), Some("BASE"));
        assert_eq!(whole_variable("quay.io/${X}:1"), None);
        assert_eq!(platform("amd64"), "linux/x86_64");
        assert_eq!(arch_of_platform("linux/x86_64"), Some("amd64"));
        assert_eq!(arch_of_platform("linux/riscv64"), None);
    }
}
