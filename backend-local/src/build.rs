//! One component's build on the engine, as the run driver asks for it: reuse an image with the
//! same fingerprint when it still exists, else build the rewritten Dockerfile in the component's
//! context (a folder, or a git commit exported from the cache), keeping the log.

use std::{collections::BTreeMap, path::PathBuf, sync::Arc};

use async_trait::async_trait;
use okd_core::{
    Error, ErrorKind, Result,
    backend::EventKind,
    plan::{Plan, PlannedComponent, PlannedSource},
    source::{Origin, SourceOptions, SourceSnapshot, export_context},
};
use okd_runtime::{Built, ComponentBuilder, RunContext, feedback::LinkTemplate, store::BuildRecord};
use tokio::sync::OnceCell;

use crate::client::{BuildRequest, Engine};

/// The builds of one run on one engine.
#[derive(Debug)]
pub(crate) struct LocalRun {
    /// The backend's engine connection, made by `prepare`.
    pub(crate) engine: Arc<OnceCell<Engine>>,
    /// The engine address from the settings, when given.
    pub(crate) host: Option<String>,
    /// Where git sources are exported from.
    pub(crate) sources: SourceOptions,
    /// Each component's log link (`log_url`), sent when its build starts.
    pub(crate) link: Option<LinkTemplate>,
}

impl LocalRun {
    /// Whether the engine runs on this machine (a unix socket, or found on its own), so its
    /// binfmt handlers are this machine's.
    fn local_engine(&self) -> bool {
        self.host.as_deref().is_none_or(|h| h.starts_with("unix://"))
    }

    fn engine(&self) -> Result<&Engine> {
        self.engine.get().ok_or_else(|| Error::new(ErrorKind::Internal, "the engine is not connected"))
    }
}

#[async_trait]
impl ComponentBuilder for LocalRun {
    async fn prepare(&self, run: &RunContext, selected: &[&PlannedComponent]) -> Result<()> {
        // Every selected component must be buildable before the first build starts.
        for c in selected {
            context(&run.plan, c)?;
            crate::arch::check(&c.name, &c.arches, run.push, self.local_engine())?;
        }
        self.engine.get_or_try_init(|| Engine::connect(self.host.as_deref())).await?;
        Ok(())
    }

    async fn reuse(
        &self,
        run: &RunContext,
        c: &PlannedComponent,
        record: &BuildRecord,
    ) -> Result<Option<Built>> {
        let engine = self.engine()?;
        if crate::arch::multi(&c.arches).is_some() {
            // A multi-arch build is a manifest list in the registry; reuse it from there.
            let Some(digest) = &record.digest else { return Ok(None) };
            return Ok(crate::arch::reuse(&c.image, digest)
                .await?
                .map(|digest| Built::new(c.image.clone(), digest).with_ref(record.build_ref.clone())));
        }
        if engine.image_id(&record.build_ref).await?.is_none() {
            return Ok(None);
        }
        // Same inputs as an image we still have: retag it under this release's name.
        engine.tag(&record.build_ref, &c.image).await?;
        // Push again even when it was pushed before: the registry may have lost it, and a push
        // of blobs it already holds costs one round trip each.
        let digest = if run.push {
            engine.push(&c.image).await?
        } else {
            record.digest.clone().unwrap_or_else(|| record.build_ref.clone())
        };
        Ok(Some(Built::new(c.image.clone(), digest).with_ref(record.build_ref.clone())))
    }

