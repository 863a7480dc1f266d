//! The internal API model: what tenantfuzz needs of an OpenAPI document, independent of the
//! version it was written in.

use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

/// An HTTP method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Put,
    Post,
    Delete,
    Options,
    Head,
    Patch,
    Trace,
    /// OpenAPI 3.2's `query`: a safe, idempotent read whose request has a body (the HTTP
    /// QUERY method).
    Query,
}

impl Method {
    /// Every method, in the order OpenAPI lists them in a path item.
    pub const ALL: [Method; 9] = [
        Method::Get,
        Method::Put,
        Method::Post,
        Method::Delete,
        Method::Options,
        Method::Head,
        Method::Patch,
        Method::Trace,
        Method::Query,
    ];

    /// The uppercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Head => "HEAD",
            Method::Patch => "PATCH",
            Method::Trace => "TRACE",
            Method::Query => "QUERY",
        }
    }

    /// The key of this method in a path item (`get`, `put`, ...).
    pub fn key(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Put => "put",
            Method::Post => "post",
            Method::Delete => "delete",
            Method::Options => "options",
            Method::Head => "head",
            Method::Patch => "patch",
            Method::Trace => "trace",
            Method::Query => "query",
        }
    }

    /// Parses an uppercase or lowercase method name.
    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether the method only reads (GET, HEAD, OPTIONS, TRACE, QUERY).
    pub fn is_safe(self) -> bool {
        matches!(
            self,
            Method::Get | Method::Head | Method::Options | Method::Trace | Method::Query
        )
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    Path,
    Query,
    Header,
    Cookie,
}

impl Location {
    /// The OpenAPI `in` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
            Location::Cookie => "cookie",
        }
    }
}

/// The shape of a schema, simplified to what generation and inference use.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaKind {
    /// An object with known properties.
    Object {
        properties: IndexMap<String, Arc<Schema>>,
        required: Vec<String>,
    },
    /// An array of items.
    Array(Arc<Schema>),
    String,
    Integer,
    Number,
    Boolean,
    /// Alternatives (`oneOf`/`anyOf`).
    OneOf(Vec<Arc<Schema>>),
    /// Anything: no type given, or a recursive reference cut short.
    Any,
}

/// A schema with the annotations tenantfuzz uses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schema {
    pub kind: SchemaKind,
    /// The name of the `components/schemas` entry it came from, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub write_only: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub nullable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub enum_values: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// An object that says it takes members it does not list, of any kind or text
    /// (`additionalProperties: true`, `{}` or a string schema): a free-form object such as a
    /// document store's `data`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub open: bool,
}

impl Schema {
    /// A schema of `kind` with no annotations.
    pub fn of(kind: SchemaKind) -> Schema {
        Schema {
            kind,
            name: None,
            read_only: false,
            write_only: false,
            nullable: false,
            format: None,
            enum_values: Vec::new(),
            example: None,
            default: None,
            min_length: None,
            max_length: None,
            minimum: None,
            maximum: None,
            pattern: None,
            open: false,
        }
    }

    /// The unconstrained schema.
    pub fn any() -> Schema {
        Schema::of(SchemaKind::Any)
    }

    /// The properties of an object schema (of the first object alternative of a `oneOf`).
    pub fn properties(&self) -> Option<&IndexMap<String, Arc<Schema>>> {
        match &self.kind {
            SchemaKind::Object { properties, .. } => Some(properties),
            SchemaKind::OneOf(variants) => variants.iter().find_map(|v| v.properties()),
            _ => None,
        }
    }

    /// Whether `property` is required in this object schema.
    pub fn requires(&self, property: &str) -> bool {
        match &self.kind {
            SchemaKind::Object { required, .. } => required.iter().any(|r| r == property),
            SchemaKind::OneOf(variants) => variants.iter().any(|v| v.requires(property)),
            _ => false,
        }
    }
}

/// A parameter of an operation.
#[derive(Debug, Clone, Serialize)]
pub struct Parameter {
    pub name: String,
    pub location: Location,
    pub required: bool,
    pub schema: Arc<Schema>,
}

/// A request body.
#[derive(Debug, Clone, Serialize)]
pub struct RequestBody {
    pub content_type: String,
    pub required: bool,
    pub schema: Arc<Schema>,
}

/// An OpenAPI link from a response to a parameter of another operation.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    /// The target operation's `operationId`.
    pub operation_id: String,
    /// Target parameter name -> runtime expression (e.g. `$response.body#/id`).
    pub parameters: IndexMap<String, String>,
}

/// One documented response.
#[derive(Debug, Clone, Serialize)]
pub struct Response {
    /// `200`, `2XX` or `default`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<Arc<Schema>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
}

/// What the spec says about an operation's authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Credentials required (a non-empty requirement with no empty alternative).
    Secured,
    /// Explicitly public (`security: []` or an empty alternative `{}`).
    Public,
    /// The spec says nothing anywhere.
    Unspecified,
}

