//! Warnings about one file: each located at a line, and each field reported once per file
//! however often it occurs, so a config with twenty images that all set `optional` gets one
//! warning naming the twenty images rather than twenty warnings.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
};

use okd_core::doozer::Warning;

#[derive(Debug)]
pub(super) struct Warnings {
    file: PathBuf,
    list: Vec<Warning>,
    seen: BTreeSet<String>,
    /// Image-level fields: where their warning is, the images that set them, and why.
    per_image: BTreeMap<String, (usize, Vec<String>, String)>,
}

impl Warnings {
    pub(super) fn new(file: PathBuf) -> Self {
        Warnings { file, list: Vec::new(), seen: BTreeSet::new(), per_image: BTreeMap::new() }
    }

    pub(super) fn at(&mut self, line: u32, message: String) {
        self.list.push(Warning { file: self.file.clone(), line: line.max(1), message });
    }

    /// A warning for `key`, unless this file already has one.
    pub(super) fn once(&mut self, key: &str, line: u32, message: String) {
        if self.seen.insert(key.to_owned()) {
            self.at(line, message);
        }
    }

    /// `images.items[].<field>` of image `image` is not imported, because `why`. One warning per
    /// field, at its first occurrence, naming every image that sets it.
    pub(super) fn image_field(&mut self, field: &str, line: u32, image: &str, why: &str) {
        match self.per_image.get_mut(field) {
            Some((_, images, _)) => images.push(image.to_owned()),
            None => {
                self.per_image
                    .insert(field.to_owned(), (self.list.len(), vec![image.to_owned()], why.to_owned()));
                self.at(line, String::new());
            }
        }
    }

    pub(super) fn finish(mut self) -> Vec<Warning> {
        for (field, (index, images, why)) in self.per_image {
            let which = if images.len() == 1 { "image" } else { "images" };
            if let Some(w) = self.list.get_mut(index) {
                w.message = format!(
                    "images.items[].{field} (on {which} {}) is not imported: {why}",
                    images.join(", ")
                );
            }
        }
        self.list
    }
}
