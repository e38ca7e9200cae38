//! The text forms of a [`SourcesComparison`]: a table for the terminal (100 columns) and Markdown.

use super::*;

impl SourcesComparison {
    /// Whether the inputs agree: same components, same fields (exit code 0).
    pub fn agree(&self) -> bool {
        self.summary.agree
    }

    /// Plain text within 100 columns: summary, inputs, pairs, then the first rows of what is
    /// only in some inputs and of the differences (the JSON output has everything).
    pub fn to_table(&self) -> String {
        let mut out = format!("{}\n\n", self.headline());
        out += &table(&INPUT_HEAD, &[3, 36, 20, 20, 10, 5], &self.input_rows());
        let fields = Field::ALL.map(|f| f.as_str().trim_start_matches("from_").to_uppercase());
        let head: Vec<&str> = PAIR_HEAD.into_iter().chain(fields.iter().map(String::as_str)).collect();
        let widths: Vec<usize> = head.iter().map(|h| h.len().max(6)).collect();
        out += &format!("\n{}", table(&head, &widths, &self.pair_rows()));
        if !self.only_in.is_empty() {
            out += "\nONLY IN SOME INPUTS\n";
            for o in self.only_in.iter().take(ROWS) {
                let prefix = format!("only in {} ({}): ", tags(&o.inputs), o.components.len());
                out += &fit_list(&prefix, &o.components);
            }
        }
        if self.differences.is_empty() {
            return out;
        }
        let rows = self.differences.iter().flat_map(|d| {
            d.fields.iter().flat_map(move |f| {
                let present = f.values.iter().enumerate().filter_map(|(i, v)| Some((i, v.as_ref()?)));
                present.enumerate().map(move |(k, (i, v))| {
                    let (c, field) = if k == 0 { (d.component.as_str(), f.field.as_str()) } else { ("", "") };
                    vec![c.to_owned(), field.to_owned(), tag(i), v.clone()]
                })
            })
        });
        let rows: Vec<Vec<String>> = rows.collect();
        let shown = &rows[..rows.len().min(ROWS)];
        out += &format!("\n{}", table(&["COMPONENT", "FIELD", "IN", "VALUE"], &[28, 12, 3, 53], shown));
        if rows.len() > ROWS {
            let _ = writeln!(out, "... {} more rows; see --output json", rows.len() - ROWS);
        }
        out
    }

    /// Markdown: summary counts first, then GitHub tables of inputs, pairs, what is only in some
    /// inputs, and every difference.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("# Sources comparison\n\n{}\n\n## Inputs\n\n", self.headline());
        out += &md_table(&INPUT_HEAD, &self.input_rows());
        let head: Vec<&str> = PAIR_HEAD.into_iter().chain(Field::ALL.map(Field::as_str)).collect();
        out += &format!("\n## Pairs\n\n{}", md_table(&head, &self.pair_rows()));
        if !self.only_in.is_empty() {
            let rows: Vec<Vec<String>> = self
                .only_in
                .iter()
                .map(|o| vec![tags(&o.inputs), o.components.len().to_string(), o.components.join(", ")])
                .collect();
            out +=
                &format!("\n## Only in some inputs\n\n{}", md_table(&["IN", "COUNT", "COMPONENTS"], &rows));
        }
        if !self.differences.is_empty() {
            let labels: Vec<String> =
                self.inputs.iter().enumerate().map(|(i, x)| format!("{} {}", tag(i), x.label)).collect();
            let head: Vec<&str> =
                ["COMPONENT", "FIELD"].into_iter().chain(labels.iter().map(String::as_str)).collect();
            let rows: Vec<Vec<String>> = self
                .differences
                .iter()
                .flat_map(|d| d.fields.iter().map(move |f| (d, f)))
                .map(|(d, f)| {
                    let values = f
                        .values
                        .iter()
                        .map(|v| v.as_ref().map_or("(absent)".to_owned(), |v| format!("`{v}`")));
                    [d.component.clone(), f.field.as_str().to_owned()].into_iter().chain(values).collect()
                })
                .collect();
            out += &format!("\n## Differences\n\n{}", md_table(&head, &rows));
        }
        out
    }

    fn headline(&self) -> String {
        let s = &self.summary;
        format!(
            "{}: {} components in {} inputs, {} in every input, {} missing from some, {} differing",
            if s.agree { "agree" } else { "differ" },
            s.components,
            self.inputs.len(),
            s.in_all,
            s.only_in_some,
            s.differing
        )
    }

    fn input_rows(&self) -> Vec<Vec<String>> {
        let row = |(i, x): (usize, &InputSummary)| {
            let counts = [x.components, x.dockerfiles_read].map(|n| n.to_string());
            [tag(i), x.label.clone(), x.release.clone(), x.version.clone()]
                .into_iter()
                .chain(counts)
                .collect()
        };
        self.inputs.iter().enumerate().map(row).collect()
    }

    /// One row per pair, then `all`: in every input, differing over all inputs.
    fn pair_rows(&self) -> Vec<Vec<String>> {
        let s = &self.summary;
        let pairs = self.pairs.iter().map(|p| {
            let counts = [p.common, p.only_a, p.only_b, p.differing].map(|n| n.to_string());
            (format!("{}-{}", tag(p.a), tag(p.b)), counts, &p.fields)
        });
        let all = [s.in_all.to_string(), "-".to_owned(), "-".to_owned(), s.differing.to_string()];
        let all = ("all".to_owned(), all, &s.fields);
        let row = |(name, counts, fields): (String, [String; 4], &BTreeMap<Field, usize>)| {
            std::iter::once(name).chain(counts).chain(fields.values().map(ToString::to_string)).collect()
        };
        pairs.chain([all]).map(row).collect()
    }
}

