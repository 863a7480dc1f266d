//! Identities: the credentials each one sends (headers, query parameters, cookies, HTTP basic,
//! a CSRF header on writes), the login and registration flows that obtain them, and the
//! positive controls that prove a session works and belongs to its own account.
//!
//! Everything here is plain data and synchronous logic: templates, extraction from responses,
//! choosing a control operation. Sending the flows' requests is the executor's job
//! (`exec::session`); parsing them out of the config file is `config`'s.

mod auth;
mod credential;
mod health;
pub(crate) mod jwt;
mod login;

pub use auth::IdentityAuth;
pub use credential::Credentials;
pub use health::{infer_control, infer_controls, same_account};
pub use login::{
    Extract, FlowBody, FlowRequest, FlowResponse, LoginError, LoginFlow, Prepared, Vars,
    already_exists, has_template,
};
