//! Assembling a release's payload from what a backend built: the run's images (and, for
//! components the run did not build, earlier builds of the same inputs), optionally on top of
//! an existing release. Shared by `okd payload assemble`, `okd payload publish` and `okd watch`.

use std::collections::BTreeMap;

use okd_core::{
    Error, ErrorKind, Result,
    backend::{RunId, RunState, RunStatus},
    manifest::Release,
    payload::{self, AssembleOptions, Assembled, ImageRef, PayloadTag},
    plan::Plan,
};

use crate::{driver::current_results, oci::OciRegistry, store::RunFilter, store::RunStore};

/// What to assemble and where to push it.
#[derive(Debug, Clone, Default)]
pub struct PayloadRequest {
    /// Where the release image goes (default [`default_target`]).
    pub to: Option<ImageRef>,
    /// Releases it upgrades from.
    pub previous: Vec<String>,
    /// Registries spoken to over plain HTTP (besides loopback ones).
    pub insecure: Vec<String>,
    /// Start from this release: its tags stay unless this release built them.
    pub from_release: Option<ImageRef>,
    /// TAG=PULLSPEC: images built elsewhere, put over everything else.
    pub replace: Vec<(String, String)>,
    /// The release name (default the plan's version).
    pub name: Option<String>,
    /// How the user named the release file, for the help that says how to build it.
    pub release_file: Option<String>,
}

/// Where the release image goes unless told: a `-release` repository beside the components',
/// tagged with the version (as quay.io/okd/scos-release sits beside scos-content).
pub fn default_target(release: &Release) -> Result<ImageRef> {
    let tag = release.version.to_string().replace('+', "_");
    ImageRef::parse(&format!("{}/{}-release:{tag}", release.output.registry, release.output.repository))
}

/// The backend's latest recorded run of the plan's release and version.
pub fn latest_run(store: &dyn RunStore, backend: &str, plan: &Plan) -> Result<Option<RunStatus>> {
    let filter = RunFilter {
        backend: Some(backend.to_owned()),
        release: Some(plan.release.name.clone()),
        version: Some(plan.release.version.to_string()),
    };
    match store.runs(&filter, 1)?.first() {
        Some(latest) => store.run_status(&latest.run),
        None => Ok(None),
    }
}

/// Assembles and pushes the payload of `plan` as `backend` built it: `run` (else its latest
/// run), with components it did not build taken from earlier builds of the same inputs.
pub async fn assemble_run(
    plan: &Plan,
    backend: &str,
    run: Option<RunStatus>,
    store: &dyn RunStore,
    request: &PayloadRequest,
) -> Result<Assembled> {
    let file = request.release_file.as_deref().unwrap_or("RELEASE");
    let build_first = format!("build and push it first: okd build {file} --backend {backend} --push");
    let run = match run {
        Some(run) => Some(run),
        None => latest_run(store, backend, plan)?,
    };
    let results = current_results(plan, backend, run.as_ref(), store)?;
    let status = RunStatus {
        run: run.as_ref().map_or_else(|| RunId(String::new()), |r| r.run.clone()),
        state: RunState::Finished,
        components: results,
    };
    let (built, missing) = payload::built_tags(plan, &status)?;
    if request.from_release.is_none()
        && let Some(name) = missing.first()
    {
        let mut message = format!("payload component {name} has no built image");
        if !status.run.0.is_empty() {
            message.push_str(&format!(" in run {}", status.run));
        }
        return Err(Error::new(
            ErrorKind::NotFound,
            format!("{message}: no {backend} build of it with its current sources"),
        )
        .with_help(format!("{build_first}, or start from a release with --from-release REF")));
    }
    let to = match &request.to {
        Some(to) => to.clone(),
        None => default_target(&plan.release)?,
    };
    let replace: Vec<(String, ImageRef)> = request
        .replace
        .iter()
        .map(|(tag, spec)| {
            Ok((tag.clone(), ImageRef::parse(spec).map_err(|e| e.context(format!("--replace {tag}")))?))
        })
        .collect::<Result<_>>()?;
    let mut images: Vec<&ImageRef> = built.iter().map(|t| &t.image).collect();
    images.push(&to);
    images.extend(request.from_release.iter());
    images.extend(replace.iter().map(|(_, i)| i));
    let client = OciRegistry::for_images(&images, &request.insecure);

    let original = match &request.from_release {
        Some(image) => Some(payload::read(&client, image).await.map_err(|e| e.context("--from-release"))?),
        None => None,
    };
    let mut pinned = Vec::new();
    for (name, image) in replace {
        let image =
            payload::pin(&client, &image).await.map_err(|e| e.context(format!("--replace {name}")))?;
        pinned.push(PayloadTag { name, image });
    }
    let partner = original.is_some() || !pinned.is_empty();
    let (tags, origins) = payload::merge(original.as_ref(), built, pinned)?;
    if let Some(release) = &original {
        let absent: Vec<&String> = missing.iter().filter(|m| !origins.contains_key(*m)).collect();
        if !absent.is_empty() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "payload components {} have no built image and are not tags of {}",
                    absent.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                    release.image
                ),
            )
            .with_help(build_first));
        }
    }
    let options = AssembleOptions {
        name: request.name.clone().unwrap_or_else(|| plan.release.version.to_string()),
        to,
        previous: request.previous.clone(),
        // Every tag is wanted: the manifest (or the original release) says which are payload
        // tags, so none is pruned for want of an operator reference.
        include: tags.iter().map(|t| t.name.clone()).collect(),
        metadata: BTreeMap::new(),
        created: now(),
    };
    let mut assembled = payload::assemble(&client, tags, &options).await.map_err(|e| match e.kind() {
        ErrorKind::NotFound => e.with_help(format!("an image is missing from the registry; {build_first}")),
        _ => e,
    })?;
    if partner {
        assembled.origins = origins;
        assembled.from_release = original.map(|r| format!("{}@{}", strip_tag(&r.image), r.digest));
    }
    Ok(assembled)
}

/// Now, RFC 3339 in whole seconds, as oc writes `created`.
pub fn now() -> String {
    jiff::Timestamp::now().round(jiff::Unit::Second).unwrap_or_else(|_| jiff::Timestamp::now()).to_string()
}

/// `reg/repo:tag` without its tag (`reg:5000/repo` keeps its port).
pub fn strip_tag(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => &image[..i],
        _ => image,
    }
}
