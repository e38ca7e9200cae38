//! Property tests: generated multi-stage Dockerfiles survive a rewrite of any subset of their
//! references byte-exactly, and no input at all makes `parse` panic.

#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use proptest::prelude::*;

use super::*;

const ARG_NAMES: [&str; 3] = ["A", "B", "TAG"];

/// How one reference is written.
#[derive(Debug, Clone)]
struct RefPlan {
    choice: u8,
    image: String,
    /// Put a line continuation (and maybe a comment line) inside a literal reference.
    split: Option<(usize, bool)>,
}

#[derive(Debug, Clone)]
struct StagePlan {
    keyword_case: u8,
    platform: bool,
    alias: bool,
    from: RefPlan,
    body: Vec<(u8, u8, RefPlan)>,
}

#[derive(Debug, Clone)]
struct FilePlan {
    backtick: bool,
    args: Vec<(usize, Option<String>)>,
    stages: Vec<StagePlan>,
}

/// A generated Dockerfile with what a correct parse must report.
#[derive(Debug)]
struct Generated {
    text: String,
    raws: Vec<String>,
    kinds: Vec<RefKind>,
    instructions: usize,
}

fn image() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{1,6}(\\.io/[a-z]{1,5})?(:[0-9a-z]{1,4})?"
}

fn ref_plan() -> impl Strategy<Value = RefPlan> {
    (any::<u8>(), image(), proptest::option::of((any::<usize>(), any::<bool>())))
        .prop_map(|(choice, image, split)| RefPlan { choice, image, split })
}

fn file_plan() -> impl Strategy<Value = FilePlan> {
    let arg = (0..ARG_NAMES.len(), proptest::option::of("[a-z][a-z0-9]{0,5}"));
    let stage = (
        any::<u8>(),
        any::<bool>(),
        any::<bool>(),
        ref_plan(),
        prop::collection::vec((0u8..9, any::<u8>(), ref_plan()), 0..6),
    )
        .prop_map(|(keyword_case, platform, alias, from, body)| StagePlan {
            keyword_case,
            platform,
            alias,
            from,
            body,
        });
    (any::<bool>(), prop::collection::vec(arg, 0..4), prop::collection::vec(stage, 1..5))
        .prop_map(|(backtick, args, stages)| FilePlan { backtick, args, stages })
}

fn keyword(word: &str, case: u8) -> String {
    match case % 3 {
        0 => word.to_string(),
        1 => word.to_lowercase(),
        _ => word[..1].to_string() + &word[1..].to_lowercase(),
    }
}

impl FilePlan {
    fn generate(&self) -> Generated {
        let esc = if self.backtick { '`' } else { '\\' };
        let mut g = Generated { text: String::new(), raws: vec![], kinds: vec![], instructions: 0 };
        if self.backtick {
            g.text.push_str("# escape=`\n");
        }
        for (name, default) in &self.args {
            let name = ARG_NAMES[*name];
            match default {
                Some(d) => writeln!(g.text, "ARG {name}={d}").unwrap(),
                None => writeln!(g.text, "ARG {name}").unwrap(),
            }
            g.instructions += 1;
        }
        let mut aliases: Vec<Option<String>> = vec![];
        for (index, stage) in self.stages.iter().enumerate() {
            let case = stage.keyword_case;
            write!(g.text, "{} ", keyword("FROM", case)).unwrap();
            if stage.platform {
                g.text.push_str("--platform=linux/amd64 ");
            }
            let from = match stage.from.choice % 4 {
                1 if !self.args.is_empty() => {
                    format!(
                        "reg.io/${{{}}}:1",
                        ARG_NAMES[self.args[stage.from.choice as usize % self.args.len()].0]
                    )
                }
                2 if aliases.iter().any(Option::is_some) => aliases
                    .iter()
                    .flatten()
                    .nth(stage.from.choice as usize % aliases.iter().flatten().count())
                    .unwrap()
                    .clone(),
                3 => "scratch".to_string(),
                _ => literal(&stage.from, esc),
            };
            g.push_ref(RefKind::From, &from);
            let alias = stage.alias.then(|| keyword(&format!("STAGE{index}"), case.wrapping_add(1)));
            if let Some(alias) = &alias {
                write!(g.text, " {} {alias}", keyword("AS", case)).unwrap();
            }
            g.text.push('\n');
            g.instructions += 1;
            for (kind, case, plan) in &stage.body {
                let r = self.ref_value(plan, index, &aliases, esc);
                match kind {
                    0 => writeln!(g.text, "{} echo hi", keyword("RUN", *case)).unwrap(),
                    1 | 2 => {
                        let (word, kind) =
                            if *kind == 1 { ("COPY", RefKind::CopyFrom) } else { ("ADD", RefKind::AddFrom) };
                        write!(g.text, "{} --from=", keyword(word, *case)).unwrap();
                        g.push_ref(kind, &r);
                        g.text.push_str(" /src /dst\n");
                    }
                    3 => {
                        write!(
                            g.text,
                            "{} --mount=type=cache,target=/c --mount=type=bind,from=",
                            keyword("RUN", *case)
                        )
                        .unwrap();
                        g.push_ref(RefKind::MountFrom, &r);
                        g.text.push_str(",target=/x make\n");
                    }
                    4 => g.text.push_str("# COPY --from=commented /a /b\n"),
                    5 => g.text.push('\n'),
                    6 => {
                        write!(
                            g.text,
                            "{} {esc}\n  # comment in a continuation\n  --from=",
                            keyword("COPY", *case)
                        )
                        .unwrap();
                        g.push_ref(RefKind::CopyFrom, &r);
                        write!(g.text, " {esc}\n  /a /b\n").unwrap();
                    }
                    7 => writeln!(
                        g.text,
                        "{} <<EOF\nFROM fake\nCOPY --from=fake a b\nEOF",
                        keyword("RUN", *case)
                    )
                    .unwrap(),
                    _ => {
                        write!(g.text, "{} --from=", keyword("COPY", *case)).unwrap();
                        g.push_ref(RefKind::CopyFrom, &r);
                        g.text.push_str(" [\"/a b\", \"/c\"]\n");
                    }
                }
                if *kind != 4 && *kind != 5 {
                    g.instructions += 1;
                }
            }
            aliases.push(alias);
        }
        g
    }