const INPUT_HEAD: [&str; 6] = ["#", "INPUT", "RELEASE", "VERSION", "COMPONENTS", "READ"];
const PAIR_HEAD: [&str; 5] = ["PAIR", "COMMON", "ONLY-A", "ONLY-B", "DIFFER"];
/// Rows shown per section of the table.
const ROWS: usize = 20;
/// The table's width.
const WIDTH: usize = 100;

/// `#1` for input 0.
fn tag(i: usize) -> String {
    format!("#{}", i + 1)
}

fn tags(inputs: &[usize]) -> String {
    inputs.iter().map(|&i| tag(i)).collect::<Vec<_>>().join(",")
}

/// Left-aligned columns, each cell cut to its width.
fn table(head: &[&str], widths: &[usize], rows: &[Vec<String>]) -> String {
    let line = |cells: Vec<&str>| {
        let cells: Vec<String> =
            cells.iter().zip(widths).map(|(c, &w)| format!("{:w$}", cut(c, w))).collect();
        format!("{}\n", cells.join(" ").trim_end())
    };
    let body = rows.iter().map(|r| line(r.iter().map(String::as_str).collect()));
    std::iter::once(line(head.to_vec())).chain(body).collect()
}

/// `text` on one line, at most `width` characters, `…` where it was cut.
fn cut(text: &str, width: usize) -> String {
    let flat: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if flat.chars().count() <= width {
        return flat;
    }
    flat.chars().take(width.saturating_sub(1)).chain(['…']).collect()
}

/// `prefix` and as many of `items` as fit in [`WIDTH`], then how many were left out.
fn fit_list(prefix: &str, items: &[String]) -> String {
    let mut line = prefix.to_owned();
    for (k, item) in items.iter().enumerate() {
        let more = format!(" ... {} more", items.len() - k);
        let sep = if k == 0 { "" } else { ", " };
        if line.chars().count() + sep.len() + item.chars().count() + more.len() > WIDTH {
            return format!("{line}{more}\n");
        }
        line = format!("{line}{sep}{item}");
    }
    format!("{line}\n")
}

/// A GitHub table, headings lowercased; `|` is escaped and line breaks become spaces.
fn md_table(head: &[&str], rows: &[Vec<String>]) -> String {
    let row = |cells: Vec<String>| {
        let cells: Vec<String> = cells.iter().map(|c| cut(c, usize::MAX).replace('|', "\\|")).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let mut out = row(head.iter().map(|h| h.to_lowercase()).collect());
    out += &row(vec!["---".to_owned(); head.len()]);
    out + &rows.iter().map(|r| row(r.clone())).collect::<String>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_helpers_keep_to_their_width() {
        assert_eq!(cut("a\nb", 10), "a b");
        assert_eq!(cut("abcdef", 4), "abc…");
        let items: Vec<String> = (0..40).map(|i| format!("component-{i}")).collect();
        let line = fit_list("only in #1 (40): ", &items);
        assert!(line.chars().count() <= WIDTH + 1 && line.ends_with(" more\n"), "{line}");
        assert_eq!(fit_list("x: ", &items[..2]), "x: component-0, component-1\n");
        assert_eq!(md_table(&["A"], &[vec!["x|y".to_owned()]]), "| a |\n| --- |\n| x\\|y |\n");
    }
}
