//! Reports: one module per format. Each turns a campaign result into its format and reaches into
//! nothing else.

pub mod baseline;
pub mod curl;
pub mod har;
pub mod html;
pub mod hurl;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod redact;
mod repro;
pub mod rules;
pub mod sarif;
pub mod steps;
pub mod terminal;
