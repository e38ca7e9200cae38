//! Everything the CLI prints: JSON and YAML views, and the human tables.

use std::{
    collections::HashMap,
    io::Write,
    path::{Path, PathBuf},
};

use okd_core::{
    Error, ErrorKind, Location, Result,
    backend::{BackendInfo, BackendPlan},
    dockerfile::{Dockerfile, RefTarget},
    plan::{Plan, PlannedComponent, PlannedSource},
};
use serde::Serialize;

/// Writes `text` to stdout in one go. A closed pipe (`okd plan | head`) is not an error.
pub fn print(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::new(ErrorKind::Internal, "cannot write to standard output").with_source(e))
        }
        _ => Ok(()),
    }
}

/// Says on stderr what the backend could not express (`warning: FILE:LINE: message`, as
/// compilers do). Under `--strict` any warning is an error, before anything is written or built.
pub fn backend_warnings(plan: &BackendPlan, strict: bool) -> Result<()> {
    let mut stderr = std::io::stderr().lock();
    for w in &plan.warnings {
        let _ = writeln!(stderr, "warning: {w}");
    }
    if strict && !plan.warnings.is_empty() {
        return Err(Error::invalid(format!(
            "--strict: {} cannot express {} of the release ({} warning{} above)",
            plan.backend,
            if plan.warnings.len() == 1 { "a part" } else { "parts" },
            plan.warnings.len(),
            if plan.warnings.len() == 1 { "" } else { "s" },
        ))
        .with_help("fix what each warning names, or drop --strict to go on without it"));
    }
    Ok(())
}

/// Pretty JSON with a trailing newline.
pub fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| Error::new(ErrorKind::Internal, "cannot encode JSON").with_source(e))
}

/// YAML of the same data as [`to_json`].
pub fn to_yaml<T: Serialize>(value: &T) -> Result<String> {
    let json = serde_json::to_value(value)
        .map_err(|e| Error::new(ErrorKind::Internal, "cannot encode").with_source(e))?;
    serde_saphyr::to_string(&json)
        .map_err(|e| Error::new(ErrorKind::Internal, "cannot encode YAML").with_source(e))
}

/// Replaces `path` with `text` through a temporary file and a rename, so readers never see a
/// half-written file.
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp: PathBuf = dir.join(format!(".{name}.okd-tmp-{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, "write", e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, "replace", e)
    })
}

/// Fingerprints by component from a plan saved with `--output json`.
pub fn read_previous_plan(path: &Path) -> Result<HashMap<String, Option<String>>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::io(path, "read the earlier plan", e)
            .with_help("pass a file written by `okd plan --output json`")
    })?;
    #[derive(serde::Deserialize)]
    struct Saved {
        components: Vec<SavedComponent>,
    }
    #[derive(serde::Deserialize)]
    struct SavedComponent {
        name: String,
        fingerprint: Option<String>,
    }
    let saved: Saved = serde_json::from_str(&text).map_err(|e| {
        Error::invalid_at(
            Location::new(path, e.line() as u32, e.column() as u32),
            format!("not a saved plan: {e}"),
            "pass a file written by `okd plan --output json`",
        )
    })?;
    Ok(saved.components.into_iter().map(|c| (c.name, c.fingerprint)).collect())
}

/// The plan as printed: the core plan, the backend's artifacts and, with `--compare`, what has
/// to be rebuilt.
#[derive(Debug, Serialize)]
pub struct PlanView<'a> {
    release: ReleaseView<'a>,
    backend: Option<&'a str>,
    components: Vec<ComponentView<'a>>,
    critical_path: &'a [String],
    unreadable: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    artifacts: Option<Vec<ArtifactView<'a>>>,
}

#[derive(Debug, Serialize)]
struct ReleaseView<'a> {
    name: &'a str,
    version: String,
    variant: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct ComponentView<'a> {
    #[serde(flatten)]
    component: &'a PlannedComponent,
    #[serde(skip_serializing_if = "Option::is_none")]
    rebuild: Option<bool>,
}

#[derive(Debug, Serialize)]
struct ArtifactView<'a> {
    repository: Option<&'a str>,
    path: &'a str,
    components: &'a [String],
    content: &'a str,
}

