//! An identity's credentials and login flow, from the config file's raw tables into
//! [`IdentityAuth`]. Every value is interpolated (`${env:NAME}`, `${file:PATH}`) here and held
//! as a [`Secret`]; `{name}` templates are left for the login flow to fill.

use std::collections::BTreeMap;
use std::path::Path;

use super::interpolate::{Env, interpolate, interpolate_json};
use super::raw::{RawApply, RawBasic, RawIdentity, RawLogin, RawRequest};
use crate::identity::{Credentials, Extract, FlowBody, FlowRequest, IdentityAuth, LoginFlow};
use crate::secret::Secret;
use crate::spec::Method;

/// `Err((key, message))` names the offending key below `identities.NAME`.
pub(crate) type KeyError = (String, String);

fn secrets(
    map: &BTreeMap<String, String>,
    key: &str,
    base: &Path,
    env: Env,
) -> Result<Vec<(String, Secret)>, KeyError> {
    map.iter()
        .map(|(k, v)| {
            interpolate(v, base, env)
                .map(|value| (k.clone(), Secret::new(value)))
                .map_err(|m| (format!("{key}.{k}"), m))
        })
        .collect()
}

fn basic(
    raw: &Option<RawBasic>,
    key: &str,
    base: &Path,
    env: Env,
) -> Result<Option<(Secret, Secret)>, KeyError> {
    let Some(b) = raw else { return Ok(None) };
    let user = interpolate(&b.username, base, env).map_err(|m| (format!("{key}.username"), m))?;
    let password =
        interpolate(&b.password, base, env).map_err(|m| (format!("{key}.password"), m))?;
    Ok(Some((Secret::new(user), Secret::new(password))))
}

/// Reads an identity's `query`, `cookies`, `basic`, `login` and `health`.
pub(crate) fn auth(raw: &RawIdentity, base: &Path, env: Env) -> Result<IdentityAuth, KeyError> {
    let credentials = Credentials {
        headers: Vec::new(),
        query: secrets(&raw.query, "query", base, env)?,
        cookies: secrets(&raw.cookies, "cookies", base, env)?,
        basic: basic(&raw.basic, "basic", base, env)?,
        csrf: None,
    };
    let login = match &raw.login {
        Some(l) => Some(login(l, base, env)?),
        None => None,
    };
    Ok(IdentityAuth {
        credentials,
        login,
        health: raw.health.clone(),
    })
}

fn apply(raw: &RawApply, base: &Path, env: Env) -> Result<Credentials, KeyError> {
    let csrf = match &raw.csrf {
        Some(c) => Some((
            c.header.clone(),
            Secret::new(
                interpolate(&c.value, base, env)
                    .map_err(|m| ("login.apply.csrf.value".to_string(), m))?,
            ),
        )),
        None => None,
    };
    Ok(Credentials {
        headers: secrets(&raw.headers, "login.apply.headers", base, env)?,
        query: secrets(&raw.query, "login.apply.query", base, env)?,
        cookies: secrets(&raw.cookies, "login.apply.cookies", base, env)?,
        basic: basic(&raw.basic, "login.apply.basic", base, env)?,
        csrf,
    })
}

