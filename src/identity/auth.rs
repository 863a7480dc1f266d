//! How one identity authenticates: its static credentials, its login flow, and its positive
//! control. The one type that holds both a credential and a flow, so that neither of those
//! files needs the other's.

use super::credential::Credentials;
use super::login::LoginFlow;

/// How an identity authenticates beyond its static headers: query parameters, cookies, HTTP
/// basic, a login flow, and the operation that proves its session works.
#[derive(Debug, Clone, Default)]
pub struct IdentityAuth {
    /// Static query parameters, cookies and basic credentials (headers live beside, in
    /// `IdentitySettings::headers`).
    pub credentials: Credentials,
    /// Obtains (and renews) credentials by sending requests.
    pub login: Option<LoginFlow>,
    /// The positive control: an operation (`GET /me` or an operationId) the identity must be
    /// able to call. Without it one is inferred from the spec.
    pub health: Option<String>,
}
