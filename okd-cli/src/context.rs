//! What commands share: loading a plan, source options, and turning the backend flags into a
//! runtime and a backend. The one place that knows how flags become settings.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use okd_core::{
    Result,
    backend::BuildBackend,
    manifest::{self, LoadOptions},
    plan::{self, Plan, PlanOptions},
    registry::BackendSettings,
    source::{self, SourceOptions},
};
use okd_runtime::{BackendRegistry, Runtime, SqliteRunStore};

use crate::cli::{BackendSettingsArgs, ReleaseArgs};

/// What errors call a manifest read from standard input.
pub const STDIN_NAME: &str = "<stdin>";

/// Loads the manifest: the file, or standard input when it is `-` (so `okd import ... |
/// okd build -` works; relative path sources are then relative to the current folder).
pub fn load_release(args: &ReleaseArgs) -> Result<manifest::Release> {
    let options = LoadOptions { variant: args.variant.clone() };
    if args.release.as_os_str() != "-" {
        return manifest::load(&args.release, &options);
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text).map_err(|e| {
        okd_core::Error::io(Path::new(STDIN_NAME), "read the release manifest from", e)
            .with_help("pipe a release manifest in, e.g. okd import ci-operator CONFIG | okd build -")
    })?;
    manifest::load_str(Path::new(STDIN_NAME), &text, &options)
}

/// `path`, given as `flag`, must be a folder or not exist yet (it is created): a file there is
/// bad input, said as such, not an IO failure.
pub fn folder_arg(flag: &str, path: &Path) -> Result<()> {
    if path.exists() && !path.is_dir() {
        return Err(okd_core::Error::invalid(format!("{flag} {} is a file, not a folder", path.display()))
            .with_help(format!("point {flag} at a folder (it is created when missing)")));
    }
    Ok(())
}

/// Loads the manifest, reads the sources and plans: what every release command starts with.
pub async fn load_plan(args: &ReleaseArgs) -> Result<Plan> {
    folder_arg("--cache-dir", &cache_dir(Some(args)))?;
    let release = load_release(args)?;
    let sources = source::read_sources(&release, &source_options(args)).await?;
    plan::plan(Arc::new(release), &sources, &PlanOptions { strict: args.strict })
}

/// How to read the release's sources.
pub fn source_options(args: &ReleaseArgs) -> SourceOptions {
    SourceOptions { offline: args.offline, cache_dir: cache_dir(Some(args)), ..SourceOptions::default() }
}

fn cache_dir(release: Option<&ReleaseArgs>) -> PathBuf {
    release.and_then(|r| r.cache_dir.clone()).unwrap_or_else(SourceOptions::default_cache_dir)
}

/// The runtime: the state folder (`--state`, else the default), the git cache, the user's
/// settings file and environment.
pub fn runtime(state: Option<&Path>, release: Option<&ReleaseArgs>) -> Runtime {
    let state = state.map_or_else(SqliteRunStore::default_dir, Path::to_path_buf);
    Runtime::new(state, cache_dir(release))
}

impl BackendSettingsArgs {
    /// The settings the flags give: only flags given become keys, so each backend sees what the
    /// user asked for and refuses keys it does not take.
    pub fn to_settings(&self) -> BackendSettings {
        let mut settings = BackendSettings::new();
        for (key, value) in [
            ("context", &self.context),
            ("namespace", &self.namespace),
            ("kubeconfig", &self.kubeconfig),
            ("host", &self.engine),
        ] {
            if let Some(value) = value {
                settings.insert(key.to_owned(), value.clone());
            }
        }
        for (key, value) in &self.settings {
            settings.insert(key.clone(), value.clone());
        }
        settings
    }
}

/// Backend `name` over the runtime those flags describe.
pub fn backend(
    registry: &BackendRegistry,
    name: &str,
    settings: &BackendSettingsArgs,
    release: Option<&ReleaseArgs>,
) -> Result<(Runtime, Arc<dyn BuildBackend>)> {
    let runtime = runtime(settings.state.as_deref(), release);
    let backend = registry.get(name, &runtime, &settings.to_settings())?;
    Ok((runtime, backend))
}
