#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, path::Path};

use super::{expand::expand, *};
use crate::ErrorKind;

type Summary<'a> = (RefKind, usize, &'a str, &'a str, u32, u32, RefTarget);

fn parse_with(text: &str, args: &[(&str, &str)]) -> crate::Result<Dockerfile> {
    let args: BTreeMap<String, String> = args.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    parse(Path::new("Dockerfile"), text, &args)
}

/// Parses and checks the invariant every ref must satisfy: `text[span] == raw`.
fn ok(text: &str) -> Dockerfile {
    let df = parse_with(text, &[]).unwrap();
    for r in &df.refs {
        assert_eq!(&text[r.span.clone()], r.raw, "span of {r:?}");
    }
    df
}

fn summary(df: &Dockerfile) -> Vec<Summary<'_>> {
    df.refs
        .iter()
        .map(|r| (r.kind, r.stage, r.raw.as_str(), r.expanded.as_str(), r.line, r.column, r.target))
        .collect()
}

fn err(text: &str) -> crate::Error {
    let e = parse_with(text, &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
    assert!(e.help().is_some_and(|h| !h.is_empty()), "{e:?}");
    e
}

fn at(e: &crate::Error) -> (u32, u32) {
    let l = e.location().unwrap();
    (l.line, l.column)
}

use RefKind::*;
use RefTarget::{Image, Scratch};

#[test]
fn multi_stage_with_every_kind_of_ref() {
    let text = "ARG BASE=quay.io/centos\nFROM --platform=$BUILDPLATFORM golang:1.22 AS builder\n\
                RUN --mount=type=cache,from=builder,target=/c go build\n\
                FROM ${BASE}:stream9\nCOPY --from=builder /a /b\nADD --from=0 /c /d\n\
                COPY --from=quay.io/x/y:1 /e /f\nRUN --mount=type=bind,from=registry.io/tools,source=/t,target=/t \\\n  make\n";
    let df = ok(text);
    assert_eq!(df.escape, '\\');
    assert_eq!(df.instruction_count, 8);
    assert_eq!(df.global_args, vec![ArgDecl { name: "BASE".into(), default: Some("quay.io/centos".into()) }]);
    assert_eq!(
        df.stages,
        vec![
            Stage {
                index: 0,
                alias: Some("builder".into()),
                platform: Some("$BUILDPLATFORM".into()),
                from_ref: 0,
                line: 2,
                from_end: text.find("RUN").unwrap(),
            },
            Stage {
                index: 1,
                alias: None,
                platform: None,
                from_ref: 2,
                line: 4,
                from_end: text.find("COPY").unwrap(),
            },
        ]
    );
    assert_eq!(
        summary(&df),
        vec![
            (From, 0, "golang:1.22", "golang:1.22", 2, 32, Image),
            (MountFrom, 0, "builder", "builder", 3, 29, Image),
            (From, 1, "${BASE}:stream9", "quay.io/centos:stream9", 4, 6, Image),
            (CopyFrom, 1, "builder", "builder", 5, 13, RefTarget::Stage(0)),
            (AddFrom, 1, "0", "0", 6, 12, RefTarget::Stage(0)),
            (CopyFrom, 1, "quay.io/x/y:1", "quay.io/x/y:1", 7, 13, Image),
            (MountFrom, 1, "registry.io/tools", "registry.io/tools", 8, 28, Image),
        ]
    );
}

#[test]
fn global_args_several_per_line_and_without_default() {
    let df = ok("ARG a=1 b=2\nARG C\nARG D=\"x y\"\nFROM img:${a}${b}${C}\nARG LATE=1\n");
    let names: Vec<_> = df.global_args.iter().map(|a| (a.name.as_str(), a.default.as_deref())).collect();
    assert_eq!(names, vec![("a", Some("1")), ("b", Some("2")), ("C", None), ("D", Some("\"x y\""))]);
    assert_eq!(df.refs[0].expanded, "img:12");
}

#[test]
fn build_args_override_declared_args_only() {
    let text = "ARG TAG=1\nARG EMPTY\nFROM img:${TAG}${OTHER}${EMPTY}\n";
    let df = parse_with(text, &[("TAG", "2"), ("OTHER", "x")]).unwrap();
    assert_eq!(df.refs[0].expanded, "img:2");
    let df = parse_with(text, &[("EMPTY", "-e")]).unwrap();
    assert_eq!(df.refs[0].expanded, "img:1-e");
    // A declared ARG without default is unset, so the default form applies.
    let df = parse_with("ARG V\nFROM img:${V:-d}-${V-u}\n", &[]).unwrap();
    assert_eq!(df.refs[0].expanded, "img:d-u");
}

#[test]
fn arg_defaults_expand_earlier_args_and_remove_quotes() {
    let text = "ARG R=quay.io\nARG IMG=\"$R/okd\"\nARG LIT='$R'\nFROM $IMG:1 AS a\nFROM ${LIT} AS b\n";
    let df = ok(text);
    assert_eq!(df.refs[0].expanded, "quay.io/okd:1");
    assert_eq!(df.refs[1].expanded, "$R");
    // A build arg replaces the default and is not expanded itself.
    let df = parse_with(text, &[("R", "r.io"), ("LIT", "$X")]).unwrap();
    assert_eq!((df.refs[0].expanded.as_str(), df.refs[1].expanded.as_str()), ("r.io/okd:1", "$X"));
}

#[test]
fn expand_documented_forms() {
    let env = |n: &str| match n {
        "SET" => Some("v".to_string()),
        "EMPTY" => Some(String::new()),
        _ => None,
    };
    let cases = [
        ("$SET/${SET}", "v/v"),
        ("${UNSET}x$UNSET", "x"),
        ("${UNSET:-d} ${EMPTY:-d} ${SET:-d}", "d d v"),
        ("${UNSET-d} ${EMPTY-d} ${SET-d}", "d  v"),
        ("${UNSET:+w} ${EMPTY:+w} ${SET:+w}", "  w"),
        ("${UNSET+w} ${EMPTY+w} ${SET+w}", " w w"),
        ("${SET:?m} ${EMPTY?m}", "v "),
        ("${UNSET:-${SET}-x}", "v-x"),
        ("a\\$SET \\${SET}", "a$SET ${SET}"),
        ("'$SET' \"$SET\"", "'v' \"v\""),
        ("cost$ $1 $", "cost$  $"),
        ("${UNSET:-a\\}b}", "a}b"),
        ("tail\\", "tail"),
    ];
    for (word, want) in cases {
        assert_eq!(expand(word, '\\', &env).as_deref(), Ok(want), "{word}");
    }
    assert_eq!(expand("`$SET \\$SET", '`', &env).as_deref(), Ok("$SET \\v"));
    for (word, needle) in [
        ("${UNSET:?must set}", "UNSET: must set"),
        ("${UNSET?}", "UNSET: is not allowed to be unset"),
        ("${EMPTY:?}", "EMPTY: is not allowed to be empty"),
        ("${SET", "missing '}'"),
        ("${SET:-x", "missing '}'"),
        ("${", "missing '}'"),
        ("${}", "bad substitution"),
        ("${:-x}", "bad substitution"),
        ("${SET:x}", "unsupported modifier ':x'"),
        ("${SET#x}", "unsupported modifier '#'"),
        ("${SET/a/b}", "unsupported modifier '/'"),
    ] {
        let e = expand(word, '\\', &env).unwrap_err();
        assert!(e.contains(needle), "{word}: {e}");
    }
    let deep = format!("{}x{}", "${A:-".repeat(200), "}".repeat(200));
    assert!(expand(&deep, '\\', &env).unwrap_err().contains("nested"));
}

#[test]
fn bad_expansion_in_from_points_at_the_reference() {
    let e = err("FROM alpine\n\nFROM  quay.io/${TAG:x}\n");
    assert_eq!(at(&e), (3, 7));
    assert!(e.message().contains("quay.io/${TAG:x}") && e.message().contains("unsupported modifier"));
    assert_eq!(e.location().unwrap().span, Some(19..35));
    let e = err("FROM img:${TAG\n");
    assert_eq!(at(&e), (1, 6));
    let e = err("ARG T\nFROM img:${T:?required}\n");
    assert!(e.message().contains("T: required"), "{}", e.message());
    let e = err("ARG A=${B\nFROM x\n");
    assert_eq!(at(&e), (1, 5));
    let e = err("ARG E\nFROM ${E}\n");
    assert!(e.message().contains("empty"));
}

#[test]
fn escape_directive_with_backtick() {
    let text =
        "# escape=`\nARG T=1\nFROM img:`$T AS a\nFROM reg`\n/img:$T AS b\nCOPY --from=A C:\\src C:\\dst\n";
    let df = ok(text);
    assert_eq!(df.escape, '`');
    assert_eq!(
        summary(&df),
        vec![
            (From, 0, "img:`$T", "img:$T", 3, 6, Image),
            (From, 1, "reg`\n/img:$T", "reg/img:1", 4, 6, Image),
            (CopyFrom, 1, "A", "A", 6, 13, RefTarget::Stage(0)),
        ]
    );
}

#[test]
fn continuations_with_comments_and_blank_lines() {
    let text = "FROM \\\n# a comment inside the continuation\n\n  alpine:3 \\\n  AS base\nFROM x\nCOPY \\\n  --from=base \\\n  /a /b\n";
    let df = ok(text);
    assert_eq!(df.instruction_count, 3);
    assert_eq!(df.stages[0].alias.as_deref(), Some("base"));
    assert_eq!(
        summary(&df),
        vec![
            (From, 0, "alpine:3", "alpine:3", 4, 3, Image),
            (From, 1, "x", "x", 6, 6, Image),
            (CopyFrom, 1, "base", "base", 8, 10, RefTarget::Stage(0)),
        ]
    );
    // A continuation inside the reference itself stays in `raw`.
    let df = ok("FROM quay.io/\\\nokd:1\nCOPY --from=quay.io/\\\n# c\nx:2 a b\n");
    assert_eq!(summary(&df)[0], (From, 0, "quay.io/\\\nokd:1", "quay.io/okd:1", 1, 6, Image));
    assert_eq!(summary(&df)[1], (CopyFrom, 0, "quay.io/\\\n# c\nx:2", "quay.io/x:2", 3, 13, Image));
}

#[test]
fn heredocs_and_json_form_hide_nothing_and_invent_nothing() {
    let text = "FROM alpine AS a\nRUN <<EOF\nFROM fake\nCOPY --from=fake x y\nEOF\n\
                COPY <<-END /etc/x\n\tFROM other\nEND\nRUN [\"echo\", \"FROM json\"]\n\
                COPY --from=a [\"/x y\", \"/z\"]\nFROM scratch\n";
    let df = ok(text);
    assert_eq!(df.instruction_count, 6);
    assert_eq!(
        summary(&df),
        vec![
            (From, 0, "alpine", "alpine", 1, 6, Image),
            (CopyFrom, 0, "a", "a", 10, 13, Image),
            (From, 1, "scratch", "scratch", 11, 6, Scratch),
        ]
    );
}

#[test]
fn lowercase_instructions_and_crlf() {
    let text =
        "arg B=alpine\r\nfrom $B as Base\r\ncopy --from=base a b\r\nrun --mount=from=BASE,target=/x true\r\n";
    let df = ok(text);
    assert_eq!(df.stages[0].alias.as_deref(), Some("Base"));
    assert_eq!(
        summary(&df),
        vec![
            (From, 0, "$B", "alpine", 2, 6, Image),
            (CopyFrom, 0, "base", "base", 3, 13, Image),
            (MountFrom, 0, "BASE", "BASE", 4, 18, Image),
        ]
    );
}

#[test]
fn stage_targets() {
    let text = "FROM a AS Builder\nFROM BUILDER AS second\nCOPY --from=builder x y\nCOPY --from=0 x y\n\
                COPY --from=scratch x y\nFROM SCRATCH\nCOPY --from=1 x y\nCOPY --from=later x y\nFROM b AS later\n";
    let targets: Vec<_> = ok(text).refs.iter().map(|r| (r.kind, r.target)).collect();
    assert_eq!(
        targets,
        vec![
            (From, Image),
            (From, RefTarget::Stage(0)),
            (CopyFrom, RefTarget::Stage(0)),
            (CopyFrom, RefTarget::Stage(0)),
            (CopyFrom, Image),
            (From, Scratch),
            (CopyFrom, RefTarget::Stage(1)),
            (CopyFrom, Image),
            (From, Image),
        ]
    );
    // FROM a stage by an ARG that names it.
    let df = ok("ARG S=build\nFROM x AS build\nFROM ${S}\n");
    assert_eq!(df.refs[1].target, RefTarget::Stage(0));
}

#[test]
fn forward_and_self_index_references_are_refused() {
    let e = err("FROM a\nFROM b\nCOPY --from=1 x y\n");
    assert_eq!(at(&e), (3, 13));
    assert!(e.message().contains("stage 1") && e.message().contains("only stage 0"), "{}", e.message());
    let e = err("FROM a\nRUN --mount=from=5 true\n");
    assert!(e.message().contains("first stage"), "{}", e.message());
    err("FROM a\nFROM b\nADD --from=-1 x y\n");
    err("FROM a\nCOPY --from x y\n");
}

#[test]
fn mount_spans_cover_only_the_from_value() {
    let text = "FROM a AS b\nFROM c\nRUN --mount=type=bind,FROM=b,target=/x \\\n    --mount=type=cache,target=/c,\"from=quay.io/q\",id=1 true\n\
                RUN --mount=type=bind,from=quay.io/bui\\\nlder,target=/x true\n";
    let df = ok(text);
    assert_eq!(
        summary(&df)[2..],
        [
            (MountFrom, 1, "b", "b", 3, 28, RefTarget::Stage(0)),
            (MountFrom, 1, "quay.io/q", "quay.io/q", 4, 40, Image),
            (MountFrom, 1, "quay.io/bui\\\nlder", "quay.io/builder", 5, 28, Image),
        ]
    );
    // Escapes next to continuations, a continuation with trailing spaces, and comment and blank
    // lines inside the value: the span still covers exactly the reference.
    let text = "FROM a\nRUN --mount=type=bind,from=a\\\n\\b,target=/x true\n\
                RUN --mount=from=quay.io/\\  \n# c\n\nx,target=/y true\n";
    let df = ok(text);
    assert_eq!(
        summary(&df)[1..],
        [
            (MountFrom, 0, "a\\\n\\b", "ab", 2, 28, Image),
            (MountFrom, 0, "quay.io/\\  \n# c\n\nx", "quay.io/x", 4, 18, Image),
        ]
    );
    // A value that does not match its span is never mapped.
    assert_eq!(super::mount::map_range(text, 7..12, "other", b'\\', 0..2), None);
    let e = err("FROM a\nRUN --mount=type=bind,fr\"om=x true\n");
    assert_eq!(at(&e), (2, 13));
}

#[test]
fn onbuild_is_not_followed() {
    let df = ok("FROM a AS x\nONBUILD COPY --from=x a b\nONBUILD RUN --mount=from=y true\n");
    assert_eq!(df.refs.len(), 1);
    assert_eq!(df.instruction_count, 3);
}

#[test]
fn no_from_is_an_input_error() {
    for text in ["", "# just a comment\n", "ARG A=1\n", "# escape=`\n\n"] {
        let e = err(text);
        assert!(e.message().contains("no FROM instruction"), "{text:?}: {e:?}");
        assert!(e.help().unwrap().contains("at least one FROM"));
    }
}

#[test]
fn syntax_errors_carry_position_and_help() {
    let e = err("FROM alpine\n  BOGUS x\n");
    assert_eq!(at(&e), (2, 3));
    assert!(e.message().contains("unknown instruction"), "{}", e.message());
    let e = err("RUN true\nFROM a\n");
    assert_eq!(at(&e), (1, 1));
    assert!(e.help().unwrap().contains("before the first FROM"));
    let e = err("FROM a\nRUN <<EOF\nnever ends\n");
    assert!(e.message().contains("here-document"), "{}", e.message());
    assert_eq!(e.location().unwrap().file, Path::new("Dockerfile"));
}

#[test]
fn duplicate_stage_names_are_case_insensitive() {
    let e = err("FROM a AS x\nFROM b AS X\n");
    assert_eq!(at(&e), (2, 11));
    assert!(e.message().contains("duplicate stage name"));
    err("FROM a AS x\nFROM b AS x\n");
}

#[test]
fn byte_order_mark_and_unicode_columns() {
    let text = "\u{feff}FROM alpine\nRUN --mount=target=/é,from=img true\n";
    let df = ok(text);
    assert_eq!(
        summary(&df),
        vec![(From, 0, "alpine", "alpine", 1, 6, Image), (MountFrom, 0, "img", "img", 2, 28, Image)]
    );
    assert_eq!(df.refs[0].span, 8..14);
    let e = err("\u{feff}FROM alpine\nFROM é${\n");
    assert_eq!(at(&e), (2, 6));
}

#[test]
fn rewrite_splices_edits_in_any_order() {
    let text = "FROM a AS b\nFROM c\nCOPY --from=b x y\n";
    let df = ok(text);
    let edits: Vec<Edit> = df
        .refs
        .iter()
        .rev()
        .map(|r| Edit { span: r.span.clone(), replacement: format!("<{}>", r.raw) })
        .collect();
    assert_eq!(rewrite(text, &edits).unwrap(), "FROM <a> AS b\nFROM <c>\nCOPY --from=<b> x y\n");
    assert_eq!(rewrite(text, &[]).unwrap(), text);
    // Adjacent edits and an insertion are fine.
    let edits =
        [Edit { span: 0..2, replacement: "X".into() }, Edit { span: 2..4, replacement: String::new() }];
    assert_eq!(rewrite("abcdef", &edits).unwrap(), "Xef");
    assert_eq!(rewrite("ab", &[Edit { span: 1..1, replacement: "-".into() }]).unwrap(), "a-b");
}

#[test]
fn rewrite_refuses_bad_edits() {
    let bad: [&[Edit]; 5] = [
        &[Edit { span: 0..3, replacement: "x".into() }, Edit { span: 2..4, replacement: "y".into() }],
        &[Edit { span: 2..2, replacement: "x".into() }, Edit { span: 2..2, replacement: "y".into() }],
        &[Edit { span: 3..9, replacement: "x".into() }],
        &[Edit { span: 1..2, replacement: "x".into() }],
        &[Edit { span: std::ops::Range { start: 3, end: 2 }, replacement: "x".into() }],
    ];
    for edits in bad {
        let e = rewrite("éabc", edits).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Internal, "{edits:?}");
    }
}

