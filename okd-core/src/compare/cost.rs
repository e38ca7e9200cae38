//! What a backend's configuration costs: the files its render writes, counted from the plan's
//! artifacts (the same list `okd render` writes, so the numbers equal the files on disk).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::backend::{Artifact, ArtifactKind};

/// Files, lines and bytes of a set of files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Size {
    /// How many files.
    pub files: usize,
    /// Their lines (a last line without a newline counts).
    pub lines: usize,
    /// Their bytes.
    pub bytes: usize,
}

impl Size {
    fn add(&mut self, content: &str) {
        self.files += 1;
        self.lines += content.lines().count();
        self.bytes += content.len();
    }
}

/// One repository's share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepositoryCost {
    /// `org/repo`, or [`OWN_REPOSITORY`] for the backend's own configuration place.
    pub repository: String,
    /// What lands there.
    #[serde(flatten)]
    pub size: Size,
    /// How many of those files fork an upstream file.
    pub forks: usize,
}

/// Stands for artifacts with no repository: the backend's own configuration (a tenant
/// namespace, a cluster), which `okd render` writes under the backend's folder.
pub const OWN_REPOSITORY: &str = "(backend's own)";

/// The configuration cost of one backend for one release.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConfigCost {
    /// Every file.
    #[serde(flatten)]
    pub total: Size,
    /// Distinct repositories the files land in (the backend's own place counts as one).
    pub repositories: usize,
    /// Files that fork an upstream file (`Dockerfile.okd`): each must follow its upstream by hand.
    pub forks: usize,
    /// Files someone keeps (configs and forks), as opposed to files generated at build time.
    pub kept: Size,
    /// By kind: `config`, `fork`, `generated`.
    pub by_kind: BTreeMap<ArtifactKind, Size>,
    /// By repository, most files first.
    pub by_repository: Vec<RepositoryCost>,
}

/// The cost of `artifacts`.
pub fn config_cost(artifacts: &[Artifact]) -> ConfigCost {
    let mut cost = ConfigCost::default();
    let mut repos: BTreeMap<&str, RepositoryCost> = BTreeMap::new();
    for a in artifacts {
        cost.total.add(&a.content);
        cost.by_kind.entry(a.kind).or_default().add(&a.content);
        if a.kind != ArtifactKind::Generated {
            cost.kept.add(&a.content);
        }
        let name = a.repository.as_deref().unwrap_or(OWN_REPOSITORY);
        let repo = repos.entry(name).or_insert_with(|| RepositoryCost {
            repository: name.to_owned(),
            size: Size::default(),
            forks: 0,
        });
        repo.size.add(&a.content);
        if a.kind == ArtifactKind::Fork {
            repo.forks += 1;
            cost.forks += 1;
        }
    }
    cost.repositories = repos.len();
    cost.by_repository = repos.into_values().collect();
    cost.by_repository.sort_by(|a, b| b.size.files.cmp(&a.size.files).then(a.repository.cmp(&b.repository)));
    cost
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(repository: Option<&str>, path: &str, content: &str, kind: ArtifactKind) -> Artifact {
        Artifact {
            repository: repository.map(str::to_owned),
            path: path.into(),
            content: content.into(),
            components: vec![],
            kind,
        }
    }

    #[test]
    fn counts_files_lines_bytes_by_repository_and_kind() {
        let cost = config_cost(&[
            artifact(Some("openshift/cli"), ".tekton/cli-push.yaml", "a: 1\nb: 2\n", ArtifactKind::Config),
            artifact(Some("openshift/cli"), "Dockerfile.okd", "FROM x\nRUN y", ArtifactKind::Fork),
            artifact(None, "konflux/tenant.yaml", "kind: Application\n", ArtifactKind::Config),
            artifact(None, "build/Dockerfile", "FROM z\n", ArtifactKind::Generated),
        ]);
        assert_eq!(cost.total, Size { files: 4, lines: 6, bytes: 10 + 12 + 18 + 7 });
        assert_eq!(cost.repositories, 2);
        assert_eq!(cost.forks, 1);
        assert_eq!(cost.kept.files, 3);
        assert_eq!(cost.by_kind[&ArtifactKind::Generated].files, 1);
        assert_eq!(cost.by_repository[0].repository, "(backend's own)");
        assert_eq!(cost.by_repository[1].forks, 1);
        assert_eq!(cost.by_repository[1].size.lines, 4);
    }

    #[test]
    fn nothing_costs_nothing() {
        let cost = config_cost(&[]);
        assert_eq!(cost, ConfigCost::default());
    }
}
