//! Finding `from=` inside a `RUN --mount=` value, and mapping it back to bytes of the file.
//!
//! parse-dockerfile gives the whole flag value (`type=bind,from=builder,target=/x`) with line
//! continuations removed and the span of the raw text it came from. The reference is only the
//! `builder` part, so its span has to be computed: first inside the unescaped value (buildkit
//! reads the value as one CSV record), then through the continuations that were removed.

use std::ops::Range;

/// A `from=` field of a mount value.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct MountFrom {
    /// The value after `from=`, CSV quotes removed.
    pub value: String,
    /// Byte range, in the unescaped flag value, of the raw text of `value` (inside the quotes
    /// when the field is quoted).
    pub range: Range<usize>,
}

/// The `from=` fields of a mount flag value, or `None` if the value is not valid CSV (buildkit
/// rejects such a mount). Keys are case-insensitive, as in buildkit.
pub(super) fn mount_froms(value: &str) -> Option<Vec<MountFrom>> {
    let mut out = Vec::new();
    for field in csv_fields(value)? {
        let raw = &value[field.raw.clone()];
        let Some((key, from)) = field.content.split_once('=') else { continue };
        if !key.eq_ignore_ascii_case("from") || from.is_empty() {
            continue;
        }
        // `""` (an escaped quote) never contains '=', so the first '=' of the raw text is the
        // first '=' of the content.
        let eq = raw.find('=')?;
        out.push(MountFrom { value: from.to_string(), range: field.raw.start + eq + 1..field.raw.end });
    }
    Some(out)
}

struct CsvField {
    content: String,
    raw: Range<usize>,
}

/// Splits one CSV record the way Go's `encoding/csv` does with its defaults: a field that
/// starts with `"` is quoted (`""` is a literal quote) and must end at a `"` followed by a
/// comma or the end; a quote anywhere else is an error.
fn csv_fields(s: &str) -> Option<Vec<CsvField>> {
    let bytes = s.as_bytes();
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        if bytes.get(i) == Some(&b'"') {
            let start = i + 1;
            let mut content = String::new();
            let mut j = start;
            let mut piece = start;
            loop {
                match bytes.get(j) {
                    None => return None,
                    Some(b'"') if bytes.get(j + 1) == Some(&b'"') => {
                        content.push_str(s.get(piece..j + 1)?);
                        j += 2;
                        piece = j;
                    }
                    Some(b'"') => break,
                    Some(_) => j += 1,
                }
            }
            content.push_str(s.get(piece..j)?);
            fields.push(CsvField { content, raw: start..j });
            i = j + 1;
            match bytes.get(i) {
                None => return Some(fields),
                Some(b',') => i += 1,
                Some(_) => return None,
            }
        } else {
            let end = s[i..].find(',').map_or(s.len(), |k| i + k);
            let field = &s[i..end];
            if field.contains('"') {
                return None;
            }
            fields.push(CsvField { content: field.to_string(), raw: i..end });
            if end == s.len() {
                return Some(fields);
            }
            i = end + 1;
        }
    }
}

/// Maps a byte range of an unescaped token value back to the original text.
///
/// `span` is the token's raw span in `text` and `value` its unescaped value. The pieces of
/// raw text that survive continuation removal are found by replaying parse-dockerfile's
/// continuation rules, and the result is only trusted if those pieces concatenate to exactly
/// `value`; otherwise `None`, so that a caller never gets a wrong span.
///
/// The returned range starts where the first byte of `range` is written and ends after its
/// last byte, so it includes any continuation in the middle but none at the edges.
pub(super) fn map_range(
    text: &str,
    span: Range<usize>,
    value: &str,
    escape: u8,
    range: Range<usize>,
) -> Option<Range<usize>> {
    if range.start >= range.end || range.end > value.len() {
        return None;
    }
    let raw = text.get(span.clone())?;
    if raw == value {
        return Some(span.start + range.start..span.start + range.end);
    }
    let pieces = kept_pieces(text.as_bytes(), span, escape);
    let mut rebuilt = Vec::with_capacity(value.len());
    for piece in &pieces {
        rebuilt.extend_from_slice(text.as_bytes().get(piece.clone())?);
    }
    if rebuilt != value.as_bytes() {
        return None;
    }
    let (mut start, mut end) = (None, None);
    let mut offset = 0;
    for piece in &pieces {
        let len = piece.len();
        if start.is_none() && range.start < offset + len {
            start = Some(piece.start + (range.start - offset));
        }
        if end.is_none() && range.end <= offset + len {
            end = Some(piece.start + (range.end - offset));
        }
        offset += len;
    }
    let mapped = start?..end?;
    (text.is_char_boundary(mapped.start) && text.is_char_boundary(mapped.end)).then_some(mapped)
}

/// The byte ranges of `text[span]` left after removing line continuations.
fn kept_pieces(text: &[u8], span: Range<usize>, escape: u8) -> Vec<Range<usize>> {
    let mut pieces = Vec::new();
    let mut piece_start = span.start;
    let mut i = span.start;
    while i < span.end {
        if text[i] == escape
            && let Some(next) = continuation_end(text, i)
        {
            if piece_start < i {
                pieces.push(piece_start..i);
            }
            i = next.min(span.end);
            piece_start = i;
        } else {
            i += 1;
        }
    }
    if piece_start < span.end {
        pieces.push(piece_start..span.end);
    }
    pieces
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\x0B' | b'\x0C')
}

/// Where a line continuation that starts with the escape byte at `i` ends, or `None` if there
/// is none: the escape, optional spaces or tabs, a newline, then any following empty or
/// comment-only lines (buildkit skips those inside a continued instruction).
fn continuation_end(text: &[u8], i: usize) -> Option<usize> {
    let mut k = i + 1;
    if matches!(text.get(k), Some(b' ' | b'\t')) {
        while text.get(k).is_some_and(|&b| is_whitespace(b)) {
            k += 1;
        }
    }
    k = newline_end(text, k)?;
    while let Some(&b) = text.get(k) {
        let mut first = b;
        let mut next = k + 1;
        if is_whitespace(b) {
            let mut m = next;
            while text.get(m).is_some_and(|&b| is_whitespace(b)) {
                m += 1;
            }
            match text.get(m) {
                Some(&c @ (b'#' | b'\n' | b'\r')) => {
                    first = c;
                    next = m + 1;
                }
                _ => break,
            }
        } else if !matches!(b, b'#' | b'\n') {
            break;
        }
        k = next;
        if first != b'\n' {
            k = line_end(text, k);
        }
    }
    Some(k)
}

/// The end of a `\n` or `\r\n` at `k`.
fn newline_end(text: &[u8], k: usize) -> Option<usize> {
    match text.get(k)? {
        b'\n' => Some(k + 1),
        b'\r' if text.get(k + 1) == Some(&b'\n') => Some(k + 2),
        _ => None,
    }
}

/// The position after the end of the line containing `k`, newline included.
fn line_end(text: &[u8], mut k: usize) -> usize {
    while k < text.len() {
        if let Some(end) = newline_end(text, k) {
            return end;
        }
        k += 1;
    }
    k
}
