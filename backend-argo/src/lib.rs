//! backend-argo
