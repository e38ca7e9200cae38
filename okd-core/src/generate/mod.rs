//! Generating Doozer-style build trees: for every component, the folder Doozer's rebase would
//! push to its `art-<group>-assembly-<assembly>-dgk-<component>` branch, written locally.
//!
//! Per component (Doozer's `_merge_source` and `_update_dockerfile`, reference §5):
//!
//! - the build context (the source's context folder at the resolved commit, or the path
//!   source's context folder) becomes the root of `<out>/<component>/`;
//! - the chosen Dockerfile, with every FROM and `--from` resolved (member images from
//!   [`GenerateOptions::pins`] when given), the two `ENV __doozer=...` lines after every FROM
//!   and one `LABEL` block at the end, is written as `/Dockerfile`; every other byte of it is
//!   the author's; the other `Dockerfile.*` and `Containerfile*` files at the root are removed;
//! - `.okd-build/generated.json` records what went in.
//!
//! Path sources have no commit. Where Doozer uses one, a path source uses the first 7 hex
//! digits of its content hash (`OS_GIT_COMMIT`, the `.g<sha7>` of the release string), the run's
//! time as `SOURCE_DATE_EPOCH` and the manifest's path as the source location; it gets no
//! `SOURCE_GIT_COMMIT`, `SOURCE_GIT_TAG` or commit labels.
//!
//! Everything is checked before anything is written (sources read, target folders free,
//! Dockerfiles resolved), then components are exported concurrently (bounded by
//! [`SourceOptions::jobs`]), each into a staging folder renamed into place when complete.

mod inject;
mod tree;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
    sync::Arc,
};

use serde::Serialize;
use tokio::{sync::Semaphore, task::JoinSet};

use crate::{
    Error, ErrorKind, Result,
    dockerfile::{self, Dockerfile, Edit},
    manifest::Release,
    plan::{Plan, PlannedComponent, PlannedSource},
    resolve::{self, AliasIndex, Resolution, ResolveOptions},
    source::{self, Origin, SourceOptions, SourceSnapshot, SourceState, Sources},
};

use inject::{SourceFacts, Stamp};

/// What to generate, where, and the values Doozer takes from its command line.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// One folder per component: `out_dir/<component>/`.
    pub out_dir: PathBuf,
    /// The components to generate; empty means every component of the plan.
    pub components: Vec<String>,
    /// Member component -> exact image reference (e.g. `quay.io/x/y@sha256:...`), used instead
    /// of the member's output image.
    pub pins: BTreeMap<String, String>,
    /// The run's time: the runtime uuid (`%Y%m%d.%H%M%S`, UTC) and the release string's
    /// `%Y%m%d%H%M`.
    pub timestamp: jiff::Timestamp,
    /// Doozer's assembly, `stream` by default.
    pub assembly: String,
    /// Doozer's group, e.g. `okd-4.17`.
    pub group: String,
    /// N in the release string's `.scosN` / `.elN`.
    pub el_major: u32,
    /// Where the git cache is.
    pub source: SourceOptions,
}

impl GenerateOptions {
    /// Defaults for `release`: every component, no pins, now, assembly `stream`, group
    /// `okd-<major>.<minor>` for the `scos`/`okd` variants (else `openshift-<major>.<minor>`),
    /// el 9.
    pub fn new(release: &Release, out_dir: PathBuf, source: SourceOptions) -> Self {
        let (major, minor) = (release.version.major, release.version.minor);
        let product = if is_okd(release) { "okd" } else { "openshift" };
        GenerateOptions {
            out_dir,
            components: Vec::new(),
            pins: BTreeMap::new(),
            timestamp: jiff::Timestamp::now(),
            assembly: "stream".to_owned(),
            group: format!("{product}-{major}.{minor}"),
            el_major: 9,
            source,
        }
    }
}

/// One generated folder.
#[derive(Debug, Clone, Serialize)]
pub struct Generated {
    /// The component.
    pub component: String,
    /// `out_dir/<component>`.
    pub dir: PathBuf,
    /// The plan's fingerprint of the component.
    pub fingerprint: Option<String>,
    /// The source commit; `None` for a path source.
    pub commit: Option<String>,
    /// The release string.
    pub release: String,
}

