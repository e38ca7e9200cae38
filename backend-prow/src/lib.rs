//! backend-prow
