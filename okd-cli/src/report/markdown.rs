//! `okd compare --output markdown`: for a pull request comment or an issue. Same sections as the
//! table, as GitHub tables; long lists stop after [`MAX_ROWS`] with a pointer to JSON.

use std::fmt::Write;

use okd_core::compare::{Comparison, sources::SourcesComparison};

use super::{MAX_ROWS, backend_names, duration, percent};
use crate::output::capability_names;

/// A table cell: pipes and newlines would break the row.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
}

/// The whole report.
pub fn comparison(c: &Comparison, sources: Option<&SourcesComparison>) -> String {
    let r = &c.release;
    let mut out = format!(
        "## Build approaches for {} {}\n\n{} components ({} Dockerfiles read), {} FROM/--from references, {} backends.\n\n",
        r.name,
        r.version,
        r.components,
        r.read,
        r.references,
        c.backends.len()
    );
    out.push_str("### Approach\n\n");
    let rows: Vec<Vec<String>> = c
        .backends
        .iter()
        .map(|b| {
            let a = &b.info.approach;
            vec![
                format!("`{}`", b.info.name),
                b.info.maturity.as_str().into(),
                a.trigger_model.as_str().into(),
                capability_names(&b.info.capabilities).join(", "),
                a.from_replacement.into(),
                a.developer_feedback.into(),
            ]
        })
        .collect();
    table(
        &mut out,
        &["Backend", "Maturity", "Trigger", "Built so far", "FROM replacement", "Developer feedback"],
        &rows,
    );
    out.push_str("\n### Configuration (what `okd render` writes)\n\n");
    let rows: Vec<Vec<String>> = c
        .backends
        .iter()
        .map(|b| match &b.cost {
            Some(cost) => vec![
                format!("`{}`", b.info.name),
                cost.total.files.to_string(),
                cost.total.lines.to_string(),
                cost.total.bytes.to_string(),
                cost.repositories.to_string(),
                cost.forks.to_string(),
                cost.kept.files.to_string(),
                b.warnings.to_string(),
            ],
            None => vec![
                format!("`{}`", b.info.name),
                format!("cannot plan: {}", b.error.as_deref().unwrap_or("?")),
            ],
        })
        .collect();
    table(
        &mut out,
        &["Backend", "Files", "Lines", "Bytes", "Repositories", "Forks", "Kept by hand", "Warnings"],
        &rows,
    );
    out.push_str("\n### FROM replacement\n\n");
    let rows: Vec<Vec<String>> = c
        .backends
        .iter()
        .map(|b| {
            let v = &b.verdicts;
            let list = |m: &std::collections::BTreeMap<&str, usize>| {
                m.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ")
            };
            vec![
                format!("`{}`", b.info.name),
                v.unchanged.to_string(),
                v.native.to_string(),
                v.fork.to_string(),
                v.cannot.to_string(),
                list(&v.by_mechanism),
                list(&v.by_limit),
            ]
        })
        .collect();
    table(&mut out, &["Backend", "Unchanged", "Native", "Fork", "Cannot", "How", "Why not"], &rows);
    contested(&mut out, c);
    runs(&mut out, c);
    if let Some(s) = sources {
        // Under this report's `##` heading: its headings go two levels down.
        out.push('\n');
        for line in s.to_markdown().lines() {
            if line.starts_with('#') {
                out.push_str("##");
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn contested(out: &mut String, c: &Comparison) {
    let names = backend_names(c);
    let list: Vec<_> = c.references.iter().filter(|r| r.contested()).collect();
    let _ = writeln!(out, "\n### References not expressed natively by every backend ({})\n", list.len());
    if c.references.is_empty() {
        out.push_str("No Dockerfile was read (offline, or the sources are unreachable), so there are no FROM verdicts.\n");
        return;
    }
    if list.is_empty() {
        out.push_str("None: every backend expresses every reference natively.\n");
        return;
    }
    let mut header = vec!["Component", "Line", "Reference"];
    header.extend(names.iter().copied());
    let rows: Vec<Vec<String>> = list
        .iter()
        .take(MAX_ROWS)
        .map(|r| {
            let mut cells = vec![r.component.clone(), r.line.to_string(), format!("`{}`", r.original)];
            cells.extend(
                names.iter().map(|n| r.verdicts.get(*n).map_or_else(|| "-".into(), |v| v.describe())),
            );
            cells
        })
        .collect();
    table(out, &header, &rows);
    if list.len() > MAX_ROWS {
        let _ = writeln!(out, "\n… {} more; see `okd compare --output json`.", list.len() - MAX_ROWS);
    }
}

fn runs(out: &mut String, c: &Comparison) {
    if c.runs.is_empty() && c.missing_runs.is_empty() {
        return;
    }
    out.push_str("\n### Runs\n\n");
    let rows: Vec<Vec<String>> = c
        .runs
        .iter()
        .map(|m| {
            vec![
                format!("`{}`", m.backend),
                format!("`{}`", m.run),
                duration(Some(m.makespan)),
                m.succeeded.to_string(),
                m.reused.to_string(),
                m.failed.to_string(),
                format!("{} ({})", duration(Some(m.critical_path_seconds)), m.critical_path.join(" → ")),
                duration(Some(m.bound)),
                percent(m.efficiency),
                duration(m.first_failure),
            ]
        })
        .collect();
    table(
        out,
        &[
            "Backend",
            "Run",
            "Makespan",
            "Built",
            "Reused",
            "Failed",
            "Critical path",
            "Bound",
            "Efficiency",
            "First failure",
        ],
        &rows,
    );
    for line in &c.missing_runs {
        let _ = writeln!(out, "\n- {line}");
    }
    if !c.digests.is_empty() {
        let differ = c.digests.iter().filter(|d| !d.agree).count();
        let _ = writeln!(
            out,
            "\n{} components were built by several backends with the same fingerprint: {} agree, {differ} differ.",
            c.digests.len(),
            c.digests.len() - differ
        );
    }
}