/// Generates the build folder of every selected component of `plan`, in plan order.
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`] before anything is written for an unknown component or pin, an
/// unreadable source, a target folder that is neither empty nor a previous generation, or a
/// Dockerfile that does not resolve (e.g. a FROM-count mismatch); IO and git errors otherwise
/// (a failed component leaves no folder behind; the others are still written).
pub async fn generate(plan: &Plan, sources: &Sources, options: &GenerateOptions) -> Result<Vec<Generated>> {
    let release = &plan.release;
    check_pins(release, &options.pins)?;
    let aliases = AliasIndex::new(release);
    let jobs = select(plan, &options.components)?
        .into_iter()
        .map(|planned| prepare(release, sources, &aliases, planned, options))
        .collect::<Result<Vec<_>>>()?;
    std::fs::create_dir_all(&options.out_dir).map_err(|e| Error::io(&options.out_dir, "create", e))?;
    let shared = Arc::new(Shared {
        release: ReleaseRecord {
            name: release.name.clone(),
            variant: release.variant.clone(),
            version: release.version.to_string(),
        },
        parts: (release.version.major, release.version.minor, release.version.patch),
        scos: is_okd(release),
        options: options.clone(),
    });
    let limit = Arc::new(Semaphore::new(options.source.jobs.max(1)));
    let mut tasks = JoinSet::new();
    let count = jobs.len();
    for (i, job) in jobs.into_iter().enumerate() {
        let (shared, limit) = (shared.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            (i, run(job, &shared).await)
        });
    }
    let mut results: Vec<Option<Result<Generated>>> = (0..count).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        let (i, result) =
            joined.map_err(|e| Error::new(ErrorKind::Internal, "a generate task failed").with_source(e))?;
        results[i] = Some(result);
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(Error::new(ErrorKind::Internal, "a generate task did not report"))))
        .collect()
}

fn is_okd(release: &Release) -> bool {
    matches!(release.variant.as_deref(), Some("scos" | "okd"))
}

fn check_pins(release: &Release, pins: &BTreeMap<String, String>) -> Result<()> {
    for (member, image) in pins {
        if release.component(member).is_none() {
            return Err(Error::invalid(format!("pin for '{member}': the release has no such component"))
                .with_help("pin only components of the manifest: --pin <component>=<image>"));
        }
        if image.is_empty() || image.chars().any(char::is_whitespace) {
            return Err(Error::invalid(format!("pin for '{member}': '{image}' is not an image reference"))
                .with_help("give an exact reference without spaces, e.g. quay.io/org/repo@sha256:<digest>"));
        }
    }
    Ok(())
}

/// The planned components to generate, in plan order.
fn select<'p>(plan: &'p Plan, names: &[String]) -> Result<Vec<&'p PlannedComponent>> {
    if names.is_empty() {
        return Ok(plan.components.iter().collect());
    }
    let unknown: Vec<&str> =
        names.iter().filter(|n| plan.component(n).is_none()).map(String::as_str).collect();
    if !unknown.is_empty() {
        let known: Vec<&str> = plan.components.iter().map(|c| c.name.as_str()).collect();
        return Err(Error::invalid(format!(
            "unknown component(s) {}; the release has: {}",
            unknown.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", "),
            known.join(", ")
        ))
        .with_help("name components as the manifest's `components[].name` does"));
    }
    let wanted: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    Ok(plan.components.iter().filter(|c| wanted.contains(c.name.as_str())).collect())
}

/// Everything one component needs, checked and resolved, before anything is written.
struct Job {
    name: String,
    snapshot: SourceSnapshot,
    context: String,
    build_args: BTreeMap<String, String>,
    parsed: Dockerfile,
    resolutions: Vec<Resolution>,
    edits: Vec<Edit>,
    pins: BTreeMap<String, String>,
    source: PlannedSource,
    dockerfile: String,
    fingerprint: Option<String>,
    target: PathBuf,
}

fn prepare(
    release: &Release,
    sources: &Sources,
    aliases: &AliasIndex,
    planned: &PlannedComponent,
    options: &GenerateOptions,
) -> Result<Job> {
    let c = &release.components[planned.index];
    let snapshot = match sources.get(&c.name) {
        Some(SourceState::Read(s)) => s,
        Some(SourceState::Unreadable { reason }) => {
            return Err(Error::invalid_at(
                c.declared_at.clone(),
                format!("component '{}': its source was not read: {reason}", c.name),
                "run without --offline once so that the git cache holds its commit",
            ));
        }
        None => return Err(Error::new(ErrorKind::Internal, format!("no source was read for '{}'", c.name))),
    };
    let target = options.out_dir.join(&c.name);
    tree::check_target(&target, &c.name)?;
    if let Origin::Path { dir } = &snapshot.origin {
        let context = dir.join(&c.context);
        if tree::contains(&context, &options.out_dir) {
            return Err(Error::invalid(format!(
                "component '{}': the output folder {} is inside its build context {}",
                c.name,
                options.out_dir.display(),
                context.display()
            ))
            .with_help("choose an --out outside the sources, or the context would copy its own output"));
        }
    }
    let path = snapshot.dockerfile_path.as_path();
    let parsed = dockerfile::parse(path, &snapshot.dockerfile, &c.build_args)
        .map_err(|e| e.context(format!("component '{}'", c.name)))?;
    let member_image = |m: &str| options.pins.get(m).cloned().unwrap_or_else(|| release.output_image(m));
    let resolutions =
        resolve::resolve(release, aliases, c, path, &parsed, &member_image, ResolveOptions::default())?;
    let pins = resolutions
        .iter()
        .filter_map(Resolution::member)
        .filter_map(|m| options.pins.get(m).map(|image| (m.to_owned(), image.clone())))
        .collect();
    Ok(Job {
        name: c.name.clone(),
        snapshot: snapshot.clone(),
        context: c.context.clone(),
        build_args: c.build_args.clone(),
        edits: resolve::edits(&resolutions),
        parsed,
        resolutions,
        pins,
        source: planned.source.clone(),
        dockerfile: planned.dockerfile.clone(),
        fingerprint: planned.fingerprint.clone(),
        target,
    })
}

/// What every job shares.
struct Shared {
    release: ReleaseRecord,
    parts: (u64, u64, u64),
    scos: bool,
    options: GenerateOptions,
}

async fn run(job: Job, shared: &Shared) -> Result<Generated> {
    let o = &shared.options;
    let facts = source_facts(&job, o).await.map_err(|e| e.context(format!("component '{}'", job.name)))?;
    let (x, y, z) = shared.parts;
    let stamp = Stamp {
        component: job.name.clone(),
        version: format!("{x}.{y}.{z}"),
        parts: shared.parts,
        release: inject::release_string(o.timestamp, &facts.short, &o.assembly, shared.scos, o.el_major),
        group: o.group.clone(),
        uuid: inject::runtime_uuid(o.timestamp),
        scos: shared.scos,
        source: facts,
    };
    let text = inject::inject(&job.snapshot.dockerfile, &job.parsed, job.edits.clone(), &stamp)?;
    verify(&job, &text)?;
    let record = record(&job, shared, &stamp)?;
    let staging = tree::staging(&o.out_dir, &job.name)?;
    let written = async {
        source::export_context(&job.snapshot, &job.context, &o.source, &staging).await?;
        tree::finish(&staging, &text, &record)?;
        tree::replace(&staging, &job.target)
    }
    .await;
    if let Err(e) = written {
        let _ = tree::remove(&staging);
        return Err(e.context(format!("component '{}'", job.name)));
    }
    Ok(Generated {
        component: job.name,
        dir: job.target,
        fingerprint: job.fingerprint,
        commit: stamp.source.commit,
        release: stamp.release,
    })
}

async fn source_facts(job: &Job, options: &GenerateOptions) -> Result<SourceFacts> {
    match &job.snapshot.origin {
        Origin::Git { url, commit, .. } => {
            let epoch = source::commit_time(&options.source, url, commit).await?;
            let tag = source::describe(&options.source, url, commit).await?;
            let (location, web) = inject::public_location(url);
            Ok(SourceFacts {
                short: commit.chars().take(7).collect(),
                commit: Some(commit.clone()),
                epoch,
                tag: Some(tag),
                location,
                web,
            })
        }
        Origin::Path { dir } => {
            let location = match &job.source {
                PlannedSource::Path { path, .. } => path.clone(),
                _ => dir.to_string_lossy().into_owned(),
            };
            let hash = job.snapshot.content.rsplit(':').next().unwrap_or_default();
            Ok(SourceFacts {
                commit: None,
                short: hash.chars().take(7).collect(),
                epoch: options.timestamp.as_second(),
                tag: None,
                location,
                web: false,
            })
        }
    }
}

/// Parses the generated Dockerfile back: the same stages, the original instructions plus two
/// ENV per stage and one LABEL, and every reference exactly as resolved.
fn verify(job: &Job, text: &str) -> Result<()> {
    let path = job.target.join("Dockerfile");
    let fail = |detail: String| {
        Error::new(
            ErrorKind::Internal,
            format!("component '{}': the generated Dockerfile does not keep the original's structure: {detail}", job.name),
        )
        .with_help(
            "this happens when the Dockerfile's last line ends with a line continuation (remove it); otherwise it is a bug in okd-build",
        )
    };
    let again = dockerfile::parse(&path, text, &job.build_args).map_err(|e| fail(e.to_string()))?;
    let expected = job.parsed.instruction_count + 2 * job.parsed.stages.len() + 1;
    if again.stages.len() != job.parsed.stages.len() || again.instruction_count != expected {
        return Err(fail(format!(
            "{} stage(s) and {} instruction(s), expected {} and {expected}",
            again.stages.len(),
            again.instruction_count,
            job.parsed.stages.len()
        )));
    }
    let refs: Vec<&str> = again.refs.iter().map(|r| r.raw.as_str()).collect();
    let resolved: Vec<&str> = job.resolutions.iter().map(|r| r.resolved.as_str()).collect();
    if refs != resolved {
        return Err(fail(format!("references {refs:?}, expected {resolved:?}")));
    }
    Ok(())
}

/// `.okd-build/generated.json`. Fields are declared in alphabetical order and the text goes
/// through a `serde_json::Value`, so keys come out sorted at every level.
#[derive(Serialize)]
struct Record<'a> {
    assembly: &'a str,
    component: &'a str,
    dockerfile: &'a str,
    fingerprint: Option<&'a str>,
    group: &'a str,
    okd_build_generated: u32,
    pins: &'a BTreeMap<String, String>,
    release: &'a ReleaseRecord,
    release_string: &'a str,
    source: &'a PlannedSource,
    stages: Vec<StageRecord<'a>>,
    timestamp: String,
}

#[derive(Debug, Clone, Serialize)]
struct ReleaseRecord {
    name: String,
    variant: Option<String>,
    version: String,
}

#[derive(Serialize)]
struct StageRecord<'a> {
    kind: dockerfile::RefKind,
    line: u32,
    original: &'a str,
    resolved: &'a str,
    rule: resolve::Rule,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
}

fn record(job: &Job, shared: &Shared, stamp: &Stamp) -> Result<String> {
    let o = &shared.options;
    let record = Record {
        assembly: &o.assembly,
        component: &job.name,
        dockerfile: &job.dockerfile,
        fingerprint: job.fingerprint.as_deref(),
        group: &o.group,
        okd_build_generated: 1,
        pins: &job.pins,
        release: &shared.release,
        release_string: &stamp.release,
        source: &job.source,
        stages: job
            .resolutions
            .iter()
            .map(|r| StageRecord {
                kind: r.kind,
                line: r.line,
                original: &r.original,
                resolved: &r.resolved,
                rule: r.rule,
                target: r.target.as_ref().map(ToString::to_string),
            })
            .collect(),
        timestamp: o.timestamp.to_string(),
    };
    let internal =
        |e: serde_json::Error| Error::new(ErrorKind::Internal, "cannot write generated.json").with_source(e);
    let value = serde_json::to_value(&record).map_err(internal)?;
    Ok(serde_json::to_string_pretty(&value).map_err(internal)? + "\n")
}

/// Doozer's build branch of `component`: `art-<group>-assembly-<assembly>-dgk-<component>`, the
/// branch the generated source of a Doozer approach is pushed to.
pub fn build_branch(release: &Release, component: &str) -> String {
    let options = GenerateOptions::new(release, PathBuf::new(), SourceOptions::default());
    format!("art-{}-assembly-{}-dgk-{component}", options.group, options.assembly)
}
