//! Inference of the resource model from the API model: which operation creates which resource and
//! where its id comes back, which parameters of which operations take that id, parent/child
//! relations, and list operations that reveal ids an identity already owns.

use std::collections::HashMap;

use serde::Serialize;

use super::naming::{
    is_action_path, is_auth_path, last_literal, normalize, path_key, resource_of_id_name,
    resource_of_path_param, resources_of_id_name, segment_before_param, singular,
};
use crate::finding::Vector;
use crate::spec::{Api, Location, Method, Operation, Schema, SchemaKind};

/// A place in a request where a value goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "in", content = "name", rename_all = "lowercase")]
pub enum Slot {
    Path(String),
    Query(String),
    Header(String),
    /// A JSON pointer into the body.
    Body(String),
}

impl Slot {
    /// The attack vector of a foreign id placed here.
    pub fn vector(&self) -> Vector {
        match self {
            Slot::Path(_) => Vector::Path,
            Slot::Query(_) => Vector::Query,
            Slot::Header(_) => Vector::Header,
            Slot::Body(_) => Vector::Body,
        }
    }

    /// `path projectId`, `body /projectId`.
    pub fn label(&self) -> String {
        match self {
            Slot::Path(n) => format!("path {n}"),
            Slot::Query(n) => format!("query {n}"),
            Slot::Header(n) => format!("header {n}"),
            Slot::Body(p) => format!("body {p}"),
        }
    }
}

/// A kind of resource (`project`, `document`).
#[derive(Debug, Clone, Serialize)]
pub struct Resource {
    pub name: String,
    /// Resources this one is created under (path parameters and required id fields of its
    /// producer).
    pub parents: Vec<usize>,
}

/// An operation that creates a resource.
#[derive(Debug, Clone, Serialize)]
pub struct Producer {
    pub op: usize,
    pub resource: usize,
    /// Where the new id is in the response body (a JSON pointer), when the schema says.
    pub id_pointer: Option<String>,
    /// Whether the response documents a `Location` header.
    pub location_header: bool,
    /// Where the request carries the key the client chose, when the item path addresses the
    /// resource by it (`POST /tags {name}` for `/tags/{name}`): the id when the answer has none.
    pub request_key: Option<String>,
    /// The slots that take the ids of resources it is created under.
    pub dependencies: Vec<(Slot, usize)>,
    /// Its body has no free-text field of its own: it derives from other resources (an export,
    /// a report job), so it is created after them.
    pub derived: bool,
}

/// A slot of an operation that takes the id of a resource.
#[derive(Debug, Clone, Serialize)]
pub struct Consumer {
    pub op: usize,
    pub slot: Slot,
    pub resource: usize,
    /// Found through an OpenAPI link, or a config override, rather than by naming.
    pub explicit: bool,
}

/// A list operation that reveals ids of resources its caller already has.
#[derive(Debug, Clone, Serialize)]
pub struct Discovery {
    pub op: usize,
    pub resource: usize,
    /// JSON pointer of the array ("" for a top-level array).
    pub array_pointer: String,
    /// The id field of each item.
    pub id_field: String,
}

/// The inferred resource model.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResourceModel {
    pub resources: Vec<Resource>,
    pub producers: Vec<Producer>,
    pub consumers: Vec<Consumer>,
    pub discoveries: Vec<Discovery>,
    /// The caller's own answers (`GET /user`) and the resources of its own they name.
    pub selves: Vec<super::selves::SelfSource>,
    /// Operations left out of attacks, with the reason.
    pub skipped: Vec<(usize, String)>,
    #[serde(skip)]
    index: Index,
}

/// Explicit knowledge from the config that overrides inference.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// operation index -> JSON pointer of the created id in its response.
    pub id_pointers: Vec<(usize, String)>,
    /// (operation index, slot, resource name): this slot takes that resource's id.
    pub links: Vec<(usize, Slot, String)>,
}

impl ResourceModel {
    /// The resource called `name`.
    pub fn resource(&self, name: &str) -> Option<usize> {
        // The index holds every resource unless the model was changed by hand since.
        if self.index.by_name.len() == self.resources.len() {
            return self.index.by_name.get(name).copied();
        }
        self.resources.iter().position(|r| r.name == name)
    }

    /// The consumers of `op`.
    pub fn consumers_of(&self, op: usize) -> impl Iterator<Item = &Consumer> {
        let indexed = self.index.consumers_by_op.get(op);
        let scan = indexed
            .is_none()
            .then(|| self.consumers.iter().filter(move |c| c.op == op));
        indexed
            .into_iter()
            .flatten()
            .map(|i| &self.consumers[*i])
            .chain(scan.into_iter().flatten())
    }

    /// The first producer of `resource`.
    pub fn producer_of(&self, resource: usize) -> Option<&Producer> {
        self.producers_of(resource).next()
    }

    /// The producers of `resource`, in order.
    pub fn producers_of(&self, resource: usize) -> impl Iterator<Item = &Producer> {
        let indexed = self.index.producers_by_resource.get(resource);
        let scan = indexed.is_none().then(|| {
            self.producers
                .iter()
                .filter(move |p| p.resource == resource)
        });
        indexed
            .into_iter()
            .flatten()
            .map(|i| &self.producers[*i])
            .chain(scan.into_iter().flatten())
    }

    /// The producers that take one of `parents` as a dependency, in order.
    pub fn producers_under(&self, parents: &[usize]) -> Vec<&Producer> {
        let mut at: Vec<usize> = if self.index.producers_by_dependency.len() == self.resources.len()
        {
            parents
                .iter()
                .filter_map(|r| self.index.producers_by_dependency.get(*r))
                .flatten()
                .copied()
                .collect()
        } else {
            (0..self.producers.len())
                .filter(|&i| {
                    self.producers[i]
                        .dependencies
                        .iter()
                        .any(|(_, d)| parents.contains(d))
                })
                .collect()
        };
        at.sort_unstable();
        at.dedup();
        at.into_iter().map(|i| &self.producers[i]).collect()
    }

    /// The first producer whose create is operation `op`.
    pub fn producer_by_op(&self, op: usize) -> Option<&Producer> {
        match self.index.producer_by_op.get(op) {
            Some(found) => found.map(|i| &self.producers[i]),
            None => self.producers.iter().find(|p| p.op == op),
        }
    }

    /// Whether `op` was left out.
    pub fn is_skipped(&self, op: usize) -> bool {
        match self.index.skipped.get(op) {
            Some(flag) => *flag,
            None => self.skipped.iter().any(|(o, _)| *o == op),
        }
    }

