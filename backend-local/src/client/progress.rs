//! Reading the engine's build and push streams.
//!
//! What Podman 4.3.1 sends (observed): a build streams `{"stream": "STEP n/m: ..."}` lines and
//! the RUN output, not always cut at line ends; on the compat `/build` endpoint it ends with a
//! bare 64-hex image ID line, `{"aux": {"ID": "sha256:..."}}` and `Successfully built <12 hex>`;
//! on the libpod endpoint (which we use, for its `pullpolicy=never`) it ends with the bare ID
//! line and no `aux`. A failure is one `{"error": ..., "errorDetail": ...}` item naming the
//! step only by its text (`building at STEP "RUN make": exit status 2`), so we remember the last
//! `STEP n/m:` line ourselves (`[s/t] STEP n/m:` in multi-stage builds, numbered per stage).
//! Request labels show up as an extra `LABEL` step at the end of the last stage. Docker's classic builder writes `Step n/m : ...` and an `aux`.
//! A push answers `{"status": "<tag>: digest: sha256:... size: N"}` on both engines.

use std::collections::VecDeque;

use okd_core::{Error, ErrorKind};

/// How many log lines a build failure's help repeats.
const TAIL: usize = 10;

/// The state of one build's output.
#[derive(Debug, Default)]
pub(super) struct BuildProgress {
    partial: String,
    step: Option<String>,
    tail: VecDeque<String>,
    aux_id: Option<String>,
    bare_id: Option<String>,
}

impl BuildProgress {
    /// A `stream` (or `status`) text: logs every complete line, keeps the rest for later.
    pub(super) fn text(&mut self, text: &str, log: &mut (dyn FnMut(&str) + Send)) {
        self.partial.push_str(text);
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            self.line(line.trim_end_matches(['\n', '\r']), log);
        }
    }

    /// The `aux.ID` item.
    pub(super) fn aux(&mut self, id: &str) {
        self.aux_id = Some(normalize_id(id));
    }

    /// Logs what is left of an unfinished line.
    pub(super) fn finish(&mut self, log: &mut (dyn FnMut(&str) + Send)) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(line.trim_end_matches('\r'), log);
        }
    }

    fn line(&mut self, line: &str, log: &mut (dyn FnMut(&str) + Send)) {
        log(line);
        if line.trim().is_empty() {
            return;
        }
        if is_step(line) {
            self.step = Some(line.to_owned());
        }
        if is_hex_id(line) {
            self.bare_id = Some(normalize_id(line));
        }
        if self.tail.len() == TAIL {
            self.tail.pop_front();
        }
        self.tail.push_back(line.to_owned());
    }

    /// The built image's ID (`sha256:...`), when the stream named it in full.
    pub(super) fn image_id(&self) -> Option<String> {
        self.aux_id.clone().or_else(|| self.bare_id.clone())
    }

    /// The error for an `error` item: `<failing step>: <message>`, the last lines in the help.
    pub(super) fn failure(mut self, message: &str, log: &mut (dyn FnMut(&str) + Send)) -> Error {
        self.finish(log);
        let message = message.trim();
        log(&format!("error: {message}"));
        let text = match &self.step {
            Some(step) => format!("{step}: {message}"),
            None => message.to_owned(),
        };
        let lines: Vec<&str> = self.tail.iter().map(String::as_str).collect();
        let mut help = if lines.is_empty() {
            "the engine stopped before the first step: check the Dockerfile".to_owned()
        } else {
            format!("the last lines of the build log:\n  {}", lines.join("\n  "))
        };
        if self.step.as_deref().is_some_and(|s| s.contains(" FROM ") || s.contains(": FROM "))
            && (message.contains("image not known") || message.contains("not found"))
        {
            help.push_str(
                "\nbase images are never pulled: build, load or tag the base image in the engine's local storage first",
            );
        }
        Error::new(ErrorKind::BuildFailed, text).with_help(help)
    }
}

/// `STEP 3/5: RUN make` (Podman; `[2/2] STEP 3/5: ...` in a multi-stage build) or
/// `Step 3/5 : RUN make` (Docker).
fn is_step(line: &str) -> bool {
    let line = match line.strip_prefix('[').and_then(|l| l.split_once("] ")) {
        Some((stage, rest)) if stage.contains('/') => rest,
        _ => line,
    };
    let Some(rest) = line.strip_prefix("STEP ").or_else(|| line.strip_prefix("Step ")) else {
        return false;
    };
    let Some((n, rest)) = rest.split_once('/') else { return false };
    let m: String = rest.chars().take_while(char::is_ascii_digit).collect();
    !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) && !m.is_empty()
}

fn is_hex_id(line: &str) -> bool {
    let hex = line.strip_prefix("sha256:").unwrap_or(line);
    hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// `sha256:<hex>`, whichever way the engine wrote it.
pub(super) fn normalize_id(id: &str) -> String {
    let id = id.trim();
    if id.contains(':') { id.to_owned() } else { format!("sha256:{id}") }
}

/// The manifest digest in a push status line (`cli: digest: sha256:... size: 581`).
pub(super) fn push_digest(status: &str) -> Option<String> {
    let (_, rest) = status.split_once("digest: ")?;
    let digest = rest.split_whitespace().next()?;
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then(|| digest.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4682b6036e8781a8dc76abb246db1588bb6e31dab1bae35ae3c72473e935d5c8";

    fn feed(chunks: &[&str]) -> (BuildProgress, Vec<String>) {
        let mut lines = Vec::new();
        let mut progress = BuildProgress::default();
        for chunk in chunks {
            progress.text(chunk, &mut |l: &str| lines.push(l.to_owned()));
        }
        progress.finish(&mut |l: &str| lines.push(l.to_owned()));
        (progress, lines)
    }

    #[test]
    fn lines_are_split_joined_and_the_bare_id_is_kept() {
        let (progress, lines) = feed(&[
            "STEP 1/2: FROM x\n",
            "STEP 2/2: RUN echo hi\nh",
            "i\n",
            "--> 4682b6036e8\n",
            &format!("{ID}\n"),
        ]);
        assert_eq!(lines, ["STEP 1/2: FROM x", "STEP 2/2: RUN echo hi", "hi", "--> 4682b6036e8", ID]);
        assert_eq!(progress.image_id(), Some(format!("sha256:{ID}")));
    }

    #[test]
    fn a_failure_names_the_last_step_and_repeats_the_tail() {
        let (progress, _) = feed(&["STEP 1/3: FROM x\n", "Step 2/3 : RUN make\n", "boom\n"]);
        let e = progress.failure("building at STEP \"RUN make\": exit status 2\n", &mut |_: &str| {});
        assert_eq!(e.kind(), ErrorKind::BuildFailed);
        assert_eq!(e.message(), "Step 2/3 : RUN make: building at STEP \"RUN make\": exit status 2");
        assert!(e.help().is_some_and(|h| h.contains("boom")));
    }

    #[test]
    fn steps_and_digests_are_recognised() {
        assert!(is_step("STEP 10/12: COPY . ."));
        assert!(is_step("[2/2] STEP 3/4: RUN make"));
        assert!(!is_step("STEP x/2: no"));
        assert!(!is_step("STEPS 1/2"));
        assert_eq!(push_digest(&format!("cli: digest: sha256:{ID} size: 581")), Some(format!("sha256:{ID}")));
        assert_eq!(push_digest("The push refers to repository [x]"), None);
    }
}
