//! Architectures. A component built only for the engine's own architecture is one image, as
//! ever. One built for others too (`arches: [amd64, arm64]`) is built once per arch with
//! `--platform`, each image pushed as `<image>-<arch>`, and the arches joined into a manifest
//! list pushed as `<image>`: what `podman manifest` does, done through the registry API so the
//! payload and every child build see one reference. Other arches run under qemu-user-static's
//! binfmt handlers, so those are checked before anything builds; the list lives in the
//! registry, so such builds need `--push`.

use std::path::Path;

use okd_core::{
    Error, ErrorKind, Result,
    backend::{ArchResult, Outcome},
    payload::{ImageRef, ImageRegistry, media},
};
use okd_runtime::oci::OciRegistry;
use serde_json::{Value, json};

use crate::client::{BuildRequest, Engine};

/// This machine's architecture in the names manifests use (`amd64`, `arm64`, ...).
pub(crate) fn native() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The arches `arches` asks for when they are more than the engine's own; `None` for a
/// single-image build.
pub(crate) fn multi(arches: &[String]) -> Option<&[String]> {
    let native = native();
    (arches.iter().any(|a| a != native)).then_some(arches)
}

/// qemu's name for an arch, as its binfmt handler is called.
fn qemu(arch: &str) -> &str {
    match arch {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        other => other,
    }
}

/// Whether component `name` can be built for `arches` here: `push`, and a handler for every
/// foreign arch (when the engine runs on this machine, `local_engine`).
pub(crate) fn check(name: &str, arches: &[String], push: bool, local_engine: bool) -> Result<()> {
    let Some(arches) = multi(arches) else { return Ok(()) };
    if !push {
        return Err(Error::invalid(format!(
            "component '{name}' is built for {}: the local backend joins the arches into a manifest list in the registry, so it needs --push",
            arches.join(", ")
        ))
        .with_help("add --push, or build one arch: `arches: [amd64]`"));
    }
    let native = native();
    if local_engine {
        for arch in arches.iter().filter(|a| *a != native) {
            let handler = Path::new("/proc/sys/fs/binfmt_misc").join(format!("qemu-{}", qemu(arch)));
            let enabled = std::fs::read_to_string(&handler).is_ok_and(|t| t.starts_with("enabled"));
            if !enabled {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    format!(
                        "component '{name}' is built for {}, but this machine cannot run {arch} binaries: {} is {}",
                        arches.join(", "),
                        handler.display(),
                        if handler.exists() { "disabled" } else { "missing" }
                    ),
                )
                .with_help(format!(
                    "install qemu-user-static and binfmt-support (scripts/engine.sh multiarch does it where the \
                     machine allows), or build {native} only: `arches: [{native}]` on the component or the release"
                )));
            }
        }
    }
    Ok(())
}

/// Builds `request` once per arch as `<tag>-<arch>`; returns each arch's image ID. The layer
/// cache is off: Podman 4.3's does not key on the platform and would hand one arch's layers to
/// another.
pub(crate) async fn build(
    engine: &Engine,
    request: &BuildRequest,
    arches: &[String],
    log: &mut (dyn FnMut(&str) + Send),
) -> Result<Vec<(String, String)>> {
    let mut built = Vec::new();
    for arch in arches {
        log(&format!("--- linux/{arch} ---"));
        let per_arch = BuildRequest {
            tag: format!("{}-{arch}", request.tag),
            platform: Some(format!("linux/{arch}")),
            no_cache: true,
            ..request.clone()
        };
        let id = engine.build(&per_arch, &mut *log).await.map_err(|e| e.context(format!("linux/{arch}")))?;
        built.push((arch.clone(), id));
    }
    // The engine's own arch also answers to the plain tag, so a child built here for this arch
    // starts from this build and not from an older local image of that name.
    if let Some((_, id)) = built.iter().find(|(a, _)| a == native()) {
        engine.tag(id, &request.tag).await?;
    }
    Ok(built)
}

