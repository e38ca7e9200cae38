//! A checkout of openshift/release as the fakes read it: the Prow job config prowgen writes
//! (`ci-operator/jobs/<org>/<repo>/<org>-<repo>-<branch>-{presubmits,postsubmits,periodics}.yaml`)
//! and the ci-operator configs jobs are generated from
//! (`ci-operator/config/<org>/<repo>/<org>-<repo>-<branch>[__<variant>].yaml`).
//!
//! Files are looked at again on every lookup, so configs and jobs written into the checkout while
//! a test runs count from then on, as they would once merged (a job file is parsed again only
//! when its size or modification time changed: a release of 200 repositories has 400 of them).
//! Other files (`OWNERS`, `.config.prowgen`, ...) are ignored.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::SystemTime,
};

use serde_json::Value;

use super::util::lock;

/// A job file as parsed, with the size and modification time it had.
type Parsed = (u64, Option<SystemTime>, Vec<JobConfig>);

/// A checkout of openshift/release.
#[derive(Debug, Clone)]
pub struct ReleaseRepo {
    root: PathBuf,
    parsed: Arc<Mutex<HashMap<PathBuf, Parsed>>>,
}

/// One job from the Prow job config.
#[derive(Debug, Clone)]
pub(crate) struct JobConfig {
    /// `presubmit`, `postsubmit` or `periodic` (the ProwJob `spec.type`).
    pub kind: &'static str,
    /// The `<org>/<repo>` key the job is listed under (none for periodics).
    pub org_repo: Option<String>,
    /// The job as written (`name`, `labels`, `spec`, `branches`, ...).
    pub config: Value,
}

impl JobConfig {
    pub(crate) fn name(&self) -> &str {
        self.config["name"].as_str().unwrap_or_default()
    }

    /// Prow's `Brancher.ShouldRun`: `skip_branches` wins, then `branches` (unanchored
    /// regexes joined with `|`), and no branches at all means every branch.
    fn could_run(&self, branch: &str) -> Result<bool, String> {
        let regex = |key: &str| -> Result<Option<regex_lite::Regex>, String> {
            let list: Vec<&str> =
                self.config[key].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            if list.is_empty() {
                return Ok(None);
            }
            regex_lite::Regex::new(&list.join("|"))
                .map(Some)
                .map_err(|e| format!("job {:?}: bad {key} regex: {e}", self.name()))
        };
        if regex("skip_branches")?.is_some_and(|re| re.is_match(branch)) {
            return Ok(false);
        }
        Ok(regex("branches")?.is_none_or(|re| re.is_match(branch)))
    }
}

/// The `--variant=<v>` argument of a pod spec's containers, if any.
pub(crate) fn variant(pod_spec: &Value) -> Option<String> {
    args(pod_spec).find_map(|a| a.strip_prefix("--variant=").map(str::to_owned))
}

