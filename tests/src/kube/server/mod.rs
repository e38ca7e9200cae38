//! The HTTP API server (being built).
