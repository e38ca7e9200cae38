//! From read configs to components: each image item's `from` and `inputs.*.as` become targets
//! (`member:` for images built in the release, `stream:` for base images), tags promoted from two
//! places are refused, and cycles through promoted base images are cut.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
};

use okd_core::{Error, Location, Result, doozer::Warning, manifest::is_dns1123_label};

use super::{DroppedAlias, SkippedImage, parse::Config};

/// Pipeline tags ci-operator makes from the repository itself.
const REPO_TAGS: &[&str] = &["root", "src", "bin", "test-bin", "rpms"];

/// A FROM target, and for a member that stands for a promoted base image, the base image's
/// stream: what CI would use, and what a cycle falls back to.
#[derive(Debug, Clone)]
pub(super) struct Tgt {
    pub(super) text: String,
    pub(super) fallback: Option<String>,
    /// Where it was written (the `from` or `inputs.<tag>` line).
    pub(super) line: u32,
}

/// A component, as it will be written.
#[derive(Debug, Clone)]
pub(super) struct Comp {
    pub(super) name: String,
    pub(super) to: String,
    pub(super) file: PathBuf,
    pub(super) config: usize,
    pub(super) to_at: Location,
    pub(super) git: String,
    pub(super) reference: String,
    pub(super) dockerfile: Option<String>,
    pub(super) context: Option<String>,
    pub(super) payload: bool,
    pub(super) arches: Option<Vec<String>>,
    pub(super) build_args: BTreeMap<String, String>,
    pub(super) last_from: Option<Tgt>,
    pub(super) replace: BTreeMap<String, Tgt>,
}

impl Comp {
    /// Whether `other` builds the same image the same way (where it was read from aside).
    fn same_build(&self, other: &Comp) -> bool {
        fn targets(c: &Comp) -> (Option<&str>, Vec<(&str, &str)>) {
            let replace = c.replace.iter().map(|(k, t)| (k.as_str(), t.text.as_str())).collect();
            (c.last_from.as_ref().map(|t| t.text.as_str()), replace)
        }
        (
            &self.git,
            &self.reference,
            &self.dockerfile,
            &self.context,
            self.payload,
            &self.arches,
            &self.build_args,
        ) == (
            &other.git,
            &other.reference,
            &other.dockerfile,
            &other.context,
            other.payload,
            &other.arches,
            &other.build_args,
        ) && targets(self) == targets(other)
    }

    /// Each target with what it is for (`from`, or the replacement of a reference).
    fn targets(&self) -> impl Iterator<Item = (String, &Tgt)> {
        let last = self.last_from.iter().map(|t| ("from".to_owned(), t));
        last.chain(self.replace.iter().map(|(k, t)| (format!("the replacement of {k}"), t)))
    }

    fn targets_mut(&mut self) -> impl Iterator<Item = (String, &mut Tgt)> {
        let last = self.last_from.iter_mut().map(|t| ("from".to_owned(), t));
        last.chain(self.replace.iter_mut().map(|(k, t)| (format!("the replacement of {k}"), t)))
    }
}

/// Everything mapping produced.
#[derive(Debug, Default)]
pub(super) struct Mapped {
    pub(super) comps: Vec<Comp>,
    /// Stream name -> pull spec, for every stream a target may name.
    pub(super) streams: BTreeMap<String, String>,
    pub(super) dropped: Vec<DroppedAlias>,
    pub(super) skipped: Vec<SkippedImage>,
    pub(super) warnings: Vec<Warning>,
}

/// A DNS-1123 label for tag `to` (lowercase, `-` for anything else, at most 63 characters).
pub(super) fn component_name(to: &str) -> String {
    let mapped: String =
        to.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let short: String = mapped.trim_matches('-').chars().take(63).collect();
    let name = short.trim_end_matches('-').to_owned();
    if name.is_empty() { "image".to_owned() } else { name }
}

