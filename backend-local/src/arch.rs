//! Architectures. The local backend builds for its engine's own architecture only: Podman 4.3
//! (Debian 12) does not record `--platform` in images built from `scratch` and cannot pick a
//! platform from a local base image, so cross-arch builds would come out mislabelled. A
//! component that asks for another arch is refused before anything builds, rather than built
//! for the wrong one and called done.

use okd_core::{Error, ErrorKind, Result};

/// This machine's architecture in the names manifests use (`amd64`, `arm64`, ...).
pub(crate) fn native() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// Refuses component `name` when `arches` asks for an architecture other than the engine's.
pub(crate) fn check(name: &str, arches: &[String]) -> Result<()> {
    let native = native();
    let other: Vec<&str> = arches.iter().map(String::as_str).filter(|a| *a != native).collect();
    if other.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::NotImplemented,
        format!(
            "component '{}' is built for {}, but the local backend builds only for this engine's architecture ({native})",
            name,
            arches.join(", ")
        ),
    )
    .with_help(format!(
        "build it with a cluster backend that builds every arch (--backend payload-pipeline or konflux), \
         or build {native} only here: set `arches: [{native}]` on the component or the release"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_arch_is_refused_naming_the_component_and_the_way_out() {
        let two = ["amd64".to_owned(), "arm64".to_owned()];
        let e = check("cli", &two).err().unwrap_or_else(|| panic!("refused"));
        assert_eq!(e.kind(), ErrorKind::NotImplemented);
        if native() == "amd64" {
            assert!(e.to_string().contains("'cli' is built for amd64, arm64"), "{e}");
            assert!(e.help().unwrap_or_default().contains("arches: [amd64]"), "{e:?}");
        }
        assert!(check("cli", &[native().to_owned()]).is_ok());
        assert!(check("cli", &[]).is_ok(), "no arches means the default");
    }
}