    /// The config's hints that change nothing in this model, each with its key and why: a
    /// `[[model.ids]]` on an operation that creates nothing, a `[[model.links]]` to a resource
    /// nothing creates, lists or takes. A hint the model does not use is an error, never silence.
    pub fn idle_hints(&self, api: &Api, overrides: &Overrides) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (op, pointer) in &overrides.id_pointers {
            if self.producer_by_op(*op).is_none() {
                out.push((
                    "model.ids",
                    format!(
                        "'{}' creates nothing in the model (only a POST into a collection creates; \
                         not an action on an item, a login, or an excluded operation), so its \
                         pointer '{pointer}' would never be read",
                        api.operations[*op].label()
                    ),
                ));
            }
        }
        let mut known = vec![false; self.resources.len()];
        let producers = self.producers.iter().map(|p| p.resource);
        let discoveries = self.discoveries.iter().map(|d| d.resource);
        let selves = self.selves.iter().map(|s| s.resource);
        let inferred = self
            .consumers
            .iter()
            .filter(|c| !c.explicit)
            .map(|c| c.resource);
        for r in producers.chain(discoveries).chain(selves).chain(inferred) {
            known[r] = true;
        }
        for (op, slot, name) in &overrides.links {
            if self.resource(name).is_some_and(|r| known[r]) {
                continue;
            }
            let nearest = self
                .resources
                .iter()
                .zip(&known)
                .filter(|(_, k)| **k)
                .map(|(r, _)| (strsim::levenshtein(name, &r.name), r.name.as_str()))
                .min();
            let help = match nearest {
                Some((d, n)) if d <= 3 => format!("; did you mean '{n}'?"),
                _ => String::new(),
            };
            out.push((
                "model.links.resource",
                format!(
                    "'{name}' is no resource of the model: nothing creates, lists or takes it, so \
                     {} [{}] would wait for ids that never come{help}",
                    api.operations[*op].label(),
                    slot.label()
                ),
            ));
        }
        out
    }

    /// Builds the lookup index; call after the model changes.
    pub fn reindex(&mut self, operations: usize) {
        let mut by_op = vec![Vec::new(); operations];
        for (i, c) in self.consumers.iter().enumerate() {
            if let Some(list) = by_op.get_mut(c.op) {
                list.push(i);
            }
        }
        let mut skipped = vec![false; operations];
        for (op, _) in &self.skipped {
            if let Some(flag) = skipped.get_mut(*op) {
                *flag = true;
            }
        }
        let mut producer_by_op = vec![None; operations];
        let mut producers_by_resource = vec![Vec::new(); self.resources.len()];
        for (i, p) in self.producers.iter().enumerate() {
            if let Some(slot @ None) = producer_by_op.get_mut(p.op) {
                *slot = Some(i);
            }
            if let Some(list) = producers_by_resource.get_mut(p.resource) {
                list.push(i);
            }
        }
        let mut producers_by_dependency = vec![Vec::new(); self.resources.len()];
        for (i, p) in self.producers.iter().enumerate() {
            for (_, d) in &p.dependencies {
                if let Some(list) = producers_by_dependency.get_mut(*d) {
                    if list.last() != Some(&i) {
                        list.push(i);
                    }
                }
            }
        }
        let mut by_name = HashMap::new();
        for (i, r) in self.resources.iter().enumerate() {
            by_name.entry(r.name.clone()).or_insert(i);
        }
        self.index = Index {
            by_name,
            consumers_by_op: by_op,
            skipped,
            producer_by_op,
            producers_by_resource,
            producers_by_dependency,
        };
    }
}

/// Lookups by operation, so planning stays linear in the size of the spec.
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// Resources by name: looked up for every slot of every operation.
    by_name: HashMap<String, usize>,
    consumers_by_op: Vec<Vec<usize>>,
    skipped: Vec<bool>,
    producer_by_op: Vec<Option<usize>>,
    producers_by_resource: Vec<Vec<usize>>,
    /// By resource: the producers created under it (that take its id as a dependency).
    producers_by_dependency: Vec<Vec<usize>>,
}

