//! Pure functions from a plan to what Konflux needs: the `.tekton` files and OKD Dockerfiles each
//! repository would carry, the tenant objects, and the run templates of Doozer + Konflux.

pub(crate) mod dockerfile;
pub(crate) mod pipelinerun;
mod summary;
pub(crate) mod tenant;

use std::collections::BTreeMap;

use okd_core::{
    Error, ErrorKind, Result, Warning,
    backend::{Artifact, ArtifactKind, ReferenceVerdict, Verdict},
    manifest::Source,
    plan::{Plan, PlannedComponent, PlannedSource},
};

use crate::{
    config::Settings,
    names::{RUN_ANNOTATION, RUN_LABEL, Repo, dns_label, platform, repo_from_url},
};
use dockerfile::OkdDockerfile;
use pipelinerun::Event;

/// How one component looks to Konflux.
#[derive(Debug, Clone)]
pub(crate) struct ComponentView {
    pub(crate) name: String,
    pub(crate) repo: Repo,
    /// Whether the manifest gives a folder rather than a repository.
    pub(crate) path_source: bool,
    /// The branch Pipelines-as-Code matches pushes on.
    pub(crate) branch: String,
    /// The commit the plan resolved, for git sources.
    pub(crate) commit: Option<String>,
    /// The build context, relative to the repository root.
    pub(crate) context: String,
    /// The Dockerfile the run builds, relative to the context.
    pub(crate) dockerfile: String,
    /// The component's own Dockerfile, relative to the context.
    pub(crate) source_dockerfile: String,
    pub(crate) okd: OkdDockerfile,
    /// `ARG=value`: the manifest's build args, then those that replace FROM images.
    pub(crate) build_args: Vec<String>,
    /// `ARG=value`: the manifest's build args only.
    pub(crate) manifest_args: Vec<String>,
    /// Names of the build args that replace FROM images.
    pub(crate) generated_args: Vec<String>,
    pub(crate) platforms: Vec<String>,
    /// The Component's `containerImage`: `<registry>/<repository>/<component>`.
    pub(crate) image_repo: String,
    /// Components built on this one (its nudges).
    pub(crate) children: Vec<String>,
    /// What the Konflux-only approach does with each reference of the Dockerfile.
    pub(crate) verdicts: Vec<ReferenceVerdict>,
}

/// The Konflux view of a whole plan.
#[derive(Debug, Clone)]
pub(crate) struct View {
    pub(crate) application: String,
    pub(crate) components: Vec<ComponentView>,
}