/// Every container argument of a pod spec.
pub(crate) fn args(pod_spec: &Value) -> impl Iterator<Item = &str> {
    pod_spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["args"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
}

/// Why a job could not be found: the HTTP status and Gangway's message.
#[derive(Debug)]
pub(crate) enum Lookup {
    NotFound(String),
    Ambiguous(String),
    Unreadable(String),
}

impl ReleaseRepo {
    /// Opens a checkout and reads its job config once.
    ///
    /// # Panics
    ///
    /// When `root` is not a directory or a job file is not valid YAML in the Prow job config
    /// format (a test fixture bug).
    pub fn open(root: &Path) -> ReleaseRepo {
        assert!(root.is_dir(), "release repo {} is not a directory", root.display());
        let repo = ReleaseRepo { root: root.to_owned(), parsed: Arc::default() };
        if let Err(e) = repo.jobs() {
            panic!("release repo {}: {e}", root.display());
        }
        repo
    }

    /// The checkout's root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every job in `ci-operator/jobs/*/*/*-{presubmits,postsubmits,periodics}.yaml`.
    pub(crate) fn jobs(&self) -> Result<Vec<JobConfig>, String> {
        let mut jobs = Vec::new();
        for file in job_files(&self.root.join("ci-operator/jobs"))? {
            let meta =
                std::fs::metadata(&file).map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
            let stamp = (meta.len(), meta.modified().ok());
            if let Some((len, modified, parsed)) = lock(&self.parsed).get(&file)
                && (*len, *modified) == stamp
            {
                jobs.extend(parsed.iter().cloned());
                continue;
            }
            let parsed = read_jobs(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            jobs.extend(parsed.iter().cloned());
            lock(&self.parsed).insert(file, (stamp.0, stamp.1, parsed));
        }
        Ok(jobs)
    }

    /// The job Gangway would run for a request: `job_type` is the `JobExecutionType` name,
    /// `org`/`repo`/`branch` come from the request's refs (empty for periodics).
    pub(crate) fn find(
        &self,
        job_type: &str,
        name: &str,
        org: &str,
        repo: &str,
        branch: &str,
    ) -> Result<JobConfig, Lookup> {
        let kind = job_type.to_lowercase();
        let org_repo = format!("{org}/{repo}");
        let mut found = Vec::new();
        for job in self.jobs().map_err(Lookup::Unreadable)? {
            if job.kind != kind || job.name() != name {
                continue;
            }
            if kind != "periodic"
                && (job.org_repo.as_deref() != Some(org_repo.as_str())
                    || !job.could_run(branch).map_err(Lookup::Unreadable)?)
            {
                continue;
            }
            found.push(job);
        }
        let scope = if kind == "periodic" { String::new() } else { format!(" from orgRepo {org_repo:?}") };
        match found.len() {
            0 => Err(Lookup::NotFound(format!("failed to find associated {kind} job {name:?}{scope}"))),
            1 => Ok(found.remove(0)),
            _ => Err(Lookup::Ambiguous(format!("{name} matches multiple prow jobs{scope}"))),
        }
    }

    /// A job by name and ProwJob type, wherever it is listed.
    pub(crate) fn job_named(&self, kind: &str, name: &str) -> Option<JobConfig> {
        self.jobs().ok()?.into_iter().find(|j| j.kind == kind && j.name() == name)
    }

    /// The ci-operator config `ci-operator/config/<org>/<repo>/<org>-<repo>-<branch>[__<variant>].yaml`.
    pub(crate) fn ci_operator_config(
        &self,
        org: &str,
        repo: &str,
        branch: &str,
        variant: Option<&str>,
    ) -> Result<(PathBuf, Value), String> {
        let suffix = variant.map(|v| format!("__{v}")).unwrap_or_default();
        let path =
            self.root.join(format!("ci-operator/config/{org}/{repo}/{org}-{repo}-{branch}{suffix}.yaml"));
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read ci-operator config {}: {e}", path.display()))?;
        let config = parse_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if !config.is_object() {
            return Err(format!("{}: a ci-operator config must be a mapping", path.display()));
        }
        Ok((path, config))
    }
}

fn parse_yaml(text: &str) -> Result<Value, String> {
    serde_saphyr::from_str_with_options::<Value>(text, okd_core::manifest::yaml_options(text.len()))
        .map_err(|e| format!("invalid YAML: {e}"))
}

/// Job files at `<jobs>/<org>/<repo>/`, sorted; none when `jobs` does not exist yet.
fn job_files(jobs: &Path) -> Result<Vec<PathBuf>, String> {
    let dirs = |dir: &Path| -> Result<Vec<PathBuf>, String> {
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))? {
            paths.push(entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?.path());
        }
        paths.sort();
        Ok(paths)
    };
    if !jobs.is_dir() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for org in dirs(jobs)?.into_iter().filter(|p| p.is_dir()) {
        for repo in dirs(&org)?.into_iter().filter(|p| p.is_dir()) {
            for file in dirs(&repo)? {
                let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                if ["-presubmits.yaml", "-postsubmits.yaml", "-periodics.yaml"]
                    .iter()
                    .any(|s| name.ends_with(s))
                    && file.is_file()
                {
                    files.push(file);
                }
            }
        }
    }
    Ok(files)
}

