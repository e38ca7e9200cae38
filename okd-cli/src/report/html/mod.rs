//! `okd compare --output html`: one self-contained page a team can open or attach. Inline CSS
//! and SVG, one small inline script for the FROM table's filters (the page reads the same with
//! scripting off: the whole table shows), nothing fetched. Every text from the data is escaped,
//! and nothing depends on the time the page is made.

use std::fmt::Write;

use okd_core::{
    backend::Verdict,
    compare::{BackendColumn, Comparison, ConfigCost, RunMetrics, sources::SourcesComparison},
    dockerfile::RefKind,
};

use super::{
    backend_names, duration, percent,
    svg::{self, Bar},
};

/// `s` with `&`, `<`, `>`, `"` and `'` escaped, for text and attribute values alike.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;padding:1em 2em;max-width:1500px;color:#1d1d1f;background:#fff}
h1{font-size:1.6em;margin:.2em 0}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.6em}h3{font-size:1.05em;margin:1.2em 0 .4em}
nav a{margin-right:1em}code{font:12px ui-monospace,monospace;word-break:break-all}.muted{color:#666}
table{border-collapse:collapse;margin:.4em 0 1em}th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f4f4f6;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.yes{color:#1a7f37;text-align:center;font-weight:bold}td.no{color:#aaa;text-align:center}
.wide{overflow-x:auto}.v-unchanged{background:#f6f6f6;color:#666}.v-native{background:#dcf3dc}.v-fork{background:#fdebb8}
.v-cannot{background:#f8cdc9}.v-none{color:#aaa}tr.contested td:first-child{border-left:3px solid #c8423b}
.filters{background:#f4f4f6;padding:.5em .8em;border-radius:4px;margin:.5em 0}.filters label{margin-right:1.2em;white-space:nowrap}
[hidden]{display:none!important}figure{margin:.4em 0 1em}.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(600px,1fr));gap:0 2em}figcaption{font-weight:600}
svg.chart{display:block;max-width:100%;height:auto;font:11px system-ui,sans-serif}svg .label{fill:#333}svg .value{fill:#555}
svg.bars .bar{fill:#4a78b5}svg.bars.forks .bar{fill:#d08a1e}svg .tick{stroke:#e3e3e3}svg .tick-label{fill:#666}
.o-succeeded{fill:#3a8f4b}.o-reused{fill:#8fb8de}.o-failed{fill:#c8423b}.o-skipped{fill:#bbb}.o-cancelled{fill:#e0a030}
rect.critical{stroke:#111;stroke-width:2.5}text.critical{font-weight:bold}
.legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:middle}
.legend i.o-succeeded{background:#3a8f4b}.legend i.o-reused{background:#8fb8de}.legend i.o-failed{background:#c8423b}
.legend i.o-skipped{background:#bbb}.legend i.o-cancelled{background:#e0a030}.legend i.critical{border:2.5px solid #111;width:8px;height:6px}
.agree{color:#1a7f37}.differ{color:#c8423b;font-weight:bold}
";

/// Shows the filters and hides the rows they rule out; without it every row shows.
const SCRIPT: &str = "(function(){var f=document.getElementById('filters');if(!f)return;f.hidden=false;
var rows=Array.prototype.slice.call(document.querySelectorAll('#verdicts tbody tr'));
var selects=Array.prototype.slice.call(f.querySelectorAll('select'));var only=document.getElementById('only-contested');
var shown=document.getElementById('shown');
function apply(){var n=0;rows.forEach(function(r){var ok=!only.checked||r.getAttribute('data-contested')==='1';
selects.forEach(function(s){var want=s.value;if(!want)return;var v=r.getAttribute('data-v'+s.getAttribute('data-col'))||'none';
if(want==='fork-or-cannot'?(v!=='fork'&&v!=='cannot'):v!==want)ok=false;});r.hidden=!ok;if(ok)n++;});
shown.textContent=n+' of '+rows.length+' references shown';}
f.addEventListener('change',apply);apply();})();";

/// The page: the comparison's sections, then the sources comparison when given.
pub fn page(comparison: Option<&Comparison>, sources: Option<&SourcesComparison>) -> String {
    let title = match comparison {
        Some(c) => format!("Build approaches for {} {}", c.release.name, c.release.version),
        None => "Sources comparison".to_owned(),
    };
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{0}</title>\n\
         <style>{CSS}</style>\n</head>\n<body>\n<header>\n<h1>{0}</h1>\n",
        escape(&title)
    );
    let mut sections: Vec<(&str, &str)> = Vec::new();
    if let Some(c) = comparison {
        let r = &c.release;
        let _ = writeln!(
            out,
            "<p>{} components ({} Dockerfiles read), {} FROM/--from references, {} backends. \
             Manifest: <code>{}</code>.</p>",
            r.components,
            r.read,
            r.references,
            c.backends.len(),
            escape(&r.path)
        );
        sections.extend([
            ("approach", "Approach"),
            ("cost", "Configuration cost"),
            ("references", "FROM verdicts"),
            ("runs", "Runs"),
        ]);
    }
    if sources.is_some() {
        sections.push(("sources", "Sources"));
    }
    out.push_str("<nav>");
    for (id, name) in &sections {
        let _ = write!(out, "<a href=\"#{id}\">{name}</a>");
    }
    out.push_str("</nav>\n</header>\n");
    if let Some(c) = comparison {
        approach(&mut out, c);
        cost(&mut out, c);
        references(&mut out, c);
        runs(&mut out, c);
    }
    if let Some(s) = sources {
        sources_section(&mut out, s);
    }
    if comparison.is_some_and(|c| !c.references.is_empty()) {
        let _ = writeln!(out, "<script>{SCRIPT}</script>");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// A table: header cells as given (already HTML), rows of cells as given (already HTML).
fn table(out: &mut String, id: Option<&str>, header: &[String], rows: impl IntoIterator<Item = String>) {
    out.push_str("<div class=\"wide\"><table");
    if let Some(id) = id {
        let _ = write!(out, " id=\"{id}\"");
    }
    out.push_str("><thead><tr>");
    for h in header {
        let _ = write!(out, "<th>{h}</th>");
    }
    out.push_str("</tr></thead><tbody>\n");
    for r in rows {
        out.push_str(&r);
        out.push('\n');
    }
    out.push_str("</tbody></table></div>\n");
}

fn td(text: &str) -> String {
    format!("<td>{}</td>", escape(text))
}

fn num(n: impl std::fmt::Display) -> String {
    format!("<td class=\"num\">{n}</td>")
}

fn heads(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| escape(n)).collect()
}

fn approach(out: &mut String, c: &Comparison) {
    out.push_str("<section id=\"approach\">\n<h2>Approach</h2>\n");
    out.push_str(
        "<p class=\"muted\">What each backend's implementation can do (✓) or not yet (–), and the \
         approach it stands for.</p>\n",
    );
    let caps = [
        "multi-arch",
        "local reproduction",
        "only if changed",
        "cancel",
        "status after restart",
        "kubernetes",
    ];
    let mut header = heads(&["Backend", "Maturity", "Trigger"]);
    header.extend(heads(&caps));
    header.extend(heads(&["Source of truth", "FROM replacement", "Developer feedback"]));
    let rows = c.backends.iter().map(|b| {
        let (i, a, k) = (&b.info, &b.info.approach, &b.info.capabilities);
        let mut row = format!(
            "<tr><td><b>{}</b><br><span class=\"muted\">{}</span></td>{}{}",
            escape(i.name),
            escape(i.summary),
            td(i.maturity.as_str()),
            td(a.trigger_model.as_str())
        );
        for has in [
            k.multi_arch,
            k.local_reproduction,
            k.only_if_changed,
            k.cancel,
            k.status_after_restart,
            k.kubernetes,
        ] {
            row.push_str(if has { "<td class=\"yes\">✓</td>" } else { "<td class=\"no\">–</td>" });
        }
        row + &td(a.source_of_truth) + &td(a.from_replacement) + &td(a.developer_feedback) + "</tr>"
    });
    table(out, Some("capabilities"), &header, rows);
    out.push_str("</section>\n");
}

/// A cost chart: CSS class, caption, the number.
type Metric = (&'static str, &'static str, fn(&ConfigCost) -> usize);

fn cost(out: &mut String, c: &Comparison) {
    out.push_str("<section id=\"cost\">\n<h2>Configuration cost</h2>\n");
    out.push_str(
        "<p class=\"muted\">What <code>okd render --backend B</code> writes for this release.</p>\n",
    );
    let metrics: [Metric; 4] = [
        ("files", "Files", |k| k.total.files),
        ("lines", "Lines", |k| k.total.lines),
        ("bytes", "Bytes", |k| k.total.bytes),
        ("forks", "Forked Dockerfiles", |k| k.forks),
    ];
    out.push_str("<div class=\"charts\">\n");
    for (class, name, metric) in metrics {
        let bars: Vec<Bar> = c
            .backends
            .iter()
            .map(|b| match &b.cost {
                Some(k) => Bar {
                    label: b.info.name.into(),
                    value: Some(metric(k) as f64),
                    text: metric(k).to_string(),
                },
                None => Bar { label: b.info.name.into(), value: None, text: "cannot plan".into() },
            })
            .collect();
        let _ = writeln!(
            out,
            "<figure><figcaption>{name}</figcaption>{}</figure>",
            svg::bar_chart(name, class, &bars)
        );
    }
    out.push_str("</div>\n");
    let header =
        heads(&["Backend", "Files", "Lines", "Bytes", "Repositories", "Forks", "Kept by hand", "Warnings"]);
    let rows = c.backends.iter().map(|b| match &b.cost {
        Some(k) => format!(
            "<tr>{}{}{}{}{}{}{}{}</tr>",
            td(b.info.name),
            num(k.total.files),
            num(k.total.lines),
            num(k.total.bytes),
            num(k.repositories),
            num(k.forks),
            num(k.kept.files),
            num(b.warnings)
        ),
        None => format!(
            "<tr>{}<td colspan=\"7\">cannot plan: {}</td></tr>",
            td(b.info.name),
            escape(b.error.as_deref().unwrap_or("?"))
        ),
    });
    table(out, None, &header, rows);
    for b in c.backends.iter().filter(|b| b.cost.is_some()) {
        per_repository(out, b);
    }
    out.push_str("</section>\n");
}

fn per_repository(out: &mut String, b: &BackendColumn) {
    let Some(k) = &b.cost else { return };
    let _ = writeln!(
        out,
        "<details><summary>{}: files per repository ({} files in {} repositories)</summary>",
        escape(b.info.name),
        k.total.files,
        k.repositories
    );
    let rows = k.by_repository.iter().map(|r| {
        format!(
            "<tr>{}{}{}{}{}</tr>",
            td(&r.repository),
            num(r.size.files),
            num(r.size.lines),
            num(r.size.bytes),
            num(r.forks)
        )
    });
    table(out, None, &heads(&["Repository", "Files", "Lines", "Bytes", "Forks"]), rows);
    out.push_str("</details>\n");
}

fn kind(k: RefKind) -> &'static str {
    match k {
        RefKind::From => "FROM",
        RefKind::CopyFrom => "COPY --from",
        RefKind::AddFrom => "ADD --from",
        RefKind::MountFrom => "RUN --mount",
    }
}

fn references(out: &mut String, c: &Comparison) {
    out.push_str("<section id=\"references\">\n<h2>FROM verdicts</h2>\n");
    out.push_str(
        "<p class=\"muted\">Per reference: <i>native</i> (the system's own configuration replaces it), \
         <i>fork</i> (only a forked Dockerfile says it), <i>cannot</i> (built as written), or \
         <i>unchanged</i> (nothing to replace).</p>\n",
    );
    let list = |m: &std::collections::BTreeMap<&str, usize>| {
        m.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ")
    };
    let rows = c.backends.iter().map(|b| {
        let v = &b.verdicts;
        format!(
            "<tr>{}{}{}{}{}{}{}</tr>",
            td(b.info.name),
            num(v.unchanged),
            num(v.native),
            num(v.fork),
            num(v.cannot),
            td(&list(&v.by_mechanism)),
            td(&list(&v.by_limit))
        )
    });
    table(
        out,
        Some("verdict-totals"),
        &heads(&["Backend", "Unchanged", "Native", "Fork", "Cannot", "How", "Why not"]),
        rows,
    );
    if c.references.is_empty() {
        out.push_str(
            "<p>No Dockerfile was read (offline, or the sources are unreachable), so there are no FROM \
             verdicts.</p>\n</section>\n",
        );
        return;
    }
    let names = backend_names(c);
    let contested = c.references.iter().filter(|r| r.contested()).count();
    let _ = writeln!(
        out,
        "<p>{} references; {contested} need a fork or cannot be expressed by some backend (marked at the left).</p>",
        c.references.len()
    );
    out.push_str(
        "<form id=\"filters\" class=\"filters\" hidden><label><input type=\"checkbox\" id=\"only-contested\"> \
         only contested rows</label>",
    );
    for (i, n) in names.iter().enumerate() {
        let _ = write!(
            out,
            "<label>{0}: <select data-col=\"{i}\" aria-label=\"show only what {0}\"><option value=\"\">any</option>\
             <option value=\"cannot\">cannot express</option><option value=\"fork\">needs a fork for</option>\
             <option value=\"fork-or-cannot\">fork or cannot</option><option value=\"native\">native</option>\
             </select></label>",
            escape(n)
        );
    }
    out.push_str(" <output id=\"shown\"></output></form>\n");
    let mut header = heads(&["Component", "Line", "Kind", "Reference", "Resolved", "Rule"]);
    header.extend(names.iter().map(|n| escape(n)));
    let rows = c.references.iter().map(|r| {
        let contested = r.contested();
        let mut row = format!(
            "<tr{} data-contested=\"{}\"",
            if contested { " class=\"contested\"" } else { "" },
            u8::from(contested)
        );
        for (i, n) in names.iter().enumerate() {
            let _ = write!(row, " data-v{i}=\"{}\"", r.verdicts.get(*n).map_or("none", Verdict::class));
        }
        let _ = write!(
            row,
            ">{}{}{}<td><code>{}</code></td><td><code>{}</code></td>{}",
            td(&r.component),
            num(r.line),
            td(kind(r.kind)),
            escape(&r.original),
            escape(&r.resolved),
            td(r.rule)
        );
        for n in &names {
            match r.verdicts.get(*n) {
                Some(v) => {
                    let _ = write!(row, "<td class=\"v v-{}\">{}</td>", v.class(), escape(&v.describe()));
                }
                None => row.push_str("<td class=\"v v-none\" title=\"no verdict: not mapped\">–</td>"),
            }
        }
        row + "</tr>"
    });
    table(out, Some("verdicts"), &header, rows);
    out.push_str("</section>\n");
}

fn runs(out: &mut String, c: &Comparison) {
    out.push_str("<section id=\"runs\">\n<h2>Runs</h2>\n");
    if c.runs.is_empty() {
        let _ = writeln!(
            out,
            "<p>No runs compared. To get them, build the release with each backend, then compare \
             with <code>--runs latest</code>:</p>\n<pre><code>okd build {0} --backend B\n\
             okd compare {0} --runs latest --output html</code></pre>",
            escape(&c.release.path)
        );
    }
    if !c.missing_runs.is_empty() {
        out.push_str("<p>Runs not found:</p>\n<ul>");
        for m in &c.missing_runs {
            let _ = write!(out, "<li>{}</li>", escape(m));
        }
        out.push_str("</ul>\n");
    }
    for m in &c.runs {
        run(out, m);
    }
    if !c.runs.is_empty() {
        out.push_str(
            "<p class=\"legend\"><span><i class=\"o-succeeded\"></i>succeeded</span><span><i class=\"o-reused\">\
             </i>reused</span><span><i class=\"o-failed\"></i>failed</span><span><i class=\"o-skipped\"></i>skipped\
             </span><span><i class=\"o-cancelled\"></i>cancelled</span><span><i class=\"critical\"></i>critical \
             path</span></p>\n",
        );
    }
    digests(out, c);
    out.push_str("</section>\n");
}

fn run(out: &mut String, m: &RunMetrics) {
    let _ = writeln!(
        out,
        "<h3>{} <code>{}</code></h3>\n<p>State {}, started {}: makespan {}; {} built, {} reused, {} failed, {} not \
         built; work {}; critical path {} ({}); bound {} at {} jobs; efficiency {}; first failure {}{}.</p>",
        escape(&m.backend),
        escape(&m.run.0),
        m.state.as_str(),
        format_args!("{:.0}", m.started),
        duration(Some(m.makespan)),
        m.succeeded,
        m.reused,
        m.failed,
        m.not_built,
        duration(Some(m.work)),
        duration(Some(m.critical_path_seconds)),
        escape(&m.critical_path.join(" → ")),
        duration(Some(m.bound)),
        m.jobs,
        percent(m.efficiency),
        duration(m.first_failure),
        m.api_requests_per_component
            .map_or_else(String::new, |n| format!("; {n:.2} API requests per component"))
    );
    if m.timeline.is_empty() {
        out.push_str("<p class=\"muted\">No component of this run has start and end times.</p>\n");
        return;
    }
    let name = format!("timeline of {} run {}", m.backend, m.run.0);
    let _ = writeln!(out, "<figure class=\"run\">{}</figure>", svg::gantt(&name, &m.timeline, m.makespan));
}

fn digests(out: &mut String, c: &Comparison) {
    if c.digests.is_empty() {
        if c.runs.len() > 1 {
            out.push_str("<p>No component was built by two of these runs with the same fingerprint.</p>\n");
        }
        return;
    }
    let differ = c.digests.iter().filter(|d| !d.agree).count();
    let _ = writeln!(
        out,
        "<h3>Digest agreement</h3>\n<p>{} components were built by several backends with the same \
         fingerprint: {} agree, {differ} differ.</p>",
        c.digests.len(),
        c.digests.len() - differ
    );
    let mut backends: Vec<&str> =
        c.digests.iter().flat_map(|d| d.digests.keys().map(String::as_str)).collect();
    backends.sort_unstable();
    backends.dedup();
    let mut header = heads(&["Component", "Fingerprint"]);
    header.extend(backends.iter().map(|b| escape(b)));
    header.push("Agree".into());
    let short = |s: &str| {
        let cut: String = s.chars().take(19).collect();
        format!("<td><code title=\"{}\">{}</code></td>", escape(s), escape(&cut))
    };
    let rows = c.digests.iter().map(|d| {
        let mut row = format!("<tr>{}{}", td(&d.component), short(&d.fingerprint));
        for b in &backends {
            row.push_str(&d.digests.get(*b).map_or_else(|| "<td>–</td>".into(), |x| short(x)));
        }
        let verdict = if d.agree { "<td class=\"agree\">✓</td>" } else { "<td class=\"differ\">✗</td>" };
        row + verdict + "</tr>"
    });
    table(out, Some("digests"), &header, rows);
}

fn sources_section(out: &mut String, s: &SourcesComparison) {
    let tag = |i: usize| format!("#{}", i + 1);
    let sum = &s.summary;
    let _ = writeln!(
        out,
        "<section id=\"sources\">\n<h2>Sources</h2>\n<p><b class=\"{0}\">{0}</b>: {1} components in {2} inputs, \
         {3} in every input, {4} missing from some, {5} differing.</p>",
        if sum.agree { "agree" } else { "differ" },
        sum.components,
        s.inputs.len(),
        sum.in_all,
        sum.only_in_some,
        sum.differing
    );
    let rows = s.inputs.iter().enumerate().map(|(i, x)| {
        format!(
            "<tr>{}{}{}{}{}{}</tr>",
            td(&tag(i)),
            td(&x.label),
            td(&x.release),
            td(&x.version),
            num(x.components),
            num(x.dockerfiles_read)
        )
    });
    let header = heads(&["#", "Input", "Release", "Version", "Components", "Dockerfiles read"]);
    table(out, Some("inputs"), &header, rows);
    let fields = okd_core::compare::sources::Field::ALL;
    let mut header = heads(&["Pair", "Common", "Only in first", "Only in second", "Differing"]);
    header.extend(fields.iter().map(|f| escape(f.as_str())));
    let rows = s.pairs.iter().map(|p| {
        let mut row = format!(
            "<tr>{}{}{}{}{}",
            td(&format!("{}–{}", tag(p.a), tag(p.b))),
            num(p.common),
            num(p.only_a),
            num(p.only_b),
            num(p.differing)
        );
        for f in &fields {
            row.push_str(&num(p.fields.get(f).copied().unwrap_or(0)));
        }
        row + "</tr>"
    });
    table(out, Some("pairs"), &header, rows);
    if !s.only_in.is_empty() {
        out.push_str("<h3>Only in some inputs</h3>\n");
        let rows = s.only_in.iter().map(|o| {
            let ins: Vec<String> = o.inputs.iter().map(|&i| tag(i)).collect();
            format!(
                "<tr>{}{}{}</tr>",
                td(&ins.join(", ")),
                num(o.components.len()),
                td(&o.components.join(", "))
            )
        });
        table(out, Some("only-in"), &heads(&["In", "Count", "Components"]), rows);
    }
    if !s.differences.is_empty() {
        out.push_str("<h3>Differences</h3>\n");
        let mut header = heads(&["Component", "Field"]);
        header.extend(s.inputs.iter().enumerate().map(|(i, x)| escape(&format!("{} {}", tag(i), x.label))));
        let rows = s.differences.iter().flat_map(|d| {
            d.fields.iter().map(move |f| {
                let mut row = format!("<tr>{}{}", td(&d.component), td(f.field.as_str()));
                for v in &f.values {
                    row.push_str(&v.as_ref().map_or_else(
                        || "<td class=\"muted\">(absent)</td>".into(),
                        |v| format!("<td><code>{}</code></td>", escape(v)),
                    ));
                }
                row + "</tr>"
            })
        });
        table(out, Some("differences"), &header, rows);
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests;
