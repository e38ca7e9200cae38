//! The synthetic releases the planning benchmark plans: a manifest, its Dockerfiles, and the
//! same release as a [`Release`] value. Deterministic: the same seed gives the same bytes.

use super::*;

/// The stream-alias texts of the `busybox` stream.
const CENTOS: &str = "quay.io/centos/centos:stream9";
const UBI_MINIMAL: &str = "registry.access.redhat.com/ubi9/ubi-minimal:latest";
const BUSYBOX: &str = "localhost/okd-mini/busybox:1.36";
const NODEJS_STREAM: &str = "registry.access.redhat.com/ubi9/nodejs-20:latest";
/// A Node.js builder that component `replace` entries send to `stream:busybox`.
const NODEJS: &str = "registry.ci.openshift.org/ocp/builder:rhel-9-base-nodejs-openshift-4.17";
/// FROM texts that only positional `from` or `last_from` resolve (in no map).
const NEWER_BUILDER: &str = "registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.23-openshift-4.18";
const NEWER_BASE: &str = "registry.ci.openshift.org/ocp/4.18:base-rhel9";
const NEWER_MINIMAL: &str = "registry.access.redhat.com/ubi9/ubi-minimal:9.4";
const ORIGIN_BASE: &str = "quay.io/openshift/origin-base:latest";

const WORDS: [&str; 12] = [
    "cluster",
    "network",
    "storage",
    "machine",
    "config",
    "dns",
    "ingress",
    "console",
    "monitoring",
    "etcd",
    "image",
    "node",
];
const KINDS: [&str; 6] = ["operator", "controller", "agent", "plugin", "tools", "exporter"];
// ---------------------------------------------------------------------------------------------
// The synthetic release.

/// A generated release: the manifest text, every component's Dockerfile, and what the manifest
/// says about each component (to build the same [`Release`] directly).
pub(crate) struct Input {
    pub(crate) size: usize,
    pub(crate) manifest: String,
    pub(crate) dockerfiles: HashMap<String, String>,
    pub(crate) dockerfile_lines: usize,
    /// In manifest order.
    specs: Vec<Spec>,
}

/// One component entry of the manifest.
struct Spec {
    name: String,
    payload: bool,
    /// Component `replace`: reference text -> target text.
    replace: BTreeMap<String, String>,
    /// Positional `from`: builders and final.
    from: Option<(Vec<String>, String)>,
    last_from: Option<String>,
    /// Has `variants: { scos: { build_args: { TAGS: scos } } }`.
    scos: bool,
    /// Line of `- name:` in the manifest.
    line: u32,
}

/// splitmix64: small, fast and good enough to spread choices; no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn in_range(&mut self, r: &Range<usize>) -> usize {
        r.start + self.below(r.len())
    }

    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }
}

/// How a component's FROM lines reach their parents.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Level 0: streams only.
    Streams,
    /// Component and release-wide `replace` maps.
    Replace,
    /// ci-operator `last_from` for the final FROM, maps for the rest.
    LastFrom,
    /// Doozer `from: {builders, final}`.
    Positional,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Streams => "stream aliases",
            Mode::Replace => "replace maps",
            Mode::LastFrom => "last_from",
            Mode::Positional => "positional from",
        }
    }
}

/// The key of the release-wide `replace` entry for `builder-j`.
fn builder_key(j: usize) -> String {
    format!("registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.{}-openshift-4.{}", 22 - j, 17 - j)
}

/// The key of the release-wide `replace` entry for `base-j`.
fn base_key(j: usize) -> String {
    format!("registry.ci.openshift.org/ocp/4.{}:base-rhel9", 17 - j)
}

/// The release-wide `replace` map: builder and base upstream texts -> `builder-j`, `base-j`.
fn release_replace() -> Vec<(String, String)> {
    (0..SHARED)
        .flat_map(|j| {
            [(builder_key(j), format!("member:builder-{j}")), (base_key(j), format!("member:base-{j}"))]
        })
        .collect()
}

/// What one Dockerfile looks like.
struct Shape<'a> {
    name: &'a str,
    level: usize,
    mode: Mode,
    /// Default of the global ARG `BUILDER_IMAGE`, the first FROM.
    builder: &'a str,
    /// A `FROM builder AS unit` stage.
    unit: bool,
    /// The FROM text of an `assets` stage, if there is one.
    assets: Option<&'a str>,
    /// `COPY --from=<index>` instead of `--from=assets`.
    assets_by_index: bool,
    /// The last FROM.
    final_from: &'a str,
    /// `COPY --from=<image>`: the image text and the binary copied from it.
    copy_image: Option<(&'a str, &'a str)>,
}

