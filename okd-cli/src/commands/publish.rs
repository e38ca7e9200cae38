//! `okd payload publish`: the release's payload pushed into a release stream under the release
//! controller's naming, and the openshift/release files that make that stream real.

use std::{path::PathBuf, sync::Arc};

use serde::Serialize;

use okd_core::{
    Error, ErrorKind, Result,
    payload::{self, ImageRef, ImageRegistry, PayloadTag, Stream},
};
use okd_runtime::{
    BackendRegistry,
    oci::OciRegistry,
    payload::{PayloadRequest, assemble_run},
};

use crate::{
    cli::{ListOutput, PublishArgs},
    context::{self, load_plan},
    output::{print, to_json, write_atomically},
};

/// What was published.
#[derive(Debug, Serialize)]
struct Published {
    /// The payload's name, a nightly of the stream.
    name: String,
    /// The release image, by tag, and its digest.
    image: String,
    digest: String,
    /// The stream and its moving tag, which now points at this payload.
    stream: String,
    moving_tag: String,
    /// The stream's nightlies in the repository, oldest first, this one last.
    nightlies: Vec<String>,
    /// The openshift/release files: path -> content.
    files: Vec<RenderedFile>,
    /// Where they were written, when --out was given.
    written_to: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct RenderedFile {
    path: String,
    content: String,
}

pub async fn run(args: PublishArgs, registry: &BackendRegistry) -> Result<u8> {
    let plan = Arc::new(load_plan(&args.release).await?);
    let name = &args.backend.backend;
    let stream_name = args.stream.clone().unwrap_or_else(|| plan.release.name.clone());
    let stream = Stream::new(&stream_name, &plan.release.version).map_err(|e| e.context("--stream"))?;
    let nightly = stream.nightly(jiff::Timestamp::now());
    let repository = repository(&args.to)?;
    let target = repository.with_tag(&nightly);
    let (runtime, _) = context::backend(registry, name, &args.backend.settings, Some(&args.release))?;
    let store = runtime.store().get()?;

    let client = OciRegistry::for_images(&[&target], &args.insecure_registry);
    let existing = client.tags(&target).await?;
    if existing.contains(&nightly) {
        return Err(Error::new(ErrorKind::Conflict, format!("{target} exists already"))
            .with_help("a stream gets at most one payload a second; try again"));
    }
    let request = PayloadRequest {
        to: Some(target.clone()),
        previous: args.previous.clone(),
        insecure: args.insecure_registry.clone(),
        name: Some(nightly.clone()),
        release_file: Some(args.release.release.display().to_string()),
        ..Default::default()
    };
    let assembled = assemble_run(&plan, name, None, store.as_ref(), &request).await?;
    // The moving tag gets the very manifest the nightly has, so both name one digest.
    let (bytes, _) = client.manifest(&target).await?;
    let media_type = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|m| m["mediaType"].as_str().map(str::to_owned))
        .unwrap_or_else(|| payload::media::OCI_MANIFEST.to_owned());
    client.push_manifest(&repository.with_tag(&stream.moving_tag()), bytes, &media_type).await?;

    let tags: Vec<PayloadTag> = assembled
        .image_references
        .spec
        .tags
        .iter()
        .filter_map(|t| {
            Some(PayloadTag { name: t.name.clone(), image: ImageRef::parse(t.pull_spec()?).ok()? })
        })
        .collect();
    let prefix = match &args.mirror_prefix {
        Some(p) => p.clone(),
        None => {
            let namespace = repository.repository.rsplit_once('/').map_or("", |(ns, _)| ns);
            format!(
                "{}/{namespace}{}origin-",
                repository.registry,
                if namespace.is_empty() { "" } else { "/" }
            )
        }
    };
    let to_stream = format!("release-{}", stream.name.strip_prefix("okd-").unwrap_or(&stream.name));
    let config = to_json(&stream.release_controller_config(&to_stream))?;
    let files = vec![
        RenderedFile { path: stream.config_path(), content: config },
        RenderedFile {
            path: stream.mapping_path(),
            content: payload::mirror_mapping(&tags, &prefix, &stream)?,
        },
    ];
    if let Some(out) = &args.out {
        for file in &files {
            let path = out.join(&file.path);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
            }
            write_atomically(&path, &file.content)?;
        }
    }
    let mut nightlies = payload::nightlies(&stream, &existing);
    nightlies.push(nightly.clone());
    let published = Published {
        name: nightly,
        image: target.to_string(),
        digest: assembled.digest.clone(),
        stream: stream.name.clone(),
        moving_tag: repository.with_tag(&stream.moving_tag()).to_string(),
        nightlies,
        files,
        written_to: args.out.clone(),
    };
    print(&match args.output {
        ListOutput::Json => to_json(&published)?,
        ListOutput::Table => table(&published),
    })?;
    Ok(0)
}

/// `--to` as a repository: a tag or digest there would be overwritten by the nightly's name.
fn repository(to: &str) -> Result<ImageRef> {
    let last = to.rsplit('/').next().unwrap_or(to);
    if to.contains('@') || last.contains(':') {
        return Err(Error::invalid(format!("--to {to}: name a repository, without a tag or digest"))
            .with_help("the payload is tagged with its nightly name, e.g. --to quay.io/okd/scos-release"));
    }
    ImageRef::parse(&format!("{to}:latest")).map_err(|e| e.context("--to"))
}

fn table(p: &Published) -> String {
    let mut text = format!(
        "published {}\n  image:   {}\n  digest:  {}\n  stream:  {} ({} nightlies; {} moved here)\n",
        p.name,
        p.image,
        p.digest,
        p.stream,
        p.nightlies.len(),
        p.moving_tag
    );
    match &p.written_to {
        Some(dir) => {
            for f in &p.files {
                text.push_str(&format!("  wrote   {}\n", dir.join(&f.path).display()));
            }
            text.push_str("open a pull request to openshift/release with these files to make it a stream\n");
        }
        None => {
            text.push_str("pass --out DIR to write the release-controller config and mirroring mapping\n")
        }
    }
    text
}