struct Mapper<'a> {
    configs: &'a [Config],
    /// (namespace, name, tag) a config promotes to -> the component that builds it.
    promoted: BTreeMap<(String, String, String), String>,
    /// (config, alias) -> stream name.
    stream_of: BTreeMap<(usize, String), String>,
    out: Mapped,
}

pub(super) fn map_all(configs: &[Config]) -> Result<Mapped> {
    let mut promoted = BTreeMap::new();
    for config in configs {
        for item in config.items.iter().filter(|i| i.skip.is_none()) {
            for target in config.promotion.iter().filter(|p| p.promotes(&item.to)) {
                promoted.entry(target.stream_tag(&item.to)).or_insert_with(|| component_name(&item.to));
            }
        }
    }
    let mut m = Mapper { configs, promoted, stream_of: BTreeMap::new(), out: Mapped::default() };
    let mut comps: Vec<Comp> = Vec::new();
    for (ci, config) in configs.iter().enumerate() {
        for comp in m.config(ci, config) {
            match comps.iter().find(|c| c.name == comp.name) {
                Some(first) if first.same_build(&comp) => {
                    let tags = |c: &Comp| -> BTreeSet<_> {
                        let config = &configs[c.config];
                        config
                            .promotion
                            .iter()
                            .filter(|p| p.promotes(&c.to))
                            .map(|p| p.stream_tag(&c.to))
                            .collect()
                    };
                    let both = if tags(first).is_disjoint(&tags(&comp)) {
                        ""
                    } else {
                        " (both promote it to the same tag, which ci-operator refuses)"
                    };
                    let message = format!(
                        "image {}: {}:{} builds it the same way; it is imported once{both}",
                        comp.to,
                        first.file.display(),
                        first.to_at.line
                    );
                    m.warn(&comp.file, comp.to_at.line, message);
                }
                Some(first) => {
                    return Err(Error::invalid_at(
                        comp.to_at.clone(),
                        format!(
                            "component {} is built by two configs: {}:{} and {}:{}",
                            comp.name,
                            first.file.display(),
                            first.to_at.line,
                            comp.file.display(),
                            comp.to_at.line
                        ),
                        "a release has one component per name (and ci-operator promotes a tag from one \
                         place only); import one of the two configs: pass fewer PATHs, or --variant",
                    ));
                }
                None => comps.push(comp),
            }
        }
    }
    break_cycles(&mut comps, &mut m.out.warnings)?;
    m.out.comps = comps;
    Ok(m.out)
}

