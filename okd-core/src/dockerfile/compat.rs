//! What BuildKit accepts and parse-dockerfile misreads or refuses, patched in a copy of the text
//! before it is parsed, without moving a byte:
//!
//! - an empty exec form, `ENTRYPOINT []` or `CMD [ ]`, which BuildKit takes as a reset
//!   (openshift/cluster-samples-operator's Dockerfile.okd has one), becomes a placeholder word;
//! - here-documents, below.
//!
//! Here-documents where BuildKit finds them: in any word of a RUN, COPY or ADD instruction, not
//! only right after the instruction (`RUN cat <<EOT > /etc/x`, `RUN python3 <<EOF`, two in one
//! instruction, or after a continued `--mount` line). parse-dockerfile only knows the first
//! position, so without this a body line `FROM not-real:1` would become a FROM.
//!
//! [`mask`] hands the parser a copy of the text in which every here-document body and its
//! closing delimiter are blanked byte for byte (same length, newlines kept), and the `<<WORD`
//! that opened it becomes a placeholder word of the same length (`COPY <<EOF /x` still has its
//! two arguments). Spans from the parser therefore still index the original text, and since no image
//! reference lives in a body, the rewriter, which splices into the original, leaves bodies
//! byte-identical.
//!
//! BuildKit's rules (frontend/dockerfile/parser): the logical instruction (continuations joined)
//! is split into shell words; a word matching `^\d*<<(-?)(.+)$` with no further `<` opens a
//! here-document named by the rest, unquoted; bodies follow the instruction in the order the
//! words came; `<<-` strips leading tabs before comparing a line with the delimiter.

use std::borrow::Cow;

/// A here-document that never ends: the byte offset of its `<<` and its delimiter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Unterminated {
    pub(super) offset: usize,
    pub(super) delimiter: String,
}

/// One `<<WORD` found in an instruction.
struct Marker {
    /// Byte range of the word in the text, when it is written in one piece.
    span: Option<(usize, usize)>,
    delimiter: String,
    strip_tabs: bool,
}

/// The text with every here-document blanked (see the module documentation); borrowed when
/// there is none.
pub(super) fn mask(text: &str) -> Result<Cow<'_, str>, Unterminated> {
    if !text.contains("<<") && !text.contains('[') {
        return Ok(Cow::Borrowed(text));
    }
    let escape = escape_directive(text);
    let lines = physical_lines(text);
    let mut blank: Vec<(usize, usize)> = Vec::new();
    let mut words_at: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let (start, line) = lines[i];
        if is_blank_or_comment(line) {
            i += 1;
            continue;
        }
        // One logical instruction: this line and the ones its escape character continues into.
        let mut chars: Vec<(usize, char)> = Vec::new();
        let mut j = i;
        loop {
            let (s, l) = lines[j];
            let body = l.trim_end_matches(['\r', '\n']);
            let trimmed = body.trim_end();
            let continued = trimmed.ends_with(escape);
            let content = if continued { &trimmed[..trimmed.len() - escape.len_utf8()] } else { body };
            if j == i || !is_blank_or_comment(l) {
                chars.extend(content.char_indices().map(|(k, c)| (s + k, c)));
                chars.push((s + content.len(), ' '));
            }
            j += 1;
            if !continued || j >= lines.len() {
                break;
            }
        }
        i = j;
        if let Some(span) = empty_exec_form(line, &chars) {
            words_at.push(span);
            continue;
        }
        if !takes_heredocs(line) {
            continue;
        }
        let markers = markers(&chars, escape);
        for marker in markers {
            if let Some(span) = marker.span {
                words_at.push(span);
            }
            // The body runs to the line that is the delimiter alone.
            let opened_at = marker.span.map_or(start, |s| s.0);
            let mut closed = false;
            while i < lines.len() {
                let (s, l) = lines[i];
                i += 1;
                blank.push((s, s + l.len()));
                let content = l.trim_end_matches(['\r', '\n']);
                let content = if marker.strip_tabs { content.trim_start_matches('\t') } else { content };
                if content == marker.delimiter {
                    closed = true;
                    break;
                }
            }
            if !closed {
                return Err(Unterminated { offset: opened_at, delimiter: marker.delimiter });
            }
        }
    }
    if blank.is_empty() && words_at.is_empty() {
        return Ok(Cow::Borrowed(text));
    }
    let mut bytes = text.as_bytes().to_vec();
    for (from, to) in blank {
        for b in &mut bytes[from..to] {
            if *b != b'\n' && *b != b'\r' {
                *b = b' ';
            }
        }
    }
    for (from, to) in words_at {
        bytes[from..to].fill(b'_');
    }
    // ASCII bytes replaced whole characters (every range starts and ends on a character
    // boundary), so the text is still UTF-8.
    Ok(Cow::Owned(String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned())))
}

