//! Splicing replacements into a Dockerfile without touching anything else.

use super::Edit;
use crate::{Error, ErrorKind};

pub(super) fn rewrite(text: &str, edits: &[Edit]) -> crate::Result<String> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    for edit in &sorted {
        let span = &edit.span;
        if span.start > span.end || span.end > text.len() {
            return Err(internal(format!(
                "edit span {}..{} is outside the {}-byte Dockerfile",
                span.start,
                span.end,
                text.len()
            )));
        }
        if !text.is_char_boundary(span.start) || !text.is_char_boundary(span.end) {
            return Err(internal(format!(
                "edit span {}..{} does not start and end on character boundaries",
                span.start, span.end
            )));
        }
    }
    sorted.sort_by_key(|edit| (edit.span.start, edit.span.end));
    for pair in sorted.windows(2) {
        let (a, b) = (&pair[0].span, &pair[1].span);
        // Two edits at the same start (including two insertions at one point) have no
        // well-defined order, so they count as overlapping too.
        if a.end > b.start || a.start == b.start {
            return Err(internal(format!(
                "edit spans {}..{} and {}..{} overlap",
                a.start, a.end, b.start, b.end
            )));
        }
    }
    let grown: usize = sorted.iter().map(|e| e.replacement.len()).sum();
    let mut out = String::with_capacity(text.len() + grown);
    let mut at = 0;
    for edit in sorted {
        out.push_str(&text[at..edit.span.start]);
        out.push_str(&edit.replacement);
        at = edit.span.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

fn internal(message: String) -> Error {
    Error::new(ErrorKind::Internal, format!("cannot rewrite Dockerfile: {message}"))
        .with_help("this is a bug in okd-build: the edits must come from non-overlapping ImageRef spans")
}
