//! The OKD Dockerfile a repository must carry for the Konflux-only approach.
//!
//! Konflux cannot replace FROM images. A FROM whose image comes whole from a global ARG
//! (`FROM ${BASE_IMAGE}`) is served by a `build-args` entry, as Konflux documents; every other
//! reference that must change needs a Dockerfile that says so, committed next to the component's
//! own (OKD repositories carry `Dockerfile.okd` and `Dockerfile.scos` for the same reason).

use std::collections::BTreeMap;

use okd_core::{
    Error, ErrorKind, Result,
    backend::{Mechanism, ReferenceVerdict, Verdict},
    dockerfile::RefKind,
    manifest::Component,
    plan::PlannedComponent,
    resolve::Resolution,
};

use crate::names::whole_variable;

/// What the component's repository carries so that Konflux builds the OKD image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OkdDockerfile {
    /// The component's own Dockerfile builds as it is (with build args, if any).
    NotNeeded,
    /// This file, `path` relative to the context.
    Written {
        /// Relative to the build context.
        path: String,
        /// The file.
        content: String,
    },
    /// FROM lines must change, but the source was not read, so the file cannot be written.
    Unread {
        /// Where it would go, relative to the build context.
        path: String,
    },
}

/// The OKD Dockerfile and the build args that replace FROM images.
#[derive(Debug, Clone)]
pub(crate) struct Derived {
    pub(crate) okd: OkdDockerfile,
    /// ARG name -> image, for FROMs that take their image from a global ARG.
    pub(crate) args: BTreeMap<String, String>,
    /// What this does with each reference: unchanged, a build arg, or the OKD Dockerfile.
    pub(crate) verdicts: Vec<ReferenceVerdict>,
}

/// `Dockerfile` -> `Dockerfile.okd`, `images/x/Dockerfile.ci` -> `images/x/Dockerfile.ci.okd`.
pub(crate) fn okd_name(dockerfile: &str) -> String {
    match dockerfile.rsplit_once('/') {
        Some((dir, base)) => format!("{dir}/{base}.okd"),
        None => format!("{dockerfile}.okd"),
    }
}

/// Derives what `planned` needs. `member_ref` gives the reference a member parent takes in
/// Konflux (`None`: keep what the plan resolved).
pub(crate) fn derive(
    planned: &PlannedComponent,
    component: &Component,
    member_ref: &dyn Fn(&str) -> Option<String>,
) -> Result<Derived> {
    let Some(rewritten) = &planned.rewritten else {
        // Without the source only the manifest says whether FROMs change: an explicit
        // positional or last-FROM mapping always does.
        let configured =
            component.from.is_some() || component.last_from.is_some() || !component.replace.is_empty();
        let okd = if configured {
            OkdDockerfile::Unread { path: okd_name(&component.dockerfile) }
        } else {
            OkdDockerfile::NotNeeded
        };
        return Ok(Derived { okd, args: BTreeMap::new(), verdicts: Vec::new() });
    };
    let desired = |r: &Resolution| r.member().and_then(member_ref).unwrap_or_else(|| r.resolved.clone());
    // Every FROM that is a whole ARG counts, kept ones too: a build arg changes each use, so it
    // serves only when all uses want the same image and at least one of them changes.
    let mut by_arg: BTreeMap<&str, (Vec<String>, bool)> = BTreeMap::new();
    for r in planned.stages.iter().filter(|r| r.kind == RefKind::From) {
        let Some(name) = whole_variable(&r.original) else { continue };
        let value = desired(r);
        let changes = value != r.original;
        let entry = by_arg.entry(name).or_default();
        entry.0.push(if changes { value } else { r.expanded.clone() });
        entry.1 |= changes;
    }
    // Other uses of the ARG (`COPY --from=${X}`, `RUN --mount from=${X}`) would change too.
    let used_elsewhere = |name: &str| {
        planned.stages.iter().any(|r| r.kind != RefKind::From && r.original.contains(&format!("${{{name}}}")))
    };
    let args: BTreeMap<String, String> = by_arg
        .into_iter()
        .filter_map(|(name, (values, changes))| {
            let first = values.first()?.clone();
            (changes && !used_elsewhere(name) && values.iter().all(|v| *v == first))
                .then(|| (name.to_owned(), first))
        })
        .collect();
    let served_by_arg = |r: &Resolution| {
        r.kind == RefKind::From && whole_variable(&r.original).is_some_and(|n| args.contains_key(n))
    };
    let needs_file = planned.stages.iter().any(|r| desired(r) != r.original && !served_by_arg(r));
    let path = okd_name(&component.dockerfile);
    let verdicts = planned
        .stages
        .iter()
        .map(|r| {
            let verdict = if desired(r) == r.original {
                Verdict::Unchanged
            } else if served_by_arg(r) {
                Verdict::Native { how: Mechanism::BuildArg }
            } else {
                Verdict::Fork { path: path.clone() }
            };
            ReferenceVerdict::new(planned, r, verdict)
        })
        .collect();
    if !needs_file {
        return Ok(Derived { okd: OkdDockerfile::NotNeeded, args, verdicts });
    }
    let content =
        reedit(
            rewritten,
            &planned.stages,
            |r| {
                if served_by_arg(r) { r.original.clone() } else { desired(r) }
            },
        )
        .map_err(|e| e.context(format!("component '{}'", planned.name)))?;
    let content = mark_placeholders(&content);
    Ok(Derived { okd: OkdDockerfile::Written { path, content }, args, verdicts })
}