    async fn build(&self, run: &RunContext, c: &PlannedComponent) -> Result<Built> {
        let engine = self.engine()?;
        let (dockerfile, fingerprint) = buildable(c)?;
        if let Some(link) = &self.link {
            let release = &run.plan.release;
            let version = release.version.to_string();
            let values = [
                ("run", run.run.0.as_str()),
                ("component", c.name.as_str()),
                ("release", release.name.as_str()),
                ("version", version.as_str()),
            ];
            run.events.emit(&c.name, EventKind::Link { url: link.url(&values) });
        }
        let log_path = run.logs.join(format!("{}.log", c.name));
        let temp =
            std::env::temp_dir().join(format!("okd-build-{}-{}-{}", std::process::id(), run.run, c.name));
        let context_dir = match context(&run.plan, c)? {
            Context::Dir(dir) => dir,
            Context::Git { url, commit, context } => {
                let snapshot = SourceSnapshot {
                    origin: Origin::Git {
                        url: url.clone(),
                        reference: commit.clone(),
                        commit: commit.clone(),
                    },
                    dockerfile: String::new(),
                    dockerfile_path: PathBuf::new(),
                    content: String::new(),
                };
                let dest = temp.join("context");
                let exported = export_context(&snapshot, &context, &self.sources, &dest).await;
                if let Err(e) = exported {
                    let _ = std::fs::remove_dir_all(&temp);
                    return Err(e);
                }
                dest
            }
        };
        if let Some(parent) = log_path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, "create the log folder", e))?;
        }
        let mut log_file =
            std::fs::File::create(&log_path).map_err(|e| Error::io(&log_path, "create the build log", e))?;
        let request = BuildRequest {
            context_dir,
            dockerfile: dockerfile.to_owned(),
            tag: c.image.clone(),
            build_args: c.build_args.clone(),
            labels: source_labels(&c.source, fingerprint),
            // In a release with multi-arch components, a parent may be a manifest list: naming
            // the platform makes the engine take this arch's image of it.
            platform: run
                .plan
                .components
                .iter()
                .any(|c| crate::arch::multi(&c.arches).is_some())
                .then(|| format!("linux/{}", crate::arch::native())),
            no_cache: run.force,
        };
        let mut log = |line: &str| {
            use std::io::Write;
            let _ = writeln!(log_file, "{line}");
            run.events.emit(&c.name, EventKind::Log { line: line.to_owned() });
        };
        let with_log = |e: Error| {
            let log = format!("the full log is {}", log_path.display());
            let help = e.help().map_or(log.clone(), |h| format!("{h}\n{log}"));
            e.with_help(help)
        };
        if let Some(arches) = crate::arch::multi(&c.arches) {
            let built = crate::arch::build(engine, &request, arches, &mut log).await;
            let _ = std::fs::remove_dir_all(&temp);
            let built = built.map_err(with_log)?;
            let (digest, results) = crate::arch::publish(engine, &c.image, &built).await?;
            // The engine's name for the build is its image IDs; the list's digest is what the
            // registry knows it by, and what reuse looks for.
            let ids: Vec<&str> = built.iter().map(|(_, id)| id.as_str()).collect();
            return Ok(Built::new(c.image.clone(), digest)
                .with_ref(ids.join(","))
                .with_arches(results)
                .with_log(log_path));
        }
        let built = engine.build(&request, &mut log).await;
        let _ = std::fs::remove_dir_all(&temp);
        let image_id = built.map_err(with_log)?;
        let digest = if run.push { engine.push(&c.image).await? } else { image_id.clone() };
        Ok(Built::new(c.image.clone(), digest).with_ref(image_id).with_log(log_path))
    }
}

/// Where a component's build context comes from.
#[derive(Debug, Clone)]
enum Context {
    /// A folder read in place.
    Dir(PathBuf),
    /// A git commit's context, exported from the cache into a temporary folder for the build.
    Git { url: String, commit: String, context: String },
}

/// The rewritten Dockerfile and the fingerprint, which every build needs.
fn buildable(c: &PlannedComponent) -> Result<(&str, &str)> {
    match (c.rewritten.as_deref(), c.fingerprint.as_deref()) {
        (Some(dockerfile), Some(fingerprint)) => Ok((dockerfile, fingerprint)),
        _ => Err(not_read(c)),
    }
}

fn not_read(c: &PlannedComponent) -> Error {
    Error::invalid(format!("component '{}': its source was not read, so it cannot be built", c.name))
        .with_help("run without --offline, or fetch the source into the git cache first")
}

fn context(plan: &Plan, c: &PlannedComponent) -> Result<Context> {
    buildable(c)?;
    let manifest = plan
        .release
        .component(&c.name)
        .ok_or_else(|| Error::new(ErrorKind::Internal, "planned component not in release"))?;
    match &c.source {
        PlannedSource::Path { path, .. } => {
            Ok(Context::Dir(plan.release.dir.join(path).join(&manifest.context)))
        }
        PlannedSource::Commit { url, commit, .. } => {
            Ok(Context::Git { url: url.clone(), commit: commit.clone(), context: manifest.context.clone() })
        }
        PlannedSource::Unreadable { .. } => Err(not_read(c)),
    }
}

/// The labels `oc adm release new` copies into a payload's image-references (commit, ref,
/// source location), as ci-operator and Doozer set them; a path source has no commit, so it
/// gets okd-build's content hash instead. The fingerprint lets `okd` find an image's inputs.
pub(crate) fn source_labels(source: &PlannedSource, fingerprint: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([("io.okd-build.fingerprint".to_owned(), fingerprint.to_owned())]);
    match source {
        PlannedSource::Commit { url, reference, commit } => {
            labels.insert("io.openshift.build.commit.id".into(), commit.clone());
            labels.insert("io.openshift.build.commit.ref".into(), reference.clone());
            labels.insert("io.openshift.build.source-location".into(), url.clone());
        }
        PlannedSource::Path { content, .. } => {
            labels.insert(okd_core::payload::SOURCE_CONTENT_LABEL.into(), content.clone());
        }
        PlannedSource::Unreadable { .. } => {}
    }
    labels
}
