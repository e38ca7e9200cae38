//! `$VAR` expansion in Dockerfile words, following buildkit's shell lexer
//! (`frontend/dockerfile/shell/lex.go`) for the forms the Dockerfile reference documents.
//!
//! A FROM line may name its image through global ARGs (`FROM ${BASE}:${TAG}`), and a
//! `--build-arg` can change them, so the image a build pulls is only known after expansion.
//!
//! Understood: `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`,
//! `${VAR:?message}` and `${VAR?message}`; `word` may itself contain expansions. The escape
//! character (`\` or the `# escape=` one) makes the next character literal, so `\$` is a
//! dollar sign. Buildkit also has `${VAR#pattern}`, `${VAR%pattern}` and `${VAR/a/b}`; they are
//! not documented and are reported as unsupported rather than half-implemented.

/// Nesting depth of `${...}` at which expansion gives up, so that hostile input such as
/// `${a:-${a:-${a:-...` cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// Expands `word` the way buildkit expands a FROM image.
///
/// `escape` is the Dockerfile's escape character; `lookup` returns a variable's value, or
/// `None` when it is unset (an unset variable expands to the empty string). Quotes are not
/// special: `'` and `"` are kept as written.
///
/// # Errors
///
/// A message naming the problem for an unterminated `${`, an empty or malformed `${}`, an
/// unsupported modifier, or a `${VAR?message}` whose variable is unset.
pub fn expand(word: &str, escape: char, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    Lexer { chars: word.chars().collect(), pos: 0, escape, lookup, quotes: false, depth: 0 }.word(None)
}

/// Like [`expand`], but also removes shell quotes as buildkit does for ARG values:
/// `'...'` is literal, and inside `"..."` only `$` expands and the escape character escapes
/// `"`, `$` and itself.
pub(crate) fn expand_quoted(
    word: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    Lexer { chars: word.chars().collect(), pos: 0, escape, lookup, quotes: true, depth: 0 }.word(None)
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    quotes: bool,
    depth: usize,
}

const MISSING_BRACE: &str = "syntax error: missing '}' after '${'";

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Reads up to the end of the input, or up to an unescaped `stop` (consumed).
    fn word(&mut self, stop: Option<char>) -> Result<String, String> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.pos += 1;
                return Ok(out);
            }
            match c {
                '$' => out.push_str(&self.dollar()?),
                '\'' if self.quotes => out.push_str(&self.single_quoted()?),
                '"' if self.quotes => out.push_str(&self.double_quoted()?),
                _ => {
                    self.pos += 1;
                    if c == self.escape {
                        // The escape makes the next character literal; a trailing escape is
                        // dropped, as buildkit does.
                        match self.bump() {
                            Some(next) => out.push(next),
                            None => break,
                        }
                    } else {
                        out.push(c);
                    }
                }
            }
        }
        match stop {
            None => Ok(out),
            Some(_) => Err(MISSING_BRACE.to_string()),
        }
    }

    fn single_quoted(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err("unterminated single-quoted string".to_string()),
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err("unterminated double-quoted string".to_string()),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('$') => out.push_str(&self.dollar()?),
                Some(c) => {
                    self.pos += 1;
                    if c == self.escape {
                        match self.peek() {
                            None => continue,
                            Some(next) if next == '"' || next == '$' || next == self.escape => {
                                self.pos += 1;
                                out.push(next);
                            }
                            Some(_) => out.push(c),
                        }
                    } else {
                        out.push(c);
                    }
                }
            }
        }
    }

    /// Reads a variable name: digits, one special parameter character, or letters, digits
    /// and underscores.
    fn name(&mut self) -> String {
        let mut name = String::new();
        match self.peek() {
            Some(c) if c.is_ascii_digit() => {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    name.push(d);
                    self.pos += 1;
                }
            }
            Some(c @ ('@' | '*' | '#' | '?' | '-' | '$' | '!')) => {
                self.pos += 1;
                name.push(c);
            }
            _ => {
                while let Some(c) = self.peek().filter(|c| c.is_alphanumeric() || *c == '_') {
                    name.push(c);
                    self.pos += 1;
                }
            }
        }
        name
    }

    fn dollar(&mut self) -> Result<String, String> {
        self.pos += 1;
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_string());
            }
            return Ok((self.lookup)(&name).unwrap_or_default());
        }
        self.pos += 1;
        match self.peek() {
            None => return Err(MISSING_BRACE.to_string()),
            Some(c @ ('{' | '}' | ':')) => {
                return Err(format!(
                    "syntax error: bad substitution '${{{c}' (a variable name must follow '${{')"
                ));
            }
            Some(_) => {}
        }
        let name = self.name();
        match self.bump() {
            None => Err(MISSING_BRACE.to_string()),
            Some('}') => Ok((self.lookup)(&name).unwrap_or_default()),
            Some(':') => match self.bump() {
                None => Err(MISSING_BRACE.to_string()),
                Some(op @ ('-' | '+' | '?')) => self.modifier(&name, op, true),
                Some(op) => Err(unsupported(&name, &format!(":{op}"))),
            },
            Some(op @ ('-' | '+' | '?')) => self.modifier(&name, op, false),
            Some(op) => Err(unsupported(&name, &op.to_string())),
        }
    }

    /// `${name<op>word}` after the operator; `colon` makes an empty value count as unset.
    fn modifier(&mut self, name: &str, op: char, colon: bool) -> Result<String, String> {
        if self.depth >= MAX_DEPTH {
            return Err(format!("'${{...}}' nested more than {MAX_DEPTH} levels deep"));
        }
        self.depth += 1;
        let word = self.word(Some('}'));
        self.depth -= 1;
        let word = word?;
        let value = (self.lookup)(name);
        let unset = match &value {
            None => true,
            Some(v) => colon && v.is_empty(),
        };
        match op {
            '-' if unset => Ok(word),
            '+' if unset => Ok(String::new()),
            '+' => Ok(word),
            '?' if unset => {
                let default =
                    if value.is_none() { "is not allowed to be unset" } else { "is not allowed to be empty" };
                let message = if word.is_empty() { default } else { word.as_str() };
                Err(format!("{name}: {message}"))
            }
            _ => Ok(value.unwrap_or_default()),
        }
    }
}

fn unsupported(name: &str, op: &str) -> String {
    format!(
        "unsupported modifier '{op}' in '${{{name}{op}...}}' (okd-build understands ${{VAR}}, ${{VAR:-word}}, \
         ${{VAR-word}}, ${{VAR:+word}}, ${{VAR+word}}, ${{VAR:?message}} and ${{VAR?message}})"
    )
}
