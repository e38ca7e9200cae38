//! The core plan: for every component, what each FROM becomes and why, where it sits in the build
//! order, and its fingerprint.
//!
//! [`plan`] does no IO: sources are read first ([`crate::source::read_sources`]), so planning a
//! 20,000-component release is pure computation, and tests can feed Dockerfiles from memory.

pub mod go;

use std::{collections::HashMap, path::Path, sync::Arc};

use serde::Serialize;

use crate::{
    Error, Result, dockerfile,
    fingerprint::{FingerprintInput, fingerprint},
    graph::BuildGraph,
    manifest::{Component, Release, Source, Target},
    resolve::{self, AliasIndex, Resolution, ResolveOptions},
    source::{Origin, SourceState, Sources},
};

/// Planning settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// Refuse FROM references that no rule resolves.
    pub strict: bool,
}

/// The plan of a whole release, components in a valid build order.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The release it plans.
    pub release: Arc<Release>,
    /// Components in build order.
    pub components: Vec<PlannedComponent>,
    /// Names on the longest chain of dependent builds.
    pub critical_path: Vec<String>,
    /// The graph; node `i` is `release.components[i]`.
    pub graph: BuildGraph,
}

impl Plan {
    /// The planned component called `name`.
    pub fn component(&self, name: &str) -> Option<&PlannedComponent> {
        self.components.iter().find(|c| c.name == name)
    }

    /// Components whose source could not be read (offline, not in the cache).
    pub fn unreadable(&self) -> impl Iterator<Item = &PlannedComponent> {
        self.components.iter().filter(|c| matches!(c.source, PlannedSource::Unreadable { .. }))
    }
}

/// Where a planned component's source is. Serialised flat: `{"url", "ref", "commit"}`,
/// `{"path", "content"}` or `{"unreadable"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PlannedSource {
    /// A git commit.
    Commit {
        /// Clone URL.
        url: String,
        /// The manifest's ref.
        #[serde(rename = "ref")]
        reference: String,
        /// What it resolved to.
        commit: String,
    },
    /// A folder read in place.
    Path {
        /// As written in the manifest.
        path: String,
        /// `sha256:` over the build context.
        content: String,
    },
    /// Not read; the plan used the manifest's explicit references only.
    Unreadable {
        /// Why.
        #[serde(rename = "unreadable")]
        reason: String,
    },
}

/// One component of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedComponent {
    /// Component name.
    pub name: String,
    /// Topological level (0 = no member parents).
    pub level: usize,
    /// Member parents.
    pub depends_on: Vec<String>,
    /// sha256 over everything that decides the image; `None` when the source was not read.
    pub fingerprint: Option<String>,
    /// The source.
    pub source: PlannedSource,
    /// The Dockerfile's path inside the source.
    pub dockerfile: String,
    /// Every FROM and --from reference, resolved.
    pub stages: Vec<Resolution>,
    /// Whether the image is a payload tag.
    pub payload: bool,
    /// Target architectures.
    pub arches: Vec<String>,
    /// Build args.
    pub build_args: std::collections::BTreeMap<String, String>,
    /// The image it is tagged as.
    pub image: String,
    /// The Go builders it builds on (a `builder-golang` member, or an external image whose name
    /// says its Go version).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub go_builders: Vec<go::GoBuilderUse>,
    /// The Dockerfile with every resolution applied; `None` when the source was not read.
    #[serde(skip)]
    pub rewritten: Option<String>,
    /// Index in `release.components`.
    #[serde(skip)]
    pub index: usize,
}

/// What planning learned about one component before the graph exists.
struct Resolved {
    stages: Vec<Resolution>,
    rewritten: Option<String>,
    members: Vec<usize>,
    source: PlannedSource,
    content: Option<String>,
}

