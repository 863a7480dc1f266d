//! Small in-process test APIs whose tenants authenticate with an `X-Api-Key`: the two tenants'
//! keys, the tenant a request's key names, and the campaign settings that use them.
#![allow(dead_code)]

use std::path::Path;

use axum::http::{HeaderMap, StatusCode};
use tenantfuzz::config::{IdentitySettings, Secret, Settings};

/// (identity, tenant, key) of the two tenants.
pub const KEYS: &[(&str, &str, &str)] = &[
    ("alice", "north", "key-alice-1"),
    ("bob", "south", "key-bob-2"),
];

/// The tenant whose key the request carries; 401 without a known one.
pub fn tenant(headers: &HeaderMap) -> Result<String, StatusCode> {
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .ok_or(StatusCode::UNAUTHORIZED)?;
    KEYS.iter()
        .find(|(_, _, k)| *k == key)
        .map(|(_, t, _)| t.to_string())
        .ok_or(StatusCode::UNAUTHORIZED)
}

/// The planning defaults (no overrides, links, webhooks or reports) for `spec`, with the server
/// at `base` and an identity per key.
pub fn settings(base: String, spec: &str) -> Settings {
    Settings {
        base_url: base,
        identities: KEYS
            .iter()
            .map(|(name, tenant, key)| IdentitySettings {
                name: name.to_string(),
                tenant: tenant.to_string(),
                headers: vec![("X-Api-Key".to_string(), Secret::new(*key))],
                ..IdentitySettings::default()
            })
            .collect(),
        ..Settings::for_planning(Path::new(spec))
    }
}

/// Serves `router` on 127.0.0.1 and runs the campaign of `spec` (named `name`) against it
/// with the two keyed tenants; the server stops when the campaign ends.
pub async fn campaign(
    router: axum::Router,
    spec: &str,
    name: &str,
) -> tenantfuzz::outcome::CampaignResult {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let api = tenantfuzz::spec::load_str(spec, name).unwrap();
    let result = tenantfuzz::campaign::Campaign::with_api(settings(base, name), api)
        .unwrap()
        .run()
        .await
        .unwrap();
    server.abort();
    result
}
