//! Dockerfile analysis: which images a Dockerfile pulls, and where in the text it names them.
//!
//! okd-build has to swap base images (OKD's CentOS Stream bases for OCP's RHEL ones, the builder
//! images of a release, images built earlier in the same run). Every build system we drive
//! does that differently, so we do it ourselves: [`parse`] finds every image reference with its
//! exact byte span, and [`rewrite`] splices replacements into the original text so that every
//! other byte (comments, continuations, heredocs, odd spacing) stays as the author wrote it.
//!
//! Tokenising is left to `parse-dockerfile`, which already follows buildkit's parser (parser
//! directives, line continuations, comments inside continuations, heredocs, JSON form,
//! lowercase instructions). On top of it this module applies buildkit's *build* rules: global
//! ARGs and `--build-arg` overrides, `$VAR` expansion in FROM (see [`expand`]), and the
//! resolution of `FROM <stage>` / `--from=<stage or index>` to earlier stages.

mod compat;
pub mod expand;
mod mount;
mod parse;
mod rewrite;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::{collections::BTreeMap, ops::Range, path::Path};

/// A parsed Dockerfile, reduced to what okd-build needs: the build's global ARGs, its stages
/// and every image reference with the exact place it is written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Dockerfile {
    /// The escape character from the `# escape=` parser directive (`\` unless the file says
    /// otherwise). Expansion and continuation handling depend on it.
    pub escape: char,
    /// The ARGs declared before the first FROM, in file order; `ARG a=1 b=2` gives two. Only
    /// these are visible to FROM lines, which is why they are kept apart from stage ARGs.
    pub global_args: Vec<ArgDecl>,
    /// The build stages, one per FROM, in file order.
    pub stages: Vec<Stage>,
    /// Every image reference (FROM, `COPY --from`, `ADD --from`, `RUN --mount=...,from=`) in
    /// file order: the things a build may have to pull, and the things a rewrite may replace.
    pub refs: Vec<ImageRef>,
    /// The number of top-level instructions (an ONBUILD and its trigger count as one). Lets a
    /// caller check that a rewrite did not change the structure of the file.
    pub instruction_count: usize,
}

/// One global ARG declaration (an ARG before the first FROM).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ArgDecl {
    /// The variable name.
    pub name: String,
    /// The default as written after `=` (line continuations removed, quotes and `$VAR`s kept),
    /// or `None` for `ARG NAME`. The value a FROM sees is this default expanded, unless a build
    /// arg overrides it.
    pub default: Option<String>,
}

/// One build stage: a FROM and the instructions up to the next FROM.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stage {
    /// 0-based position of the stage; `COPY --from=<index>` refers to stages by it.
    pub index: usize,
    /// The stage name exactly as written after `AS`; later stages may refer to it (buildkit
    /// compares stage names case-insensitively).
    pub alias: Option<String>,
    /// The `--platform=` value as written (unexpanded), e.g. `$BUILDPLATFORM`.
    pub platform: Option<String>,
    /// Index into [`Dockerfile::refs`] of this stage's FROM reference.
    pub from_ref: usize,
    /// 1-based line of the FROM keyword.
    pub line: u32,
    /// Byte offset just after the FROM instruction: past its continuation lines and its line
    /// break (the text's length when the file ends there without one). Text inserted here
    /// becomes the first instruction of the stage, e.g. Doozer's `ENV` lines.
    #[serde(skip)]
    pub from_end: usize,
}

/// Which instruction an [`ImageRef`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefKind {
    /// `FROM <image>`: the base of a stage.
    From,
    /// `COPY --from=<image or stage>`.
    CopyFrom,
    /// `ADD --from=<image or stage>`.
    AddFrom,
    /// `RUN --mount=...,from=<image or stage>,...`.
    MountFrom,
}

/// What an [`ImageRef`] resolves to: only [`RefTarget::Image`] needs pulling (or replacing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "stage")]
pub enum RefTarget {
    /// An earlier stage of the same Dockerfile, by index: matched by alias (case-insensitive)
    /// or, for `--from`, by a numeric stage index.
    Stage(usize),
    /// `FROM scratch`: the empty image, nothing to pull.
    Scratch,
    /// An image from a registry (or the local store).
    Image,
}

/// One image reference in a Dockerfile, with enough position information to report on it and
/// to replace it byte-exactly.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageRef {
    /// The instruction it comes from.
    pub kind: RefKind,
    /// Index of the stage the instruction belongs to (a FROM belongs to the stage it starts).
    pub stage: usize,
    /// The exact text of the reference in the file, `text[span]`, continuations included.
    /// Matching on raw text is what OpenShift's Build API does (`source.images[].as`).
    pub raw: String,
    /// The reference after removing line continuations and expanding global ARGs: what the
    /// build actually pulls.
    pub expanded: String,
    /// Byte range of [`ImageRef::raw`] in the original text; give it to [`rewrite`] in an
    /// [`Edit`] to replace the reference.
    pub span: Range<usize>,
    /// 1-based line of the start of the reference.
    pub line: u32,
    /// 1-based column of the start of the reference, in characters.
    pub column: u32,
    /// What the reference resolves to.
    pub target: RefTarget,
}

/// Parses a Dockerfile and collects its global ARGs, stages and image references.
///
/// `path` is only used in error locations. `build_args` are the `--build-arg` values: as in
/// buildkit, one overrides a global ARG only if the Dockerfile declares that ARG; undeclared
/// build args are ignored.
///
/// # Errors
///
/// An [`crate::ErrorKind::InvalidInput`] error with the file, line and column for a syntax
/// error, a file without FROM, a bad `${...}` expansion, a duplicate stage name or a
/// `--from=<index>` that does not name an earlier stage.
pub fn parse(path: &Path, text: &str, build_args: &BTreeMap<String, String>) -> crate::Result<Dockerfile> {
    parse::parse(path, text, build_args)
}

/// One replacement for [`rewrite`]: the bytes in `span` become `replacement`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Edit {
    /// Byte range in the original text, usually an [`ImageRef::span`].
    pub span: Range<usize>,
    /// The new text for that range.
    pub replacement: String,
}

/// Applies `edits` to `text`, keeping every byte outside the edited spans identical, so a
/// rewritten Dockerfile differs from the original only where an image was swapped.
///
/// Edits may come in any order. Spans are byte ranges in `text`.
///
/// # Errors
///
/// An [`crate::ErrorKind::Internal`] error (these spans come from our own parser, so a bad one
/// is a bug) if a span is out of range, not on a character boundary, or overlaps another edit.
pub fn rewrite(text: &str, edits: &[Edit]) -> crate::Result<String> {
    rewrite::rewrite(text, edits)
}