impl View {
    /// The view of `plan`, components in plan order. `pins` holds the digest of the last
    /// Konflux build of a component (from the run store), which a dependent's OKD Dockerfile
    /// pins its parent at.
    pub(crate) fn new(plan: &Plan, settings: &Settings, pins: &Pins) -> Result<View> {
        let release = &plan.release;
        let application = settings.application.clone().unwrap_or_else(|| dns_label(&release.name));
        let image_repo =
            |name: &str| format!("{}/{}/{name}", release.output.registry, release.output.repository);
        // A member parent built by the Konflux-only approach is the image its push build
        // outputs (`<repo>:<commit>`), pinned by digest: nudges only rewrite `@sha256:`
        // references to the parent's image. Before the parent's first build the digest is a
        // marked placeholder that its first nudge replaces. A path source has no commit, so its
        // reference stays as planned.
        let member_ref = |member: &str| match plan.component(member).map(|m| &m.source) {
            Some(PlannedSource::Commit { commit, .. }) => {
                let digest = pins.get(member).map_or(PLACEHOLDER_DIGEST, String::as_str);
                Some(format!("{}:{commit}@{digest}", image_repo(member)))
            }
            _ => None,
        };
        // Two components of one repository may not claim one path with different text.
        let mut claimed: BTreeMap<(String, String), String> = BTreeMap::new();
        let mut components = Vec::with_capacity(plan.components.len());
        for planned in &plan.components {
            let component = release.components.get(planned.index).ok_or_else(|| {
                Error::new(
                    ErrorKind::Internal,
                    format!("planned component '{}' not in the release", planned.name),
                )
            })?;
            // The source as read wins over the manifest's: a plan may read a path component
            // from git (and tests plan git sources from memory).
            let (repo, path_source, branch) = match (&planned.source, &component.source) {
                (PlannedSource::Commit { url, reference, .. }, _) | (_, Source::Git { url, reference }) => {
                    (repo_from_url(url), false, branch_of(reference))
                }
                (_, Source::Path(path)) => {
                    let folder = path
                        .file_name()
                        .map_or_else(|| planned.name.clone(), |f| f.to_string_lossy().into_owned());
                    let slug = format!("{}/{}", dns_label(&release.name), dns_label(&folder));
                    let url = format!("https://github.com/{slug}");
                    (Repo { slug, web: url.clone(), url }, true, "main".to_owned())
                }
            };
            let mut derived = dockerfile::derive(planned, component, &member_ref)?;
            let mut okd = derived.okd;
            if let OkdDockerfile::Written { path, content } = &mut okd {
                let key = (repo.slug.clone(), in_repo(&component.context, path));
                match claimed.get(&key) {
                    Some(existing) if existing != content => {
                        *path = format!("{path}-{}", planned.name);
                        claimed
                            .insert((repo.slug.clone(), in_repo(&component.context, path)), content.clone());
                    }
                    Some(_) => {}
                    None => {
                        claimed.insert(key, content.clone());
                    }
                }
            }
            // The fork's path may have changed to keep two components' files apart.
            if let OkdDockerfile::Written { path, .. } = &okd {
                for v in &mut derived.verdicts {
                    if let Verdict::Fork { path: fork } = &mut v.verdict {
                        fork.clone_from(path);
                    }
                }
            }
            let dockerfile = match &okd {
                OkdDockerfile::NotNeeded => component.dockerfile.clone(),
                OkdDockerfile::Written { path, .. } | OkdDockerfile::Unread { path } => path.clone(),
            };
            let manifest_args: Vec<String> = component
                .build_args
                .iter()
                .filter(|(k, _)| !derived.args.contains_key(*k))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let mut build_args = manifest_args.clone();
            build_args.extend(derived.args.iter().map(|(k, v)| format!("{k}={v}")));
            let all_manifest_args = component.build_args.iter().map(|(k, v)| format!("{k}={v}")).collect();
            components.push(ComponentView {
                name: planned.name.clone(),
                repo,
                path_source,
                branch,
                commit: commit_of(planned),
                context: component.context.clone(),
                dockerfile,
                source_dockerfile: component.dockerfile.clone(),
                okd,
                build_args,
                manifest_args: all_manifest_args,
                generated_args: derived.args.keys().cloned().collect(),
                platforms: component.arches.iter().map(|a| platform(a)).collect(),
                image_repo: image_repo(&planned.name),
                children: plan
                    .graph
                    .children(planned.index)
                    .iter()
                    .map(|&c| plan.graph.name(c).to_owned())
                    .collect(),
                verdicts: derived.verdicts,
            });
        }
        Ok(View { application, components })
    }

    /// The view of the component called `name`.
    pub(crate) fn component(&self, name: &str) -> Option<&ComponentView> {
        self.components.iter().find(|c| c.name == name)
    }
}

/// Component → the digest of its last Konflux build, for pinning dependents.
pub(crate) type Pins = BTreeMap<String, String>;

/// The digest a dependent pins a parent at before the parent has a Konflux build.
pub(crate) const PLACEHOLDER_DIGEST: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// The branch a manifest ref stands for; `HEAD` and commit ids have none, so `main`.
fn branch_of(reference: &str) -> String {
    let commit_like = reference.len() >= 7 && reference.chars().all(|c| c.is_ascii_hexdigit());
    if reference == "HEAD" || commit_like { "main".to_owned() } else { reference.to_owned() }
}

