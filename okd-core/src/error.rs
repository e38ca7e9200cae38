//! One error type for the whole library, with a kind that callers branch on.
//!
//! The shape follows OpenDAL rather than object_store: a struct with a [`ErrorKind`], a
//! retryable flag and optional context, instead of an enum with a variant per failure. Build
//! backends care far more about "is this the user's fault?" and "should I retry?" than about
//! which exact thing failed.
//!
//! `Display` prints the location (when there is one) and the message, never the source: the
//! source is reachable through [`std::error::Error::source`], and printing it in both places is
//! how error chains end up repeating themselves.

use std::{
    fmt,
    ops::Range,
    path::{Path, PathBuf},
};

/// What went wrong, in the terms a caller acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The user's input is wrong: a manifest, a Dockerfile, a flag. Fix the input.
    InvalidInput,
    /// Something named does not exist (a file, a ref, a remote object).
    NotFound,
    /// The remote state disagrees with ours (optimistic concurrency, an existing object).
    Conflict,
    /// A service or engine could not be reached or refused to serve.
    Unavailable,
    /// Credentials are missing or were refused.
    Unauthorized,
    /// Something took longer than allowed.
    Timeout,
    /// A build ran and failed.
    BuildFailed,
    /// The operation exists in the design but this backend does not do it yet.
    NotImplemented,
    /// A bug or an unexpected state in okd-build itself.
    Internal,
}

impl ErrorKind {
    /// The lowercase name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Timeout => "timeout",
            ErrorKind::BuildFailed => "build_failed",
            ErrorKind::NotImplemented => "not_implemented",
            ErrorKind::Internal => "internal",
        }
    }

    /// Whether an error of this kind is worth retrying by default.
    fn default_retryable(self) -> bool {
        matches!(self, ErrorKind::Unavailable | ErrorKind::Timeout)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where in which file an input error is. Lines and columns are 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, as the user named it (relative paths stay relative).
    pub file: PathBuf,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
    /// Byte range in the file, when known; lets the CLI underline the exact text.
    pub span: Option<Range<usize>>,
}

impl Location {
    /// A location from a line and column.
    pub fn new(file: impl Into<PathBuf>, line: u32, column: u32) -> Self {
        Location { file: file.into(), line, column, span: None }
    }

    /// A location computed from a byte offset into `text`, the contents of `file`.
    pub fn from_offset(file: impl Into<PathBuf>, text: &str, span: Range<usize>) -> Self {
        let start = span.start.min(text.len());
        let before = &text[..floor_char_boundary(text, start)];
        let line = before.matches('\n').count() as u32 + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() as u32 + 1;
        Location { file: file.into(), line, column, span: Some(span) }
    }

