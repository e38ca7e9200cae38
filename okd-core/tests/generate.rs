#![allow(clippy::unwrap_used)]
#![cfg(unix)]
//! Doozer-style source generation against real repositories made in temporary folders
//! (file:// URLs; no network).

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    sync::Arc,
};

mod common;

use common::git;
use okd_core::{
    ErrorKind,
    dockerfile::parse,
    generate::{GenerateOptions, Generated, generate},
    manifest::{LoadOptions, Release, load_str},
    plan::{Plan, PlanOptions, plan, sources_from_memory},
    source::{SourceOptions, SourceState, Sources, read_sources},
};

const TIME: &str = "2024-10-31T09:07:23Z";
const PIN: &str =
    "quay.io/pinned/base@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o111 != 0
}

/// Commits every file of `dir` on `main`; returns the commit.
fn commit_all(dir: &Path, home: &Path) -> String {
    git(dir, home, &["init", "--quiet"]);
    git(dir, home, &["add", "."]);
    git(dir, home, &["commit", "--quiet", "-m", "one"]);
    git(dir, home, &["rev-parse", "HEAD"])
}

const APP_SCOS: &str = "# app, the OKD way
ARG BUILDER=registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.22-openshift-4.17
FROM ${BUILDER} AS builder
WORKDIR /src
COPY . .
RUN make build \\
    TAGS=scos

FROM registry.ci.openshift.org/ocp/4.17:base-rhel9 \\
    AS final
COPY --from=builder /src/app /usr/bin/app
COPY --from=registry.ci.openshift.org/ocp/4.17:tools /usr/bin/oc /usr/bin/oc
LABEL io.k8s.display-name=\"app\"
";

struct World {
    tmp: tempfile::TempDir,
    app: String,
    operator: String,
}

impl World {
    fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let (root, home) = (tmp.path(), tmp.path());
        // base: a path source next to the manifest.
        write(&root.join("rel/base/Dockerfile"), "FROM quay.io/centos/centos:stream9\nCOPY run.sh /run.sh\n");
        write(&root.join("rel/base/run.sh"), "#!/bin/sh\n");
        make_executable(&root.join("rel/base/run.sh"));
        // app: a git repository, context images/app, Dockerfile.scos for the scos variant.
        let app = root.join("app");
        write(&app.join("go.mod"), "module app\n");
        write(&app.join("images/app/Dockerfile"), "FROM registry.ci.openshift.org/ocp/4.17:base-rhel9\n");
        write(&app.join("images/app/Dockerfile.scos"), APP_SCOS);
        write(&app.join("images/app/Dockerfile.rhel"), "FROM elsewhere\n");
        write(&app.join("images/app/Containerfile"), "FROM elsewhere\n");
        write(&app.join("images/app/sub/Dockerfile.keep"), "FROM kept\n");
        write(&app.join("images/app/README.md"), "app\n");
        write(&app.join("images/app/hack/build.sh"), "#!/bin/sh\nmake\n");
        make_executable(&app.join("images/app/hack/build.sh"));
        std::os::unix::fs::symlink("README.md", app.join("images/app/link")).unwrap();
        let app_commit = commit_all(&app, home);
        // operator: another repository, Dockerfile at its root.
        let op = root.join("operator");
        write(
            &op.join("Dockerfile"),
            "FROM registry.ci.openshift.org/ocp/4.17:base-rhel9\nCOPY manifests /manifests\n",
        );
        write(&op.join("manifests/a.yaml"), "kind: A\n");
        let operator = commit_all(&op, home);
        World { tmp, app: app_commit, operator }
    }

    fn root(&self) -> &Path {
        self.tmp.path()
    }

    fn manifest(&self, variant: bool) -> String {
        let url = |name: &str| format!("file://{}", self.root().join(name).display());
        format!(
            r#"name: okd-t
version: 4.17.0-0.okd-t
{}output: {{ registry: r.example, repository: okd/t }}
streams:
  builder: {{ image: "quay.io/okd/builder:golang-1.22", aliases: ["registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.22-openshift-4.17"] }}
  tools: {{ image: "quay.io/okd/tools:4.17" }}
replace:
  "registry.ci.openshift.org/ocp/4.17:base-rhel9": member:base
  "registry.ci.openshift.org/ocp/4.17:tools": stream:tools
components:
  - {{ name: base, source: {{ path: base }} }}
  - name: app
    source: {{ git: "{}", ref: main }}
    context: images/app
    variants: {{ scos: {{ dockerfile: Dockerfile.scos }} }}
  - name: operator
    source: {{ git: "{}", ref: main }}
    from: {{ final: member:base }}
"#,
            if variant { "variant: scos\n" } else { "" },
            url("app"),
            url("operator"),
        )
    }

    fn source_options(&self) -> SourceOptions {
        SourceOptions { offline: false, cache_dir: self.root().join("cache"), jobs: 4 }
    }

    async fn plan(&self, variant: bool) -> (Plan, Sources) {
        let path = self.root().join("rel/release.yaml");
        let release = load_str(&path, &self.manifest(variant), &LoadOptions::default()).unwrap();
        let sources = read_sources(&release, &self.source_options()).await.unwrap();
        let plan = plan(Arc::new(release), &sources, &PlanOptions::default()).unwrap();
        (plan, sources)
    }

    fn options(&self, release: &Release, out: &str) -> GenerateOptions {
        let mut o = GenerateOptions::new(release, self.root().join(out), self.source_options());
        o.timestamp = TIME.parse().unwrap();
        o
    }
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap()
}