fn commit_of(planned: &PlannedComponent) -> Option<String> {
    match &planned.source {
        PlannedSource::Commit { commit, .. } => Some(commit.clone()),
        _ => None,
    }
}

/// `context/path` relative to the repository root.
pub(crate) fn in_repo(context: &str, path: &str) -> String {
    if context == "." { path.to_owned() } else { format!("{context}/{path}") }
}

/// The Konflux-only approach: per repository the `.tekton` files and OKD Dockerfiles, and the
/// tenant objects and a per-repository account of the files in `konflux/`.
/// Components whose source was not read are warnings at their manifest line; one whose FROM lines
/// must change gets no PipelineRuns, since they would name an OKD Dockerfile nobody wrote.
pub(crate) fn konflux_artifacts(
    plan: &Plan,
    settings: &Settings,
    pins: &Pins,
) -> Result<(Vec<Artifact>, Vec<Warning>, Vec<ReferenceVerdict>)> {
    let view = View::new(plan, settings, pins)?;
    let ns = settings.namespace.as_deref();
    let mut artifacts = Vec::new();
    let mut warnings = Vec::new();
    let mut okd_files: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (c, planned) in view.components.iter().zip(&plan.components) {
        if planned.rewritten.is_none() && !c.path_source {
            let line = plan.release.components.get(planned.index).map_or(0, |m| m.declared_at.line);
            let message = match &c.okd {
                OkdDockerfile::Unread { path } => format!(
                    "component '{}': its Dockerfile was not read (offline, or the source is unreachable), and its FROM lines must change, so its repository needs {path}, which cannot be written without it; no PipelineRuns are rendered for it (render without --offline)",
                    c.name
                ),
                _ => format!(
                    "component '{}': its Dockerfile was not read (offline, or the source is unreachable); its PipelineRuns build {} as it is, unchecked",
                    c.name, c.dockerfile
                ),
            };
            warnings.push(Warning { file: plan.release.path.clone(), line, message });
        }
        if matches!(c.okd, OkdDockerfile::Unread { .. }) {
            continue;
        }
        for event in [Event::PullRequest, Event::Push] {
            let object = pipelinerun::pac_pipelinerun(c, &view.application, ns, settings, event);
            artifacts.push(Artifact {
                repository: Some(c.repo.slug.clone()),
                path: pipelinerun::tekton_file(&c.name, event),
                content: tenant::yaml(&object)?,
                components: vec![c.name.clone()],
                kind: ArtifactKind::Config,
            });
        }
        if let OkdDockerfile::Written { path, content } = &c.okd {
            let key = (c.repo.slug.clone(), in_repo(&c.context, path));
            match okd_files.get(&key) {
                Some(&i) => artifacts[i].components.push(c.name.clone()),
                None => {
                    okd_files.insert(key.clone(), artifacts.len());
                    artifacts.push(Artifact {
                        repository: Some(c.repo.slug.clone()),
                        path: key.1,
                        content: content.clone(),
                        components: vec![c.name.clone()],
                        kind: ArtifactKind::Fork,
                    });
                }
            }
        }
    }
    let release = &plan.release;
    let mut objects = vec![tenant::application(&view.application, ns, release)];
    for c in &view.components {
        objects.push(tenant::tidy(tenant::pac_component(c, &view.application, ns, settings)));
        objects.push(tenant::tidy(tenant::component_image_repository(c, &view.application, ns, release)));
    }
    let header = format!(
        "# Tenant objects of {} {} for the Konflux-only approach, rendered by okd-build.\n",
        release.name, release.version
    );
    let names: Vec<String> = view.components.iter().map(|c| c.name.clone()).collect();
    artifacts.push(Artifact {
        repository: None,
        path: "konflux/tenant.yaml".into(),
        content: tenant::yaml_documents(&header, &objects)?,
        components: names.clone(),
        kind: ArtifactKind::Config,
    });
    artifacts.push(Artifact {
        repository: None,
        path: "konflux/repositories.yaml".into(),
        content: summary::repositories(&view, &artifacts)?,
        components: names,
        kind: ArtifactKind::Config,
    });
    let verdicts = view.components.into_iter().flat_map(|c| c.verdicts).collect();
    Ok((artifacts, warnings, verdicts))
}

