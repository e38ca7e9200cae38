//! What a promotion job left in the integration ImageStream: for each image of the config, the
//! newest item of its tag (`oc tag --reference` writes it, newest first), which must be newer
//! than the job's start, else the job built without promoting (`promotion.disabled`, an
//! excluded image).

use std::collections::HashMap;

use okd_core::{Error, ErrorKind, Result};
use serde_json::Value;

use crate::render::Config;

/// What a config's job promoted.
#[derive(Debug, Clone)]
pub(crate) struct Promoted {
    /// The ProwJob.
    pub(crate) job: String,
    /// Component → (pull spec by tag, digest).
    pub(crate) images: HashMap<String, (String, String)>,
    /// The job had succeeded before this run looked (a resubmission).
    pub(crate) found: bool,
}

/// Reads the promoted image of every image of `config` from `stream` (`namespace/name`).
pub(crate) fn read_promoted(
    config: &Config,
    prowjob: &str,
    job_name: &str,
    stream: Option<&Value>,
    (ns, name): (&str, &str),
    started: &str,
) -> Result<Promoted> {
    let not_promoted = |what: String| {
        Error::new(ErrorKind::BuildFailed, format!("Prow job {job_name} ({prowjob}) succeeded but {what}"))
            .with_help(format!(
                "the job built without promoting: check `promotion` in {} (disabled, excluded_images) and that it promotes to {ns}/{name}",
                config.id.config_path()
            ))
    };
    let Some(stream) = stream else {
        return Err(not_promoted(format!("the ImageStream {ns}/{name} does not exist")));
    };
    let repository = stream["status"]["publicDockerImageRepository"]
        .as_str()
        .filter(|r| !r.is_empty())
        .map_or_else(|| format!("registry.ci.openshift.org/{ns}/{name}"), str::to_owned);
    let since: Option<jiff::Timestamp> = started.parse().ok();
    let tags = stream["status"]["tags"].as_array().cloned().unwrap_or_default();
    let mut images = HashMap::new();
    for image in &config.images {
        let tag = &image.component;
        let newest = tags.iter().find(|t| t["tag"] == tag.as_str()).and_then(|t| t["items"].get(0));
        let Some(item) = newest else {
            return Err(not_promoted(format!("{ns}/{name} has no tag {tag}")));
        };
        let created: Option<jiff::Timestamp> = item["created"].as_str().and_then(|c| c.parse().ok());
        if let (Some(since), Some(created)) = (since, created)
            && created < since
        {
            return Err(not_promoted(format!("{ns}/{name}:{tag} is older than the job ({created})")));
        }
        let digest = item["image"].as_str().filter(|d| d.starts_with("sha256:")).ok_or_else(|| {
            Error::new(ErrorKind::Unavailable, format!("{ns}/{name}:{tag} has no image digest"))
        })?;
        images.insert(tag.clone(), (format!("{repository}:{tag}"), digest.to_owned()));
    }
    Ok(Promoted { job: prowjob.to_owned(), images, found: false })
}