/// Infers the resource model of `api`. `excluded` operations (by index) are skipped.
pub fn infer(api: &Api, excluded: &[usize], overrides: &Overrides) -> ResourceModel {
    let mut b = Builder::default();
    let items = ItemPaths::new(api);
    for (i, op) in api.operations.iter().enumerate() {
        if excluded.contains(&i) {
            b.model.skipped.push((
                i,
                "excluded by campaign.exclude (remove it from the list to attack it)".into(),
            ));
        } else if is_plumbing(&items, &op.path) && !overrides.links.iter().any(|(o, ..)| *o == i) {
            // A link on it is the user's word that it takes a resource's id: attacked then.
            b.model.skipped.push((
                i,
                "authentication plumbing (the caller's own login, logout, refresh or \
                 registration; a [[model.links]] on one of its parameters has it attacked)"
                    .into(),
            ));
        }
    }
    // Looked up for every operation below, before the model's index exists.
    let mut skipped = vec![false; api.operations.len()];
    for (i, _) in &b.model.skipped {
        skipped[*i] = true;
    }
    // 1. Producers: a POST into a collection whose answer carries an id.
    for (i, op) in api.operations.iter().enumerate() {
        // An action on an item (`POST /charges/{charge}/capture`) creates nothing: it takes the
        // parent's id, as a consumer below.
        if skipped[i] || op.method != Method::Post || is_action_path(&op.path) {
            continue;
        }
        let Some(collection) = last_literal(&op.path) else {
            continue;
        };
        let name = singular(collection);
        let schema = op.success_schema();
        let explicit_pointer = overrides
            .id_pointers
            .iter()
            .find(|(o, _)| *o == i)
            .map(|(_, p)| p.clone());
        // An item path that addresses the resource by a name (`/labels/{name}`) decides, even
        // when the answer also has an `id`: that name is what the item path takes.
        let id_pointer = explicit_pointer
            .or_else(|| schema.and_then(|s| name_pointer(&items, &op.path, &name, s)))
            .or_else(|| schema.and_then(|s| id_pointer(s, &name)));
        let location_header = op.responses.iter().any(|r| {
            r.status.starts_with('2')
                && r.headers.iter().any(|h| h.eq_ignore_ascii_case("location"))
        });
        // An answer whose schema declares no id (a free-form `{data: {...}}`, an empty 201) still
        // creates when the collection has an item path: the id is looked for in the actual
        // answer, the `Location`, or the key the request chose.
        let request_key = op
            .body
            .as_ref()
            .and_then(|body| request_key(&items, &op.path, &name, &body.schema));
        if id_pointer.is_none()
            && !location_header
            && request_key.is_none()
            && !has_item_path(&items, &op.path)
        {
            continue;
        }
        let resource = b.resource(&name);
        let derived = op
            .body
            .as_ref()
            .is_none_or(|body| !has_free_text(&body.schema, 0));
        b.model.producers.push(Producer {
            op: i,
            resource,
            id_pointer,
            location_header,
            request_key,
            dependencies: Vec::new(),
            derived,
        });
    }
    // 2. Path consumers name resources too (`/workspaces/{workspaceId}`).
    for (i, op) in api.operations.iter().enumerate() {
        for p in op
            .parameters
            .iter()
            .filter(|p| p.location == Location::Path)
        {
            let before = segment_before_param(&op.path, &p.name);
            if let Some(name) = resource_of_path_param(&p.name, before) {
                let resource = b.resource(&name);
                b.consumer(i, Slot::Path(p.name.clone()), resource, false);
            }
        }
    }
    // 3. Discoveries: lists that show ids the caller has.
    for (i, op) in api.operations.iter().enumerate() {
        if skipped[i] || op.method != Method::Get || !discoverable(op) {
            continue;
        }
        let Some(schema) = op.success_schema() else {
            continue;
        };
        for (pointer, item_name, id_field) in
            arrays_with_ids(schema, &op.path, &|noun| item_param(&items, &op.path, noun))
        {
            let Some(resource) = b.model.resource(&item_name) else {
                continue;
            };
            b.model.discoveries.push(Discovery {
                op: i,
                resource,
                array_pointer: pointer,
                id_field,
            });
        }
    }
    // 4. Query, header and body consumers of known resources.
    let creators: std::collections::HashSet<usize> =
        b.model.producers.iter().map(|p| p.op).collect();
    for (i, op) in api.operations.iter().enumerate() {
        for p in &op.parameters {
            let slot = match p.location {
                Location::Query => Slot::Query(p.name.clone()),
                Location::Header => Slot::Header(p.name.clone()),
                _ => continue,
            };
            let mut names = resources_of_id_name(&p.name);
            if names.is_empty() && super::naming::is_generic_id(&p.name) {
                names.extend(last_literal(&op.path).map(singular));
            }
            if let Some(resource) = b.known(&names) {
                b.consumer(i, slot, resource, false);
            }
        }
        if let Some(body) = &op.body {
            for (pointer, names) in body_id_fields(&body.schema, &op.path) {
                if let Some(resource) = b.known(&names) {
                    b.consumer(i, Slot::Body(pointer), resource, false);
                }
            }
            // A user named by its username (`POST /roles {username, role}`): the user it
            // names. Not where the operation creates one (an administrator's `POST /users`),
            // nor in the caller's own login or registration: there the name is the caller's.
            let creates = creators.contains(&i);
            if let (false, false, Some(props)) = (creates, skipped[i], body.schema.properties()) {
                for (name, prop) in props {
                    if matches!(prop.kind, SchemaKind::String)
                        && !prop.read_only
                        && USERNAME_FIELDS.contains(&normalize(name).as_str())
                    {
                        if let Some(resource) = b.known(&["user".to_string()]) {
                            let pointer = format!("/{}", crate::spec::escape(name));
                            b.consumer(i, Slot::Body(pointer), resource, false);
                        }
                    }
                }
            }
        }
    }
    // 5. OpenAPI links and config links are explicit consumers.
    let mut first_producer: HashMap<usize, usize> = HashMap::new();
    for (pi, p) in b.model.producers.iter().enumerate() {
        first_producer.entry(p.op).or_insert(pi);
    }
    for (i, op) in api.operations.iter().enumerate() {
        let Some(producer) = first_producer
            .get(&i)
            .map(|&pi| b.model.producers[pi].clone())
        else {
            continue;
        };
        for response in op.responses.iter().filter(|r| r.status.starts_with('2')) {
            for link in &response.links {
                let Some(target) = api.find(&link.operation_id) else {
                    continue;
                };
                for (param, expr) in &link.parameters {
                    let Some(pointer) = expr.strip_prefix("$response.body#") else {
                        continue;
                    };
                    // The created id goes to the producer's resource; another field of the
                    // response (`#/workspaceId`) names its own resource.
                    let is_id = producer.id_pointer.as_deref() == Some(pointer) || pointer == "/id";
                    let resource = if is_id {
                        Some(producer.resource)
                    } else {
                        pointer
                            .rsplit('/')
                            .next()
                            .and_then(resource_of_id_name)
                            .and_then(|n| b.model.resource(&n))
                    };
                    if let (Some(resource), Some(slot)) =
                        (resource, slot_named(&api.operations[target], param))
                    {
                        b.consumer(target, slot, resource, true);
                    }
                }
            }
        }
    }
    for (op, slot, name) in &overrides.links {
        let resource = b.resource(name);
        b.consumer(*op, slot.clone(), resource, true);
    }
    // 6. Dependencies of producers, and parents of resources. Every consumer is known now:
    // index them, or finding a producer's would scan them all.
    b.model.reindex(api.operations.len());
    for pi in 0..b.model.producers.len() {
        let op_index = b.model.producers[pi].op;
        let op = &api.operations[op_index];
        let own = b.model.producers[pi].resource;
        let deps: Vec<(Slot, usize)> = b
            .model
            .consumers_of(op_index)
            .filter(|c| c.resource != own && is_required(op, &c.slot))
            .map(|c| (c.slot.clone(), c.resource))
            .collect();
        for (_, parent) in &deps {
            if !b.model.resources[own].parents.contains(parent) {
                b.model.resources[own].parents.push(*parent);
            }
        }
        b.model.producers[pi].dependencies = deps;
    }
    // 7. The caller's own answers.
    b.model.selves = super::selves::infer(api, &b.model, excluded);
    b.model.reindex(api.operations.len());
    b.model
}

#[derive(Default)]
struct Builder {
    model: ResourceModel,
    /// Where each (operation, slot) is in `model.consumers`: finding it by a scan of every
    /// consumer made the model grow with the square of the spec.
    consumer_at: HashMap<(usize, Slot), usize>,
}

impl Builder {
    fn resource(&mut self, name: &str) -> usize {
        if let Some(i) = self.model.resource(name) {
            return i;
        }
        self.model.resources.push(Resource {
            name: name.to_string(),
            parents: Vec::new(),
        });
        let index = self.model.resources.len() - 1;
        self.model.index.by_name.insert(name.to_string(), index);
        index
    }

    /// The first of `names` (most specific first) that is a known resource.
    fn known(&self, names: &[String]) -> Option<usize> {
        names.iter().find_map(|n| self.model.resource(n))
    }

