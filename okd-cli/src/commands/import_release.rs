//! `okd import release-image`: a release manifest derived from a release image's tags and the
//! source labels of their images.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use okd_core::{
    Error, Result,
    manifest::{LoadOptions, Release, load, load_str},
    payload::{self, DeriveOptions, DockerfileLocation, ImageRef},
};
use okd_runtime::oci::OciRegistry;

use crate::{
    cli::{ImportOutput, ReleaseImageArgs},
    output::finish_import,
};

pub async fn run(args: ReleaseImageArgs) -> Result<u8> {
    let image = ImageRef::parse(&args.image)?;
    // Read the second source first: a bad path fails before any registry traffic.
    let dockerfiles = match &args.dockerfiles_from {
        Some(path) => dockerfile_locations(path, args.variant.as_deref())?,
        None => BTreeMap::new(),
    };
    let client = OciRegistry::for_images(&[&image], &args.insecure_registry);
    let release = payload::read_arch(&client, &image, &args.arch).await?;
    let sources = payload::tag_sources(&client, &release, &args.arch).await?;
    let options = DeriveOptions {
        name: args.name.clone(),
        variant: args.variant.clone().filter(|_| args.dockerfiles_from.is_none()),
        output: None,
        dockerfiles,
        dockerfiles_from: args.dockerfiles_from.clone(),
    };
    let derived = payload::derive_manifest(&release, sources, &options);
    let mut warnings = derived.warnings.clone();
    if args.dockerfiles_from.is_none() && derived.components > 0 {
        warnings.push(okd_core::Warning {
            file: PathBuf::from(&args.image),
            line: 0,
            message: "a payload holds no Dockerfile paths: every component builds ./Dockerfile; pass --dockerfiles-from RELEASE.yaml|OCP_BUILD_DATA|CI_OPERATOR_DIR to take them from there".into(),
        });
    }
    finish_import(
        &derived,
        &derived.manifest,
        &warnings,
        derived.summary(),
        args.output == ImportOutput::Json,
        args.out,
    )
}

/// Dockerfile, context and build args per component name, from a release manifest, an
/// ocp-build-data checkout or ci-operator configs.
fn dockerfile_locations(path: &Path, variant: Option<&str>) -> Result<BTreeMap<String, DockerfileLocation>> {
    let release: Release = if path.is_file() {
        load(path, &LoadOptions { variant: variant.map(str::to_owned) })?
    } else if path.join("group.yml").is_file() && path.join("images").is_dir() {
        // ocp-build-data's only variant is `okd` (its okd: overlays).
        let options = okd_core::doozer::ImportOptions {
            variant: variant.map(|_| "okd".to_owned()),
            ..Default::default()
        };
        let import = okd_core::doozer::import(path, &options)?;
        load_str(&path.join("group.yml"), &import.manifest, &LoadOptions::default())?
    } else if path.is_dir() {
        let options =
            backend_prow::import::ImportOptions { variant: variant.map(str::to_owned), ..Default::default() };
        let import = backend_prow::import::import_ci_operator(&[path.to_path_buf()], &options)?;
        load_str(path, &import.manifest, &LoadOptions::default())?
    } else {
        return Err(Error::invalid(format!("--dockerfiles-from {}: no such file or folder", path.display()))
            .with_help(
                "pass a release manifest, an ocp-build-data checkout or a folder of ci-operator configs",
            ));
    };
    Ok(release
        .components
        .iter()
        .map(|c| {
            let location = DockerfileLocation {
                dockerfile: c.dockerfile.clone(),
                context: c.context.clone(),
                build_args: c.build_args.clone(),
            };
            (c.name.clone(), location)
        })
        .collect())
}
