//! Pure functions from a plan to what openshift/release would carry: one ci-operator config per
//! repository and branch, and the jobs prowgen generates for them.
//!
//! - [`View`]: which config builds each component, and how each FROM maps to ci-operator's
//!   terms (the last FROM through `from`, the others through `inputs.<tag>.as` with the
//!   Dockerfile's literal text), with a located warning for whatever it cannot express.
//! - `ci_config`: a config as YAML; `jobs`: prowgen's presubmits and postsubmits;
//!   `promotions`: ci-operator-checkconfig's rule that one tag is promoted from one place.

pub(crate) mod ci_config;
pub(crate) mod jobs;
pub(crate) mod promotions;

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::PathBuf,
};

use okd_core::{
    Error, ErrorKind, Result, Warning,
    backend::{Artifact, ArtifactKind, Limit, Mechanism, ReferenceVerdict, Verdict, needs_nothing},
    dockerfile::RefKind,
    manifest::{Component, Release, Source, Target},
    plan::{Plan, PlannedComponent, PlannedSource},
    resolve::{Resolution, Rule},
};

use crate::{
    config::{Settings, StreamTag},
    names::{ConfigId, base_image_alias},
    strategy::Strategy,
};

/// An image from quay.io, ci-operator's `external_images` (the only registry it allows there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExternalImage {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) tag: String,
}

/// One `images.items[]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Image {
    pub(crate) component: String,
    /// `context_dir`; `None` for the repository root.
    pub(crate) context_dir: Option<String>,
    /// `dockerfile_path`, relative to the context.
    pub(crate) dockerfile_path: String,
    /// The pipeline tag that replaces the last FROM.
    pub(crate) from: Option<String>,
    /// Pipeline tag → the literal Dockerfile texts it replaces.
    pub(crate) inputs: BTreeMap<String, BTreeSet<String>>,
    pub(crate) build_args: BTreeMap<String, String>,
}

/// One ci-operator config.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) id: ConfigId,
    /// The planned commit (prow, git sources); doozer-prow commits when it pushes.
    pub(crate) commit: Option<String>,
    pub(crate) images: Vec<Image>,
    pub(crate) base_images: BTreeMap<String, StreamTag>,
    pub(crate) external_images: BTreeMap<String, ExternalImage>,
}

/// How a whole plan looks to Prow.
#[derive(Debug, Clone)]
pub(crate) struct View {
    pub(crate) configs: Vec<Config>,
    /// The integration stream images are promoted to (`origin/scos-<X.Y>`).
    pub(crate) stream: (String, String),
    pub(crate) warnings: Vec<Warning>,
    /// What the configs do with each reference of each read Dockerfile.
    pub(crate) verdicts: Vec<ReferenceVerdict>,
}

impl View {
    /// The config that builds `component`, if any.
    pub(crate) fn config_of(&self, component: &str) -> Option<&Config> {
        self.configs.iter().find(|c| c.images.iter().any(|i| i.component == component))
    }