impl<'a> PlanView<'a> {
    /// The view of `plan`.
    pub fn new(
        plan: &'a Plan,
        backend: Option<&'a str>,
        backend_plan: Option<&'a BackendPlan>,
        previous: Option<&HashMap<String, Option<String>>>,
    ) -> Self {
        let release = &plan.release;
        PlanView {
            release: ReleaseView {
                name: &release.name,
                version: release.version.to_string(),
                variant: release.variant.as_deref(),
            },
            backend,
            components: plan
                .components
                .iter()
                .map(|c| ComponentView {
                    component: c,
                    rebuild: previous
                        .map(|p| c.fingerprint.is_none() || p.get(&c.name) != Some(&c.fingerprint)),
                })
                .collect(),
            critical_path: &plan.critical_path,
            unreadable: plan.unreadable().map(|c| c.name.as_str()).collect(),
            artifacts: backend_plan.map(|b| {
                b.artifacts
                    .iter()
                    .map(|a| ArtifactView {
                        repository: a.repository.as_deref(),
                        path: &a.path,
                        components: &a.components,
                        content: &a.content,
                    })
                    .collect()
            }),
        }
    }
}

/// Left-aligned columns, two spaces apart, like kubectl.
/// Rows as aligned columns, two spaces apart; the last column is not padded.
pub(crate) fn columns(rows: &[Vec<String>]) -> String {
    let mut widths = vec![0; rows.iter().map(Vec::len).max().unwrap_or(0)];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let last = row.len().saturating_sub(1);
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                out.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.push('\n');
    }
    out
}

fn short(fingerprint: &Option<String>) -> String {
    match fingerprint {
        Some(fp) => fp.chars().take(19).collect(),
        None => "-".to_owned(),
    }
}

fn source_text(source: &PlannedSource) -> String {
    match source {
        PlannedSource::Commit { url, commit, .. } => format!("{url}@{}", &commit[..commit.len().min(12)]),
        PlannedSource::Path { path, .. } => path.clone(),
        PlannedSource::Unreadable { .. } => "(not read)".to_owned(),
    }
}

/// The human view of a plan.
pub fn plan_table(view: &PlanView<'_>) -> String {
    let levels = view.components.iter().map(|c| c.component.level + 1).max().unwrap_or(0);
    let variant = view.release.variant.map(|v| format!(" (variant {v})")).unwrap_or_default();
    let mut out = format!(
        "Release {} {}{variant}: {} components in {levels} levels\n\n",
        view.release.name,
        view.release.version,
        view.components.len()
    );
    let compare = view.components.iter().any(|c| c.rebuild.is_some());
    let mut rows = vec![
        ["COMPONENT", "LEVEL", "DEPENDS ON", "SOURCE", "FINGERPRINT"]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    ];
    if compare {
        rows[0].push("REBUILD".to_owned());
    }
    for c in &view.components {
        let p = c.component;
        let mut row = vec![
            p.name.clone(),
            p.level.to_string(),
            if p.depends_on.is_empty() { "-".to_owned() } else { p.depends_on.join(",") },
            source_text(&p.source),
            short(&p.fingerprint),
        ];
        if let Some(rebuild) = c.rebuild {
            row.push(if rebuild { "yes" } else { "no" }.to_owned());
        }
        rows.push(row);
    }
    out.push_str(&columns(&rows));
    out.push_str("\nFROM resolution (line, reference, rule):\n");
    for c in &view.components {
        let p = c.component;
        out.push_str(&format!("  {} ({})\n", p.name, p.dockerfile));
        if p.stages.is_empty() {
            out.push_str("    source not read: only `from`/`last_from` were used\n");
        }
        for s in &p.stages {
            let target = s.target.as_ref().map(|t| format!(" {t}")).unwrap_or_default();
            let kind = kind_text(s.kind);
            if s.changes() {
                out.push_str(&format!(
                    "    {:>3}  {kind:<11} {}\n                     -> {}  [{}{target}]\n",
                    s.line,
                    s.original,
                    s.resolved,
                    s.rule.as_str()
                ));
            } else {
                out.push_str(&format!(
                    "    {:>3}  {kind:<11} {}  [{}{target}]\n",
                    s.line,
                    s.original,
                    s.rule.as_str()
                ));
            }
        }
    }
    out.push_str(&format!(
        "\nCritical path: {} ({} builds)\n",
        view.critical_path.join(" -> "),
        view.critical_path.len()
    ));
    if let Some(artifacts) = &view.artifacts {
        out.push_str(&format!("\nBackend {}: {} files\n", view.backend.unwrap_or("-"), artifacts.len()));
        for a in artifacts {
            out.push_str(&format!("  {}/{}\n", a.repository.unwrap_or("_"), a.path));
        }
    }
    if !view.unreadable.is_empty() {
        out.push_str(&format!("\nSources not read (offline): {}\n", view.unreadable.join(", ")));
    }
    out
}

