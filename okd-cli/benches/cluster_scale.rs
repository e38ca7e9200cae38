//! The `okd` process building the corpus's 4.22 ocp-build-data import (250 components, ~200
//! repositories; synthetic git sources, file://) through the cluster backends against their
//! fakes, twice each: a cold run that triggers everything, then a run where nothing changed.
//! `--backend prow` runs against the fake app.ci (fake API server, fake Gangway, scripted
//! ProwJob controller with promotion); `--backend payload-pipeline` against the fake API server
//! with the scripted Argo controller, whose tasks push into the release ImageStream. Reports, per run, the
//! wall time, the API requests and watches, and the okd process's CPU time and peak RSS
//! (measured by GNU time, Debian package `time`).
//!
//! `cargo bench -p okd-cli --bench cluster_scale` (needs OKD_SHARED). Without `--bench` (as when
//! `cargo test --all-targets` runs benches as tests) it says so and exits.

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use okd_tests::{
    kube::{
        controllers::{Controllers, Script},
        server::{FakeApiServer, ServerOptions},
    },
    prow::{FakeGangway, GangwayOptions},
    synthetic::git_sources,
};

const OKD: &str = env!("CARGO_BIN_EXE_okd");
const TIME: &str = "/usr/bin/time";

/// One `okd build` under GNU time.
struct Measured {
    wall: f64,
    cpu: f64,
    peak_mib: f64,
    outcomes: Vec<String>,
}

fn okd(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(OKD);
    command
        .args(args)
        .env("HOME", dir.join("home"))
        .env("OKD_CACHE_DIR", dir.join("cache"))
        .env_remove("OKD_LOG");
    command
}

fn build(dir: &Path, manifest: &Path, backend: &str, extra: &[String]) -> Measured {
    let out = Command::new(TIME)
        .args(["-f", "okd-bench %e %U %S %M", OKD, "build"])
        .arg(manifest)
        .args(["--backend", backend, "--output", "json", "--kubeconfig"])
        .arg(dir.join("kubeconfig"))
        .args(extra)
        .env("HOME", dir.join("home"))
        .env("OKD_CACHE_DIR", dir.join("cache"))
        .output()
        .expect("run okd under /usr/bin/time");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("okd-bench "))
        .unwrap_or_else(|| panic!("no GNU time line (is Debian's `time` installed?): {stderr}"));
    let n: Vec<f64> = line.split_whitespace().map(|v| v.parse().unwrap_or(f64::NAN)).collect();
    assert!(out.status.success(), "okd build failed: {stderr}");
    let outcomes = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|e| {
            e["event"]
                .as_str()
                .filter(|k| ["succeeded", "reused", "failed", "skipped"].contains(k))
                .map(str::to_owned)
        })
        .collect();
    Measured { wall: n[0], cpu: n[1] + n[2], peak_mib: n[3] / 1024.0, outcomes }
}

fn count(outcomes: &[String], kind: &str) -> usize {
    outcomes.iter().filter(|o| *o == kind).count()
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("prow_scale: run it with `cargo bench -p okd-cli --bench cluster_scale`");
        return;
    }
    let Some(shared) = std::env::var_os("OKD_SHARED") else {
        println!("cluster_scale: skipping, OKD_SHARED is unset (it points at the shared corpus)");
        return;
    };
    assert!(Path::new(TIME).exists(), "{TIME} is missing: apt-get install time");
    let branch = Path::new(&shared).join("corpus/ocp-build-data/openshift-4.22");
    let options = okd_core::doozer::ImportOptions { variant: Some("okd".into()), ..Default::default() };
    let imported = okd_core::doozer::import(&branch, &options).expect("import 4.22");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("home")).expect("home");
    let started = Instant::now();
    let manifest = dir.join("okd-4.22.yaml");
    std::fs::write(&manifest, git_sources(&imported.manifest, dir)).expect("manifest");
    println!("synthetic git sources: {:.1} s", started.elapsed().as_secs_f64());

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    println!(
        "| backend | run | components | jobs or workflows created | API requests (+ watches) | requests/component | wall s | okd CPU s | CPU ms/component | okd peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for backend in ["prow", "payload-pipeline"] {
        let state = dir.join(format!("state-{backend}"));
        runtime.block_on(measure(dir, &manifest, backend, &state));
    }
}

/// Starts `backend`'s fakes, builds twice and prints a row per run.
async fn measure(dir: &Path, manifest: &Path, backend: &str, state: &Path) {
    let server = FakeApiServer::start(ServerOptions::default()).await;
    let script = Script::new().default_duration(Duration::from_millis(5));
    let (extra, gangway, _controllers) = if backend == "prow" {
        let release = dir.join("release");
        let render = okd(dir, &["render", manifest.to_str().expect("utf-8"), "--backend", "prow", "--out"])
            .arg(&release)
            .output()
            .expect("okd render");
        assert!(render.status.success(), "{}", String::from_utf8_lossy(&render.stderr));
        server.write_kubeconfig(&dir.join("kubeconfig"), "ci");
        std::fs::write(dir.join("token"), "bench-token\n").expect("token");
        let options = GangwayOptions::default()
            .token("bench-token")
            .on_cluster(server.store(), "ci")
            .release_repo(&release.join("openshift/release"));
        let gangway = FakeGangway::start(options).await;
        let controllers = Controllers::start(server.store(), script.on_prowjob_success(gangway.promoter()));
        let extra = vec![
            "--set".to_owned(),
            format!("gangway_url={}", gangway.url()),
            "--set".to_owned(),
            format!("token_file={}", dir.join("token").display()),
        ];
        (extra, Some(gangway), controllers)
    } else {
        server.write_kubeconfig(&dir.join("kubeconfig"), "okd");
        let hook = okd_tests::kube::controllers::tag_built_images(server.store(), "release");
        let controllers = Controllers::start(server.store(), script.on_workflow_task_success(hook));
        (vec!["-n".to_owned(), "okd".to_owned()], None, controllers)
    };
    let workflows = || {
        server
            .store()
            .list(&okd_tests::kube::store::Gvr::new("argoproj.io", "v1alpha1", "workflows"), None)
            .0
            .len()
    };
    let created = || gangway.as_ref().map_or_else(workflows, |g| g.executions().len());
    let mut extra = extra;
    extra.push("--state".to_owned());
    extra.push(state.display().to_string());
    let mut seen = 0;
    for run in ["cold", "nothing changed"] {
        let before = created();
        let (d, m, b, e) = (dir.to_owned(), manifest.to_owned(), backend.to_owned(), extra.clone());
        let measured = tokio::task::spawn_blocking(move || build(&d, &m, &b, &e)).await.expect("build");
        let requests = server.requests();
        let new = &requests[seen..];
        seen = requests.len();
        let watches = new.iter().filter(|r| r.query.contains("watch=true")).count();
        let others = new.len() - watches;
        let components = measured.outcomes.len();
        assert_eq!(count(&measured.outcomes, "failed") + count(&measured.outcomes, "skipped"), 0);
        println!(
            "| {backend} | {run} | {components} ({} built, {} reused) | {} | {others} (+ {watches}) | {:.2} | {:.1} | {:.2} | {:.1} | {:.0} |",
            count(&measured.outcomes, "succeeded"),
            count(&measured.outcomes, "reused"),
            created() - before,
            others as f64 / components as f64,
            measured.wall,
            measured.cpu,
            measured.cpu * 1000.0 / components as f64,
            measured.peak_mib,
        );
    }
}