    /// The view of `plan` for `strategy`.
    pub(crate) fn new(plan: &Plan, settings: &Settings, strategy: Strategy) -> View {
        let release = &plan.release;
        let stream = (settings.promotion_namespace.clone(), settings.stream(&release.version));
        let mut warnings = Vec::new();
        let mut verdicts = Vec::new();
        // First the identities, so a FROM can tell whether its member is built by the same config.
        let mut ids: HashMap<&str, (ConfigId, Option<String>)> = HashMap::new();
        for planned in &plan.components {
            let Some(component) = release.components.get(planned.index) else { continue };
            let found = match strategy {
                Strategy::Prow => prow_identity(planned, component, settings),
                Strategy::DoozerProw => Ok(doozer_identity(release, &planned.name, settings)),
            };
            match found {
                Ok(found) => {
                    ids.insert(planned.name.as_str(), found);
                }
                Err(message) => {
                    verdicts.extend(all_cannot(planned, Limit::NotGitSource));
                    warnings.push(manifest_warning(release, component, message));
                }
            }
        }
        let mut configs: BTreeMap<ConfigId, Config> = BTreeMap::new();
        for planned in &plan.components {
            let Some((id, commit)) = ids.get(planned.name.as_str()) else { continue };
            let Some(component) = release.components.get(planned.index) else { continue };
            if let PlannedSource::Unreadable { reason } = &planned.source {
                let message = format!(
                    "component '{}': its Dockerfile was not read ({reason}), so its FROM lines cannot be mapped to ci-operator inputs; it gets no image in {}",
                    planned.name,
                    id.config_path()
                );
                warnings.push(manifest_warning(release, component, message));
                verdicts.extend(all_cannot(planned, Limit::SourceNotRead));
                continue;
            }
            let config = configs.entry(id.clone()).or_insert_with(|| Config {
                id: id.clone(),
                commit: commit.clone(),
                images: Vec::new(),
                base_images: BTreeMap::new(),
                external_images: BTreeMap::new(),
            });
            let same_config = |member: &str| ids.get(member).is_some_and(|(other, _)| other == id);
            let mut mapper = Mapper { release, stream: &stream, config, same_config: &same_config };
            let image = match strategy {
                Strategy::Prow => mapper.prow_image(planned, component, &mut warnings, &mut verdicts),
                Strategy::DoozerProw => {
                    verdicts
                        .extend(okd_core::backend::rewrite_verdicts_of(planned, Mechanism::GeneratedSource));
                    mapper.doozer_image(planned)
                }
            };
            config.images.push(image);
        }
        View { configs: configs.into_values().collect(), stream, warnings, verdicts }
    }
}

/// `why` for every reference of `planned` that the plan changes.
fn all_cannot(planned: &PlannedComponent, why: Limit) -> Vec<ReferenceVerdict> {
    planned
        .stages
        .iter()
        .map(|r| {
            let verdict = if needs_nothing(r) { Verdict::Unchanged } else { Verdict::Cannot { why } };
            ReferenceVerdict::new(planned, r, verdict)
        })
        .collect()
}

/// A warning about a component, at its line in the manifest.
fn manifest_warning(release: &Release, component: &Component, message: String) -> Warning {
    Warning { file: release.path.clone(), line: component.declared_at.line, message }
}

/// prow: the repository, branch and commit of a git source.
fn prow_identity(
    planned: &PlannedComponent,
    component: &Component,
    settings: &Settings,
) -> Result<(ConfigId, Option<String>), String> {
    let (url, reference, commit) = match (&planned.source, &component.source) {
        (PlannedSource::Commit { url, reference, commit }, _) => (url, reference, Some(commit.clone())),
        (_, Source::Git { url, reference }) => (url, reference, None),
        (_, Source::Path(path)) => {
            return Err(format!(
                "component '{}' is built from the folder {}; Prow builds repositories in openshift/release's configs, so it gets no ci-operator config (give it a git source)",
                planned.name,
                path.display()
            ));
        }
    };
    let (org, repo) = okd_core::source::org_repo(url).ok_or_else(|| {
        format!("component '{}': cannot tell org and repo from the git URL '{url}'", planned.name)
    })?;
    let id = ConfigId { org, repo, branch: branch_of(reference), variant: settings.variant.clone() };
    Ok((id, commit))
}

/// doozer-prow: one config per component, on its build branch of the git remote.
fn doozer_identity(release: &Release, component: &str, settings: &Settings) -> (ConfigId, Option<String>) {
    let remote = settings
        .git_remote
        .clone()
        .unwrap_or_else(|| format!("https://github.com/okd-build/{}-sources", release.name));
    let (org, repo) =
        okd_core::source::org_repo(&remote).unwrap_or_else(|| ("okd-build".into(), "sources".into()));
    let branch = okd_core::generate::build_branch(release, component);
    (ConfigId { org, repo, branch, variant: settings.variant.clone() }, None)
}

/// The branch a manifest ref stands for; `HEAD` and commit ids have none, so `main`.
fn branch_of(reference: &str) -> String {
    let commit_like = reference.len() >= 7 && reference.chars().all(|c| c.is_ascii_hexdigit());
    if reference == "HEAD" || commit_like { "main".to_owned() } else { reference.to_owned() }
}

