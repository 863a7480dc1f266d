//! The demo's route handlers, one file per area.

pub(crate) mod account;
pub(crate) mod billing;
pub(crate) mod documents;
pub(crate) mod files;
pub(crate) mod workspaces;