    fn consumer(&mut self, op: usize, slot: Slot, resource: usize, explicit: bool) {
        if let Some(existing) = self
            .consumer_at
            .get(&(op, slot.clone()))
            .map(|&i| &mut self.model.consumers[i])
        {
            if explicit {
                existing.resource = resource;
                existing.explicit = true;
            }
            return;
        }
        self.consumer_at
            .insert((op, slot.clone()), self.model.consumers.len());
        self.model.consumers.push(Consumer {
            op,
            slot,
            resource,
            explicit,
        });
    }
}

/// Whether a slot must be filled for the operation to work.
pub(crate) fn is_required(op: &Operation, slot: &Slot) -> bool {
    match slot {
        Slot::Path(_) => true,
        Slot::Query(n) => op.parameter(Location::Query, n).is_some_and(|p| p.required),
        Slot::Header(n) => op
            .parameter(Location::Header, n)
            .is_some_and(|p| p.required),
        Slot::Body(pointer) => op.body.as_ref().is_some_and(|b| {
            let top = pointer
                .trim_start_matches('/')
                .split('/')
                .next()
                .unwrap_or_default();
            b.schema.requires(top)
        }),
    }
}

fn slot_named(op: &Operation, name: &str) -> Option<Slot> {
    // Link parameter names may be qualified: `path.projectId`.
    let (loc, bare) = match name.split_once('.') {
        Some((l, n)) => (Some(l), n),
        None => (None, name),
    };
    let param = op
        .parameters
        .iter()
        .find(|p| p.name == bare && loc.is_none_or(|l| l == p.location.as_str()))?;
    Some(match param.location {
        Location::Path => Slot::Path(param.name.clone()),
        Location::Query => Slot::Query(param.name.clone()),
        Location::Header => Slot::Header(param.name.clone()),
        Location::Cookie => return None,
    })
}

/// A GET with no path parameters and no required non-id query parameters can list the caller's
/// own things without knowing anything first.
fn discoverable(op: &Operation) -> bool {
    op.parameters.iter().all(|p| match p.location {
        Location::Path => false,
        _ => !p.required,
    })
}

/// Where the id of a created `resource` comes back in `schema`.
fn id_pointer(schema: &Schema, resource: &str) -> Option<String> {
    let props = schema.properties()?;
    let wanted = [
        "id".to_string(),
        format!("{resource}id"),
        "uuid".to_string(),
        format!("{resource}uuid"),
    ];
    for (name, _) in props {
        if wanted.contains(&normalize(name)) {
            return Some(format!("/{}", crate::spec::escape(name)));
        }
    }
    // A wrapper: `{"data": {"id": ...}}` or `{"project": {"id": ...}}`.
    for (name, inner) in props {
        if let Some(inner_props) = inner.properties() {
            if let Some((id, _)) = inner_props.iter().find(|(n, _)| normalize(n) == "id") {
                return Some(format!(
                    "/{}/{}",
                    crate::spec::escape(name),
                    crate::spec::escape(id)
                ));
            }
        }
    }
    None
}

/// The path parameter the item path under `collection` (`/tags` -> `/tags/{name}`) addresses a
/// `resource` by, when that is a name rather than an id (`name`, `username`, `tag`): `None` for
/// `/projects/{id}`, `/projects/{projectId}` or no item path.
fn item_param(items: &ItemPaths, collection: &str, resource: &str) -> Option<String> {
    let before = super::naming::last_literal(collection);
    items
        .by_collection
        .get(path_key(collection))?
        .iter()
        .find(|rest| {
            !super::naming::is_generic_id(rest)
                && super::naming::resource_of_id_name(rest).is_none()
                && resource_of_path_param(rest, before).as_deref() == Some(resource)
        })
        .cloned()
}

/// The item paths of the spec (`<collection>/{param}`, with or without a trailing slash) by
/// collection, each with its parameters in operation order: asking every operation whether it
/// is the item path of each collection made the model grow with the square of the spec.
struct ItemPaths {
    by_collection: HashMap<String, Vec<String>>,
}

impl ItemPaths {
    fn new(api: &Api) -> ItemPaths {
        let mut by_collection: HashMap<String, Vec<String>> = HashMap::new();
        for o in &api.operations {
            let path = path_key(&o.path);
            let Some(open) = path.rfind("/{") else {
                continue;
            };
            let Some(rest) = path[open + 2..].strip_suffix('}') else {
                continue;
            };
            if rest.contains(['/', '{', '}']) {
                continue;
            }
            by_collection
                .entry(path[..open].to_string())
                .or_default()
                .push(rest.to_string());
        }
        ItemPaths { by_collection }
    }
}

/// Where a created resource's address is when its item path names it by something other than an
/// id (`/tags/{name}`, `/users/{username}`, `/namespaces/{ns}/pods/{name}`): the field of that
/// name in the answer, at its top or under `metadata` (Kubernetes objects). `None` when the item
/// path takes an id (`/projects/{id}`) or there is none.
fn name_pointer(
    items: &ItemPaths,
    collection: &str,
    resource: &str,
    schema: &Schema,
) -> Option<String> {
    let param = item_param(items, collection, resource)?;
    // A name is text: a field of that name holding an object (a user) is not the address.
    let text = |schema: &Schema| matches!(schema.kind, SchemaKind::String);
    let props = schema.properties()?;
    if props.get(&param).is_some_and(|p| text(p)) {
        return Some(format!("/{}", crate::spec::escape(&param)));
    }
    props
        .get("metadata")?
        .properties()?
        .get(&param)
        .is_some_and(|p| text(p))
        .then(|| format!("/metadata/{}", crate::spec::escape(&param)))
}

/// Body fields that name a user by its username.
const USERNAME_FIELDS: &[&str] = &["username", "login", "userlogin"];

/// Whether `path` is authentication plumbing: the caller's own login, logout, refresh or
/// registration (`POST /auth/login`, `/api/users/tokens/provision/`). A route that takes an
/// identifier (`/users/{name}/tokens/{token_id}`, `/datasets/{pk}/refresh`) is attacked like
/// any other, and so is a collection of tokens or sessions that has an item path
/// (`/api/users/tokens/` beside `/api/users/tokens/{id}/`): those are resources of their owners.
fn is_plumbing(items: &ItemPaths, path: &str) -> bool {
    is_auth_path(path) && !path.contains('{') && !has_item_path(items, path)
}

/// Whether `collection` (`/tags`, `/api/v1/chart/`) has an item path: an operation on
/// `<collection>/{param}` (with or without a trailing slash).
fn has_item_path(items: &ItemPaths, collection: &str) -> bool {
    items.by_collection.contains_key(path_key(collection))
}

