//! backend-local