/// Pushes each arch's image and then the manifest list joining them under `image`; returns the
/// list's digest and the per-arch results.
pub(crate) async fn publish(
    engine: &Engine,
    image: &str,
    built: &[(String, String)],
) -> Result<(String, Vec<ArchResult>)> {
    let target = ImageRef::parse(image)?;
    let registry = OciRegistry::for_images(&[&target], &[]);
    let mut members = Vec::new();
    let mut results = Vec::new();
    for (arch, _) in built {
        let digest = engine.push(&format!("{image}-{arch}")).await?;
        let (bytes, _) = registry.manifest(&target.at_digest(&digest)).await?;
        let manifest: Value = serde_json::from_slice(&bytes).map_err(|e| {
            Error::invalid(format!("the manifest of {image}-{arch} is not JSON")).with_source(e)
        })?;
        let media_type = manifest["mediaType"].as_str().unwrap_or(media::OCI_MANIFEST).to_owned();
        members.push(json!({
            "mediaType": media_type,
            "size": bytes.len(),
            "digest": digest,
            "platform": {"architecture": arch, "os": "linux"},
        }));
        results.push(ArchResult { arch: arch.clone(), outcome: Outcome::Succeeded, reason: None });
    }
    // A list of the members' own kind: Docker members in a Docker list, OCI in an OCI index.
    let docker = members.iter().all(|m| m["mediaType"] == media::DOCKER_MANIFEST);
    let list_type = if docker { media::DOCKER_LIST } else { media::OCI_INDEX };
    let list = json!({"schemaVersion": 2, "mediaType": list_type, "manifests": members});
    let bytes = serde_json::to_vec(&list)
        .map_err(|e| Error::new(ErrorKind::Internal, "encoding a manifest list").with_source(e))?;
    let digest = registry.push_manifest(&target, bytes, list_type).await?;
    Ok((digest, results))
}

/// Tags the manifest list `digest` as `image` again when the registry still has it.
pub(crate) async fn reuse(image: &str, digest: &str) -> Result<Option<String>> {
    let target = ImageRef::parse(image)?;
    let registry = OciRegistry::for_images(&[&target], &[]);
    let bytes = match registry.manifest(&target.at_digest(digest)).await {
        Ok((bytes, _)) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let list: Value = serde_json::from_slice(&bytes).map_err(|e| {
        Error::invalid(format!("the manifest of {image}@{digest} is not JSON")).with_source(e)
    })?;
    let Some(list_type) = list["mediaType"].as_str().filter(|_| list.get("manifests").is_some()) else {
        return Ok(None);
    };
    Ok(Some(registry.push_manifest(&target, bytes, list_type).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_other_arches_make_a_multi_arch_build() {
        let native = native().to_owned();
        assert!(multi(&[]).is_none());
        assert!(multi(std::slice::from_ref(&native)).is_none());
        assert!(multi(&[native.clone(), "s390x".to_owned()]).is_some());
    }

    #[test]
    fn a_foreign_arch_needs_its_handler_and_push() {
        let two = [native().to_owned(), "s390x".to_owned()];
        // No s390x handler is registered on a test machine; if one is, only push is checked.
        if !Path::new("/proc/sys/fs/binfmt_misc/qemu-s390x").exists() {
            let e = check("cli", &two, true, true).err().unwrap_or_else(|| panic!("refused"));
            assert_eq!(e.kind(), ErrorKind::Unavailable);
            assert!(
                e.to_string().contains("cannot run s390x binaries: /proc/sys/fs/binfmt_misc/qemu-s390x"),
                "{e}"
            );
            assert!(e.help().unwrap_or_default().contains("qemu-user-static"), "{e:?}");
        }
        // A remote engine checks its own handlers when it builds.
        let e = check("cli", &two, false, false).err().unwrap_or_else(|| panic!("refused"));
        assert!(e.to_string().contains("needs --push"), "{e}");
        assert!(check("cli", &two, true, false).is_ok());
        assert!(check("cli", &[native().to_owned()], false, true).is_ok());
    }
}
