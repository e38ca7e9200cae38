//! okd-tests: test fakes, the conformance suite and cross-crate integration tests for okd-build.
//!
//! - [`conformance`]: the checks every backend runs in its own `tests/conformance.rs`, over a
//!   [`conformance::Harness`] for the backend's fake.
//! - [`memory`]: an in-memory backend on timers that passes them (and proves the suite can fail).
//! - [`engine`]: whether the local engine is here ([`engine::require`]).
//! - [`schema`]: the real CRD schemas (from `$OKD_SHARED/schemas`) as validators.
//! - [`kube`]: a fake Kubernetes API server on 127.0.0.1 that kube-rs talks to through an
//!   ordinary kubeconfig, validating every object as a real server does, with scripted
//!   controllers and fault injection.
//! - [`prow`] and [`github`]: fake Gangway and GitHub endpoints.

pub mod conformance;
pub mod engine;
pub mod fuzz;
pub mod github;
pub mod kube;
pub mod memory;
pub mod prow;
pub mod repos;
pub mod schema;
pub mod synthetic;
pub mod verdicts;
