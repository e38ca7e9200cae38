//! Checks of the hand-kept batch lists against the references the BuildConfigs make, and a cycle
//! check of the `member:` references the manifest will carry.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use super::{
    batches::{FROM_SCRATCH, Schedule},
    map::Comp,
    tree::At,
    warn::{WarningKind, Warns},
};

/// Where each BuildConfig is scheduled: (batch index, batch label, entry place).
pub(super) type Slots = BTreeMap<String, (usize, String, At)>;

/// The slot of every BuildConfig the lists name, with warnings for entries that name no
/// BuildConfig or name one twice.
pub(super) fn slots(schedule: &Schedule, known: &BTreeSet<&str>, warns: &mut Warns) -> Slots {
    let mut slots = Slots::new();
    for (index, (label, entries)) in schedule.batches.iter().enumerate() {
        for entry in entries {
            if !known.contains(entry.name.as_str()) {
                warns.at(
                    WarningKind::BatchList,
                    &entry.at,
                    format!("{label} names {}, which no BuildConfig is called", entry.name),
                );
                continue;
            }
            if let Some((_, first, at)) = slots.get(&entry.name) {
                warns.at(
                    WarningKind::BatchList,
                    &entry.at,
                    format!(
                        "{label} builds {} again (it is in {first}, line {}); the first is counted",
                        entry.name, at.line
                    ),
                );
                continue;
            }
            slots.insert(entry.name.clone(), (index, label.clone(), entry.at.clone()));
        }
    }
    slots
}

/// A component in no batch; a component scheduled no later than one of its parents.
pub(super) fn check(comps: &[Comp], slots: &Slots, root: &Path, warns: &mut Warns) {
    let by_name: BTreeMap<&str, &Comp> = comps.iter().map(|c| (c.name.as_str(), c)).collect();
    for c in comps {
        let Some((index, label, at)) = slots.get(&c.bc.name) else {
            warns.at(
                WarningKind::NotInBatch,
                &c.bc.at,
                format!(
                    "BuildConfig {} is in no batch of {FROM_SCRATCH}: a build from scratch never builds it",
                    c.bc.name
                ),
            );
            continue;
        };
        let mut seen = BTreeSet::new();
        for (parent, reference, ref_at) in &c.parents {
            let Some(p) = by_name.get(parent.as_str()) else { continue };
            if !seen.insert(parent) {
                continue;
            }
            match slots.get(&p.bc.name) {
                None => warns.at(WarningKind::BuildOrder, at, format!(
                    "{} ({label}) takes {reference} ({}), but BuildConfig {} is in no batch",
                    c.bc.name, ref_at.shown(root), p.bc.name
                )),
                Some((pi, plabel, _)) if pi >= index => warns.at(WarningKind::BuildOrder, at, format!(
                    "{} ({label}) takes {reference} ({}), but BuildConfig {} is built {}: a parent must be in an earlier batch",
                    c.bc.name,
                    ref_at.shown(root),
                    p.bc.name,
                    if pi == index { "in the same batch".to_owned() } else { format!("later, in {plabel}") }
                )),
                Some(_) => {}
            }
        }
    }
}

/// The `member:` references of each component's own settings must not form a cycle (the
/// manifest refuses one); the reference that closes one is dropped, with a warning.
pub(super) fn break_cycles(comps: &mut [Comp], warns: &mut Warns) {
    loop {
        let index: BTreeMap<String, usize> =
            comps.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
        let edges = |c: &Comp| -> Vec<usize> {
            let targets = c.replace.values().chain(c.last_from.iter());
            targets.filter_map(|t| t.strip_prefix("member:")).filter_map(|m| index.get(m).copied()).collect()
        };
        let Some((from, to)) = find_cycle(comps.len(), |i| edges(&comps[i])) else { return };
        let target = format!("member:{}", comps[to].name);
        let c = &mut comps[from];
        let at = c.bc.at.clone();
        c.replace.retain(|_, t| *t != target);
        if c.last_from.as_ref() == Some(&target) {
            c.last_from = None;
        }
        warns.at(WarningKind::MissingParent, &at, format!(
            "{} and {} take each other's images (a cycle); {}'s reference to {target} is left out and stays external",
            c.name,
            target.trim_start_matches("member:"),
            c.name
        ));
    }
}

/// An edge that closes a cycle, by depth-first search.
fn find_cycle(n: usize, edges: impl Fn(usize) -> Vec<usize>) -> Option<(usize, usize)> {
    let mut state = vec![0u8; n];
    for start in 0..n {
        if state[start] != 0 {
            continue;
        }
        let mut stack = vec![(start, edges(start), 0usize)];
        state[start] = 1;
        while let Some((node, next, i)) = stack.last_mut() {
            if let Some(&to) = next.get(*i) {
                *i += 1;
                match state[to] {
                    0 => {
                        state[to] = 1;
                        let e = edges(to);
                        stack.push((to, e, 0));
                    }
                    1 => return Some((*node, to)),
                    _ => {}
                }
            } else {
                state[*node] = 2;
                stack.pop();
            }
        }
    }
    None
}