/// Doozer + Konflux: the tenant objects (Pipelines-as-Code off), one run template per component
/// as okd-build will create it (the branch stands where the generated commit will), and the
/// Dockerfile each build branch gets before Doozer's ENV and LABEL lines.
pub(crate) fn doozer_artifacts(plan: &Plan, settings: &Settings) -> Result<Vec<Artifact>> {
    let view = View::new(plan, settings, &Pins::new())?;
    let ns = settings.namespace.as_deref();
    let release = &plan.release;
    let remote = settings.git_remote.as_deref().unwrap_or("<git_remote>");
    let shared = shared_image_repo(plan);
    let mut objects = vec![
        tenant::application(&view.application, ns, release),
        tenant::tidy(tenant::shared_image_repository(&view.application, ns, release)),
    ];
    let mut artifacts = Vec::new();
    for (c, planned) in view.components.iter().zip(&plan.components) {
        let branch = build_branch(plan, &c.name);
        objects.push(tenant::tidy(tenant::direct_component(
            c,
            &view.application,
            ns,
            settings,
            remote,
            &branch,
            &shared,
        )));
        let fingerprint = planned.fingerprint.as_deref().unwrap_or("sha256:unplanned");
        let name = pipelinerun::run_name(&c.name, fingerprint);
        let output = format!("{shared}:{}", name);
        let source = pipelinerun::GeneratedSource {
            remote,
            revision: &branch,
            branch: &branch,
            output_image: &output,
        };
        let created =
            pipelinerun::Created { name, namespace: ns.unwrap_or("<namespace>"), run: "<run>", fingerprint };
        let mut run = pipelinerun::doozer_run(c, &view.application, settings, &source, &created);
        // A template belongs to no run yet.
        if let Some(labels) = run["metadata"]["labels"].as_object_mut() {
            labels.remove(RUN_LABEL);
        }
        if let Some(annotations) = run["metadata"]["annotations"].as_object_mut() {
            annotations.remove(RUN_ANNOTATION);
        }
        if ns.is_none()
            && let Some(metadata) = run["metadata"].as_object_mut()
        {
            metadata.remove("namespace");
        }
        artifacts.push(Artifact {
            repository: None,
            path: format!("konflux/pipelineruns/{}.yaml", c.name),
            content: tenant::yaml(&run)?,
            components: vec![c.name.clone()],
            kind: ArtifactKind::Config,
        });
        if let Some(text) = &planned.rewritten {
            artifacts.push(Artifact {
                repository: None,
                path: format!("konflux/build-branches/{branch}/Dockerfile"),
                content: text.clone(),
                components: vec![c.name.clone()],
                kind: ArtifactKind::Generated,
            });
        }
    }
    let header = format!(
        "# Tenant objects of {} {} for Doozer + Konflux, rendered by okd-build.\n",
        release.name, release.version
    );
    artifacts.insert(
        0,
        Artifact {
            repository: None,
            path: "konflux/tenant.yaml".into(),
            content: tenant::yaml_documents(&header, &objects)?,
            components: view.components.iter().map(|c| c.name.clone()).collect(),
            kind: ArtifactKind::Config,
        },
    );
    Ok(artifacts)
}

/// The repository every Doozer + Konflux image goes to: the release's own.
pub(crate) fn shared_image_repo(plan: &Plan) -> String {
    format!("{}/{}", plan.release.output.registry, plan.release.output.repository)
}

/// Doozer's build branch of `component`: `art-<group>-assembly-stream-dgk-<component>`.
pub(crate) fn build_branch(plan: &Plan, component: &str) -> String {
    okd_core::generate::build_branch(&plan.release, component)
}
