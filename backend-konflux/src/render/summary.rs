//! `konflux/repositories.yaml`: what the Konflux-only approach costs each repository, so a
//! comparison counts every file a team would have to carry, including OKD Dockerfiles that could
//! not be written because the source was not read.

use std::collections::BTreeMap;

use okd_core::{Result, backend::Artifact};
use serde_json::{Value, json};

use super::{
    ComponentView, View,
    dockerfile::OkdDockerfile,
    in_repo,
    pipelinerun::{Event, tekton_file},
    tenant::yaml,
};

fn okd_state(c: &ComponentView) -> Value {
    match &c.okd {
        OkdDockerfile::NotNeeded if c.generated_args.is_empty() => json!("not needed"),
        OkdDockerfile::NotNeeded => json!("not needed: FROM images come from build args"),
        OkdDockerfile::Written { path, .. } => json!({"written": in_repo(&c.context, path)}),
        OkdDockerfile::Unread { path } => {
            json!({"needed": in_repo(&c.context, path), "not written": "the source was not read (run with its git cache)"})
        }
    }
}

/// One repository's files and components, and the component that names its URL and branch.
type Entry<'v> = (Vec<String>, BTreeMap<&'v str, Value>, &'v ComponentView);

pub(super) fn repositories(view: &View, artifacts: &[Artifact]) -> Result<String> {
    // Every component's repository counts, also one whose files could not be rendered.
    let mut repos: BTreeMap<&str, Entry<'_>> = BTreeMap::new();
    for c in &view.components {
        repos.entry(c.repo.slug.as_str()).or_insert_with(|| (Vec::new(), BTreeMap::new(), c));
    }
    for a in artifacts {
        if let Some(repo) = &a.repository
            && let Some(entry) = repos.get_mut(repo.as_str())
        {
            entry.0.push(a.path.clone());
        }
    }
    let (mut unread, mut written) = (0usize, 0usize);
    for c in &view.components {
        let Some(entry) = repos.get_mut(c.repo.slug.as_str()) else { continue };
        match &c.okd {
            OkdDockerfile::Unread { path } => {
                // Not rendered, but the repository would carry them all the same.
                unread += 1;
                entry.0.push(in_repo(&c.context, path));
                for event in [Event::PullRequest, Event::Push] {
                    entry.0.push(tekton_file(&c.name, event));
                }
            }
            OkdDockerfile::Written { .. } => written += 1,
            OkdDockerfile::NotNeeded => {}
        }
        let mut about = json!({
            "builds": in_repo(&c.context, &c.dockerfile),
            "okd_dockerfile": okd_state(c),
        });
        if !c.generated_args.is_empty() {
            about["from_build_args"] = json!(c.generated_args);
        }
        entry.1.insert(c.name.as_str(), about);
    }
    let repositories: BTreeMap<&str, Value> = repos
        .into_iter()
        .map(|(slug, (mut files, components, first))| {
            files.sort();
            files.dedup();
            let mut entry = json!({"url": first.repo.url, "branch": first.branch, "files": files, "components": components});
            if first.path_source {
                entry["note"] = json!("a path source: rendered as if the folder were this repository");
            }
            (slug, entry)
        })
        .collect();
    let files: usize = repositories.values().filter_map(|r| r["files"].as_array()).map(Vec::len).sum();
    let body = json!({
        "totals": {
            "repositories": repositories.len(),
            "files": files,
            "okd_dockerfiles_written": written,
            "okd_dockerfiles_not_written": unread,
        },
        "repositories": repositories,
    });
    Ok(format!(
        "# What each repository must carry for the Konflux-only approach, rendered by okd-build.\n{}",
        yaml(&body)?
    ))
}
