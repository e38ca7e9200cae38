//! Generating Doozer-style OKD sources (in progress).
