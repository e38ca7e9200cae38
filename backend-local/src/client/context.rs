//! The build context as the tar stream the engine's `/build` endpoint takes.
//!
//! `.dockerignore` follows `docker build` (moby/patternmatcher): patterns are cleaned and made
//! relative, a pattern excludes the paths it matches and everything under them, the last
//! matching pattern wins, `!` re-includes, `*` and `?` stay inside one path segment and `**`
//! spans segments. The Dockerfile text is written under its own name so it never clashes with
//! (and always replaces) a file of the context, and `.dockerignore` is always sent, as Docker does.
//!
//! Headers are deterministic (no mtimes, uid/gid 0, normalised modes): the same tree gives the
//! same tar, so the engine's layer cache and our fingerprints agree on what changed.

use std::{fs, io, path::Path};

use okd_core::{Error, ErrorKind, Result};

/// The build context of `dir` as a tar, with `dockerfile` written as `dockerfile_name`.
pub fn context_tar(dir: &Path, dockerfile_name: &str, dockerfile: &str) -> Result<Vec<u8>> {
    let meta = fs::metadata(dir).map_err(|e| Error::io(dir, "read the build context", e))?;
    if !meta.is_dir() {
        return Err(Error::invalid(format!("the build context {} is not a folder", dir.display())));
    }
    let ignore_path = dir.join(".dockerignore");
    let ignore = match fs::read_to_string(&ignore_path) {
        Ok(text) => Ignore::parse(&text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ignore::default(),
        Err(e) => return Err(Error::io(&ignore_path, "read", e)),
    };
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    builder.follow_symlinks(false);
    let walk = Walk { root: dir, ignore: &ignore, skip: dockerfile_name };
    walk.dir("", &mut builder)?;

    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    builder
        .append_data(&mut header, dockerfile_name, dockerfile.as_bytes())
        .map_err(|e| tar_error(dockerfile_name, e))?;
    builder.into_inner().map_err(|e| tar_error("the end of the archive", e))
}

fn tar_error(what: &str, e: io::Error) -> Error {
    Error::new(ErrorKind::Internal, format!("cannot add {what} to the build context archive")).with_source(e)
}

struct Walk<'a> {
    root: &'a Path,
    ignore: &'a Ignore,
    skip: &'a str,
}

impl Walk<'_> {
    fn dir(&self, rel: &str, builder: &mut tar::Builder<Vec<u8>>) -> Result<()> {
        let full = self.root.join(rel);
        let read = fs::read_dir(&full).map_err(|e| Error::io(&full, "read the build context folder", e))?;
        let mut entries = read.collect::<io::Result<Vec<_>>>().map_err(|e| Error::io(&full, "read", e))?;
        // Sorted so that the same tree always gives the same archive.
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let path = if rel.is_empty() { name.into_owned() } else { format!("{rel}/{name}") };
            if path == self.skip {
                continue;
            }
            let source = entry.path();
            let kind = entry.file_type().map_err(|e| Error::io(&source, "read", e))?;
            let excluded = path != ".dockerignore" && self.ignore.excluded(&path);
            if kind.is_dir() {
                if !excluded {
                    builder.append_dir(&path, &source).map_err(|e| tar_error(&path, e))?;
                }
                if !excluded || self.ignore.may_include_under(&path) {
                    self.dir(&path, builder)?;
                }
            } else if (kind.is_file() || kind.is_symlink()) && !excluded {
                builder.append_path_with_name(&source, &path).map_err(|e| tar_error(&path, e))?;
            }
            // Sockets, fifos and devices cannot be built from; `docker build` skips them too.
        }
        Ok(())
    }
}

/// The patterns of one `.dockerignore`, in file order.
#[derive(Debug, Default)]
struct Ignore {
    patterns: Vec<Pattern>,
}

#[derive(Debug)]
struct Pattern {
    /// The cleaned text, without `!`.
    text: String,
    exception: bool,
    tokens: Vec<Token>,
}

#[derive(Debug)]
enum Token {
    Char(char),
    /// `*`: anything but `/`.
    Star,
    /// `?`: one character but `/`.
    One,
    /// `[...]`: ranges, possibly negated.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// `**` followed by more pattern: zero or more whole segments, `(.*/)?`.
    Segments,
    /// `**` at the end: anything, `.*`.
    Rest,
}

impl Ignore {
    fn parse(text: &str) -> Ignore {
        let patterns = text
            .lines()
            .map(|l| l.trim_start_matches('\u{feff}').trim())
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|line| {
                let (exception, rest) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, line),
                };
                let text = clean(rest)?;
                Some(Pattern { tokens: tokenize(&text), text, exception })
            })
            .collect();
        Ignore { patterns }
    }

    /// Whether `path` (relative, `/`-separated) is left out of the context.
    fn excluded(&self, path: &str) -> bool {
        let parents: Vec<&str> = path.match_indices('/').map(|(i, _)| &path[..i]).collect();
        let mut excluded = false;
        for pattern in &self.patterns {
            // Only a pattern that could change the verdict is worth matching.
            if pattern.exception != excluded {
                continue;
            }
            if pattern.matches(path) || parents.iter().any(|p| pattern.matches(p)) {
                excluded = !pattern.exception;
            }
        }
        excluded
    }

    /// Whether an exception might re-include something under the excluded folder `dir`
    /// (Docker's rule: an exception whose text starts with `dir/`; we also honour a leading `**`).
    fn may_include_under(&self, dir: &str) -> bool {
        let prefix = format!("{dir}/");
        self.patterns
            .iter()
            .any(|p| p.exception && (format!("{}/", p.text).starts_with(&prefix) || p.text.starts_with("**")))
    }
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        let chars: Vec<char> = path.chars().collect();
        matches(&self.tokens, &chars)
    }
}

