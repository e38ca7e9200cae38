//! From parse-dockerfile's syntax tree to a [`Dockerfile`]: global ARGs, stages and image
//! references with their spans, expanded and resolved by buildkit's rules.

use std::{collections::BTreeMap, ops::Range, path::Path};

use parse_dockerfile::{Flag, Instruction};

use super::{ArgDecl, Dockerfile, ImageRef, RefKind, RefTarget, Stage, compat, expand, mount};
use crate::{Error, Location, Result};

const EXPAND_HELP: &str = "okd-build expands $VAR, ${VAR}, ${VAR:-word}, ${VAR-word}, ${VAR:+word}, ${VAR+word}, \
     ${VAR:?message} and ${VAR?message} using the ARGs declared before the first FROM; close every '${' \
     with '}', write a literal '$' as '\\$' (or with the '# escape=' character), and give a required \
     variable a default or pass it with --build-arg";

pub(super) fn parse(path: &Path, text: &str, build_args: &BTreeMap<String, String>) -> Result<Dockerfile> {
    // parse-dockerfile skips a UTF-8 byte order mark and reports spans relative to the text
    // after it; `base` shifts them back so that spans index the text we were given.
    let base = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    // BuildKit strips one mark; a second is part of the first instruction, which it then does
    // not know. (parse-dockerfile would skip it too and shift every span.)
    if text[base..].starts_with('\u{feff}') {
        return Err(Error::invalid_at(
            crate::Location::new(path, 1, 1),
            "the Dockerfile starts with two byte order marks (U+FEFF); a build reads the second as part of the first instruction",
            "remove the extra byte order mark at the start of the file",
        ));
    }
    let lines = LineIndex::new(text, base);
    // The parser sees what BuildKit reads: here-documents blanked wherever BuildKit finds them,
    // empty exec forms accepted (see `compat`); offsets are unchanged.
    let masked = compat::mask(text).map_err(|u| unterminated(path, &lines, &u))?;
    let parsed = parse_dockerfile::parse(&masked[base..]).map_err(|e| syntax_error(path, &lines, &e))?;
    let escape = parsed.parser_directives.escape.as_ref().map_or('\\', |d| d.value.value);
    let mut cx = Cx {
        path,
        text,
        base,
        lines,
        escape,
        env: BTreeMap::new(),
        global_args: Vec::new(),
        stages: Vec::new(),
        aliases: Vec::new(),
        refs: Vec::new(),
    };
    for instruction in &parsed.instructions {
        match instruction {
            Instruction::Arg(arg) if cx.stages.is_empty() => {
                cx.global_arg(&arg.arguments.value, cx.shift(&arg.arguments.span), build_args)?;
            }
            Instruction::From(from) => cx.start_stage(from)?,
            Instruction::Copy(copy) => cx.copy_from_flags(&copy.options, RefKind::CopyFrom, "COPY")?,
            Instruction::Add(add) => cx.copy_from_flags(&add.options, RefKind::AddFrom, "ADD")?,
            Instruction::Run(run) => cx.mounts(&run.options)?,
            // ONBUILD triggers run in the build of a child image that uses this one as its
            // base, not in this build: their --from refers to the child's stages and they
            // pull nothing here, so they are deliberately not followed.
            Instruction::Onbuild(_) => {}
            _ => {}
        }
    }
    if cx.stages.is_empty() {
        // parse-dockerfile already refuses this; kept so the invariant does not depend on it.
        return Err(no_from(path));
    }
    Ok(Dockerfile {
        escape,
        global_args: cx.global_args,
        stages: cx.stages,
        refs: cx.refs,
        instruction_count: parsed.instructions.len(),
    })
}

struct Cx<'a> {
    path: &'a Path,
    text: &'a str,
    base: usize,
    lines: LineIndex<'a>,
    escape: char,
    /// Global ARGs that have a value (declared ones without a default stay unset).
    env: BTreeMap<String, String>,
    global_args: Vec<ArgDecl>,
    stages: Vec<Stage>,
    /// Lower-cased stage names, by stage index.
    aliases: Vec<Option<String>>,
    refs: Vec<ImageRef>,
}

