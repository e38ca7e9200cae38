//! Assembly, reading back and diffing against the in-memory registry.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;

const REPO: &str = "127.0.0.1:5000/okd/mini";

fn gz_layer(files: &[(&str, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut header = tar::Header::new_ustar();
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        header.set_size(content.len() as u64);
        builder.append_data(&mut header, path, content.as_bytes()).expect("tar");
    }
    let tar = builder.into_inner().expect("tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).expect("gzip");
    gz.finish().expect("gzip")
}

/// Stores an image whose top layer holds `files`, labelled `labels`; returns it by digest.
fn image(
    registry: &MemoryRegistry,
    tag: &str,
    labels: &[(&str, &str)],
    files: &[(&str, &str)],
) -> PayloadTag {
    let bottom = gz_layer(&[("usr/bin/sh", "#!")]);
    let top = gz_layer(files);
    let labels: BTreeMap<&str, &str> = labels.iter().copied().collect();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Labels": labels, "Entrypoint": [format!("/usr/bin/{tag}")]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:aa", "sha256:bb"]},
    }))
    .expect("json");
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": media::DOCKER_MANIFEST,
        "config": {"mediaType": media::DOCKER_CONFIG, "size": config.len(), "digest": sha256(&config)},
        "layers": [
            {"mediaType": media::DOCKER_LAYER_GZIP, "size": bottom.len(), "digest": sha256(&bottom)},
            {"mediaType": media::DOCKER_LAYER_GZIP, "size": top.len(), "digest": sha256(&top)},
        ],
    }))
    .expect("json");
    let at = ImageRef::parse(&format!("{REPO}:{tag}")).expect("ref");
    let digest = registry.put_image(&at, vec![bottom, top, config], manifest);
    PayloadTag { name: tag.to_owned(), image: at.at_digest(&digest) }
}

const CVO_REFS: &str = "kind: ImageStream\napiVersion: image.openshift.io/v1\nspec:\n  tags:\n  - name: cluster-version-operator\n    from: {kind: DockerImage, name: quay.io/openshift/origin-cluster-version-operator:latest}\n";
const DNS_REFS: &str = "kind: ImageStream\napiVersion: image.openshift.io/v1\nspec:\n  tags:\n  - name: dns-operator\n    from: {kind: DockerImage, name: quay.io/openshift/origin-dns:latest}\n  - name: coredns\n    from: {kind: DockerImage, name: quay.io/openshift/origin-coredns:latest}\n";
const DNS_DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  image: quay.io/openshift/origin-dns:latest\n  env:\n  - {name: IMAGE, value: quay.io/openshift/origin-coredns:latest}\n  - {name: RELEASE_VERSION, value: 0.0.1-snapshot}\n";

fn release(registry: &MemoryRegistry, coredns_commit: &str, cli_build: &str) -> Vec<PayloadTag> {
    let operator = ("io.openshift.release.operator", "true");
    vec![
        image(
            registry,
            "cluster-version-operator",
            &[operator, ("io.openshift.build.commit.id", "c1")],
            &[
                ("manifests/image-references", CVO_REFS),
                ("manifests/0000_00_cvo_namespace.yaml", "apiVersion: v1\nkind: Namespace\n"),
            ],
        ),
        image(
            registry,
            "dns-operator",
            &[operator, ("io.openshift.build.commit.id", "d1")],
            &[
                ("manifests/image-references", DNS_REFS),
                ("manifests/deployment.yaml", DNS_DEPLOYMENT),
                ("manifests/sub/ignored.yaml", "not: a manifest"),
            ],
        ),
        image(
            registry,
            "coredns",
            &[
                ("io.openshift.build.commit.id", coredns_commit),
                ("io.openshift.build.source-location", "https://github.com/openshift/coredns"),
                ("io.openshift.build.versions", "kubernetes=1.30.2"),
                ("unrelated", "x"),
            ],
            &[("usr/bin/coredns", "coredns")],
        ),
        image(registry, "cli", &[(SOURCE_CONTENT_LABEL, "sha256:cli-source")], &[("usr/bin/oc", cli_build)]),
    ]
}

