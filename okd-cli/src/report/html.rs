//! `okd compare --output html`: one self-contained page.

use okd_core::compare::{Comparison, sources::SourcesComparison};

/// The page.
pub fn page(comparison: Option<&Comparison>, sources: Option<&SourcesComparison>) -> String {
    let _ = (comparison, sources);
    String::new()
}
