//! A fake GitHub REST API for commit statuses and check runs (being built).