pub(crate) fn generate(size: usize) -> Input {
    assert!(size >= 4 * (2 * SHARED), "a release needs room for the builders and bases on every level");
    let mut rng = Rng(SEED ^ size as u64);

    // Level ranges over component indices; level 0 starts with builder-j then base-j.
    let mut levels: Vec<Range<usize>> = Vec::with_capacity(LEVELS);
    let mut start = 0;
    for (k, percent) in LEVEL_PERCENT.iter().enumerate() {
        let mut len = size * percent / 100;
        if k == 0 {
            len = len.max(2 * SHARED + 2);
        }
        levels.push(start..start + len);
        start += len;
    }
    levels.push(start..size);

    let names: Vec<String> = (0..size)
        .map(|i| match i {
            i if i < SHARED => format!("builder-{i}"),
            i if i < 2 * SHARED => format!("base-{}", i - SHARED),
            i => format!("{}-{}-{i:05}", WORDS[i % WORDS.len()], KINDS[(i / WORDS.len()) % KINDS.len()]),
        })
        .collect();
    // The text a Dockerfile uses for component m's image, and whether the component needs its own
    // `replace` entry for it (builders and bases are in the release-wide map).
    let upstream = |m: usize| -> (String, bool) {
        if m < SHARED {
            (builder_key(m), false)
        } else if m < 2 * SHARED {
            (base_key(m - SHARED), false)
        } else {
            (format!("registry.ci.openshift.org/ocp/4.17:{}", names[m]), true)
        }
    };

    let mut specs: Vec<Spec> = Vec::with_capacity(size);
    let mut dockerfiles = HashMap::with_capacity(size);
    let mut dockerfile_lines = 0;
    for (level, range) in levels.iter().enumerate() {
        for i in range.clone() {
            let name = &names[i];
            let mode = match (level, rng.below(100)) {
                (0, _) => Mode::Streams,
                (_, 0..60) => Mode::Replace,
                (_, 60..80) => Mode::LastFrom,
                _ => Mode::Positional,
            };
            let mut replace: BTreeMap<String, String> = BTreeMap::new();
            let mut builders: Vec<String> = Vec::new();
            let unit = rng.percent(50);
            let assets_stage = rng.percent(40);
            let assets_by_index = rng.percent(50);

            // The builder stage: a shared builder (85%), else a stream.
            let builder_member = (level > 0 && rng.percent(85)).then(|| rng.below(SHARED));
            let builder_text = match (mode, builder_member) {
                (Mode::Positional, member) => {
                    builders.push(
                        member
                            .map_or_else(|| "stream:busybox".to_owned(), |j| format!("member:{}", names[j])),
                    );
                    NEWER_BUILDER.to_owned()
                }
                (_, Some(j)) => builder_key(j),
                (Mode::Streams, None) => CENTOS.to_owned(),
                (_, None) => {
                    if rng.percent(50) {
                        replace.insert(NODEJS.to_owned(), "stream:busybox".to_owned());
                        NODEJS.to_owned()
                    } else {
                        CENTOS.to_owned()
                    }
                }
            };

            // The parent on the level below (a base image half of the time on level 1).
            let parent = match level {
                0 => None,
                1 if rng.percent(50) => Some(SHARED + rng.below(SHARED)),
                k => Some(rng.in_range(&levels[k - 1])),
            };
            // One more lower-level component, half of the time.
            let extra = match level {
                0 => None,
                k if rng.percent(50) => {
                    let e = rng.below(levels[k - 1].end);
                    (Some(e) != parent && Some(e) != builder_member).then_some(e)
                }
                _ => None,
            };

            let member_text = |m: usize, replace: &mut BTreeMap<String, String>| {
                let (text, own) = upstream(m);
                if own {
                    replace.insert(text.clone(), format!("member:{}", names[m]));
                }
                text
            };
            let assets_text = match (assets_stage, mode, extra) {
                (false, _, _) => None,
                (true, Mode::Positional, Some(e)) => {
                    builders.push(format!("member:{}", names[e]));
                    Some(format!("registry.ci.openshift.org/ocp/4.18:{}", names[e]))
                }
                (true, Mode::Positional, None) => {
                    builders.push("stream:busybox".to_owned());
                    Some(NEWER_MINIMAL.to_owned())
                }
                (true, _, Some(e)) => Some(member_text(e, &mut replace)),
                (true, _, None) => Some(UBI_MINIMAL.to_owned()),
            };
            let copy_image = match (assets_stage, extra) {
                (false, Some(e)) => Some((member_text(e, &mut replace), names[e].as_str())),
                _ => None,
            };
            let (final_text, from, last_from) = match (mode, parent) {
                (Mode::Replace, Some(p)) => (member_text(p, &mut replace), None, None),
                (Mode::LastFrom, Some(p)) => {
                    (ORIGIN_BASE.to_owned(), None, Some(format!("member:{}", names[p])))
                }
                (Mode::Positional, Some(p)) => {
                    (NEWER_BASE.to_owned(), Some((builders, format!("member:{}", names[p]))), None)
                }
                _ => (UBI_MINIMAL.to_owned(), None, None),
            };

            let shape = Shape {
                name,
                level,
                mode,
                builder: &builder_text,
                unit,
                assets: assets_text.as_deref(),
                assets_by_index,
                final_from: &final_text,
                copy_image: copy_image.as_ref().map(|(text, bin)| (text.as_str(), *bin)),
            };
            let dockerfile = dockerfile(&shape);
            dockerfile_lines += dockerfile.lines().count();
            dockerfiles.insert(name.clone(), dockerfile);
            let scos = rng.percent(10);
            specs.push(Spec {
                name: name.clone(),
                payload: i >= 2 * SHARED,
                replace,
                from,
                last_from,
                scos,
                line: 0,
            });
        }
    }

    // The manifest lists components in no particular order, as real ones do.
    for i in (1..specs.len()).rev() {
        specs.swap(i, rng.below(i + 1));
    }
    let mut manifest = String::with_capacity(size * 400 + 2048);
    let m = &mut manifest;
    line(m, format_args!("# Synthetic release generated by okd-core/benches/plan.rs ({size} components)."));
    line(m, format_args!("name: okd-bench"));
    line(m, format_args!("version: {}", version(size)));
    line(m, format_args!("variant: scos"));
    line(m, format_args!("arches: [amd64, arm64]"));
    line(m, format_args!("output: {{ registry: quay.io, repository: okd/okd-bench }}"));
    line(m, format_args!("streams:"));
    line(m, format_args!("  busybox:"));
    line(m, format_args!("    image: {BUSYBOX}"));
    line(m, format_args!("    aliases:"));
    line(m, format_args!("      - {CENTOS}"));
    line(m, format_args!("      - {UBI_MINIMAL}"));
    line(m, format_args!("  nodejs:"));
    line(m, format_args!("    image: {NODEJS_STREAM}"));
    line(m, format_args!("replace:"));
    for (key, target) in release_replace() {
        line(m, format_args!("  \"{key}\": {target}"));
    }
    line(m, format_args!("components:"));
    let mut at = m.bytes().filter(|&b| b == b'\n').count() as u32 + 1;
    for spec in &mut specs {
        spec.line = at;
        let before = m.len();
        let name = &spec.name;
        line(m, format_args!("  - name: {name}"));
        line(
            m,
            format_args!("    source: {{ git: https://github.com/okd-bench/{name}, ref: release-4.17 }}"),
        );
        line(m, format_args!("    payload: {}", spec.payload));
        if !spec.replace.is_empty() {
            line(m, format_args!("    replace:"));
            for (key, target) in &spec.replace {
                line(m, format_args!("      \"{key}\": {target}"));
            }
        }
        if let Some((builders, final_)) = &spec.from {
            line(m, format_args!("    from:"));
            line(m, format_args!("      builders: [{}]", builders.join(", ")));
            line(m, format_args!("      final: {final_}"));
        }
        if let Some(last_from) = &spec.last_from {
            line(m, format_args!("    last_from: {last_from}"));
        }
        if spec.scos {
            line(m, format_args!("    variants:"));
            line(m, format_args!("      scos:"));
            line(m, format_args!("        build_args: {{ TAGS: scos }}"));
        }
        at += m[before..].bytes().filter(|&b| b == b'\n').count() as u32;
    }
    Input { size, manifest, dockerfiles, dockerfile_lines, specs }
}

