//! One `.tekton` file: its YAML documents, and for each PipelineRun what a release manifest can
//! take from it, with the line of everything it cannot.

use std::{
    collections::BTreeMap,
    path::{Component as PathPart, Path, PathBuf},
};

use okd_core::{Error, Location, Result, doozer::Warning, payload::ImageRef};
use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::names::{GENERATED_ARGS_ANNOTATION, SOURCE_DOCKERFILE_ANNOTATION, arch_of_platform};

type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
struct RawDoc {
    #[serde(default)]
    metadata: Option<RawMeta>,
    #[serde(default)]
    spec: Option<RawSpec>,
}

#[derive(Debug, Deserialize)]
struct RawMeta {
    #[serde(default)]
    name: Option<S<String>>,
    #[serde(default)]
    labels: BTreeMap<String, S<Value>>,
    #[serde(default)]
    annotations: BTreeMap<String, S<Value>>,
}

#[derive(Debug, Deserialize)]
struct RawSpec {
    #[serde(default)]
    params: Vec<S<RawParam>>,
    #[serde(default, rename = "pipelineRef")]
    pipeline_ref: Option<S<Value>>,
    #[serde(default, rename = "pipelineSpec")]
    pipeline_spec: Option<S<Value>>,
}

#[derive(Debug, Deserialize)]
struct RawParam {
    name: S<String>,
    #[serde(default)]
    value: Option<S<Value>>,
}

/// Which event a PipelineRun answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Trigger {
    Push,
    PullRequest,
    Other,
}

/// What one PipelineRun says about its component.
#[derive(Debug, Clone)]
pub(super) struct Found {
    pub(super) file: PathBuf,
    pub(super) line: u32,
    pub(super) name: String,
    pub(super) trigger: Trigger,
    /// The component label as written (or the name without its `-on-push` suffix).
    pub(super) component: String,
    /// The line of the component label (the name's line when there is none).
    pub(super) component_line: u32,
    pub(super) application: Option<String>,
    pub(super) url: Option<String>,
    pub(super) branch: Option<String>,
    pub(super) dockerfile: String,
    pub(super) context: String,
    pub(super) build_args: BTreeMap<String, String>,
    pub(super) arches: Option<Vec<String>>,
    /// The output image's repository (tag removed).
    pub(super) image_repo: Option<String>,
    /// What it cannot map.
    pub(super) warnings: Vec<Warning>,
}

/// A YAML document that is not a PipelineRun.
#[derive(Debug, Clone)]
pub(super) struct NotARun {
    pub(super) kind: String,
}

/// The documents of `file` (text `text`): PipelineRuns read, others named by kind.
pub(super) fn read_file(
    file: &Path,
    text: &str,
    repo_root: Option<&Path>,
) -> Result<(Vec<Found>, Vec<NotARun>)> {
    let options = || okd_core::manifest::yaml_options(text.len());
    let docs: Vec<Value> =
        serde_saphyr::from_multiple_with_options(text, options()).map_err(|e| yaml_error(file, &e))?;
    let mut others = Vec::new();
    let wanted: Vec<bool> = docs
        .iter()
        .map(|d| {
            let is_run = d["kind"] == "PipelineRun"
                && d["apiVersion"].as_str().is_some_and(|v| v.starts_with("tekton.dev/"));
            if !is_run && !d.is_null() {
                others.push(NotARun { kind: d["kind"].as_str().unwrap_or("no kind").to_owned() });
            }
            is_run
        })
        .collect();
    if !wanted.contains(&true) {
        return Ok((Vec::new(), others));
    }
    let raws: Vec<RawDoc> =
        serde_saphyr::from_multiple_with_options(text, options()).map_err(|e| yaml_error(file, &e))?;
    let mut found = Vec::new();
    for ((raw, doc), _) in raws.into_iter().zip(&docs).zip(&wanted).filter(|(_, w)| **w) {
        found.push(read_run(file, text, &raw, doc, repo_root));
    }
    Ok((found, others))
}

fn yaml_error(file: &Path, error: &serde_saphyr::Error) -> Error {
    let message = error.to_string();
    let message = message.lines().next().unwrap_or("invalid YAML").to_owned();
    let location = error.location().map_or_else(
        || Location::new(file, 1, 1),
        |l| Location::new(file, l.line() as u32, l.column() as u32),
    );
    Error::invalid_at(
        location,
        format!("not valid YAML: {message}"),
        "fix the file, or move it out of the folder",
    )
}

fn line<T>(s: &S<T>) -> u32 {
    s.referenced.line() as u32
}