/// Maps a plan's FROM targets to one config's pipeline inputs.
struct Mapper<'a, F: Fn(&str) -> bool> {
    release: &'a Release,
    stream: &'a (String, String),
    config: &'a mut Config,
    same_config: &'a F,
}

impl<F: Fn(&str) -> bool> Mapper<'_, F> {
    /// The pipeline tag standing for `target`, adding the base or external image it needs.
    fn tag_for(&mut self, target: &Target) -> Result<String, String> {
        let image = match target {
            Target::Member(member) if (self.same_config)(member) => return Ok(member.clone()),
            Target::Member(member) => {
                let (ns, name) = self.stream;
                return Ok(self.base_image(StreamTag {
                    namespace: ns.clone(),
                    name: name.clone(),
                    tag: member.clone(),
                }));
            }
            Target::Stream(stream) => match self.release.streams.get(stream) {
                Some(s) => s.image.clone(),
                None => return Err(format!("stream '{stream}' is not in the manifest")),
            },
            Target::Image(image) => image.clone(),
        };
        if let Some(tag) = ci_stream_tag(&image) {
            return Ok(self.base_image(tag));
        }
        if let Some(rest) = image.strip_prefix("quay.io/")
            && let Some(tag) = StreamTag::parse(rest)
        {
            let alias = base_image_alias(&tag.namespace, &tag.name, &tag.tag);
            self.config.external_images.insert(
                alias.clone(),
                ExternalImage { namespace: tag.namespace, name: tag.name, tag: tag.tag },
            );
            return Ok(alias);
        }
        Err(format!(
            "ci-operator replaces images only with ImageStream tags on app.ci (registry.ci.openshift.org/NAMESPACE/NAME:TAG) or quay.io images; '{image}' ({target}) is neither"
        ))
    }

    fn base_image(&mut self, tag: StreamTag) -> String {
        let alias = base_image_alias(&tag.namespace, &tag.name, &tag.tag);
        self.config.base_images.insert(alias.clone(), tag);
        alias
    }

    /// prow: the component's own Dockerfile, its FROMs replaced through `from` and `inputs`.
    fn prow_image(
        &mut self,
        planned: &PlannedComponent,
        component: &Component,
        warnings: &mut Vec<Warning>,
        verdicts: &mut Vec<ReferenceVerdict>,
    ) -> Image {
        // The plan's Dockerfile path is from the repository root; ci-operator's is from the
        // context.
        let context = component.context.trim_end_matches('/');
        let dockerfile_path = match context {
            "." | "" => planned.dockerfile.clone(),
            dir => {
                planned.dockerfile.strip_prefix(&format!("{dir}/")).unwrap_or(&planned.dockerfile).to_owned()
            }
        };
        let mut image = Image {
            component: planned.name.clone(),
            context_dir: (!matches!(context, "." | "")).then(|| context.to_owned()),
            dockerfile_path,
            from: None,
            inputs: BTreeMap::new(),
            build_args: planned.build_args.clone(),
        };
        let file = dockerfile_file(self.release, planned, component);
        let warn = |line: u32, message: String| Warning { file: file.clone(), line, message };
        let mut verdict =
            |r: &Resolution, verdict: Verdict| verdicts.push(ReferenceVerdict::new(planned, r, verdict));
        let last_from = planned.stages.iter().rposition(|r| r.kind == RefKind::From);
        // Texts that name stages: an `as` entry equal to one would make the Build API rewrite
        // that stage reference too.
        let stage_texts: BTreeSet<&str> =
            planned.stages.iter().filter(|r| r.rule == Rule::Stage).map(|r| r.original.as_str()).collect();
        // The Build API replaces the last FROM by position (`from`) before it matches `as`
        // texts, so that FROM takes part in text matching only when nothing replaces it. Every
        // other use of a text must want the same image, since the build replaces them alike.
        let from_set = last_from.is_some_and(|l| target_of(&planned.stages[l]).is_some());
        let mut outcomes: BTreeMap<&str, BTreeSet<Option<&Target>>> = BTreeMap::new();
        for (i, r) in planned.stages.iter().enumerate() {
            let by_text = matches!(r.kind, RefKind::From | RefKind::CopyFrom) && r.rule != Rule::Stage;
            if by_text && !(from_set && Some(i) == last_from) {
                outcomes.entry(r.original.as_str()).or_default().insert(target_of(r));
            }
        }
        for (i, r) in planned.stages.iter().enumerate() {
            let Some(target) = target_of(r) else {
                verdict(r, Verdict::Unchanged);
                continue;
            };
            if matches!(r.kind, RefKind::MountFrom | RefKind::AddFrom) {
                verdict(r, Verdict::Cannot { why: Limit::KindNotReplaced });
                warnings.push(warn(r.line, format!(
                    "{} {} is not replaced by OpenShift Builds (only FROM and COPY --from are); the CI build uses it as written",
                    kind_word(r),
                    r.original
                )));
                continue;
            }
            let tag = match self.tag_for(target) {
                Ok(tag) => tag,
                Err(message) => {
                    verdict(r, Verdict::Cannot { why: Limit::NotImageStreamTag });
                    warnings.push(warn(
                        r.line,
                        format!("{} {}: {message}; CI builds it as written", kind_word(r), r.original),
                    ));
                    continue;
                }
            };
            if Some(i) == last_from {
                verdict(r, Verdict::Native { how: Mechanism::CiOperatorFrom });
                image.from = Some(tag);
                continue;
            }
            if stage_texts.contains(r.original.as_str()) {
                verdict(r, Verdict::Cannot { why: Limit::StageName });
                warnings.push(warn(r.line, format!(
                    "'{}' is also a stage name in this Dockerfile; as an `inputs.as` entry it would rewrite the stage references too, so it is left as written",
                    r.original
                )));
                continue;
            }
            if outcomes.get(r.original.as_str()).is_some_and(|o| o.len() > 1) {
                verdict(r, Verdict::Cannot { why: Limit::AmbiguousText });
                warnings.push(warn(r.line, format!(
                    "'{}' is written more than once in this Dockerfile and the uses resolve to different images; `inputs.as` replaces every use of a text alike, so this one is left as written",
                    r.original
                )));
                continue;
            }
            verdict(r, Verdict::Native { how: Mechanism::InputsAs });
            image.inputs.entry(tag).or_default().insert(r.original.clone());
        }
        image
    }

    /// doozer-prow: the generated Dockerfile already names OKD's images (members pinned by
    /// digest), so nothing is replaced; the app.ci images it names are declared as base images,
    /// which ci-operator's input detection reuses.
    fn doozer_image(&mut self, planned: &PlannedComponent) -> Image {
        for r in planned.stages.iter().filter(|r| r.changes()) {
            if let Some(tag) = ci_stream_tag(&r.resolved) {
                self.base_image(tag);
            }
        }
        Image {
            component: planned.name.clone(),
            context_dir: None,
            dockerfile_path: "Dockerfile".into(),
            from: None,
            inputs: BTreeMap::new(),
            build_args: planned.build_args.clone(),
        }
    }
}

