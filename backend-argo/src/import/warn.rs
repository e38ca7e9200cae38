//! The import's warnings, each of a kind (so a report can count them) and each located. Fields
//! that almost every BuildConfig sets and that only tune the build engine
//! (`imageOptimizationPolicy`, kustomize's `resources`) get one warning naming how many set them,
//! at the first, instead of one per BuildConfig.

use std::collections::{BTreeMap, BTreeSet};

use okd_core::Warning;
use serde::Serialize;

use super::tree::At;

/// What a warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WarningKind {
    /// A kustomization key, patch or target the importer does not apply.
    Kustomize,
    /// A BuildConfig or ImageStream field the manifest has no place for.
    Unmapped,
    /// A component named after its output tag, not its BuildConfig.
    Renamed,
    /// A `release` ImageStream tag that no BuildConfig builds (placeholders, re-tags).
    Placeholder,
    /// A Dockerfile copied from `release:forked-dockerfiles`.
    ForkedDockerfile,
    /// An image reference (`release:x`, `tools:x`) that nothing provides.
    MissingParent,
    /// A component the batch lists schedule no later than one of its parents.
    BuildOrder,
    /// A BuildConfig that no batch list builds.
    NotInBatch,
    /// A batch list entry that names no BuildConfig, twice the same one, or overrides a source.
    BatchList,
    /// A BuildConfig that did not become a component.
    Skipped,
    /// Another resource kind (Namespace, ...) or another ImageStream.
    OtherResource,
}

#[derive(Debug, Default)]
pub(super) struct Warns {
    list: Vec<(WarningKind, Warning)>,
    seen: BTreeSet<(String, u32, String)>,
    /// Engine-tuning fields: where their warning goes, who sets them, and why they are dropped.
    fields: BTreeMap<String, (At, Vec<String>, String)>,
}

impl Warns {
    pub(super) fn at(&mut self, kind: WarningKind, at: &At, message: impl Into<String>) {
        let warning = at.warning(message);
        let key = (warning.file.display().to_string(), warning.line, warning.message.clone());
        if self.seen.insert(key) {
            self.list.push((kind, warning));
        }
    }

    /// `field` of `owner` is not imported because `why`; one warning per field overall.
    pub(super) fn field(&mut self, field: &str, at: &At, owner: &str, why: &str) {
        let entry =
            self.fields.entry(field.to_owned()).or_insert_with(|| (at.clone(), Vec::new(), why.into()));
        entry.1.push(owner.to_owned());
    }

    pub(super) fn finish(mut self) -> Vec<(WarningKind, Warning)> {
        for (field, (at, owners, why)) in std::mem::take(&mut self.fields) {
            let shown = if owners.len() > 4 {
                format!("{}, ... ({} BuildConfigs)", owners[..3].join(", "), owners.len())
            } else {
                owners.join(", ")
            };
            self.at(WarningKind::Unmapped, &at, format!("{field} (on {shown}) is not imported: {why}"));
        }
        self.list
    }
}
