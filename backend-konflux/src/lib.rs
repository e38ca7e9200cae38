//! backend-konflux