fn by_name<'a>(generated: &'a [Generated], name: &str) -> &'a Generated {
    generated.iter().find(|g| g.component == name).unwrap()
}

/// The `KEY=value` words of the `ENV __doozer=<flag>` lines.
fn env(dockerfile: &str, flag: &str) -> BTreeMap<String, String> {
    let line = dockerfile.lines().find(|l| l.starts_with(&format!("ENV __doozer={flag} "))).unwrap();
    line.split_whitespace()
        .skip(1)
        .map(|w| w.split_once('=').unwrap())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Lines only in `a` and lines only in `b`, by longest common subsequence.
fn line_diff<'t>(a: &'t str, b: &'t str) -> (Vec<&'t str>, Vec<&'t str>) {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut removed, mut added) = (0, 0, Vec::new(), Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            added.push(b[j]);
            j += 1;
        } else {
            removed.push(a[i]);
            i += 1;
        }
    }
    (removed, added)
}

/// Relative path -> (kind, bytes or link target, executable) for every entry below `root`.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (char, Vec<u8>, bool)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, (char, Vec<u8>, bool)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(rel, ('l', target.to_string_lossy().as_bytes().to_vec(), false));
            } else if meta.is_dir() {
                out.insert(rel, ('d', Vec::new(), false));
                walk(root, &path, out);
            } else {
                out.insert(rel, ('f', std::fs::read(&path).unwrap(), is_executable(&path)));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

#[tokio::test]
async fn generates_doozer_trees_for_path_and_git_sources() {
    let w = World::new();
    let (plan, sources) = w.plan(true).await;
    let options = w.options(&plan.release, "out");
    let generated = generate(&plan, &sources, &options).await.unwrap();
    assert_eq!(
        generated.iter().map(|g| g.component.as_str()).collect::<Vec<_>>(),
        plan.components.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        "plan order"
    );
    let app = by_name(&generated, "app");
    let dir = &app.dir;
    assert_eq!(dir, &w.root().join("out/app"));

    // The tree: the context at the root, /Dockerfile, no other Dockerfile.* or Containerfile there.
    assert_eq!(read(dir, "README.md"), "app\n");
    assert!(is_executable(&dir.join("hack/build.sh")));
    assert_eq!(std::fs::read_link(dir.join("link")).unwrap(), Path::new("README.md"));
    assert_eq!(read(dir, "sub/Dockerfile.keep"), "FROM kept\n", "only the root is cleaned");
    for gone in ["Dockerfile.scos", "Dockerfile.rhel", "Containerfile", "go.mod", "images"] {
        assert!(!dir.join(gone).exists(), "{gone}");
    }
    let base = &by_name(&generated, "base").dir;
    assert!(is_executable(&base.join("run.sh")));
    assert_eq!(read(&by_name(&generated, "operator").dir, "manifests/a.yaml"), "kind: A\n");

    // The Dockerfile: parses; ENV after every FROM; only changed refs and added lines differ.
    let text = read(dir, "Dockerfile");
    let parsed = parse(Path::new("Dockerfile"), &text, &BTreeMap::new()).unwrap();
    assert_eq!(parsed.stages.len(), 2);
    for stage in &parsed.stages {
        let mut after = text[stage.from_end..].lines();
        assert!(after.next().unwrap().starts_with("ENV __doozer=update "));
        assert!(after.next().unwrap().starts_with("ENV __doozer=merge "));
    }
    let record: serde_json::Value = serde_json::from_str(&read(dir, ".okd-build/generated.json")).unwrap();
    let original: Vec<&str> = APP_SCOS.lines().collect();
    let (mut removed, mut added) = line_diff(APP_SCOS, &text);
    let mut expect_removed = Vec::new();
    let mut expect_added: Vec<String> = Vec::new();
    for stage in record["stages"].as_array().unwrap() {
        let (from, to) = (stage["original"].as_str().unwrap(), stage["resolved"].as_str().unwrap());
        if from != to {
            let line = original[stage["line"].as_u64().unwrap() as usize - 1];
            expect_removed.push(line);
            expect_added.push(line.replacen(from, to, 1));
        }
    }
    assert_eq!(expect_removed.len(), 3, "builder, base and tools change");
    let label_at = text.lines().position(|l| l == "LABEL \\").unwrap();
    expect_added.extend(text.lines().filter(|l| l.starts_with("ENV __doozer=")).map(str::to_owned));
    expect_added.extend(text.lines().skip(label_at).map(str::to_owned));
    removed.sort_unstable();
    expect_removed.sort_unstable();
    added.sort_unstable();
    expect_added.sort_unstable();
    assert_eq!(removed, expect_removed);
    assert_eq!(added, expect_added);
    assert_eq!(text.lines().filter(|l| l.starts_with("ENV __doozer=")).count(), 4);
    assert!(text.contains("FROM quay.io/okd/builder:golang-1.22 AS builder\n"));
    assert!(text.contains("FROM r.example/okd/t:base \\\n    AS final\n"));

    // The values.
    let update = env(&text, "update");
    let merge = env(&text, "merge");
    let release = &app.release;
    assert_eq!(update["TAGS"], "scos");
    assert_eq!(update["__doozer_group"], "okd-4.17");
    assert_eq!(update["__doozer_uuid_tag"], "app-v4.17.0-20241031.090723");
    assert_eq!(update["BUILD_VERSION"], "v4.17.0");
    assert_eq!(&update["BUILD_RELEASE"], release);
    assert_eq!(merge["SOURCE_GIT_COMMIT"], w.app);
    assert_eq!(merge["OS_GIT_COMMIT"], w.app[..7]);
    assert_eq!(merge["OS_GIT_VERSION"], format!("4.17.0-{release}-{}", &w.app[..7]));
    let epoch = git(&w.root().join("app"), w.root(), &["show", "-s", "--format=%ct", "HEAD"]);
    assert_eq!(merge["SOURCE_DATE_EPOCH"], epoch);
    assert_eq!(merge["SOURCE_GIT_TAG"], w.app[..merge["SOURCE_GIT_TAG"].len()], "no tags: the short commit");
    assert_eq!(merge["SOURCE_GIT_URL"], format!("file://{}", w.root().join("app").display()));
    let parts: Vec<&str> = release.split('.').collect();
    assert_eq!(parts.len(), 6, "{release}");
    assert_eq!(parts[0], "202410310907");
    assert_eq!(parts[1..], ["p2", &format!("g{}", &w.app[..7]), "assembly", "stream", "scos9"]);
    assert!(text.contains(&format!("        io.openshift.build.commit.id=\"{}\" \\\n", w.app)));
    assert!(text.contains(&format!("        release=\"{release}\" \\\n")));
    assert!(!text.contains("cpe=") && !text.contains("commit.url"), "no cpe; no web URL for file://");

    // The record.
    assert_eq!(record["okd_build_generated"], 1);
    assert_eq!(record["source"]["commit"], w.app.as_str());
    assert_eq!(record["fingerprint"].as_str(), plan.component("app").unwrap().fingerprint.as_deref());
    assert_eq!(record["dockerfile"], "images/app/Dockerfile.scos");
    assert_eq!(record["release_string"], release.as_str());
    assert_eq!(record["release"]["variant"], "scos");
    assert_eq!(app.commit.as_deref(), Some(w.app.as_str()));
    assert_eq!(by_name(&generated, "operator").commit.as_deref(), Some(w.operator.as_str()));

    // A path source: the content hash stands in for the commit.
    let base_text = read(base, "Dockerfile");
    let base_merge = env(&base_text, "merge");
    assert!(!base_merge.contains_key("SOURCE_GIT_COMMIT") && !base_merge.contains_key("SOURCE_GIT_TAG"));
    assert_eq!(base_merge["SOURCE_GIT_URL"], "base");
    assert_eq!(base_merge["SOURCE_DATE_EPOCH"], "1730365643");
    assert!(!base_text.contains("source-location"), "a path source keeps the author's label, if any");
    assert!(!base_text.contains("commit.id"));
    assert_eq!(by_name(&generated, "base").commit, None);

    // Same inputs, same time: byte-identical trees; a second run over a generation replaces it.
    let again = generate(&plan, &sources, &w.options(&plan.release, "out2")).await.unwrap();
    let first = snapshot(&w.root().join("out"));
    assert_eq!(first, snapshot(&w.root().join("out2")));
    assert_eq!(again.len(), 3);
    generate(&plan, &sources, &options).await.unwrap();
    assert_eq!(first, snapshot(&w.root().join("out")), "regenerated in place, nothing left over");
}

#[tokio::test]
async fn pins_variants_and_refusals() {
    let w = World::new();
    // Without a variant: the plain Dockerfile, no TAGS, .el9, the openshift group.
    let (plain, sources) = w.plan(false).await;
    let options = w.options(&plain.release, "plain");
    assert_eq!(options.group, "openshift-4.17");
    let generated = generate(&plain, &sources, &options).await.unwrap();
    let text = read(&by_name(&generated, "app").dir, "Dockerfile");
    assert!(text.starts_with("FROM r.example/okd/t:base\nENV __doozer=update "), "{text}");
    assert!(!env(&text, "update").contains_key("TAGS"));
    assert!(by_name(&generated, "app").release.ends_with(".assembly.stream.el9"));

    // Pins replace the member image, and only some components are generated.
    let (p, sources) = w.plan(true).await;
    let mut options = w.options(&p.release, "pinned");
    options.pins.insert("base".into(), PIN.into());
    options.components = vec!["operator".into(), "app".into()];
    let generated = generate(&p, &sources, &options).await.unwrap();
    assert_eq!(generated.iter().map(|g| g.component.as_str()).collect::<Vec<_>>(), ["app", "operator"]);
    assert!(!w.root().join("pinned/base").exists());
    for g in &generated {
        let text = read(&g.dir, "Dockerfile");
        assert!(text.contains(&format!("FROM {PIN}")), "{text}");
        assert!(!text.contains("r.example/okd/t:base"));
        let record: serde_json::Value =
            serde_json::from_str(&read(&g.dir, ".okd-build/generated.json")).unwrap();
        assert_eq!(record["pins"]["base"], PIN);
    }

    // An unknown component is refused, naming the known ones.
    options.components = vec!["nope".into()];
    let e = generate(&p, &sources, &options).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().contains("'nope'") && e.message().contains("base, app, operator"), "{e}");

    // A foreign, non-empty folder is refused and nothing is written.
    let out = w.root().join("foreign");
    write(&out.join("operator/notes.txt"), "mine\n");
    let e = generate(&p, &sources, &w.options(&p.release, "foreign")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
    assert!(e.message().contains("operator") && e.help().unwrap().contains("empty --out"), "{e}");
    let left: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["operator"]);
    assert_eq!(snapshot(&out.join("operator")).len(), 1);

    // An output folder inside a path source's context would copy itself.
    let e = generate(&p, &sources, &w.options(&p.release, "rel/base/out")).await.unwrap_err();
    assert!(
        e.message().contains("component 'base'") && e.message().contains("inside its build context"),
        "{e}"
    );
    assert!(!w.root().join("rel/base/out").exists());

    // Offline and not cached: an input error that names the component.
    let path = w.root().join("rel/release.yaml");
    let release = load_str(&path, &w.manifest(true), &LoadOptions::default()).unwrap();
    let offline = SourceOptions { offline: true, cache_dir: w.root().join("empty-cache"), jobs: 2 };
    let unread = read_sources(&release, &offline).await.unwrap();
    let p = plan(Arc::new(release), &unread, &PlanOptions::default()).unwrap();
    let e = generate(&p, &unread, &w.options(&p.release, "offline")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
    assert!(e.message().contains("component 'app'") && e.message().contains("not read"), "{e}");
    assert!(!w.root().join("offline").exists());
}

#[tokio::test]
async fn a_from_count_mismatch_names_the_component_counts_and_line() {
    let text = "name: m\nversion: 1.0.0\noutput: { registry: r, repository: o }\ncomponents:\n  \
                - { name: base, source: { path: base } }\n  \
                - { name: app, source: { path: app }, from: { final: member:base } }\n";
    let release = load_str(Path::new("/nowhere/release.yaml"), text, &LoadOptions::default()).unwrap();
    let good = HashMap::from([
        ("base".to_owned(), "FROM scratch\n".to_owned()),
        ("app".to_owned(), "FROM up/base:1\n".to_owned()),
    ]);
    let good = sources_from_memory(&release, &good);
    let p = plan(Arc::new(release), &good, &PlanOptions::default()).unwrap();
    // The source changed since planning: two external FROMs for one `from` entry.
    let changed = HashMap::from([
        ("base".to_owned(), "FROM scratch\n".to_owned()),
        ("app".to_owned(), "FROM up/base:1\nRUN x\nFROM up/other:2\n".to_owned()),
    ]);
    let sources = sources_from_memory(&p.release, &changed);
    let tmp = tempfile::tempdir().unwrap();
    let options = GenerateOptions::new(&p.release, tmp.path().join("out"), SourceOptions::default());
    let e = generate(&p, &sources, &options).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
    assert!(e.message().contains("component 'app'"), "{e}");
    assert!(
        e.message().contains("lists 1 parent image(s)") && e.message().contains("has 2 FROM line(s)"),
        "{e}"
    );
    let at = e.location().unwrap();
    assert_eq!((at.line, at.column), (3, 6), "the second FROM's image");
    assert!(at.file.ends_with("Dockerfile"), "{}", at.file.display());
    assert!(!tmp.path().join("out").exists(), "nothing written");
    assert!(matches!(sources.get("app"), Some(SourceState::Read(_))));
}
