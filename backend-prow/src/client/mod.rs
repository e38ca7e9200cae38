//! The remote calls: Gangway over HTTP ([`gangway`]) and app.ci through kube-rs ([`cluster`]).

pub(crate) mod cluster;
pub(crate) mod gangway;