fn options(name: &str, include: &[&str]) -> AssembleOptions {
    AssembleOptions {
        name: name.to_owned(),
        to: ImageRef::parse("127.0.0.1:5000/okd/mini-release:x").expect("ref").with_tag(name),
        previous: vec!["4.17.0-0.b".into(), "4.17.0-0.a".into()],
        include: include.iter().map(|s| s.to_string()).collect(),
        metadata: BTreeMap::new(),
        created: "2026-11-23T10:00:00Z".into(),
    }
}

#[tokio::test]
async fn assembles_a_payload_that_reads_back() {
    let registry = MemoryRegistry::new();
    let tags = release(&registry, "e1", "v1");
    let by_name: BTreeMap<String, String> =
        tags.iter().map(|t| (t.name.clone(), t.image.to_string())).collect();
    let assembled = assemble(&registry, tags, &options("4.17.0-0.mini", &["cli"])).await.expect("assembles");

    let names: Vec<_> = assembled.image_references.spec.tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["cli", "cluster-version-operator", "coredns", "dns-operator"]);
    assert_eq!(assembled.unreferenced, ["cli"]);
    for t in &assembled.image_references.spec.tags {
        assert_eq!(t.pull_spec(), Some(by_name[&t.name].as_str()), "{} points at the digest built", t.name);
    }
    let coredns = &assembled.image_references.spec.tags[2];
    assert_eq!(coredns.annotations["io.openshift.build.commit.id"], "e1");
    assert!(!coredns.annotations.contains_key("unrelated"), "only io.openshift.build.* labels are copied");
    assert_eq!(assembled.manifests, ["0000_00_cvo_namespace.yaml", "0000_50_dns-operator_deployment.yaml"]);

    let at = ImageRef::parse(&assembled.image).expect("ref").at_digest(&assembled.digest);
    let info = read(&registry, &at).await.expect("reads back");
    assert_eq!(info.name, "4.17.0-0.mini");
    assert!(info.warnings.is_empty(), "{:?}", info.warnings);
    assert_eq!(
        info.metadata.as_ref().map(|m| m.previous.clone()),
        Some(vec!["4.17.0-0.a".into(), "4.17.0-0.b".into()])
    );
    assert_eq!(info.base_image_digest.as_deref(), by_name["cluster-version-operator"].split('@').nth(1));
    let deployment =
        String::from_utf8(info.manifest_contents["0000_50_dns-operator_deployment.yaml"].clone())
            .expect("utf8");
    assert!(deployment.contains(&format!("image: {}\n", by_name["dns-operator"])), "{deployment}");
    assert!(deployment.contains(&format!("value: {}}}", by_name["coredns"])), "{deployment}");
    assert!(deployment.contains("value: 4.17.0-0.mini}"), "{deployment}");
    assert_eq!(
        info.tags.iter().find(|t| t.name == "cli").and_then(|t| t.source_content.clone()).as_deref(),
        Some("sha256:cli-source")
    );
}

#[tokio::test]
async fn tags_no_operator_references_are_pruned_unless_included() {
    let registry = MemoryRegistry::new();
    let assembled =
        assemble(&registry, release(&registry, "e1", "v1"), &options("4.17.0", &[])).await.expect("ok");
    assert_eq!(assembled.pruned, ["cli"]);
    assert!(assembled.image_references.spec.tags.iter().all(|t| t.name != "cli"));
}

#[tokio::test]
async fn bad_inputs_are_refused_with_the_reason() {
    let registry = MemoryRegistry::new();
    let mut tags = release(&registry, "e1", "v1");
    tags.retain(|t| t.name != "coredns");
    let err = assemble(&registry, tags, &options("4.17.0", &[])).await.expect_err("coredns is referenced");
    assert!(err.to_string().contains("no input image tag named coredns"), "{err}");

    let mut tags = release(&registry, "e1", "v1");
    tags.retain(|t| t.name != BASE_TAG);
    let err = assemble(&registry, tags, &options("4.17.0", &[])).await.expect_err("no CVO");
    assert!(err.to_string().contains(BASE_TAG), "{err}");

    let err =
        assemble(&registry, release(&registry, "e1", "v1"), &options("4.17", &[])).await.expect_err("semver");
    assert!(err.to_string().contains("semver"), "{err}");
}