/// Plans `release` from its `sources`.
pub fn plan(release: Arc<Release>, sources: &Sources, options: &PlanOptions) -> Result<Plan> {
    let index: HashMap<&str, usize> =
        release.components.iter().enumerate().map(|(i, c)| (c.name.as_str(), i)).collect();
    let aliases = AliasIndex::new(&release);
    let member_image = |m: &str| release.output_image(m);
    let mut resolved = Vec::with_capacity(release.components.len());
    for c in &release.components {
        let state = sources.get(&c.name).ok_or_else(|| {
            Error::new(crate::ErrorKind::Internal, format!("no source was read for component '{}'", c.name))
        })?;
        resolved.push(resolve_component(&release, &aliases, c, state, &member_image, &index, options)?);
    }
    let names = release.components.iter().map(|c| c.name.clone()).collect();
    let edges = resolved.iter().enumerate().flat_map(|(child, r)| r.members.iter().map(move |&p| (p, child)));
    let graph = BuildGraph::try_new(names, edges)?.map_err(|cycle| {
        let first = &release.components[cycle.nodes[0]];
        cycle.error.with_location(first.declared_at.clone())
    })?;
    let mut fingerprints: Vec<Option<String>> = vec![None; resolved.len()];
    for &i in graph.order() {
        let c = &release.components[i];
        let r = &resolved[i];
        let parents: Option<Vec<(&str, &str)>> = graph
            .parents(i)
            .iter()
            .map(|&p| fingerprints[p].as_deref().map(|fp| (graph.name(p), fp)))
            .collect();
        fingerprints[i] = match (&r.content, &r.rewritten, parents) {
            (Some(content), Some(dockerfile), Some(parents)) => {
                let externals: Vec<&str> =
                    r.stages.iter().filter(|s| s.member().is_none()).map(|s| s.resolved.as_str()).collect();
                let dockerfile_path = c.dockerfile_path();
                Some(fingerprint(&FingerprintInput {
                    content,
                    dockerfile_path: &dockerfile_path.to_string_lossy(),
                    dockerfile,
                    build_args: &c.build_args,
                    arches: &c.arches,
                    externals: &externals,
                    parents: &parents,
                }))
            }
            _ => None,
        };
    }
    let critical_path = graph.critical_path(|_| 1).into_iter().map(|i| graph.name(i).to_owned()).collect();
    let mut resolved: Vec<Option<Resolved>> = resolved.into_iter().map(Some).collect();
    let components = graph
        .order()
        .iter()
        .map(|&i| {
            let c = &release.components[i];
            let r = resolved[i].take().unwrap_or_else(|| unreachable!("each node appears once in the order"));
            PlannedComponent {
                go_builders: go::component_uses(&release, c, &r.stages),
                name: c.name.clone(),
                level: graph.level(i),
                depends_on: graph.parents(i).iter().map(|&p| graph.name(p).to_owned()).collect(),
                fingerprint: fingerprints[i].take(),
                source: r.source,
                dockerfile: c.dockerfile_path().to_string_lossy().into_owned(),
                stages: r.stages,
                payload: c.payload,
                arches: c.arches.clone(),
                build_args: c.build_args.clone(),
                image: release.output_image(&c.name),
                rewritten: r.rewritten,
                index: i,
            }
        })
        .collect();
    Ok(Plan { release, components, critical_path, graph })
}

fn resolve_component(
    release: &Release,
    aliases: &AliasIndex,
    c: &Component,
    state: &SourceState,
    member_image: &dyn Fn(&str) -> String,
    index: &HashMap<&str, usize>,
    options: &PlanOptions,
) -> Result<Resolved> {
    let member_index = |m: &str| {
        index
            .get(m)
            .copied()
            .ok_or_else(|| Error::new(crate::ErrorKind::Internal, format!("unknown member '{m}'")))
    };
    let snapshot = match state {
        SourceState::Read(s) => s,
        SourceState::Unreadable { reason } => {
            // Offline and not cached: only the manifest's explicit parents are known.
            let explicit = c.from.iter().flat_map(|f| f.targets()).chain(c.last_from.as_ref());
            let mut members = explicit
                .filter_map(|t| if let Target::Member(m) = t { Some(member_index(m)) } else { None })
                .collect::<Result<Vec<_>>>()?;
            members.sort_unstable();
            members.dedup();
            return Ok(Resolved {
                stages: Vec::new(),
                rewritten: None,
                members,
                source: PlannedSource::Unreadable { reason: reason.clone() },
                content: None,
            });
        }
    };
    let path = snapshot.dockerfile_path.as_path();
    let parsed = dockerfile::parse(path, &snapshot.dockerfile, &c.build_args)
        .map_err(|e| e.context(format!("component '{}'", c.name)))?;
    let stages = resolve::resolve(
        release,
        aliases,
        c,
        path,
        &parsed,
        member_image,
        ResolveOptions { strict: options.strict },
    )?;
    let rewritten = dockerfile::rewrite(&snapshot.dockerfile, &resolve::edits(&stages))?;
    let mut members =
        stages.iter().filter_map(|s| s.member()).map(member_index).collect::<Result<Vec<_>>>()?;
    members.sort_unstable();
    members.dedup();
    let source = match (&snapshot.origin, &c.source) {
        (Origin::Git { url, reference, commit }, _) => {
            PlannedSource::Commit { url: url.clone(), reference: reference.clone(), commit: commit.clone() }
        }
        (Origin::Path { .. }, Source::Path(p)) => {
            PlannedSource::Path { path: p.to_string_lossy().into_owned(), content: snapshot.content.clone() }
        }
        (Origin::Path { dir }, Source::Git { .. }) => PlannedSource::Path {
            path: dir.to_string_lossy().into_owned(),
            content: snapshot.content.clone(),
        },
    };
    Ok(Resolved {
        stages,
        rewritten: Some(rewritten),
        members,
        source,
        content: Some(snapshot.content.clone()),
    })
}

/// Builds a [`Sources`] from in-memory Dockerfiles, for tests and benchmarks: every component
/// reads `dockerfiles[name]` with `content` as its context identity.
pub fn sources_from_memory(release: &Release, dockerfiles: &HashMap<String, String>) -> Sources {
    let map = release
        .components
        .iter()
        .map(|c| {
            let state = match dockerfiles.get(&c.name) {
                Some(text) => SourceState::Read(crate::source::SourceSnapshot {
                    origin: Origin::Path { dir: Path::new("memory").join(&c.name) },
                    dockerfile: text.clone(),
                    dockerfile_path: Path::new("memory").join(&c.name).join(c.dockerfile_path()),
                    content: format!("memory:{}", c.name),
                }),
                None => SourceState::Unreadable { reason: "no in-memory Dockerfile".to_owned() },
            };
            (c.name.clone(), state)
        })
        .collect();
    Sources(map)
}

#[cfg(test)]
mod tests;
