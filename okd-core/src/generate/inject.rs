//! What Doozer adds to a Dockerfile: the release string, the two `ENV` lines after every FROM
//! (`_update_environment_variables`) and the `LABEL` block at the end (`_reflow_labels`).
//!
//! The lines are formatted as Doozer writes them, byte for byte where it matters to tools that
//! read them back: keys sorted in byte order, `K=V` pairs each followed by one space (so the
//! line ends with a space, as in real build branches), and label values in double quotes.

use std::collections::{BTreeMap, btree_map::Entry};

use crate::{
    Result,
    dockerfile::{self, Dockerfile, Edit},
};

/// Everything the injected lines say about one component.
#[derive(Debug, Clone)]
pub(super) struct Stamp {
    /// The component (Doozer's distgit key and image short name).
    pub component: String,
    /// `X.Y.Z` of the release version.
    pub version: String,
    /// `(X, Y, Z)`.
    pub parts: (u64, u64, u64),
    /// The release string, see [`release_string`].
    pub release: String,
    /// Doozer's group, e.g. `okd-4.17`.
    pub group: String,
    /// The runtime uuid, see [`runtime_uuid`].
    pub uuid: String,
    /// Whether this is an OKD (SCOS) build: adds `TAGS=scos`.
    pub scos: bool,
    /// What the source says.
    pub source: SourceFacts,
}

/// What the injected lines say about the source.
#[derive(Debug, Clone)]
pub(super) struct SourceFacts {
    /// The full commit; `None` for a path source.
    pub commit: Option<String>,
    /// The commit's first 7 hex digits, or the content hash's for a path source.
    pub short: String,
    /// Committer time (Unix seconds); the run's time for a path source.
    pub epoch: i64,
    /// `git describe --tags --always`; `None` for a path source.
    pub tag: Option<String>,
    /// The public URL (`.git` stripped from http(s) URLs), or the path as written.
    pub location: String,
    /// Whether `location` is an http(s) URL, so `<location>/commit/<sha>` is a web page.
    pub web: bool,
}

/// Doozer's release string: `<YYYYmmddHHMM>.p2.g<sha7>.assembly.<assembly>.<scos|el><N>`
/// (p2: a public Konflux build; `scos` for OKD).
pub(super) fn release_string(
    timestamp: jiff::Timestamp,
    short: &str,
    assembly: &str,
    scos: bool,
    el: u32,
) -> String {
    let os = if scos { "scos" } else { "el" };
    format!("{}.p2.g{short}.assembly.{assembly}.{os}{el}", timestamp.strftime("%Y%m%d%H%M"))
}

/// The source location the lines name for a git `url`, and whether it is a web page: an
/// http(s) URL loses a trailing `/` and `.git` (Doozer names the public repository page);
/// other URLs (ssh, file) are kept as written.
pub(super) fn public_location(url: &str) -> (String, bool) {
    if url.starts_with("https://") || url.starts_with("http://") {
        let trimmed = url.trim_end_matches('/');
        (trimmed.strip_suffix(".git").unwrap_or(trimmed).to_owned(), true)
    } else {
        (url.to_owned(), false)
    }
}

/// Doozer's runtime uuid: the run's time in UTC as `%Y%m%d.%H%M%S`.
pub(super) fn runtime_uuid(timestamp: jiff::Timestamp) -> String {
    timestamp.strftime("%Y%m%d.%H%M%S").to_string()
}

/// `ENV __doozer=update ...`: the build variables, the `__doozer_*` keys and, for OKD,
/// `TAGS=scos`.
pub(super) fn update_env(s: &Stamp) -> String {
    let (x, y, z) = s.parts;
    let v = &s.version;
    let mut env = BTreeMap::from([
        ("BUILD_RELEASE", s.release.clone()),
        ("BUILD_VERSION", format!("v{v}")),
        ("OS_GIT_MAJOR", x.to_string()),
        ("OS_GIT_MINOR", y.to_string()),
        ("OS_GIT_PATCH", z.to_string()),
        ("OS_GIT_TREE_STATE", "clean".to_owned()),
        ("OS_GIT_VERSION", format!("{v}-{}", s.release)),
        ("SOURCE_GIT_TREE_STATE", "clean".to_owned()),
        ("__doozer_group", s.group.clone()),
        ("__doozer_key", s.component.clone()),
        ("__doozer_uuid_tag", format!("{}-v{v}-{}", s.component, s.uuid)),
        ("__doozer_version", format!("v{v}")),
    ]);
    if s.scos {
        env.insert("TAGS", "scos".to_owned());
    }
    env_line("__doozer=update", &env)
}

