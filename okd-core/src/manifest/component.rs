//! The component-level checks of a manifest: sources and paths, variants, positional parents.
//! A second `impl` block of the loader, kept apart so each file stays readable.

use std::{
    collections::BTreeMap,
    path::{Component as PathPart, Path, PathBuf},
};

use serde_saphyr::Location as YamlLocation;

use super::{
    Component, PositionalFrom, Source,
    load::{Loader, Scope},
    raw::{RawComponent, RawFrom, RawOverrides, S},
};
use crate::{Error, Location, Result};

impl Loader<'_> {
    pub(super) fn component(
        &self,
        raw: &RawComponent,
        arches: &[String],
        variant: Option<&str>,
        scope: &Scope<'_>,
    ) -> Result<Component> {
        let name = &raw.name.value;
        let source = self.source(raw)?;
        let arches = match &raw.arches {
            Some(list) => self.arches(list)?,
            None => arches.to_vec(),
        };
        let base = RawOverrides {
            dockerfile: raw.dockerfile.clone(),
            context: raw.context.clone(),
            build_args: raw.build_args.clone(),
            replace: raw.replace.clone(),
            from: raw.from.clone(),
            last_from: raw.last_from.clone(),
        };
        // Every variant is checked, not only the selected one, so a broken variant is found
        // before someone selects it.
        let mut selected = None;
        for (variant_name, overrides) in
            std::iter::once(("", &base)).chain(raw.variants.iter().map(|(k, v)| (k.as_str(), v)))
        {
            let effective =
                if variant_name.is_empty() { clone_overrides(&base) } else { merge(&base, overrides) };
            let component =
                self.effective(name, &source, raw.payload, &arches, &effective, scope, &raw.name)?;
            if variant_name.is_empty() || Some(variant_name) == variant {
                selected = Some(component);
            }
        }
        selected
            .ok_or_else(|| Error::new(crate::ErrorKind::Internal, "component without a base configuration"))
    }

    #[allow(clippy::too_many_arguments)]
    fn effective(
        &self,
        name: &str,
        source: &Source,
        payload: bool,
        arches: &[String],
        o: &RawOverrides,
        scope: &Scope<'_>,
        declared: &S<String>,
    ) -> Result<Component> {
        if let (Some(_), Some(last)) = (&o.from, &o.last_from) {
            self.fail(
                last.referenced,
                format!("component '{name}' sets both `from` and `last_from`"),
                "use `from` (positional, Doozer) or `last_from` (last FROM only, ci-operator), not both",
            )?;
        }
        let dockerfile = o
            .dockerfile
            .as_ref()
            .map_or_else(|| Ok("Dockerfile".to_owned()), |d| self.relative(d, "dockerfile", "the context"))?;
        let context = o
            .context
            .as_ref()
            .map_or_else(|| Ok(".".to_owned()), |c| self.relative(c, "context", "the source root"))?;
        let mut build_args = BTreeMap::new();
        for (key, value) in o.build_args.clone().unwrap_or_default() {
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(Error::invalid_at(
                    declared_location(self, declared),
                    format!("component '{name}' has a build arg named '{key}'"),
                    "build arg names are letters, digits and '_'",
                ));
            }
            build_args.insert(key, value);
        }
        let replace = self.replace_map(o.replace.as_ref().unwrap_or(&BTreeMap::new()), scope)?;
        let from = match &o.from {
            Some(from) => Some(self.positional(&from.value, from.referenced, scope)?),
            None => None,
        };
        let last_from = o.last_from.as_ref().map(|t| self.target(t, scope)).transpose()?;
        Ok(Component {
            name: name.to_owned(),
            source: source.clone(),
            dockerfile,
            context,
            payload,
            arches: arches.to_vec(),
            build_args,
            replace,
            from,
            last_from,
            declared_at: declared_location(self, declared),
        })
    }

    fn positional(&self, raw: &RawFrom, at: YamlLocation, scope: &Scope<'_>) -> Result<PositionalFrom> {
        if raw.builders.is_empty() && raw.final_.is_none() {
            self.fail(
                at,
                "`from` has neither builders nor final",
                "list the parents in FROM order, or remove `from`",
            )?;
        }
        Ok(PositionalFrom {
            builders: raw.builders.iter().map(|t| self.target(t, scope)).collect::<Result<_>>()?,
            final_: raw.final_.as_ref().map(|t| self.target(t, scope)).transpose()?,
        })
    }

    fn source(&self, raw: &RawComponent) -> Result<Source> {
        let s = &raw.source.value;
        match (&s.path, &s.git) {
            (Some(path), None) => {
                if let Some(r) = &s.reference {
                    self.fail(
                        r.referenced,
                        "`ref` applies only to git sources",
                        "remove `ref`, or use `git:` instead of `path:`",
                    )?;
                }
                Ok(Source::Path(PathBuf::from(self.relative(
                    path,
                    "source path",
                    "the manifest's folder",
                )?)))
            }
            (None, Some(url)) => {
                if url.value.trim().is_empty() {
                    self.fail(
                        url.referenced,
                        "the git URL is empty",
                        "give a clone URL (https://, ssh or file://)",
                    )?;
                }
                let reference = s.reference.as_ref().map_or("HEAD", |r| r.value.as_str());
                if reference.is_empty() {
                    self.fail(raw.source.referenced, "the git ref is empty", "name a branch, tag or commit")?;
                }
                Ok(Source::Git { url: url.value.clone(), reference: reference.to_owned() })
            }
            _ => self.fail(
                raw.source.referenced,
                format!(
                    "component '{}' must have exactly one of `path` and `git` in its source",
                    raw.name.value
                ),
                "write source: { path: DIR } or source: { git: URL, ref: REF }",
            ),
        }
    }

    /// A relative path that stays inside its base, checked lexically (it may not exist yet).
    fn relative(&self, value: &S<String>, what: &str, base: &str) -> Result<String> {
        let path = Path::new(&value.value);
        let mut depth = 0i32;
        for part in path.components() {
            match part {
                PathPart::Normal(_) => depth += 1,
                PathPart::CurDir => {}
                PathPart::ParentDir => depth -= 1,
                PathPart::RootDir | PathPart::Prefix(_) => {
                    return self.fail(
                        value.referenced,
                        format!("{what} '{}' is absolute", value.value),
                        format!("write it relative to {base}"),
                    );
                }
            }
            if depth < 0 {
                return self.fail(
                    value.referenced,
                    format!("{what} '{}' leaves {base}", value.value),
                    format!("keep it inside {base}; '..' may not climb above it"),
                );
            }
        }
        if value.value.is_empty() {
            return self.fail(
                value.referenced,
                format!("{what} is empty"),
                format!("write a path relative to {base}, or '.'"),
            );
        }
        Ok(value.value.clone())
    }
}