/// Go's `filepath.Clean` on a pattern, made relative; `None` when nothing is left.
fn clean(pattern: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn tokenize(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                tokens.push(if i >= chars.len() { Token::Rest } else { Token::Segments });
            }
            '*' => tokens.push(Token::Star),
            '?' => tokens.push(Token::One),
            '\\' => match chars.get(i) {
                Some(&escaped) => {
                    tokens.push(Token::Char(escaped));
                    i += 1;
                }
                None => tokens.push(Token::Char('\\')),
            },
            '[' => match class(&chars[i..]) {
                Some((token, used)) => {
                    tokens.push(token);
                    i += used;
                }
                None => tokens.push(Token::Char('[')),
            },
            c => tokens.push(Token::Char(c)),
        }
    }
    tokens
}

/// A character class after its `[`: the token and how many characters it used, `]` included.
fn class(chars: &[char]) -> Option<(Token, usize)> {
    let mut i = 0;
    let negated = matches!(chars.first(), Some('^' | '!'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    loop {
        let mut lo = *chars.get(i)?;
        if lo == ']' && !ranges.is_empty() {
            return Some((Token::Class { negated, ranges }, i + 1));
        }
        if lo == '\\' {
            i += 1;
            lo = *chars.get(i)?;
        }
        i += 1;
        let mut hi = lo;
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|c| *c != ']') {
            hi = chars[i + 1];
            i += 2;
        }
        ranges.push((lo, hi));
    }
}

fn matches(tokens: &[Token], s: &[char]) -> bool {
    let Some((token, rest)) = tokens.split_first() else {
        return s.is_empty();
    };
    match token {
        Token::Char(c) => s.first() == Some(c) && matches(rest, &s[1..]),
        Token::One => s.first().is_some_and(|c| *c != '/') && matches(rest, &s[1..]),
        Token::Class { negated, ranges } => {
            s.first().is_some_and(|c| {
                let inside = ranges.iter().any(|(lo, hi)| (lo..=hi).contains(&c));
                inside != *negated
            }) && matches(rest, &s[1..])
        }
        Token::Star => {
            for i in 0..=s.len() {
                if matches(rest, &s[i..]) {
                    return true;
                }
                if s.get(i) == Some(&'/') {
                    return false;
                }
            }
            false
        }
        Token::Segments => {
            matches(rest, s) || (0..s.len()).any(|i| s[i] == '/' && matches(rest, &s[i + 1..]))
        }
        Token::Rest => (0..=s.len()).any(|i| matches(rest, &s[i..])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excluded(ignore: &str, path: &str) -> bool {
        Ignore::parse(ignore).excluded(path)
    }

    #[test]
    fn single_star_stays_in_one_segment() {
        assert!(excluded("*.log", "a.log"));
        assert!(!excluded("*.log", "sub/a.log"));
        assert!(excluded("*/*.log", "sub/a.log"));
        assert!(excluded("a?c", "abc"));
        assert!(!excluded("a?c", "a/c"));
    }

    #[test]
    fn double_star_spans_segments() {
        assert!(excluded("**/*.log", "a.log"));
        assert!(excluded("**/*.log", "x/y/a.log"));
        assert!(excluded("a/**/b", "a/b"));
        assert!(excluded("a/**/b", "a/x/y/b"));
        assert!(excluded("a/**", "a/x/y"));
        assert!(!excluded("a/**", "a"));
        assert!(excluded("**", "anything/at/all"));
    }

    #[test]
    fn folders_take_their_contents_and_exceptions_win_when_last() {
        let ignore = "# build output\n/target/\n!target/keep.txt\n";
        assert!(excluded(ignore, "target"));
        assert!(excluded(ignore, "target/debug/x"));
        assert!(!excluded(ignore, "target/keep.txt"));
        assert!(Ignore::parse(ignore).may_include_under("target"));
        assert!(!Ignore::parse("target\n").may_include_under("target"));
        assert!(excluded("!keep\n*\n", "keep"));
    }

    #[test]
    fn classes_escapes_and_cleaning() {
        assert!(excluded("file[0-9]", "file7"));
        assert!(!excluded("file[^0-9]", "file7"));
        assert!(excluded("\\*star", "*star"));
        assert!(!excluded("\\*star", "xstar"));
        assert!(excluded("./a/../b//c", "b/c"));
        assert!(!excluded("  \n# only a comment\n", "x"));
    }
}
