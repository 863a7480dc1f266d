//! OpenAPI 3.0, 3.1 and 3.2 and Swagger 2.0 documents (YAML or JSON, in one file or several)
//! into one internal [`Api`] model, with `$ref`s resolved. Knows nothing of resources or
//! attacks; `model/` infers those.

mod bundle;
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
        "{source_name}: unsupported spec version '{version}' (tenantfuzz reads OpenAPI 3.0, 3.1, 3.2 and Swagger 2.0)"
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
    #[error("{source_name}: no operation to attack: {reason}")]
    NoOperations { source_name: String, reason: String },
}

/// Loads a spec file, and the files its `$ref`s name (relative to the file that names them).
pub fn load(path: &Path) -> Result<Api, SpecError> {
    let (text, mut value) = load::read(path)?;
    bundle::bundle(&mut value, path)?;
    usable(convert::convert(
        &value,
        &text,
        &path.display().to_string(),
    )?)
}

/// Loads a spec from text; `source` names it in errors. References to other files fail (there
/// is no directory to find them in).
pub fn load_str(text: &str, source: &str) -> Result<Api, SpecError> {
    let value = load::parse(text, source)?;
    usable(convert::convert(&value, text, source)?)
}

/// An API with no operation is an error that says what the document held instead.
fn usable(api: Api) -> Result<Api, SpecError> {
    if !api.operations.is_empty() {
        return Ok(api);
    }
    let reason = if api.ignored.is_empty() {
        "its 'paths' hold none".to_string()
    } else {
        format!(
            "its 'paths' hold none that tenantfuzz can send; it ignored {}",
            api.ignored.join("; ")
        )
    };
    Err(SpecError::NoOperations {
        source_name: api.source,
        reason,
    })
}
