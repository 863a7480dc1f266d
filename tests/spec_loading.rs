//! Specs as real teams write them (issue #27): vendor extensions wherever OpenAPI allows them,
//! specs split over several files (`tests/fixtures/multifile/`), OpenAPI 3.2, and documents
//! whose operations tenantfuzz leaves out, which say so. Each spec here is written for its test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use tenantfuzz::campaign::Campaign;
use tenantfuzz::config::Settings;
use tenantfuzz::spec::{Method, SchemaKind, SpecError};

use crate::support::cmd::{bin, temp_dir, text};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

/// Writes `files` (relative path, content) into a fresh folder; the path of the first.
fn spec_files(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = temp_dir(&format!("spec-{name}"));
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir.join(files[0].0)
}

fn labels(api: &tenantfuzz::spec::Api) -> Vec<String> {
    api.operations.iter().map(|o| o.label()).collect()
}

const HEAD: &str = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n";

#[test]
fn vendor_extensions_are_ignored_wherever_openapi_allows_them() {
    let spec = format!(
        "{HEAD}x-top: 1\npaths:\n  x-generated-by: a string, not a path item\n  x-object: {{get: {{responses: {{'200': {{description: no}}}}}}}}\n  /things/{{id}}:\n    x-item: [1, 2]\n    get:\n      x-op: {{anything: true}}\n      parameters:\n        - {{name: id, in: path, required: true, schema: {{type: string}}, x-p: 1}}\n      responses:\n        x-codegen: ignore me\n        '200':\n          description: ok\n          x-r: 1\n          content:\n            application/json:\n              schema: {{type: object, x-s: 1, properties: {{x-name: {{type: string}}}}}}\ncomponents:\n  x-c: 1\n"
    );
    let path = spec_files("ext", &[("openapi.yaml", &spec)]);
    let api = tenantfuzz::spec::load(&path).unwrap();
    assert_eq!(labels(&api), vec!["GET /things/{id}"]);
    let op = &api.operations[0];
    let statuses: Vec<&str> = op.responses.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, vec!["200"]);
    // A property may well be named `x-...`: that is data, not an extension.
    let props = op.success_schema().unwrap().properties().unwrap();
    assert!(props.contains_key("x-name"), "{props:?}");
    // Swagger 2.0 allows them in the same places.
    let swagger = "swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths:\n  x-note: text\n  /a:\n    get:\n      responses:\n        x-note: text\n        '200': {description: ok}\n";
    let api = tenantfuzz::spec::load_str(swagger, "s.yaml").unwrap();
    assert_eq!(labels(&api), vec!["GET /a"]);
    assert_eq!(api.operations[0].responses.len(), 1);
}

#[test]
fn a_spec_split_over_several_files_loads_and_plans() {
    let path = fixture("multifile/spec/openapi.yaml");
    let api = tenantfuzz::spec::load(&path).unwrap();
    assert_eq!(
        labels(&api),
        vec![
            "GET /projects",
            "POST /projects",
            "GET /projects/{projectId}",
            "DELETE /projects/{projectId}"
        ]
    );
    // A schema in a file of its own is named after the file; its own `#/...` refer to it.
    let create = &api.operations[1];
    let project = create.success_schema().unwrap();
    assert_eq!(project.name.as_deref(), Some("Project"));
    let props = project.properties().unwrap();
    assert!(props["id"].read_only);
    assert_eq!(props["id"].format.as_deref(), Some("uuid"));
    let label = match &props["labels"].kind {
        SchemaKind::Array(items) => items.clone(),
        other => panic!("labels: {other:?}"),
    };
    assert_eq!(label.name.as_deref(), Some("Label"));
    assert!(label.properties().unwrap().contains_key("text"));
    // User -> Team -> User goes round between two files: cut where it recurs.
    let owner = &props["owner"];
    assert_eq!(owner.name.as_deref(), Some("User"));
    let team = &owner.properties().unwrap()["team"];
    assert_eq!(team.name.as_deref(), Some("Team"));
    let lead = &team.properties().unwrap()["lead"];
    assert_eq!(lead.kind, SchemaKind::Any);
    assert_eq!(lead.name.as_deref(), Some("User"));
    // The body is a JSON file, referring back into a YAML one with a fragment.
    let body = create.body.as_ref().unwrap();
    assert!(body.required);
    assert!(body.schema.requires("name"));
    assert_eq!(
        body.schema.properties().unwrap()["name"].max_length,
        Some(80)
    );
    // A response from outside the spec's folder (`../../common/errors.yaml`).
    let bad = create.responses.iter().find(|r| r.status == "400").unwrap();
    assert_eq!(bad.schema.as_ref().unwrap().name.as_deref(), Some("Error"));
    // The path item's parameter, through a fragment of a JSON file.
    let get = &api.operations[2];
    assert_eq!(get.method, Method::Get);
    let id = &get.parameters[0];
    assert_eq!(
        (id.name.as_str(), id.schema.format.as_deref()),
        ("projectId", Some("uuid"))
    );
    // The model sees the resource across the files: created, read and deleted by id.
    let c = Campaign::planning(Settings::for_planning(&path)).unwrap();
    let project = c.model.resource("project").expect("a project resource");
    assert!(
        c.model
            .producers
            .iter()
            .any(|p| p.resource == project && p.op == 1 && p.id_pointer.as_deref() == Some("/id"))
    );
    assert!(!c.plan(None).probes.is_empty());
}