/// The `# escape=` parser directive's character, else `\`.
fn escape_directive(text: &str) -> char {
    for line in text.trim_start_matches('\u{feff}').lines() {
        let Some(rest) = line.trim().strip_prefix('#') else { break };
        let Some((key, value)) = rest.split_once('=') else { break };
        if key.trim().eq_ignore_ascii_case("escape") {
            return if value.trim() == "`" { '`' } else { '\\' };
        }
        if !key.trim().eq_ignore_ascii_case("syntax") && !key.trim().eq_ignore_ascii_case("check") {
            break;
        }
    }
    '\\'
}

/// Each line with its byte offset, newline included.
fn physical_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        out.push((start, line));
        start += line.len();
    }
    out
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// The span of `[]` (spaces inside allowed) in an ENTRYPOINT or CMD that has nothing else.
fn empty_exec_form(line: &str, chars: &[(usize, char)]) -> Option<(usize, usize)> {
    let keyword = line.split_whitespace().next().unwrap_or_default();
    if !["ENTRYPOINT", "CMD"].iter().any(|k| keyword.eq_ignore_ascii_case(k)) {
        return None;
    }
    let start = chars.iter().position(|(_, c)| !c.is_whitespace())?;
    let rest: Vec<&(usize, char)> =
        chars[start..].iter().skip(keyword.chars().count()).filter(|(_, c)| !c.is_whitespace()).collect();
    match rest.as_slice() {
        [(open, '['), (close, ']')] => Some((*open, *close + 1)),
        _ => None,
    }
}

/// Whether the instruction that starts on `line` may carry here-documents.
fn takes_heredocs(line: &str) -> bool {
    let word = line.split_whitespace().next().unwrap_or_default();
    ["RUN", "COPY", "ADD"].iter().any(|k| word.eq_ignore_ascii_case(k))
}

/// The here-document words of one logical instruction, in order.
fn markers(chars: &[(usize, char)], escape: char) -> Vec<Marker> {
    let mut out = Vec::new();
    for (word, offsets) in words(chars, escape) {
        let rest = word.trim_start_matches(|c: char| c.is_ascii_digit());
        let Some(rest) = rest.strip_prefix("<<") else { continue };
        let (strip_tabs, name) = match rest.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, rest),
        };
        if name.is_empty() || name.contains('<') {
            continue;
        }
        let delimiter = unquote(name);
        if delimiter.is_empty() {
            continue;
        }
        let contiguous = offsets.windows(2).all(|w| w[1] == w[0] + 1) || offsets.len() < 2;
        let span = match (offsets.first(), contiguous) {
            (Some(&first), true) => Some((first, first + word.len())),
            _ => None,
        };
        out.push(Marker { span, delimiter, strip_tabs });
    }
    out
}

