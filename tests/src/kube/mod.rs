//! The fake Kubernetes API server (being built).
