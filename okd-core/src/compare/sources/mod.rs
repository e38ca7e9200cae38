//! `okd compare sources`: releases that came from different sources of truth (an ocp-build-data
//! import, a ci-operator import, a payload-pipeline import, a `.tekton` import, a hand-written
//! manifest), compared component by component.
//!
//! Each component becomes one normalised record: git URL (host lowercased, `.git`, trailing `/`
//! and the https/ssh/scp spelling dropped) and ref, context, Dockerfile path from the source
//! root, build args, and the targets its FROMs end on.
//!
//! FROMs are compared by their *targets*, never by how a source maps them: ocp-build-data pairs
//! parents by position (`from`), ci-operator by exact text (`inputs.*.as`) plus the last FROM
//! (`from`), a BuildConfig by `source.images[].as` plus `dockerStrategy.from`. The same Dockerfile
//! is described three ways, but the images it ends on are one fact. So each source's target is
//! written one way: `member:NAME`, `scratch`, or `image:SPEC`, where a stream becomes the pull spec
//! it stands for and every stream's image and aliases, across all inputs, are one name (the
//! CI builder name ocp-build-data aliases to ART's image is ci-operator's stream image), and a pull
//! spec that is an input's own output image of a member is that member. `from_final` is the
//! target of the last FROM that is not a stage reference (Doozer's `final`, ci-operator's and a
//! BuildConfig's `from`); `from_targets` is the set of all of them.
//!
//! When a component's Dockerfile was read, the targets are its resolved FROM and `--from`
//! references. When it was not (offline), they are what its manifest declares: `from` (builders
//! and final), `last_from` and the component's `replace` values. The release-wide `replace` is
//! left out there: without the Dockerfile nothing says which of its entries a component uses.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    fmt::Write,
    path::{Component as PathPart, Path},
};

use serde::Serialize;

use crate::{
    dockerfile::RefKind,
    manifest::{Release, Source, Target},
    plan::{Plan, PlannedComponent, PlannedSource},
    resolve::{Resolution, Rule},
};

mod text;

/// One release to compare: a label (usually its file name) and its plan.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    /// How the input is named in output.
    pub label: String,
    /// The release's plan; `plan.release` is the release.
    pub plan: &'a Plan,
}

/// A compared property of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The Dockerfile's path from the source root.
    Dockerfile,
    /// The build context from the source root.
    Context,
    /// Build args.
    BuildArgs,
    /// The git URL, normalised ([`normalize_url`]).
    GitUrl,
    /// The git ref.
    GitRef,
    /// The target of the last FROM that is not a stage reference.
    FromFinal,
    /// The targets of every FROM and `--from`.
    FromTargets,
}

impl Field {
    /// Every field, in output order.
    pub const ALL: [Field; 7] = [
        Field::Dockerfile,
        Field::Context,
        Field::BuildArgs,
        Field::GitUrl,
        Field::GitRef,
        Field::FromFinal,
        Field::FromTargets,
    ];

    /// The snake_case name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Dockerfile => "dockerfile",
            Field::Context => "context",
            Field::BuildArgs => "build_args",
            Field::GitUrl => "git_url",
            Field::GitRef => "git_ref",
            Field::FromFinal => "from_final",
            Field::FromTargets => "from_targets",
        }
    }
}

/// The comparison; its JSON is the documented machine output. Inputs are referred to by their
/// index in `inputs`.
#[derive(Debug, Clone, Serialize)]
pub struct SourcesComparison {
    /// The inputs, in the order given.
    pub inputs: Vec<InputSummary>,
    /// Totals over all inputs.
    pub summary: Summary,
    /// Every pair of inputs.
    pub pairs: Vec<PairSummary>,
    /// Components that some inputs lack, grouped by the inputs that have them.
    pub only_in: Vec<OnlyIn>,
    /// Components in two inputs or more whose fields are not all equal, by name.
    pub differences: Vec<ComponentDifferences>,
}

/// One input.
#[derive(Debug, Clone, Serialize)]
pub struct InputSummary {
    /// Its label.
    pub label: String,
    /// The release name.
    pub release: String,
    /// The release version.
    pub version: String,
    /// Its components.
    pub components: usize,
    /// Components whose Dockerfile was read; the others compare declared FROM targets.
    pub dockerfiles_read: usize,
}