/// The line of `key:` at or before `value_line`: block values start below their key.
fn key_line(text: &str, value_line: u32, key: &str) -> u32 {
    let lines: Vec<&str> = text.lines().collect();
    let wanted = format!("{key}:");
    (1..=value_line.min(lines.len() as u32))
        .rev()
        .find(|&n| {
            let l = lines[n as usize - 1].trim_start().trim_start_matches("- ");
            l.starts_with(&wanted) || l.starts_with(&format!("\"{key}\":"))
        })
        .unwrap_or(value_line)
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The value inside `"..."` after `target_branch == ` in a CEL expression.
fn cel_branch(cel: &str) -> Option<String> {
    let rest = cel.split("target_branch").nth(1)?.trim_start().strip_prefix("==")?.trim_start();
    let rest = rest.strip_prefix('"').or_else(|| rest.strip_prefix('\''))?;
    Some(rest.split(['"', '\'']).next()?.to_owned())
}

/// Whether the conditions after the event and branch are build-service's path filter for a
/// context below the root, which the manifest's `context` already says.
fn is_context_filter(cel: &str, context: &str) -> bool {
    let one_line = cel.split_whitespace().collect::<Vec<_>>().join(" ");
    let clauses: Vec<&str> = one_line.splitn(3, " && ").collect();
    context != "."
        && clauses.get(2).is_some_and(|rest| rest.starts_with(&format!("(\"{context}/***\".pathChanged()")))
}

/// Whether a CEL expression says more than the event and the target branch.
fn cel_has_more(cel: &str) -> bool {
    cel.split("&&").count() > 2
        || cel.contains("||")
        || cel.contains(".matches(")
        || cel.contains("pathChanged")
}

fn read_run(file: &Path, text: &str, raw: &RawDoc, doc: &Value, repo_root: Option<&Path>) -> Found {
    let mut warnings = Vec::new();
    let mut warn =
        |line: u32, message: String| warnings.push(Warning { file: file.to_owned(), line, message });
    let meta = raw.metadata.as_ref();
    let name_line = meta.and_then(|m| m.name.as_ref()).map_or(1, line);
    let name = meta.and_then(|m| m.name.as_ref()).map(|n| n.value.clone()).unwrap_or_default();
    let label = |k: &str| meta.and_then(|m| m.labels.get(k)).map(|v| text_of(&v.value));
    let label_line = |k: &str| meta.and_then(|m| m.labels.get(k)).map(line);
    let annotations = meta.map(|m| &m.annotations);
    let annotation = |k: &str| annotations.and_then(|a| a.get(k));
    let cel =
        annotation("pipelinesascode.tekton.dev/on-cel-expression").map(|c| (text_of(&c.value), line(c)));
    let event = cel.as_ref().map(|(c, _)| c.replace(' ', "")).unwrap_or_default();
    let trigger = if event.contains("event==\"push\"") || name.ends_with("-on-push") {
        Trigger::Push
    } else if event.contains("event==\"pull_request\"") || name.ends_with("-on-pull-request") {
        Trigger::PullRequest
    } else {
        Trigger::Other
    };
    let component = label("appstudio.openshift.io/component")
        .or_else(|| label("build.konflux-ci.dev/component"))
        .unwrap_or_else(|| name.trim_end_matches("-on-push").trim_end_matches("-on-pull-request").to_owned());
    let component_line = label_line("appstudio.openshift.io/component")
        .or_else(|| label_line("build.konflux-ci.dev/component"))
        .unwrap_or(name_line);
    // An empty branch or URL says nothing: the merge falls back (with a warning) as when there
    // is none.
    let said = |s: &String| !s.trim().is_empty();
    let mut branch = cel.as_ref().and_then(|(c, _)| cel_branch(c)).filter(said);
    if branch.is_none()
        && let Some(b) = annotation("pipelinesascode.tekton.dev/on-target-branch")
    {
        branch = Some(
            text_of(&b.value).trim_matches(['[', ']', ' ']).split(',').next().unwrap_or("").trim().to_owned(),
        )
        .filter(said);
    }
    let repo_annotation =
        annotation("build.appstudio.openshift.io/repo").or_else(|| annotation("build.konflux-ci.dev/repo"));
    let mut url = repo_annotation
        .map(|r| text_of(&r.value).split('?').next().unwrap_or_default().to_owned())
        .filter(said);
    let mut params: BTreeMap<String, (Value, u32)> = BTreeMap::new();
    if let Some(spec) = &raw.spec {
        for p in &spec.params {
            let value = p.value.value.as_ref().map(|v| v.value.clone()).unwrap_or(Value::Null);
            params.insert(p.value.name.value.clone(), (value, line(&p.value.name)));
        }
    }
    if let Some((value, _)) = params.get("git-url")
        && let Value::String(s) = value
        && !s.contains("{{")
        && said(s)
    {
        url = Some(s.clone());
    }
    let generated: Vec<String> = annotation(GENERATED_ARGS_ANNOTATION)
        .map(|a| text_of(&a.value).split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    // Where the Dockerfile is said (the param, or okd-build's own annotation), and what.
    let (mut dockerfile, dockerfile_at, dockerfile_from) = match annotation(SOURCE_DOCKERFILE_ANNOTATION) {
        Some(own) => (
            text_of(&own.value),
            key_line(text, line(own), SOURCE_DOCKERFILE_ANNOTATION),
            format!("annotation {SOURCE_DOCKERFILE_ANNOTATION}"),
        ),
        None => match params.get("dockerfile") {
            Some((v, at)) => (text_of(v), *at, "param dockerfile".to_owned()),
            None => ("Dockerfile".to_owned(), name_line, "dockerfile".to_owned()),
        },
    };
    let dockerfile_given = dockerfile.clone();
    if dockerfile.trim().is_empty() {
        warn(dockerfile_at, format!("{dockerfile_from} has no value; the default Dockerfile is used"));
        dockerfile = "Dockerfile".into();
    }
    let mut context = params.get("path-context").map_or_else(|| ".".to_owned(), |(v, _)| text_of(v));
    if context.is_empty() {
        context = ".".into();
    }
    if !stays_inside(&context) {
        let at = params.get("path-context").map_or(name_line, |(_, l)| *l);
        warn(
            at,
            format!(
                "path-context {} is not a folder inside the repository; the context becomes the repository root",
                clip(&context)
            ),
        );
        context = ".".into();
    }
    if let Some(rooted) = dockerfile.strip_prefix('/') {
        // Konflux reads a leading '/' as the repository root; the manifest's Dockerfile is
        // relative to the context.
        let relative = if context == "." {
            Some(rooted.to_owned())
        } else {
            rooted.strip_prefix(&format!("{context}/")).map(str::to_owned)
        };
        match relative {
            Some(r) => dockerfile = r,
            None => {
                warn(
                    dockerfile_at,
                    format!(
                        "dockerfile {dockerfile} is outside path-context {context}; the context becomes the repository root"
                    ),
                );
                context = ".".into();
                dockerfile = rooted.to_owned();
            }
        }
    }
    if !stays_inside(&dockerfile) {
        warn(
            dockerfile_at,
            format!(
                "{dockerfile_from} {} names no file inside path-context {}; the default Dockerfile is used",
                clip(&dockerfile_given),
                clip(&context)
            ),
        );
        dockerfile = "Dockerfile".into();
    }
    if let Some((c, at)) = &cel
        && cel_has_more(c)
        && !is_context_filter(c, &context)
    {
        let at = key_line(text, *at, "pipelinesascode.tekton.dev/on-cel-expression");
        let one_line = c.split_whitespace().collect::<Vec<_>>().join(" ");
        warn(
            at,
            format!(
                "the on-cel-expression conditions beyond the event and target branch are not mapped: {one_line}"
            ),
        );
    }
    let mut build_args = BTreeMap::new();
    let mut arches = None;
    let mut image_repo = None;
    for (key, (value, at)) in &params {
        match key.as_str() {
            "git-url" | "revision" | "dockerfile" | "path-context" => {}
            "image-expires-after" if trigger == Trigger::PullRequest => {}
            "output-image" => {
                let image = text_of(value);
                match output_repository(&image) {
                    Ok(repo) => image_repo = Some(repo),
                    Err(why) => warn(
                        *at,
                        format!(
                            "output-image {} is not an image repository ({why}); it is not used for the manifest's output",
                            clip(&image)
                        ),
                    ),
                }
            }
            "build-args" => {
                for entry in value.as_array().into_iter().flatten().map(text_of) {
                    match entry.split_once('=') {
                        Some((k, _)) if generated.iter().any(|g| g == k) => {}
                        Some((k, v))
                            if !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
                        {
                            build_args.insert(k.to_owned(), v.to_owned());
                        }
                        _ => warn(*at, format!("build arg '{entry}' is not NAME=value; it is not imported")),
                    }
                }
            }
            "build-args-file" => {
                let path = text_of(value);
                match repo_root.map(|root| root.join(&path)).and_then(|p| std::fs::read_to_string(p).ok()) {
                    Some(args) => {
                        for l in args.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'))
                        {
                            if let Some((k, v)) = l.split_once('=') {
                                build_args.entry(k.trim().to_owned()).or_insert_with(|| v.to_owned());
                            }
                        }
                    }
                    None => warn(
                        *at,
                        format!(
                            "build-args-file {path} is not in the folder; its build args are not imported"
                        ),
                    ),
                }
            }
            "build-platforms" => arches = Some(platform_arches(value, *at, &mut warn)),
            other => warn(*at, format!("param {other}={} is not mapped", text_of(value))),
        }
    }
    if arches.is_none()
        && let Some(spec) = raw.spec.as_ref().and_then(|s| s.pipeline_spec.as_ref())
        && let Some(default) = spec.value["params"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "build-platforms"))
            .map(|p| p["default"].clone())
        && default.is_array()
    {
        arches = Some(platform_arches(&default, line(spec), &mut warn));
    }
    pipeline_warnings(text, raw, doc, &mut warn);
    Found {
        file: file.to_owned(),
        line: name_line,
        name,
        trigger,
        component,
        component_line,
        application: label("appstudio.openshift.io/application"),
        url,
        branch,
        dockerfile,
        context,
        build_args,
        arches,
        image_repo,
        warnings,
    }
}

fn platform_arches(value: &Value, at: u32, warn: &mut impl FnMut(u32, String)) -> Vec<String> {
    let mut arches = Vec::new();
    for platform in value.as_array().into_iter().flatten().map(text_of) {
        match arch_of_platform(&platform) {
            Some(arch) if !arches.iter().any(|a| a == arch) => arches.push(arch.to_owned()),
            Some(_) => {}
            None => warn(
                at,
                format!("platform {platform} is not one the manifest knows (amd64, arm64, ppc64le, s390x)"),
            ),
        }
    }
    arches
}

/// `quay.io/x/y:{{revision}}` -> `quay.io/x/y`, if that is a repository the manifest's `output`
/// can name: lowercase path elements under a registry host (`docker.io` when there is none).
fn output_repository(image: &str) -> std::result::Result<String, &'static str> {
    let repo = crate::names::image_repository(image.trim());
    if repo.is_empty() {
        return Err("it is empty");
    }
    // The tag is only there because the parser wants one; the repository is what is checked.
    let parsed = ImageRef::parse(&format!("{repo}:latest"))
        .map_err(|_| "the repository must be lowercase path elements separated by '/'")?;
    let host_ok = !parsed.registry.is_empty()
        && parsed.registry.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b));
    if !host_ok {
        return Err("the registry is not a host with an optional port");
    }
    Ok(repo.to_owned())
}