impl Cx<'_> {
    fn shift(&self, span: &Range<usize>) -> Range<usize> {
        span.start + self.base..span.end + self.base
    }

    fn location(&self, span: Range<usize>) -> Location {
        let (line, column) = self.lines.line_col(span.start);
        Location::new(self.path, line, column).with_span(span)
    }

    fn raw(&self, span: &Range<usize>) -> &str {
        self.text.get(span.clone()).unwrap_or_default()
    }

    /// One `ARG` before the first FROM, possibly declaring several variables.
    fn global_arg(
        &mut self,
        arguments: &str,
        span: Range<usize>,
        build_args: &BTreeMap<String, String>,
    ) -> Result<()> {
        for word in split_words(arguments, self.escape) {
            let (name, default) = match word.split_once('=') {
                Some((name, default)) => (name, Some(default)),
                None => (word, None),
            };
            if name.is_empty() {
                return Err(Error::invalid_at(
                    self.location(span),
                    format!("ARG '{word}' has no variable name"),
                    "write ARG NAME or ARG NAME=default",
                ));
            }
            // As in buildkit: a build arg replaces the default of a declared ARG (and is used
            // as is, unexpanded); an undeclared build arg never reaches FROM.
            let value = match (build_args.get(name), default) {
                (Some(value), _) => Some(value.clone()),
                (None, Some(default)) => {
                    let env = &self.env;
                    let value = expand::expand_quoted(default, self.escape, &|n| env.get(n).cloned())
                        .map_err(|msg| {
                            Error::invalid_at(
                                self.location(span.clone()),
                                format!("cannot expand the default of ARG {name} ('{default}'): {msg}"),
                                EXPAND_HELP,
                            )
                        })?;
                    Some(value)
                }
                (None, None) => None,
            };
            if let Some(value) = value {
                self.env.insert(name.to_string(), value);
            }
            self.global_args.push(ArgDecl { name: name.to_string(), default: default.map(str::to_string) });
        }
        Ok(())
    }

    fn expand(&self, word: &str, span: &Range<usize>, what: &str) -> Result<String> {
        let env = &self.env;
        // buildkit's FROM lexer processes quotes (shell.NewLex without SkipProcessQuotes), so
        // `FROM "a:${V}"` names `a:1`; --from values go through the same lexer here.
        expand::expand_quoted(word, self.escape, &|name| env.get(name).cloned()).map_err(|msg| {
            Error::invalid_at(
                self.location(span.clone()),
                format!("cannot expand {what} '{}': {msg}", self.raw(span)),
                EXPAND_HELP,
            )
        })
    }

    /// The earlier stage whose name is `name`, compared case-insensitively as buildkit does.
    fn stage_named(&self, name: &str, before: usize) -> Option<usize> {
        let name = name.to_lowercase();
        self.aliases.iter().take(before).position(|alias| alias.as_deref() == Some(name.as_str()))
    }

    fn push_ref(&mut self, kind: RefKind, span: Range<usize>, expanded: String, target: RefTarget) {
        let (line, column) = self.lines.line_col(span.start);
        let stage = self.stages.len().saturating_sub(1);
        let raw = self.raw(&span).to_string();
        self.refs.push(ImageRef { kind, stage, raw, expanded, span, line, column, target });
    }

    /// A FROM: starts a stage and records its image reference.
    fn start_stage(&mut self, from: &parse_dockerfile::FromInstruction<'_>) -> Result<()> {
        let index = self.stages.len();
        let span = self.shift(&from.image.span);
        let expanded = self.expand(&from.image.value, &span, "the FROM image")?;
        if expanded.is_empty() {
            return Err(Error::invalid_at(
                self.location(span.clone()),
                format!("the FROM image '{}' expands to an empty string", self.raw(&span)),
                "give the ARGs it uses a default before the first FROM, or pass them with --build-arg",
            ));
        }
        let target = match self.stage_named(&expanded, index) {
            Some(stage) => RefTarget::Stage(stage),
            None if expanded.eq_ignore_ascii_case("scratch") => RefTarget::Scratch,
            None => RefTarget::Image,
        };
        let alias = from.as_.as_ref().map(|(_, name)| name.value.to_string());
        if let Some((_, name)) = &from.as_
            && let Some(first) = self.stage_named(&name.value, index)
        {
            return Err(Error::invalid_at(
                self.location(self.shift(&name.span)),
                format!("duplicate stage name '{}' (stage {first} already uses it)", name.value),
                "stage names are case-insensitive; give every stage a different name after AS",
            ));
        }
        let platform = from
            .options
            .iter()
            .find(|flag| flag.name.value == "platform")
            .and_then(|flag| flag.value.as_ref())
            .map(|value| value.value.to_string());
        let (line, _) = self.lines.line_col(from.from.span.start + self.base);
        let last_token = from.as_.as_ref().map_or(span.end, |(_, name)| self.shift(&name.span).end);
        let from_end = instruction_end(self.text, last_token, self.escape);
        self.aliases.push(alias.as_ref().map(|a| a.to_lowercase()));
        self.stages.push(Stage { index, alias, platform, from_ref: self.refs.len(), line, from_end });
        self.push_ref(RefKind::From, span, expanded, target);
        Ok(())
    }

    /// `--from=` flags of COPY and ADD.
    fn copy_from_flags(&mut self, options: &[Flag<'_>], kind: RefKind, instruction: &str) -> Result<()> {
        for flag in options.iter().filter(|flag| flag.name.value == "from") {
            let Some(value) = &flag.value else {
                return Err(Error::invalid_at(
                    self.location(self.shift(&flag.span())),
                    format!("{instruction} --from has no value"),
                    format!("write {instruction} --from=<stage name, stage index or image> <src>... <dest>"),
                ));
            };
            if value.value.is_empty() {
                continue;
            }
            let span = self.shift(&value.span);
            self.push_from_ref(kind, &value.value, span, instruction)?;
        }
        Ok(())
    }

    /// `from=` inside `RUN --mount=` flags.
    fn mounts(&mut self, options: &[Flag<'_>]) -> Result<()> {
        let escape = if self.escape == '`' { b'`' } else { b'\\' };
        for flag in options.iter().filter(|flag| flag.name.value == "mount") {
            let Some(value) = &flag.value else { continue };
            let value_span = self.shift(&value.span);
            let Some(froms) = mount::mount_froms(&value.value) else {
                return Err(Error::invalid_at(
                    self.location(value_span),
                    format!("RUN --mount value '{}' is not a valid comma-separated list", value.value),
                    "write --mount=type=<type>,from=<stage or image>,target=<path>; quote a field containing \
                     a comma or a quote as \"...\" with inner quotes doubled",
                ));
            };
            for from in froms {
                // The span is just the `X` of `from=X`, mapped through any line continuation
                // inside the flag value. The mapping is verified against parse-dockerfile's
                // unescaped value; if it cannot be (which would be a bug), fall back to the
                // whole flag value: a wider span, never a wrong one.
                let span = mount::map_range(self.text, value_span.clone(), &value.value, escape, from.range)
                    .unwrap_or_else(|| value_span.clone());
                self.push_from_ref(RefKind::MountFrom, &from.value, span, "RUN --mount")?;
            }
        }
        Ok(())
    }

    /// A `--from` reference: a stage index, an earlier stage's name, or an image.
    ///
    /// Simplification: buildkit expands `--from` values with the stage's own environment
    /// (ARGs re-declared in the stage, ENV); we use the global ARGs, which is what OKD
    /// Dockerfiles rely on in practice (`--from=${BUILDER}` with `ARG BUILDER` at the top).
    fn push_from_ref(
        &mut self,
        kind: RefKind,
        value: &str,
        span: Range<usize>,
        instruction: &str,
    ) -> Result<()> {
        let what = format!("the {instruction} --from value");
        let expanded = self.expand(value, &span, &what)?;
        let current = self.stages.len().saturating_sub(1);
        // buildkit tries a stage index first (stage names cannot be numbers).
        let target = if let Ok(n) = expanded.parse::<i64>() {
            match usize::try_from(n).ok().filter(|&i| i < current) {
                Some(i) => RefTarget::Stage(i),
                None => {
                    let earlier = match current {
                        0 => "this is the first stage, so there is none".to_string(),
                        1 => "only stage 0 is".to_string(),
                        _ => format!("only stages 0 to {} are", current - 1),
                    };
                    return Err(Error::invalid_at(
                        self.location(span),
                        format!(
                            "{instruction} --from={expanded} in stage {current} does not refer to an earlier \
                             stage ({earlier})"
                        ),
                        "use the index (counted from 0) or the AS name of an earlier stage; a stage \
                         cannot copy from itself or from a later stage",
                    ));
                }
            }
        } else if let Some(stage) = self.stage_named(&expanded, current) {
            RefTarget::Stage(stage)
        } else {
            RefTarget::Image
        };
        self.push_ref(kind, span, expanded, target);
        Ok(())
    }
}

/// The byte offset just after the instruction whose last token ends at `last_token`: past the
/// rest of that line and its line break. A line that ends with the escape character continues
/// the instruction, so the blank and comment lines after it belong to it as well (buildkit
/// skips them); a valid file can only end there, so the end of the text is the answer then.
fn instruction_end(text: &str, last_token: usize, escape: char) -> usize {
    let line_end = |at: usize| text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
    let mut at = line_end(last_token.min(text.len()));
    if !text[last_token.min(at)..at].trim_end().ends_with(escape) {
        return at;
    }
    while at < text.len() {
        let next = line_end(at);
        let line = text[at..next].trim();
        if !line.is_empty() && !line.starts_with('#') {
            break;
        }
        at = next;
    }
    at
}

/// Splits ARG arguments into `name[=value]` words at whitespace outside quotes, keeping quotes
/// and escapes in the words (they are removed when the value is expanded), like buildkit's
/// `parseWords`.
fn split_words(s: &str, escape: char) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start = None;
    let mut quote = None;
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        if quote.is_none() && c.is_whitespace() {
            if let Some(st) = start.take() {
                words.push(&s[st..i]);
            }
            continue;
        }
        start.get_or_insert(i);
        match quote {
            Some('\'') if c == '\'' => quote = None,
            Some('\'') => {}
            _ if c == escape => {
                chars.next();
            }
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None => {}
        }
    }
    if let Some(st) = start {
        words.push(&s[st..]);
    }
    words
}