fn version(size: usize) -> String {
    format!("4.17.0-0.okd-bench-{size}")
}

/// The release `load_str` makes of `input.manifest` (variant `scos` applied), built directly.
pub(crate) fn direct_release(input: &Input) -> Release {
    let path = PathBuf::from(MANIFEST_PATH);
    let target = |text: &str| Target::parse(text).expect("the generator writes valid targets");
    let arches = vec!["amd64".to_owned(), "arm64".to_owned()];
    let components = input
        .specs
        .iter()
        .map(|s| Component {
            name: s.name.clone(),
            source: Source::Git {
                url: format!("https://github.com/okd-bench/{}", s.name),
                reference: "release-4.17".to_owned(),
            },
            dockerfile: "Dockerfile".to_owned(),
            context: ".".to_owned(),
            payload: s.payload,
            arches: arches.clone(),
            build_args: if s.scos {
                BTreeMap::from([("TAGS".to_owned(), "scos".to_owned())])
            } else {
                BTreeMap::new()
            },
            replace: s.replace.iter().map(|(k, v)| (k.clone(), target(v))).collect(),
            from: s.from.as_ref().map(|(builders, final_)| PositionalFrom {
                builders: builders.iter().map(|b| target(b)).collect(),
                final_: Some(target(final_)),
            }),
            last_from: s.last_from.as_deref().map(target),
            declared_at: Location::new(&path, s.line, 11),
        })
        .collect();
    Release {
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        path,
        name: "okd-bench".to_owned(),
        version: semver::Version::parse(&version(input.size)).expect("the version is semver"),
        variant: Some("scos".to_owned()),
        arches,
        output: Output { registry: "quay.io".to_owned(), repository: "okd/okd-bench".to_owned() },
        streams: BTreeMap::from([
            (
                "busybox".to_owned(),
                Stream {
                    image: BUSYBOX.to_owned(),
                    aliases: vec![CENTOS.to_owned(), UBI_MINIMAL.to_owned()],
                },
            ),
            ("nodejs".to_owned(), Stream { image: NODEJS_STREAM.to_owned(), aliases: Vec::new() }),
        ]),
        replace: release_replace().into_iter().map(|(k, v)| (k, target(&v))).collect(),
        components,
    }
}

