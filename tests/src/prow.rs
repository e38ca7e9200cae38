//! A fake Prow Gangway (being built).