    /// A `--from` value in stage `index`: an image, an earlier alias, an earlier index or an
    /// expression over the global ARGs.
    fn ref_value(&self, plan: &RefPlan, index: usize, aliases: &[Option<String>], esc: char) -> String {
        let named: Vec<&String> = aliases.iter().flatten().collect();
        match plan.choice % 4 {
            1 if !named.is_empty() => named[plan.choice as usize % named.len()].to_lowercase(),
            2 if index > 0 => (plan.choice as usize % index).to_string(),
            3 if !self.args.is_empty() => {
                format!("${{{}:-img}}", ARG_NAMES[self.args[plan.choice as usize % self.args.len()].0])
            }
            _ => literal(plan, esc),
        }
    }
}

fn literal(plan: &RefPlan, esc: char) -> String {
    match plan.split {
        Some((at, comment)) => {
            let at = 1 + at % (plan.image.len() - 1);
            let comment = if comment { "# inside\n" } else { "" };
            format!("{}{esc}\n{comment}{}", &plan.image[..at], &plan.image[at..])
        }
        None => plan.image.clone(),
    }
}

impl Generated {
    fn push_ref(&mut self, kind: RefKind, raw: &str) {
        self.text.push_str(raw);
        self.raws.push(raw.to_string());
        self.kinds.push(kind);
    }
}

