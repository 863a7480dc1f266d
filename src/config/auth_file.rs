//! Multi-user auth files in the Web Fuzzing Commons format (the `auth.yaml` schema EvoMaster and
//! Schemathesis read): each entry of `auth` becomes an identity with fixed headers and/or a
//! login flow; `authTemplate` fills what an entry leaves out (its login completes an entry's own
//! login, or serves an entry with neither login nor fixed headers). Values may use
//! `${env:NAME}` and `${file:PATH}` like the rest of the config.

use std::path::Path;

use serde::Deserialize;

use super::interpolate::interpolate;
use crate::identity::{Credentials, Extract, FlowBody, FlowRequest, IdentityAuth, LoginFlow};
use crate::secret::Secret;
use crate::spec::Method;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WfcFile {
    #[serde(default)]
    auth: Vec<WfcUser>,
    auth_template: Option<WfcUser>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WfcUser {
    name: Option<String>,
    fixed_headers: Option<Vec<WfcHeader>>,
    login_endpoint_auth: Option<WfcLogin>,
}

#[derive(Debug, Clone, Deserialize)]
struct WfcHeader {
    name: String,
    value: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WfcLogin {
    endpoint: Option<String>,
    #[serde(rename = "externalEndpointURL")]
    external_endpoint_url: Option<String>,
    payload_raw: Option<String>,
    payload_user_pwd: Option<WfcUserPwd>,
    headers: Option<Vec<WfcHeader>>,
    verb: Option<String>,
    content_type: Option<String>,
    token: Option<WfcToken>,
    expect_cookies: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WfcUserPwd {
    username: String,
    password: String,
    username_field: String,
    password_field: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WfcToken {
    extract_from_field: Option<String>,
    http_header_name: Option<String>,
    header_prefix: Option<String>,
}

fn merge_login(user: Option<WfcLogin>, template: Option<&WfcLogin>) -> Option<WfcLogin> {
    let Some(t) = template else { return user };
    let u = user.unwrap_or_default();
    Some(WfcLogin {
        endpoint: u.endpoint.or_else(|| t.endpoint.clone()),
        external_endpoint_url: u
            .external_endpoint_url
            .or_else(|| t.external_endpoint_url.clone()),
        payload_raw: u.payload_raw.or_else(|| t.payload_raw.clone()),
        payload_user_pwd: u.payload_user_pwd.or_else(|| t.payload_user_pwd.clone()),
        headers: u.headers.or_else(|| t.headers.clone()),
        verb: u.verb.or_else(|| t.verb.clone()),
        content_type: u.content_type.or_else(|| t.content_type.clone()),
        token: match (u.token, &t.token) {
            (Some(a), Some(b)) => Some(WfcToken {
                extract_from_field: a
                    .extract_from_field
                    .or_else(|| b.extract_from_field.clone()),
                http_header_name: a.http_header_name.or_else(|| b.http_header_name.clone()),
                header_prefix: a.header_prefix.or_else(|| b.header_prefix.clone()),
            }),
            (a, b) => a.or_else(|| b.clone()),
        },
        expect_cookies: u.expect_cookies.or(t.expect_cookies),
    })
}

/// One identity read from a WFC file: its name, static headers and auth.
pub(crate) struct WfcIdentity {
    pub name: String,
    pub headers: Vec<(String, Secret)>,
    pub auth: IdentityAuth,
}

/// Reads a WFC auth file; `Err` is a message naming the entry.
pub(crate) fn load(
    path: &Path,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<WfcIdentity>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("failed to read '{}': {e}", path.display()))?;
    let file: WfcFile = yaml_serde::from_str(&text).map_err(|e| {
        format!(
            "'{}' is not a Web Fuzzing Commons auth file: {e}",
            path.display()
        )
    })?;
    let template = file.auth_template.unwrap_or_default();
    let mut out = Vec::new();
    for (n, user) in file.auth.into_iter().enumerate() {
        let name = user
            .name
            .clone()
            .ok_or_else(|| format!("auth[{n}]: 'name' is required"))?;
        let at = |what: &str| format!("auth[{n}] ({name}): {what}");
        let value = |text: &str, what: &str| {
            interpolate(text, base, env)
                .map(Secret::new)
                .map_err(|m| at(&format!("{what}: {m}")))
        };
        let mut headers = Vec::new();
        for h in user
            .fixed_headers
            .clone()
            .or_else(|| template.fixed_headers.clone())
            .unwrap_or_default()
        {
            headers.push((
                h.name.clone(),
                value(&h.value, &format!("fixedHeaders {}", h.name))?,
            ));
        }
        // The template's login completes an entry's own login, or gives one to an entry that
        // has neither a login nor fixed headers; an entry with fixed headers only is static.
        let inherits = user.login_endpoint_auth.is_some() || user.fixed_headers.is_none();
        let template_login = template.login_endpoint_auth.as_ref().filter(|_| inherits);
        let login = match merge_login(user.login_endpoint_auth, template_login) {
            None => None,
            Some(l) => {
                if l.external_endpoint_url.is_some() {
                    return Err(at(
                        "externalEndpointURL is not supported: requests never leave base_url",
                    ));
                }
                let endpoint = l
                    .endpoint
                    .clone()
                    .ok_or_else(|| at("loginEndpointAuth.endpoint is required"))?;
                let verb = l.verb.clone().unwrap_or_else(|| "POST".into());
                let method = Method::parse(&verb)
                    .ok_or_else(|| at(&format!("'{verb}' is not an HTTP verb")))?;
                let content_type = l
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "application/json".into());
                let form = content_type.contains("x-www-form-urlencoded");
                let body = match (&l.payload_raw, &l.payload_user_pwd) {
                    (Some(raw), _) => Some(FlowBody::Raw {
                        content_type: content_type.clone(),
                        text: value(raw, "payloadRaw")?,
                    }),
                    (None, Some(p)) if form => Some(FlowBody::Form(vec![
                        (p.username_field.clone(), value(&p.username, "username")?),
                        (p.password_field.clone(), value(&p.password, "password")?),
                    ])),
                    (None, Some(p)) => {
                        let mut map = serde_json::Map::new();
                        map.insert(
                            p.username_field.clone(),
                            value(&p.username, "username")?.expose().into(),
                        );
                        map.insert(
                            p.password_field.clone(),
                            value(&p.password, "password")?.expose().into(),
                        );
                        Some(FlowBody::Json(Secret::new(
                            serde_json::Value::Object(map).to_string(),
                        )))
                    }
                    (None, None) => None,
                };
                let mut login_headers = Vec::new();
                for h in l.headers.clone().unwrap_or_default() {
                    login_headers.push((
                        h.name.clone(),
                        value(&h.value, &format!("headers {}", h.name))?,
                    ));
                }
                let mut extract = Vec::new();
                let mut apply = Credentials::default();
                if let Some(token) = &l.token {
                    let field = token
                        .extract_from_field
                        .clone()
                        .ok_or_else(|| at("token.extractFromField is required"))?;
                    extract.push(("token".to_string(), Extract::Json(field)));
                    let header = token
                        .http_header_name
                        .clone()
                        .unwrap_or_else(|| "Authorization".into());
                    let prefix = token.header_prefix.clone().unwrap_or_default();
                    apply
                        .headers
                        .push((header, Secret::new(format!("{prefix}{{token}}"))));
                }
                let keep_cookies = l.expect_cookies.unwrap_or(false);
                if apply.is_empty() && !keep_cookies {
                    return Err(at(
                        "loginEndpointAuth needs 'token' or 'expectCookies: true'",
                    ));
                }
                Some(LoginFlow {
                    vars: Vec::new(),
                    templated: Vec::new(),
                    register: Vec::new(),
                    requests: vec![FlowRequest {
                        method,
                        path: endpoint,
                        headers: login_headers,
                        body,
                        extract,
                    }],
                    apply,
                    keep_cookies,
                })
            }
        };
        out.push(WfcIdentity {
            name,
            headers,
            auth: IdentityAuth {
                credentials: Credentials::default(),
                login,
                health: None,
            },
        });
    }
    if out.is_empty() {
        return Err(format!("'{}' lists no user under 'auth'", path.display()));
    }
    Ok(out)
}
