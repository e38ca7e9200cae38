//! An independent check of the rendered BuildConfigs: apply the OpenShift Build API's rules
//! (openshift/builder: `dockerStrategy.from` replaces the last FROM; then `source.images[].as`
//! replaces every FROM and every `COPY --from` whose literal text equals an entry, except a
//! `COPY --from` naming an earlier stage; the rest is built as written) to each repository's
//! Dockerfile, parsed here simply, and get, for every FROM and COPY --from, the image the plan
//! resolved, a member's output being the ImageStreamTag `<stream>:<member>`. Written from the
//! rules, not from the renderer.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use backend_argo::render_testing::artifacts;
use okd_core::{
    dockerfile::RefKind,
    manifest::Target,
    plan::{Plan, PlannedSource},
    resolve::Rule,
};
use serde_json::Value;

/// What an image reference of a BuildConfig stands for: an ImageStreamTag of the tools stream is
/// the image it imports; one of the release stream stays `release:<tag>`; a DockerImage is itself.
fn image_of(reference: &Value, tools: &Value) -> String {
    let name = reference["name"].as_str().unwrap();
    match reference["kind"].as_str().unwrap() {
        "DockerImage" => name.to_owned(),
        "ImageStreamTag" => match name.split_once(':').unwrap() {
            (stream, tag) if stream == tools["metadata"]["name"] => {
                let item = tools["spec"]["tags"].as_array().unwrap().iter().find(|t| t["name"] == tag);
                item.unwrap_or_else(|| panic!("{name} is not imported")).clone()["from"]["name"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
            _ => name.to_owned(),
        },
        kind => panic!("unexpected kind {kind}"),
    }
}

/// Logical lines: continuations joined, comments and blank lines dropped.
fn instructions(dockerfile: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(rest) => current.push_str(rest),
            None => {
                current.push_str(trimmed);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

/// What the Build API makes of each FROM and COPY --from of `dockerfile`: `None` for a stage,
/// else the image.
fn build_api(dockerfile: &str, bc: &Value, tools: &Value) -> Vec<Option<String>> {
    let spec = &bc["spec"];
    let by_as = |text: &str| -> Option<String> {
        spec["source"]["images"].as_array().into_iter().flatten().find_map(|image| {
            image["as"].as_array().unwrap().iter().any(|a| a == text).then(|| image_of(&image["from"], tools))
        })
    };
    let lines = instructions(dockerfile);
    let froms = lines.iter().filter(|l| l.to_ascii_uppercase().starts_with("FROM ")).count();
    let from = spec["strategy"]["dockerStrategy"].get("from");
    let mut stages: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[0].to_ascii_uppercase().as_str() {
            "FROM" => {
                let rest: Vec<&str> = words[1..].iter().copied().filter(|w| !w.starts_with("--")).collect();
                let image = rest[0];
                let earlier_stage = stages.iter().any(|s| s.eq_ignore_ascii_case(image));
                let last = stages.len() + 1 == froms;
                out.push(if let Some(from) = from.filter(|_| last) {
                    Some(image_of(from, tools))
                } else if let Some(found) = by_as(image) {
                    Some(found)
                } else if earlier_stage {
                    None
                } else {
                    Some(image.to_owned())
                });
                let alias = rest.get(2).filter(|_| rest.get(1).is_some_and(|w| w.eq_ignore_ascii_case("as")));
                stages.push(alias.map_or_else(|| stages.len().to_string(), |a| a.to_lowercase()));
            }
            "COPY" => {
                if let Some(name) = words.iter().find_map(|w| w.strip_prefix("--from=")) {
                    let stage = stages
                        .iter()
                        .enumerate()
                        .any(|(i, s)| s.eq_ignore_ascii_case(name) || i.to_string() == name);
                    out.push(match by_as(name) {
                        _ if stage => None,
                        Some(found) => Some(found),
                        None => Some(name.to_owned()),
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// Checks every component of `plan` whose repository is `<repos>/<name>`: references a warning
/// names (by Dockerfile line) are built as written; every other one as planned.
fn check(plan: &Plan, repos: &Path, org_repo: &str) -> usize {
    let (artifacts, warnings) = artifacts(plan, &common::settings(&[])).unwrap();
    let file = |path: &str| {
        let text = &artifacts.iter().find(|a| a.path == path).unwrap().content;
        serde_saphyr::from_multiple::<Value>(text)
            .unwrap()
            .into_iter()
            .filter(|d| !d.is_null())
            .collect::<Vec<_>>()
    };
    let streams = file("buildconfigs/imagestreams.yaml");
    let tools = streams.iter().find(|s| s["metadata"]["name"] == "tools").unwrap();
    let mut checked = 0;
    for planned in &plan.components {
        let bc = &file(&format!("buildconfigs/{}.yaml", planned.name))[0];
        let PlannedSource::Commit { commit, .. } = &planned.source else { panic!("{}", planned.name) };
        assert_eq!(&bc["spec"]["source"]["git"]["ref"], commit.as_str());
        let text = std::fs::read_to_string(repos.join(&planned.name).join(&planned.dockerfile)).unwrap();
        let refs: Vec<_> =
            planned.stages.iter().filter(|r| matches!(r.kind, RefKind::From | RefKind::CopyFrom)).collect();
        let warned = |line: u32| {
            let prefix = format!("{org_repo}/{}/{}:{line}: ", planned.name, planned.dockerfile);
            warnings.iter().any(|w| w.to_string().starts_with(&prefix))
        };
        let wanted: Vec<Option<String>> = refs
            .iter()
            .map(|r| match (&r.rule, &r.target) {
                (Rule::Stage, _) => None,
                _ if warned(r.line) => Some(r.expanded.clone()),
                (_, Some(Target::Member(m))) => Some(format!("release:{m}")),
                _ => Some(r.resolved.clone()),
            })
            .collect();
        // Built as written, a reference with an ARG pulls its expansion.
        let got: Vec<Option<String>> = build_api(&text, bc, tools)
            .into_iter()
            .zip(&refs)
            .map(|(g, r)| g.map(|g| if g == r.original { r.expanded.clone() } else { g }))
            .collect();
        assert_eq!(got, wanted, "{}: {bc}", planned.name);
        checked += wanted.iter().flatten().count();
    }
    checked
}

#[tokio::test]
async fn the_build_api_rules_applied_to_the_rendered_buildconfigs_give_the_planned_images() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = common::okd_mini_git(dir.path(), |t| t);
    let plan = common::plan_of(&manifest, dir.path()).await;
    let checked = check(&plan, &dir.path().join("src/okd"), "okd");
    assert!(checked >= 20, "checked {checked} references");
}

#[tokio::test]
async fn what_is_warned_about_is_built_as_written_and_the_rest_as_planned() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = common::odd_release(dir.path());
    let plan = common::plan_of(&manifest, dir.path()).await;
    let checked = check(&plan, &dir.path().join("src/example"), "example");
    // base's FROM, and odd's on lines 2, 3, 5, 6, 9 and 10 (7 and 8 name stages; 4 is a RUN
    // --mount).
    assert_eq!(checked, 7);
}
