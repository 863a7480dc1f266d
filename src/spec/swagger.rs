//! What only Swagger 2.0 has, into the same model as OpenAPI 3: non-body parameters that are their
//! own schema, the body as an `in: body` parameter, form fields as `in: formData` parameters,
//! media types from `consumes`, and `securityDefinitions`. Everything else (paths, responses,
//! schemas, `$ref`s to `#/definitions`, `#/parameters` and `#/responses`) goes through the common
//! converter in `convert.rs`.

use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::SpecError;
use super::convert::{Converter, Declared, Place, escape, media_rank};
use super::model::{Location, RequestBody, Schema, SchemaKind, SecurityScheme};

const FORM: &str = "application/x-www-form-urlencoded";
const MULTIPART: &str = "multipart/form-data";

impl<'a> Converter<'a> {
    /// A Swagger 2.0 parameter object (already dereferenced).
    pub(super) fn swagger_parameter(
        &mut self,
        p: &'a Value,
        ptr: &str,
    ) -> Result<Declared, SpecError> {
        let place = match p.get("in").and_then(Value::as_str) {
            Some("path") => Place::At(Location::Path),
            Some("query") => Place::At(Location::Query),
            Some("header") => Place::At(Location::Header),
            Some("body") => Place::Body,
            Some("formData") => Place::Form,
            other => {
                return Err(self.invalid(
                    ptr,
                    format!(
                        "parameter 'in' must be path, query, header, formData or body, not {other:?}"
                    ),
                ));
            }
        };
        let Some(name) = p.get("name").and_then(Value::as_str) else {
            return Err(self.invalid(ptr, "parameter without a 'name'"));
        };
        let schema = match (place, p.get("schema"), p.get("type")) {
            (Place::Body, Some(s), _) => self.schema(s, &format!("{ptr}/schema"), 0)?,
            (Place::Body, None, _) => Arc::new(Schema::any()),
            // Any other parameter is its own schema: `type`, `format`, `items`, `enum`, ...
            (_, _, Some(_)) => self.schema(p, ptr, 0)?,
            (_, _, None) => Arc::new(Schema::of(SchemaKind::String)),
        };
        Ok(Declared {
            name: name.to_string(),
            place,
            required: place == Place::At(Location::Path)
                || p.get("required").and_then(Value::as_bool).unwrap_or(false),
            schema,
            pointer: ptr.to_string(),
        })
    }

    /// The request body of a Swagger 2.0 operation: its `in: body` parameter, or its form fields
    /// as one object, with the media type its (or the document's) `consumes` allows.
    pub(super) fn swagger_body(
        &self,
        op: &Map<String, Value>,
        body: Vec<Declared>,
        form: Vec<Declared>,
        pointer: &str,
    ) -> Result<Option<RequestBody>, SpecError> {
        if body.len() > 1 {
            return Err(self.invalid(
                &body[1].pointer,
                format!(
                    "a second body parameter ('{}' and '{}'): an operation has at most one",
                    body[0].name, body[1].name
                ),
            ));
        }
        if let (Some(b), Some(f)) = (body.first(), form.first()) {
            return Err(self.invalid(
                &f.pointer,
                format!(
                    "form parameter '{}' beside body parameter '{}': an operation has one or the other",
                    f.name, b.name
                ),
            ));
        }
        let consumes = self.consumes(op, pointer)?;
        if let Some(b) = body.into_iter().next() {
            let content_type = consumes
                .iter()
                .filter(|ct| !is_form(ct))
                .min_by_key(|ct| media_rank(ct))
                // A wildcard accepts the JSON that the schema describes.
                .filter(|ct| !ct.contains('*'))
                .map_or("application/json", |ct| ct.as_str());
            return Ok(Some(RequestBody {
                content_type: content_type.to_string(),
                required: b.required,
                schema: b.schema,
            }));
        }
        if form.is_empty() {
            return Ok(None);
        }
        let has_file = form
            .iter()
            .any(|f| f.schema.format.as_deref() == Some("binary"));
        let says = |wanted: &str| {
            consumes
                .iter()
                .any(|ct| ct.to_ascii_lowercase().starts_with(wanted))
        };
        let content_type = if has_file || (says(MULTIPART) && !says(FORM)) {
            MULTIPART
        } else {
            FORM
        };
        let required = form.iter().any(|f| f.required);
        let names = form
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name.clone())
            .collect();
        let properties: IndexMap<String, Arc<Schema>> =
            form.into_iter().map(|f| (f.name, f.schema)).collect();
        Ok(Some(RequestBody {
            content_type: content_type.to_string(),
            required,
            schema: Arc::new(Schema::of(SchemaKind::Object {
                properties,
                required: names,
            })),
        }))
    }

    /// The operation's `consumes`, or else the document's.
    fn consumes(&self, op: &Map<String, Value>, pointer: &str) -> Result<Vec<String>, SpecError> {
        let (list, at) = match op.get("consumes") {
            Some(list) => (list, format!("{pointer}/consumes")),
            None => match self.root.get("consumes") {
                Some(list) => (list, "/consumes".to_string()),
                None => return Ok(Vec::new()),
            },
        };
        let Some(items) = list.as_array() else {
            return Err(self.invalid(&at, "'consumes' must be an array of media types"));
        };
        Ok(items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect())
    }

    /// `securityDefinitions`, as the schemes OpenAPI 3 would name: `basic` is `http` + `basic`.
    pub(super) fn security_definitions(&self) -> Result<Vec<SecurityScheme>, SpecError> {
        let Some(map) = self
            .root
            .get("securityDefinitions")
            .and_then(Value::as_object)
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (name, raw) in map {
            let at = format!("/securityDefinitions/{}", escape(name));
            let s = self.deref(raw, &at)?;
            let text = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
            let kind = text("type").unwrap_or_default();
            let (kind, scheme) = match kind.as_str() {
                "basic" => ("http".to_string(), Some("basic".to_string())),
                _ => (kind, None),
            };
            // As for OpenAPI 3, a scheme nothing downstream can use is kept, not refused.
            let location = match s.get("in").and_then(Value::as_str) {
                Some("header") => Some(Location::Header),
                Some("query") => Some(Location::Query),
                _ => None,
            };
            out.push(SecurityScheme {
                name: name.clone(),
                kind,
                scheme,
                location,
                parameter: text("name"),
                token_url: (text("flow").as_deref() == Some("password"))
                    .then(|| text("tokenUrl"))
                    .flatten(),
            });
        }
        Ok(out)
    }
}

