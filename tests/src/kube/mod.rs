//! A fake Kubernetes API server (being built). [`store`] is the object store under it.

pub mod store;
