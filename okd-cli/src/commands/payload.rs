//! `okd payload`: assemble a release image from a backend's last build of the release, read one
//! back, compare two.

use std::{collections::BTreeMap, sync::Arc};

use okd_core::{
    Error, ErrorKind, Result,
    backend::{RunId, RunStatus},
    payload::{self, Assembled, ImageRef, PayloadDiff, ReleaseInfo},
};
use okd_runtime::{
    BackendRegistry,
    oci::OciRegistry,
    payload::{PayloadRequest, strip_tag},
};

use crate::{
    cli::{AssembleArgs, ListOutput, PayloadCommand, PayloadDiffArgs, PayloadInfoArgs},
    context::{self, load_plan},
    output::{print, to_json},
};

pub async fn run(command: PayloadCommand, registry: &BackendRegistry) -> Result<u8> {
    match command {
        PayloadCommand::Assemble(args) => assemble(*args, registry).await,
        PayloadCommand::Info(args) => info(args).await,
        PayloadCommand::Diff(args) => diff(args).await,
        PayloadCommand::Publish(_) => {
            Err(Error::new(ErrorKind::Internal, "publish is dispatched by commands::run"))
        }
    }
}

async fn assemble(args: AssembleArgs, registry: &BackendRegistry) -> Result<u8> {
    let plan = Arc::new(load_plan(&args.release).await?);
    let name = &args.backend.backend;
    let (runtime, backend) = context::backend(registry, name, &args.backend.settings, Some(&args.release))?;
    // The run comes from the store: the one asked for, else the backend's latest of this release.
    // Components it did not build (`--only`) come from earlier builds of the same inputs.
    let store = runtime.store().get()?;
    let run: Option<RunStatus> = match &args.run {
        Some(id) => Some(backend.status(&RunId(id.clone())).await?),
        None => None,
    };
    let request = PayloadRequest {
        to: args.to.as_deref().map(|to| ImageRef::parse(to).map_err(|e| e.context("--to"))).transpose()?,
        previous: args.previous.clone(),
        insecure: args.insecure_registry.clone(),
        from_release: args
            .from_release
            .as_deref()
            .map(|r| ImageRef::parse(r).map_err(|e| e.context("--from-release")))
            .transpose()?,
        replace: args.replace.clone(),
        name: None,
        release_file: Some(args.release.release.display().to_string()),
    };
    let assembled = okd_runtime::payload::assemble_run(&plan, name, run, store.as_ref(), &request).await?;
    print(&match args.output {
        ListOutput::Json => to_json(&assembled)?,
        ListOutput::Table => assembled_table(&assembled),
    })?;
    Ok(0)
}

fn assembled_table(a: &Assembled) -> String {
    let mut text = format!(
        "assembled release {}\n  image:     {}@{}\n  tags:      {}\n  manifests: {}\n",
        a.image_references.metadata.name,
        strip_tag(&a.image),
        a.digest,
        a.image_references.spec.tags.len(),
        a.manifests.len()
    );
    if !a.platforms.is_empty() {
        let list: Vec<String> = a.platforms.iter().map(|p| format!("{} {}", p.platform, p.digest)).collect();
        text.push_str(&format!("  a manifest list of {} platform images: {}\n", list.len(), list.join(", ")));
    }
    if let Some(from) = &a.from_release {
        text.push_str(&format!("  from:      {from}\n"));
    }
    if !a.origins.is_empty() {
        let mut by_origin: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (tag, origin) in &a.origins {
            by_origin.entry(origin.as_str()).or_default().push(tag);
        }
        for (origin, tags) in by_origin {
            // A partner payload is mostly the original's tags: list what changed, count the rest.
            if origin == "from-release" {
                text.push_str(&format!("  {origin}: {} tags kept\n", tags.len()));
            } else {
                text.push_str(&format!("  {origin}: {}\n", tags.join(", ")));
            }
        }
    }
    if !a.unreferenced.is_empty() {
        text.push_str(&format!(
            "  kept although no operator references them (oc adm release new would prune them): {}\n",
            a.unreferenced.join(", ")
        ));
    }
    text.push_str(&format!("inspect it: okd payload info {}@{}\n", strip_tag(&a.image), a.digest));
    text
}

/// Reads a release; for `arch`, that arch's release image and each tag's image for it.
async fn read(reference: &str, insecure: &[String], arch: Option<&str>) -> Result<ReleaseInfo> {
    let image = ImageRef::parse(reference)?;
    let client = OciRegistry::for_images(&[&image], insecure);
    match arch {
        None => payload::read(&client, &image).await,
        Some(arch) => {
            let mut info = payload::read_arch(&client, &image, arch).await?;
            payload::resolve_arch(&client, &mut info, arch).await?;
            Ok(info)
        }
    }
}

