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

/// How the token is taken from the login's answer and sent afterwards. The current format
/// (`extractFrom` + `extractSelector`, `sendIn` + `sendName` + `sendTemplate`, as Schemathesis
/// reads it) and the older keys (`extractFromField`, `extractFromHeader`, `httpHeaderName`,
/// `headerPrefix`, `headerPostfix`) are both read; the current ones win.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WfcToken {
    /// `body` or `header`.
    extract_from: Option<String>,
    /// A JSON pointer into the body, or the header's name.
    extract_selector: Option<String>,
    /// `header` or `query`.
    send_in: Option<String>,
    send_name: Option<String>,
    /// `Bearer {token}`; `{token}` when absent.
    send_template: Option<String>,
    extract_from_field: Option<String>,
    extract_from_header: Option<String>,
    http_header_name: Option<String>,
    header_prefix: Option<String>,
    header_postfix: Option<String>,
}

impl WfcToken {
    /// Each key from `self`, or else from the template's `other`.
    fn or(self, other: &WfcToken) -> WfcToken {
        let o = other.clone();
        WfcToken {
            extract_from: self.extract_from.or(o.extract_from),
            extract_selector: self.extract_selector.or(o.extract_selector),
            send_in: self.send_in.or(o.send_in),
            send_name: self.send_name.or(o.send_name),
            send_template: self.send_template.or(o.send_template),
            extract_from_field: self.extract_from_field.or(o.extract_from_field),
            extract_from_header: self.extract_from_header.or(o.extract_from_header),
            http_header_name: self.http_header_name.or(o.http_header_name),
            header_prefix: self.header_prefix.or(o.header_prefix),
            header_postfix: self.header_postfix.or(o.header_postfix),
        }
    }

    /// Where the token comes from; `Err` names the key that is missing or wrong.
    fn extract(&self) -> Result<Extract, String> {
        let pointer = |p: &str| {
            if p.starts_with('/') || p.starts_with('$') {
                p.to_string()
            } else {
                format!("/{p}")
            }
        };
        match (self.extract_from.as_deref(), &self.extract_selector) {
            (Some("body"), Some(sel)) => Ok(Extract::Json(pointer(sel))),
            (Some("header"), Some(sel)) => Ok(Extract::Header(sel.clone())),
            (Some(other @ ("body" | "header")), None) => Err(format!(
                "token.extractSelector is required with extractFrom: {other}"
            )),
            (Some(other), _) => Err(format!(
                "token.extractFrom is '{other}': use 'body' or 'header'"
            )),
            (None, _) => match (&self.extract_from_field, &self.extract_from_header) {
                (Some(field), _) => Ok(Extract::Json(pointer(field))),
                (None, Some(header)) => Ok(Extract::Header(header.clone())),
                (None, None) => Err(
                    "token needs extractFrom and extractSelector (or the older extractFromField)"
                        .into(),
                ),
            },
        }
    }

    /// What every request then carries, with `{token}` in it.
    fn apply(&self) -> Result<Credentials, String> {
        let mut apply = Credentials::default();
        let value = match &self.send_template {
            Some(t) => t.clone(),
            None => format!(
                "{}{{token}}{}",
                self.header_prefix.as_deref().unwrap_or_default(),
                self.header_postfix.as_deref().unwrap_or_default()
            ),
        };
        if !value.contains("{token}") {
            return Err("token.sendTemplate must contain {token}".into());
        }
        let name = self
            .send_name
            .clone()
            .or_else(|| self.http_header_name.clone());
        match self.send_in.as_deref() {
            None | Some("header") => apply.headers.push((
                name.unwrap_or_else(|| "Authorization".into()),
                Secret::new(value),
            )),
            Some("query") => {
                let name = name.ok_or("token.sendName is required with sendIn: query")?;
                apply.query.push((name, Secret::new(value)));
            }
            Some(other) => {
                return Err(format!(
                    "token.sendIn is '{other}': use 'header' or 'query'"
                ));
            }
        }
        Ok(apply)
    }
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
            (Some(a), Some(b)) => Some(a.or(b)),
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
    parse(&text, &path.display().to_string(), base, env)
}

