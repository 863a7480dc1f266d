//! OpenAPI 3.0 and 3.1 and Swagger 2.0 documents (YAML or JSON) into one internal [`Api`] model,
//! with local `$ref`s resolved. Knows nothing of resources or attacks; `model/` infers those.

mod convert;
mod load;
mod model;
mod swagger;

use std::path::Path;

pub(crate) use convert::{escape, template_names};
pub use model::{
    Api, Link, Location, Method, Operation, Parameter, RequestBody, Response, Schema, SchemaKind,
    Security, SecurityScheme,
};

/// Why a spec could not be loaded. Every variant names the file and the place in it.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("failed to read spec '{path}': {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{source_name}:{line}:{column}: invalid spec syntax: {message}")]
    Syntax {
        source_name: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{source_name}: not an OpenAPI document: {reason}")]
    NotOpenApi { source_name: String, reason: String },
    #[error(
        "{source_name}: unsupported spec version '{version}' (tenantfuzz reads OpenAPI 3.0, 3.1 and Swagger 2.0)"
    )]
    Unsupported {
        source_name: String,
        version: String,
    },
    #[error("{source_name}: failed to resolve $ref '{reference}' at {pointer}: {reason}")]
    BrokenRef {
        source_name: String,
        pointer: String,
        reference: String,
        reason: String,
    },
    #[error("{source_name}: {pointer}: {message}")]
    Invalid {
        source_name: String,
        pointer: String,
        message: String,
    },
}

/// Loads a spec file.
pub fn load(path: &Path) -> Result<Api, SpecError> {
    let (text, value) = load::read(path)?;
    convert::convert(&value, &text, &path.display().to_string())
}

/// Loads a spec from text; `source` names it in errors.
pub fn load_str(text: &str, source: &str) -> Result<Api, SpecError> {
    let value = load::parse(text, source)?;
    convert::convert(&value, text, source)
}