impl Mapper<'_> {
    fn warn(&mut self, file: &std::path::Path, line: u32, message: String) {
        self.out.warnings.push(Warning { file: file.to_owned(), line: line.max(1), message });
    }

    fn config(&mut self, ci: usize, config: &Config) -> Vec<Comp> {
        let mut comps = Vec::new();
        for item in &config.items {
            if let Some(reason) = &item.skip {
                self.out.skipped.push(SkippedImage {
                    file: config.file.clone(),
                    line: item.line,
                    image: item.to.clone(),
                    reason: reason.clone(),
                });
                continue;
            }
            let name = component_name(&item.to);
            if !is_dns1123_label(&item.to) {
                self.warn(
                    &config.file,
                    item.to_at.line,
                    format!(
                        "image {}: the name is not a DNS-1123 label; the component is called {name}",
                        item.to
                    ),
                );
            }
            let last_from = item.from.as_ref().and_then(|(tag, line)| match self.resolve(ci, tag, &name) {
                Ok(t) => Some(Tgt { line: *line, ..t }),
                Err(why) => {
                    self.warn(&config.file, *line, format!(
                        "image {}: from {tag} cannot be mapped: {why}; the Dockerfile's last FROM is left as written",
                        item.to
                    ));
                    None
                }
            });
            let mut replace: BTreeMap<String, Tgt> = BTreeMap::new();
            for input in &item.inputs {
                let (refs, words): (Vec<_>, Vec<_>) =
                    input.names.iter().partition(|(n, _)| n.contains('/') || n.contains(':'));
                // A bare word is a stage alias (`FROM ... AS builder`): okd-build resolves stage
                // references before any replacement, so the literal reference beside it is what
                // matters.
                for (word, line) in words {
                    self.out.dropped.push(DroppedAlias {
                        file: config.file.clone(),
                        line: *line,
                        component: name.clone(),
                        input: input.tag.clone(),
                        alias: word.clone(),
                    });
                }
                if refs.is_empty() {
                    continue;
                }
                let target = match self.resolve(ci, &input.tag, &name) {
                    Ok(t) => t,
                    Err(why) => {
                        let list: Vec<&str> = refs.iter().map(|(r, _)| r.as_str()).collect();
                        self.warn(
                            &config.file,
                            input.line,
                            format!(
                                "image {}: inputs.{} cannot be mapped: {why}; {} is left as written",
                                item.to,
                                input.tag,
                                list.join(", ")
                            ),
                        );
                        continue;
                    }
                };
                for (reference, line) in refs {
                    if let Some(earlier) = replace.get(reference) {
                        if earlier.text != target.text {
                            self.warn(&config.file, *line, format!(
                                "image {}: {reference} is also replaced by an earlier input ({}); that one is kept",
                                item.to, earlier.text
                            ));
                        }
                        continue;
                    }
                    replace.insert(reference.clone(), Tgt { line: *line, ..target.clone() });
                }
            }
            let (org, repo) =
                item.repo.clone().unwrap_or_else(|| (config.info.org.clone(), config.info.repo.clone()));
            comps.push(Comp {
                name,
                to: item.to.clone(),
                file: config.file.clone(),
                config: ci,
                to_at: item.to_at.clone(),
                git: format!("{}{org}/{repo}", super::GITHUB),
                reference: config.info.branch.clone(),
                dockerfile: item.dockerfile.clone().filter(|d| !d.is_empty() && d != "Dockerfile"),
                context: item.context.clone().filter(|c| !c.is_empty() && c != "."),
                payload: config.promoted(&item.to),
                arches: item.arches.clone(),
                build_args: item.build_args.clone(),
                last_from,
                replace,
            });
        }
        comps
    }

    /// The target pipeline tag `tag` of config `ci` stands for in component `me`, or why it
    /// has none.
    fn resolve(&mut self, ci: usize, tag: &str, me: &str) -> std::result::Result<Tgt, String> {
        let config = &self.configs[ci];
        if let Some(item) = config.items.iter().find(|i| i.to == tag) {
            return match &item.skip {
                Some(why) => Err(format!("image {tag} of this config is not imported ({why})")),
                None if component_name(tag) == me => Err("it names the image itself".into()),
                None => Ok(Tgt { text: format!("member:{}", component_name(tag)), fallback: None, line: 0 }),
            };
        }
        if let Some(base) = config.base_image(tag) {
            let stream = format!("stream:{}", self.stream_name(ci, tag));
            let key = (base.namespace.clone(), base.name.clone(), base.tag.clone());
            return Ok(match self.promoted.get(&key).filter(|_| base.registry.is_none()) {
                // Built in this release: CI would take the image another imported config
                // promoted there, so the release builds it first.
                Some(member) => Tgt { text: format!("member:{member}"), fallback: Some(stream), line: 0 },
                None => Tgt { text: stream, fallback: None, line: 0 },
            });
        }
        Err(if REPO_TAGS.contains(&tag) {
            format!(
                "pipeline:{tag} is built by ci-operator from the repository (build_root, *_build_commands); okd-build has no such image"
            )
        } else if config.raw_step_tags.iter().any(|t| t == tag) {
            format!("pipeline:{tag} is made by raw_steps, which are not imported")
        } else {
            format!("pipeline:{tag} names no base image and no image of this config")
        })
    }

    /// The stream for base image `alias` of config `ci`: named by the alias, unless another
    /// config already uses that alias for another image.
    fn stream_name(&mut self, ci: usize, alias: &str) -> String {
        if let Some(name) = self.stream_of.get(&(ci, alias.to_owned())) {
            return name.clone();
        }
        let config = &self.configs[ci];
        let Some(base) = config.base_image(alias) else { return alias.to_owned() };
        let image = base.pull_spec();
        let (mut name, mut n) = (alias.to_owned(), 2);
        while let Some(other) = self.out.streams.get(&name).filter(|other| **other != image) {
            if n == 2 {
                let message = format!(
                    "base image {alias} is {image} here, but stream {alias} is already {other}; this one becomes stream {alias}-2 (or the next free number)"
                );
                self.out.warnings.push(Warning { file: config.file.clone(), line: base.line, message });
            }
            name = format!("{alias}-{n}");
            n += 1;
        }
        self.out.streams.insert(name.clone(), image);
        self.stream_of.insert((ci, alias.to_owned()), name.clone());
        name
    }
}

