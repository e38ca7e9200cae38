//! The container engine client (being built).
