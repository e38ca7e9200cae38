#![allow(clippy::unwrap_used)]
//! `okd status` and `okd cancel` take the same backend flags as `okd build`: the kubeconfig
//! (`--kubeconfig F`) and the context (`--context C`) given reach the cluster backend. Against
//! the fake API server, with a run this machine's store does not know, so the only way to answer
//! is to ask the cluster that F and C name.

use std::{path::Path, process::Command};

use okd_tests::kube::{
    server::{FakeApiServer, ServerOptions},
    store::Gvr,
};
use serde_json::{Value, json};

const RUN: &str = "okd-mini-konflux-0123456789ab";

/// A kubeconfig whose current context points at nothing; only `--context fake` reaches `server`.
fn kubeconfig(path: &Path, server: &str) {
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: elsewhere\npreferences: {{}}\n\
         clusters:\n- name: fake\n  cluster: {{ server: \"{server}\" }}\n\
         - name: nowhere\n  cluster: {{ server: \"http://127.0.0.1:9\" }}\n\
         users:\n- name: fake\n  user: {{ token: okd-tests-fake-token }}\n\
         contexts:\n- name: fake\n  context: {{ cluster: fake, user: fake, namespace: tenant }}\n\
         - name: elsewhere\n  context: {{ cluster: nowhere, user: fake, namespace: other }}\n"
    );
    std::fs::write(path, text).unwrap();
}

/// A finished PipelineRun of `component` in run RUN, as the Konflux backend labels its runs.
fn pipelinerun(component: &str) -> Value {
    json!({
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {
            "name": format!("{component}-on-push-abc"),
            "namespace": "tenant",
            "labels": { "okd-build.io/run": RUN, "okd-build.io/component": component },
            "annotations": { "okd-build.io/run": RUN },
        },
        "spec": { "pipelineRef": { "name": "docker-build-oci-ta" } },
        "status": {
            "conditions": [{ "type": "Succeeded", "status": "True", "reason": "Completed", "message": "" }],
            "results": [
                { "name": "IMAGE_URL", "value": format!("quay.io/tenant/{component}:abc") },
                { "name": "IMAGE_DIGEST", "value": format!("sha256:{:064}", 1) },
            ],
        },
    })
}

fn okd(args: &[&str], state: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_okd"))
        .args(args)
        .arg("--state")
        .arg(state)
        // Neither the environment nor a home kubeconfig may answer for the flags.
        .env_remove("KUBECONFIG")
        .env("HOME", state)
        .env("XDG_CONFIG_HOME", state)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_cancel_use_the_kubeconfig_and_context_given() {
    let server = FakeApiServer::start(ServerOptions::default()).await;
    let gvr = Gvr::new("tekton.dev", "v1", "pipelineruns");
    for component in ["base", "cli"] {
        server.store().create(&gvr, "tenant", pipelinerun(component)).unwrap();
    }
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("elsewhere.kubeconfig");
    kubeconfig(&config, &server.url());
    let state = tmp.path().join("state");
    let config = config.to_str().unwrap().to_owned();

    let status = {
        let (config, state) = (config.clone(), state.clone());
        tokio::task::spawn_blocking(move || {
            okd(
                &[
                    "status",
                    RUN,
                    "--backend",
                    "konflux",
                    "--kubeconfig",
                    &config,
                    "--context",
                    "fake",
                    "-o",
                    "json",
                ],
                &state,
            )
        })
        .await
        .unwrap()
    };
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let body: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(body["run"], RUN);
    assert_eq!(body["state"], "finished");
    let mut names: Vec<&str> =
        body["components"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["base", "cli"], "{body}");

    // A context the kubeconfig does not have is named in the error: the flag is read.
    let wrong = {
        let (config, state) = (config.clone(), state.clone());
        tokio::task::spawn_blocking(move || {
            okd(
                &["status", RUN, "--backend", "konflux", "--kubeconfig", &config, "--context", "nope"],
                &state,
            )
        })
        .await
        .unwrap()
    };
    assert_eq!(wrong.status.code(), Some(2), "{}", String::from_utf8_lossy(&wrong.stderr));
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("nope"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );

    // Cancel reaches the same cluster: the runs have ended, so there is nothing to stop, and the
    // run is known there, so it is no error.
    let cancel = tokio::task::spawn_blocking(move || {
        okd(&["cancel", RUN, "--backend", "konflux", "--kubeconfig", &config, "--context", "fake"], &state)
    })
    .await
    .unwrap();
    assert!(cancel.status.success(), "{}", String::from_utf8_lossy(&cancel.stderr));
    let requests = server.requests();
    assert!(
        requests.iter().any(|r| r.path.contains("/namespaces/tenant/pipelineruns")),
        "the context's namespace"
    );
}

/// A cluster that does not answer: exit 3 at once (no retries into a timeout), one readable
/// error line naming the server, the context and the kubeconfig, and no library log lines.
#[test]
fn an_unreachable_cluster_is_one_line_and_exit_3_at_once() {
    let dir = tempfile::tempdir().unwrap();
    kubeconfig(&dir.path().join("kubeconfig"), "http://127.0.0.1:9");
    let config = dir.path().join("kubeconfig");
    for backend in ["konflux", "prow", "payload-pipeline"] {
        let started = std::time::Instant::now();
        let out = okd(
            &["status", "some-run", "--backend", backend, "--kubeconfig", config.to_str().unwrap()],
            dir.path(),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{backend}: {stderr}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{backend}: {:?}", started.elapsed());
        let first = stderr.lines().next().unwrap();
        let expected = format!(
            "error: cannot reach the Kubernetes API server http://127.0.0.1:9/ (context \"elsewhere\" of {})",
            config.display()
        );
        assert!(first.starts_with(&expected), "{backend}: {stderr}");
        assert!(!stderr.contains("caused by") && !stderr.contains("ERROR"), "{backend}: {stderr}");
    }
}
