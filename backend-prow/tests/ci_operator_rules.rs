//! An independent check of the rendered configs: apply ci-operator's and the OpenShift Build
//! API's documented rules (reference §2: `from` replaces the last FROM; `inputs.<tag>.as`
//! replaces every FROM and COPY --from whose literal text, or stage alias, equals an entry; the
//! rest is built as written) to each repository's Dockerfile, and get, for every FROM and
//! COPY --from, the image the plan resolved. Written from the rules, not from the renderer.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use backend_prow::Strategy;
use okd_core::{dockerfile::RefKind, manifest::Target, resolve::Rule};
use serde_json::Value;

/// The pull spec a pipeline tag stands for in `config`.
fn pipeline_image(config: &Value, tag: &str) -> String {
    if let Some(base) = config["base_images"].get(tag) {
        return format!(
            "registry.ci.openshift.org/{}/{}:{}",
            base["namespace"].as_str().unwrap(),
            base["name"].as_str().unwrap(),
            base["tag"].as_str().unwrap()
        );
    }
    if let Some(e) = config["external_images"].get(tag) {
        return format!(
            "quay.io/{}/{}:{}",
            e["namespace"].as_str().unwrap(),
            e["name"].as_str().unwrap(),
            e["tag"].as_str().unwrap()
        );
    }
    let built = config["images"]["items"].as_array().unwrap().iter().any(|i| i["to"] == tag);
    assert!(built, "pipeline tag {tag} is neither imported nor built");
    // Built by the same config: what its promotion puts in the integration stream.
    let to = &config["promotion"]["to"][0];
    format!(
        "registry.ci.openshift.org/{}/{}:{tag}",
        to["namespace"].as_str().unwrap(),
        to["name"].as_str().unwrap()
    )
}

/// What the Build API makes of each FROM and COPY --from of `dockerfile`: `None` for a stage
/// reference, else the image.
fn build_api(dockerfile: &str, item: &Value, config: &Value) -> Vec<Option<String>> {
    let by_as = |text: &str| -> Option<String> {
        item["inputs"].as_object().into_iter().flatten().find_map(|(tag, input)| {
            input["as"].as_array().unwrap().iter().any(|a| a == text).then(|| pipeline_image(config, tag))
        })
    };
    let lines: Vec<&str> = dockerfile.lines().map(str::trim).filter(|l| !l.starts_with('#')).collect();
    let froms = lines.iter().filter(|l| l.to_ascii_uppercase().starts_with("FROM ")).count();
    let mut stages: Vec<String> = Vec::new();
    let mut seen_from = 0;
    let mut out = Vec::new();
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().map(|w| w.to_ascii_uppercase()).as_deref() {
            Some("FROM") => {
                seen_from += 1;
                let rest: Vec<&str> = words[1..].iter().copied().filter(|w| !w.starts_with("--")).collect();
                let (image, alias) = (rest[0], rest.get(2).copied());
                let resolved = if seen_from == froms && item.get("from").is_some() {
                    Some(pipeline_image(config, item["from"].as_str().unwrap()))
                } else if let Some(found) = by_as(image).or_else(|| alias.and_then(by_as)) {
                    Some(found)
                } else if stages.iter().any(|s| s == image) {
                    None
                } else {
                    Some(image.to_owned())
                };
                out.push(resolved);
                stages.push(alias.unwrap_or("").to_owned());
            }
            Some("COPY") => {
                if let Some(from) = words.iter().find_map(|w| w.strip_prefix("--from=")) {
                    let is_stage = stages.iter().any(|s| s == from)
                        || from.parse::<usize>().is_ok_and(|i| i < stages.len());
                    out.push(match by_as(from) {
                        Some(found) => Some(found),
                        None if is_stage => None,
                        None => Some(from.to_owned()),
                    });
                }
            }
            _ => {}
        }
    }
    out
}

#[tokio::test]
async fn ci_operator_rules_applied_to_the_rendered_configs_give_the_planned_images() {
    let dir = tempfile::tempdir().unwrap();
    // The one external image made an app.ci ImageStream tag, so every FROM is expressible.
    let manifest = common::okd_mini_git(dir.path(), |t| {
        t.replace(
            "image: localhost/okd-mini/busybox:1.36",
            "image: registry.ci.openshift.org/okd/busybox:1.36",
        )
    });
    let plan = common::plan_of(&manifest, dir.path()).await;
    let rendered = common::backend_plan(Strategy::Prow, &[], plan.clone()).await;
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    let configs: BTreeMap<String, Value> = rendered
        .artifacts
        .iter()
        .filter(|a| a.path.starts_with("ci-operator/config/"))
        .flat_map(|a| {
            let config: Value = serde_saphyr::from_str(&a.content).unwrap();
            a.components.iter().map(move |c| (c.clone(), config.clone())).collect::<Vec<_>>()
        })
        .collect();
    let stream = |tag: &str| format!("registry.ci.openshift.org/origin/scos-4.17:{tag}");
    let mut checked = 0;
    for planned in &plan.components {
        let config = &configs[&planned.name];
        let item = config["images"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["to"] == planned.name.as_str())
            .unwrap();
        let text =
            std::fs::read_to_string(dir.path().join("src/okd").join(&planned.name).join(&planned.dockerfile))
                .unwrap();
        let got = build_api(&text, item, config);
        let wanted: Vec<Option<String>> = planned
            .stages
            .iter()
            .filter(|r| matches!(r.kind, RefKind::From | RefKind::CopyFrom))
            .map(|r| match (&r.rule, &r.target) {
                (Rule::Stage | Rule::Scratch, _) => None,
                (_, Some(Target::Member(m))) => Some(stream(m)),
                (_, Some(Target::Stream(s))) => Some(plan.release.streams[s].image.clone()),
                (_, Some(Target::Image(i))) => Some(i.clone()),
                (_, None) => Some(r.expanded.clone()),
            })
            .collect();
        // A reference written with an ARG is built from its expansion.
        let got: Vec<Option<String>> = got
            .into_iter()
            .zip(planned.stages.iter().filter(|r| matches!(r.kind, RefKind::From | RefKind::CopyFrom)))
            .map(|(g, r)| g.map(|g| if g == r.original { r.expanded.clone() } else { g }))
            .collect();
        assert_eq!(got, wanted, "{}: {item}", planned.name);
        checked += wanted.iter().flatten().count();
    }
    assert!(checked >= 20, "checked {checked} references");
}
