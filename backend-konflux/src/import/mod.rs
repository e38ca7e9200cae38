//! `okd import tekton DIR`: a release manifest from existing `.tekton` PipelineRuns.
//!
//! Every YAML file under DIR is read; each PipelineRun becomes (part of) a component: its git
//! URL and branch, Dockerfile and context, build args, platforms and output image. The push run
//! of a component is its source of truth, its pull-request run must agree. Whatever a manifest
//! cannot carry (inline pipelines, hermetic builds, prefetch input, path filters, timeouts) is a
//! warning with the file and line, never dropped silently.

mod parse;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use okd_core::{
    Error, ErrorKind, Result,
    doozer::Warning,
    manifest::{LoadOptions, is_dns1123_label, load_str},
};
use serde::Serialize;

use crate::names::dns_label;
use parse::{Found, clip};

/// A component the import produced.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportedComponent {
    /// The component name (the Konflux component label).
    pub name: String,
    /// Its git URL.
    pub url: String,
    /// The PipelineRun files it came from.
    pub files: Vec<PathBuf>,
}

/// A YAML file (or document) that held no PipelineRun.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SkippedFile {
    /// The file.
    pub file: PathBuf,
    /// Why.
    pub reason: String,
}

/// The result of [`import_tekton`].
#[derive(Debug, Clone, Serialize)]
pub struct TektonImport {
    /// The release manifest, in okd-build's format.
    #[serde(skip)]
    pub manifest: String,
    /// YAML files read.
    pub files: usize,
    /// PipelineRuns read.
    pub pipelineruns: usize,
    /// Components made, in the order their first file was read.
    pub components: Vec<ImportedComponent>,
    /// Documents that were not PipelineRuns.
    pub skipped: Vec<SkippedFile>,
    /// What could not be mapped, each with its file and line.
    pub warnings: Vec<Warning>,
}

impl TektonImport {
    /// One line: what was read, made, skipped and warned about.
    pub fn summary(&self) -> String {
        format!(
            "{} YAML files: {} PipelineRuns -> {} components, {} other documents skipped, {} warnings",
            self.files,
            self.pipelineruns,
            self.components.len(),
            self.skipped.len(),
            self.warnings.len()
        )
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, "list", e))?
        .map(|e| e.map(|e| e.path()).map_err(|e| Error::io(dir, "list", e)))
        .collect::<Result<_>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != ".git") {
                yaml_files(&path, out)?;
            }
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

/// The repository root a `.tekton` file belongs to: the folder holding `.tekton/`, else the
/// file's own folder.
fn repo_root(file: &Path) -> Option<&Path> {
    let parent = file.parent()?;
    if parent.file_name().is_some_and(|n| n == ".tekton") { parent.parent() } else { Some(parent) }
}

