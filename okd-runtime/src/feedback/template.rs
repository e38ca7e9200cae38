//! Templates with `{name}` placeholders: the link a backend gives each component's build
//! (`log_url` settings) and the context of a commit status (`--github-context`). Checked when
//! read, so a typo is an input error before anything is built, not a broken link afterwards.

use okd_core::{Error, Result};

/// A text with `{name}` placeholders, every name one the reader knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(String);

impl Template {
    /// Checks `text`, the value of `setting`: braces balanced, every placeholder in `names`.
    pub fn parse(setting: &str, text: &str, names: &[&str]) -> Result<Self> {
        let known = || names.iter().map(|n| format!("{{{n}}}")).collect::<Vec<_>>().join(" ");
        let mut rest = text;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err(Error::invalid(format!("{setting} '{text}' has a '}}' that closes nothing"))
                    .with_help(format!("placeholders are written {{name}}: {}", known())));
            }
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                return Err(Error::invalid(format!("{setting} '{text}' has a '{{' that is never closed"))
                    .with_help(format!("placeholders are written {{name}}: {}", known())));
            };
            let name = &after[..close];
            if !names.contains(&name) {
                return Err(Error::invalid(format!("{setting} '{text}': unknown placeholder {{{name}}}"))
                    .with_help(format!("{setting} can use {}", known())));
            }
            rest = &after[close + 1..];
        }
        Ok(Template(text.to_owned()))
    }

    /// The text with each `{name}` replaced by its value; names without a value stay as written.
    pub fn fill(&self, values: &[(&str, &str)]) -> String {
        values.iter().fold(self.0.clone(), |text, (name, value)| text.replace(&format!("{{{name}}}"), value))
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The link template of a backend's `log_url` setting: an `http://` or `https://` URL (GitHub
/// takes nothing else as a status's target) with placeholders from `names`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTemplate(Template);

impl LinkTemplate {
    /// Checks `text`, the value of `setting`.
    pub fn parse(setting: &str, text: &str, names: &[&str]) -> Result<Self> {
        let template = Template::parse(setting, text, names)?;
        if !(text.starts_with("https://") || text.starts_with("http://")) {
            let example = names.iter().map(|n| format!("{{{n}}}")).collect::<Vec<_>>().join("/");
            return Err(Error::invalid(format!("{setting} '{text}' is not an http:// or https:// URL"))
                .with_help(format!("e.g. --set {setting}=https://console.example.com/{example}")));
        }
        Ok(LinkTemplate(template))
    }

    /// The setting's template, checked, when it is set.
    pub fn from_setting(setting: &str, text: Option<&str>, names: &[&str]) -> Result<Option<Self>> {
        text.map(|t| Self::parse(setting, t, names)).transpose()
    }

    /// The URL for these values.
    pub fn url(&self, values: &[(&str, &str)]) -> String {
        self.0.fill(values)
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn placeholders_are_checked_and_filled() {
        let names = ["namespace", "name", "component", "run"];
        let link =
            LinkTemplate::parse("log_url", "https://k/ns/{namespace}/pipelineruns/{name}", &names).unwrap();
        assert_eq!(
            link.url(&[("namespace", "tenant"), ("name", "cli-on-push-abc")]),
            "https://k/ns/tenant/pipelineruns/cli-on-push-abc"
        );

        let err = LinkTemplate::parse("log_url", "https://k/{namspace}", &names).unwrap_err();
        assert!(err.to_string().contains("unknown placeholder {namspace}"), "{err}");
        assert!(err.help().unwrap().contains("{namespace}"), "{err:?}");
        let err = LinkTemplate::parse("log_url", "https://k/{name", &names).unwrap_err();
        assert!(err.to_string().contains("never closed"), "{err}");
        let err = LinkTemplate::parse("log_url", "https://k/name}", &names).unwrap_err();
        assert!(err.to_string().contains("closes nothing"), "{err}");
        let err = LinkTemplate::parse("log_url", "console/{name}", &names).unwrap_err();
        assert!(err.to_string().contains("not an http:// or https:// URL"), "{err}");

        let context =
            Template::parse("--github-context", "ci/{backend}/{component}", &["backend", "component"])
                .unwrap();
        assert_eq!(context.fill(&[("backend", "local"), ("component", "cli")]), "ci/local/cli");
        assert_eq!(LinkTemplate::from_setting("log_url", None, &names).unwrap(), None);
    }
}
