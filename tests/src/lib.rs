//! okd-tests: test fakes and cross-crate integration tests for okd-build.
//!
//! - [`schema`]: the real CRD schemas (from `$OKD_SHARED/schemas`) as validators.
//! - [`kube`]: a fake Kubernetes API server on 127.0.0.1 that kube-rs talks to through an
//!   ordinary kubeconfig, validating every object as a real server does, with scripted
//!   controllers and fault injection.
//! - [`prow`] and [`github`]: fake Gangway and GitHub endpoints.

pub mod github;
pub mod kube;
pub mod prow;
pub mod schema;