/// Totals over all inputs.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// No component is missing anywhere and none differs.
    pub agree: bool,
    /// Distinct component names.
    pub components: usize,
    /// Components every input has.
    pub in_all: usize,
    /// Components some input lacks.
    pub only_in_some: usize,
    /// Components with at least one differing field.
    pub differing: usize,
    /// Per field, the components where it differs.
    pub fields: BTreeMap<Field, usize>,
}

/// Two inputs compared.
#[derive(Debug, Clone, Serialize)]
pub struct PairSummary {
    /// Index of the first input.
    pub a: usize,
    /// Index of the second input.
    pub b: usize,
    /// Components both have.
    pub common: usize,
    /// Components only `a` has.
    pub only_a: usize,
    /// Components only `b` has.
    pub only_b: usize,
    /// Common components with at least one differing field.
    pub differing: usize,
    /// Per field, the common components where it differs.
    pub fields: BTreeMap<Field, usize>,
}

/// Components present in exactly the inputs `inputs`.
#[derive(Debug, Clone, Serialize)]
pub struct OnlyIn {
    /// Indexes of the inputs that have them.
    pub inputs: Vec<usize>,
    /// Their names, sorted.
    pub components: Vec<String>,
}

/// The differing fields of one component.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentDifferences {
    /// Component name.
    pub component: String,
    /// The fields that are not equal in every input that has the component.
    pub fields: Vec<FieldDifference>,
}

/// One differing field.
#[derive(Debug, Clone, Serialize)]
pub struct FieldDifference {
    /// Which field.
    pub field: Field,
    /// Its value per input, aligned with `inputs`; `null` where the component is absent.
    pub values: Vec<Option<String>>,
}

/// Compares `inputs` (two or more, for a useful answer).
pub fn compare(inputs: &[Input<'_>]) -> SourcesComparison {
    let names = ImageNames::new(inputs.iter().map(|i| &*i.plan.release));
    let records: Vec<BTreeMap<&str, Record>> = inputs.iter().map(|i| records(i.plan, &names)).collect();
    let all: BTreeSet<&str> = records.iter().flat_map(|r| r.keys().copied()).collect();
    let n = inputs.len();
    let mut groups: BTreeMap<Vec<usize>, Vec<String>> = BTreeMap::new();
    let mut differences = Vec::new();
    let mut fields: BTreeMap<Field, usize> = Field::ALL.iter().map(|&f| (f, 0)).collect();
    for name in &all {
        let present: Vec<usize> = (0..n).filter(|&i| records[i].contains_key(name)).collect();
        if present.len() < n {
            groups.entry(present).or_default().push((*name).to_owned());
        }
        let differing: Vec<FieldDifference> = Field::ALL
            .iter()
            .filter_map(|&field| {
                let values: Vec<Option<String>> =
                    records.iter().map(|r| r.get(name).map(|c| c.value(field).to_owned())).collect();
                let distinct: BTreeSet<&String> = values.iter().flatten().collect();
                (distinct.len() > 1).then_some(FieldDifference { field, values })
            })
            .collect();
        for d in &differing {
            *fields.entry(d.field).or_default() += 1;
        }
        if !differing.is_empty() {
            differences.push(ComponentDifferences { component: (*name).to_owned(), fields: differing });
        }
    }
    let only_in: Vec<OnlyIn> =
        groups.into_iter().map(|(inputs, components)| OnlyIn { inputs, components }).collect();
    let only_in_some = only_in.iter().map(|o| o.components.len()).sum();
    let summary = Summary {
        agree: only_in.is_empty() && differences.is_empty(),
        components: all.len(),
        in_all: all.len() - only_in_some,
        only_in_some,
        differing: differences.len(),
        fields,
    };
    let pairs = (0..n).flat_map(|a| (a + 1..n).map(move |b| (a, b))).map(|(a, b)| pair(&records, a, b));
    SourcesComparison {
        inputs: inputs.iter().zip(&records).map(|(i, r)| input_summary(i, r)).collect(),
        summary,
        pairs: pairs.collect(),
        only_in,
        differences,
    }
}

fn input_summary(input: &Input<'_>, records: &BTreeMap<&str, Record>) -> InputSummary {
    InputSummary {
        label: input.label.clone(),
        release: input.plan.release.name.clone(),
        version: input.plan.release.version.to_string(),
        components: records.len(),
        dockerfiles_read: records.values().filter(|r| r.read).count(),
    }
}

fn pair(records: &[BTreeMap<&str, Record>], a: usize, b: usize) -> PairSummary {
    let (ra, rb) = (&records[a], &records[b]);
    let mut fields: BTreeMap<Field, usize> = Field::ALL.iter().map(|&f| (f, 0)).collect();
    let (mut common, mut differing) = (0, 0);
    for (name, x) in ra {
        let Some(y) = rb.get(name) else { continue };
        common += 1;
        let differ: Vec<Field> = Field::ALL.into_iter().filter(|&f| x.value(f) != y.value(f)).collect();
        differing += usize::from(!differ.is_empty());
        for f in differ {
            *fields.entry(f).or_default() += 1;
        }
    }
    PairSummary { a, b, common, only_a: ra.len() - common, only_b: rb.len() - common, differing, fields }
}

/// One component, normalised so that sources of truth can be compared: its value per field, in
/// [`Field::ALL`] order, as compared and shown.
#[derive(Debug, Clone)]
struct Record {
    values: [String; 7],
    /// Targets come from the read Dockerfile, not the declared mapping.
    read: bool,
}

impl Record {
    fn value(&self, field: Field) -> &str {
        &self.values[field as usize]
    }
}

fn records<'p>(plan: &'p Plan, names: &ImageNames) -> BTreeMap<&'p str, Record> {
    let release = &*plan.release;
    let outputs: HashMap<String, &str> =
        release.components.iter().map(|c| (release.output_image(&c.name), c.name.as_str())).collect();
    let text = TargetText { release, outputs: &outputs, names };
    plan.components.iter().filter_map(|pc| Some((pc.name.as_str(), record(pc, release, &text)?))).collect()
}