/// `ENV __doozer=merge ...`: what the source says. A path source has no commit, so
/// `SOURCE_GIT_COMMIT` and `SOURCE_GIT_TAG` are left out.
pub(super) fn merge_env(s: &Stamp) -> String {
    let f = &s.source;
    let mut env = BTreeMap::from([
        ("OS_GIT_COMMIT", f.short.clone()),
        ("OS_GIT_VERSION", format!("{}-{}-{}", s.version, s.release, f.short)),
        ("SOURCE_DATE_EPOCH", f.epoch.to_string()),
        ("SOURCE_GIT_URL", f.location.clone()),
    ]);
    if let Some(commit) = &f.commit {
        env.insert("SOURCE_GIT_COMMIT", commit.clone());
    }
    if let Some(tag) = &f.tag {
        env.insert("SOURCE_GIT_TAG", tag.clone());
    }
    env_line("__doozer=merge", &env)
}

fn env_line(flag: &str, env: &BTreeMap<&str, String>) -> String {
    let mut line = format!("ENV {flag} ");
    for (key, value) in env {
        line.push_str(&format!("{key}={} ", env_value(value)));
    }
    line.push('\n');
    line
}

/// A value as an ENV word: as is when it is plain, else double-quoted with `\`, `"` and `$`
/// escaped (Doozer never quotes; its values never need it, ours may: a path with a space).
fn env_value(value: &str) -> String {
    let plain = !value.is_empty()
        && !value.chars().any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | '$' | '`'));
    if plain { value.to_owned() } else { quoted(value) }
}

fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The final `LABEL` block, in Doozer's layout (one label per continuation line, values
/// quoted). OKD sets no `cpe`. The commit and source-location labels need a commit (a git
/// source); the commit URL needs a web URL.
pub(super) fn label_block(s: &Stamp) -> String {
    let f = &s.source;
    let mut labels = vec![
        ("name", s.component.clone()),
        ("version", format!("v{}", s.version)),
        ("release", s.release.clone()),
    ];
    // A path source has no repository to point at; its own source-location label, if the
    // author wrote one, stays in effect rather than being overwritten by a local folder.
    if let Some(commit) = &f.commit {
        labels.push(("io.openshift.build.commit.id", commit.clone()));
        labels.push(("io.openshift.build.source-location", f.location.clone()));
    }
    if let (Some(commit), true) = (&f.commit, f.web) {
        labels.push(("io.openshift.build.commit.url", format!("{}/commit/{commit}", f.location)));
    }
    let mut block = "LABEL".to_owned();
    for (key, value) in labels {
        block.push_str(&format!(" \\\n        {key}={}", quoted(&value)));
    }
    block.push('\n');
    block
}