/// Where a create's request carries the key its item path addresses the resource by, when that
/// is a name the client chooses (`name` for `/tags/{name}`): the body field of that name, if
/// it is text.
fn request_key(
    items: &ItemPaths,
    collection: &str,
    resource: &str,
    body: &Schema,
) -> Option<String> {
    let param = item_param(items, collection, resource)?;
    body.properties()?
        .get(&param)
        .is_some_and(|p| matches!(p.kind, SchemaKind::String))
        .then(|| format!("/{}", crate::spec::escape(&param)))
}

/// Whether a request schema has a string field that is not an id, enum or formatted value.
fn has_free_text(schema: &Schema, depth: usize) -> bool {
    if depth > 3 {
        return false;
    }
    let Some(props) = schema.properties() else {
        return false;
    };
    props.iter().any(|(name, s)| {
        if s.read_only || resource_of_id_name(name).is_some() {
            return false;
        }
        match &s.kind {
            SchemaKind::String => s.enum_values.is_empty() && s.format.is_none(),
            SchemaKind::Object { .. } => has_free_text(s, depth + 1),
            _ => false,
        }
    })
}

/// Arrays of objects with an id in a list response: (pointer, resource name, id field).
/// Names of the array a list answer wraps its items in (`{"data": [...]}`): what the path
/// names, not a resource of their own.
const LIST_WRAPPERS: [&str; 15] = [
    "items",
    "item",
    "data",
    "results",
    "result",
    "records",
    "content",
    "values",
    "list",
    "entries",
    "rows",
    "hits",
    "objects",
    "elements",
    "resources",
];

fn arrays_with_ids(
    schema: &Schema,
    path: &str,
    named_by: &dyn Fn(&str) -> Option<String>,
) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    // The id of a list item: the text field the item path names items by (`/tags/{name}`),
    // else `id`, or a field named after what the list holds (`warehouse_id`).
    let item_id = |items: &Schema, noun: &str| -> Option<String> {
        let props = items.properties()?;
        named_by(noun)
            .filter(|n| {
                props
                    .get(n)
                    .is_some_and(|p| matches!(p.kind, SchemaKind::String))
            })
            .or_else(|| {
                props
                    .keys()
                    .find(|k| normalize(k) == "id")
                    .or_else(|| props.keys().find(|k| normalize(k) == format!("{noun}id")))
                    .cloned()
            })
    };
    match &schema.kind {
        SchemaKind::Array(items) => {
            if let Some(noun) = last_literal(path).map(singular) {
                if let Some(id) = item_id(items, &noun) {
                    out.push((String::new(), noun, id));
                }
            }
        }
        _ => {
            if let Some(props) = schema.properties() {
                for (name, prop) in props {
                    if let SchemaKind::Array(items) = &prop.kind {
                        let pointer = format!("/{}", crate::spec::escape(name));
                        // A generic wrapper (`items`, `data`, Flask-AppBuilder's `result`)
                        // lists what the path names.
                        let noun = if LIST_WRAPPERS.contains(&normalize(name).as_str()) {
                            last_literal(path).map(singular).unwrap_or_default()
                        } else {
                            singular(name)
                        };
                        if let Some(id) = item_id(items, &noun) {
                            out.push((pointer, noun, id));
                        }
                    }
                }
            }
        }
    }
    out
}

/// Body fields that take a resource id: `projectId`, `project_id`, `documentIds[0]`,
/// `{"project": {"id": ...}}`, each with the resources it may name, most specific first
/// (`to_warehouse_id`: `towarehouse`, then `warehouse`). Read-only fields are not inputs (they
/// are mass-assignment candidates, a separate check).
///
/// A body that is a list of `{id}` objects (n8n's `PUT /workflows/{id}/tags` takes
/// `[{"id": tag}]`) names the resource of the collection its path ends in.
fn body_id_fields(schema: &Schema, path: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    if let SchemaKind::Array(items) = &schema.kind {
        if let Some((id, _)) = items
            .properties()
            .and_then(|p| p.iter().find(|(n, s)| normalize(n) == "id" && !s.read_only))
        {
            if let Some(name) = crate::model::last_literal_singular(path) {
                out.push((format!("/0/{}", crate::spec::escape(id)), vec![name]));
            }
        }
        return out;
    }
    body_id_fields_under(schema, "", 0, &mut out);
    out
}

/// Whether a field's value is an id by its type alone: an integer, a uuid, or one of several
/// shapes of which one is.
fn holds_an_id(schema: &Schema) -> bool {
    match &schema.kind {
        SchemaKind::Integer => true,
        SchemaKind::String => schema.format.as_deref() == Some("uuid"),
        SchemaKind::OneOf(variants) => variants.iter().any(|v| {
            matches!(v.kind, SchemaKind::Integer)
                || (matches!(v.kind, SchemaKind::String) && v.format.as_deref() == Some("uuid"))
        }),
        _ => false,
    }
}

/// The resource a reference field's object variant names by its schema's name
/// (`BriefSiteGroupRequest`, `NestedTenant`, `ProjectRef` -> `sitegroup`, `tenant`, `project`):
/// the name without the wrappers serializers add. `None` without a named object variant, or
/// when the name is generic (`ObjectReference`).
fn referenced_schema_noun(schema: &Schema) -> Option<String> {
    const PREFIXES: &[&str] = &["brief", "nested", "writable", "related"];
    const SUFFIXES: &[&str] = &[
        "request",
        "serializer",
        "input",
        "reference",
        "ref",
        "summary",
        "brief",
        "nested",
    ];
    const GENERIC: &[&str] = &[
        "", "id", "object", "item", "entity", "resource", "link", "model",
    ];
    let SchemaKind::OneOf(variants) = &schema.kind else {
        return None;
    };
    let named = variants
        .iter()
        .find(|v| v.properties().is_some() && v.name.is_some())?;
    let mut noun = normalize(named.name.as_deref()?);
    // Wrappers come in any order and number (`WritableNestedTenantRequest`).
    loop {
        let before = noun.len();
        for p in PREFIXES {
            if let Some(rest) = noun.strip_prefix(p) {
                noun = rest.to_string();
            }
        }
        for x in SUFFIXES {
            if let Some(rest) = noun.strip_suffix(x) {
                noun = rest.to_string();
            }
        }
        if noun.len() == before {
            break;
        }
    }
    let noun = singular(&noun);
    (!GENERIC.contains(&noun.as_str())).then_some(noun)
}

