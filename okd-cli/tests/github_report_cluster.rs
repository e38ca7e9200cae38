#![allow(clippy::unwrap_used)]
//! `okd build --report github` on every cluster backend's build path, through the binary,
//! against the fake API server and its scripted controllers (and the fake Gangway for Prow) and
//! the fake GitHub: each component's commit gets pending then success, linked to its
//! PipelineRun or Workflow (`--set log_url=`) or to its ProwJob's page (`status.url`); a failure
//! and the skip it causes, then reuse, on Konflux; a 403/429 rate-limit storm that is waited out,
//! and one that cannot be, which never fails the build.

mod feedback;

use std::path::{Path, PathBuf};

use feedback::{
    COMPONENTS, Run, all_statuses, args, assert_built, assert_token_kept_secret, okd_async, scenario,
};
use okd_tests::{
    github::FakeGitHub,
    kube::{
        controllers::{Controllers, Script, tag_built_images},
        server::{FakeApiServer, ServerOptions},
    },
    prow::{FakeGangway, GangwayOptions},
};

/// The stream image Prow needs (a base image on the CI registry).
const CI_STREAM: &str = "registry.ci.openshift.org/origin/centos:stream9";

/// A fake cluster with a kubeconfig for `namespace`, a scenario and a state folder.
struct Fixture {
    server: FakeApiServer,
    controllers: Option<Controllers>,
    github: FakeGitHub,
    tmp: tempfile::TempDir,
    manifest: PathBuf,
    namespace: &'static str,
}

impl Fixture {
    async fn new(test: &str, namespace: &'static str, stream_image: Option<&str>) -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let server = FakeApiServer::start(ServerOptions::default()).await;
        server.write_kubeconfig(&tmp.path().join("kubeconfig"), namespace);
        let manifest = scenario(tmp.path(), test, stream_image);
        let github = FakeGitHub::start().await;
        Fixture { server, controllers: None, github, tmp, manifest, namespace }
    }

    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// (Re)starts the controllers with `script`.
    fn script(&mut self, script: Script) {
        if let Some(old) = self.controllers.take() {
            old.stop();
        }
        self.controllers = Some(Controllers::start(self.server.store(), script));
    }

    /// A bare repository for generated sources (the Doozer strategies).
    fn remote(&self) -> String {
        let remote = self.dir().join("remote.git");
        std::fs::create_dir_all(&remote).unwrap();
        okd_tests::repos::git(&remote, &["init", "-q", "--bare"]);
        format!("file://{}", remote.display())
    }

    /// `okd build` on `backend` with `--report github` and `extra`.
    async fn build(&self, backend: &str, extra: &[&str]) -> Run {
        let dir = self.dir();
        let mut words =
            args(&["build", self.manifest.to_str().unwrap(), "--backend", backend, "--jobs", "4"]);
        words.extend(args(&["--kubeconfig", dir.join("kubeconfig").to_str().unwrap(), "-n", self.namespace]));
        words.extend(args(&["--state", dir.join("state").to_str().unwrap(), "--output", "json"]));
        words.extend(args(&["--report", "github"]));
        words.extend(args(extra));
        okd_async(dir, &self.github.url(), words, vec![]).await
    }

