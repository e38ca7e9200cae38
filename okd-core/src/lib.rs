//! okd-core: the model and the rules of okd-build.
//!
//! Like kube-core, this crate holds no wiring: it parses release manifests and Dockerfiles,
//! resolves FROM lines, builds the dependency graph, computes fingerprints and defines the
//! [`backend::BuildBackend`] trait. Clients (Kubernetes, container engines, GitHub) are injected
//! by the backend crates; the `okd` CLI is the one place that wires everything together.
//!
//! The one exception to "no IO" is reading sources: the manifest, Dockerfiles, path sources and
//! the git cache (through the `git` command, so the user's own credentials work).

pub mod backend;
pub mod compare;
pub mod dockerfile;
pub mod doozer;
pub mod error;
pub mod fingerprint;
pub mod generate;
pub mod graph;
pub mod manifest;
pub mod payload;
pub mod plan;
pub mod registry;
pub mod resolve;
pub mod source;
pub mod yaml;

pub use error::{Error, ErrorKind, Location, Result, Warning};