fn line(out: &mut String, args: std::fmt::Arguments<'_>) {
    out.write_fmt(args).expect("writing to a String cannot fail");
    out.push('\n');
}

/// A multi-stage Dockerfile shaped like an OpenShift component's.
fn dockerfile(s: &Shape<'_>) -> String {
    let name = s.name;
    let mut d = String::with_capacity(2048);
    let o = &mut d;
    line(
        o,
        format_args!(
            "# {name}: synthetic level-{} component; FROM lines resolved by {}.",
            s.level,
            s.mode.as_str()
        ),
    );
    line(o, format_args!("ARG BUILDER_IMAGE={}", s.builder));
    line(o, format_args!("ARG GOFLAGS=-mod=vendor"));
    line(o, format_args!(""));
    line(o, format_args!("FROM ${{BUILDER_IMAGE}} AS builder"));
    line(o, format_args!("ARG TAGS"));
    line(o, format_args!("WORKDIR /go/src/github.com/openshift/{name}"));
    line(o, format_args!("COPY . ."));
    line(o, format_args!("ENV GOFLAGS=-mod=vendor \\"));
    line(o, format_args!("    CGO_ENABLED=1"));
    line(o, format_args!("RUN make build \\"));
    line(o, format_args!("        TAGS=\"${{TAGS}}\" \\"));
    line(o, format_args!("        GO_BUILD_PACKAGES=./cmd/{name} && \\"));
    line(o, format_args!("    mkdir -p /tmp/build && \\"));
    line(o, format_args!("    cp _output/bin/{name} /tmp/build/{name}"));
    let mut stages = 1;
    if s.unit {
        line(o, format_args!(""));
        line(o, format_args!("FROM builder AS unit"));
        line(o, format_args!("RUN make test \\"));
        line(o, format_args!("        GOTEST_FLAGS=\"-race -count=1\" && \\"));
        line(o, format_args!("    touch /tmp/build/.unit-tested"));
        stages += 1;
    }
    let assets_index = stages;
    if let Some(assets) = s.assets {
        line(o, format_args!(""));
        line(o, format_args!("FROM {assets} AS assets"));
        line(o, format_args!("WORKDIR /opt/assets"));
        line(o, format_args!("COPY manifests/ manifests/"));
        line(o, format_args!("RUN find manifests -type f -name '*.yaml' | sort > MANIFEST && \\"));
        line(o, format_args!("    sha256sum $(cat MANIFEST) > SHA256SUMS"));
    }
    line(o, format_args!(""));
    line(o, format_args!("FROM {}", s.final_from));
    line(o, format_args!("COPY --from=builder /tmp/build/{name} /usr/bin/{name}"));
    if s.unit {
        line(o, format_args!("COPY --from=unit /tmp/build/.unit-tested /usr/share/{name}/.unit-tested"));
    }
    if s.assets.is_some() {
        let from = if s.assets_by_index { assets_index.to_string() } else { "assets".to_owned() };
        line(o, format_args!("COPY --from={from} /opt/assets/manifests /manifests"));
    }
    if let Some((image, binary)) = s.copy_image {
        line(o, format_args!("COPY --from={image} /usr/bin/{binary} /usr/bin/{binary}"));
    }
    line(o, format_args!("RUN chmod 0755 /usr/bin/{name} && \\"));
    line(o, format_args!("    mkdir -p /var/lib/{name} && \\"));
    line(o, format_args!("    chown -R 1001:0 /var/lib/{name}"));
    line(o, format_args!("USER 1001"));
    line(o, format_args!("ENTRYPOINT [\"/usr/bin/{name}\"]"));
    line(o, format_args!("LABEL io.openshift.release.operator=true \\"));
    line(o, format_args!("      io.k8s.display-name=\"{name}\" \\"));
    line(o, format_args!("      io.openshift.tags=\"openshift,{name}\" \\"));
    line(o, format_args!("      io.openshift.build.source-location=\"https://github.com/okd-bench/{name}\""));
    d
}