#[tokio::test]
async fn diff_tells_code_changes_from_rebuilds() {
    let registry = MemoryRegistry::new();
    let first = assemble(&registry, release(&registry, "e1", "v1"), &options("4.17.0-0.a", &["cli"]))
        .await
        .expect("a");
    let mut second_tags = release(&registry, "e2", "v2");
    second_tags.retain(|t| t.name != "cli");
    let second = assemble(&registry, second_tags, &options("4.17.0-0.b", &[])).await.expect("b");
    let read_at = |a: &Assembled| ImageRef::parse(&a.image).expect("ref").at_digest(&a.digest);
    let a = read(&registry, &read_at(&first)).await.expect("a");
    let b = read(&registry, &read_at(&second)).await.expect("b");
    let d = diff(&a, &b);
    assert!(!d.identical);
    assert_eq!(d.removed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["cli"]);
    assert_eq!(d.changed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["coredns"]);
    assert!(d.rebuilt.is_empty() && d.added.is_empty());
    assert_eq!(d.unchanged, 2, "same images, same pull specs");
    // The dns-operator deployment names coredns by digest, which changed; mapped back to tag
    // names the manifests are equal.
    assert!(d.manifests_changed.is_empty(), "{:?}", d.manifests_changed);
    let same = diff(&a, &a);
    assert!(same.identical && same.changed.is_empty() && same.unchanged == 4);
}

#[test]
fn payload_tags_come_from_the_images_the_run_reported() {
    use crate::backend::{ComponentResult, Outcome, RunId, RunState, RunStatus};
    let manifest = "name: t\nversion: 1.0.0\noutput: { registry: 127.0.0.1:5000, repository: okd/t }\n\
        components:\n\
        - { name: base, source: { path: base }, payload: true }\n\
        - { name: builder, source: { path: builder } }\n\
        - { name: app, source: { path: app }, payload: true }\n\
        - { name: tool, source: { path: tool }, payload: true }\n\
        - { name: solo, source: { path: solo }, payload: true }\n";
    let release = crate::manifest::load_str(std::path::Path::new("t.yaml"), manifest, &Default::default())
        .expect("manifest");
    let dockerfiles = ["base", "builder", "app", "tool", "solo"]
        .into_iter()
        .map(|c| (c.to_owned(), "FROM scratch\n".to_owned()))
        .collect();
    let sources = crate::plan::sources_from_memory(&release, &dockerfiles);
    let plan = crate::plan::plan(std::sync::Arc::new(release), &sources, &Default::default()).expect("plan");
    let digest = format!("sha256:{}", "b".repeat(64));
    let result = |name: &str, outcome, image: Option<String>| ComponentResult {
        name: name.to_owned(),
        outcome,
        image,
        digest: Some(digest.clone()),
        reason: None,
        started: None,
        finished: None,
        fingerprint: None,
        arches: Vec::new(),
    };
    // Konflux reports IMAGE_URL, a repository of the tenant's, not the manifest's output.
    let konflux = |c: &str| Some(format!("quay.io/redhat-user-workloads/okd-tenant/{c}:on-push-abc"));
    let mut status = RunStatus {
        run: RunId("r".into()),
        state: RunState::Finished,
        components: ["base", "builder", "app", "tool", "solo"]
            .into_iter()
            .map(|c| result(c, if c == "solo" { Outcome::Reused } else { Outcome::Succeeded }, konflux(c)))
            .collect(),
    };
    let tags = tags_from_run(&plan, &status).expect("every payload component was built");
    let names: Vec<_> = tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names.len(), 4, "builder is not a payload component: {names:?}");
    let app = tags.iter().find(|t| t.name == "app").expect("app");
    assert_eq!(app.image.to_string(), format!("quay.io/redhat-user-workloads/okd-tenant/app@{digest}"));

    status.components.retain(|c| c.name != "tool");
    let err = tags_from_run(&plan, &status).expect_err("tool was not built");
    assert!(err.to_string().contains("tool"), "{err}");
}

