//! Scripted controllers (being built).
