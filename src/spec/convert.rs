//! From a parsed OpenAPI 3.0 / 3.1 or Swagger 2.0 document to the internal [`Api`] model: paths
//! and operations, parameters merged with their path item's, request bodies, responses and links,
//! effective security, and schemas with every local `$ref` resolved. What only Swagger 2.0 has
//! (body and form parameters, `consumes`, `securityDefinitions`) is in `swagger.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use super::SpecError;
use super::bundle::{FILES, UNRESOLVED, is_url, readable, schema_name};
use super::load::Lines;
use super::model::{
    Api, Link, Location, Method, Operation, Parameter, RequestBody, Response, Schema, SchemaKind,
    Security, SecurityScheme,
};

/// How deep inline schemas may nest, within one named schema, before the rest is taken as `Any`.
/// Depth counts from the named schema's own root: where it is first reached must not change
/// what it holds (#22: Stripe's invoice, reached first 24 levels down another schema's answer,
/// was cached as `Any`, and its create lost its id with the order of the paths).
const MAX_DEPTH: usize = 24;

/// How many named schemas may be open inside one another (a chain of `$ref`s that never comes
/// back to itself): a bound on the converter's own stack. A schema cut by it is not cached.
const MAX_NESTING: usize = 160;

/// Escapes a JSON pointer token.
pub(crate) fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The generation of the document: the shapes of parameters, bodies, responses and security
/// schemes differ; schemas and `$ref`s do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    Swagger2,
    OpenApi3,
}

pub(super) struct Converter<'a> {
    pub(super) root: &'a Value,
    pub(super) source: &'a str,
    pub(super) dialect: Dialect,
    /// Converted named schemas by `$ref`; `None` while one is being converted (a cycle).
    schemas: HashMap<String, Option<Arc<Schema>>>,
    /// Named schemas open inside one another now (see [`MAX_NESTING`]).
    nesting: usize,
    /// How many times [`MAX_NESTING`] cut a schema: one converted while it rose is incomplete
    /// and is not cached.
    cuts: usize,
    lines: Lines<'a>,
    /// What the document holds that tenantfuzz leaves out, for `plan` to say.
    pub(super) ignored: Vec<String>,
    /// OpenAPI 3.2 or later: `query` operations, `additionalOperations`, `in: querystring`.
    v32: bool,
}

/// Where a declared parameter goes: Swagger 2.0 also declares the body (`in: body`) and form
/// fields (`in: formData`) as parameters, gathered into the request body once merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    At(Location),
    Body,
    Form,
}

/// A parameter as declared, before the path item's and the operation's are merged.
#[derive(Debug, Clone)]
pub(super) struct Declared {
    pub(super) name: String,
    pub(super) place: Place,
    pub(super) required: bool,
    pub(super) schema: Arc<Schema>,
    /// Its JSON pointer, for errors about the merged set.
    pub(super) pointer: String,
}

/// Converts a parsed document. `text` is the original text, for operation line numbers.
pub(crate) fn convert(root: &Value, text: &str, source: &str) -> Result<Api, SpecError> {
    let obj = root.as_object().ok_or_else(|| SpecError::NotOpenApi {
        source_name: source.to_string(),
        reason: "the document is not an object".into(),
    })?;
    let (version, dialect) = match (obj.get("openapi"), obj.get("swagger")) {
        (Some(Value::String(v)), _)
            if v.starts_with("3.0") || v.starts_with("3.1") || v.starts_with("3.2") =>
        {
            (v.clone(), Dialect::OpenApi3)
        }
        (Some(v), _) => {
            return Err(SpecError::Unsupported {
                source_name: source.to_string(),
                version: value_text(v),
            });
        }
        // `swagger: 2.0` unquoted in YAML is the number 2.0.
        (None, Some(v)) if value_text(v) == "2.0" || v.as_f64() == Some(2.0) => {
            ("2.0".to_string(), Dialect::Swagger2)
        }
        (None, Some(v)) => {
            return Err(SpecError::Unsupported {
                source_name: source.to_string(),
                version: format!("Swagger {}", value_text(v)),
            });
        }
        (None, None) => {
            return Err(SpecError::NotOpenApi {
                source_name: source.to_string(),
                reason: "no 'openapi' or 'swagger' field".into(),
            });
        }
    };
    let mut conv = Converter {
        root,
        source,
        dialect,
        schemas: HashMap::new(),
        nesting: 0,
        cuts: 0,
        lines: Lines::new(text),
        ignored: Vec::new(),
        v32: version.starts_with("3.2"),
    };
    conv.named_schemas_in_document_order();
    let global_security = obj.get("security");
    let mut operations = Vec::new();
    if let Some(paths) = obj.get("paths") {
        let paths = paths
            .as_object()
            .ok_or_else(|| conv.invalid("/paths", "'paths' must be an object"))?;
        // Vendor extensions (`x-...`) may stand beside the paths; they are no paths.
        for (path, item) in paths.iter().filter(|(k, _)| !is_extension(k)) {
            let item_ptr = format!("/paths/{}", escape(path));
            let (item, item_ptr) = conv.deref_item(item, item_ptr)?;
            let Some(item) = item.as_object() else {
                return Err(conv.invalid(&item_ptr, "a path item must be an object"));
            };
            let shared =
                conv.parameters(item.get("parameters"), &format!("{item_ptr}/parameters"))?;
            for method in Method::ALL {
                // `query` is an operation from OpenAPI 3.2 on; before, the key means nothing.
                if method == Method::Query && !conv.v32 {
                    continue;
                }
                let Some(op) = item.get(method.key()) else {
                    continue;
                };
                let pointer = format!("{item_ptr}/{}", method.key());
                let operation =
                    conv.operation(method, path, op, &shared, global_security, &pointer)?;
                operations.push(operation);
            }
            if conv.v32 {
                conv.additional_operations(
                    item,
                    path,
                    &item_ptr,
                    &shared,
                    global_security,
                    &mut operations,
                )?;
            }
        }
    }
    // 3.1's webhooks are requests the API sends to its users' receivers, not ones it answers.
    if let Some(webhooks) = obj.get("webhooks").and_then(Value::as_object) {
        let names: Vec<&str> = webhooks
            .keys()
            .filter(|k| !is_extension(k))
            .map(String::as_str)
            .collect();
        if !names.is_empty() {
            conv.ignored.push(format!(
                "{} webhook{} ({}): requests the API sends, which tenantfuzz does not attack",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                names.join(", ")
            ));
        }
    }
    let security_schemes = match dialect {
        Dialect::OpenApi3 => conv.security_schemes()?,
        Dialect::Swagger2 => conv.security_definitions()?,
    };
    let servers = match dialect {
        Dialect::OpenApi3 => servers(root),
        Dialect::Swagger2 => super::swagger::servers(root),
    };
    Ok(Api {
        title: obj
            .get("info")
            .and_then(|i| i.get("title"))
            .and_then(Value::as_str)
            .unwrap_or("(untitled)")
            .to_string(),
        spec_version: version,
        source: source.to_string(),
        operations,
        security_schemes,
        servers,
        ignored: conv.ignored,
    })
}