/// Swagger 2.0's server: the first of `schemes` (`https` without one), `host` and `basePath`;
/// only `basePath` (relative) without a host.
pub(super) fn servers(root: &Value) -> Vec<String> {
    let base = root.get("basePath").and_then(Value::as_str).unwrap_or("");
    match root.get("host").and_then(Value::as_str) {
        Some(host) => {
            let scheme = root
                .get("schemes")
                .and_then(Value::as_array)
                .and_then(|s| s.first())
                .and_then(Value::as_str)
                .unwrap_or("https");
            vec![format!("{scheme}://{host}{base}")]
        }
        None if !base.is_empty() => vec![base.to_string()],
        None => Vec::new(),
    }
}

fn is_form(ct: &str) -> bool {
    let ct = ct.to_ascii_lowercase();
    ct.starts_with(FORM) || ct.starts_with(MULTIPART)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use crate::spec::{Api, Location, SchemaKind, Security, SpecError, load_str};

    const PETSTORE: &str = include_str!("../../tests/fixtures/petstore-swagger2.yaml");
    const TWIN: &str = include_str!("../../tests/fixtures/petstore-openapi3.yaml");

    fn petstore() -> Api {
        load_str(PETSTORE, "petstore-swagger2.yaml").expect("the fixture loads")
    }

    fn op<'a>(api: &'a Api, id: &str) -> &'a crate::spec::Operation {
        let i = api.find(id).unwrap_or_else(|| panic!("no operation {id}"));
        &api.operations[i]
    }

    /// A minimal 2.0 document with `paths` as given (YAML, indented two spaces under `paths:`).
    fn doc(paths: &str) -> Result<Api, SpecError> {
        let text = format!("swagger: '2.0'\ninfo: {{title: t, version: '1'}}\npaths:\n{paths}");
        load_str(&text, "t.yaml")
    }

    #[test]
    fn operations_parameters_and_their_merge() {
        let api = petstore();
        assert_eq!(api.spec_version, "2.0");
        assert_eq!(api.title, "Pet Store Cloud");
        assert_eq!(api.operations.len(), 16);
        let get_store = op(&api, "getStore");
        let store_id = get_store
            .parameter(Location::Path, "store_id")
            .expect("from #/parameters/StoreId at the path item");
        assert!(store_id.required);
        assert_eq!(store_id.schema.format.as_deref(), Some("uuid"));
        let request_id = get_store
            .parameter(Location::Header, "X-Request-Id")
            .expect("header from the path item");
        assert!(!request_id.required);
        assert_eq!(request_id.schema.max_length, Some(64));
        // The operation's own declaration wins over the path item's, and only once.
        let delete = op(&api, "deleteStore");
        let headers: Vec<_> = delete
            .parameters
            .iter()
            .filter(|p| p.location == Location::Header)
            .collect();
        assert_eq!(headers.len(), 1);
        assert!(headers[0].required);
        let list = op(&api, "listPets");
        let limit = list.parameter(Location::Query, "limit").expect("limit");
        assert_eq!(limit.schema.kind, SchemaKind::Integer);
        assert_eq!(
            (limit.schema.minimum, limit.schema.maximum),
            (Some(1.0), Some(100.0))
        );
        assert_eq!(limit.schema.default, Some(Value::from(20)));
        let status = list.parameter(Location::Query, "status").expect("status");
        assert_eq!(status.schema.enum_values.len(), 3);
        assert!(list.body.is_none());
        let order_id = op(&api, "getOrder")
            .parameter(Location::Path, "order_id")
            .expect("inline path-level parameter");
        assert_eq!(order_id.schema.kind, SchemaKind::String);
    }

    #[test]
    fn body_and_form_parameters_become_the_request_body() {
        let api = petstore();
        let create = op(&api, "createStore");
        let body = create.body.as_ref().expect("in: body");
        assert_eq!(body.content_type, "application/json");
        assert!(body.required);
        assert_eq!(body.schema.name.as_deref(), Some("StoreInput"));
        assert!(body.schema.requires("name"));
        // No body parameter is left among the parameters.
        assert!(create.parameters.is_empty(), "{:?}", create.parameters);
        // `consumes: [application/json, application/xml]`: JSON is preferred.
        let pet = op(&api, "createPet").body.as_ref().expect("body");
        assert_eq!(pet.content_type, "application/json");
        assert_eq!(pet.schema.name.as_deref(), Some("NewPet"));

        let form = op(&api, "updatePetWithForm").body.as_ref().expect("form");
        assert_eq!(form.content_type, "application/x-www-form-urlencoded");
        assert!(!form.required);
        let props = form.schema.properties().expect("an object of the fields");
        assert_eq!(props.keys().collect::<Vec<_>>(), ["name", "status"]);
        assert_eq!(props["status"].enum_values.len(), 3);

        let upload = op(&api, "uploadPetPhoto");
        let body = upload.body.as_ref().expect("multipart");
        assert_eq!(body.content_type, "multipart/form-data");
        assert!(body.required);
        assert!(body.schema.requires("file") && !body.schema.requires("caption"));
        let file = &body.schema.properties().expect("object")["file"];
        assert_eq!(file.kind, SchemaKind::String);
        assert_eq!(file.format.as_deref(), Some("binary"));
        assert_eq!(
            upload.parameters.len(),
            1,
            "only pet_id: {:?}",
            upload.parameters
        );
    }

    #[test]
    fn definitions_responses_and_read_only_ids() {
        let api = petstore();
        let get = op(&api, "getPet");
        let pet = get.success_schema().expect("200 schema");
        assert_eq!(pet.name.as_deref(), Some("Pet"));
        let props = pet.properties().expect("allOf merged into an object");
        assert!(props["id"].read_only && props["store_id"].read_only);
        assert!(!props["name"].read_only);
        assert!(props["tag"].nullable, "x-nullable");
        assert_eq!(props["category"].name.as_deref(), Some("Category"));
        // The recursive reference is cut, not expanded forever.
        assert_eq!(props["mother"].kind, SchemaKind::Any);
        assert!(pet.requires("id") && pet.requires("name"));
        // `#/responses/NotFound` resolves to its schema.
        let not_found = get
            .responses
            .iter()
            .find(|r| r.status == "404")
            .expect("404");
        let error = not_found.schema.as_ref().expect("schema");
        assert_eq!(error.name.as_deref(), Some("Error"));
        let created = op(&api, "createStore")
            .responses
            .iter()
            .find(|r| r.status == "201")
            .expect("201");
        assert_eq!(created.headers, ["Location"]);
        assert!(op(&api, "deletePet").success_schema().is_none());
    }

    #[test]
    fn security_definitions_and_requirements() {
        let api = petstore();
        let scheme = |name: &str| {
            api.security_schemes
                .iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("scheme {name}"))
        };
        let key = scheme("apiKey");
        assert_eq!(key.kind, "apiKey");
        assert_eq!(key.location, Some(Location::Header));
        assert_eq!(key.parameter.as_deref(), Some("X-Api-Key"));
        let basic = scheme("ownerBasic");
        assert_eq!(
            (basic.kind.as_str(), basic.scheme.as_deref()),
            ("http", Some("basic"))
        );
        assert_eq!(scheme("oauth").kind, "oauth2");
        assert_eq!(op(&api, "health").security, Security::Public);
        let get = op(&api, "getPet");
        assert_eq!(get.security, Security::Secured);
        assert_eq!(get.security_schemes, ["apiKey", "oauth"]);
        let delete = op(&api, "deleteStore");
        assert_eq!(delete.security_schemes, ["ownerBasic"]);
    }

    /// The 2.0 fixture and its hand-converted 3.0 twin load into the same model, but for where
    /// things are in the document.
    #[test]
    fn matches_its_openapi3_twin() {
        let two = petstore();
        let three = load_str(TWIN, "petstore-openapi3.yaml").expect("the twin loads");
        let strip = |api: &Api| -> Vec<Value> {
            api.operations
                .iter()
                .map(|o| {
                    let mut v = serde_json::to_value(o).expect("serializes");
                    let obj = v.as_object_mut().expect("an object");
                    obj.remove("pointer");
                    obj.remove("line");
                    v
                })
                .collect()
        };
        let (a, b) = (strip(&two), strip(&three));
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y);
        }
        assert_eq!(
            serde_json::to_value(&two.security_schemes).expect("serializes"),
            serde_json::to_value(&three.security_schemes).expect("serializes")
        );
    }

    #[test]
    fn media_types_default_and_wildcards() {
        let a = doc("  /a:\n    post:\n      consumes: ['*/*']\n      parameters:\n        - {name: b, in: body, schema: {type: object}}\n      responses: {'200': {description: ok}}\n  /b:\n    post:\n      parameters:\n        - {name: b, in: body, schema: {type: object}}\n        - {name: q, in: query, type: string, x-nullable: true}\n      responses: {'200': {description: ok}}\n  /c:\n    post:\n      parameters:\n        - {name: f, in: formData, type: string, required: true}\n      responses: {'200': {description: ok}}\n").expect("loads");
        let ct = |i: usize| {
            a.operations[i]
                .body
                .as_ref()
                .map(|b| b.content_type.clone())
        };
        assert_eq!(ct(0).as_deref(), Some("application/json"));
        assert_eq!(ct(1).as_deref(), Some("application/json"));
        assert_eq!(ct(2).as_deref(), Some("application/x-www-form-urlencoded"));
        assert!(a.operations[1].parameters[0].schema.nullable);
        assert_eq!(a.operations[0].security, Security::Unspecified);
    }

    #[test]
    fn malformed_constructs_are_refused_naming_the_place() {
        let cases = [
            (
                "  /a:\n    get:\n      parameters:\n        - {name: c, in: cookie, type: string}\n      responses: {}\n",
                "/paths/~1a/get/parameters/0",
                "formData or body",
            ),
            (
                "  /a:\n    post:\n      parameters:\n        - {name: x, in: body, schema: {type: object}}\n        - {name: y, in: body, schema: {type: object}}\n      responses: {}\n",
                "/paths/~1a/post/parameters/1",
                "at most one",
            ),
            (
                "  /a:\n    parameters:\n      - {name: f, in: formData, type: string}\n    post:\n      parameters:\n        - {name: x, in: body, schema: {type: object}}\n      responses: {}\n",
                "/paths/~1a/parameters/0",
                "one or the other",
            ),
            (
                "  /a:\n    post:\n      consumes: application/json\n      parameters:\n        - {name: x, in: body, schema: {type: object}}\n      responses: {}\n",
                "/paths/~1a/post/consumes",
                "must be an array",
            ),
            (
                "  /a:\n    get:\n      parameters:\n        - {$ref: '#/parameters/Missing'}\n      responses: {}\n",
                "/paths/~1a/get/parameters/0",
                "'#/parameters/Missing'",
            ),
            (
                "  /a:\n    get:\n      responses:\n        '200': {description: ok, schema: {$ref: '#/definitions/Missing'}}\n",
                "/paths/~1a/get/responses/200",
                "'#/definitions/Missing'",
            ),
            (
                "  /a:\n    get:\n      parameters: {name: x}\n      responses: {}\n",
                "/paths/~1a/get/parameters",
                "must be an array",
            ),
        ];
        for (paths, pointer, words) in cases {
            let err = doc(paths).expect_err(paths).to_string();
            assert!(err.starts_with("t.yaml: "), "{err}");
            assert!(err.contains(pointer), "{pointer} not in: {err}");
            assert!(err.contains(words), "{words} not in: {err}");
        }
    }
}
