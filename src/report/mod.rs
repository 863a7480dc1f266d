//! Reports: one module per format. Each turns a campaign result into its format and reaches into
//! nothing else.

pub mod curl;
pub mod json;
pub mod terminal;