    /// Every component built on `backend`, each linked to a URL holding `link`'s parts.
    fn assert_all_built(&self, backend: &str, link: &[&str]) {
        let statuses = all_statuses(&self.github, self.dir());
        for name in COMPONENTS {
            assert_built(&statuses[name], backend, name, "built", link);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn konflux_failure_skip_then_reuse_and_the_issue() {
    let mut f = Fixture::new("konflux", "tenant", None).await;
    f.script(Script::new().fail("app", "make: *** [build] Error 2"));
    let link =
        "log_url=https://konflux.example.com/ns/{namespace}/applications/{application}/pipelineruns/{name}";
    let extra = ["--set", link, "--report", "github-issue=okd/okd-release"];
    let first = f.build("konflux", &extra).await;
    assert_eq!(first.code, 1, "{first:?}");
    let statuses = all_statuses(&f.github, f.dir());
    for name in ["base", "builder", "solo"] {
        assert_built(
            &statuses[name],
            "konflux",
            name,
            "built",
            &["/ns/tenant/applications/conformance/pipelineruns/"],
        );
    }
    let app = statuses["app"].last().unwrap();
    assert_eq!(app.0, "failure", "{:?}", statuses["app"]);
    assert!(app.2.contains("PipelineRun") && app.2.chars().count() <= 140, "{app:?}");
    assert!(app.3.as_deref().is_some_and(|u| u.contains("/pipelineruns/app-")), "{app:?}");
    assert_eq!(
        statuses["tool"].iter().map(|s| (s.0.as_str(), s.2.as_str())).collect::<Vec<_>>(),
        [("error", "skipped: app failed")]
    );
    assert_eq!(first.feedback()["issue"]["action"], "opened");

    f.script(Script::new());
    let second = f.build("konflux", &extra).await;
    assert_eq!(second.code, 0, "{second:?}");
    let statuses = all_statuses(&f.github, f.dir());
    for name in ["base", "builder", "solo"] {
        let last = statuses[name].last().unwrap();
        assert!(last.0 == "success" && last.2.starts_with("reused sha256:"), "{name}: {:?}", statuses[name]);
    }
    for name in ["app", "tool"] {
        assert_eq!(
            statuses[name].last().map(|s| s.0.as_str()),
            Some("success"),
            "{name}: {:?}",
            statuses[name]
        );
    }
    let summary = second.feedback();
    assert_eq!(
        (summary["statuses_undelivered"].as_u64(), summary["issue"]["action"].as_str()),
        (Some(0), Some("closed"))
    );
    assert_token_kept_secret(&f.github, &[&first, &second], &[f.dir()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doozer_konflux_statuses_go_to_the_source_commits() {
    let mut f = Fixture::new("doozer-konflux", "tenant", None).await;
    f.script(Script::new());
    let remote = format!("git_remote={}", f.remote());
    let run = f
        .build(
            "doozer-konflux",
            &["--set", &remote, "--set", "log_url=https://k.example.com/{namespace}/{name}"],
        )
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    f.assert_all_built("doozer-konflux", &["https://k.example.com/tenant/"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_pipeline_statuses_link_the_workflow() {
    let mut f = Fixture::new("argo", "okd", None).await;
    f.script(Script::new().on_workflow_task_success(tag_built_images(f.server.store(), "release")));
    let link = "log_url=https://argo.example.com/workflows/{namespace}/{name}?task={component}";
    let run = f.build("payload-pipeline", &["--set", link]).await;
    assert_eq!(run.code, 0, "{run:?}");
    f.assert_all_built("payload-pipeline", &["https://argo.example.com/workflows/okd/", "?task="]);
}

/// Renders `backend`'s openshift/release files and starts Gangway over them.
async fn gangway(f: &mut Fixture, backend: &str, settings: &[&str]) -> (FakeGangway, Vec<String>) {
    let out = f.dir().join("rendered");
    let mut words =
        args(&["render", f.manifest.to_str().unwrap(), "--backend", backend, "--out", out.to_str().unwrap()]);
    words.extend(args(settings));
    let render = okd_async(f.dir(), &f.github.url(), words, vec![]).await;
    assert_eq!(render.code, 0, "{render:?}");
    let options = GangwayOptions::default()
        .token("gangway-token")
        .on_cluster(f.server.store(), "ci")
        .release_repo(&out.join("openshift/release"));
    let gangway = FakeGangway::start(options).await;
    f.script(Script::new().on_prowjob_success(gangway.promoter()));
    let token = f.dir().join("gangway-token");
    std::fs::write(&token, "gangway-token\n").unwrap();
    let mut flags = args(&["--set", &format!("gangway_url={}", gangway.url())]);
    flags.extend(args(&["--set", &format!("token_file={}", token.display())]));
    flags.extend(args(settings));
    (gangway, flags)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prow_statuses_link_the_prowjob_page() {
    let mut f = Fixture::new("prow", "ci", Some(CI_STREAM)).await;
    let (_gangway, flags) = gangway(&mut f, "prow", &[]).await;
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let run = f.build("prow", &flags).await;
    assert_eq!(run.code, 0, "{run:?}");
    f.assert_all_built("prow", &["/logs/branch-ci-okd-conformance-"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doozer_prow_statuses_go_to_the_source_commits() {
    let mut f = Fixture::new("doozer-prow", "ci", Some(CI_STREAM)).await;
    let remote = format!("git_remote={}", f.remote());
    let (_gangway, flags) = gangway(&mut f, "doozer-prow", &["--set", &remote]).await;
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let run = f.build("doozer-prow", &flags).await;
    assert_eq!(run.code, 0, "{run:?}");
    f.assert_all_built("doozer-prow", &["/logs/branch-ci-"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_storm_is_waited_out_or_counted_never_failing_the_build() {
    let mut f = Fixture::new("storm", "tenant", None).await;
    f.script(Script::new());
    let first = f.build("konflux", &[]).await;
    assert_eq!((first.code, first.feedback()["statuses_undelivered"].as_u64()), (0, Some(0)), "{first:?}");

    // Primary limits that reset at once, then secondary ones with Retry-After: 1. Every
    // (reused) component's status still arrives, after waiting.
    f.github.rate_limit_resets_in(0);
    f.github.fail_next(403, 6);
    f.github.fail_next(429, 2);
    let requests = f.github.requests().len();
    let storm = f.build("konflux", &[]).await;
    assert_eq!(storm.code, 0, "{storm:?}");
    let summary = storm.feedback();
    assert_eq!(
        (summary["statuses_posted"].as_u64(), summary["statuses_undelivered"].as_u64()),
        (Some(5), Some(0)),
        "{summary}"
    );
    assert_eq!(f.github.requests().len() - requests, 5 + 8, "each refused request was tried again");
    let statuses = all_statuses(&f.github, f.dir());
    for name in COMPONENTS {
        assert!(
            statuses[name].last().unwrap().2.starts_with("reused sha256:"),
            "{name}: {:?}",
            statuses[name]
        );
    }

    // A limit that lasts an hour: the first status gives up at once, the others are not even
    // asked, and the build still succeeds, saying how many statuses were not delivered.
    f.github.rate_limit_resets_in(3600);
    f.github.fail_next(403, 1);
    let requests = f.github.requests().len();
    let blocked = f.build("konflux", &[]).await;
    assert_eq!(blocked.code, 0, "{blocked:?}");
    let summary = blocked.feedback();
    assert_eq!(
        (summary["statuses_posted"].as_u64(), summary["statuses_undelivered"].as_u64()),
        (Some(0), Some(5)),
        "{summary}"
    );
    let reasons: Vec<&str> =
        summary["undelivered"].as_array().unwrap().iter().map(|u| u["reason"].as_str().unwrap()).collect();
    assert!(
        reasons[0].contains("rate limited for") && reasons[1..].iter().all(|r| r.contains("not asked")),
        "{reasons:?}"
    );
    assert_eq!(f.github.requests().len() - requests, 1, "one request, then none");
    assert_token_kept_secret(&f.github, &[&first, &storm, &blocked], &[f.dir()]);
}