/// Puts a comment above each line that pins a parent at the placeholder digest, so nobody takes
/// it for a real one.
fn mark_placeholders(content: &str) -> String {
    if !content.contains(super::PLACEHOLDER_DIGEST) {
        return content.to_owned();
    }
    let mut out = String::with_capacity(content.len() + 200);
    for line in content.split_inclusive('\n') {
        if line.contains(super::PLACEHOLDER_DIGEST) {
            out.push_str(
                "# okd-build: the parent below has no Konflux build yet; its all-zero digest is a placeholder that the parent's first build nudges to the real one\n",
            );
        }
        out.push_str(line);
    }
    out
}

/// The plan's rewritten text with each reference's text replaced by `text(resolution)`. The plan
/// keeps the rewritten Dockerfile, not the original: each reference sits at its original offset
/// shifted by the length changes of the references before it.
fn reedit(rewritten: &str, stages: &[Resolution], text: impl Fn(&Resolution) -> String) -> Result<String> {
    let mut sorted: Vec<&Resolution> = stages.iter().collect();
    sorted.sort_by_key(|r| r.span.start);
    let mut out = String::with_capacity(rewritten.len());
    let (mut cursor, mut shift) = (0usize, 0isize);
    for r in sorted {
        let start = r.span.start.checked_add_signed(shift).unwrap_or(usize::MAX);
        let end = start.saturating_add(r.resolved.len());
        let slot = rewritten.get(start..end).filter(|_| start >= cursor);
        if slot != Some(r.resolved.as_str()) {
            return Err(Error::new(
                ErrorKind::Internal,
                format!(
                    "the rewritten Dockerfile does not hold '{}' where line {} put it",
                    r.resolved, r.line
                ),
            ));
        }
        out.push_str(&rewritten[cursor..start]);
        out.push_str(&text(r));
        cursor = end;
        shift += r.resolved.len() as isize - r.original.len() as isize;
    }
    out.push_str(&rewritten[cursor..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn okd_dockerfiles_sit_next_to_the_original() {
        assert_eq!(okd_name("Dockerfile"), "Dockerfile.okd");
        assert_eq!(okd_name("images/installer/Dockerfile.ci"), "images/installer/Dockerfile.ci.okd");
    }
}