/// OpenAPI 3's `servers`, each URL with its variables replaced by their defaults.
fn servers(root: &Value) -> Vec<String> {
    let Some(list) = root.get("servers").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|server| {
            let mut url = server.get("url")?.as_str()?.to_string();
            if let Some(vars) = server.get("variables").and_then(Value::as_object) {
                for (name, var) in vars {
                    if let Some(default) = var.get("default").and_then(Value::as_str) {
                        url = url.replace(&format!("{{{name}}}"), default);
                    }
                }
            }
            Some(url)
        })
        .collect()
}

/// Whether a key is a vendor extension (`x-...`), allowed beside the fixed fields of most
/// objects and beside the entries of `paths`, `responses` and callbacks.
pub(super) fn is_extension(key: &str) -> bool {
    key.starts_with("x-")
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl<'a> Converter<'a> {
    pub(super) fn invalid(&self, pointer: &str, message: impl Into<String>) -> SpecError {
        SpecError::Invalid {
            source_name: self.source.to_string(),
            pointer: readable(pointer),
            message: message.into(),
        }
    }

    /// OpenAPI 3.2's `additionalOperations` of a path item: methods other than the fixed ones.
    fn additional_operations(
        &mut self,
        item: &'a serde_json::Map<String, Value>,
        path: &str,
        item_ptr: &str,
        shared: &[Declared],
        global_security: Option<&'a Value>,
        operations: &mut Vec<Operation>,
    ) -> Result<(), SpecError> {
        let Some(extra) = item.get("additionalOperations") else {
            return Ok(());
        };
        let at = format!("{item_ptr}/additionalOperations");
        let Some(extra) = extra.as_object() else {
            return Err(self.invalid(&at, "'additionalOperations' must be an object"));
        };
        for (name, op) in extra {
            match Method::parse(name) {
                // A fixed field's method does not belong here; written here alone, it is still
                // that operation.
                Some(method) if !item.contains_key(method.key()) => {
                    let pointer = format!("{at}/{}", escape(name));
                    let operation =
                        self.operation(method, path, op, shared, global_security, &pointer)?;
                    operations.push(operation);
                }
                _ => self.ignored.push(format!(
                    "{name} {path} (additionalOperations): tenantfuzz sends only {}",
                    Method::ALL.map(Method::as_str).join(", ")
                )),
            }
        }
        Ok(())
    }

    /// A path item, following its `$ref`s, and the place errors inside it name: where it is
    /// written, or for one in another file (`$ref: paths/projects.yaml`), that file and the
    /// place in it, as `invalid` reads it (`paths/projects.yaml#/get/responses`).
    fn deref_item(&self, value: &'a Value, at: String) -> Result<(&'a Value, String), SpecError> {
        let item = self.deref(value, &at)?;
        let mut last = None;
        let mut current = value;
        for _ in 0..32 {
            let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
                break;
            };
            last = Some(reference);
            current = self.lookup(reference, &at)?;
        }
        let place = match last.and_then(|r| r.strip_prefix('#')) {
            Some(fragment) if fragment.starts_with(&format!("/{FILES}/")) => {
                format!("#{fragment}")
            }
            _ => at,
        };
        Ok((item, place))
    }

    /// Follows `$ref`s (local ones only) until a value that is not a reference.
    pub(super) fn deref(&self, value: &'a Value, at: &str) -> Result<&'a Value, SpecError> {
        let mut current = value;
        for _ in 0..32 {
            match current.get("$ref").and_then(Value::as_str) {
                Some(reference) => current = self.lookup(reference, at)?,
                None => return Ok(current),
            }
        }
        Err(SpecError::BrokenRef {
            source_name: self.source.to_string(),
            pointer: readable(at),
            reference: readable(
                value
                    .get("$ref")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
            reason: "the reference chain is cyclic or longer than 32".into(),
        })
    }

    fn lookup(&self, reference: &str, at: &str) -> Result<&'a Value, SpecError> {
        let broken = |reference: &str, reason: &str| SpecError::BrokenRef {
            source_name: self.source.to_string(),
            pointer: readable(at),
            reference: readable(reference),
            reason: reason.to_string(),
        };
        let Some(fragment) = reference.strip_prefix('#') else {
            // Files are brought in by the bundler before conversion; what is left here came
            // from text, with no directory to find other files in.
            return Err(broken(
                reference,
                if is_url(reference) {
                    "a reference to a URL: tenantfuzz fetches nothing from the network; save the \
                     document and refer to it by a relative file path"
                } else {
                    "a reference to another file, in a spec given as text (load it from its file)"
                },
            ));
        };
        let decoded = percent_decode(fragment);
        if let Some(n) = decoded.strip_prefix(&format!("/{UNRESOLVED}/")) {
            // A reference the bundler could not follow: its own words and place.
            let entry = self
                .root
                .pointer(&format!("/{UNRESOLVED}/{n}"))
                .unwrap_or(&Value::Null);
            let text = |k: &str| entry.get(k).and_then(Value::as_str).unwrap_or_default();
            return Err(broken(
                text("ref"),
                &format!(
                    "{} (the $ref is at {})",
                    text("reason"),
                    readable(text("place"))
                ),
            ));
        }
        self.root
            .pointer(&decoded)
            .ok_or_else(|| broken(reference, "no such location in the document"))
    }

    fn parameters(
        &mut self,
        list: Option<&'a Value>,
        at: &str,
    ) -> Result<Vec<Declared>, SpecError> {
        let Some(list) = list else {
            return Ok(Vec::new());
        };
        let Some(items) = list.as_array() else {
            return Err(self.invalid(at, "'parameters' must be an array"));
        };
        let mut out = Vec::new();
        for (i, raw) in items.iter().enumerate() {
            let ptr = format!("{at}/{i}");
            let p = self.deref(raw, &ptr)?;
            if self.v32 && p.get("in").and_then(Value::as_str) == Some("querystring") {
                let name = p.get("name").and_then(Value::as_str).unwrap_or("(unnamed)");
                self.ignored.push(format!(
                    "parameter '{name}' at {}: 'in: querystring' (the whole query string as one \
                     value) is left out; requests go without it",
                    readable(&ptr)
                ));
                continue;
            }
            out.push(match self.dialect {
                Dialect::OpenApi3 => self.parameter(p, &ptr)?,
                Dialect::Swagger2 => self.swagger_parameter(p, &ptr)?,
            });
        }
        Ok(out)
    }

    /// An OpenAPI 3 parameter object.
    fn parameter(&mut self, p: &'a Value, ptr: &str) -> Result<Declared, SpecError> {
        let name = p.get("name").and_then(Value::as_str);
        let location = match p.get("in").and_then(Value::as_str) {
            Some("path") => Location::Path,
            Some("query") => Location::Query,
            Some("header") => Location::Header,
            Some("cookie") => Location::Cookie,
            other => {
                return Err(self.invalid(
                    ptr,
                    format!("parameter 'in' must be path, query, header or cookie, not {other:?}"),
                ));
            }
        };
        let Some(name) = name else {
            return Err(self.invalid(ptr, "parameter without a 'name'"));
        };
        let schema = if let Some(s) = p.get("schema") {
            self.schema(s, &format!("{ptr}/schema"), 0)?
        } else if let Some((_, media)) = p
            .get("content")
            .and_then(Value::as_object)
            .and_then(|c| c.iter().next())
        {
            match media.get("schema") {
                Some(s) => self.schema(s, &format!("{ptr}/content"), 0)?,
                None => Arc::new(Schema::any()),
            }
        } else {
            Arc::new(Schema::of(SchemaKind::String))
        };
        Ok(Declared {
            name: name.to_string(),
            place: Place::At(location),
            required: location == Location::Path
                || p.get("required").and_then(Value::as_bool).unwrap_or(false),
            schema,
            pointer: ptr.to_string(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn operation(
        &mut self,
        method: Method,
        path: &str,
        op: &'a Value,
        shared: &[Declared],
        global_security: Option<&'a Value>,
        pointer: &str,
    ) -> Result<Operation, SpecError> {
        let Some(obj) = op.as_object() else {
            return Err(self.invalid(pointer, "an operation must be an object"));
        };
        let own = self.parameters(obj.get("parameters"), &format!("{pointer}/parameters"))?;
        // The operation's declaration wins over its path item's of the same name and place.
        let mut declared: Vec<Declared> = shared
            .iter()
            .filter(|s| !own.iter().any(|o| o.name == s.name && o.place == s.place))
            .cloned()
            .collect();
        declared.extend(own);
        let mut parameters = Vec::new();
        let mut body_parameters = Vec::new();
        let mut form_fields = Vec::new();
        for d in declared {
            match d.place {
                Place::At(location) => parameters.push(Parameter {
                    name: d.name,
                    location,
                    required: d.required,
                    schema: d.schema,
                }),
                Place::Body => body_parameters.push(d),
                Place::Form => form_fields.push(d),
            }
        }
        // Path parameters the template names but the spec forgot are still path parameters.
        for name in template_names(path) {
            if !parameters
                .iter()
                .any(|p| p.location == Location::Path && p.name == name)
            {
                parameters.push(Parameter {
                    name,
                    location: Location::Path,
                    required: true,
                    schema: Arc::new(Schema::of(SchemaKind::String)),
                });
            }
        }
        let body = match self.dialect {
            Dialect::OpenApi3 => match obj.get("requestBody") {
                Some(raw) => self.request_body(raw, &format!("{pointer}/requestBody"))?,
                None => None,
            },
            Dialect::Swagger2 => self.swagger_body(obj, body_parameters, form_fields, pointer)?,
        };
        let mut responses = Vec::new();
        if let Some(map) = obj.get("responses").and_then(Value::as_object) {
            for (status, raw) in map.iter().filter(|(k, _)| !is_extension(k)) {
                let ptr = format!("{pointer}/responses/{}", escape(status));
                responses.push(self.response(status, raw, &ptr)?);
            }
        }
        let (security, security_schemes) =
            effective_security(obj.get("security").or(global_security));
        let strings = |key: &str| -> Vec<String> {
            obj.get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(Operation {
            method,
            path: path.to_string(),
            operation_id: obj
                .get("operationId")
                .and_then(Value::as_str)
                .map(str::to_string),
            summary: obj
                .get("summary")
                .and_then(Value::as_str)
                .map(str::to_string),
            description: obj
                .get("description")
                .and_then(Value::as_str)
                .map(|d| d.chars().take(300).collect()),
            tags: strings("tags"),
            parameters,
            body,
            responses,
            security,
            security_schemes,
            // One in another file is named by that file and the place in it.
            pointer: readable(pointer),
            line: self.lines.operation(path, method.key()),
        })
    }

    fn request_body(&mut self, raw: &'a Value, at: &str) -> Result<Option<RequestBody>, SpecError> {
        let body = self.deref(raw, at)?;
        let Some((content_type, media)) = pick_media(body.get("content")) else {
            return Ok(None);
        };
        let schema = match media.get("schema") {
            Some(s) => self.schema(
                s,
                &format!("{at}/content/{}/schema", escape(content_type)),
                0,
            )?,
            None => Arc::new(Schema::any()),
        };
        Ok(Some(RequestBody {
            content_type: content_type.to_string(),
            required: body
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            schema,
        }))
    }

    fn response(&mut self, status: &str, raw: &'a Value, at: &str) -> Result<Response, SpecError> {
        let resp = self.deref(raw, at)?;
        let schema = match self.dialect {
            Dialect::OpenApi3 => match pick_media(resp.get("content")) {
                Some((ct, media)) => match media.get("schema") {
                    Some(s) => {
                        Some(self.schema(s, &format!("{at}/content/{}/schema", escape(ct)), 0)?)
                    }
                    None => None,
                },
                None => None,
            },
            // 2.0 has one schema per response, whatever of `produces` is sent.
            Dialect::Swagger2 => match resp.get("schema") {
                Some(s) => Some(self.schema(s, &format!("{at}/schema"), 0)?),
                None => None,
            },
        };
        let headers = resp
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| h.keys().cloned().collect())
            .unwrap_or_default();
        let mut links = Vec::new();
        if let Some(map) = resp.get("links").and_then(Value::as_object) {
            for (name, raw_link) in map {
                let link = self.deref(raw_link, &format!("{at}/links/{}", escape(name)))?;
                let Some(operation_id) = link.get("operationId").and_then(Value::as_str) else {
                    continue;
                };
                let parameters = link
                    .get("parameters")
                    .and_then(Value::as_object)
                    .map(|p| {
                        p.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default();
                links.push(Link {
                    operation_id: operation_id.to_string(),
                    parameters,
                });
            }
        }
        Ok(Response {
            status: status.to_string(),
            schema,
            headers,
            links,
        })
    }

    fn security_schemes(&self) -> Result<Vec<SecurityScheme>, SpecError> {
        let Some(map) = self
            .root
            .pointer("/components/securitySchemes")
            .and_then(Value::as_object)
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (name, raw) in map {
            let s = self.deref(
                raw,
                &format!("/components/securitySchemes/{}", escape(name)),
            )?;
            let text = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
            out.push(SecurityScheme {
                name: name.clone(),
                kind: text("type").unwrap_or_default(),
                scheme: text("scheme").map(|s| s.to_ascii_lowercase()),
                location: match s.get("in").and_then(Value::as_str) {
                    Some("header") => Some(Location::Header),
                    Some("query") => Some(Location::Query),
                    Some("cookie") => Some(Location::Cookie),
                    _ => None,
                },
                parameter: text("name"),
                token_url: s
                    .pointer("/flows/password/tokenUrl")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
        }
        Ok(out)
    }

    /// Converts a schema, resolving references; named schemas are converted once and shared.
    pub(super) fn schema(
        &mut self,
        raw: &'a Value,
        at: &str,
        depth: usize,
    ) -> Result<Arc<Schema>, SpecError> {
        if depth > MAX_DEPTH {
            return Ok(Arc::new(Schema::any()));
        }
        if let Some(reference) = raw.get("$ref").and_then(Value::as_str) {
            let named = self.named(reference, at)?;
            // 3.1 allows siblings beside $ref; the ones that matter here are the access flags.
            // 2.0 tools (go-swagger) put `x-nullable` there too, against the letter of 2.0.
            let read_only = raw.get("readOnly").and_then(Value::as_bool) == Some(true);
            let write_only = raw.get("writeOnly").and_then(Value::as_bool) == Some(true);
            let nullable = raw.get("x-nullable").and_then(Value::as_bool) == Some(true);
            if read_only || write_only || nullable {
                let mut s = (*named).clone();
                s.read_only |= read_only;
                s.write_only |= write_only;
                s.nullable |= nullable;
                return Ok(Arc::new(s));
            }
            return Ok(named);
        }
        let Some(obj) = raw.as_object() else {
            // `true` / `false` schemas of 3.1, or garbage: nothing to learn.
            return Ok(Arc::new(Schema::any()));
        };
        // `x-nullable` is Swagger 2.0's vendor spelling of 3.0's `nullable`.
        let mut nullable = ["nullable", "x-nullable"]
            .iter()
            .any(|k| obj.get(*k).and_then(Value::as_bool) == Some(true));
        let type_name = match obj.get("type") {
            Some(Value::String(t)) => Some(t.as_str()),
            Some(Value::Array(types)) => {
                nullable |= types.iter().any(|t| t == "null");
                types
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|t| *t != "null")
            }
            _ => None,
        };
        let mut kind = match type_name {
            Some("object") => self.object(obj, at, depth)?,
            Some("array") => match obj.get("items") {
                Some(items) => {
                    SchemaKind::Array(self.schema(items, &format!("{at}/items"), depth + 1)?)
                }
                None => SchemaKind::Array(Arc::new(Schema::any())),
            },
            Some("string") => SchemaKind::String,
            Some("integer") => SchemaKind::Integer,
            Some("number") => SchemaKind::Number,
            Some("boolean") => SchemaKind::Boolean,
            // Swagger 2.0's upload (form parameters and response schemas).
            Some("file") => SchemaKind::String,
            _ if obj.contains_key("properties") => self.object(obj, at, depth)?,
            _ if obj.contains_key("items") => {
                SchemaKind::Array(self.schema(&obj["items"], &format!("{at}/items"), depth + 1)?)
            }
            _ => SchemaKind::Any,
        };
        // `type: 'null'` (3.1, and FastAPI's `anyOf: [{type: string}, {type: 'null'}]`).
        nullable |= type_name == Some("null");
        // The one schema a composition comes down to (`anyOf` of a string and null, `allOf` of
        // one `$ref`): the field is that schema, its format, bounds and pattern included.
        let mut single: Option<Arc<Schema>> = None;
        if let Some(Value::Array(parts)) = obj.get("allOf") {
            let mut merged = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                merged.push(self.schema(part, &format!("{at}/allOf/{i}"), depth + 1)?);
            }
            let typed: Vec<&Arc<Schema>> = merged
                .iter()
                .filter(|p| !matches!(p.kind, SchemaKind::Any))
                .collect();
            if matches!(kind, SchemaKind::Any) && typed.len() == 1 {
                single = Some(typed[0].clone());
            }
            kind = merge_all_of(kind, &merged);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(variants)) = obj.get(key) {
                if matches!(kind, SchemaKind::Any) {
                    let mut out = Vec::new();
                    for (i, v) in variants.iter().enumerate() {
                        out.push(self.schema(v, &format!("{at}/{key}/{i}"), depth + 1)?);
                    }
                    let before = out.len();
                    out.retain(|s| !is_null_schema(s));
                    nullable |= out.len() < before;
                    kind = match out.len() {
                        0 => SchemaKind::Any,
                        1 => {
                            single = Some(out[0].clone());
                            out[0].kind.clone()
                        }
                        _ => SchemaKind::OneOf(out),
                    };
                }
            }
        }
        let mut schema = Schema::of(kind);
        schema.nullable = nullable;
        let flag = |k: &str| obj.get(k).and_then(Value::as_bool) == Some(true);
        schema.read_only = flag("readOnly");
        schema.write_only = flag("writeOnly");
        schema.open = match obj.get("additionalProperties") {
            Some(Value::Bool(open)) => *open,
            Some(Value::Object(extra)) => {
                extra.is_empty() || extra.get("type").and_then(Value::as_str) == Some("string")
            }
            _ => false,
        };
        schema.format = obj
            .get("format")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| (type_name == Some("file")).then(|| "binary".to_string()));
        schema.pattern = obj
            .get("pattern")
            .and_then(Value::as_str)
            .map(str::to_string);
        schema.enum_values = match (obj.get("enum"), obj.get("const")) {
            (Some(Value::Array(values)), _) => {
                values.iter().filter(|v| !v.is_null()).cloned().collect()
            }
            (_, Some(c)) => vec![c.clone()],
            _ => Vec::new(),
        };
        schema.example = obj
            .get("example")
            .cloned()
            .or_else(|| obj.get("examples").and_then(|e| e.get(0)).cloned());
        schema.default = obj.get("default").cloned();
        schema.min_length = obj.get("minLength").and_then(Value::as_u64);
        schema.max_length = obj.get("maxLength").and_then(Value::as_u64);
        schema.minimum = obj
            .get("minimum")
            .and_then(Value::as_f64)
            .or_else(|| obj.get("exclusiveMinimum").and_then(Value::as_f64));
        schema.maximum = obj
            .get("maximum")
            .and_then(Value::as_f64)
            .or_else(|| obj.get("exclusiveMaximum").and_then(Value::as_f64));
        if let Some(inner) = single {
            inherit(&mut schema, &inner);
        }
        Ok(Arc::new(schema))
    }

    /// Converts every named schema of `components/schemas` (2.0: `definitions`) in the
    /// document's order, before any path: a cycle (`invoice` -> `customer` -> `invoice`) is cut
    /// where the document's order puts it, never where the first path to reach it does, so the
    /// model does not change with the order of the paths. A schema that fails here is left to
    /// fail, with its place, where a path uses it.
    fn named_schemas_in_document_order(&mut self) {
        let root = self.root;
        let (pointer, prefix) = match self.dialect {
            Dialect::OpenApi3 => ("/components/schemas", "#/components/schemas/"),
            Dialect::Swagger2 => ("/definitions", "#/definitions/"),
        };
        let Some(named) = root.pointer(pointer).and_then(Value::as_object) else {
            return;
        };
        for name in named.keys() {
            let reference = format!("{prefix}{}", escape(name));
            let _ = self.named(&reference, pointer);
        }
    }

    fn named(&mut self, reference: &str, at: &str) -> Result<Arc<Schema>, SpecError> {
        let name = reference
            .rsplit('/')
            .next()
            .filter(|_| {
                reference.starts_with("#/components/schemas/")
                    || reference.starts_with("#/definitions/")
            })
            .map(|n| percent_decode(n).replace("~1", "/").replace("~0", "~"))
            .or_else(|| schema_name(reference));
        match self.schemas.get(reference) {
            Some(Some(done)) => return Ok(done.clone()),
            Some(None) => {
                // A cycle: the schema refers to itself through this reference.
                let mut cut = Schema::any();
                cut.name = name;
                return Ok(Arc::new(cut));
            }
            None => {}
        }
        if self.nesting >= MAX_NESTING {
            self.cuts += 1;
            let mut cut = Schema::any();
            cut.name = name;
            return Ok(Arc::new(cut));
        }
        let target = self.lookup(reference, at)?;
        self.schemas.insert(reference.to_string(), None);
        let cuts = self.cuts;
        self.nesting += 1;
        let converted = self.schema(target, &format!("{at} -> {reference}"), 0);
        self.nesting -= 1;
        let converted = match converted {
            Ok(c) => c,
            Err(e) => {
                // Not in progress any more: a later use converts it again and fails in place.
                self.schemas.remove(reference);
                return Err(e);
            }
        };
        let converted = if name.is_some() && converted.name.is_none() {
            let mut s = (*converted).clone();
            s.name = name;
            Arc::new(s)
        } else {
            converted
        };
        if self.cuts == cuts {
            self.schemas
                .insert(reference.to_string(), Some(converted.clone()));
        } else {
            // Cut by the nesting bound: what it holds depends on where it was reached.
            self.schemas.remove(reference);
        }
        Ok(converted)
    }

    fn object(
        &mut self,
        obj: &'a serde_json::Map<String, Value>,
        at: &str,
        depth: usize,
    ) -> Result<SchemaKind, SpecError> {
        let mut properties = IndexMap::new();
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            for (name, raw) in props {
                let s =
                    self.schema(raw, &format!("{at}/properties/{}", escape(name)), depth + 1)?;
                properties.insert(name.clone(), s);
            }
        }
        let required = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Ok(SchemaKind::Object {
            properties,
            required,
        })
    }
}

/// What a composition's one schema says and the composition itself does not: the
/// composition's own words (its `readOnly`, its `example`) stand.
fn inherit(outer: &mut Schema, inner: &Schema) {
    outer.nullable |= inner.nullable;
    outer.read_only |= inner.read_only;
    outer.write_only |= inner.write_only;
    outer.open |= inner.open;
    if outer.name.is_none() {
        outer.name.clone_from(&inner.name);
    }
    if outer.format.is_none() {
        outer.format.clone_from(&inner.format);
    }
    if outer.pattern.is_none() {
        outer.pattern.clone_from(&inner.pattern);
    }
    if outer.enum_values.is_empty() {
        outer.enum_values.clone_from(&inner.enum_values);
    }
    if outer.example.is_none() {
        outer.example.clone_from(&inner.example);
    }
    if outer.default.is_none() {
        outer.default.clone_from(&inner.default);
    }
    outer.min_length = outer.min_length.or(inner.min_length);
    outer.max_length = outer.max_length.or(inner.max_length);
    outer.minimum = outer.minimum.or(inner.minimum);
    outer.maximum = outer.maximum.or(inner.maximum);
}

fn is_null_schema(s: &Schema) -> bool {
    s.nullable && matches!(s.kind, SchemaKind::Any)
}

/// Merges `allOf` members into one object (or takes the single non-object member).
fn merge_all_of(base: SchemaKind, parts: &[Arc<Schema>]) -> SchemaKind {
    let mut properties = IndexMap::new();
    let mut required: Vec<String> = Vec::new();
    let mut other = None;
    let mut absorb = |kind: &SchemaKind, other: &mut Option<SchemaKind>| match kind {
        SchemaKind::Object {
            properties: p,
            required: r,
        } => {
            for (k, v) in p {
                properties.insert(k.clone(), v.clone());
            }
            for name in r {
                if !required.contains(name) {
                    required.push(name.clone());
                }
            }
        }
        SchemaKind::Any => {}
        k => *other = Some(k.clone()),
    };
    absorb(&base, &mut other);
    for part in parts {
        absorb(&part.kind, &mut other);
    }
    if properties.is_empty() {
        if let Some(k) = other {
            return k;
        }
    }
    SchemaKind::Object {
        properties,
        required,
    }
}

/// JSON first (`application/json`, then any `+json`), then forms, then whatever is first.
fn pick_media(content: Option<&Value>) -> Option<(&str, &Value)> {
    let map = content?.as_object()?;
    map.iter()
        .min_by_key(|(ct, _)| media_rank(ct))
        .map(|(ct, v)| (ct.as_str(), v))
}

/// How much a media type is preferred for a body: lower is better.
pub(super) fn media_rank(ct: &str) -> u8 {
    let ct = ct.to_ascii_lowercase();
    if ct.starts_with("application/json") {
        0
    } else if ct.contains("+json") || ct.contains("/json") {
        1
    } else if ct.starts_with("application/x-www-form-urlencoded") {
        2
    } else if ct.starts_with("*/*") {
        3
    } else {
        4
    }
}

fn effective_security(security: Option<&Value>) -> (Security, Vec<String>) {
    let Some(Value::Array(requirements)) = security else {
        return (Security::Unspecified, Vec::new());
    };
    let schemes: Vec<String> = requirements
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|r| r.keys().cloned())
        .collect();
    let has_empty = requirements
        .iter()
        .any(|r| r.as_object().is_some_and(|o| o.is_empty()));
    if requirements.is_empty() || has_empty {
        (Security::Public, schemes)
    } else {
        (Security::Secured, schemes)
    }
}

/// The `{name}`s of a path template, in order.
pub(crate) fn template_names(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        out.push(rest[start + 1..start + len].to_string());
        rest = &rest[start + len + 1..];
    }
    out
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::load::parse;

    fn api(yaml: &str) -> Result<Api, SpecError> {
        let v = parse(yaml, "t.yaml")?;
        convert(&v, yaml, "t.yaml")
    }

    const BASE: &str = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n";

    /// FastAPI's optional fields (`anyOf` of a type and null), 3.1's `type: [string, 'null']`,
    /// 3.0's `nullable` and an `allOf` of one `$ref` are the one schema they come down to, its
    /// format and bounds included.
    #[test]
    fn compositions_of_one_schema_and_null_are_that_schema() {
        let a = api(&format!(
            "{BASE}paths:\n  /users:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema:\n              type: object\n              properties:\n                bio: {{anyOf: [{{type: string, maxLength: 300}}, {{type: 'null'}}]}}\n                email: {{anyOf: [{{type: string, format: email}}, {{type: 'null'}}]}}\n                site: {{oneOf: [{{type: 'null'}}, {{type: string, format: uri}}]}}\n                nick: {{type: [string, 'null']}}\n                old: {{type: string, nullable: true}}\n                contact: {{allOf: [{{$ref: '#/components/schemas/Email'}}], description: where}}\n      responses: {{'201': {{description: ok}}}}\ncomponents:\n  schemas:\n    Email: {{type: string, format: email}}\n"
        ))
        .expect("loads");
        let body = a.operations[0].body.as_ref().expect("body");
        let props = body.schema.properties().expect("object");
        for name in ["bio", "email", "site", "nick", "old", "contact"] {
            assert_eq!(props[name].kind, SchemaKind::String, "{name}");
            assert!(props[name].nullable || name == "contact", "{name}");
        }
        assert_eq!(props["bio"].max_length, Some(300));
        assert_eq!(props["email"].format.as_deref(), Some("email"));
        assert_eq!(props["site"].format.as_deref(), Some("uri"));
        assert_eq!(props["contact"].format.as_deref(), Some("email"));
    }

    /// A named schema holds the same wherever it is first reached: thirty levels down another
    /// answer, it is not cut (and cached cut) by the depth limit.
    #[test]
    fn a_named_schema_is_whole_wherever_it_is_first_reached() {
        let mut schemas = String::new();
        // Each level holds the next before a leaf: the walk meets the leaf first at the deepest
        // level it reaches.
        for i in 0..30 {
            schemas.push_str(&format!(
                "    L{i}: {{type: object, properties: {{next: {{$ref: '#/components/schemas/L{}'}}, leaf: {{$ref: '#/components/schemas/Leaf'}}}}}}\n",
                i + 1
            ));
        }
        schemas.push_str("    L30: {type: object}\n");
        schemas.push_str("    Leaf: {type: object, properties: {id: {type: string}}}\n");
        let a = api(&format!(
            "{BASE}paths:\n  /deep:\n    get:\n      responses: {{'200': {{description: ok, content: {{application/json: {{schema: {{$ref: '#/components/schemas/L0'}}}}}}}}}}\n  /last:\n    get:\n      responses: {{'200': {{description: ok, content: {{application/json: {{schema: {{$ref: '#/components/schemas/Leaf'}}}}}}}}}}\ncomponents:\n  schemas:\n{schemas}"
        ))
        .expect("loads");
        let last = a.operations[1].success_schema().expect("schema");
        assert!(last.properties().is_some_and(|p| p.contains_key("id")));
    }

    #[test]
    fn resolves_refs_and_marks_read_only() {
        let a = api(&format!(
            "{BASE}security: [{{b: []}}]\npaths:\n  /things/{{thingId}}:\n    get:\n      operationId: getThing\n      responses:\n        '200':\n          content:\n            application/json:\n              schema: {{$ref: '#/components/schemas/Thing'}}\n  /health:\n    get:\n      security: []\n      responses: {{'200': {{description: ok}}}}\ncomponents:\n  schemas:\n    Thing:\n      type: object\n      required: [name]\n      properties:\n        id: {{type: string, readOnly: true}}\n        name: {{type: string}}\n        child: {{$ref: '#/components/schemas/Thing'}}\n"
        ))
        .expect("loads");
        assert_eq!(a.operations.len(), 2);
        let op = &a.operations[0];
        assert_eq!(op.security, Security::Secured);
        assert_eq!(op.parameters[0].name, "thingId");
        assert_eq!(op.line, Some(6));
        let schema = op.success_schema().expect("schema");
        assert_eq!(schema.name.as_deref(), Some("Thing"));
        let props = schema.properties().expect("object");
        assert!(props["id"].read_only);
        assert!(schema.requires("name"));
        // The recursive reference is cut, not expanded forever.
        assert_eq!(props["child"].kind, SchemaKind::Any);
        assert_eq!(a.operations[1].security, Security::Public);
    }

    #[test]
    fn broken_refs_name_the_reference_and_the_place() {
        let err = api(&format!(
            "{BASE}paths:\n  /a:\n    get:\n      responses:\n        '200':\n          content:\n            application/json:\n              schema: {{$ref: '#/components/schemas/Missing'}}\n"
        ))
        .expect_err("broken");
        let msg = err.to_string();
        assert!(msg.contains("'#/components/schemas/Missing'"), "{msg}");
        assert!(msg.contains("/paths/~1a/get/responses/200"), "{msg}");
    }

    #[test]
    fn openapi_31_type_arrays_and_all_of() {
        let a = api("openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema:\n              allOf:\n                - {type: object, properties: {x: {type: [string, 'null']}}}\n                - {type: object, required: [y], properties: {y: {type: integer}}}\n      responses: {'201': {description: ok}}\n").expect("loads");
        let body = a.operations[0].body.as_ref().expect("body");
        let props = body.schema.properties().expect("merged object");
        assert!(props["x"].nullable);
        assert_eq!(props["x"].kind, SchemaKind::String);
        assert!(body.schema.requires("y"));
        assert_eq!(a.operations[0].security, Security::Unspecified);
    }

    #[test]
    fn other_swagger_versions_are_refused_cleanly() {
        let err =
            api("swagger: '1.2'\ninfo: {title: t, version: '1'}\npaths: {}\n").expect_err("1.2");
        assert!(err.to_string().contains("Swagger 1.2"), "{err}");
        // Unquoted, YAML reads 2.0 as a number; it is still Swagger 2.0.
        let a = api("swagger: 2.0\ninfo: {title: t, version: '1'}\npaths: {}\n").expect("2.0");
        assert_eq!(a.spec_version, "2.0");
    }

    #[test]
    fn template_names_in_order() {
        assert_eq!(template_names("/a/{x}/b/{y_id}"), vec!["x", "y_id"]);
    }
}
