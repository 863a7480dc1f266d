//! The resource model: producers, consumers, id slots (path, query, header, body), parent/child
//! relations and discovery lists, inferred from the API model (naming, schemas, OpenAPI links)
//! with config overrides. Knows nothing of identities or requests.

mod infer;
mod naming;
mod policy;
mod selves;

pub(crate) use infer::is_required;
pub use infer::{Consumer, Discovery, Overrides, Producer, Resource, ResourceModel, Slot, infer};
pub(crate) use naming::{
    is_generic_id, is_privileged_field, normalize, resource_of_id_name, resources_of_id_name,
    same_field, singular, words,
};
pub use policy::{Decision, OpPolicy, Policy, PolicyError, is_free_plan};
pub use selves::SelfSource;

/// The singular of a path's last literal segment (`/attachments` -> `attachment`).
pub(crate) fn last_literal_singular(path: &str) -> Option<String> {
    naming::last_literal(path).map(naming::singular)
}
