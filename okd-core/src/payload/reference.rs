//! Image references (`registry/repository[:tag][@digest]`), parsed without a registry client so
//! the payload rules stay pure.

use std::fmt;

use crate::{Error, Result};

/// A fully qualified image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// `host[:port]`.
    pub registry: String,
    /// `org/name`, possibly deeper.
    pub repository: String,
    /// The tag, when given.
    pub tag: Option<String>,
    /// `sha256:<hex>`, when given.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses `text`. The first path element is the registry only when it looks like a host
    /// (has a `.` or `:`, or is `localhost`); otherwise the registry is `docker.io`, as every
    /// engine assumes. A reference with neither tag nor digest is refused, because payload
    /// inputs must say exactly which image they mean.
    pub fn parse(text: &str) -> Result<ImageRef> {
        let bad = |why: &str| {
            Error::invalid(format!("`{text}` is not an image reference: {why}"))
                .with_help("write it as REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:HEX")
        };
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                let hex = digest.strip_prefix("sha256:").ok_or_else(|| bad("the digest is not sha256:"))?;
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad("the digest is not 64 hex digits"));
                }
                (rest, Some(digest.to_owned()))
            }
            None => (text, None),
        };
        // A `:` after the last `/` separates the tag; one before it belongs to a registry port.
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(rest[i + 1..].to_owned())),
            _ => (rest, None),
        };
        if let Some(tag) = &tag
            && !valid_tag(tag)
        {
            return Err(bad("a tag is 1 to 128 of [A-Za-z0-9_.-], not starting with . or -"));
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
                (first.to_owned(), rest.to_owned())
            }
            _ => ("docker.io".to_owned(), name.to_owned()),
        };
        if repository.is_empty()
            || !repository.split('/').all(|p| {
                !p.is_empty()
                    && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            })
        {
            return Err(bad("the repository must be lowercase path elements"));
        }
        if tag.is_none() && digest.is_none() {
            return Err(bad("it names neither a tag nor a digest"));
        }
        Ok(ImageRef { registry, repository, tag, digest })
    }

    /// The same repository at `digest`, without a tag: the form payloads use.
    pub fn at_digest(&self, digest: &str) -> ImageRef {
        ImageRef { digest: Some(digest.to_owned()), tag: None, ..self.clone() }
    }

    /// The same repository with `tag`.
    pub fn with_tag(&self, tag: &str) -> ImageRef {
        ImageRef { tag: Some(tag.to_owned()), digest: None, ..self.clone() }
    }

    /// `registry/repository`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// Whether the registry is on this machine, where plain HTTP is the norm.
    pub fn is_loopback(&self) -> bool {
        let host = self.registry.rsplit_once(':').map_or(self.registry.as_str(), |(h, _)| h);
        matches!(host, "localhost" | "127.0.0.1" | "[::1]") || host.starts_with("127.")
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// The distribution spec's tag grammar, `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn valid_tag(tag: &str) -> bool {
    let mut bytes = tag.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric() || b == b'_')
        && tag.len() <= 128
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_registry_port_tag_and_digest() {
        let r = ImageRef::parse("127.0.0.1:5000/okd/okd-mini:cli").expect("parses");
        assert_eq!((r.registry.as_str(), r.repository.as_str()), ("127.0.0.1:5000", "okd/okd-mini"));
        assert_eq!(r.tag.as_deref(), Some("cli"));
        assert!(r.is_loopback());
        let d = format!("sha256:{}", "a".repeat(64));
        let r = ImageRef::parse(&format!("quay.io/okd/scos-content@{d}")).expect("parses");
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
        assert_eq!(r.to_string(), format!("quay.io/okd/scos-content@{d}"));
        assert!(!r.is_loopback());
        assert_eq!(ImageRef::parse("library/busybox:1").expect("parses").registry, "docker.io");
    }

    #[test]
    fn refuses_what_is_not_a_reference() {
        for bad in ["quay.io/okd/x", "quay.io/OKD/x:1", "quay.io/okd/x@sha256:zz", "quay.io/okd/x:.a", "x:"] {
            assert!(ImageRef::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