/// One operation: a method on a path.
#[derive(Debug, Clone, Serialize)]
pub struct Operation {
    pub method: Method,
    /// The path template exactly as in the spec.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Its `description`, the first 300 characters (what the model reads in it: whether it
    /// answers about the caller).
    #[serde(skip)]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub parameters: Vec<Parameter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<RequestBody>,
    pub responses: Vec<Response>,
    pub security: Security,
    /// Names of the security schemes its requirements mention.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_schemes: Vec<String>,
    /// Its JSON pointer in the document, e.g. `/paths/~1documents~1{documentId}/put`.
    pub pointer: String,
    /// The 1-based line where it starts in the spec file, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl Operation {
    /// `METHOD /path`.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The operationId, or `METHOD /path` when there is none.
    pub fn name(&self) -> String {
        self.operation_id.clone().unwrap_or_else(|| self.label())
    }

    /// The parameter called `name` in `location`.
    pub fn parameter(&self, location: Location, name: &str) -> Option<&Parameter> {
        self.parameters
            .iter()
            .find(|p| p.location == location && p.name == name)
    }

    /// The schema of the first documented 2xx response with a body.
    pub fn success_schema(&self) -> Option<&Arc<Schema>> {
        self.responses
            .iter()
            .filter(|r| r.status.starts_with('2'))
            .find_map(|r| r.schema.as_ref())
    }
}

/// A security scheme from `components/securitySchemes`.
#[derive(Debug, Clone, Serialize)]
pub struct SecurityScheme {
    pub name: String,
    /// `http`, `apiKey`, `oauth2`, `openIdConnect`, `mutualTLS`.
    pub kind: String,
    /// For `http`: `bearer`, `basic`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// For `apiKey`: where the key goes and its parameter name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// For `oauth2`: the token URL of its password flow (OAuth 2 "resource owner password
    /// credentials"), as the spec writes it (absolute or relative).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
}

/// A loaded API description.
#[derive(Debug, Clone, Serialize)]
pub struct Api {
    pub title: String,
    /// The declared version (`3.0.3`, `3.1.0`, `2.0`).
    pub spec_version: String,
    /// Where it was read from.
    pub source: String,
    pub operations: Vec<Operation>,
    pub security_schemes: Vec<SecurityScheme>,
    /// The spec's server URLs (`servers`, or Swagger 2.0's `schemes`, `host` and `basePath`),
    /// server variables replaced by their defaults; relative URLs stay relative.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<String>,
    /// What the document holds that tenantfuzz leaves out (webhooks, methods it does not send,
    /// parameters it cannot fill), each said in a line; `plan` prints them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
}

/// Whether `text` matches a glob where `*` stands for any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i + 1 == parts.len() {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

impl Api {
    /// The operations a selector names: an operationId, `METHOD /path`, `tag:NAME`, a path
    /// alone for every method on it (`/admin/reset`), or a glob with `*` over any of them
    /// (`DELETE /admin/*`, `/api/core/background-*`, `*Webhook*`).
    pub fn select(&self, selector: &str) -> Vec<usize> {
        let selector = selector.trim();
        if selector.starts_with('/') {
            return (0..self.operations.len())
                .filter(|i| glob(selector, &self.operations[*i].path))
                .collect();
        }
        if let Some(tag) = selector.strip_prefix("tag:") {
            return (0..self.operations.len())
                .filter(|i| self.operations[*i].tags.iter().any(|t| t == tag.trim()))
                .collect();
        }
        if selector.contains('*') {
            return (0..self.operations.len())
                .filter(|i| {
                    let op = &self.operations[*i];
                    glob(selector, &op.label())
                        || op
                            .operation_id
                            .as_deref()
                            .is_some_and(|id| glob(selector, id))
                })
                .collect();
        }
        self.find(selector).into_iter().collect()
    }

    /// The operation named by an operationId or `METHOD /path`.
    pub fn find(&self, reference: &str) -> Option<usize> {
        let by_id = self
            .operations
            .iter()
            .position(|o| o.operation_id.as_deref() == Some(reference));
        by_id.or_else(|| {
            let (method, path) = reference.trim().split_once(char::is_whitespace)?;
            let method = Method::parse(method)?;
            self.operations
                .iter()
                .position(|o| o.method == method && o.path == path.trim())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("DELETE /admin/*", "DELETE /admin/users/{userId}"));
        assert!(glob("*Webhook*", "billingWebhook"));
        assert!(!glob("DELETE /admin/*", "GET /admin/workspaces"));
        assert!(glob("a*c*e", "abcde"));
        assert!(!glob("a*c*e", "abcd"));
    }

    #[test]
    fn a_path_alone_selects_every_method_on_it() {
        let api = crate::spec::load_str(
            r#"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
              "/api/core/background-tasks/": {"get": {"responses": {"200": {"description": "ok"}}},
                                               "post": {"responses": {"200": {"description": "ok"}}}},
              "/api/core/background-queues/": {"get": {"responses": {"200": {"description": "ok"}}}},
              "/api/core/jobs/": {"get": {"responses": {"200": {"description": "ok"}}}}}}"#,
            "test.json",
        )
        .expect("the spec loads");
        let labels = |sel: &str| -> Vec<String> {
            api.select(sel)
                .into_iter()
                .map(|i| api.operations[i].label())
                .collect()
        };
        assert_eq!(
            labels("/api/core/background-tasks/"),
            [
                "GET /api/core/background-tasks/",
                "POST /api/core/background-tasks/"
            ]
        );
        assert_eq!(labels("/api/core/background-*").len(), 3);
        assert_eq!(
            labels("POST /api/core/background-*"),
            ["POST /api/core/background-tasks/"]
        );
        assert!(labels("/api/core/nothing").is_empty());
    }
}