fn no_from(path: &Path) -> Error {
    Error::invalid_at(
        Location::new(path, 1, 1),
        format!("no FROM instruction in {}", path.display()),
        "every Dockerfile needs at least one FROM instruction; only ARGs, comments and parser \
         directives may come before it",
    )
}

fn unterminated(path: &Path, lines: &LineIndex<'_>, u: &compat::Unterminated) -> Error {
    let (line, column) = lines.line_col(u.offset);
    Error::invalid_at(
        Location::new(path, line, column),
        format!("invalid Dockerfile: unterminated here-document: no line '{}' ends it", u.delimiter),
        format!("end the here-document with '{}' alone on a line", u.delimiter),
    )
}

fn syntax_error(path: &Path, lines: &LineIndex<'_>, e: &parse_dockerfile::Error) -> Error {
    if e.line() == 0 {
        // The only error parse-dockerfile reports without a position: no FROM at all.
        return no_from(path);
    }
    let message = format!("{e:#}");
    let mut offset = lines.offset_of(e.line(), e.column());
    if message.contains("here-document") {
        // parse-dockerfile reports an unterminated here-document at the end of the file, which
        // may be past the last line; the `<<` that opened it is where the fix goes.
        if let Some(open) = lines.text.get(..offset).and_then(|t| t.rfind("<<")) {
            offset = open;
        }
    }
    let (line, column) = lines.line_col(offset);
    let help = if message.starts_with("expected FROM") {
        "only ARG instructions, comments and parser directives may come before the first FROM"
    } else if message.starts_with("unknown instruction") {
        "check the instruction's spelling; if the line continues the previous instruction, end that \
         line with the escape character (\\, or the one set by '# escape=')"
    } else if message.contains("here-document") {
        "end the here-document with its delimiter alone on a line"
    } else if message.starts_with("duplicate stage name") {
        "give every stage a different name after AS"
    } else if message.starts_with("invalid escape") {
        "the escape directive accepts only '# escape=\\' or '# escape=`'"
    } else {
        "fix the Dockerfile syntax at this position; see https://docs.docker.com/reference/dockerfile/"
    };
    Error::invalid_at(Location::new(path, line, column), format!("invalid Dockerfile: {message}"), help)
}

/// Byte offset to 1-based line and character column, ignoring a leading byte order mark.
struct LineIndex<'a> {
    text: &'a str,
    base: usize,
    newlines: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str, base: usize) -> Self {
        let newlines = text.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i).collect();
        LineIndex { text, base, newlines }
    }

    fn line_start(&self, line_index: usize) -> usize {
        match line_index {
            0 => self.base,
            n => self.newlines.get(n - 1).map_or(self.text.len(), |&nl| nl + 1),
        }
    }

    fn line_col(&self, offset: usize) -> (u32, u32) {
        let mut offset = offset.clamp(self.base, self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line_index = self.newlines.partition_point(|&nl| nl < offset);
        let start = self.line_start(line_index).min(offset);
        let column = self.text.get(start..offset).map_or(0, |s| s.chars().count());
        (to_u32(line_index + 1), to_u32(column + 1))
    }

    /// The offset of parse-dockerfile's 1-based line and 1-based *byte* column.
    fn offset_of(&self, line: usize, column: usize) -> usize {
        let start = self.line_start(line.saturating_sub(1));
        let end = self.newlines.get(line.saturating_sub(1)).copied().unwrap_or(self.text.len()).max(start);
        (start + column.saturating_sub(1)).min(end)
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
