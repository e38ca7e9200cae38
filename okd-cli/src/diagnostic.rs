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
    let mut out = format!("error: {}\n", error.message());
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
        let _ = writeln!(out, "caused by: {cause}");
        source = cause.source();
    }
    out
}

/// The offending line with a caret under the column (and under the span, when known).
fn snippet(location: &Location) -> Option<String> {
    let text = std::fs::read_to_string(&location.file).ok()?;
    let line = text.lines().nth(location.line.checked_sub(1)? as usize)?;
    let number = location.line.to_string();
    let pad = " ".repeat(number.len());
    let column = location.column.saturating_sub(1) as usize;
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