/// Reads every PipelineRun under `dir` and reconstructs release-manifest components from them.
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`] (with file, line and column) for a file that is not valid YAML or
/// a PipelineRun of the wrong shape, and for a folder without any PipelineRun; IO errors for
/// what cannot be read.
pub fn import_tekton(dir: &Path) -> Result<TektonImport> {
    if !dir.is_dir() {
        return Err(Error::invalid(format!("{} is not a folder", dir.display()))
            .with_help("pass a repository's .tekton folder, a repository, or a tree of them"));
    }
    let mut files = Vec::new();
    yaml_files(dir, &mut files)?;
    let (mut runs, mut skipped) = (Vec::new(), Vec::new());
    for file in &files {
        let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, "read", e))?;
        let (found, others) = parse::read_file(file, &text, repo_root(file))?;
        runs.extend(found);
        skipped.extend(others.into_iter().map(|o| SkippedFile {
            file: file.clone(),
            reason: format!("kind {}, not a PipelineRun", o.kind),
        }));
    }
    if runs.is_empty() {
        return Err(Error::invalid(format!("no PipelineRun in any YAML file under {}", dir.display()))
            .with_help(
                "pass a folder with .tekton PipelineRuns (<component>-push.yaml, -pull-request.yaml)",
            ));
    }
    let pipelineruns = runs.len();
    // Runs are grouped by the component name they make, not by the label as written: Konflux
    // component names are DNS-1123 labels, so labels that differ only in case or in characters
    // a label cannot hold name the same component.
    let mut order: Vec<String> = Vec::new();
    let mut by_component: BTreeMap<String, Vec<Found>> = BTreeMap::new();
    for run in runs {
        let name = component_name(&run.component);
        if !by_component.contains_key(&name) {
            order.push(name.clone());
        }
        by_component.entry(name).or_default().push(run);
    }
    let mut warnings = Vec::new();
    let mut components = Vec::new();
    for name in order {
        let Some(found) = by_component.remove(&name).filter(|f| !f.is_empty()) else { continue };
        components.push(merge(&name, found, &mut warnings));
    }
    let release_name = most_common(components.iter().filter_map(|c| c.application.clone()))
        .map(|a| dns_label(&a))
        .or_else(|| dir.file_name().map(|n| dns_label(&n.to_string_lossy())))
        .unwrap_or_else(|| "imported".to_owned());
    let (registry, repository) = output(&components, &mut warnings);
    let manifest = emit(dir, &release_name, &registry, &repository, &components);
    // The text must load: anything else is a bug in the importer, not in the input.
    load_str(&dir.join("imported-release.yaml"), &manifest, &LoadOptions::default())
        .map_err(|e| Error::new(ErrorKind::Internal, format!("the imported manifest does not load: {e}")))?;
    Ok(TektonImport {
        manifest,
        files: files.len(),
        pipelineruns,
        components: components
            .iter()
            .map(|c| ImportedComponent { name: c.name.clone(), url: c.url.clone(), files: c.files.clone() })
            .collect(),
        skipped,
        warnings,
    })
}

/// A component put together from its PipelineRuns.
struct Merged {
    name: String,
    application: Option<String>,
    url: String,
    branch: String,
    dockerfile: String,
    context: String,
    build_args: BTreeMap<String, String>,
    arches: Option<Vec<String>>,
    image_repo: Option<String>,
    files: Vec<PathBuf>,
    from: (PathBuf, u32),
}

/// The component name a component label makes: the label when it is a DNS-1123 label, else
/// [`dns_label`] of it.
fn component_name(label: &str) -> String {
    if is_dns1123_label(label) { label.to_owned() } else { dns_label(label) }
}

/// `found` is not empty; `name` is the [`component_name`] of every run's label.
fn merge(name: &str, mut found: Vec<Found>, warnings: &mut Vec<Warning>) -> Merged {
    found.sort_by_key(|f| (f.trigger, f.name != format!("{}-on-push", f.component), f.file.clone()));
    let primary = found.remove(0);
    let mut seen: Vec<String> = primary.warnings.iter().map(|w| w.message.clone()).collect();
    warnings.extend(primary.warnings.iter().cloned());
    let warn_at = |f: &Found, message: String| Warning { file: f.file.clone(), line: f.line, message };
    if primary.component != name {
        let message = if primary.component.trim().is_empty() {
            format!("no component label and no PipelineRun name; the component is named {name}")
        } else {
            format!("component {} is not a DNS-1123 label; it becomes {name}", clip(&primary.component))
        };
        warnings.push(Warning { file: primary.file.clone(), line: primary.component_line, message });
    }
    for other in &found {
        if other.component != primary.component {
            warnings.push(Warning {
                file: other.file.clone(),
                line: other.component_line,
                message: format!(
                    "component label {} differs from {} ({}) only in spelling; both name Konflux component {name}, so their runs are merged",
                    clip(&other.component),
                    clip(&primary.component),
                    primary.file.display()
                ),
            });
        }
        if other.trigger == primary.trigger {
            warnings.push(warn_at(
                other,
                format!(
                    "another {:?} PipelineRun of component {name} ({}); only {} is used",
                    other.trigger, other.name, primary.name
                ),
            ));
            continue;
        }
        let differs = [
            ("dockerfile", primary.dockerfile != other.dockerfile, &other.dockerfile),
            ("path-context", primary.context != other.context, &other.context),
        ];
        for (what, different, value) in differs {
            if different {
                warnings.push(warn_at(
                    other,
                    format!(
                        "{what} {value} differs from {} ({}); the latter is used",
                        primary.name,
                        primary.file.display()
                    ),
                ));
            }
        }
        if primary.build_args != other.build_args || primary.arches != other.arches {
            warnings.push(warn_at(
                other,
                format!("build args or platforms differ from {}; that run's are used", primary.name),
            ));
        }
        for w in &other.warnings {
            if !seen.contains(&w.message) {
                seen.push(w.message.clone());
                warnings.push(w.clone());
            }
        }
    }
    let url = primary.url.clone().or_else(|| found.iter().find_map(|f| f.url.clone())).unwrap_or_else(|| {
        let guess = guess_url(&primary.file, name);
        warnings.push(warn_at(&primary, format!("no build.appstudio.openshift.io/repo annotation or literal git-url with a value; the source is taken to be {guess}")));
        guess
    });
    let branch =
        primary.branch.clone().or_else(|| found.iter().find_map(|f| f.branch.clone())).unwrap_or_else(|| {
            warnings.push(warn_at(
                &primary,
                "no target branch in the on-cel-expression or on-target-branch; the ref is main".into(),
            ));
            "main".to_owned()
        });
    let mut files: Vec<PathBuf> =
        std::iter::once(primary.file.clone()).chain(found.iter().map(|f| f.file.clone())).collect();
    files.dedup();
    Merged {
        name: name.to_owned(),
        application: primary.application.clone(),
        url,
        branch,
        dockerfile: primary.dockerfile.clone(),
        context: primary.context.clone(),
        build_args: primary.build_args.clone(),
        arches: primary.arches.clone(),
        image_repo: primary.image_repo.clone().or_else(|| found.iter().find_map(|f| f.image_repo.clone())),
        from: (primary.file.clone(), primary.line),
        files,
    }
}

/// `https://github.com/<org>/<repo>` from a `<org>/<repo>/.tekton/<file>` layout.
fn guess_url(file: &Path, component: &str) -> String {
    let parts: Vec<String> = file.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    match parts.iter().position(|p| p == ".tekton") {
        Some(i) if i >= 2 => format!("https://github.com/{}/{}", parts[i - 2], parts[i - 1]),
        _ => format!("https://github.com/unknown/{component}"),
    }
}

