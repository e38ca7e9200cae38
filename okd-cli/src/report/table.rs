//! `okd compare` for the terminal: sections of aligned columns that fit 100 columns; long lists
//! stop after [`MAX_ROWS`] with a pointer to `--output json`.

use okd_core::{
    backend::Verdict,
    compare::{Comparison, sources::SourcesComparison},
};

use super::{MAX_ROWS, backend_names, duration, percent};
use crate::output::{capability_names, columns};

/// The widest a line gets.
pub const WIDTH: usize = 100;

/// `s` cut to `n` characters, with `…` when cut.
pub fn fit(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

/// One letter per verdict, so six backends fit a line: `=` unchanged, `N` native, `F` fork,
/// `X` cannot, `?` no verdict.
fn letter(v: Option<&Verdict>) -> &'static str {
    match v {
        None => "?",
        Some(Verdict::Unchanged) => "=",
        Some(Verdict::Native { .. }) => "N",
        Some(Verdict::Fork { .. }) => "F",
        Some(Verdict::Cannot { .. }) => "X",
    }
}

/// The whole report.
pub fn comparison(c: &Comparison, sources: Option<&SourcesComparison>) -> String {
    let r = &c.release;
    let mut out = format!(
        "{} {}: {} backends; {} components, {} Dockerfiles read, {} references\n",
        r.name,
        r.version,
        c.backends.len(),
        r.components,
        r.read,
        r.references
    );
    out.push_str("\nAPPROACH\n");
    let mut rows = vec![row(&["BACKEND", "MATURITY", "TRIGGER", "BUILT SO FAR"])];
    for b in &c.backends {
        let can = capability_names(&b.info.capabilities);
        rows.push(vec![
            b.info.name.to_owned(),
            b.info.maturity.as_str().to_owned(),
            b.info.approach.trigger_model.as_str().to_owned(),
            if can.is_empty() { "-".into() } else { can.join(",") },
        ]);
    }
    out.push_str(&fit_lines(&columns(&rows)));
    out.push_str("Developer feedback:\n");
    for b in &c.backends {
        out.push_str(&fit_lines(&format!("  {:<17} {}", b.info.name, b.info.approach.developer_feedback)));
    }
    out.push_str("\nCONFIGURATION (what `okd render` writes)\n");
    let mut rows = vec![row(&["BACKEND", "FILES", "LINES", "BYTES", "REPOS", "FORKS", "KEPT", "WARNINGS"])];
    for b in &c.backends {
        let mut cells = vec![b.info.name.to_owned()];
        match &b.cost {
            Some(cost) => cells.extend([
                cost.total.files.to_string(),
                cost.total.lines.to_string(),
                cost.total.bytes.to_string(),
                cost.repositories.to_string(),
                cost.forks.to_string(),
                cost.kept.files.to_string(),
                b.warnings.to_string(),
            ]),
            None => cells.push(format!("cannot plan: {}", b.error.as_deref().unwrap_or("?"))),
        }
        rows.push(cells);
    }
    out.push_str(&fit_lines(&columns(&rows)));
    out.push_str("\nFROM REPLACEMENT (per reference: native, fork of the Dockerfile, or cannot)\n");
    let mut rows = vec![row(&["BACKEND", "UNCHANGED", "NATIVE", "FORK", "CANNOT", "HOW / WHY NOT"])];
    for b in &c.backends {
        let v = &b.verdicts;
        let how: Vec<String> = v
            .by_mechanism
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .chain(v.by_limit.iter().map(|(k, n)| format!("{k} {n}")))
            .collect();
        rows.push(vec![
            b.info.name.to_owned(),
            v.unchanged.to_string(),
            v.native.to_string(),
            v.fork.to_string(),
            v.cannot.to_string(),
            if how.is_empty() { "-".into() } else { how.join(", ") },
        ]);
    }
    out.push_str(&fit_lines(&columns(&rows)));
    out.push_str(&contested(c));
    out.push_str(&runs(c));
    if let Some(s) = sources {
        out.push_str("\nSOURCES\n");
        out.push_str(&s.to_table());
    }
    fit_lines(&out)
}

