//! What replaces each FROM of one component, in the terms of the engine that builds it.
//!
//! OpenShift's Build API (openshift/builder `addBuildParameters`) first replaces the LAST FROM
//! with `dockerStrategy.from`, by position, then every FROM and every `COPY --from` whose
//! literal text equals a `source.images[].as` entry (a `COPY --from` naming an earlier stage is
//! left alone; a FROM is not). The multiarch-native-buildah strategy of Shipwright does the same
//! by text only: `runtime-stage-from` becomes `--build-context <last FROM text>=<image>`, and
//! `build-contexts` are `<text>=docker://<image>`.
//!
//! Both match the text AS WRITTEN, before ARG expansion: the builder compares the parsed node's
//! value and buildah looks its build contexts up before it expands ARGs. So `FROM ${BASE}` is
//! matched by `as: ["${BASE}"]`, as ci-operator's `inputs.as` is (backend-prow), although the
//! manifest's `replace` map matched the expanded text. Whatever these rules cannot express is a
//! warning at the Dockerfile line, and the reference is built as written.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
};

use okd_core::{
    Warning,
    backend::{Limit, Mechanism, ReferenceVerdict, Verdict},
    dockerfile::RefKind,
    manifest::{Component, Release, Source, Target},
    plan::{PlannedComponent, PlannedSource},
    resolve::{Resolution, Rule},
};

use crate::config::BuildEngine;

/// What a reference is replaced with: a member's output (an ImageStreamTag of the release
/// stream, or its pushed image for Shipwright), a stream's image (imported into the tools
/// stream), or a literal pull spec.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Replacement {
    Member(String),
    Stream(String),
    Image(String),
}

/// One replacement and the literal Dockerfile texts it stands in for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Input {
    /// The pull spec the plan resolved it to (Shipwright's `docker://` build contexts).
    pub(crate) resolved: String,
    pub(crate) texts: BTreeSet<String>,
}

/// How one component is built.
#[derive(Debug, Clone)]
pub(crate) struct Image {
    pub(crate) component: String,
    pub(crate) url: String,
    /// The planned commit: a BuildConfig pinned to it builds what was planned, not a branch tip.
    pub(crate) commit: String,
    /// `.` for the repository root.
    pub(crate) context_dir: String,
    /// Relative to the context.
    pub(crate) dockerfile_path: String,
    pub(crate) build_args: BTreeMap<String, String>,
    pub(crate) arches: Vec<String>,
    /// The plan's output image (Shipwright pushes there).
    pub(crate) output: String,
    /// The last FROM's replacement, and its resolved pull spec.
    pub(crate) from: Option<(Replacement, String)>,
    pub(crate) inputs: BTreeMap<Replacement, Input>,
}

/// The image of `planned`, or why it has none (a located warning).
pub(crate) fn image(
    release: &Release,
    planned: &PlannedComponent,
    component: &Component,
    engine: BuildEngine,
    warnings: &mut Vec<Warning>,
    verdicts: &mut Vec<ReferenceVerdict>,
) -> Result<Image, String> {
    let manifest_warning =
        |message: String| Warning { file: release.path.clone(), line: component.declared_at.line, message };
    let (url, commit) = match &planned.source {
        PlannedSource::Commit { url, commit, .. } => (url.clone(), commit.clone()),
        PlannedSource::Path { path, .. } => {
            let why = format!(
                "component '{}' is built from the folder {path}; an in-cluster build clones a git repository, so it gets no {} (give it a git source)",
                planned.name,
                object_word(engine)
            );
            warnings.push(manifest_warning(why.clone()));
            verdicts.extend(all_cannot(planned, engine, Limit::NotGitSource));
            return Err(why);
        }
        PlannedSource::Unreadable { reason } => {
            let why = format!(
                "component '{}': its Dockerfile was not read ({reason}), so its FROM lines cannot be mapped; it gets no {}",
                planned.name,
                object_word(engine)
            );
            warnings.push(manifest_warning(why.clone()));
            verdicts.extend(all_cannot(planned, engine, Limit::SourceNotRead));
            return Err(why);
        }
    };
    // The plan's Dockerfile path is from the repository root; the build's is from the context.
    let context = component.context.trim_end_matches('/');
    let context_dir = if context.is_empty() { ".".to_owned() } else { context.to_owned() };
    let dockerfile_path = match context_dir.as_str() {
        "." => planned.dockerfile.clone(),
        dir => planned.dockerfile.strip_prefix(&format!("{dir}/")).unwrap_or(&planned.dockerfile).to_owned(),
    };
    let mut image = Image {
        component: planned.name.clone(),
        url,
        commit,
        context_dir,
        dockerfile_path,
        build_args: planned.build_args.clone(),
        arches: if planned.arches.is_empty() { vec!["amd64".to_owned()] } else { planned.arches.clone() },
        output: planned.image.clone(),
        from: None,
        inputs: BTreeMap::new(),
    };
    let file = dockerfile_file(release, planned, component);
    let mut report = |r: &Resolution, verdict: Verdict, warning: Option<String>| {
        if let Some(message) = warning {
            warnings.push(Warning { file: file.clone(), line: r.line, message });
        }
        verdicts.push(ReferenceVerdict::new(planned, r, verdict));
    };
    map_references(&mut image, &planned.stages, engine, &mut report);
    Ok(image)
}

/// `why` for every reference of `planned` the engine would have to replace.
fn all_cannot(planned: &PlannedComponent, engine: BuildEngine, why: Limit) -> Vec<ReferenceVerdict> {
    planned
        .stages
        .iter()
        .map(|r| {
            let verdict =
                if needed(r, engine).is_some() { Verdict::Cannot { why } } else { Verdict::Unchanged };
            ReferenceVerdict::new(planned, r, verdict)
        })
        .collect()
}

