//! Importing ocp-build-data (in progress).