/// What `r` must become, when the plan changes it.
fn target_of(r: &Resolution) -> Option<&Target> {
    r.target.as_ref().filter(|_| !needs_nothing(r))
}

fn kind_word(r: &Resolution) -> &'static str {
    match r.kind {
        RefKind::From => "FROM",
        RefKind::CopyFrom => "COPY --from",
        RefKind::AddFrom => "ADD --from",
        RefKind::MountFrom => "RUN --mount from",
    }
}

/// One job file of a branch: the jobs of every variant's config on it, and the components they
/// build.
#[derive(Clone)]
struct JobFile {
    id: ConfigId,
    jobs: Vec<serde_json::Value>,
    components: Vec<String>,
}

/// Where a component's Dockerfile is, for warnings: the file for a folder source, else
/// `<org>/<repo>/<dockerfile>` (the plan's Dockerfile path is from the repository root).
fn dockerfile_file(release: &Release, planned: &PlannedComponent, component: &Component) -> PathBuf {
    match &component.source {
        Source::Path(path) => release.dir.join(path).join(&planned.dockerfile),
        Source::Git { url, .. } => match okd_core::source::org_repo(url) {
            Some((org, repo)) => PathBuf::from(org).join(repo).join(&planned.dockerfile),
            None => PathBuf::from(&planned.dockerfile),
        },
    }
}