fn most_common(items: impl Iterator<Item = String>) -> Option<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for item in items {
        *counts.entry(item).or_default() += 1;
    }
    counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0))).map(|(k, _)| k)
}

/// The manifest's `output`: the repository most components' images sit under. Konflux gives
/// each component its own repository (`.../<component>`); the manifest tags every component
/// into one (`<registry>/<repository>:<name>`).
fn output(components: &[Merged], warnings: &mut Vec<Warning>) -> (String, String) {
    let mut bases = Vec::new();
    for c in components {
        let Some(repo) = &c.image_repo else { continue };
        let base = match repo.strip_suffix(&format!("/{}", c.name)) {
            Some(base) => base.to_owned(),
            None => {
                let base = repo.rsplit_once('/').map_or(repo.as_str(), |(b, _)| b).to_owned();
                warnings.push(Warning {
                    file: c.from.0.clone(),
                    line: c.from.1,
                    message: format!(
                        "output image {repo} is not named after component {}; the manifest tags it {base}:{}",
                        c.name, c.name
                    ),
                });
                base
            }
        };
        bases.push(base);
    }
    let chosen = most_common(bases.iter().cloned()).unwrap_or_else(|| "quay.io/okd/imported".to_owned());
    for (c, base) in components.iter().filter(|c| c.image_repo.is_some()).zip(&bases) {
        if *base != chosen {
            warnings.push(Warning {
                file: c.from.0.clone(),
                line: c.from.1,
                message: format!(
                    "component {} pushes under {base}; the manifest has one output, {chosen}",
                    c.name
                ),
            });
        }
    }
    // The same rule as image references: the first element is a registry when it looks like a
    // host, and a registry alone (`localhost:5000/<component>`) leaves no repository.
    let is_host = |s: &str| s.contains(['.', ':']) || s == "localhost";
    let (registry, repository) = match chosen.split_once('/') {
        Some((host, rest)) if is_host(host) => (host.to_owned(), rest.to_owned()),
        None if is_host(&chosen) => (chosen.clone(), String::new()),
        _ => ("docker.io".to_owned(), chosen.clone()),
    };
    let repository = if repository.is_empty() {
        let with_image = components.iter().filter(|c| c.image_repo.is_some());
        if let Some(c) = with_image.zip(&bases).find(|(_, b)| **b == chosen).map(|(c, _)| c) {
            warnings.push(Warning {
                file: c.from.0.clone(),
                line: c.from.1,
                message: format!(
                    "component {} pushes to {registry} without a repository path; the manifest's output is {registry}/imported",
                    c.name
                ),
            });
        }
        "imported".to_owned()
    } else {
        repository
    };
    (registry, repository)
}

fn quote(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

fn emit(dir: &Path, name: &str, registry: &str, repository: &str, components: &[Merged]) -> String {
    let mut out = format!(
        "# Imported by `okd import tekton` from {}.\n# Set `version`; components mirror the push PipelineRuns of the .tekton files.\n",
        dir.display()
    );
    out.push_str(&format!("name: {}\nversion: \"0.0.0-imported\"\n", quote(name)));
    out.push_str(&format!(
        "output: {{ registry: {}, repository: {} }}\ncomponents:\n",
        quote(registry),
        quote(repository)
    ));
    for c in components {
        let file = c.from.0.strip_prefix(dir).unwrap_or(&c.from.0);
        out.push_str(&format!("  - name: {}  # {}\n", c.name, file.display()));
        out.push_str(&format!("    source: {{ git: {}, ref: {} }}\n", quote(&c.url), quote(&c.branch)));
        if c.dockerfile != "Dockerfile" {
            out.push_str(&format!("    dockerfile: {}\n", quote(&c.dockerfile)));
        }
        if c.context != "." {
            out.push_str(&format!("    context: {}\n", quote(&c.context)));
        }
        if let Some(arches) = &c.arches
            && !arches.is_empty()
        {
            let list: Vec<String> = arches.iter().map(|a| quote(a)).collect();
            out.push_str(&format!("    arches: [{}]\n", list.join(", ")));
        }
        if !c.build_args.is_empty() {
            let args: Vec<String> =
                c.build_args.iter().map(|(k, v)| format!("{}: {}", quote(k), quote(v))).collect();
            out.push_str(&format!("    build_args: {{ {} }}\n", args.join(", ")));
        }
    }
    out
}