/// The human view of `okd backends`.
/// The capabilities a backend claims, by their short names.
pub(crate) fn capability_names(c: &okd_core::backend::Capabilities) -> Vec<&'static str> {
    [
        (c.only_if_changed, "reuse"),
        (c.cancel, "cancel"),
        (c.status_after_restart, "status"),
        (c.local_reproduction, "local"),
        (c.multi_arch, "multi-arch"),
        (c.kubernetes, "kubernetes"),
    ]
    .into_iter()
    .filter_map(|(has, name)| has.then_some(name))
    .collect()
}

pub fn backends_table(infos: &[BackendInfo]) -> String {
    let mut rows = vec![
        ["NAME", "MATURITY", "TRIGGER", "FILES/REPO", "BUILT SO FAR", "SUMMARY"]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    ];
    for info in infos {
        let (c, a) = (&info.capabilities, &info.approach);
        let can = capability_names(c);
        rows.push(vec![
            info.name.to_owned(),
            info.maturity.as_str().to_owned(),
            a.trigger_model.as_str().to_owned(),
            a.configs_touched_per_repo.to_string(),
            if can.is_empty() { "-".to_owned() } else { can.join(",") },
            info.summary.to_owned(),
        ]);
    }
    let mut out = columns(&rows);
    out.push_str("\nFROM replacement:\n");
    for info in infos {
        out.push_str(&format!("  {:<17} {}\n", info.name, info.approach.from_replacement));
    }
    out.push_str(
        "\nBUILT SO FAR: what okd-build's implementation of each does today (its capabilities).\n\
         `okd backends --output json` lists every capability and the whole approach.\n",
    );
    out
}

#[derive(Debug, Serialize)]
pub struct RefView<'a> {
    line: u32,
    column: u32,
    kind: okd_core::dockerfile::RefKind,
    stage: usize,
    /// As written (`original`, as `okd plan` calls it).
    original: &'a str,
    expanded: &'a str,
    target: String,
}

/// How a reference kind reads in a table: as the instruction that carries it.
fn kind_text(kind: okd_core::dockerfile::RefKind) -> &'static str {
    use okd_core::dockerfile::RefKind;
    match kind {
        RefKind::From => "FROM",
        RefKind::CopyFrom => "COPY --from",
        RefKind::AddFrom => "ADD --from",
        RefKind::MountFrom => "RUN --mount",
    }
}

fn target_text(target: &RefTarget) -> String {
    match target {
        RefTarget::Stage(i) => format!("stage {i}"),
        RefTarget::Scratch => "scratch".to_owned(),
        RefTarget::Image => "image".to_owned(),
    }
}

/// The references of a Dockerfile as data.
pub fn refs_view(parsed: &Dockerfile) -> Vec<RefView<'_>> {
    parsed
        .refs
        .iter()
        .map(|r| RefView {
            line: r.line,
            column: r.column,
            kind: r.kind,
            stage: r.stage,
            original: &r.raw,
            expanded: &r.expanded,
            target: target_text(&r.target),
        })
        .collect()
}

/// The references of a Dockerfile as a table.
pub fn refs_table(parsed: &Dockerfile) -> String {
    let mut rows = vec![
        ["LINE", "KIND", "STAGE", "TARGET", "REFERENCE"].iter().map(|s| s.to_string()).collect::<Vec<_>>(),
    ];
    for r in refs_view(parsed) {
        let kind = kind_text(r.kind).to_owned();
        let reference = if r.original == r.expanded {
            r.original.to_owned()
        } else {
            format!("{} (expands to {})", r.original, r.expanded)
        };
        rows.push(vec![r.line.to_string(), kind, r.stage.to_string(), r.target, reference]);
    }
    columns(&rows)
}

/// Writes an imported manifest (to `out` atomically, else stdout), or with `json` the import
/// report on stdout (the manifest in it unless `out`), then each warning with file and line and
/// the summary line on stderr: stdout carries only what a program reads.
pub fn finish_import<T: Serialize>(
    import: &T,
    manifest: &str,
    warnings: &[okd_core::Warning],
    summary: String,
    json: bool,
    out: Option<std::path::PathBuf>,
) -> Result<u8> {
    let mut report = String::new();
    for w in warnings {
        report.push_str(&format!("warning: {w}\n"));
    }
    report.push_str(&summary);
    report.push('\n');
    if let Some(path) = &out {
        write_atomically(path, manifest)?;
    }
    if json {
        let mut value = serde_json::to_value(import).map_err(|e| {
            okd_core::Error::new(okd_core::ErrorKind::Internal, "cannot encode the import report")
                .with_source(e)
        })?;
        if out.is_none() {
            value["manifest"] = serde_json::Value::String(manifest.to_owned());
        }
        print(&to_json(&value)?)?;
    } else if out.is_none() {
        print(manifest)?;
    }
    eprint!("{report}");
    Ok(0)
}