fn declared_location(loader: &Loader<'_>, declared: &S<String>) -> Location {
    loader.at(declared.referenced)
}

fn clone_overrides(o: &RawOverrides) -> RawOverrides {
    merge(o, &RawOverrides::default())
}

/// A variant's overrides over the component's own values: maps merge (the variant wins per key);
/// everything else is replaced when the variant sets it. A variant that sets `from` drops the
/// base `last_from` and the other way round, since the two mechanisms exclude each other.
fn merge(base: &RawOverrides, variant: &RawOverrides) -> RawOverrides {
    fn map<V: Clone>(
        a: &Option<BTreeMap<String, V>>,
        b: &Option<BTreeMap<String, V>>,
    ) -> Option<BTreeMap<String, V>> {
        match (a, b) {
            (None, None) => None,
            _ => {
                let mut out = a.clone().unwrap_or_default();
                out.extend(b.clone().unwrap_or_default());
                Some(out)
            }
        }
    }
    let (from, last_from) = match (&variant.from, &variant.last_from) {
        (None, None) => (base.from.clone(), base.last_from.clone()),
        (f, l) => (f.clone(), l.clone()),
    };
    RawOverrides {
        dockerfile: variant.dockerfile.clone().or_else(|| base.dockerfile.clone()),
        context: variant.context.clone().or_else(|| base.context.clone()),
        build_args: map(&base.build_args, &variant.build_args),
        replace: map(&base.replace, &variant.replace),
        from,
        last_from,
    }
}