/// The jobs of one file: `presubmits:`/`postsubmits:` map `<org>/<repo>` to job lists,
/// `periodics:` is a job list.
fn read_jobs(file: &Path) -> Result<Vec<JobConfig>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read: {e}"))?;
    let document = parse_yaml(&text)?;
    let Some(top) = document.as_object() else {
        return if document.is_null() { Ok(Vec::new()) } else { Err("not a mapping".to_owned()) };
    };
    let mut jobs = Vec::new();
    for (key, kind) in [("presubmits", "presubmit"), ("postsubmits", "postsubmit")] {
        let Some(by_repo) = top.get(key).filter(|v| !v.is_null()) else { continue };
        let by_repo = by_repo.as_object().ok_or_else(|| format!("{key}: not a mapping of org/repo"))?;
        for (org_repo, list) in by_repo {
            if org_repo.split('/').count() != 2 {
                return Err(format!("{key}: key {org_repo:?} is not <org>/<repo>"));
            }
            for config in job_list(list, &format!("{key}[{org_repo:?}]"))? {
                jobs.push(JobConfig { kind, org_repo: Some(org_repo.clone()), config });
            }
        }
    }
    if let Some(list) = top.get("periodics").filter(|v| !v.is_null()) {
        for config in job_list(list, "periodics")? {
            jobs.push(JobConfig { kind: "periodic", org_repo: None, config });
        }
    }
    Ok(jobs)
}

fn job_list(list: &Value, at: &str) -> Result<Vec<Value>, String> {
    let list = list.as_array().ok_or_else(|| format!("{at}: not a list of jobs"))?;
    for (i, job) in list.iter().enumerate() {
        if job["name"].as_str().is_none_or(str::is_empty) {
            return Err(format!("{at}[{i}]: a job needs a non-empty string `name`"));
        }
        for key in ["labels", "annotations"] {
            if let Some(map) = job.get(key).filter(|v| !v.is_null()) {
                let ok = map.as_object().is_some_and(|m| m.values().all(Value::is_string));
                if !ok {
                    return Err(format!("{at}[{i}].{key}: not a mapping of strings"));
                }
            }
        }
        if !job["spec"].is_null() && !job["spec"]["containers"].is_array() {
            return Err(format!("{at}[{i}].spec: a pod spec needs `containers`"));
        }
    }
    Ok(list.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn branch_matching_is_prow_brancher() {
        let job = |config: Value| JobConfig { kind: "postsubmit", org_repo: None, config };
        let main = job(json!({"name": "j", "branches": ["^main$"]}));
        assert_eq!(main.could_run("main"), Ok(true));
        assert_eq!(main.could_run("main-x"), Ok(false));
        let all = job(json!({"name": "j"}));
        assert_eq!(all.could_run("anything"), Ok(true));
        let skip = job(json!({"name": "j", "branches": ["^release-"], "skip_branches": ["^release-4\\.1$"]}));
        assert_eq!(skip.could_run("release-4.1"), Ok(false));
        assert_eq!(skip.could_run("release-4.21"), Ok(true));
        assert_eq!(
            variant(&json!({"containers": [{"args": ["--variant=okd-scos"]}]})).as_deref(),
            Some("okd-scos")
        );
    }

    #[test]
    fn malformed_job_files_panic_clearly_and_other_files_are_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let jobs = dir.path().join("ci-operator/jobs/openshift/api");
        std::fs::create_dir_all(&jobs).expect("mkdir");
        std::fs::write(jobs.join("OWNERS"), "approvers: [- not: yaml\n").expect("write");
        let good = "postsubmits:\n  openshift/api:\n  - name: branch-ci-openshift-api-main-images\n";
        std::fs::write(jobs.join("openshift-api-main-postsubmits.yaml"), good).expect("write");
        assert_eq!(ReleaseRepo::open(dir.path()).jobs().map(|j| j.len()), Ok(1));
        let bad = "presubmits:\n  openshift/api:\n  - labels: {}\n";
        std::fs::write(jobs.join("openshift-api-main-presubmits.yaml"), bad).expect("write");
        let panic = std::panic::catch_unwind(|| ReleaseRepo::open(dir.path())).expect_err("a bad job file");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("openshift-api-main-presubmits.yaml: presubmits[\"openshift/api\"][0]: a job needs a non-empty string `name`"), "{message}");
    }
}
