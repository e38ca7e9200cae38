//! okd-tests