fn object_word(engine: BuildEngine) -> &'static str {
    match engine {
        BuildEngine::Buildconfig => "BuildConfig",
        BuildEngine::Shipwright => "Shipwright Build",
    }
}

/// What `r` must become, if the build would otherwise get something else. A member always
/// needs replacing for OpenShift Builds: its image lives in the release ImageStream, wherever
/// its text points. Shipwright pulls the member's pushed image, so only a change counts.
fn needed(r: &Resolution, engine: BuildEngine) -> Option<Replacement> {
    if matches!(r.rule, Rule::Stage | Rule::Scratch) {
        return None;
    }
    match &r.target {
        Some(Target::Member(m)) if engine == BuildEngine::Buildconfig || r.changes() => {
            Some(Replacement::Member(m.clone()))
        }
        Some(Target::Stream(s)) if r.changes() => Some(Replacement::Stream(s.clone())),
        Some(Target::Image(i)) if r.changes() => Some(Replacement::Image(i.clone())),
        _ => None,
    }
}

/// Which kinds of reference the engine replaces by text.
fn replaced_by_text(kind: RefKind, engine: BuildEngine) -> bool {
    match engine {
        // openshift/builder's replaceImagesFromSource looks at FROM and COPY only.
        BuildEngine::Buildconfig => matches!(kind, RefKind::From | RefKind::CopyFrom),
        // buildah's build contexts stand wherever a stage name may: FROM, COPY --from and
        // RUN --mount from=.
        BuildEngine::Shipwright => matches!(kind, RefKind::From | RefKind::CopyFrom | RefKind::MountFrom),
    }
}

fn kind_word(kind: RefKind) -> &'static str {
    match kind {
        RefKind::From => "FROM",
        RefKind::CopyFrom => "COPY --from",
        RefKind::AddFrom => "ADD --from",
        RefKind::MountFrom => "RUN --mount from",
    }
}

fn map_references(
    image: &mut Image,
    refs: &[Resolution],
    engine: BuildEngine,
    report: &mut dyn FnMut(&Resolution, Verdict, Option<String>),
) {
    let last = refs.iter().rposition(|r| r.kind == RefKind::From);
    let last_needed = last.and_then(|l| needed(&refs[l], engine));
    // The Build API replaces the last FROM by position before any text matching, so its text
    // takes part in matching only when `dockerStrategy.from` is not set.
    let positional =
        |i: usize| engine == BuildEngine::Buildconfig && last_needed.is_some() && Some(i) == last;
    // Texts some FROM or COPY --from uses as a stage name: an `as` entry equal to one would
    // rewrite that stage reference too.
    let stage_texts: BTreeSet<&str> =
        refs.iter().filter(|r| r.rule == Rule::Stage).map(|r| r.original.as_str()).collect();
    // Everything each literal text must become: one text, one replacement for all its uses.
    let mut outcomes: BTreeMap<&str, BTreeSet<Option<Replacement>>> = BTreeMap::new();
    for (i, r) in refs.iter().enumerate() {
        if r.rule != Rule::Stage && replaced_by_text(r.kind, engine) && !positional(i) {
            outcomes.entry(r.original.as_str()).or_default().insert(needed(r, engine));
        }
    }
    let native = |how| Verdict::Native { how };
    let cannot = |why| Verdict::Cannot { why };
    for (i, r) in refs.iter().enumerate() {
        let Some(target) = needed(r, engine) else {
            report(r, Verdict::Unchanged, None);
            continue;
        };
        if positional(i) {
            report(r, native(Mechanism::DockerStrategyFrom), None);
            image.from = Some((target, r.resolved.clone()));
            continue;
        }
        if !replaced_by_text(r.kind, engine) {
            report(
                r,
                cannot(Limit::KindNotReplaced),
                Some(format!(
                    "{} {} is not replaced by {} (only FROM and COPY --from are); it is built as written",
                    kind_word(r.kind),
                    r.original,
                    match engine {
                        BuildEngine::Buildconfig => "OpenShift Builds",
                        BuildEngine::Shipwright => "buildah build contexts",
                    }
                )),
            );
            continue;
        }
        if stage_texts.contains(r.original.as_str()) {
            report(
                r,
                cannot(Limit::StageName),
                Some(format!(
                    "'{}' is also a stage name in this Dockerfile; replacing that text would rewrite the stage references too, so it is built as written",
                    r.original
                )),
            );
            continue;
        }
        if outcomes.get(r.original.as_str()).is_some_and(|o| o.len() > 1) {
            report(
                r,
                cannot(Limit::AmbiguousText),
                Some(format!(
                    "'{}' is written more than once in this Dockerfile and the uses resolve to different images; the build replaces every use of a text alike, so this one is built as written",
                    r.original
                )),
            );
            continue;
        }
        if Some(i) == last {
            // Shipwright: runtime-stage-from, which also covers every other use of this text.
            report(r, native(Mechanism::BuildContext), None);
            image.from = Some((target, r.resolved.clone()));
            continue;
        }
        report(
            r,
            native(match engine {
                BuildEngine::Buildconfig => Mechanism::SourceImagesAs,
                BuildEngine::Shipwright => Mechanism::BuildContext,
            }),
            None,
        );
        let covered = engine == BuildEngine::Shipwright
            && last_needed.is_some()
            && last.is_some_and(|l| refs[l].original == r.original);
        if !covered {
            image
                .inputs
                .entry(target)
                .or_insert_with(|| Input { resolved: r.resolved.clone(), texts: BTreeSet::new() })
                .texts
                .insert(r.original.clone());
        }
    }
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
