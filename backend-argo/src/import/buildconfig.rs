//! One BuildConfig (`build.openshift.io/v1`, after kustomize) as the importer needs it: name,
//! output tag, git source, context, Dockerfile, build args, `dockerStrategy.from` and
//! `source.images`, each with the place it was written. Every other field is a located warning,
//! and a wrong type is an error, as the cluster would refuse the object.

use super::{
    tree::{At, Node},
    warn::{WarningKind, Warns},
};
use okd_core::Result;

/// An image a BuildConfig names: `kind` (`ImageStreamTag`, `DockerImage`, ...) and `name`
/// (`release:base`), at the place of the name.
#[derive(Debug, Clone)]
pub(super) struct ImageRef {
    pub(super) kind: String,
    pub(super) name: String,
    pub(super) namespace: Option<String>,
    pub(super) at: At,
}

/// A `source.images[]` entry.
#[derive(Debug, Clone)]
pub(super) struct SourceImage {
    pub(super) from: ImageRef,
    /// Where the entry is: a kustomize patch's entry keeps the patch's place.
    pub(super) at: At,
    pub(super) names: Vec<(String, At)>,
    /// (sourcePath, destinationDir, where)
    pub(super) paths: Vec<(String, String, At)>,
}

#[derive(Debug, Clone)]
pub(super) struct BuildConfig {
    pub(super) name: String,
    pub(super) at: At,
    /// The output tag (`release:<tag>`) and where it is.
    pub(super) tag: String,
    pub(super) tag_at: At,
    pub(super) git: Option<(String, Option<String>)>,
    pub(super) context: String,
    pub(super) dockerfile: String,
    pub(super) build_args: Vec<(String, String, At)>,
    pub(super) from: Option<ImageRef>,
    pub(super) images: Vec<SourceImage>,
}

/// Fields that tune the build engine only; one warning each for the whole import.
const ENGINE: &[(&str, &str)] = &[
    (
        "spec.strategy.dockerStrategy.imageOptimizationPolicy",
        "the manifest leaves layer squashing to the build engine",
    ),
    ("spec.strategy.dockerStrategy.noCache", "the manifest leaves caching to the build engine"),
    ("spec.strategy.dockerStrategy.forcePull", "the manifest leaves pulling to the build engine"),
    ("spec.resources", "the manifest has no CPU or memory requests; set them in the backend's settings"),
    ("spec.runPolicy", "runs are scheduled by the backend"),
    ("spec.successfulBuildsHistoryLimit", "history is kept by the backend"),
    ("spec.failedBuildsHistoryLimit", "history is kept by the backend"),
    ("spec.completionDeadlineSeconds", "timeouts are the backend's settings"),
    ("spec.nodeSelector", "placement is the backend's"),
    ("spec.triggers", "builds are started by okd-build"),
    ("metadata.annotations", "the manifest has no annotations"),
    ("metadata.namespace", "the manifest has no namespace"),
];

fn engine(field: &str) -> Option<&'static str> {
    ENGINE.iter().find(|(f, _)| *f == field).map(|(_, why)| *why)
}

/// The reason a BuildConfig is not imported, at its place.
pub(super) type Skip = (String, At);

