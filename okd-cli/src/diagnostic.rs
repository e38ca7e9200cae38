//! Error rendering, in the style of rustc and cargo:
//!
//! ```text
//! error: component 'cli' is declared twice (first at line 11)
//!   --> release.yaml:13:11
//!    |
//! 13 |   - name: cli
//!    |           ^^^
//!    = help: give every component a unique name; it is the payload tag
//! ```
//!
//! The cause chain is printed once, after the help, never inside the message.

use std::fmt::Write;

use okd_core::{Error, Location};

/// The full text for `error`, ending in a newline.
pub fn render(error: &Error) -> String {
    let mut out = format!("error: {}\n", shorten(error.message(), MAX_MESSAGE));
    if let Some(location) = error.location() {
        out.push_str(&format!("  --> {location}\n"));
        if let Some(snippet) = snippet(location) {
            out.push_str(&snippet);
        }
    }
    if let Some(help) = error.help() {
        out.push_str(&format!("   = help: {help}\n"));
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let _ = writeln!(out, "caused by: {}", shorten(&cause.to_string(), MAX_MESSAGE));
        source = cause.source();
    }
    out
}

/// Characters of a message or cause quoted at most: a line's worth, whatever the input held.
const MAX_MESSAGE: usize = 300;
/// Characters of a source line shown around the column.
const SNIPPET_WIDTH: usize = 100;

/// `text` cut to `max` characters, with an ellipsis and how much was left out.
fn shorten(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max).collect();
    format!("{kept}… ({} more characters)", count - max)
}

/// The offending line with a caret under the column (and under the span, when known). A long
/// line is shown as a window of [`SNIPPET_WIDTH`] characters around the column.
fn snippet(location: &Location) -> Option<String> {
    let text = std::fs::read_to_string(&location.file).ok()?;
    let full = text.lines().nth(location.line.checked_sub(1)? as usize)?;
    let number = location.line.to_string();
    let pad = " ".repeat(number.len());
    let full_column = location.column.saturating_sub(1) as usize;
    let length = full.chars().count();
    let (line, column) = if length <= SNIPPET_WIDTH {
        (full.to_owned(), full_column)
    } else {
        let start = full_column.saturating_sub(SNIPPET_WIDTH / 4).min(length.saturating_sub(SNIPPET_WIDTH));
        let window: String = full.chars().skip(start).take(SNIPPET_WIDTH).collect();
        let (before, after) =
            (if start > 0 { "…" } else { "" }, if start + SNIPPET_WIDTH < length { "…" } else { "" });
        (format!("{before}{window}{after}"), full_column - start + before.chars().count())
    };
    let line = line.as_str();
    let width = location
        .span
        .as_ref()
        .and_then(|span| text.get(span.clone()))
        .map(|s| s.lines().next().unwrap_or("").chars().count())
        .filter(|w| *w > 0)
        .unwrap_or(1)
        .min(line.chars().count().saturating_sub(column).max(1));
    let marker_pad: String = line.chars().take(column).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
    Some(format!(" {pad} |\n {number} | {line}\n {pad} | {marker_pad}{}\n", "^".repeat(width)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_snippet_help_and_cause_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("r.yaml");
        std::fs::write(&file, "a: 1\n  - name: cli\n").expect("write");
        let error = Error::invalid_at(Location::new(&file, 2, 11).with_span(15..18), "bad name", "rename it")
            .with_source(std::io::Error::other("inner"));
        let text = render(&error);
        let expected = format!(
            "error: bad name\n  --> {}:2:11\n   |\n 2 |   - name: cli\n   |           ^^^\n   = help: rename it\ncaused by: inner\n",
            file.display()
        );
        assert_eq!(text, expected);
    }
}
