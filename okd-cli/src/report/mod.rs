//! The reports of `okd compare`: a terminal table, Markdown for a pull request or an issue, and
//! one self-contained HTML page. JSON is the comparison serialised as it is (docs/compare.md).

pub mod html;
pub mod markdown;
pub mod svg;
pub mod table;

use okd_core::compare::Comparison;

/// Rows of the FROM table the text reports show before pointing at JSON.
pub const MAX_ROWS: usize = 20;

/// Seconds as `1m05s`, `12.3s`, `-`.
pub fn duration(seconds: Option<f64>) -> String {
    match seconds {
        None => "-".into(),
        Some(s) if s >= 60.0 => format!("{}m{:02}s", (s / 60.0).floor() as u64, (s % 60.0).round() as u64),
        Some(s) => format!("{s:.1}s"),
    }
}

/// `0.83` as `83%`, or `-`.
pub fn percent(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "-".into(), |r| format!("{:.0}%", r * 100.0))
}

/// The backends in the comparison's order, for column headers.
pub fn backend_names(c: &Comparison) -> Vec<&'static str> {
    c.backends.iter().map(|b| b.info.name).collect()
}