#[test]
fn quotes_in_from_are_removed_as_buildkit_does() {
    let text = "ARG V=1\nFROM \"up/base:${V}\" AS 'b'\nCOPY --from='b' /a /a\n";
    let df = parse(Path::new("Dockerfile"), text, &BTreeMap::new()).expect("parses");
    assert_eq!(df.refs[0].raw, "\"up/base:${V}\"");
    assert_eq!(df.refs[0].expanded, "up/base:1");
}

#[test]
fn from_end_is_after_continuations_and_the_line_break() {
    let ends = |text: &str| ok(text).stages.iter().map(|s| s.from_end).collect::<Vec<_>>();
    let text = "FROM a \\\n  # note\n\n  AS b\nRUN x\nFROM b\r\nRUN y\nFROM c";
    assert_eq!(ends(text), [text.find("RUN x").unwrap(), text.find("RUN y").unwrap(), text.len()]);
    // A continuation after the last token takes the blank and comment lines after it.
    let text = "FROM a \\\n# trailing\n";
    assert_eq!(ends(text), [text.len()]);
    let text = "# escape=`\nFROM a `\n  AS b\nRUN x\n";
    assert_eq!(ends(text), [text.find("RUN").unwrap()]);
    let text = "\u{feff}FROM a\nRUN x\n";
    assert_eq!(ends(text), [text.find("RUN").unwrap()]);
}