pub(super) fn read(doc: &Node, warns: &mut Warns) -> Result<std::result::Result<BuildConfig, Skip>> {
    let name_node = doc.path(&["metadata", "name"]);
    let Some(name) = name_node.map(|n| n.string("metadata.name", "name: cli")).transpose()?.flatten() else {
        return Ok(Err(("it has no metadata.name".into(), doc.at.clone())));
    };
    let at = name_node.map_or_else(|| doc.at.clone(), |n| n.at.clone());
    let unmapped = |warns: &mut Warns, field: &str, node_at: &At, why: &str| match engine(field) {
        Some(why) => warns.field(field, node_at, name, why),
        None => warns.at(
            WarningKind::Unmapped,
            node_at,
            format!("{field} of BuildConfig {name} is not imported: {why}"),
        ),
    };
    for (key, value) in doc.map("a BuildConfig", "spec: {...}")? {
        match key.text.as_str() {
            "apiVersion" | "kind" | "spec" | "status" => {}
            "metadata" => {
                for (k, v) in value.map("metadata", "metadata: {name: cli}")? {
                    match k.text.as_str() {
                        "name" | "labels" => {}
                        "failureDescription" => {
                            let first = v.scalar_text().unwrap_or_default();
                            let mut first = first.lines().next().unwrap_or("").trim().to_owned();
                            if first.chars().count() > 100 {
                                first = first.chars().take(100).collect::<String>() + "...";
                            }
                            warns.at(
                                WarningKind::Unmapped,
                                &k.at,
                                format!(
                                    "BuildConfig {name} is marked as failing ({first}); imported as it is"
                                ),
                            );
                        }
                        other => unmapped(
                            warns,
                            &format!("metadata.{other}"),
                            &k.at,
                            "the manifest has no place for it",
                        ),
                    }
                }
            }
            other => unmapped(warns, other, &key.at, "the manifest has no place for it"),
        }
    }
    let Some(spec) = doc.get("spec") else { return Ok(Err(("it has no spec".into(), at))) };
    let example = "strategy: {type: Docker, dockerStrategy: {...}}";
    let mut strategy_type = None;
    let mut docker = None;
    if let Some(strategy) = spec.get("strategy") {
        for (k, v) in strategy.map("spec.strategy", example)? {
            match k.text.as_str() {
                "type" => strategy_type = v.string("spec.strategy.type", "type: Docker")?.map(str::to_owned),
                "dockerStrategy" => docker = Some(v),
                other => {
                    return Ok(Err((
                        format!("it uses spec.strategy.{other}; the manifest builds Dockerfiles only"),
                        k.at.clone(),
                    )));
                }
            }
        }
    }
    if strategy_type.as_deref().is_some_and(|t| t != "Docker") {
        let t = strategy_type.unwrap_or_default();
        return Ok(Err((format!("its strategy is {t}; the manifest builds Dockerfiles only"), at)));
    }
    let (mut dockerfile, mut build_args, mut from) = ("Dockerfile".to_owned(), Vec::new(), None);
    if let Some(docker) = docker {
        for (k, v) in
            docker.map("spec.strategy.dockerStrategy", "dockerStrategy: {dockerfilePath: Dockerfile}")?
        {
            let field = format!("spec.strategy.dockerStrategy.{}", k.text);
            match k.text.as_str() {
                "dockerfilePath" => {
                    if let Some(d) = v.string(&field, "dockerfilePath: Dockerfile.rhel")? {
                        dockerfile = d.to_owned();
                    }
                }
                "from" => from = Some(image_ref(v, &field)?),
                "buildArgs" => build_args = args(v, &field, name, warns)?,
                "env" => {
                    let names: Vec<String> = v
                        .seq(&field, "env: [{name: A, value: b}]")?
                        .iter()
                        .filter_map(|e| e.get("name").and_then(Node::scalar_text))
                        .collect();
                    warns.at(WarningKind::Unmapped, &k.at, format!(
                        "{field} ({}) of BuildConfig {name} is not imported: the manifest has no build environment; add build_args for the ones the Dockerfile declares as ARG",
                        names.join(", ")
                    ));
                }
                other => unmapped(
                    warns,
                    &format!("spec.strategy.dockerStrategy.{other}"),
                    &k.at,
                    "the manifest has no place for it",
                ),
            }
        }
    }
    let Some(to) = spec.path(&["output", "to"]) else {
        return Ok(Err(("it has no spec.output.to: it pushes nothing the release could use".into(), at)));
    };
    let to = image_ref(to, "spec.output.to")?;
    let tag = match (to.kind.as_str(), to.name.split_once(':')) {
        ("ImageStreamTag", Some(("release", tag))) if !tag.is_empty() && to.namespace.is_none() => {
            tag.to_owned()
        }
        _ => {
            let why = format!(
                "it outputs {} {}, not a tag of the release ImageStream (ImageStreamTag release:<tag>)",
                to.kind, to.name
            );
            return Ok(Err((why, to.at)));
        }
    };
    if let Some(output) = spec.get("output") {
        for (k, _) in output.entries() {
            if k.text != "to" {
                unmapped(
                    warns,
                    &format!("spec.output.{}", k.text),
                    &k.at,
                    "the manifest sets the output for the whole release",
                );
            }
        }
    }
    for (k, _) in spec.entries() {
        if !["source", "strategy", "output"].contains(&k.text.as_str()) {
            unmapped(warns, &format!("spec.{}", k.text), &k.at, "the manifest has no place for it");
        }
    }
    let mut bc = BuildConfig {
        name: name.to_owned(),
        at,
        tag,
        tag_at: to.at,
        git: None,
        context: ".".into(),
        dockerfile,
        build_args,
        from,
        images: Vec::new(),
    };
    if let Some(source) = spec.get("source") {
        read_source(source, &mut bc, warns)?;
    }
    Ok(Ok(bc))
}

fn read_source(source: &Node, bc: &mut BuildConfig, warns: &mut Warns) -> Result<()> {
    let name = bc.name.clone();
    for (k, v) in source.map("spec.source", "source: {type: Git, git: {uri: ..., ref: ...}}")? {
        let field = format!("spec.source.{}", k.text);
        match k.text.as_str() {
            "type" => {
                if let Some(t) = v.string(&field, "type: Git")?
                    && t != "Git"
                {
                    warns.at(WarningKind::Unmapped, &v.at, format!("source type {t} of BuildConfig {name} is read as Git"));
                }
            }
            "git" => {
                let mut uri = None;
                let mut reference = None;
                for (gk, gv) in v.map(&field, "git: {uri: https://github.com/openshift/oc, ref: release-4.15}")? {
                    match gk.text.as_str() {
                        "uri" => uri = gv.string("spec.source.git.uri", "uri: https://github.com/openshift/oc")?,
                        "ref" => reference = gv.string("spec.source.git.ref", "ref: release-4.15")?,
                        other => warns.at(WarningKind::Unmapped, &gk.at, format!(
                            "spec.source.git.{other} of BuildConfig {name} is not imported: the manifest's git source is a URL and a ref"
                        )),
                    }
                }
                if let Some(uri) = uri {
                    bc.git = Some((uri.to_owned(), reference.map(str::to_owned)));
                }
            }
            "contextDir" => {
                if let Some(c) = v.string(&field, "contextDir: images/deployer")? {
                    bc.context = c.to_owned();
                }
            }
            "images" => {
                for item in v.seq(&field, "images: [{from: {kind: ImageStreamTag, name: release:cli}, as: [...]}]")? {
                    bc.images.push(source_image(item, &name, warns)?);
                }
            }
            other => warns.at(WarningKind::Unmapped, &k.at, format!(
                "{field} of BuildConfig {name} is not imported: the manifest's source is a git repository only ({other} is not carried)"
            )),
        }
    }
    Ok(())
}

