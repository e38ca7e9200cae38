//! Text-level helpers for ocp-build-data: variable substitution as Doozer does it, YAML to
//! generic values, Doozer's deep merge, and finding the line of a key for warnings.

use std::collections::BTreeMap;

use serde_json::Value;

/// Substitutes `{NAME}` with `vars[NAME]` in raw text, as Python's `str.format` through art-tools'
/// SafeFormatter does: `{{` and `}}` collapse to `{` and `}`, and a `{...}` that is not a known
/// name stays as it is (so YAML flow mappings and shell `${VAR#v}` survive).
pub fn substitute(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('{')
            && let Some(end) = tail.find('}')
            && let Some(value) = vars.get(&tail[1..end])
        {
            out.push_str(value);
            rest = &tail[end + 1..];
            continue;
        }
        out.push_str(&tail[..1]);
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

/// Parses YAML into a generic value. `!include` tags (group.ext.yml) are dropped first: their
/// targets (plashet, repos) do not affect what okd-build imports.
pub fn parse_yaml(text: &str) -> Result<Value, (u32, u32, String)> {
    let cleaned;
    let text = if text.contains("!include") {
        cleaned = text.replace("!include ", "");
        &cleaned
    } else {
        text
    };
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    serde_saphyr::from_str::<Value>(text).map_err(|e| {
        let (line, column) = e.location().map_or((1, 1), |l| (l.line() as u32, l.column() as u32));
        let message =
            e.render_with_options(serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off });
        let message = message.lines().next().unwrap_or("invalid YAML").to_owned();
        (line, column, message.split(" at line ").next().unwrap_or_default().to_owned())
    })
}

/// art-tools' deep merge: mappings merge recursively; lists and scalars from `overlay` replace.
pub fn deep_merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) => deep_merge(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// A value's text: strings as they are, numbers and booleans printed, else `None`.
pub fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Follows `path` through nested mappings.
pub fn get<'v>(value: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, k| v.get(k))
}

/// The 1-based line of the key at `path` in block-style YAML `text`, found by indentation; the
/// nearest enclosing key found when the full path is not there (e.g. in a flow mapping); 1 when
/// nothing matches. Good enough to point a human at the right place in a warning.
pub fn line_of(text: &str, path: &[&str]) -> u32 {
    let lines: Vec<&str> = text.lines().collect();
    let (mut from, mut parent_indent, mut found) = (0usize, -1i64, 1u32);
    for key in path {
        // Plain, or quoted (a key YAML cannot read plain, e.g. `":x":`).
        let wanted = [format!("{key}:"), format!("\"{key}\":"), format!("'{key}':")];
        let mut hit = None;
        for (i, line) in lines.iter().enumerate().skip(from) {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = (line.len() - trimmed.len()) as i64;
            if i > from && indent <= parent_indent && !trimmed.starts_with("- ") {
                break;
            }
            let entry = trimmed.strip_prefix("- ").unwrap_or(trimmed);
            if wanted.iter().any(|w| entry.starts_with(w.as_str())) {
                hit = Some((i, indent));
                break;
            }
        }
        match hit {
            Some((i, indent)) => {
                found = i as u32 + 1;
                from = i + 1;
                parent_indent = indent;
            }
            None => break,
        }
    }
    found
}

/// The line of `text`, as `str::lines` counts them, that holds YAML's line `yaml_line`: YAML also
/// takes a lone `\r` for a line break. A line past the end is the last line.
pub fn file_line(text: &str, yaml_line: u32) -> u32 {
    let (mut yaml, mut line) = (1u32, 1u32);
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if yaml >= yaml_line {
            break;
        }
        match b {
            b'\n' => {
                yaml += 1;
                line += 1;
            }
            b'\r' if bytes.get(i + 1) != Some(&b'\n') => yaml += 1,
            _ => {}
        }
    }
    line.min(text.lines().count().max(1) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        BTreeMap::from([("MAJOR".into(), "4".into()), ("MINOR".into(), "22".into())])
    }

    #[test]
    fn substitution_follows_python_format_with_a_safe_formatter() {
        assert_eq!(substitute("release-{MAJOR}.{MINOR}", &vars()), "release-4.22");
        assert_eq!(substitute("{UNKNOWN} ${VAR#v} {a: b}", &vars()), "{UNKNOWN} ${VAR#v} {a: b}");
        assert_eq!(substitute("{{MAJOR}} }}", &vars()), "{MAJOR} }");
        assert_eq!(substitute("{", &vars()), "{");
    }

    #[test]
    fn merge_recurses_into_maps_and_replaces_lists() {
        let mut base = serde_json::json!({"a": {"b": 1, "c": [1, 2]}, "d": 1});
        deep_merge(&mut base, &serde_json::json!({"a": {"c": [3], "e": 2}, "d": {"x": 1}}));
        assert_eq!(base, serde_json::json!({"a": {"b": 1, "c": [3], "e": 2}, "d": {"x": 1}}));
    }

    #[test]
    fn line_of_follows_indentation() {
        let text = "name: x\ncontent:\n  source:\n    git:\n      url: u\n    path: p\nfrom:\n  builder:\n  - stream: s\n  member: m\n";
        assert_eq!(line_of(text, &["content", "source", "path"]), 6);
        assert_eq!(line_of(text, &["content", "source", "git", "url"]), 5);
        assert_eq!(line_of(text, &["from", "member"]), 10);
        assert_eq!(line_of(text, &["from", "builder"]), 8);
        assert_eq!(line_of(text, &["nope"]), 1);
        assert_eq!(line_of(text, &["from", "nope"]), 7, "the nearest enclosing key");
        assert_eq!(line_of("a: 1\n\":b\":\n  image: x\n'c d':\n", &[":b", "image"]), 3, "quoted keys");
        assert_eq!(line_of("a: 1\n\":b\":\n  image: x\n'c d':\n", &["c d"]), 4, "quoted keys");
    }

    #[test]
    fn yaml_lines_to_file_lines() {
        assert_eq!(file_line("a\r\rb\nc\r\nd", 4), 2);
        assert_eq!(file_line("a\r\rb\nc\r\nd", 5), 3);
        assert_eq!(file_line("a\nb\n", 3), 2, "past the end");
    }
}