/// BuildKit finds here-documents in any word of RUN, COPY and ADD, so their bodies are never
/// instructions, and a rewrite leaves them byte-identical.
#[test]
fn heredocs_anywhere_in_the_line_hide_their_bodies() {
    let text = "FROM registry.ci.openshift.org/ocp/4.17:base AS base\n\
                RUN cat <<EOT > /etc/x\nFROM not-real:1\nEOT\n\
                RUN python3 <<EOF\nprint('COPY --from=fake a b')\nEOF\n\
                RUN <<'EOF' <<B cat\nFROM one:1\nEOF\nFROM two:2\nB\n\
                RUN --mount=type=bind,from=registry.ci.openshift.org/ocp/4.17:tools,source=/,target=/t \\\n\
                \x20   bash <<'EOF'\nFROM three:3\nEOF\n\
                COPY --from=base <<EOT /etc/y\nFROM four:4\nEOT\n\
                FROM base\n";
    let df = ok(text);
    let raws: Vec<&str> = df.refs.iter().map(|r| r.raw.as_str()).collect();
    assert_eq!(
        raws,
        [
            "registry.ci.openshift.org/ocp/4.17:base",
            "registry.ci.openshift.org/ocp/4.17:tools",
            "base",
            "base"
        ],
        "{:?}",
        df.refs
    );
    assert_eq!(df.stages.len(), 2, "no FROM inside a body starts a stage");
    let edits: Vec<Edit> = df
        .refs
        .iter()
        .filter(|r| r.raw.starts_with("registry."))
        .map(|r| Edit { span: r.span.clone(), replacement: "quay.io/okd/scos:4.17".into() })
        .collect();
    let rewritten = rewrite(text, &edits).unwrap();
    for body in ["FROM not-real:1\n", "print('COPY --from=fake a b')\n", "FROM one:1\nEOF\nFROM two:2\n"] {
        assert!(rewritten.contains(body), "bodies stay byte-identical: {rewritten}");
    }
    assert_eq!(rewritten.matches("quay.io/okd/scos:4.17").count(), 2, "{rewritten}");
    let e = err("FROM a\nRUN cat <<EOT > /etc/x\nnever ends\n");
    assert_eq!(at(&e), (2, 9), "{e:?}");
    assert!(e.message().contains("here-document") && e.message().contains("EOT"), "{}", e.message());
}

/// `ENTRYPOINT []` (and `CMD []`) reset the parent's, which BuildKit allows.
#[test]
fn empty_exec_forms_are_legal() {
    let df = ok("FROM quay.io/openshift/origin-cli:4.17\nENTRYPOINT []\nENTRYPOINT [ ]\nCMD []\n");
    assert_eq!(df.refs.len(), 1);
    assert_eq!(df.instruction_count, 4);
}
