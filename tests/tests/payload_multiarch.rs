#![allow(clippy::unwrap_used)]
//! A multi-arch release on the real registry: a cluster-version-operator image pushed as a
//! manifest list (amd64 and arm64) makes `payload::assemble` push a manifest-listed release
//! image, one release image per platform, that reads back. Without the loopback registry the
//! test says it skips, except under CI, where it fails.

use std::io::Write;

use okd_core::payload::{self, AssembleOptions, ImageRef, ImageRegistry, PayloadTag, media, sha256};
use okd_runtime::oci::OciRegistry;
use serde_json::json;

fn gz_tar(path: &str, content: &str) -> (Vec<u8>, String) {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_mode(0o644);
    header.set_size(content.len() as u64);
    builder.append_data(&mut header, path, content.as_bytes()).unwrap();
    let tar = builder.into_inner().unwrap();
    let diff_id = sha256(&tar);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    (gz.finish().unwrap(), diff_id)
}

/// Pushes a one-layer image for `arch` under `at`'s tag; returns (digest, size).
async fn push_image(registry: &OciRegistry, at: &ImageRef, arch: &str) -> (String, usize) {
    let (layer, diff_id) = gz_tar("etc/arch", arch);
    let config = serde_json::to_vec(&json!({
        "architecture": arch, "os": "linux",
        "config": {"Labels": {"io.openshift.build.commit.id": "c0ffee"}},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }))
    .unwrap();
    registry.push_blob(at, layer.clone(), &sha256(&layer)).await.unwrap();
    registry.push_blob(at, config.clone(), &sha256(&config)).await.unwrap();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": media::DOCKER_MANIFEST,
        "config": {"mediaType": media::DOCKER_CONFIG, "size": config.len(), "digest": sha256(&config)},
        "layers": [{"mediaType": media::DOCKER_LAYER_GZIP, "size": layer.len(), "digest": sha256(&layer)}],
    }))
    .unwrap();
    let size = manifest.len();
    (registry.push_manifest(at, manifest, media::DOCKER_MANIFEST).await.unwrap(), size)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_listed_cvo_makes_a_manifest_listed_release_on_the_registry() {
    let Ok(host) = std::env::var("OKD_REGISTRY") else {
        assert!(std::env::var_os("CI").is_none(), "CI must run this test: OKD_REGISTRY is unset");
        eprintln!("skipped: OKD_REGISTRY is unset (scripts/engine.sh start provides 127.0.0.1:5000)");
        return;
    };
    let repository = format!("{host}/okd/e2e-multiarch-{}", std::process::id());
    let cvo = ImageRef::parse(&format!("{repository}/cluster-version-operator:list")).unwrap();
    let to = ImageRef::parse(&format!("{repository}/release:4.17.0-0.multi")).unwrap();
    let registry = OciRegistry::for_images(&[&cvo, &to], &[]);
    let mut members = Vec::new();
    for arch in ["amd64", "arm64"] {
        let (digest, size) = push_image(&registry, &cvo.with_tag(arch), arch).await;
        members.push(json!({"mediaType": media::DOCKER_MANIFEST, "size": size, "digest": digest,
                            "platform": {"architecture": arch, "os": "linux"}}));
    }
    let list = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": media::DOCKER_LIST, "manifests": members}),
    )
    .unwrap();
    let list_digest = registry.push_manifest(&cvo, list, media::DOCKER_LIST).await.unwrap();

    let tags = vec![PayloadTag { name: payload::BASE_TAG.into(), image: cvo.at_digest(&list_digest) }];
    let options = AssembleOptions {
        name: "4.17.0-0.multi".into(),
        to: to.clone(),
        previous: Vec::new(),
        include: Vec::new(),
        metadata: Default::default(),
        created: "2026-12-05T00:00:00Z".into(),
    };
    let assembled = payload::assemble(&registry, tags, &options).await.unwrap();
    let platforms: Vec<&str> = assembled.platforms.iter().map(|p| p.platform.as_str()).collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);

    // The registry serves the tag as the index, each platform image by digest.
    let (bytes, digest) = registry.manifest(&to).await.unwrap();
    assert_eq!(digest, assembled.digest);
    let index: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(index["mediaType"], media::DOCKER_LIST);
    for (member, arch) in index["manifests"].as_array().unwrap().iter().zip(["amd64", "arm64"]) {
        assert_eq!(member["platform"]["architecture"], arch);
        let (bytes, _) = registry.manifest(&to.at_digest(member["digest"].as_str().unwrap())).await.unwrap();
        let manifest: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(manifest["layers"].as_array().unwrap().len(), 2, "the CVO's layer and the release layer");
    }
    let info = payload::read(&registry, &to.at_digest(&assembled.digest)).await.unwrap();
    assert_eq!(info.name, "4.17.0-0.multi");
    let cvo_ref = &assembled.image_references.spec.tags[0];
    assert_eq!(
        cvo_ref.pull_spec(),
        Some(cvo.at_digest(&list_digest).to_string().as_str()),
        "the list is kept"
    );
    assert_eq!(info.platforms.iter().map(|p| p.platform.as_str()).collect::<Vec<_>>(), platforms);
    assert_eq!(info.arch, "amd64");
    assert_eq!(info.warnings, Vec::<String>::new());

    // A second release whose CVO list has a new arm64 image and the same amd64 one: read per
    // arch, the amd64 payloads differ in nothing, the arm64 ones in the CVO (same commit: a
    // rebuild). The list digests differ either way, which is why per-arch reads resolve them.
    let (arm64, arm64_size) = push_image(&registry, &cvo.with_tag("arm64-v2"), "arm64-v2").await;
    let mut list: serde_json::Value =
        serde_json::from_slice(&registry.manifest(&cvo).await.unwrap().0).unwrap();
    list["manifests"][1]["digest"] = json!(arm64);
    list["manifests"][1]["size"] = json!(arm64_size);
    let list_v2 = registry
        .push_manifest(&cvo.with_tag("list-v2"), serde_json::to_vec(&list).unwrap(), media::DOCKER_LIST)
        .await
        .unwrap();
    let to_v2 = to.with_tag("4.17.0-0.multi-v2");
    let tags = vec![PayloadTag { name: payload::BASE_TAG.into(), image: cvo.at_digest(&list_v2) }];
    let v2 =
        payload::assemble(&registry, tags, &AssembleOptions { to: to_v2.clone(), ..options }).await.unwrap();
    let per_arch = |arch: &'static str| {
        let registry = &registry;
        let (a, b) = (to.at_digest(&assembled.digest), to_v2.at_digest(&v2.digest));
        async move {
            let mut a = payload::read_arch(registry, &a, arch).await.unwrap();
            let mut b = payload::read_arch(registry, &b, arch).await.unwrap();
            payload::resolve_arch(registry, &mut a, arch).await.unwrap();
            payload::resolve_arch(registry, &mut b, arch).await.unwrap();
            assert_eq!((a.arch.as_str(), b.arch.as_str()), (arch, arch));
            payload::diff(&a, &b)
        }
    };
    let amd64 = per_arch("amd64").await;
    assert!(amd64.rebuilt.is_empty() && amd64.changed.is_empty(), "{amd64:?}");
    assert_eq!(amd64.unchanged, 1);
    let arm64_diff = per_arch("arm64").await;
    assert_eq!(arm64_diff.rebuilt.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), [payload::BASE_TAG]);
    assert_eq!(arm64_diff.rebuilt[0].to.arch_digest.as_deref(), Some(arm64.as_str()));
    // Read without an arch, the tag differs by its list digest: oc's view, a rebuild.
    let whole = payload::diff(
        &payload::read(&registry, &to.at_digest(&assembled.digest)).await.unwrap(),
        &payload::read(&registry, &to_v2.at_digest(&v2.digest)).await.unwrap(),
    );
    assert_eq!(whole.rebuilt.len(), 1);
    // An arch the release does not have is an error naming what it has.
    let e = payload::read_arch(&registry, &to.at_digest(&assembled.digest), "s390x").await.unwrap_err();
    assert!(e.to_string().contains("no linux/s390x image"), "{e}");
    assert!(e.help().unwrap_or_default().contains("arm64"), "{e:?}");
}