async fn info(args: PayloadInfoArgs) -> Result<u8> {
    let info = read(&args.image, &args.insecure_registry, args.arch.as_deref()).await?;
    print(&match args.output {
        ListOutput::Json => to_json(&info)?,
        ListOutput::Table => info_table(&info),
    })?;
    Ok(0)
}

fn short(digest: Option<&str>) -> String {
    digest.map_or("-".into(), |d| d.chars().take(19).collect())
}

fn info_table(info: &ReleaseInfo) -> String {
    let mut text = format!(
        "Name:      {}\nDigest:    {}\nCreated:   {}\nPull From: {}@{}\nManifests: {}\n",
        info.name,
        info.digest,
        info.created.as_deref().unwrap_or("-"),
        strip_tag(info.image.split('@').next().unwrap_or(&info.image)),
        info.digest,
        info.manifests.len()
    );
    if !info.platforms.is_empty() {
        text.push_str(&format!("Platforms: (read for {})\n", info.arch));
        for p in &info.platforms {
            text.push_str(&format!("  {:16} {}\n", p.platform, p.digest));
        }
    }
    if let Some(m) = &info.metadata {
        let upgrades = if m.previous.is_empty() { "<none>".to_owned() } else { m.previous.join(", ") };
        text.push_str(&format!("\nRelease Metadata:\n  Version:  {}\n  Upgrades: {upgrades}\n", m.version));
    }
    let width = info.tags.iter().map(|t| t.name.len()).max().unwrap_or(4).max(4);
    text.push_str(&format!("\nImages:\n  {:width$}  {:19}  {:19}  REPOSITORY\n", "NAME", "DIGEST", "COMMIT"));
    for t in &info.tags {
        let source = t.commit.as_deref().map(|c| c.chars().take(19).collect()).unwrap_or_else(|| {
            t.source_content.as_deref().map_or("-".into(), |c| {
                format!("content {}", c.trim_start_matches("sha256:").chars().take(11).collect::<String>())
            })
        });
        text.push_str(&format!(
            "  {:width$}  {:19}  {:19}  {}\n",
            t.name,
            short(t.arch_digest.as_deref().or(t.digest.as_deref())),
            source,
            t.source_location.as_deref().unwrap_or("-")
        ));
    }
    if !info.warnings.is_empty() {
        text.push_str("\nWarnings:\n");
        for w in &info.warnings {
            text.push_str(&format!("  {w}\n"));
        }
    }
    text
}

async fn diff(args: PayloadDiffArgs) -> Result<u8> {
    let (a, b) = tokio::try_join!(
        read(&args.from, &args.insecure_registry, args.arch.as_deref()),
        read(&args.to, &args.insecure_registry, args.arch.as_deref())
    )?;
    let d = payload::diff(&a, &b);
    print(&match args.output {
        ListOutput::Json => to_json(&d)?,
        ListOutput::Table => diff_table(&d),
    })?;
    Ok(0)
}

fn diff_table(d: &PayloadDiff) -> String {
    if d.identical {
        return format!("Releases are identical ({} at {})\n", d.to.0, d.to.1);
    }
    let mut text = format!("From: {} ({})\nTo:   {} ({})\n", d.from.0, d.from.1, d.to.0, d.to.1);
    let section = |text: &mut String, title: &str, lines: Vec<String>| {
        if !lines.is_empty() {
            text.push_str(&format!("\n{title}:\n"));
            for l in lines {
                text.push_str(&format!("  {l}\n"));
            }
        }
    };
    let source = |t: &payload::TagInfo| {
        t.source_identity().map_or("-".into(), |s| s.chars().take(19).collect::<String>())
    };
    section(
        &mut text,
        "Images Changed",
        d.changed.iter().map(|c| format!("{}  {} -> {}", c.name, source(&c.from), source(&c.to))).collect(),
    );
    section(
        &mut text,
        "Images Rebuilt",
        d.rebuilt
            .iter()
            .map(|c| {
                format!(
                    "{}  {} -> {}",
                    c.name,
                    short(c.from.digest.as_deref()),
                    short(c.to.digest.as_deref())
                )
            })
            .collect(),
    );
    section(
        &mut text,
        "Images Added",
        d.added.iter().map(|t| format!("{}  {}", t.name, t.pull_spec)).collect(),
    );
    section(&mut text, "Images Removed", d.removed.iter().map(|t| t.name.clone()).collect());
    section(&mut text, "Manifests Changed", d.manifests_changed.clone());
    text.push_str(&format!("\n{} images unchanged\n", d.unchanged));
    text
}