/// Splices `edits` (the FROM and `--from` replacements) into `text`, inserts the two ENV lines
/// right after every FROM instruction of `parsed` and appends the LABEL block. Every other byte
/// stays as it was.
pub(super) fn inject(text: &str, parsed: &Dockerfile, mut edits: Vec<Edit>, s: &Stamp) -> Result<String> {
    let env = format!("{}{}", update_env(s), merge_env(s));
    let mut inserts: BTreeMap<usize, String> = BTreeMap::new();
    let mut add = |at: usize, what: &str| match inserts.entry(at) {
        Entry::Vacant(v) => {
            v.insert(what.to_owned());
        }
        Entry::Occupied(mut o) => o.get_mut().push_str(what),
    };
    for stage in &parsed.stages {
        add(stage.from_end, &env);
    }
    add(text.len(), &label_block(s));
    for (at, mut replacement) in inserts {
        // A file whose last line has no line break: give the inserted lines one first.
        if at == text.len() && !text.is_empty() && !text.ends_with('\n') {
            replacement.insert(0, '\n');
        }
        edits.push(Edit { span: at..at, replacement });
    }
    dockerfile::rewrite(text, &edits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(scos: bool, commit: Option<&str>) -> Stamp {
        let ts: jiff::Timestamp = "2024-10-31T09:07:23Z".parse().unwrap_or_default();
        let short = commit.map_or("0123abc", |c| &c[..7]).to_owned();
        Stamp {
            component: "cli".into(),
            version: "4.17.0".into(),
            parts: (4, 17, 0),
            release: release_string(ts, &short, "stream", scos, 9),
            group: "okd-4.17".into(),
            uuid: runtime_uuid(ts),
            scos,
            source: SourceFacts {
                commit: commit.map(str::to_owned),
                short,
                epoch: 1_700_000_000,
                tag: commit.map(|_| "v1.2-3-g8bafefc".to_owned()),
                location: if commit.is_some() { "https://github.com/openshift/oc" } else { "my dir/cli" }
                    .into(),
                web: commit.is_some(),
            },
        }
    }

    const SHA: &str = "8bafefc66744b0fc5786dc3aaf1d7e19d085771d";

    #[test]
    fn release_string_and_uuid() {
        let ts: jiff::Timestamp = "2026-01-30T12:00:59Z".parse().unwrap_or_default();
        assert_eq!(
            release_string(ts, "1234567", "stream", false, 9),
            "202601301200.p2.g1234567.assembly.stream.el9"
        );
        assert_eq!(
            release_string(ts, "1234567", "4.17.3", true, 10),
            "202601301200.p2.g1234567.assembly.4.17.3.scos10"
        );
        assert_eq!(runtime_uuid(ts), "20260130.120059");
    }

    #[test]
    fn public_locations() {
        let web = |u: &str| public_location(u);
        assert_eq!(
            web("https://github.com/openshift/oc.git"),
            ("https://github.com/openshift/oc".into(), true)
        );
        assert_eq!(web("https://github.com/openshift/oc/"), ("https://github.com/openshift/oc".into(), true));
        assert_eq!(web("git@github.com:openshift/oc.git"), ("git@github.com:openshift/oc.git".into(), false));
        assert_eq!(web("file:///src/oc"), ("file:///src/oc".into(), false));
    }

    #[test]
    fn env_lines_are_sorted_like_doozer() {
        let s = stamp(true, Some(SHA));
        let r = "202410310907.p2.g8bafefc.assembly.stream.scos9";
        assert_eq!(s.release, r);
        assert_eq!(
            update_env(&s),
            format!(
                "ENV __doozer=update BUILD_RELEASE={r} BUILD_VERSION=v4.17.0 OS_GIT_MAJOR=4 OS_GIT_MINOR=17 \
                 OS_GIT_PATCH=0 OS_GIT_TREE_STATE=clean OS_GIT_VERSION=4.17.0-{r} SOURCE_GIT_TREE_STATE=clean \
                 TAGS=scos __doozer_group=okd-4.17 __doozer_key=cli \
                 __doozer_uuid_tag=cli-v4.17.0-20241031.090723 __doozer_version=v4.17.0 \n"
            )
        );
        assert_eq!(
            merge_env(&s),
            format!(
                "ENV __doozer=merge OS_GIT_COMMIT=8bafefc OS_GIT_VERSION=4.17.0-{r}-8bafefc \
                 SOURCE_DATE_EPOCH=1700000000 SOURCE_GIT_COMMIT={SHA} SOURCE_GIT_TAG=v1.2-3-g8bafefc \
                 SOURCE_GIT_URL=https://github.com/openshift/oc \n"
            )
        );
        assert!(!update_env(&stamp(false, Some(SHA))).contains("TAGS"));
    }

    #[test]
    fn path_sources_have_no_commit_and_quoted_values() {
        let s = stamp(false, None);
        let merge = merge_env(&s);
        assert!(merge.contains("SOURCE_GIT_URL=\"my dir/cli\" "), "{merge}");
        assert!(!merge.contains("SOURCE_GIT_COMMIT") && !merge.contains("SOURCE_GIT_TAG"), "{merge}");
        let labels = label_block(&s);
        assert!(!labels.contains("commit"), "{labels}");
        assert!(!labels.contains("source-location"), "a folder is no source location: {labels}");
    }

    #[test]
    fn labels_in_doozer_layout() {
        let s = stamp(true, Some(SHA));
        assert_eq!(
            label_block(&s),
            format!(
                "LABEL \\\n        name=\"cli\" \\\n        version=\"v4.17.0\" \\\n        release=\"{}\" \\\n        \
                 io.openshift.build.commit.id=\"{SHA}\" \\\n        \
                 io.openshift.build.source-location=\"https://github.com/openshift/oc\" \\\n        \
                 io.openshift.build.commit.url=\"https://github.com/openshift/oc/commit/{SHA}\"\n",
                s.release
            )
        );
    }

    #[test]
    fn inject_after_every_from_and_at_the_end() {
        let s = stamp(true, Some(SHA));
        let text = "FROM a AS b\nRUN x\nFROM b";
        let parsed = dockerfile::parse(std::path::Path::new("D"), text, &BTreeMap::new())
            .unwrap_or_else(|e| panic!("{e}"));
        let edits = vec![Edit { span: 5..6, replacement: "img".into() }];
        let out = inject(text, &parsed, edits, &s).unwrap_or_else(|e| panic!("{e}"));
        let env = format!("{}{}", update_env(&s), merge_env(&s));
        assert_eq!(out, format!("FROM img AS b\n{env}RUN x\nFROM b\n{env}{}", label_block(&s)));
    }
}