fn toml_to_json(v: &toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        toml::Value::String(s) => J::String(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(items) => J::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => J::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

fn request(raw: &RawRequest, key: &str, base: &Path, env: Env) -> Result<FlowRequest, KeyError> {
    let method_text = raw.method.as_deref().unwrap_or("POST");
    let method = Method::parse(method_text).ok_or_else(|| {
        (
            format!("{key}.method"),
            format!("'{method_text}' is not an HTTP method"),
        )
    })?;
    let bodies = [raw.json.is_some(), raw.form.is_some(), raw.body.is_some()];
    if bodies.iter().filter(|b| **b).count() > 1 {
        return Err((
            key.to_string(),
            "give at most one of 'json', 'form' and 'body'".into(),
        ));
    }
    let body = if let Some(json) = &raw.json {
        let mut value = match json {
            toml::Value::String(text) => serde_json::from_str(text)
                .map_err(|e| (format!("{key}.json"), format!("not valid JSON: {e}")))?,
            other => toml_to_json(other),
        };
        interpolate_json(&mut value, base, env).map_err(|m| (format!("{key}.json"), m))?;
        Some(FlowBody::Json(Secret::new(value.to_string())))
    } else if let Some(form) = &raw.form {
        Some(FlowBody::Form(secrets(
            form,
            &format!("{key}.form"),
            base,
            env,
        )?))
    } else if let Some(text) = &raw.body {
        let text = interpolate(text, base, env).map_err(|m| (format!("{key}.body"), m))?;
        Some(FlowBody::Raw {
            content_type: raw
                .content_type
                .clone()
                .unwrap_or_else(|| "text/plain".into()),
            text: Secret::new(text),
        })
    } else {
        None
    };
    let mut extract = Vec::new();
    for (name, e) in &raw.extract {
        let k = format!("{key}.extract.{name}");
        let from = match (&e.json, &e.header, &e.cookie) {
            (Some(path), None, None) => Extract::Json(path.clone()),
            (None, Some(header), None) => Extract::Header(header.clone()),
            (None, None, Some(cookie)) => Extract::Cookie(cookie.clone()),
            _ => {
                return Err((
                    k,
                    "give exactly one of 'json', 'header' and 'cookie'".into(),
                ));
            }
        };
        extract.push((name.clone(), from));
    }
    Ok(FlowRequest {
        method,
        path: raw.path.clone(),
        headers: secrets(&raw.headers, &format!("{key}.headers"), base, env)?,
        body,
        extract,
    })
}

fn login(raw: &RawLogin, base: &Path, env: Env) -> Result<LoginFlow, KeyError> {
    if raw.requests.is_empty() {
        return Err((
            "login.requests".into(),
            "a login flow needs at least one request ([[identities.NAME.login.requests]])".into(),
        ));
    }
    let mut register = Vec::new();
    for (n, r) in raw.register.iter().enumerate() {
        register.push(request(r, &format!("login.register[{n}]"), base, env)?);
    }
    let mut requests = Vec::new();
    for (n, r) in raw.requests.iter().enumerate() {
        requests.push(request(r, &format!("login.requests[{n}]"), base, env)?);
    }
    let flow = LoginFlow {
        vars: secrets(&raw.vars, "login.vars", base, env)?,
        templated: raw
            .vars
            .iter()
            .filter(|(_, v)| crate::identity::has_template(v))
            .map(|(k, _)| k.clone())
            .collect(),
        register,
        requests,
        apply: apply(&raw.apply, base, env)?,
        keep_cookies: raw.keep_cookies,
    };
    if flow.apply.is_empty() && !flow.keep_cookies {
        return Err(("login.apply".into(), "the login flow sends nothing afterwards: set login.apply (headers, query, cookies, basic, csrf) or login.keep_cookies = true".into()));
    }
    check_templates(&flow)?;
    Ok(flow)
}

/// Every `{name}` a flow uses must be a variable, a value extracted earlier, or built in.
fn check_templates(flow: &LoginFlow) -> Result<(), KeyError> {
    use crate::identity::Vars;
    let dummy = |name: &str| (name.to_string(), Secret::new("x"));
    flow.initial_vars("x", "x")
        .map_err(|e| ("login.vars".to_string(), e.to_string()))?;
    let mut known: Vars = flow.vars.iter().map(|(k, _)| dummy(k)).collect();
    known.push(dummy("unique"));
    known.push(dummy("identity"));
    let steps = flow
        .register
        .iter()
        .enumerate()
        .map(|(n, r)| (format!("login.register[{n}]"), r))
        .chain(
            flow.requests
                .iter()
                .enumerate()
                .map(|(n, r)| (format!("login.requests[{n}]"), r)),
        );
    for (key, r) in steps {
        r.prepare(&known, &Vars::new())
            .map_err(|e| (key, e.to_string()))?;
        known.extend(r.extract.iter().map(|(k, _)| dummy(k)));
    }
    flow.credentials(&known, &Vars::new())
        .map_err(|e| ("login.apply".to_string(), e.to_string()))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::config::{ConfigError, Settings};
    use std::path::Path;

    fn parse(identity: &str) -> Result<Settings, ConfigError> {
        let text = format!(
            "spec = \"a.yaml\"\nbase_url = \"http://127.0.0.1:1\"\n[identities.bob]\ntenant = \"b\"\n[identities.alice]\ntenant = \"a\"\n{identity}"
        );
        Settings::parse(&text, "t.toml", Path::new("/cfg"), &|name| {
            (name == "PW").then(|| "pw-secret".to_string())
        })
    }

    const LOGIN: &str = r#"[identities.alice.login]
vars = { password = "${env:PW}" }
apply = { headers = { Authorization = "Bearer {token}" } }
[[identities.alice.login.requests]]
path = "/login"
json = { user = "alice", password = "{password}" }
extract = { token = { json = "$.token" } }
"#;

    #[test]
    fn every_kind_and_a_login_flow_are_read_as_secrets() {
        let s = parse(&format!(
            "query = {{ api_key = \"k-${{env:PW}}\" }}\ncookies = {{ sid = \"c\" }}\nbasic = {{ username = \"u\", password = \"${{env:PW}}\" }}\nhealth = \"GET /me\"\n{LOGIN}"
        ))
        .unwrap();
        let alice = s.identities.iter().find(|i| i.name == "alice").unwrap();
        assert_eq!(alice.auth.credentials.query[0].1.expose(), "k-pw-secret");
        assert_eq!(alice.auth.credentials.cookies[0].0, "sid");
        assert!(alice.auth.credentials.basic.is_some());
        assert_eq!(alice.auth.health.as_deref(), Some("GET /me"));
        let flow = alice.auth.login.as_ref().unwrap();
        assert_eq!(flow.requests.len(), 1);
        assert!(!format!("{s:?}").contains("pw-secret"));
    }

    #[test]
    fn mistakes_in_a_flow_name_the_key() {
        let cases = [
            (
                LOGIN.replace("{token}", "{tokn}"),
                "identities.alice.login.apply",
                "tokn",
            ),
            (
                LOGIN.replace(
                    "{ json = \"$.token\" }",
                    "{ json = \"$.token\", header = \"X\" }",
                ),
                "identities.alice.login.requests[0].extract.token",
                "exactly one",
            ),
            (
                LOGIN.replace("path = \"/login\"", "path = \"/login\"\nmethod = \"FETCH\""),
                "identities.alice.login.requests[0].method",
                "FETCH",
            ),
            (
                LOGIN.replace(
                    "apply = { headers = { Authorization = \"Bearer {token}\" } }",
                    "",
                ),
                "identities.alice.login.apply",
                "sends nothing",
            ),
            (
                LOGIN.replace("${env:PW}", "${env:NOPE}"),
                "identities.alice.login.vars.password",
                "NOPE",
            ),
        ];
        for (text, key, words) in cases {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(key) && err.contains(words), "{err}");
            assert!(!err.contains("pw-secret"), "{err}");
        }
        let err = parse(&LOGIN.replace("extract", "extrct"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean `extract`"), "{err}");
    }
}