fn record(pc: &PlannedComponent, release: &Release, text: &TargetText<'_>) -> Option<Record> {
    let c = release.components.get(pc.index)?;
    let (url, reference) = match &c.source {
        Source::Git { url, reference } => (normalize_url(url), reference.clone()),
        Source::Path(p) => (format!("path:{}", p.display()), String::new()),
    };
    let read = !matches!(pc.source, PlannedSource::Unreadable { .. });
    let (from_final, from_targets): (Option<String>, BTreeSet<String>) = if read {
        let external = |r: &&Resolution| r.rule != Rule::Stage;
        let last = pc.stages.iter().filter(external).rfind(|r| r.kind == RefKind::From);
        let all = pc.stages.iter().filter(external).filter(|r| r.rule != Rule::Scratch);
        (last.map(|r| text.resolution(r)), all.map(|r| text.resolution(r)).collect())
    } else {
        let last = c.from.as_ref().and_then(|f| f.final_.as_ref()).or(c.last_from.as_ref());
        let all = c.from.iter().flat_map(|f| f.targets()).chain(&c.last_from).chain(c.replace.values());
        (last.map(|t| text.target(t)), all.map(|t| text.target(t)).collect())
    };
    let or_none = |s: String| if s.is_empty() { "(none)".to_owned() } else { s };
    // Names are [A-Za-z0-9_] and values are quoted, so the text is unambiguous.
    let args: Vec<String> = c.build_args.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    let values = Field::ALL.map(|field| match field {
        Field::Dockerfile => normal_path(&pc.dockerfile),
        Field::Context => normal_path(&c.context),
        Field::BuildArgs => or_none(args.join(" ")),
        Field::GitUrl => url.clone(),
        Field::GitRef => or_none(reference.clone()),
        Field::FromFinal => or_none(from_final.clone().unwrap_or_default()),
        Field::FromTargets => or_none(from_targets.iter().cloned().collect::<Vec<_>>().join(", ")),
    });
    Some(Record { values, read })
}

/// `a/./b/` -> `a/b`; the source root is `.`.
fn normal_path(path: &str) -> String {
    let parts: Vec<_> = Path::new(path)
        .components()
        .filter(|p| !matches!(p, PathPart::CurDir))
        .map(|p| p.as_os_str().to_string_lossy())
        .collect();
    if parts.is_empty() { ".".to_owned() } else { parts.join("/") }
}

/// A git URL as `host/path`: `https://GitHub.com/openshift/oc.git/`, `git@github.com:openshift/oc`
/// and `ssh://git@github.com/openshift/oc` are all `github.com/openshift/oc`. `file://` URLs and
/// plain paths keep their path.
pub fn normalize_url(url: &str) -> String {
    let trimmed = url.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix(".git").unwrap_or(trimmed);
    let (host, path) = match trimmed.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("file") => return format!("file://{rest}"),
        Some((_, rest)) => rest.split_once('/').unwrap_or((rest, "")),
        None => match trimmed.split_once(':') {
            Some((host, path)) if !host.contains('/') => (host, path),
            _ => return trimmed.to_owned(),
        },
    };
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    format!("{}/{}", host.to_ascii_lowercase(), path.trim_start_matches('/'))
}

