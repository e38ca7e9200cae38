//! A fake Kubernetes API server: [`store`] holds objects, [`server`] speaks the API over HTTP on
//! 127.0.0.1, and [`controllers`] move status forward the way the real controllers do.

pub mod controllers;
pub mod server;
pub mod store;