/// Reads the text of a WFC auth file named `name` (for messages).
fn parse(
    text: &str,
    name: &str,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<WfcIdentity>, String> {
    let file: WfcFile = yaml_serde::from_str(text)
        .map_err(|e| format!("'{name}' is not a Web Fuzzing Commons auth file: {e}"))?;
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
                    extract.push(("token".to_string(), token.extract().map_err(|m| at(&m))?));
                    apply = token.apply().map_err(|m| at(&m))?;
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
        return Err(format!("'{name}' lists no user under 'auth'"));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<WfcIdentity>, String> {
        parse(text, "auth.yaml", Path::new("/cfg"), &|name| {
            (name == "PW").then(|| "pw-secret".to_string())
        })
    }

    fn flow(user: &WfcIdentity) -> &LoginFlow {
        user.auth.login.as_ref().unwrap()
    }

    type Pairs = Vec<(String, String)>;

    fn applied(flow: &LoginFlow) -> (Pairs, Pairs) {
        let text = |list: &[(String, Secret)]| {
            list.iter()
                .map(|(k, v)| (k.clone(), v.expose().to_string()))
                .collect::<Vec<_>>()
        };
        (text(&flow.apply.headers), text(&flow.apply.query))
    }

    const LOGIN: &str = r#"
    loginEndpointAuth:
      endpoint: /login
      verb: POST
      payloadUserPwd: { username: u, usernameField: user, password: "${env:PW}", passwordField: pw }
"#;

    #[test]
    fn the_current_token_handling_is_read() {
        let users = read(&format!(
            r#"auth:
  - name: body-header{LOGIN}      token:
        extractFrom: body
        extractSelector: /data/jwt
        sendIn: header
        sendName: Authorization
        sendTemplate: "JWT {{token}}"
  - name: header-query{LOGIN}      token:
        extractFrom: header
        extractSelector: X-Auth-Token
        sendIn: query
        sendName: access_token
"#
        ))
        .unwrap();
        let first = flow(&users[0]);
        assert_eq!(
            first.requests[0].extract,
            [("token".to_string(), Extract::Json("/data/jwt".into()))]
        );
        assert_eq!(
            applied(first).0,
            [("Authorization".to_string(), "JWT {token}".to_string())]
        );
        let second = flow(&users[1]);
        assert_eq!(
            second.requests[0].extract,
            [("token".to_string(), Extract::Header("X-Auth-Token".into()))]
        );
        assert_eq!(
            applied(second),
            (
                Vec::new(),
                vec![("access_token".to_string(), "{token}".to_string())]
            )
        );
    }

    #[test]
    fn the_older_keys_and_a_template_still_work() {
        let users = read(
            r#"authTemplate:
  loginEndpointAuth:
    endpoint: /login
    token: { extractFromField: /token, httpHeaderName: X-Token, headerPrefix: "Bearer " }
auth:
  - name: old
    loginEndpointAuth:
      payloadRaw: '{"user": "u"}'
  - name: mixed
    loginEndpointAuth:
      token: { extractFrom: body, extractSelector: access }
"#,
        )
        .unwrap();
        let old = flow(&users[0]);
        assert_eq!(
            old.requests[0].extract,
            [("token".to_string(), Extract::Json("/token".into()))]
        );
        assert_eq!(
            applied(old).0,
            [("X-Token".to_string(), "Bearer {token}".to_string())]
        );
        // The entry's current keys win over the template's older ones; a selector without a
        // slash is a pointer all the same.
        let mixed = flow(&users[1]);
        assert_eq!(
            mixed.requests[0].extract,
            [("token".to_string(), Extract::Json("/access".into()))]
        );
        assert_eq!(
            applied(mixed).0,
            [("X-Token".to_string(), "Bearer {token}".to_string())]
        );
    }

    #[test]
    fn wrong_token_handling_names_the_entry_and_key() {
        let cases = [
            (
                "{ extractFrom: cookie, extractSelector: s }",
                "extractFrom is 'cookie'",
            ),
            ("{ extractFrom: body }", "extractSelector is required"),
            ("{ sendIn: header }", "token needs extractFrom"),
            (
                "{ extractFrom: body, extractSelector: /t, sendIn: query }",
                "sendName is required",
            ),
            (
                "{ extractFrom: body, extractSelector: /t, sendTemplate: Bearer }",
                "must contain {token}",
            ),
        ];
        for (token, words) in cases {
            let err = read(&format!("auth:\n  - name: a{LOGIN}      token: {token}\n"))
                .err()
                .unwrap();
            assert!(err.contains("auth[0] (a)") && err.contains(words), "{err}");
            assert!(!err.contains("pw-secret"), "{err}");
        }
    }
}
