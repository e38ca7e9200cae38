//! The FROM verdict table: for every FROM and `--from` of every component, what each backend
//! does with it, and totals per backend.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::{
    backend::{BackendPlan, ReferenceVerdict, Verdict},
    dockerfile::RefKind,
    plan::Plan,
};

/// One reference and each backend's verdict on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReferenceRow {
    /// The component.
    pub component: String,
    /// 1-based line in its Dockerfile.
    pub line: u32,
    /// FROM, COPY --from, ADD --from or RUN --mount from=.
    pub kind: RefKind,
    /// As written.
    pub original: String,
    /// What the plan resolved it to.
    pub resolved: String,
    /// The rule that decided it.
    pub rule: &'static str,
    /// Backend name → verdict. A backend with no verdict here did not map this component (its
    /// plan failed, or it records none).
    pub verdicts: BTreeMap<String, Verdict>,
}

impl ReferenceRow {
    /// Whether any backend needs a fork or cannot express it.
    pub fn contested(&self) -> bool {
        self.verdicts.values().any(|v| matches!(v, Verdict::Fork { .. } | Verdict::Cannot { .. }))
    }
}

/// Verdict counts of one backend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerdictTotals {
    /// Nothing to replace.
    pub unchanged: usize,
    /// Replaced by the system's own configuration.
    pub native: usize,
    /// Only a forked Dockerfile says it.
    pub fork: usize,
    /// Cannot be expressed.
    pub cannot: usize,
    /// Native verdicts by mechanism (`inputs-as`, `build-arg`, ...).
    pub by_mechanism: BTreeMap<&'static str, usize>,
    /// Cannot verdicts by reason (`stage-name`, ...).
    pub by_limit: BTreeMap<&'static str, usize>,
}

impl VerdictTotals {
    /// The totals of `verdicts`.
    pub fn of<'a>(verdicts: impl IntoIterator<Item = &'a Verdict>) -> Self {
        let mut totals = VerdictTotals::default();
        for v in verdicts {
            match v {
                Verdict::Unchanged => totals.unchanged += 1,
                Verdict::Native { how } => {
                    totals.native += 1;
                    *totals.by_mechanism.entry(how.as_str()).or_default() += 1;
                }
                Verdict::Fork { .. } => totals.fork += 1,
                Verdict::Cannot { why } => {
                    totals.cannot += 1;
                    *totals.by_limit.entry(why.as_str()).or_default() += 1;
                }
            }
        }
        totals
    }
}

/// Every reference of `plan`, in build order, with the verdicts of `backends`.
pub fn reference_rows(plan: &Plan, backends: &[&BackendPlan]) -> Vec<ReferenceRow> {
    type Key<'a> = (&'a str, u32, RefKind, &'a str);
    let mut by_backend: Vec<(&str, HashMap<Key<'_>, &ReferenceVerdict>)> = Vec::new();
    for b in backends {
        let map = b
            .verdicts
            .iter()
            .map(|v| ((v.component.as_str(), v.line, v.kind, v.original.as_str()), v))
            .collect();
        by_backend.push((b.backend, map));
    }
    let mut rows = Vec::new();
    for c in &plan.components {
        for r in &c.stages {
            let key = (c.name.as_str(), r.line, r.kind, r.original.as_str());
            let verdicts = by_backend
                .iter()
                .filter_map(|(name, map)| map.get(&key).map(|v| ((*name).to_owned(), v.verdict.clone())))
                .collect();
            rows.push(ReferenceRow {
                component: c.name.clone(),
                line: r.line,
                kind: r.kind,
                original: r.original.clone(),
                resolved: r.resolved.clone(),
                rule: r.rule.as_str(),
                verdicts,
            });
        }
    }
    rows
}