/// Shell words (quotes kept), each with the byte offset of every character.
fn words(chars: &[(usize, char)], escape: char) -> Vec<(String, Vec<usize>)> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut offsets: Vec<usize> = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for &(at, c) in chars {
        let push = |word: &mut String, offsets: &mut Vec<usize>| {
            word.push(c);
            // Every byte of the character, so a word's span covers whole characters.
            offsets.extend(at..at + c.len_utf8());
        };
        if escaped {
            escaped = false;
            push(&mut word, &mut offsets);
            continue;
        }
        match quote {
            Some(q) if c == q => {
                quote = None;
                push(&mut word, &mut offsets);
            }
            Some('"') if c == escape => {
                escaped = true;
                push(&mut word, &mut offsets);
            }
            Some(_) => push(&mut word, &mut offsets),
            None if c.is_whitespace() => {
                if !word.is_empty() {
                    out.push((std::mem::take(&mut word), std::mem::take(&mut offsets)));
                }
            }
            None => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                } else if c == escape {
                    escaped = true;
                }
                push(&mut word, &mut offsets);
            }
        }
    }
    if !word.is_empty() {
        out.push((word, offsets));
    }
    out
}

/// `'EOF'` and `"EOF"` name `EOF`.
fn unquote(name: &str) -> String {
    for q in ['\'', '"'] {
        if let Some(inner) = name.strip_prefix(q).and_then(|n| n.strip_suffix(q)) {
            return inner.to_owned();
        }
    }
    name.replace(['\'', '"'], "")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn masked(text: &str) -> String {
        mask(text).unwrap().into_owned()
    }

    #[test]
    fn bodies_and_markers_are_blanked_at_the_same_offsets() {
        let text = "FROM a\nRUN cat <<EOT > /etc/x\nFROM not-real:1\nEOT\nFROM b\n";
        let out = masked(text);
        assert_eq!(out.len(), text.len());
        assert_eq!(out, "FROM a\nRUN cat _____ > /etc/x\n               \n   \nFROM b\n");
    }

    #[test]
    fn two_heredocs_continuations_quotes_and_tabs() {
        let text = "FROM a\nRUN <<'EOF' <<B cat\none\nEOF\ntwo\nB\n\
                    RUN --mount=type=bind,from=x,target=/x \\\n  bash <<'EOF'\nFROM y\nEOF\n\
                    COPY <<-END /etc/z\n\tFROM w\n\tEND\nRUN echo '<<NOT' \"<<NOR\"\n";
        let out = masked(text);
        assert_eq!(out.len(), text.len());
        assert!(!out.contains("FROM y") && !out.contains("FROM w") && !out.contains("one"), "{out}");
        assert!(out.contains("--mount=type=bind,from=x,target=/x"), "{out}");
        assert!(out.contains("'<<NOT' \"<<NOR\""), "quoted words open nothing: {out}");
    }

    #[test]
    fn an_unterminated_heredoc_is_located() {
        let text = "FROM a\nRUN python3 <<EOF\nprint(1)\n";
        let e = mask(text).unwrap_err();
        assert_eq!((e.offset, e.delimiter.as_str()), (text.find("<<EOF").unwrap(), "EOF"));
    }

    #[test]
    fn an_empty_exec_form_becomes_a_placeholder_of_the_same_length() {
        assert_eq!(masked("FROM a\nENTRYPOINT []\nCMD [ ]\n"), "FROM a\nENTRYPOINT __\nCMD ___\n");
        assert_eq!(masked("FROM a\nCMD [\"x\"]\n"), "FROM a\nCMD [\"x\"]\n");
    }

    #[test]
    fn only_run_copy_and_add_take_heredocs_and_plain_text_is_borrowed() {
        assert!(matches!(mask("FROM a\nENV X=1\n").unwrap(), Cow::Borrowed(_)));
        assert_eq!(masked("FROM a\nLABEL x=\"<<EOF\"\n"), "FROM a\nLABEL x=\"<<EOF\"\n");
        assert_eq!(masked("# escape=`\nFROM a\nRUN cat `\n  <<EOF\nx\nEOF\n").matches('x').count(), 0);
    }
}