/// A `member:` edge: (component, which target).
type Edge = (usize, String);

/// A cycle of `member:` targets cannot be built. One that goes through a promoted base image
/// is cut there: that target goes back to the base image's stream, the image CI last promoted.
/// One made only of the configs' own `from`/`inputs` is an error, as in ci-operator.
fn break_cycles(comps: &mut [Comp], warnings: &mut Vec<Warning>) -> Result<()> {
    loop {
        let index: BTreeMap<String, usize> =
            comps.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
        let mut state = vec![0u8; comps.len()];
        let mut cycle = None;
        for start in 0..comps.len() {
            if state[start] == 0 {
                cycle = find_cycle(comps, &index, start, &mut state, &mut Vec::new());
                if cycle.is_some() {
                    break;
                }
            }
        }
        let Some(cycle) = cycle else { return Ok(()) };
        let names: Vec<String> = cycle.iter().map(|(c, _)| comps[*c].name.clone()).collect();
        let soft = cycle
            .iter()
            .find(|(c, what)| comps[*c].targets().any(|(w, t)| w == *what && t.fallback.is_some()));
        let Some((c, what)) = soft.cloned() else {
            return Err(Error::invalid_at(
                comps[cycle[0].0].to_at.clone(),
                format!("images {} -> {} build on each other", names.join(" -> "), names[0]),
                "ci-operator refuses such a cycle too; fix the images' from and inputs",
            ));
        };
        let comp = &mut comps[c];
        let (file, to) = (comp.file.clone(), comp.to.clone());
        if let Some((_, t)) = comp.targets_mut().find(|(w, _)| *w == what)
            && let Some(stream) = t.fallback.take()
        {
            let message = format!(
                "image {to}: {what} would be {} but that builds on this image ({} -> {}); it stays {stream}, the image CI last promoted",
                t.text,
                names.join(" -> "),
                names[0]
            );
            warnings.push(Warning { file, line: t.line.max(1), message });
            t.text = stream;
        }
    }
}

fn find_cycle(
    comps: &[Comp],
    index: &BTreeMap<String, usize>,
    u: usize,
    state: &mut [u8],
    path: &mut Vec<Edge>,
) -> Option<Vec<Edge>> {
    state[u] = 1;
    let edges: Vec<(String, String)> = comps[u]
        .targets()
        .filter_map(|(what, t)| t.text.strip_prefix("member:").map(|m| (what, m.to_owned())))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for (what, member) in edges {
        let Some(&v) = index.get(&member) else { continue };
        path.push((u, what));
        if state[v] == 1 {
            let start = path.iter().position(|(n, _)| *n == v).unwrap_or(0);
            return Some(path[start..].to_vec());
        }
        if state[v] == 0
            && let Some(cycle) = find_cycle(comps, index, v, state, path)
        {
            return Some(cycle);
        }
        path.pop();
    }
    state[u] = 2;
    None
}