/// The references some backend needs a fork for or cannot express.
fn contested(c: &Comparison) -> String {
    let names = backend_names(c);
    let list: Vec<_> = c.references.iter().filter(|r| r.contested()).collect();
    if c.references.is_empty() {
        return "\nNo Dockerfile was read (offline, or the sources are unreachable), so there are no FROM verdicts.\n"
            .into();
    }
    if list.is_empty() {
        return "\nEvery backend expresses every reference natively.\n".into();
    }
    let legend: Vec<String> = names.iter().map(|n| format!("{}={n}", abbreviate(n))).collect();
    let mut out = format!(
        "\nREFERENCES NOT EXPRESSED NATIVELY BY EVERY BACKEND: {} (N native, F fork, X cannot, = unchanged)\n{}\n",
        list.len(),
        fit(&legend.join(" "), WIDTH)
    );
    let mut header = row(&["COMPONENT", "LINE", "REFERENCE"]);
    header.extend(names.iter().map(|n| abbreviate(n)));
    let mut rows = vec![header];
    for r in list.iter().take(MAX_ROWS) {
        let mut cells = vec![fit(&r.component, 24), r.line.to_string(), fit(&r.original, 44)];
        cells.extend(names.iter().map(|n| letter(r.verdicts.get(*n)).to_owned()));
        rows.push(cells);
    }
    out.push_str(&fit_lines(&columns(&rows)));
    if list.len() > MAX_ROWS {
        out.push_str(&format!("... {} more; see --output json\n", list.len() - MAX_ROWS));
    }
    out
}

/// A backend name short enough for a one-letter column: `payload-pipeline` → `pp`, `local` → `lo`.
fn abbreviate(name: &str) -> String {
    if name.contains('-') {
        return name.split('-').filter_map(|w| w.chars().next()).collect();
    }
    name.chars().take(2).collect()
}

fn runs(c: &Comparison) -> String {
    let mut out = String::new();
    if c.runs.is_empty() && c.missing_runs.is_empty() {
        return out;
    }
    out.push_str("\nRUNS\n");
    let mut rows = vec![row(&[
        "BACKEND", "MAKESPAN", "BUILT", "REUSED", "FAILED", "CRITICAL", "BOUND", "EFFIC.", "1ST FAIL",
        "REQ/COMP",
    ])];
    for m in &c.runs {
        rows.push(vec![
            m.backend.clone(),
            duration(Some(m.makespan)),
            m.succeeded.to_string(),
            m.reused.to_string(),
            m.failed.to_string(),
            duration(Some(m.critical_path_seconds)),
            duration(Some(m.bound)),
            percent(m.efficiency),
            duration(m.first_failure),
            m.api_requests_per_component.map_or_else(|| "-".into(), |n| format!("{n:.2}")),
        ]);
    }
    out.push_str(&fit_lines(&columns(&rows)));
    for m in c.runs.iter().filter(|m| !m.critical_path.is_empty()) {
        out.push_str(&fit(
            &format!("  {} critical path: {}\n", m.backend, m.critical_path.join(" -> ")),
            WIDTH,
        ));
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    for line in &c.missing_runs {
        out.push_str(&format!("  {line}\n"));
    }
    let disagree = c.digests.iter().filter(|d| !d.agree).count();
    if !c.digests.is_empty() {
        out.push_str(&format!(
            "  digests: {} components built by several backends with the same fingerprint; {} agree, {disagree} differ\n",
            c.digests.len(),
            c.digests.len() - disagree
        ));
    }
    out
}

/// Every line cut to [`WIDTH`].
fn fit_lines(text: &str) -> String {
    text.lines().map(|l| fit(l, WIDTH) + "\n").collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_with_an_ellipsis_and_keeps_short_text() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        assert_eq!(abbreviate("payload-pipeline"), "pp");
        assert_eq!(abbreviate("doozer-konflux"), "dk");
        assert_eq!(abbreviate("local"), "lo");
    }
}
