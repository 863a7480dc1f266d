//! Account probes sent through an identity's own login and registration flow: the login with a
//! wrong password for the identity's account and for an account that does not exist, the
//! registration of the identity's account again and of a fresh one, a password reset for the
//! identity's e-mail and for an unknown one (`account-enumeration`); and throwaway accounts
//! registered with an extra privilege field, logged in to and asked who they are
//! (`mass-assignment`). The real password is never sent to a login here, and nothing a flow
//! knows appears in what is recorded: the oracles judge the exchanges this returns.

use serde_json::Value;

use super::session::{Wire, random_token};
use super::target::Target;
use crate::exchange::{Body, Exchange};
use crate::identity::{FlowRequest, FlowResponse, Prepared, Vars};
use crate::model::normalize;
use crate::secret::Secret;
use crate::spec::Method;

/// The same request for an existing and for an unknown account, each sent twice.
pub(crate) struct EnumerationSample {
    /// `login`, `registration` or `password reset`.
    pub surface: &'static str,
    pub method: Method,
    /// The path template (no value of the flow in it).
    pub path: String,
    pub known: Vec<Exchange>,
    pub unknown: Vec<Exchange>,
    /// What the requests sent as the account (the identity's name or e-mail, and the unknown
    /// one), for the oracle to take out of the answers before comparing them.
    pub known_user: String,
    pub unknown_user: String,
}

/// A throwaway account's registration and what it then read as itself.
pub(crate) struct Registered {
    pub register: Exchange,
    /// The answers to `reads`, in order.
    pub reads: Vec<Exchange>,
}

/// Whether a body key carries a password.
fn is_password_key(key: &str) -> bool {
    let n = normalize(key);
    n.contains("password") || matches!(n.as_str(), "pass" | "passwd" | "pwd" | "passphrase")
}

/// Whether a body key names the account (a user name or e-mail).
fn is_user_key(key: &str) -> bool {
    let n = normalize(key);
    n.contains("email")
        || n.contains("username")
        || matches!(
            n.as_str(),
            "user" | "login" | "identifier" | "account" | "handle" | "name" | "mail"
        )
}

/// The body of a prepared flow request as fields: JSON (its top level and the objects one
/// level down, for `{"user": {...}}` bodies) or a form.
enum Fields {
    Json(Value),
    Form(Vec<(String, String)>),
}

