//! FROM resolution: for every FROM and every `--from` that names an image, decide what it becomes
//! and by which rule.
//!
//! The rules are tried in a fixed order (the first that applies wins):
//!
//! 1. `stage`: an earlier stage, by alias or index. Kept.
//! 2. `scratch`: `FROM scratch`. Kept.
//! 3. `positional`: Doozer's mapping. The FROMs that are not stage references pair, in order, with
//!    `from.builders` and then `from.final`. As in Doozer, `scratch` FROMs count in the pairing
//!    (so counts agree with ocp-build-data), but rule 2 keeps them as they are.
//! 4. `last-from`: the last FROM takes `last_from` (ci-operator `from`, BuildConfig
//!    `dockerStrategy.from`).
//! 5. `replace`: the component's map, then the release's, on the exact text after ARG expansion
//!    (ci-operator `inputs.*.as`, BuildConfig `source.images[].as`). Also for `--from`.
//! 6. `stream-alias`: the text equals an alias of a stream.
//! 7. `external`: left unchanged; an error when resolving strictly.

use std::{collections::HashMap, ops::Range, path::Path};

use serde::Serialize;

use crate::{
    Error, Location, Result,
    dockerfile::{Dockerfile, Edit, RefKind, RefTarget},
    manifest::{Component, Release, Target},
};

/// The rule that decided a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// An earlier stage; unchanged.
    Stage,
    /// `scratch`; unchanged.
    Scratch,
    /// Doozer's positional `from` mapping.
    Positional,
    /// `last_from`, for the last FROM.
    LastFrom,
    /// An exact-text `replace` entry.
    Replace,
    /// A stream alias.
    StreamAlias,
    /// Nothing applied; unchanged.
    External,
}

impl Rule {
    /// The kebab-case name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Stage => "stage",
            Rule::Scratch => "scratch",
            Rule::Positional => "positional",
            Rule::LastFrom => "last-from",
            Rule::Replace => "replace",
            Rule::StreamAlias => "stream-alias",
            Rule::External => "external",
        }
    }
}

/// What one reference resolved to.
#[derive(Debug, Clone, Serialize)]
pub struct Resolution {
    /// FROM, COPY --from, ADD --from or RUN --mount from=.
    pub kind: RefKind,
    /// 1-based line in the Dockerfile.
    pub line: u32,
    /// The reference as written.
    pub original: String,
    /// After ARG expansion.
    pub expanded: String,
    /// The text the rewritten Dockerfile carries (equal to `original` when nothing changes).
    pub resolved: String,
    /// The rule that decided it.
    pub rule: Rule,
    /// The manifest target that the rule applied, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// Byte range of `original` in the Dockerfile.
    #[serde(skip)]
    pub span: Range<usize>,
}

impl Resolution {
    /// Whether the rewritten Dockerfile differs here.
    pub fn changes(&self) -> bool {
        self.resolved != self.original
    }

    /// The member this reference depends on, if any.
    pub fn member(&self) -> Option<&str> {
        match &self.target {
            Some(Target::Member(m)) => Some(m),
            _ => None,
        }
    }
}

/// Resolution settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResolveOptions {
    /// Refuse references that no rule resolves (`external`).
    pub strict: bool,
}

/// Stream alias -> stream name, built once per release.
#[derive(Debug, Default)]
pub struct AliasIndex(HashMap<String, String>);

impl AliasIndex {
    /// Indexes every stream alias of `release`.
    pub fn new(release: &Release) -> Self {
        let mut map = HashMap::new();
        for (name, stream) in &release.streams {
            for alias in &stream.aliases {
                map.insert(alias.clone(), name.clone());
            }
        }
        AliasIndex(map)
    }
}