fn parse_ok(text: &str) -> Dockerfile {
    parse(Path::new("Dockerfile"), text, &BTreeMap::new()).unwrap_or_else(|e| panic!("{e:?}\n{text}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rewrite_replaces_exactly_the_chosen_refs(
        plan in file_plan(),
        picks in prop::collection::vec((any::<bool>(), image()), 64),
    ) {
        let g = plan.generate();
        let before = parse_ok(&g.text);
        prop_assert_eq!(before.instruction_count, g.instructions);
        prop_assert_eq!(before.stages.len(), plan.stages.len());
        prop_assert_eq!(before.refs.iter().map(|r| r.raw.clone()).collect::<Vec<_>>(), g.raws.clone());
        prop_assert_eq!(before.refs.iter().map(|r| r.kind).collect::<Vec<_>>(), g.kinds.clone());
        for r in &before.refs {
            prop_assert_eq!(&g.text[r.span.clone()], r.raw.as_str());
        }

        let edits: Vec<(usize, Edit)> = before.refs.iter().enumerate()
            .filter(|(i, _)| picks[i % picks.len()].0)
            .map(|(i, r)| (i, Edit { span: r.span.clone(), replacement: picks[i % picks.len()].1.clone() }))
            .collect();
        // Hand the edits over in reverse order: rewrite must not depend on it.
        let reversed: Vec<Edit> = edits.iter().rev().map(|(_, e)| e.clone()).collect();
        let text = rewrite(&g.text, &reversed).unwrap();
        let after = parse_ok(&text);
        prop_assert_eq!(after.instruction_count, before.instruction_count);
        prop_assert_eq!(after.stages.len(), before.stages.len());
        prop_assert_eq!(after.refs.len(), before.refs.len());

        // Every ref moved by the size change of the edits before it; edited ones have the
        // new text, the others kept theirs.
        let mut delta = 0isize;
        let mut edited = edits.iter().peekable();
        for (i, (old, new)) in before.refs.iter().zip(&after.refs).enumerate() {
            prop_assert_eq!(old.kind, new.kind);
            prop_assert_eq!(old.stage, new.stage);
            let start = old.span.start.checked_add_signed(delta).unwrap();
            prop_assert_eq!(new.span.start, start);
            match edited.next_if(|(j, _)| *j == i) {
                Some((_, edit)) => {
                    prop_assert_eq!(&new.raw, &edit.replacement);
                    prop_assert_eq!(&new.expanded, &edit.replacement);
                    delta += edit.replacement.len() as isize - old.span.len() as isize;
                }
                None => {
                    prop_assert_eq!(&new.raw, &old.raw);
                    prop_assert_eq!(&new.expanded, &old.expanded);
                }
            }
        }

        // Outside the edits the text is byte-identical: rebuild it piece by piece.
        let (mut at_old, mut at_new) = (0, 0);
        for (_, edit) in &edits {
            let keep = &g.text[at_old..edit.span.start];
            prop_assert_eq!(&text[at_new..at_new + keep.len()], keep);
            at_new += keep.len();
            prop_assert_eq!(&text[at_new..at_new + edit.replacement.len()], edit.replacement.as_str());
            at_new += edit.replacement.len();
            at_old = edit.span.end;
        }
        prop_assert_eq!(&text[at_new..], &g.text[at_old..]);
    }
}

const TOKENS: &[&str] = &[
    "FROM ",
    "from ",
    " AS ",
    "as ",
    "ARG ",
    "A=",
    "COPY ",
    "ADD ",
    "RUN ",
    "ONBUILD ",
    "--from=",
    "--platform=",
    "--mount=",
    "type=bind,",
    "from=",
    "target=/x",
    "${",
    "}",
    "$",
    "A",
    ":-",
    ":?",
    "+",
    "#",
    "%",
    "\\",
    "`",
    "\n",
    "\r\n",
    "\r",
    " ",
    "\t",
    "'",
    "\"",
    "\"\"",
    ",",
    "=",
    "[",
    "]",
    "[\"",
    "\"]",
    "<<EOF",
    "<<-EOF",
    "<<'EOF'",
    "EOF",
    "\nEOF\n",
    "# escape=`\n",
    "# escape=\\\n",
    "# syntax=x\n",
    "scratch",
    "0",
    "1",
    "-1",
    "img",
    "é",
    "\u{feff}",
    "\0",
];

fn arbitrary_parse(text: &str) {
    let args: BTreeMap<String, String> = [("A".to_string(), "1".to_string())].into();
    // Ok or Err are both fine; the property is that this returns at all.
    let result = parse(Path::new("Dockerfile"), text, &args);
    if let Ok(df) = result {
        for r in &df.refs {
            assert_eq!(&text[r.span.clone()], r.raw);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_never_panics_on_arbitrary_text(text in any::<String>()) {
        arbitrary_parse(&text);
    }

    #[test]
    fn parse_never_panics_on_dockerfile_like_soup(
        tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..48),
    ) {
        arbitrary_parse(&tokens.concat());
    }

    #[test]
    fn parse_never_panics_on_mutated_dockerfiles(
        plan in file_plan(),
        cuts in prop::collection::vec((any::<usize>(), prop::sample::select(TOKENS)), 1..4),
    ) {
        let mut text = plan.generate().text;
        for (at, token) in cuts {
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.insert_str(at, token);
        }
        arbitrary_parse(&text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// What okd-build's generator relies on: text inserted at a stage's `from_end` becomes the
    /// first instruction of that stage, and nothing else changes.
    #[test]
    fn text_inserted_at_from_end_starts_the_stage(plan in file_plan()) {
        let g = plan.generate();
        let before = parse_ok(&g.text);
        let edits: Vec<Edit> = before
            .stages
            .iter()
            .map(|s| {
                let at_end = s.from_end == g.text.len() && !g.text.ends_with('\n');
                let replacement = format!("{}ENV OKD_STAGE={}\n", if at_end { "\n" } else { "" }, s.index);
                Edit { span: s.from_end..s.from_end, replacement }
            })
            .collect();
        let text = rewrite(&g.text, &edits).unwrap();
        let after = parse_ok(&text);
        prop_assert_eq!(after.instruction_count, before.instruction_count + before.stages.len());
        prop_assert_eq!(after.stages.len(), before.stages.len());
        let raws = |d: &Dockerfile| d.refs.iter().map(|r| r.raw.clone()).collect::<Vec<_>>();
        prop_assert_eq!(raws(&after), raws(&before));
        for s in &after.stages {
            let expected = format!("ENV OKD_STAGE={}\n", s.index);
            prop_assert!(text[s.from_end..].starts_with(&expected), "stage {}:\n{}", s.index, text);
        }
    }
}