/// An app.ci ImageStream tag written as a pull spec: `registry.ci.openshift.org/NS/NAME:TAG`
/// (and the retired `registry.svc.ci.openshift.org`), as ci-operator's input detection reads
/// them. A digest is not a tag.
pub(crate) fn ci_stream_tag(image: &str) -> Option<StreamTag> {
    let rest = image
        .strip_prefix("registry.ci.openshift.org/")
        .or_else(|| image.strip_prefix("registry.svc.ci.openshift.org/"))?;
    if rest.contains('@') {
        return None;
    }
    StreamTag::parse(rest)
}

/// Everything a render writes for `plan`, under `openshift/release/`: each config and its job
/// files, checked against ci-operator-checkconfig's promotion rule (with the configs of the
/// `release_repo` checkout when set). Returns the artifacts, the plan's warnings and the
/// verdict on each reference.
pub(crate) fn artifacts(
    plan: &Plan,
    settings: &Settings,
    strategy: Strategy,
) -> Result<(Vec<Artifact>, Vec<Warning>, Vec<ReferenceVerdict>)> {
    let view = View::new(plan, settings, strategy);
    let version = &plan.release.version;
    let yaml = |value: &serde_json::Value| {
        let mut options = serde_saphyr::SerializerOptions::default();
        options.prefer_block_scalars = false;
        serde_saphyr::to_string_with_options(value, options)
            .map_err(|e| Error::new(ErrorKind::Internal, "cannot write YAML").with_source(e))
    };
    let mut artifacts = Vec::new();
    let mut rendered = Vec::new();
    // Variants share the branch's job files, so jobs are grouped by branch.
    let mut presubmits: BTreeMap<(String, String, String), JobFile> = BTreeMap::new();
    let mut postsubmits = presubmits.clone();
    for config in &view.configs {
        let components: Vec<String> = config.images.iter().map(|i| i.component.clone()).collect();
        let object = ci_config::config(config, settings, version, &view.stream);
        artifacts.push(Artifact {
            repository: Some(RELEASE_REPO.into()),
            path: config.id.config_path(),
            content: yaml(&object)?,
            components: components.clone(),
            kind: ArtifactKind::Config,
        });
        rendered.push((config.id.config_path(), object));
        let key = (config.id.org.clone(), config.id.repo.clone(), config.id.branch.clone());
        for (files, jobs) in [
            (&mut presubmits, jobs::presubmits(&config.id, settings)),
            (&mut postsubmits, jobs::postsubmits(&config.id, settings)),
        ] {
            let entry = files.entry(key.clone()).or_insert_with(|| JobFile {
                id: config.id.clone(),
                jobs: Vec::new(),
                components: Vec::new(),
            });
            entry.jobs.extend(jobs);
            entry.components.extend(components.iter().cloned());
        }
    }
    for (kind, files) in [("presubmits", presubmits), ("postsubmits", postsubmits)] {
        for JobFile { id, jobs: mut list, components } in files.into_values() {
            list.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
            artifacts.push(Artifact {
                repository: Some(RELEASE_REPO.into()),
                path: id.jobs_path(kind),
                content: yaml(&jobs::job_file(kind, &id, list))?,
                components,
                kind: ArtifactKind::Config,
            });
        }
    }
    let mut checked = rendered;
    if let Some(repo) = &settings.release_repo {
        let ours: BTreeSet<String> = checked.iter().map(|(p, _)| p.clone()).collect();
        checked.extend(
            promotions::existing_configs(std::path::Path::new(repo))?
                .into_iter()
                .filter(|(p, _)| !ours.contains(p)),
        );
    }
    promotions::check(&checked)?;
    Ok((artifacts, view.warnings, view.verdicts))
}

/// Where the rendered files land: `<out>/openshift/release/...`.
pub(crate) const RELEASE_REPO: &str = "openshift/release";
