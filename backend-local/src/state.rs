//! The build state store (being built).
