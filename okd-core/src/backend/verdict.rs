//! How a backend carries out the plan's decision for each FROM and `--from` reference: natively
//! in its own configuration, only through a forked Dockerfile, or not at all.
//!
//! Each backend records a verdict at the point where its render maps the reference, so the
//! comparison reports what the generated configuration really does, not what a table claims.

use serde::Serialize;

use crate::{
    dockerfile::RefKind,
    plan::{Plan, PlannedComponent},
    resolve::{Resolution, Rule},
};

/// The system feature that replaces a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mechanism {
    /// ci-operator `images[].from`: the last FROM, by position.
    CiOperatorFrom,
    /// ci-operator `images[].inputs.<tag>.as`: the literal Dockerfile text.
    InputsAs,
    /// BuildConfig `dockerStrategy.from`: the last FROM, by position.
    DockerStrategyFrom,
    /// BuildConfig `source.images[].as`: the literal Dockerfile text.
    SourceImagesAs,
    /// buildah `--build-context TEXT=docker://IMAGE` (Shipwright).
    BuildContext,
    /// A `--build-arg` for a FROM whose image is a whole ARG.
    BuildArg,
    /// The generated source's Dockerfile says it (Doozer's rewrite).
    GeneratedSource,
    /// okd-build rewrites the Dockerfile just before it builds.
    RewriteBeforeBuild,
}

impl Mechanism {
    /// The name in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::CiOperatorFrom => "ci-operator-from",
            Mechanism::InputsAs => "inputs-as",
            Mechanism::DockerStrategyFrom => "docker-strategy-from",
            Mechanism::SourceImagesAs => "source-images-as",
            Mechanism::BuildContext => "build-context",
            Mechanism::BuildArg => "build-arg",
            Mechanism::GeneratedSource => "generated-source",
            Mechanism::RewriteBeforeBuild => "rewrite-before-build",
        }
    }
}

/// Why a reference cannot be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Limit {
    /// The text is also a stage name; replacing it would rewrite the stage references too.
    StageName,
    /// The same literal text (often an ARG-built one) resolves to different images at different
    /// uses, and the system replaces every use of a text alike.
    AmbiguousText,
    /// The system replaces only FROM and COPY --from (not ADD --from or RUN --mount from=).
    KindNotReplaced,
    /// The image is not one the system can take (ci-operator: not an app.ci ImageStream tag or a
    /// quay.io image).
    NotImageStreamTag,
    /// The component is a folder, and the system builds git repositories.
    NotGitSource,
    /// The Dockerfile was not read (offline, unreachable), so nothing can be mapped.
    SourceNotRead,
}

impl Limit {
    /// The name in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::StageName => "stage-name",
            Limit::AmbiguousText => "ambiguous-text",
            Limit::KindNotReplaced => "kind-not-replaced",
            Limit::NotImageStreamTag => "not-image-stream-tag",
            Limit::NotGitSource => "not-git-source",
            Limit::SourceNotRead => "source-not-read",
        }
    }
}

/// What a backend does with one reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// Nothing to replace: a stage, `scratch`, or an image the plan keeps as written.
    Unchanged,
    /// Replaced by the system from its own configuration.
    Native {
        /// How.
        how: Mechanism,
    },
    /// Only a Dockerfile forked from the upstream one says it.
    Fork {
        /// The fork, relative to the build context.
        path: String,
    },
    /// Cannot be expressed; the system builds it as written.
    Cannot {
        /// Why.
        why: Limit,
    },
}

impl Verdict {
    /// `unchanged`, `native`, `fork` or `cannot`.
    pub fn class(&self) -> &'static str {
        match self {
            Verdict::Unchanged => "unchanged",
            Verdict::Native { .. } => "native",
            Verdict::Fork { .. } => "fork",
            Verdict::Cannot { .. } => "cannot",
        }
    }

    /// One short phrase: `native: inputs-as`, `fork: Dockerfile.okd`, `cannot: stage-name`.
    pub fn describe(&self) -> String {
        match self {
            Verdict::Unchanged => "unchanged".into(),
            Verdict::Native { how } => format!("native: {}", how.as_str()),
            Verdict::Fork { path } => format!("fork: {path}"),
            Verdict::Cannot { why } => format!("cannot: {}", why.as_str()),
        }
    }
}

/// One backend's verdict on one reference of one component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReferenceVerdict {
    /// The component.
    pub component: String,
    /// 1-based line in its Dockerfile.
    pub line: u32,
    /// FROM, COPY --from, ADD --from or RUN --mount from=.
    pub kind: RefKind,
    /// The reference as written.
    pub original: String,
    /// What the backend does with it.
    #[serde(flatten)]
    pub verdict: Verdict,
}

impl ReferenceVerdict {
    /// The verdict `verdict` on reference `r` of `component`.
    pub fn new(component: &PlannedComponent, r: &Resolution, verdict: Verdict) -> Self {
        ReferenceVerdict {
            component: component.name.clone(),
            line: r.line,
            kind: r.kind,
            original: r.original.clone(),
            verdict,
        }
    }
}

/// Whether the plan leaves `r` as written: nothing for any backend to replace.
pub fn needs_nothing(r: &Resolution) -> bool {
    matches!(r.rule, Rule::Stage | Rule::Scratch) || !r.changes()
}

/// The verdicts of a backend that builds the plan's rewritten Dockerfiles (`how`: rewritten
/// before the build, or in generated sources): every reference the plan changes is native.
pub fn rewrite_verdicts(plan: &Plan, how: Mechanism) -> Vec<ReferenceVerdict> {
    plan.components.iter().flat_map(|c| rewrite_verdicts_of(c, how)).collect()
}

/// [`rewrite_verdicts`] for one component.
pub fn rewrite_verdicts_of(component: &PlannedComponent, how: Mechanism) -> Vec<ReferenceVerdict> {
    component
        .stages
        .iter()
        .map(|r| {
            let verdict = if needs_nothing(r) { Verdict::Unchanged } else { Verdict::Native { how } };
            ReferenceVerdict::new(component, r, verdict)
        })
        .collect()
}