/// [`body_id_fields`] under `prefix`, descending into nested objects that are not references
/// themselves (`{"data": {"workspaceId": ...}}`), two levels at most.
fn body_id_fields_under(
    schema: &Schema,
    prefix: &str,
    depth: usize,
    out: &mut Vec<(String, Vec<String>)>,
) {
    let Some(props) = schema.properties() else {
        return;
    };
    for (name, prop) in props {
        if prop.read_only {
            continue;
        }
        let pointer = format!("{prefix}/{}", crate::spec::escape(name));
        match &prop.kind {
            SchemaKind::String | SchemaKind::Integer | SchemaKind::Any | SchemaKind::OneOf(_) => {
                let mut names = resources_of_id_name(name);
                // A field named after a resource whose value is an id (Django REST framework's
                // `"tenant": 7`, or NetBox's `oneOf: [integer, {brief tenant}]`): that resource,
                // when one by that name is known. When the object it may also take is a named
                // schema (NetBox's site `group`: `BriefSiteGroupRequest`), the schema names the
                // resource: a site's group is no user group.
                // Only a schema name that agrees with the field's (one ends with the other:
                // `group` and `sitegroup`, `installed_device` and `device`): Directus's
                // `user_created` takes a user, and is the server's to set.
                if names.is_empty() && holds_an_id(prop) {
                    let field = singular(name);
                    match referenced_schema_noun(prop) {
                        Some(noun) if noun.ends_with(&field) || field.ends_with(&noun) => {
                            names.push(noun)
                        }
                        _ => names.push(field),
                    }
                }
                if !names.is_empty() {
                    out.push((pointer, names));
                }
            }
            SchemaKind::Array(items)
                if matches!(items.kind, SchemaKind::String | SchemaKind::Integer) =>
            {
                let names = resources_of_id_name(name);
                if !names.is_empty() {
                    out.push((format!("{pointer}/0"), names));
                }
            }
            SchemaKind::Object { properties, .. } => {
                if let Some((id, s)) = properties.iter().find(|(n, _)| normalize(n) == "id") {
                    if !s.read_only {
                        out.push((
                            format!("{pointer}/{}", crate::spec::escape(id)),
                            vec![singular(name)],
                        ));
                    }
                } else if depth < 1 {
                    body_id_fields_under(prop, &pointer, depth + 1, out);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::load_str;

    const SPEC: &str = r#"
openapi: 3.1.0
info: {title: t, version: '1'}
paths:
  /warehouses:
    post:
      requestBody:
        content:
          application/json:
            schema: {type: object, required: [label], properties: {label: {type: string}}}
      responses:
        '201':
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  warehouse_id: {type: string, readOnly: true}
                  label: {type: string}
  /warehouses/{warehouse_id}:
    get:
      parameters:
        - {name: warehouse_id, in: path, required: true, schema: {type: string}}
      responses: {'200': {description: ok}}
  /transfers:
    post:
      parameters:
        - {name: sourceWarehouseId, in: query, required: false, schema: {type: string}}
        - {name: X-Target-Warehouse-Id, in: header, required: false, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [to_warehouse_id]
              properties:
                to_warehouse_id: {type: string}
                courier_id: {type: string}
      responses: {'200': {description: ok}}
"#;

    /// Hints that change nothing are named, with why: ids on an operation that creates nothing,
    /// a link to a resource nothing creates, lists or takes (with the nearest that is one).
    #[test]
    fn hints_the_model_does_not_use_are_named() {
        let spec = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /projects:\n    post: {responses: {'201': {description: ok, content: {application/json: {schema: {type: object, properties: {id: {type: string}}}}}}}}\n    get: {parameters: [{name: owner, in: query, schema: {type: string}}], responses: {'200': {description: ok}}}\n  /projects/{id}:\n    get: {parameters: [{name: id, in: path, required: true, schema: {type: string}}], responses: {'200': {description: ok}}}\n";
        let api = load_str(spec, "t").expect("loads");
        let overrides = Overrides {
            id_pointers: vec![(0, "/data/id".into()), (1, "/id".into())],
            links: vec![
                (0, Slot::Query("owner".into()), "project".into()),
                (0, Slot::Query("owner".into()), "projetc".into()),
            ],
        };
        let m = infer(&api, &[], &overrides);
        let idle = m.idle_hints(&api, &overrides);
        assert_eq!(idle.len(), 2, "{idle:#?}");
        assert_eq!(idle[0].0, "model.ids");
        assert!(
            idle[0].1.contains("'GET /projects' creates nothing"),
            "{}",
            idle[0].1
        );
        assert_eq!(idle[1].0, "model.links.resource");
        assert!(
            idle[1].1.contains("'projetc' is no resource")
                && idle[1].1.contains("did you mean 'project'"),
            "{}",
            idle[1].1
        );
        // The same hints on what they fit change the model and are used.
        // (Operations are in method order: 0 is GET /projects, 1 its POST.)
        let fitting = Overrides {
            id_pointers: vec![(1, "/data/id".into())],
            links: vec![(0, Slot::Query("owner".into()), "project".into())],
        };
        assert!(
            infer(&api, &[], &fitting)
                .idle_hints(&api, &fitting)
                .is_empty()
        );
    }

    /// An action on an item (`/charges/{charge}/capture`) creates no `capture`: it takes the
    /// charge's id. Twilio's `.json` suffixes: `/Calls.json` creates calls, `/Calls/{Sid}.json`
    /// takes their ids.
    #[test]
    fn actions_act_on_their_parent_and_format_suffixes_name_nothing() {
        let answer = "responses: {'200': {description: ok, content: {application/json: {schema: {type: object, properties: {id: {type: string}, sid: {type: string}}}}}}}";
        let spec = format!(
            "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n  /v1/charges:\n    post: {{{answer}}}\n  /v1/charges/{{charge}}:\n    get: {{parameters: [{{name: charge, in: path, required: true, schema: {{type: string}}}}], {answer}}}\n  /v1/charges/{{charge}}/capture:\n    post: {{parameters: [{{name: charge, in: path, required: true, schema: {{type: string}}}}], {answer}}}\n  /2010-04-01/Accounts/{{AccountSid}}/Calls.json:\n    post: {{parameters: [{{name: AccountSid, in: path, required: true, schema: {{type: string}}}}], {answer}}}\n  /2010-04-01/Accounts/{{AccountSid}}/Calls/{{Sid}}.json:\n    get: {{parameters: [{{name: AccountSid, in: path, required: true, schema: {{type: string}}}}, {{name: Sid, in: path, required: true, schema: {{type: string}}}}], {answer}}}\n"
        );
        let api = load_str(&spec, "t").expect("loads");
        let m = infer(&api, &[], &Overrides::default());
        let names: Vec<&str> = m.resources.iter().map(|r| r.name.as_str()).collect();
        assert!(!names.contains(&"capture"), "{names:?}");
        let produced: Vec<String> = m
            .producers
            .iter()
            .map(|p| {
                format!(
                    "{} {}",
                    api.operations[p.op].label(),
                    m.resources[p.resource].name
                )
            })
            .collect();
        assert_eq!(
            produced,
            [
                "POST /v1/charges charge",
                "POST /2010-04-01/Accounts/{AccountSid}/Calls.json call"
            ]
        );
        let taken: Vec<String> = m
            .consumers
            .iter()
            .map(|c| {
                format!(
                    "{} [{}] {}",
                    api.operations[c.op].label(),
                    c.slot.label(),
                    m.resources[c.resource].name
                )
            })
            .collect();
        for expected in [
            "POST /v1/charges/{charge}/capture [path charge] charge",
            "GET /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json [path Sid] call",
        ] {
            assert!(
                taken.iter().any(|t| t == expected),
                "{expected}: {taken:#?}"
            );
        }
    }

    #[test]
    fn plural_segments_and_snake_case_ids_name_one_resource() {
        let api = load_str(SPEC, "t").expect("loads");
        let m = infer(&api, &[], &Overrides::default());
        let names: Vec<&str> = m.resources.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, vec!["warehouse"]);
        let producer = &m.producers[0];
        assert_eq!(producer.id_pointer.as_deref(), Some("/warehouse_id"));
    }

    #[test]
    fn qualified_id_names_reach_known_resources_only() {
        let api = load_str(SPEC, "t").expect("loads");
        let m = infer(&api, &[], &Overrides::default());
        let warehouse = m.resource("warehouse").expect("warehouse");
        let transfers = api.find("POST /transfers").expect("op");
        let mut slots: Vec<(Slot, usize)> = m
            .consumers_of(transfers)
            .map(|c| (c.slot.clone(), c.resource))
            .collect();
        slots.sort();
        assert_eq!(
            slots,
            vec![
                (Slot::Query("sourceWarehouseId".into()), warehouse),
                (Slot::Header("X-Target-Warehouse-Id".into()), warehouse),
                (Slot::Body("/to_warehouse_id".into()), warehouse),
            ]
        );
        // `courier_id` names no known resource and does not invent one.
        assert!(m.resource("courier").is_none());
        assert!(m.resource("towarehouse").is_none());
    }

    // One line per operation: what a creation sends and answers, and what the item paths take.
    const NAMED: &str = r#"
openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /tags:
    post: {requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/Tag'}}}}, responses: {'201': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Tag'}}}}}}
  /tags/{name}:
    get: {parameters: [{name: name, in: path, required: true, schema: {type: string}}], responses: {'200': {description: ok}}}
  /namespaces/{namespace}/configmaps:
    post: {parameters: [{name: namespace, in: path, required: true, schema: {type: string}}], requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/ConfigMap'}}}}, responses: {'201': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/ConfigMap'}}}}}}
  /namespaces/{namespace}/configmaps/{name}:
    get: {parameters: [{name: namespace, in: path, required: true, schema: {type: string}}, {name: name, in: path, required: true, schema: {type: string}}], responses: {'200': {description: ok}}}
  /users:
    post: {requestBody: {content: {application/json: {schema: {type: object, required: [username], properties: {username: {type: string}}}}}}, responses: {'201': {description: ok, content: {application/json: {schema: {type: object, properties: {username: {type: string}, name: {type: string}}}}}}}}
  /users/{username}:
    get: {parameters: [{name: username, in: path, required: true, schema: {type: string}}], responses: {'200': {description: ok}}}
  /labels:
    get: {responses: {'200': {description: ok, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/Label'}}}}}}}
    post: {responses: {'201': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Label'}}}}}}
  /labels/{name}:
    get: {parameters: [{name: name, in: path, required: true, schema: {type: string}}], responses: {'200': {description: ok}}}
  /projects:
    get: {parameters: [{name: name, in: query, required: false, schema: {type: string}}], responses: {'200': {description: ok}}}
    post: {responses: {'201': {description: ok, content: {application/json: {schema: {type: object, properties: {name: {type: string}, id: {type: string}}}}}}}}
  /projects/{id}:
    get: {parameters: [{name: id, in: path, required: true, schema: {type: string}}], responses: {'200': {description: ok}}}
components:
  schemas:
    Tag: {type: object, required: [name], properties: {name: {type: string}, color: {type: string}}}
    ConfigMap: {type: object, properties: {metadata: {type: object, properties: {name: {type: string}, namespace: {type: string}}}, data: {type: object}}}
    Label: {type: object, properties: {id: {type: integer}, name: {type: string}}}
"#;

    #[test]
    fn only_the_callers_own_login_and_registration_are_plumbing() {
        let ok = "responses: {'200': {description: ok}}";
        let spec = format!(
            "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n  /auth/login:\n    post: {{{ok}}}\n  /api/users/tokens/provision/:\n    post: {{{ok}}}\n  /api/users/tokens/:\n    get: {{{ok}}}\n    post: {{{ok}}}\n  /api/users/tokens/{{id}}/:\n    get: {{parameters: [{{name: id, in: path, required: true, schema: {{type: integer}}}}], {ok}}}\n  /users/{{name}}/tokens:\n    get: {{parameters: [{{name: name, in: path, required: true, schema: {{type: string}}}}], {ok}}}\n  /datasets/{{pk}}/refresh:\n    put: {{parameters: [{{name: pk, in: path, required: true, schema: {{type: integer}}}}], {ok}}}\n"
        );
        let api = load_str(&spec, "t").expect("loads");
        let m = infer(&api, &[], &Overrides::default());
        let skipped: Vec<String> = (0..api.operations.len())
            .filter(|i| m.is_skipped(*i))
            .map(|i| api.operations[i].label())
            .collect();
        assert_eq!(
            skipped,
            ["POST /auth/login", "POST /api/users/tokens/provision/"]
        );
    }

    /// Creates whose answer schema declares no id: a document store's free-form `{data}`, an
    /// empty 201 for a resource addressed by the name the request chose, and a POST to a
    /// collection without an item path (an action), which creates nothing that can be read.
    const UNDECLARED: &str = r#"
openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /buckets:
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                data: {type: object, additionalProperties: {}}
      responses:
        '201':
          description: created
          content:
            application/json:
              schema:
                type: object
                properties:
                  data: {type: object, additionalProperties: {}}
  /buckets/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {'200': {description: ok}}
  /queues/:
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                name: {type: string}
      responses: {'201': {description: created, no body}}
  /queues/{name}/:
    delete:
      parameters: [{name: name, in: path, required: true, schema: {type: string}}]
      responses: {'204': {description: deleted}}
  /search:
    post:
      requestBody:
        content:
          application/json:
            schema: {type: object, properties: {q: {type: string}}}
      responses: {'200': {description: results}}
"#;

    #[test]
    fn a_create_whose_answer_declares_no_id_produces_when_its_collection_has_an_item_path() {
        let api = load_str(UNDECLARED, "t").expect("loads");
        let m = infer(&api, &[], &Overrides::default());
        let producer = |name: &str| {
            let r = m.resource(name)?;
            m.producers.iter().find(|p| p.resource == r)
        };
        let bucket = producer("bucket").expect("POST /buckets creates buckets");
        assert_eq!(
            (bucket.id_pointer.as_deref(), bucket.request_key.as_deref()),
            (None, None)
        );
        let queue = producer("queue").expect("POST /queues/ creates queues");
        assert_eq!(queue.request_key.as_deref(), Some("/name"));
        assert!(producer("search").is_none(), "{:?}", m.producers);
    }

    #[test]
    fn resources_addressed_by_name_are_produced_and_consumed_by_it() {
        let api = load_str(NAMED, "t").expect("loads");
        let m = infer(&api, &[], &Overrides::default());
        let op = |method: Method, path: &str| {
            api.operations
                .iter()
                .position(|o| o.method == method && o.path == path)
                .expect("operation")
        };
        let pointer = |name: &str| {
            let r = m.resource(name).expect(name);
            m.producers
                .iter()
                .find(|p| p.resource == r)
                .and_then(|p| p.id_pointer.clone())
        };
        // The field the item path names, at the top or under `metadata`; where the item path
        // takes an id, the `id`, not a `name` that is only a label.
        assert_eq!(pointer("tag").as_deref(), Some("/name"));
        assert_eq!(pointer("configmap").as_deref(), Some("/metadata/name"));
        assert_eq!(pointer("user").as_deref(), Some("/username"));
        assert_eq!(pointer("project").as_deref(), Some("/id"));
        // Addressed by its name though it has an id too (GitHub's labels): the name.
        assert_eq!(pointer("label").as_deref(), Some("/name"));
        // And its list shows each label's name, not its id, as what the caller has.
        let label = m.resource("label").expect("label");
        let listed = m.discoveries.iter().find(|d| d.resource == label);
        assert_eq!(listed.map(|d| d.id_field.as_str()), Some("name"));
        let slot_of = |op: usize, resource: &str| {
            let r = m.resource(resource).expect(resource);
            m.consumers_of(op)
                .find(|c| c.resource == r)
                .map(|c| c.slot.clone())
        };
        assert_eq!(
            slot_of(op(Method::Get, "/tags/{name}"), "tag"),
            Some(Slot::Path("name".into()))
        );
        assert_eq!(
            slot_of(
                op(Method::Get, "/namespaces/{namespace}/configmaps/{name}"),
                "configmap"
            ),
            Some(Slot::Path("name".into()))
        );
        assert_eq!(
            slot_of(op(Method::Get, "/users/{username}"), "user"),
            Some(Slot::Path("username".into()))
        );
        // A `name` in a query is a filter, not an address.
        assert!(
            m.consumers_of(op(Method::Get, "/projects"))
                .next()
                .is_none()
        );
    }

    #[test]
    fn a_reference_field_takes_the_resource_its_object_schema_names() {
        // NetBox: a site's `group` is a site group (`BriefSiteGroupRequest`), not one of the
        // user groups `/users/groups/` makes; its `tenant` is a tenant.
        let spec = r##"
openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /users/groups/:
    post:
      requestBody: {content: {application/json: {schema: {type: object, properties: {name: {type: string}}}}}}
      responses: {'201': {description: ok, content: {application/json: {schema: {type: object, properties: {id: {type: integer}}}}}}}
  /dcim/site-groups/:
    post:
      requestBody: {content: {application/json: {schema: {type: object, properties: {name: {type: string}}}}}}
      responses: {'201': {description: ok, content: {application/json: {schema: {type: object, properties: {id: {type: integer}}}}}}}
  /tenants/:
    post:
      requestBody: {content: {application/json: {schema: {type: object, properties: {name: {type: string}}}}}}
      responses: {'201': {description: ok, content: {application/json: {schema: {type: object, properties: {id: {type: integer}}}}}}}
  /dcim/sites/:
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties:
                name: {type: string}
                group: {oneOf: [{type: integer}, {allOf: [{$ref: '#/components/schemas/BriefSiteGroupRequest'}], nullable: true}], nullable: true}
                tenant: {oneOf: [{type: integer}, {allOf: [{$ref: '#/components/schemas/BriefTenantRequest'}], nullable: true}], nullable: true}
                owner: {oneOf: [{type: integer}, {$ref: '#/components/schemas/ObjectReference'}]}
                user_created: {oneOf: [{type: integer}, {$ref: '#/components/schemas/BriefTenantRequest'}]}
      responses: {'201': {description: ok, content: {application/json: {schema: {type: object, properties: {id: {type: integer}}}}}}}
components:
  schemas:
    BriefSiteGroupRequest: {type: object, required: [name], properties: {name: {type: string}, slug: {type: string}}}
    BriefTenantRequest: {type: object, required: [name], properties: {name: {type: string}}}
    ObjectReference: {type: object, properties: {name: {type: string}}}
"##;
        let api = load_str(spec, "t").expect("loads");
        let m = infer(&api, &[], &Overrides::default());
        let sites = api.find("POST /dcim/sites/").expect("op");
        let taken: Vec<(Slot, &str)> = m
            .consumers_of(sites)
            .map(|c| (c.slot.clone(), m.resources[c.resource].name.as_str()))
            .collect();
        assert!(
            taken.contains(&(Slot::Body("/group".into()), "sitegroup")),
            "{taken:?}"
        );
        assert!(
            taken.contains(&(Slot::Body("/tenant".into()), "tenant")),
            "{taken:?}"
        );
        assert!(!taken.iter().any(|(_, r)| *r == "group"), "{taken:?}");
        // A generic reference schema says nothing: the field's own name stands (no `owner`
        // resource here, so none).
        assert!(
            !taken.iter().any(|(s, _)| *s == Slot::Body("/owner".into())),
            "{taken:?}"
        );
        // A schema that does not agree with the field's name (an audit field the server sets,
        // `user_created`) does not make it a reference to fill.
        assert!(
            !taken
                .iter()
                .any(|(s, _)| *s == Slot::Body("/user_created".into())),
            "{taken:?}"
        );
    }
}
