//! ci-operator-checkconfig's cross-config rule (reference §1.5): across every config of
//! openshift/release, an output tag `<namespace>/<name>:<image>` is promoted from one place.
//! Rendering checks its own configs, together with the configs of a checkout of openshift/release
//! when the `release_repo` setting names one (the rendered files replace those at their paths).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use okd_core::{Error, Result};
use serde_json::Value;

/// The tags a config promotes, as `namespace/name:tag`.
pub(crate) fn promoted_tags(config: &Value) -> Vec<String> {
    let items = match &config["images"] {
        Value::Array(items) => items.clone(),
        images => images["items"].as_array().cloned().unwrap_or_default(),
    };
    let mut images: Vec<String> = items.iter().filter_map(|i| i["to"].as_str().map(str::to_owned)).collect();
    let mut tags = Vec::new();
    for target in config["promotion"]["to"].as_array().into_iter().flatten() {
        if target["disabled"].as_bool() == Some(true) {
            continue;
        }
        let Some(ns) = target["namespace"].as_str() else { continue };
        let excluded: Vec<&str> =
            target["excluded_images"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let additional =
            target["additional_images"].as_object().into_iter().flatten().map(|(k, _)| k.clone());
        images.extend(additional);
        for image in images.iter().filter(|i| !excluded.contains(&i.as_str()) && !excluded.contains(&"*")) {
            match (target["name"].as_str(), target["tag"].as_str()) {
                (Some(name), _) => tags.push(format!("{ns}/{name}:{image}")),
                (None, Some(tag)) => tags.push(format!("{ns}/{image}:{tag}")),
                (None, None) => {}
            }
        }
    }
    tags.sort();
    tags.dedup();
    tags
}

/// Every `*.yaml` config under `<repo>/ci-operator/config`, parsed; files that do not parse
/// are not configs ci-operator could load either, so they take no part.
pub(crate) fn existing_configs(repo: &Path) -> Result<Vec<(String, Value)>> {
    let root = repo.join("ci-operator").join("config");
    if !root.is_dir() {
        return Err(Error::invalid(format!("{} has no ci-operator/config folder", repo.display()))
            .with_help("the release_repo setting names a checkout of openshift/release"));
    }
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, "read", e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml")
                && let Ok(text) = std::fs::read_to_string(&path)
                && let Ok(value) = serde_saphyr::from_str::<Value>(&text)
            {
                let relative = path.strip_prefix(repo).map_or_else(|_| path.clone(), PathBuf::from);
                found.push((relative.to_string_lossy().into_owned(), value));
            }
        }
    }
    Ok(found)
}

/// Refuses a tag promoted from two configs, naming both files.
pub(crate) fn check(configs: &[(String, Value)]) -> Result<()> {
    let mut owner: BTreeMap<String, &str> = BTreeMap::new();
    for (path, config) in configs {
        for tag in promoted_tags(config) {
            if let Some(first) = owner.get(&tag) {
                if first != path {
                    return Err(Error::invalid(format!(
                        "output tag {tag} is promoted from more than one place: {first} and {path}"
                    ))
                    .with_help("ci-operator-checkconfig refuses this; disable promotion in one of them (promotion.to[].disabled: true) or promote to another stream (--set promotion_name=)"));
                }
            } else {
                owner.insert(tag, path);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    #[test]
    fn one_tag_one_place() {
        let a = json!({"images": {"items": [{"to": "cli"}]}, "promotion": {"to": [{"namespace": "origin", "name": "scos-4.22"}]}});
        let b = json!({"images": [{"to": "cli"}, {"to": "tests"}], "promotion": {"to": [{"namespace": "origin", "name": "scos-4.22", "excluded_images": ["tests"]}]}});
        assert_eq!(promoted_tags(&b), vec!["origin/scos-4.22:cli"]);
        let err = check(&[("a.yaml".into(), a.clone()), ("b.yaml".into(), b)]).unwrap_err();
        assert!(
            err.to_string().contains("origin/scos-4.22:cli") && err.to_string().contains("b.yaml"),
            "{err}"
        );
        let disabled = json!({"images": {"items": [{"to": "cli"}]}, "promotion": {"to": [{"namespace": "origin", "name": "scos-4.22", "disabled": true}]}});
        check(&[("a.yaml".into(), a), ("c.yaml".into(), disabled)]).unwrap();
        let tagged = json!({"images": {"items": [{"to": "cli"}]}, "promotion": {"to": [{"namespace": "ci", "tag": "latest"}]}});
        assert_eq!(promoted_tags(&tagged), vec!["ci/cli:latest"]);
    }
}