impl Fields {
    fn of(p: &Prepared) -> Option<Fields> {
        let text = p.body.as_ref()?.expose();
        let form = p.headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("content-type") && v.expose().contains("x-www-form-urlencoded")
        });
        if form {
            return Some(Fields::Form(
                url::form_urlencoded::parse(text.as_bytes())
                    .into_owned()
                    .collect(),
            ));
        }
        serde_json::from_str::<Value>(text)
            .ok()
            .filter(Value::is_object)
            .map(Fields::Json)
    }

    /// Calls `f` with every string field (key, value), which it may change.
    fn each(&mut self, f: &mut impl FnMut(&str, &mut String)) {
        match self {
            Fields::Form(pairs) => {
                for (k, v) in pairs {
                    f(k, v);
                }
            }
            Fields::Json(value) => {
                let Some(map) = value.as_object_mut() else {
                    return;
                };
                for (k, v) in map.iter_mut() {
                    match v {
                        Value::String(s) => f(k, s),
                        Value::Object(inner) => {
                            for (k, v) in inner.iter_mut() {
                                if let Value::String(s) = v {
                                    f(k, s);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// The value of the first string field whose key `pick` takes.
    fn find(&mut self, pick: fn(&str) -> bool) -> Option<String> {
        let mut found = None;
        self.each(&mut |k, v| {
            if found.is_none() && pick(k) {
                found = Some(v.clone());
            }
        });
        found
    }

    /// Adds `key: value` where the account's fields are (inside the one object a
    /// `{"user": {...}}` body wraps them in); a form takes the value as text.
    fn insert(&mut self, key: &str, value: &Value) {
        match self {
            Fields::Form(pairs) => {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                pairs.retain(|(k, _)| k != key);
                pairs.push((key.to_string(), text));
            }
            Fields::Json(body) => {
                let Some(map) = body.as_object_mut() else {
                    return;
                };
                let wrapped = map.len() == 1 && map.values().all(Value::is_object);
                let target = if wrapped {
                    map.values_mut().next().and_then(Value::as_object_mut)
                } else {
                    Some(map)
                };
                if let Some(t) = target {
                    t.insert(key.to_string(), value.clone());
                }
            }
        }
    }

    fn text(&self) -> String {
        match self {
            Fields::Json(v) => v.to_string(),
            Fields::Form(pairs) => {
                let mut s = url::form_urlencoded::Serializer::new(String::new());
                for (k, v) in pairs {
                    s.append_pair(k, v);
                }
                s.finish()
            }
        }
    }

    /// The body as reports show it: every password starred.
    fn shown(&self) -> Value {
        let mut copy = match self {
            Fields::Json(v) => Fields::Json(v.clone()),
            Fields::Form(p) => Fields::Form(p.clone()),
        };
        copy.each(&mut |k, v| {
            if is_password_key(k) {
                *v = "***".into();
            }
        });
        match copy {
            Fields::Json(v) => v,
            Fields::Form(pairs) => Value::Object(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect(),
            ),
        }
    }
}

/// `text` with every value of `vars` starred, but those the account names in `keep` are
/// made of (`{identity}-{unique}`).
fn starred(text: &str, vars: &[&Vars], keep: &[&str]) -> String {
    let mut out = text.to_string();
    for list in vars {
        for (_, v) in list.iter() {
            let v = v.expose();
            if v.chars().count() >= 3 && !keep.iter().any(|k| k.contains(v)) {
                out = out.replace(v, "***");
            }
        }
    }
    out
}

impl Target {
    /// What reports may show of a flow exchange: the path template, the body with its
    /// passwords starred, header values starred but the content type, and the answer with
    /// every value the flow knows starred (but the account names in `keep`).
    fn flow_exchange(
        &self,
        p: &Prepared,
        fields: Option<&Fields>,
        r: &FlowResponse,
        vars: &[&Vars],
        keep: &[&str],
    ) -> Exchange {
        let template = p.label.split_once(' ').map(|(_, t)| t).unwrap_or("");
        let slash = if template.starts_with('/') { "" } else { "/" };
        let star = |list: &mut dyn Iterator<Item = (&String, String)>| -> Vec<(String, String)> {
            list.map(|(k, v)| {
                let shown = if k.eq_ignore_ascii_case("content-type") {
                    v
                } else {
                    "***".to_string()
                };
                (k.clone(), shown)
            })
            .collect()
        };
        let text = String::from_utf8_lossy(&r.body);
        let text = starred(&text, vars, keep);
        Exchange {
            method: p.method.as_str().to_string(),
            url: format!("{}{slash}{template}", self.base),
            request_headers: star(&mut p.headers.iter().map(|(k, v)| (k, v.expose().into()))),
            request_body: fields.map(Fields::shown),
            status: Some(r.status),
            response_headers: star(&mut r.headers.iter().map(|(k, v)| (k, v.clone()))),
            response_body: if text.is_empty() {
                Body::default()
            } else {
                Body::from_text(text)
            },
            error: None,
            duration_ms: 0,
        }
    }

    /// Sends `p` with its body replaced by `fields`.
    async fn send_fields(
        &self,
        identity: usize,
        p: &Prepared,
        fields: &Fields,
    ) -> Option<FlowResponse> {
        let edited = Prepared {
            method: p.method,
            label: p.label.clone(),
            path: Secret::new(p.path.expose()),
            headers: p.headers.clone(),
            body: Some(Secret::new(fields.text())),
        };
        self.send_flow(identity, &edited).await.ok()
    }

    /// Runs the flow requests before `last` (a CSRF page, say) with `vars`, then prepares
    /// `last`. `None` when one of them fails.
    async fn prepare_after(
        &self,
        identity: usize,
        before: &[FlowRequest],
        last: &FlowRequest,
        vars: &mut Vars,
    ) -> Option<(Prepared, Vars)> {
        let mut jar = Vars::new();
        for r in before {
            let p = r.prepare(vars, &jar).ok()?;
            let response = self.send_flow(identity, &p).await.ok()?;
            r.absorb(&response, vars, &mut jar).ok()?;
        }
        let p = last.prepare(vars, &jar).ok()?;
        Some((p, jar))
    }

    /// The `account-enumeration` samples of `identity`'s flow: its login with a wrong password
    /// against a login for an account that does not exist (two of each); its registration
    /// again against a fresh one's; and, for each of `resets` (password-reset operations:
    /// method, path, the body key of the e-mail), its e-mail against an unknown one. A flow
    /// whose login body has no password field to change is not probed.
    pub(crate) async fn enumeration_samples(
        &self,
        identity: usize,
        resets: &[(Method, String, String)],
    ) -> Vec<EnumerationSample> {
        let mut out = Vec::new();
        let Some(flow) = self.sessions.get(identity).and_then(|s| s.flow.clone()) else {
            return out;
        };
        let Some(vars) = self.flow_vars(identity).await else {
            return out;
        };
        let token = random_token();
        // Login: the request whose body carries the password.
        let login_at = flow.requests.iter().position(|r| {
            r.prepare(&vars, &Vars::new())
                .ok()
                .and_then(|p| Fields::of(&p))
                .and_then(|mut f| f.find(is_password_key))
                .is_some()
        });
        if let Some(at) = login_at {
            let last = &flow.requests[at];
            let mut sample: Option<EnumerationSample> = None;
            for n in 0..4 {
                let unknown = n % 2 == 1;
                let mut v = vars.clone();
                let Some((p, jar)) = self
                    .prepare_after(identity, &flow.requests[..at], last, &mut v)
                    .await
                else {
                    break;
                };
                let Some(mut fields) = Fields::of(&p) else {
                    break;
                };
                let Some(real) = fields.find(is_user_key) else {
                    break;
                };
                let fake = fake_user(&real, &token, n);
                fields.each(&mut |k, value| {
                    if is_password_key(k) {
                        *value = format!("tfz-wrong-{token}-{n}");
                    } else if unknown && is_user_key(k) && *value == real {
                        *value = fake.clone();
                    }
                });
                let Some(r) = self.send_fields(identity, &p, &fields).await else {
                    break;
                };
                let keep = [real.as_str(), fake.as_str()];
                let x = self.flow_exchange(&p, Some(&fields), &r, &[&v, &jar], &keep);
                let s = sample.get_or_insert_with(|| EnumerationSample {
                    surface: "login",
                    method: p.method,
                    path: last.path.clone(),
                    known: Vec::new(),
                    unknown: Vec::new(),
                    known_user: real.clone(),
                    unknown_user: fake.clone(),
                });
                if unknown {
                    s.unknown_user = fake.clone();
                    s.unknown.push(x);
                } else {
                    s.known.push(x);
                }
            }
            out.extend(sample.filter(|s| s.known.len() == 2 && s.unknown.len() == 2));
        }
        // Registration: the identity's account again (with its own values, as a second run
        // sends them), and a fresh account of the same form.
        if let Some(first) = flow.register.first() {
            let mut sample: Option<EnumerationSample> = None;
            for n in 0..4 {
                let fresh = n % 2 == 1;
                let v = if fresh {
                    match flow.initial_vars(&format!("{token}{n}"), &self.sessions[identity].name) {
                        Ok(v) => v,
                        Err(_) => break,
                    }
                } else {
                    vars.clone()
                };
                let Ok(p) = first.prepare(&v, &Vars::new()) else {
                    break;
                };
                let Some(mut fields) = Fields::of(&p) else {
                    break;
                };
                let Some(user) = fields.find(is_user_key) else {
                    break;
                };
                let Some(r) = self.send_fields(identity, &p, &fields).await else {
                    break;
                };
                let keep = [user.as_str()];
                let x = self.flow_exchange(&p, Some(&fields), &r, &[&v], &keep);
                let s = sample.get_or_insert_with(|| EnumerationSample {
                    surface: "registration",
                    method: p.method,
                    path: first.path.clone(),
                    known: Vec::new(),
                    unknown: Vec::new(),
                    known_user: user.clone(),
                    unknown_user: String::new(),
                });
                if fresh {
                    // The same name twice would be no fresh account.
                    if user == s.known_user {
                        break;
                    }
                    s.unknown_user = user;
                    s.unknown.push(x);
                } else {
                    s.known.push(x);
                }
            }
            out.extend(sample.filter(|s| s.known.len() == 2 && s.unknown.len() == 2));
        }
        // Password reset: the identity's e-mail and an unknown one.
        let email = vars
            .iter()
            .map(|(_, v)| v.expose())
            .find(|v| v.contains('@') && !v.contains(' '))
            .map(str::to_string);
        if let Some(email) = email {
            for (method, path, key) in resets {
                let mut sample = EnumerationSample {
                    surface: "password reset",
                    method: *method,
                    path: path.clone(),
                    known: Vec::new(),
                    unknown: Vec::new(),
                    known_user: email.clone(),
                    unknown_user: fake_user(&email, &token, 1),
                };
                for n in 0..4 {
                    let unknown = n % 2 == 1;
                    let who = if unknown {
                        &sample.unknown_user
                    } else {
                        &sample.known_user
                    };
                    let fields = Fields::Json(serde_json::json!({ key.as_str(): who }));
                    let p = Prepared {
                        method: *method,
                        label: format!("{method} {path}"),
                        path: Secret::new(path.as_str()),
                        headers: vec![("Content-Type".into(), Secret::new("application/json"))],
                        body: None,
                    };
                    let Some(r) = self.send_fields(identity, &p, &fields).await else {
                        break;
                    };
                    let keep = [email.as_str(), sample.unknown_user.as_str()];
                    let x = self.flow_exchange(&p, Some(&fields), &r, &[&vars], &keep);
                    if unknown {
                        sample.unknown.push(x);
                    } else {
                        sample.known.push(x);
                    }
                }
                if sample.known.len() == 2 && sample.unknown.len() == 2 {
                    out.push(sample);
                }
            }
        }
        out
    }

    /// Registers a throwaway account through `identity`'s flow (fresh `{unique}`), with
    /// `extra` added to the registration's body, logs in to it and sends each of `reads`
    /// (absolute URLs of GETs) as that account. `None` when the flow cannot make a fresh
    /// account (no registration, a refused one, a failed login).
    pub(crate) async fn register_throwaway(
        &self,
        identity: usize,
        extra: Option<(&str, &Value)>,
        reads: &[String],
    ) -> Option<Registered> {
        let s = self.sessions.get(identity)?;
        let flow = s.flow.clone()?;
        let (first, rest) = flow.register.split_first()?;
        let mut vars = flow.initial_vars(&random_token(), &s.name).ok()?;
        let mut jar = Vars::new();
        let p = first.prepare(&vars, &jar).ok()?;
        let mut fields = Fields::of(&p)?;
        let user = fields.find(is_user_key).unwrap_or_default();
        if let Some((key, value)) = extra {
            fields.insert(key, value);
        }
        let r = self.send_fields(identity, &p, &fields).await?;
        let keep = [user.as_str()];
        let register = self.flow_exchange(&p, Some(&fields), &r, &[&vars], &keep);
        first.absorb(&r, &mut vars, &mut jar).ok()?;
        for r in rest {
            let p = r.prepare(&vars, &jar).ok()?;
            let answer = self.send_flow(identity, &p).await.ok()?;
            r.absorb(&answer, &mut vars, &mut jar).ok()?;
        }
        let mut jar = Vars::new();
        for r in &flow.requests {
            let p = r.prepare(&vars, &jar).ok()?;
            let answer = self.send_flow(identity, &p).await.ok()?;
            r.absorb(&answer, &mut vars, &mut jar).ok()?;
        }
        let produced = flow.credentials(&vars, &jar).ok()?;
        let wire = Wire::build(&s.configured.merged(&produced)).ok()?;
        let mut out = Vec::new();
        for url in reads {
            let mut x = self
                .send_with(identity, &wire, Method::Get, url, &[], None, false)
                .await;
            // The throwaway's own credentials are no one's to see either.
            for (_, v) in x.request_headers.iter_mut() {
                *v = "***".into();
            }
            out.push(x);
        }
        Some(Registered {
            register,
            reads: out,
        })
    }
}

/// An account name that does not exist, shaped like `real` (an e-mail stays an e-mail).
fn fake_user(real: &str, token: &str, n: usize) -> String {
    if real.contains('@') {
        format!("tfz-nouser-{token}{n}@example.invalid")
    } else {
        format!("tfz-nouser-{token}{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(body: &str, content_type: &str) -> Prepared {
        Prepared {
            method: Method::Post,
            label: "POST /register".into(),
            path: Secret::new("/register"),
            headers: vec![("Content-Type".into(), Secret::new(content_type))],
            body: Some(Secret::new(body)),
        }
    }

    #[test]
    fn a_field_goes_where_the_accounts_fields_are_and_passwords_are_starred() {
        // Rails and Devise wrap the account's fields in one object.
        let p = prepared(
            r#"{"user": {"email": "a@x.test", "password": "s3cret-pw"}}"#,
            "application/json",
        );
        let mut f = Fields::of(&p).expect("a JSON object");
        assert_eq!(f.find(is_user_key).as_deref(), Some("a@x.test"));
        f.insert("role", &serde_json::json!("owner"));
        let shown = f.shown();
        assert_eq!(shown["user"]["role"], "owner");
        assert_eq!(shown["user"]["password"], "***");
        assert!(f.text().contains("s3cret-pw"), "what is sent keeps it");
        // A flat body takes it at the top; a form as text.
        let mut flat = Fields::of(&prepared(
            r#"{"username": "a", "pw": "x"}"#,
            "application/json",
        ))
        .expect("a JSON object");
        flat.insert("is_admin", &serde_json::json!(true));
        assert_eq!(flat.shown()["is_admin"], true);
        let mut form = Fields::of(&prepared(
            "username=a&password=s3cret-pw",
            "application/x-www-form-urlencoded",
        ))
        .expect("a form");
        form.insert("is_admin", &serde_json::json!(true));
        assert_eq!(form.text(), "username=a&password=s3cret-pw&is_admin=true");
        assert_eq!(form.shown()["password"], "***");
    }

    #[test]
    fn starring_keeps_the_account_name_made_of_variables() {
        let vars: Vars = vec![
            ("unique".into(), Secret::new("abc123")),
            ("identity".into(), Secret::new("alice")),
            ("password".into(), Secret::new("s3cret-pw")),
        ];
        let text = r#"{"username":"alice-abc123","echo":"s3cret-pw"}"#;
        assert_eq!(
            starred(text, &[&vars], &["alice-abc123"]),
            r#"{"username":"alice-abc123","echo":"***"}"#
        );
    }
}
