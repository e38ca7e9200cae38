//! Inline SVG charts for the HTML report: horizontal bar charts and a run's Gantt chart. Sizes
//! are computed from the data; every text is escaped. Colours come from the page's CSS classes.

use std::fmt::Write;

use okd_core::compare::TimelineBar;

use super::html::escape;

/// Height of one Gantt row, pixels: 250 components stay about 3500 px tall.
pub const GANTT_ROW: f64 = 14.0;
const GANTT_WIDTH: f64 = 1100.0;
const GANTT_LABELS: f64 = 230.0;
const GANTT_AXIS: f64 = 24.0;
const BAR_ROW: f64 = 22.0;
const BAR_WIDTH: f64 = 720.0;
const BAR_LABELS: f64 = 160.0;
const BAR_VALUES: f64 = 130.0;

/// One bar of a bar chart: a label, its value (`None`: no bar, `text` says why) and the text
/// written after the bar.
#[derive(Debug, Clone)]
pub struct Bar {
    /// What the bar stands for.
    pub label: String,
    /// Its length.
    pub value: Option<f64>,
    /// Written after it.
    pub text: String,
}

/// `s` cut to `n` characters, with `…` when cut.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    s.chars().take(n.saturating_sub(1)).chain(std::iter::once('…')).collect()
}

/// A horizontal bar chart with one row per bar; `class` names the metric for styling.
pub fn bar_chart(name: &str, class: &str, bars: &[Bar]) -> String {
    let height = BAR_ROW * bars.len() as f64 + 8.0;
    let max = bars.iter().filter_map(|b| b.value).fold(0.0_f64, f64::max);
    let area = BAR_WIDTH - BAR_LABELS - BAR_VALUES;
    let mut out = format!(
        "<svg class=\"chart bars {}\" role=\"img\" aria-label=\"{}\" width=\"{BAR_WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {BAR_WIDTH} {height}\">",
        escape(class),
        escape(name)
    );
    for (i, b) in bars.iter().enumerate() {
        let y = 4.0 + BAR_ROW * i as f64;
        let mid = y + BAR_ROW / 2.0 + 4.0;
        let _ = write!(
            out,
            "<text class=\"label\" x=\"{:.1}\" y=\"{mid:.1}\" text-anchor=\"end\">{}</text>",
            BAR_LABELS - 8.0,
            escape(&cut(&b.label, 22))
        );
        let length = match b.value {
            Some(v) if max > 0.0 => (v / max * area).max(if v > 0.0 { 1.0 } else { 0.0 }),
            _ => 0.0,
        };
        if b.value.is_some() {
            let _ = write!(
                out,
                "<rect class=\"bar\" x=\"{BAR_LABELS}\" y=\"{:.1}\" width=\"{length:.1}\" height=\"{:.1}\">\
                 <title>{}: {}</title></rect>",
                y + 4.0,
                BAR_ROW - 8.0,
                escape(&b.label),
                escape(&b.text)
            );
        }
        let _ = write!(
            out,
            "<text class=\"value\" x=\"{:.1}\" y=\"{mid:.1}\">{}</text>",
            BAR_LABELS + length + 6.0,
            escape(&b.text)
        );
    }
    out.push_str("</svg>");
    out
}

/// A tick interval giving about eight ticks over `span` seconds.
fn tick_step(span: f64) -> f64 {
    const STEPS: [f64; 19] = [
        0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
        7200.0, 14400.0, 28800.0,
    ];
    let raw = span / 8.0;
    STEPS.into_iter().find(|s| *s >= raw).unwrap_or_else(|| (raw / 3600.0).ceil() * 3600.0)
}

/// A tick's label: `0.5s`, `45s`, `2m`, `2m30s`, `1h`, `1h30m`.
pub fn tick_label(t: f64, step: f64) -> String {
    if step < 1.0 {
        return format!("{t:.1}s");
    }
    let s = t.round() as u64;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, sec) => format!("{m}m{sec:02}s"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

/// A Gantt chart of `bars` (sorted by start): one row each, x in seconds from the run's start
/// up to `span`, coloured by outcome (`o-OUTCOME`), the critical path's bars with class
/// `critical`.
pub fn gantt(name: &str, bars: &[TimelineBar], span: f64) -> String {
    let span = bars.iter().map(|b| b.end).fold(span, f64::max).max(0.001);
    let mut order: Vec<&TimelineBar> = bars.iter().collect();
    order.sort_by(|a, b| a.start.total_cmp(&b.start).then_with(|| a.component.cmp(&b.component)));
    let height = GANTT_AXIS + GANTT_ROW * order.len() as f64 + 6.0;
    let area = GANTT_WIDTH - GANTT_LABELS - 20.0;
    let x = |t: f64| GANTT_LABELS + t / span * area;
    let mut out = format!(
        "<svg class=\"chart gantt\" role=\"img\" aria-label=\"{}\" width=\"{GANTT_WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {GANTT_WIDTH} {height}\">",
        escape(name)
    );
    let step = tick_step(span);
    let mut t = 0.0;
    while t <= span + step * 1e-6 {
        let _ = write!(
            out,
            "<line class=\"tick\" x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1}\" y2=\"{height}\"/>\
             <text class=\"tick-label\" x=\"{0:.1}\" y=\"{2}\" text-anchor=\"middle\">{3}</text>",
            x(t),
            GANTT_AXIS - 6.0,
            GANTT_AXIS - 10.0,
            tick_label(t, step)
        );
        t += step;
    }
    for (i, b) in order.iter().enumerate() {
        let y = GANTT_AXIS + GANTT_ROW * i as f64;
        let critical = if b.critical { " critical" } else { "" };
        let width = (x(b.end) - x(b.start)).max(1.0);
        let outcome = b.outcome.as_str();
        let _ = write!(
            out,
            "<text class=\"label{critical}\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect class=\"gantt-bar o-{outcome}{critical}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{width:.1}\" \
             height=\"{:.1}\"><title>{}: {outcome}, {} to {} ({}){}</title></rect>",
            GANTT_LABELS - 6.0,
            y + GANTT_ROW - 3.0,
            escape(&cut(&b.component, 34)),
            x(b.start),
            y + 2.0,
            GANTT_ROW - 4.0,
            escape(&b.component),
            super::duration(Some(b.start)),
            super::duration(Some(b.end)),
            super::duration(Some(b.end - b.start)),
            if b.critical { ", on the critical path" } else { "" }
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_labelled_in_units() {
        assert_eq!(tick_step(100.0), 15.0);
        assert_eq!(tick_step(3.0), 0.5);
        assert_eq!(tick_label(90.0, 30.0), "1m30s");
        assert_eq!(tick_label(120.0, 60.0), "2m");
        assert_eq!(tick_label(5400.0, 900.0), "1h30m");
        assert_eq!(tick_label(0.5, 0.5), "0.5s");
        assert_eq!(cut("abcdef", 4), "abc…");
    }

    #[test]
    fn bars_scale_to_the_largest_and_missing_values_have_no_bar() {
        let bars = [
            Bar { label: "a".into(), value: Some(10.0), text: "10".into() },
            Bar { label: "b".into(), value: Some(5.0), text: "5".into() },
            Bar { label: "<c>".into(), value: None, text: "cannot plan".into() },
        ];
        let svg = bar_chart("files", "files", &bars);
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("width=\"430.0\"") && svg.contains("width=\"215.0\""), "{svg}");
        assert!(svg.contains("&lt;c&gt;") && !svg.contains("<c>"));
    }
}