    /// Attach a byte span.
    pub fn with_span(mut self, span: Range<usize>) -> Self {
        self.span = Some(span);
        self
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The library's error. `Display` is `[file:line:col: ]message`; the source is not part of it.
#[derive(thiserror::Error)]
#[error("{}{message}", display_prefix(location))]
pub struct Error {
    kind: ErrorKind,
    message: String,
    location: Option<Box<Location>>,
    help: Option<String>,
    retryable: bool,
    retry_after: Option<std::time::Duration>,
    #[source]
    source: Option<BoxError>,
}

fn display_prefix(location: &Option<Box<Location>>) -> String {
    location.as_ref().map(|l| format!("{l}: ")).unwrap_or_default()
}

/// The library's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind`. Retryable defaults to true for Unavailable and Timeout.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            location: None,
            help: None,
            retryable: kind.default_retryable(),
            retry_after: None,
            source: None,
        }
    }

    /// Invalid input at a location, with a hint that says how to fix it.
    pub fn invalid_at(location: Location, message: impl Into<String>, help: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidInput, clip_quotes(&message.into()))
            .with_location(location)
            .with_help(help)
    }

    /// Invalid input with no better place to point at than a file.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidInput, clip_quotes(&message.into()))
    }

    /// An operation that the backend does not do yet.
    pub fn not_implemented(backend: &str, operation: &str) -> Self {
        Error::new(
            ErrorKind::NotImplemented,
            format!("backend '{backend}' does not implement {operation} yet"),
        )
        .with_help("see the README's list of what is not built yet, or pick another --backend")
    }

    /// An I/O failure on `path`, classified by the I/O error kind.
    pub fn io(path: &Path, action: &str, source: std::io::Error) -> Self {
        use std::io::ErrorKind as Io;
        // What the user can fix (a wrong path, a binary file, a folder) is input; the rest is ours.
        let (kind, why) = match source.kind() {
            Io::NotFound => (ErrorKind::NotFound, ": no such file"),
            Io::PermissionDenied => (ErrorKind::Unauthorized, ": permission denied"),
            Io::InvalidData => (ErrorKind::InvalidInput, ": it is not UTF-8 text"),
            Io::IsADirectory => (ErrorKind::InvalidInput, ": it is a folder"),
            _ => (ErrorKind::Internal, ""),
        };
        Error::new(kind, format!("cannot {action} {}{why}", path.display())).with_source(source)
    }

    /// Attach the place in a file that the error is about.
    pub fn with_location(mut self, location: Location) -> Self {
        self.location = Some(Box::new(location));
        self
    }

    /// Attach a hint that tells the user how to fix the problem.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Attach the underlying error. It is reachable through `source()` and is not printed by
    /// `Display`.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Override whether the failed operation may be retried.
    pub fn set_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// The service asked to wait this long before retrying (HTTP 429/503 `Retry-After`); makes
    /// the error retryable.
    pub fn with_retry_after(mut self, wait: std::time::Duration) -> Self {
        self.retry_after = Some(wait);
        self.retryable = true;
        self
    }

    /// How long the service asked to wait before a retry, if it said.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.retry_after
    }

    /// Prefix the message with context, e.g. the component it happened in.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without location or source.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The place in a file, for input errors.
    pub fn location(&self) -> Option<&Location> {
        self.location.as_deref()
    }

    /// How to fix it, when known.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// Whether retrying the same operation may succeed.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(location) = &self.location {
            d.field("location", &format_args!("{location}"));
        }
        if let Some(help) = &self.help {
            d.field("help", help);
        }
        d.field("retryable", &self.retryable);
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_from_offset_counts_lines_and_chars() {
        let text = "ab\ncd é x\n";
        let at_x = text.find('x').unwrap_or_default();
        let loc = Location::from_offset("f", text, at_x..at_x + 1);
        assert_eq!((loc.line, loc.column), (2, 6));
        assert_eq!(loc.to_string(), "f:2:6");
    }

    #[test]
    fn display_never_repeats_the_source() {
        let io = std::io::Error::other("disk on fire");
        let e = Error::io(Path::new("x.yaml"), "read", io);
        assert_eq!(e.to_string(), "cannot read x.yaml");
        assert!(std::error::Error::source(&e).is_some_and(|s| s.to_string() == "disk on fire"));
    }

    #[test]
    fn retryable_defaults_follow_the_kind() {
        assert!(Error::new(ErrorKind::Unavailable, "x").is_retryable());
        assert!(!Error::new(ErrorKind::InvalidInput, "x").is_retryable());
        assert!(Error::new(ErrorKind::Conflict, "x").set_retryable(true).is_retryable());
    }
}

/// Something that did not stop the work but that the user should see, with the file and line it
/// is about: what an importer could not map, what a backend cannot express.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct Warning {
    /// The file (a manifest, a Dockerfile, an imported configuration).
    pub file: PathBuf,
    /// 1-based line; 0 when the warning is about the whole file.
    pub line: u32,
    /// What was not mapped or expressed, and what happens instead.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file.display(), self.message),
            line => write!(f, "{}:{line}: {}", self.file.display(), self.message),
        }
    }
}

/// The longest quoted value an input error repeats; longer ones are cut with `…`.
pub const MAX_QUOTED: usize = 80;

/// `message` with every quoted run (between `'...'` or `` `...` ``) longer than [`MAX_QUOTED`]
/// characters cut: an input error repeats what the user wrote, and a 100 MB string (or a key of
/// 400 characters) must not become the message. The location already points at the whole text.
pub fn clip_quotes(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(1024));
    // The open quote and how many characters it holds so far. A quote opens only where a
    // quotation can start (after a space or an opening bracket), so the apostrophe of
    // "component's" is text.
    let mut quote: Option<(char, usize)> = None;
    let mut previous: Option<char> = None;
    for c in message.chars() {
        match quote {
            Some((q, _)) if c == q => {
                out.push(c);
                quote = None;
            }
            Some((q, n)) => {
                if n < MAX_QUOTED {
                    out.push(c);
                } else if n == MAX_QUOTED {
                    out.push('…');
                }
                quote = Some((q, n + 1));
            }
            None => {
                out.push(c);
                let opens = previous.is_none_or(|p| p.is_whitespace() || "([{=:,".contains(p));
                if (c == '\'' || c == '`') && opens {
                    quote = Some((c, 0));
                }
            }
        }
        previous = Some(c);
    }
    out
}

#[cfg(test)]
mod clip_tests {
    use super::*;

    #[test]
    fn long_quoted_values_are_cut_and_prose_is_not() {
        let long = "k".repeat(400);
        let clipped = clip_quotes(&format!("unknown field `{long}`, expected one of `name`"));
        assert_eq!(clipped, format!("unknown field `{}…`, expected one of `name`", "k".repeat(MAX_QUOTED)));
        let prose = format!("the component's Dockerfile {} can't be read", "x".repeat(150));
        assert_eq!(clip_quotes(&prose), prose, "apostrophes in words open no quote");
        assert_eq!(clip_quotes("release name '/' is not valid"), "release name '/' is not valid");
        let e = Error::invalid(format!("component name '{long}' is not valid"));
        assert!(e.to_string().chars().count() < 150, "{e}");
    }
}