#[test]
fn a_ref_to_a_url_is_refused_by_name_and_nothing_is_fetched() {
    let path = spec_files(
        "url",
        &[
            (
                "openapi.yaml",
                &format!(
                    "{HEAD}paths:\n  /a:\n    $ref: paths/a.yaml\n  /b:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {{$ref: 'https://schemas.example.invalid/unused.json'}}\n"
                ),
            ),
            (
                "paths/a.yaml",
                "get:\n  responses:\n    '200':\n      description: ok\n      content:\n        application/json:\n          schema: {$ref: 'https://schemas.example.invalid/thing.json#/Thing'}\n",
            ),
        ],
    );
    let err = tenantfuzz::spec::load(&path).unwrap_err();
    assert!(matches!(err, SpecError::BrokenRef { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("'https://schemas.example.invalid/thing.json#/Thing'"),
        "{msg}"
    );
    assert!(msg.contains("network"), "{msg}");
    // Where it is written: the file and the pointer in it.
    assert!(
        msg.contains("paths/a.yaml#/get/responses/200/content/application~1json/schema"),
        "{msg}"
    );
    assert!(msg.starts_with(&path.display().to_string()), "{msg}");
}

#[test]
fn a_missing_file_or_fragment_names_the_file_and_the_place() {
    let main = format!(
        "{HEAD}paths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {{$ref: 'schemas/A.yaml'}}\n"
    );
    let path = spec_files(
        "missing",
        &[
            ("openapi.yaml", &main),
            (
                "schemas/A.yaml",
                "type: object\nproperties:\n  b: {$ref: 'B.yaml'}\n  c: {$ref: '#/nowhere'}\n",
            ),
        ],
    );
    let msg = tenantfuzz::spec::load(&path).unwrap_err().to_string();
    assert!(msg.contains("'B.yaml'"), "{msg}");
    assert!(msg.contains("cannot read"), "{msg}");
    assert!(msg.contains("schemas/A.yaml#/properties/b"), "{msg}");
    // With B there, the fragment that points nowhere in A is the error, named in A's terms.
    std::fs::write(
        path.parent().unwrap().join("schemas/B.yaml"),
        "type: string\n",
    )
    .unwrap();
    let msg = tenantfuzz::spec::load(&path).unwrap_err().to_string();
    assert!(msg.contains("'schemas/A.yaml#/nowhere'"), "{msg}");
    assert!(msg.contains("no such location"), "{msg}");
    // A referenced file that is not YAML names itself, line and column.
    std::fs::write(
        path.parent().unwrap().join("schemas/B.yaml"),
        "type: [unclosed\n",
    )
    .unwrap();
    let msg = tenantfuzz::spec::load(&path).unwrap_err().to_string();
    assert!(msg.contains("B.yaml:"), "{msg}");
}

#[test]
fn an_error_in_a_path_item_of_another_file_names_that_file_and_the_place_in_it() {
    let main = format!(
        "{HEAD}paths:\n  /items:\n    $ref: paths/items.yaml\n  /items/{{id}}:\n    $ref: 'paths/all.yaml#/item'\n"
    );
    let path = spec_files(
        "item-errors",
        &[
            ("openapi.yaml", &main),
            (
                "paths/items.yaml",
                "get:\n  responses:\n    '200': {description: ok}\npost: 5\n",
            ),
            (
                "paths/all.yaml",
                "item:\n  get:\n    parameters: [{name: id, in: path, required: true, schema: {type: string}}]\n    responses: {'200': {description: ok}}\n",
            ),
        ],
    );
    let msg = tenantfuzz::spec::load(&path).unwrap_err().to_string();
    assert!(msg.contains("paths/items.yaml#/post:"), "{msg}");
    assert!(msg.contains("an operation must be an object"), "{msg}");
    assert!(!msg.contains("~1items"), "{msg}");
    // Under a fragment, the place is under the fragment.
    std::fs::write(
        path.parent().unwrap().join("paths/items.yaml"),
        "get:\n  responses:\n    '200': {description: ok}\n",
    )
    .unwrap();
    let api = tenantfuzz::spec::load(&path).unwrap();
    assert_eq!(api.operations[1].pointer, "paths/all.yaml#/item/get");
    std::fs::write(
        path.parent().unwrap().join("paths/all.yaml"),
        "item:\n  parameters: 5\n  get:\n    responses: {'200': {description: ok}}\n",
    )
    .unwrap();
    let msg = tenantfuzz::spec::load(&path).unwrap_err().to_string();
    assert!(msg.contains("paths/all.yaml#/item/parameters"), "{msg}");
    // A path item written in the main file is named there, as before.
    let inline = spec_files(
        "item-errors-inline",
        &[(
            "openapi.yaml",
            &format!("{HEAD}paths:\n  /items:\n    post: 5\n"),
        )],
    );
    let msg = tenantfuzz::spec::load(&inline).unwrap_err().to_string();
    assert!(msg.contains("/paths/~1items/post"), "{msg}");
}

#[test]
fn references_that_go_round_between_files_end() {
    // Path items that refer to each other across two files: an error, not a hang.
    let path = spec_files(
        "cycle",
        &[
            (
                "openapi.yaml",
                &format!("{HEAD}paths:\n  /a:\n    $ref: a.yaml\n"),
            ),
            ("a.yaml", "$ref: b.yaml\n"),
            ("b.yaml", "$ref: 'a.yaml'\n"),
        ],
    );
    let msg = tenantfuzz::spec::load(&path).unwrap_err().to_string();
    assert!(msg.contains("cyclic"), "{msg}");
    // A file that refers back to the main one (`openapi.yaml#/components/...`) is the main one.
    let path = spec_files(
        "back",
        &[
            (
                "openapi.yaml",
                &format!(
                    "{HEAD}paths:\n  /a:\n    $ref: a.yaml\ncomponents:\n  schemas:\n    A: {{type: object, properties: {{me: {{$ref: 'a.yaml#/get/responses/200/content/application~1json/schema'}}}}}}\n"
                ),
            ),
            (
                "a.yaml",
                "get:\n  responses:\n    '200':\n      description: ok\n      content:\n        application/json:\n          schema: {$ref: 'openapi.yaml#/components/schemas/A'}\n",
            ),
        ],
    );
    let api = tenantfuzz::spec::load(&path).unwrap();
    let schema = api.operations[0].success_schema().unwrap();
    assert_eq!(schema.name.as_deref(), Some("A"));
    assert!(schema.properties().unwrap().contains_key("me"));
}

#[test]
fn openapi_32_loads_with_query_operations() {
    let spec = "openapi: 3.2.0\ninfo: {title: t, version: '1'}\ntags:\n  - {name: projects, summary: Projects, kind: nav}\n  - {name: archived, parent: projects, kind: nav}\npaths:\n  /projects/{projectId}:\n    parameters:\n      - {name: projectId, in: path, required: true, schema: {type: string}}\n    get:\n      tags: [projects]\n      responses: {'200': {description: ok}}\n    query:\n      operationId: searchInProject\n      tags: [archived]\n      parameters:\n        - {name: filter, in: querystring, content: {application/x-www-form-urlencoded: {schema: {type: object}}}}\n      requestBody:\n        content:\n          application/json:\n            schema: {type: object, properties: {text: {type: string}}}\n      responses: {'200': {description: ok}}\n    additionalOperations:\n      LINK:\n        responses: {'204': {description: linked}}\n";
    let api = tenantfuzz::spec::load_str(spec, "v32.yaml").unwrap();
    assert_eq!(api.spec_version, "3.2.0");
    assert_eq!(
        labels(&api),
        vec!["GET /projects/{projectId}", "QUERY /projects/{projectId}"]
    );
    let query = &api.operations[1];
    assert!(query.method.is_safe());
    assert_eq!(query.tags, vec!["archived"]);
    assert!(query.body.is_some());
    // The path item's parameter only: the whole-query-string one is left out, and said.
    let names: Vec<&str> = query.parameters.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["projectId"]);
    let ignored = api.ignored.join("\n");
    assert!(ignored.contains("LINK /projects/{projectId}"), "{ignored}");
    assert!(
        ignored.contains("'filter'") && ignored.contains("querystring"),
        "{ignored}"
    );
    // Before 3.2 the `query` key is no operation.
    let api = tenantfuzz::spec::load_str(&spec.replace("3.2.0", "3.1.0"), "v31.yaml").unwrap();
    assert_eq!(labels(&api), vec!["GET /projects/{projectId}"]);
}

#[test]
fn a_spec_of_webhooks_only_says_what_it_ignored() {
    let spec = "openapi: 3.1.0\ninfo: {title: hooks, version: '1'}\nwebhooks:\n  newPet:\n    post:\n      requestBody: {content: {application/json: {schema: {type: object}}}}\n      responses: {'200': {description: ok}}\n  x-internal: true\n";
    let err = tenantfuzz::spec::load_str(spec, "hooks.yaml").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("hooks.yaml: no operation to attack"),
        "{msg}"
    );
    assert!(msg.contains("1 webhook (newPet)"), "{msg}");
    // `plan` exits 2 with that, instead of "0 operations" and 0.
    let path = spec_files("hooks", &[("hooks.yaml", spec)]);
    let o = bin().args(["plan", "--spec"]).arg(&path).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("1 webhook (newPet)"), "{}", text(&o));
    // Nothing usable at all: every method is one tenantfuzz does not send.
    let only_link = "openapi: 3.2.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    additionalOperations:\n      LINK: {responses: {'204': {description: ok}}}\n";
    let msg = tenantfuzz::spec::load_str(only_link, "link.yaml")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("LINK /a"), "{msg}");
    let empty = format!("{HEAD}paths: {{}}\n");
    let msg = tenantfuzz::spec::load_str(&empty, "empty.yaml")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("hold none"), "{msg}");
}

#[test]
fn plan_lists_what_it_ignored_beside_what_it_attacks() {
    let spec = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /notes/{noteId}:\n    get:\n      parameters: [{name: noteId, in: path, required: true, schema: {type: string}}]\n      responses: {'200': {description: ok}}\nwebhooks:\n  noteShared: {post: {responses: {'200': {description: ok}}}}\n  noteDeleted: {post: {responses: {'200': {description: ok}}}}\n";
    let path = spec_files("hooks-beside", &[("openapi.yaml", spec)]);
    let o = bin().args(["plan", "--spec"]).arg(&path).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("1 operations"), "{out}");
    assert!(
        out.contains(
            "ignored (not attacked, not in the model):\n  2 webhooks (noteShared, noteDeleted)"
        ),
        "{out}"
    );
    let o = bin()
        .args(["plan", "--json", "--spec"])
        .arg(&path)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        json["ignored"][0].as_str().unwrap().contains("2 webhooks"),
        "{json}"
    );
}