/// Whether `path` is relative and stays inside its base, as the manifest wants of `dockerfile`
/// and `context` (checked lexically, the files are not there).
fn stays_inside(path: &str) -> bool {
    let mut depth = 0i32;
    for part in Path::new(path).components() {
        match part {
            PathPart::Normal(_) => depth += 1,
            PathPart::CurDir => {}
            PathPart::ParentDir => depth -= 1,
            PathPart::RootDir | PathPart::Prefix(_) => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    !path.is_empty()
}

/// At most 200 characters of `text`, for a message.
pub(super) fn clip(text: &str) -> String {
    if text.chars().count() <= 200 {
        text.to_owned()
    } else {
        format!("{}...", text.chars().take(200).collect::<String>())
    }
}

/// Warnings for what the run says about its pipeline and spec that a manifest does not carry.
fn pipeline_warnings(text: &str, raw: &RawDoc, doc: &Value, warn: &mut impl FnMut(u32, String)) {
    let Some(spec) = &raw.spec else { return };
    if let Some(inline) = &spec.pipeline_spec {
        let tasks = inline.value["tasks"].as_array().map_or(0, Vec::len);
        warn(
            key_line(text, line(inline), "pipelineSpec"),
            format!(
                "the inline pipelineSpec ({tasks} tasks) is not mapped; okd-build renders a pipelineRef to the docker-build bundle"
            ),
        );
    }
    if let Some(reference) = &spec.pipeline_ref {
        let param = |n: &str| {
            reference.value["params"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == n))
                .map(|p| text_of(&p["value"]))
        };
        let name =
            param("name").or_else(|| reference.value["name"].as_str().map(str::to_owned)).unwrap_or_default();
        let known = matches!(name.as_str(), "docker-build-oci-ta" | "docker-build-multi-platform-oci-ta");
        if reference.value["resolver"] != "bundles" || !known {
            let what = match reference.value["resolver"].as_str() {
                Some("git") => format!(
                    "the git resolver ({} {})",
                    param("url").unwrap_or_default(),
                    param("pathInRepo").unwrap_or_default()
                ),
                Some(resolver) => format!("the {resolver} resolver ({name})"),
                None => format!("pipeline {name}"),
            };
            warn(
                key_line(text, line(reference), "pipelineRef"),
                format!(
                    "the pipelineRef through {what} is not mapped; okd-build renders the docker-build bundle"
                ),
            );
        }
    }
    let handled = ["params", "pipelineRef", "pipelineSpec", "taskRunTemplate", "workspaces"];
    if let Some(keys) = doc["spec"].as_object() {
        for key in keys.keys().filter(|k| !handled.contains(&k.as_str())) {
            let at = key_line(text, text.lines().count() as u32, key);
            warn(at, format!("spec.{key} is not mapped"));
        }
    }
}