fn source_image(item: &Node, owner: &str, warns: &mut Warns) -> Result<SourceImage> {
    let example =
        "- {from: {kind: ImageStreamTag, name: 'release:cli'}, as: [registry.ci.openshift.org/ocp/4.15:cli]}";
    let mut from = None;
    let (mut names, mut paths) = (Vec::new(), Vec::new());
    for (k, v) in item.map("each spec.source.images entry", example)? {
        match k.text.as_str() {
            "from" => from = Some(image_ref(v, "spec.source.images[].from")?),
            "as" => {
                for n in v.seq("spec.source.images[].as", example)? {
                    if let Some(s) = n.string("each `as` name", "- registry.ci.openshift.org/ocp/4.15:cli")? {
                        names.push((s.to_owned(), n.at.clone()));
                    }
                }
            }
            "paths" => {
                let ex = "paths: [{sourcePath: /code/x/Dockerfile, destinationDir: .}]";
                for p in v.seq("spec.source.images[].paths", ex)? {
                    p.map("each paths entry", ex)?;
                    let get = |key: &str| -> Result<Option<String>> {
                        Ok(p.get(key)
                            .map(|n| n.string(&format!("paths[].{key}"), ex))
                            .transpose()?
                            .flatten()
                            .map(str::to_owned))
                    };
                    let source = get("sourcePath")?
                        .ok_or_else(|| p.at.error("a paths entry without sourcePath", ex))?;
                    let dest = get("destinationDir")?.unwrap_or_else(|| ".".into());
                    paths.push((source, dest, p.at.clone()));
                }
            }
            other => warns.at(
                WarningKind::Unmapped,
                &k.at,
                format!("spec.source.images[].{other} of BuildConfig {owner} is not imported"),
            ),
        }
    }
    let from = from.ok_or_else(|| item.at.error("a spec.source.images entry without `from`", example))?;
    Ok(SourceImage { from, at: item.at.clone(), names, paths })
}

fn image_ref(node: &Node, what: &str) -> Result<ImageRef> {
    let example = "from: {kind: ImageStreamTag, name: 'release:base'}";
    node.map(what, example)?;
    let get = |key: &str| -> Result<Option<&Node>> {
        node.get(key).map(|n| n.string(&format!("{what}.{key}"), example).map(|_| n)).transpose()
    };
    let name = get("name")?.ok_or_else(|| node.at.error(format!("{what} has no name"), example))?;
    let kind = get("kind")?.and_then(Node::text).unwrap_or("ImageStreamTag").to_owned();
    let namespace = get("namespace")?.and_then(Node::text).map(str::to_owned);
    Ok(ImageRef { kind, name: name.text().unwrap_or_default().to_owned(), namespace, at: name.at.clone() })
}

fn args(node: &Node, field: &str, owner: &str, warns: &mut Warns) -> Result<Vec<(String, String, At)>> {
    let example = "buildArgs: [{name: TAGS, value: fcos}]";
    let mut out: Vec<(String, String, At)> = Vec::new();
    for item in node.seq(field, example)? {
        item.map("each build argument", example)?;
        let name = item.get("name").map(|n| n.string("buildArgs[].name", example)).transpose()?.flatten();
        let Some(name) = name else { return Err(item.at.error("a build argument without a name", example)) };
        if item.get("valueFrom").is_some() {
            warns.at(WarningKind::Unmapped, &item.at, format!(
                "build argument {name} of BuildConfig {owner} takes valueFrom, which the manifest cannot carry; not imported"
            ));
            continue;
        }
        let value = item
            .get("value")
            .map(|v| v.string("buildArgs[].value", "value: \"fcos\""))
            .transpose()?
            .flatten();
        let value = value.unwrap_or_default().to_owned();
        if let Some(i) = out.iter().position(|(n, _, _)| n == name) {
            warns.at(WarningKind::Unmapped, &item.at, format!(
                "build argument {name} of BuildConfig {owner} is set twice (also at line {}); the later value {value:?} is used",
                out[i].2.line
            ));
            out.remove(i);
        }
        out.push((name.to_owned(), value, item.at.clone()));
    }
    Ok(out)
}