/// A manifest list over `members` (tag → arch) of `repo`, stored under `tag`.
fn list(registry: &MemoryRegistry, tag: &str, members: &[(&PayloadTag, &str)]) -> PayloadTag {
    let manifests: Vec<_> = members
        .iter()
        .map(|(member, arch)| {
            let digest = member.image.digest.clone().expect("by digest");
            json!({"mediaType": media::DOCKER_MANIFEST, "size": 1, "digest": digest,
                   "platform": {"architecture": arch, "os": "linux"}})
        })
        .collect();
    let bytes = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": media::DOCKER_LIST,
        "manifests": manifests.into_iter().chain([json!({"mediaType": media::OCI_MANIFEST, "size": 1,
            "digest": "sha256:0000", "platform": {"architecture": "unknown", "os": "unknown"}})]).collect::<Vec<_>>(),
    }))
    .expect("json");
    let at = ImageRef::parse(&format!("{REPO}:{tag}")).expect("ref");
    let digest = registry.put_image(&at, vec![], bytes);
    PayloadTag { name: tag.to_owned(), image: at.at_digest(&digest) }
}

#[tokio::test]
async fn a_multi_arch_cvo_makes_a_manifest_listed_release_whose_references_keep_the_lists() {
    let registry = MemoryRegistry::new();
    let mut tags = release(&registry, "e1", "v1");
    let operator = ("io.openshift.release.operator", "true");
    let cvo_files = [("manifests/image-references", CVO_REFS)];
    let arm = image(&registry, "cvo-arm64", &[operator], &cvo_files);
    let amd = tags.iter().find(|t| t.name == BASE_TAG).expect("cvo").clone();
    let cvo = list(&registry, "cvo-list", &[(&amd, "amd64"), (&arm, "arm64")]);
    let cli_amd = tags.iter().find(|t| t.name == "cli").expect("cli").clone();
    let cli = list(&registry, "cli-list", &[(&cli_amd, "amd64")]);
    for t in &mut tags {
        match t.name.as_str() {
            BASE_TAG => t.image = cvo.image.clone(),
            "cli" => t.image = cli.image.clone(),
            _ => {}
        }
    }
    let assembled = assemble(&registry, tags, &options("4.17.0-0.multi", &["cli"])).await.expect("assembles");

    // The release is an index of one release image per linux platform of the CVO list.
    let platforms: Vec<&str> = assembled.platforms.iter().map(|p| p.platform.as_str()).collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    let at = ImageRef::parse(&assembled.image).expect("ref");
    let (bytes, digest) = registry.manifest(&at).await.expect("the tag");
    assert_eq!(digest, assembled.digest, "the tag ends on the index");
    let index: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(index["mediaType"], media::DOCKER_LIST);
    assert_eq!(index["manifests"].as_array().expect("members").len(), 2);
    for (member, base) in index["manifests"].as_array().expect("members").iter().zip([&amd, &arm]) {
        let member_at = at.at_digest(member["digest"].as_str().expect("digest"));
        let (bytes, _) = registry.manifest(&member_at).await.expect("a platform image");
        let manifest: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        let (base_bytes, base_digest) = registry.manifest(&base.image).await.expect("base");
        let base_manifest: serde_json::Value = serde_json::from_slice(&base_bytes).expect("json");
        // That platform's CVO layers, then the release layer.
        let layers = image::layer_digests(&manifest);
        assert_eq!(layers[..2], image::layer_digests(&base_manifest)[..], "{member}");
        assert_eq!(layers.len(), 3);
        assert_eq!(member["size"].as_u64(), Some(bytes.len() as u64));
        let config_digest = image::config_digest(&manifest).expect("config");
        let config: serde_json::Value =
            serde_json::from_slice(&registry.blob(&member_at, config_digest).await.expect("config"))
                .expect("json");
        assert_eq!(
            config["config"]["Labels"]["io.openshift.release.base-image-digest"],
            base_digest.as_str()
        );
    }
    // Image references keep each input as given: a list stays a list (--keep-manifest-list).
    let cli_ref = assembled.image_references.spec.tags.iter().find(|t| t.name == "cli").expect("cli");
    assert_eq!(cli_ref.pull_spec(), Some(cli.image.to_string().as_str()));
    // And it reads back through its amd64 member.
    let info = read(&registry, &at.at_digest(&assembled.digest)).await.expect("reads back");
    assert_eq!(info.name, "4.17.0-0.multi");
}
