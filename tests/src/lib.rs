//! okd-tests: test fakes and cross-crate integration tests for okd-build.
//!
//! The fakes (a Kubernetes API server validating against the real CRD schemas, Prow and GitHub
//! endpoints) and the conformance suite arrive with the test-kit issue. Today the crate holds
//! cross-crate tests under `tests/`.