/// Pull specs that name one image: every stream's image and aliases, over all inputs, are one
/// class, written as one representative (an alias if the class has one: the upstream name).
#[derive(Debug, Default)]
struct ImageNames(HashMap<String, String>);

impl ImageNames {
    fn new<'r>(releases: impl Iterator<Item = &'r Release>) -> Self {
        let mut parent: HashMap<String, String> = HashMap::new();
        let mut aliases: BTreeSet<String> = BTreeSet::new();
        for stream in releases.flat_map(|r| r.streams.values()) {
            let root = find(&mut parent, &stream.image);
            for alias in &stream.aliases {
                let other = find(&mut parent, alias);
                parent.insert(other, root.clone());
                aliases.insert(alias.clone());
            }
        }
        let specs: Vec<String> = parent.keys().cloned().collect();
        let mut best: HashMap<String, String> = HashMap::new();
        let mut root_of = HashMap::new();
        for spec in specs {
            let root = find(&mut parent, &spec);
            let rank = |s: &String| (!aliases.contains(s), s.clone());
            let entry = best.entry(root.clone()).or_insert_with(|| spec.clone());
            if rank(&spec) < rank(entry) {
                *entry = spec.clone();
            }
            root_of.insert(spec, root);
        }
        ImageNames(
            root_of.into_iter().filter_map(|(spec, root)| Some((spec, best.get(&root)?.clone()))).collect(),
        )
    }

    fn canonical<'s>(&'s self, spec: &'s str) -> &'s str {
        self.0.get(spec).map_or(spec, String::as_str)
    }
}

/// The root of `spec`'s class, adding it as its own class when new.
fn find(parent: &mut HashMap<String, String>, spec: &str) -> String {
    let mut current = spec.to_owned();
    loop {
        match parent.get(&current) {
            Some(p) if *p != current => current = p.clone(),
            Some(_) => return current,
            None => {
                parent.insert(current.clone(), current.clone());
                return current;
            }
        }
    }
}

/// Writes targets one way for every input (see the module docs).
struct TargetText<'a> {
    release: &'a Release,
    outputs: &'a HashMap<String, &'a str>,
    names: &'a ImageNames,
}

impl TargetText<'_> {
    fn target(&self, target: &Target) -> String {
        match target {
            Target::Member(m) => format!("member:{m}"),
            Target::Stream(s) => match self.release.streams.get(s) {
                Some(stream) => self.image(&stream.image),
                None => format!("stream:{s}"),
            },
            Target::Image(spec) => self.image(spec),
        }
    }

    fn resolution(&self, r: &Resolution) -> String {
        match (&r.target, r.rule) {
            (_, Rule::Scratch) => "scratch".to_owned(),
            (Some(t), _) => self.target(t),
            (None, _) => self.image(&r.expanded),
        }
    }

    fn image(&self, spec: &str) -> String {
        match self.outputs.get(spec) {
            Some(member) => format!("member:{member}"),
            None => format!("image:{}", self.names.canonical(spec)),
        }
    }
}

/// Private helpers; comparisons of whole releases are in `tests/tests/compare_sources.rs`.
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_stream_image_and_its_aliases_are_one_name_across_releases() {
        let release = |streams: &str| {
            let yaml = format!(
                "name: r\nversion: 1.0.0\noutput: {{ registry: q, repository: r }}\nstreams: {streams}\ncomponents: [{{ name: a, source: {{ path: x }} }}]\n"
            );
            crate::manifest::load_str(Path::new("r.yaml"), &yaml, &Default::default()).unwrap()
        };
        let a = release("{ golang: { image: art/golang:1, aliases: [ci/builder:golang] } }");
        let b = release("{ ci: { image: ci/builder:golang, aliases: [old/golang] } }");
        let names = ImageNames::new([&a, &b].into_iter());
        for spec in ["art/golang:1", "ci/builder:golang", "old/golang"] {
            assert_eq!(names.canonical(spec), "ci/builder:golang", "{spec}");
        }
        assert_eq!(names.canonical("other:1"), "other:1");
        assert_eq!((normal_path("./a/./b/"), normal_path(".")), ("a/b".to_owned(), ".".to_owned()));
    }
}