/// Resolves every reference of `dockerfile` (the component's Dockerfile, read from `path`).
/// `member_image` gives the text a `member:` target becomes, e.g. the output image or a pinned
/// digest.
pub fn resolve(
    release: &Release,
    aliases: &AliasIndex,
    component: &Component,
    path: &Path,
    dockerfile: &Dockerfile,
    member_image: &dyn Fn(&str) -> String,
    options: ResolveOptions,
) -> Result<Vec<Resolution>> {
    let positional = positional_slots(component, path, dockerfile)?;
    let last_from = dockerfile.stages.last().map(|s| s.from_ref);
    let mut out = Vec::with_capacity(dockerfile.refs.len());
    for (i, r) in dockerfile.refs.iter().enumerate() {
        let decided: (Rule, Option<&Target>) = match r.target {
            RefTarget::Stage(_) => (Rule::Stage, None),
            RefTarget::Scratch => (Rule::Scratch, None),
            RefTarget::Image => {
                if let Some(target) = positional.get(&i) {
                    (Rule::Positional, Some(*target))
                } else if let (Some(target), true) = (&component.last_from, Some(i) == last_from) {
                    (Rule::LastFrom, Some(target))
                } else if let Some(target) =
                    component.replace.get(&r.expanded).or_else(|| release.replace.get(&r.expanded))
                {
                    (Rule::Replace, Some(target))
                } else {
                    (Rule::External, None)
                }
            }
        };
        let (rule, target) = match decided {
            (Rule::External, _) => match aliases.0.get(&r.expanded) {
                Some(stream) => (Rule::StreamAlias, Some(Target::Stream(stream.clone()))),
                None => (Rule::External, None),
            },
            (rule, target) => (rule, target.cloned()),
        };
        if rule == Rule::External && options.strict {
            return Err(Error::invalid_at(
                Location::new(path, r.line, r.column).with_span(r.span.clone()),
                format!(
                    "component '{}': '{}' is resolved by no rule (strict mode)",
                    component.name, r.expanded
                ),
                "add a `replace` entry or a stream alias for it, or map it with `from`/`last_from`",
            ));
        }
        let resolved = match &target {
            None => r.raw.clone(),
            Some(Target::Member(m)) => member_image(m),
            Some(Target::Stream(s)) => {
                release.streams.get(s).map_or_else(|| r.raw.clone(), |s| s.image.clone())
            }
            Some(Target::Image(image)) => image.clone(),
        };
        out.push(Resolution {
            kind: r.kind,
            line: r.line,
            original: r.raw.clone(),
            expanded: r.expanded.clone(),
            resolved,
            rule,
            target,
            span: r.span.clone(),
        });
    }
    Ok(out)
}

/// The edits that turn the original Dockerfile into the resolved one.
pub fn edits(resolutions: &[Resolution]) -> Vec<Edit> {
    resolutions
        .iter()
        .filter(|r| r.changes())
        .map(|r| Edit { span: r.span.clone(), replacement: r.resolved.clone() })
        .collect()
}

/// Pairs the component's positional `from` entries with the FROMs that are not stage references.
/// Returns ref index -> target. A count mismatch names both counts and the Dockerfile line.
fn positional_slots<'c>(
    component: &'c Component,
    path: &Path,
    dockerfile: &Dockerfile,
) -> Result<HashMap<usize, &'c Target>> {
    let Some(from) = &component.from else { return Ok(HashMap::new()) };
    let entries: Vec<&Target> = from.targets().collect();
    let froms: Vec<usize> = dockerfile.stages.iter().map(|s| s.from_ref).collect();
    let external: Vec<usize> = froms
        .iter()
        .copied()
        .filter(|&i| !matches!(dockerfile.refs[i].target, RefTarget::Stage(_)))
        .collect();
    if external.len() != entries.len() {
        let stage_refs = froms.len() - external.len();
        let at =
            external.get(entries.len()).or(external.last()).or(froms.first()).map(|&i| &dockerfile.refs[i]);
        let (line, column) = at.map_or((1, 1), |r| (r.line, r.column));
        return Err(Error::invalid_at(
            Location::new(path, line, column),
            format!(
                "component '{}': `from` lists {} parent image(s) but the Dockerfile has {} FROM line(s) that are not stage references ({} are stage references)",
                component.name,
                entries.len(),
                external.len(),
                stage_refs
            ),
            "list one `from.builders` entry per builder FROM, in order, plus `from.final` for the last one",
        ));
    }
    Ok(external.into_iter().zip(entries).collect())
}

#[cfg(test)]
mod tests;
