//! Login and registration flows as data: requests with `{name}` templates filled from secret
//! variables, what to extract from each response (JSONPath or JSON pointer into the body, a
//! header, a cookie from `Set-Cookie`), and the credentials the extracted values make.
//!
//! The executor sends the prepared requests; this file never touches the network.

use std::fmt;

use jsonpath_rust::JsonPath;
use serde_json::Value;

use super::credential::Credentials;
use crate::secret::Secret;
use crate::spec::Method;

/// Named secret values a flow's templates use as `{name}`.
pub type Vars = Vec<(String, Secret)>;

/// How an identity logs in: optional registration requests run once per campaign (to create a
/// fresh account), then login requests run at the start and again whenever the session
/// expires. Values extracted from responses become variables for later requests and for
/// `apply`, the credentials every request then carries.
#[derive(Debug, Clone, Default)]
pub struct LoginFlow {
    /// Variables known before the first request (e-mail, password); `{unique}` (a random
    /// token, the same for the whole run) and `{identity}` are always defined.
    pub vars: Vars,
    /// The names of the variables whose values are templates themselves
    /// (`user = "alice-{unique}@example.test"`), filled when the flow starts. Only values whose
    /// text in the config uses `{name}` outside `${...}` are: a password read from the
    /// environment is taken as it is, braces and all.
    pub templated: Vec<String>,
    /// Sent once, before the first login.
    pub register: Vec<FlowRequest>,
    /// Sent at the start and on every re-login.
    pub requests: Vec<FlowRequest>,
    /// The credentials the flow produces; values are templates (`Bearer {token}`).
    pub apply: Credentials,
    /// Whether every cookie the login responses set is sent afterwards as well.
    pub keep_cookies: bool,
}

/// One request of a flow.
#[derive(Debug, Clone)]
pub struct FlowRequest {
    pub method: Method,
    /// Relative to the base URL; may hold `{name}` templates.
    pub path: String,
    pub headers: Vec<(String, Secret)>,
    pub body: Option<FlowBody>,
    /// Variables taken from the response, in order.
    pub extract: Vec<(String, Extract)>,
}

/// A flow request's body; every string may hold `{name}` templates.
#[derive(Debug, Clone)]
pub enum FlowBody {
    /// JSON text; templates are filled inside its strings (and escaped properly).
    Json(Secret),
    /// `application/x-www-form-urlencoded` fields.
    Form(Vec<(String, Secret)>),
    /// Any other content type, sent as is after filling.
    Raw { content_type: String, text: Secret },
}

/// Where a value comes from in a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extract {
    /// A JSONPath (`$.data.token`) or a JSON pointer (`/data/token`) into the JSON body.
    Json(String),
    /// A response header.
    Header(String),
    /// A cookie the response sets.
    Cookie(String),
}

impl fmt::Display for Extract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Extract::Json(path) => write!(f, "body {path}"),
            Extract::Header(name) => write!(f, "header {name}"),
            Extract::Cookie(name) => write!(f, "cookie {name}"),
        }
    }
}

/// A request ready to send. `label` (method and path template) is safe to print; the rest is
/// secret.
pub struct Prepared {
    pub method: Method,
    pub label: String,
    pub path: Secret,
    pub headers: Vec<(String, Secret)>,
    pub body: Option<Secret>,
}

/// What came back, unredacted: the flow needs the values a report must never show. Its
/// `Debug` shows only the status.
pub struct FlowResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl fmt::Debug for FlowResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FlowResponse {{ status: {}, .. }}", self.status)
    }
}

/// Why a login flow failed. Messages name requests and variables, never values.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("{request} answered {status}{hint}{said}")]
    Refused {
        request: String,
        status: u16,
        hint: &'static str,
        /// `: the server said "..."`, a short excerpt of the answer without any value the flow
        /// knows, or nothing.
        said: String,
    },
    #[error("{request}: {reason}")]
    Send { request: String, reason: String },
    #[error("{request}: found no '{name}' in the response's {from}{fields}")]
    Extract {
        request: String,
        name: String,
        from: String,
        /// ` (its JSON has the fields a, b)`: the names at the top of the body, never values.
        fields: String,
    },
    #[error("unknown variable '{{{name}}}' in {place} (known: {known})")]
    UnknownVariable {
        name: String,
        place: String,
        known: String,
    },
    #[error("the JSON body of {request} is not valid JSON")]
    BadJson { request: String },
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

/// Fills `{name}` templates from `vars`. Braces around anything that is not a name (JSON's
/// `{"a": 1}`) are left alone; a name that is not a variable is an error.
pub fn fill(template: &str, vars: &Vars, place: &str) -> Result<String, LoginError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) if is_name(&after[..end]) => {
                let name = &after[..end];
                let value = vars.iter().rev().find(|(k, _)| k == name).ok_or_else(|| {
                    LoginError::UnknownVariable {
                        name: name.to_string(),
                        place: place.to_string(),
                        known: vars
                            .iter()
                            .map(|(k, _)| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    }
                })?;
                out.push_str(value.1.expose());
                rest = &after[end + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn fill_json(value: &mut Value, vars: &Vars, place: &str) -> Result<(), LoginError> {
    match value {
        Value::String(s) => *s = fill(s, vars, place)?,
        Value::Array(items) => {
            for item in items {
                fill_json(item, vars, place)?;
            }
        }
        Value::Object(map) => {
            for item in map.values_mut() {
                fill_json(item, vars, place)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Sets a variable, replacing an earlier one of the same name.
pub(crate) fn set_var(vars: &mut Vars, name: &str, value: Secret) {
    vars.retain(|(k, _)| k != name);
    vars.push((name.to_string(), value));
}

/// `name=value` of a `Set-Cookie` header.
fn cookie_pair(set_cookie: &str) -> Option<(String, String)> {
    let first = set_cookie.split(';').next()?;
    let (name, value) = first.split_once('=')?;
    let name = name.trim();
    (!name.is_empty()).then(|| (name.to_string(), value.trim().trim_matches('"').to_string()))
}

fn json_value(body: &Value, path: &str) -> Option<String> {
    let found: Option<&Value> = if path.starts_with('/') || path.is_empty() {
        body.pointer(path)
    } else {
        body.query(path).ok()?.into_iter().next()
    };
    match found? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether `text` (a value as the config wrote it) uses a `{name}` template outside `${...}`.
pub fn has_template(text: &str) -> bool {
    let mut rest = text;
    let mut plain = String::new();
    while let Some(start) = rest.find("${") {
        plain.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(len) => rest = &rest[start + len + 1..],
            None => {
                rest = "";
            }
        }
    }
    plain.push_str(rest);
    let mut rest = plain.as_str();
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        if after.find('}').is_some_and(|end| is_name(&after[..end])) {
            return true;
        }
        rest = after;
    }
    false
}

/// Words that say a registration was refused because the account is there already.
const EXISTS_WORDS: &[&str] = &[
    "already",
    "exists",
    "exist",
    "taken",
    "duplicate",
    "in use",
    "registered",
    "unique",
];

/// Whether a registration's refusal says the account already exists: 409, or a 400, 403 or
/// 422 whose body says so. Such an account is logged in to instead: a second run against the
/// same database registers the same names again.
pub fn already_exists(response: &FlowResponse) -> bool {
    match response.status {
        409 => true,
        400 | 403 | 422 => {
            let text = String::from_utf8_lossy(&response.body).to_ascii_lowercase();
            EXISTS_WORDS.iter().any(|w| text.contains(w))
        }
        _ => false,
    }
}

/// The longest excerpt of a refusal that is shown.
const REASON_CHARS: usize = 160;

/// Why the server refused, in its own words and short: the message of a JSON error (`message`,
/// `error_description`, `error`, `detail`, `title`, `errors`, ...), an HTML page's title, or
/// the start of a text body. Every value in `known` (the flow's variables and cookies: the
/// password, the token) is replaced by `***`, and so is any long word that looks like a token.
pub(crate) fn reason(body: &[u8], known: &[&Vars]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let picked = match serde_json::from_str::<Value>(text) {
        Ok(value) => message_of(&value, 0).unwrap_or_else(|| value.to_string()),
        Err(_) if text.starts_with('<') => {
            let lower = text.to_ascii_lowercase();
            let start = lower.find("<title>")? + "<title>".len();
            let end = lower[start..].find("</title>")? + start;
            text.get(start..end)?.to_string()
        }
        Err(_) => text.to_string(),
    };
    let mut out = picked.split_whitespace().collect::<Vec<_>>().join(" ");
    for vars in known {
        for (_, value) in vars.iter() {
            let v = value.expose();
            if v.chars().count() >= 3 {
                out = out.replace(v, "***");
            }
        }
    }
    let out = out
        .split(' ')
        .map(|word| {
            let tokenish = word.len() >= 24
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+/=._-".contains(c));
            if tokenish { "***" } else { word }
        })
        .collect::<Vec<_>>()
        .join(" ");
    if out.is_empty() || out == "{}" || out == "null" {
        return None;
    }
    if out.chars().count() > REASON_CHARS {
        let cut: String = out.chars().take(REASON_CHARS).collect();
        return Some(format!("{cut}..."));
    }
    Some(out)
}

/// The human-readable message of a JSON error body, looked for under the usual names.
fn message_of(value: &Value, depth: usize) -> Option<String> {
    const KEYS: &[&str] = &[
        "message",
        "error_description",
        "detail",
        "details",
        "error",
        "errors",
        "title",
        "msg",
        "description",
        "reason",
        "non_field_errors",
    ];
    if depth > 3 {
        return None;
    }
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Object(map) => KEYS
            .iter()
            .filter_map(|k| map.get(*k))
            .find_map(|v| message_of(v, depth + 1))
            .or_else(|| {
                // Django REST framework: `{"username": ["A user with that username already exists."]}`.
                (depth == 0 && map.len() <= 3)
                    .then(|| {
                        map.iter().find_map(|(k, v)| match v {
                            Value::Array(items) => items
                                .iter()
                                .find_map(|i| i.as_str())
                                .map(|m| format!("{k}: {m}")),
                            _ => None,
                        })
                    })
                    .flatten()
            }),
        Value::Array(items) => items.iter().find_map(|i| message_of(i, depth + 1)),
        _ => None,
    }
}

impl FlowRequest {
    /// `METHOD /path` with the path template unfilled: safe to print.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Fills the templates; `jar` holds cookies earlier responses of the flow set.
    pub fn prepare(&self, vars: &Vars, jar: &Vars) -> Result<Prepared, LoginError> {
        let label = self.label();
        let place = |what: &str| format!("the {what} of login request {label}");
        let path = fill(&self.path, vars, &place("path"))?;
        let mut headers = Vec::new();
        for (name, value) in &self.headers {
            let value = fill(value.expose(), vars, &place(&format!("header {name}")))?;
            headers.push((name.clone(), Secret::new(value)));
        }
        if !jar.is_empty()
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("cookie"))
        {
            let text = jar
                .iter()
                .map(|(k, v)| format!("{k}={}", v.expose()))
                .collect::<Vec<_>>()
                .join("; ");
            headers.push(("Cookie".into(), Secret::new(text)));
        }
        let mut content_type = None;
        let body = match &self.body {
            None => None,
            Some(FlowBody::Json(text)) => {
                let mut value: Value =
                    serde_json::from_str(text.expose()).map_err(|_| LoginError::BadJson {
                        request: label.clone(),
                    })?;
                fill_json(&mut value, vars, &place("body"))?;
                content_type = Some("application/json".to_string());
                Some(Secret::new(value.to_string()))
            }
            Some(FlowBody::Form(fields)) => {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                for (name, value) in fields {
                    form.append_pair(name, &fill(value.expose(), vars, &place("form"))?);
                }
                content_type = Some("application/x-www-form-urlencoded".to_string());
                Some(Secret::new(form.finish()))
            }
            Some(FlowBody::Raw {
                content_type: ct,
                text,
            }) => {
                content_type = Some(ct.clone());
                Some(Secret::new(fill(text.expose(), vars, &place("body"))?))
            }
        };
        if let Some(ct) = content_type {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                headers.push(("Content-Type".into(), Secret::new(ct)));
            }
        }
        // A request that reads its answer as JSON asks for JSON: some APIs (Django REST
        // framework's browsable views) answer `Accept: */*` with an HTML page.
        let wants_json = self
            .extract
            .iter()
            .any(|(_, e)| matches!(e, Extract::Json(_)));
        if wants_json
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("accept"))
        {
            headers.push(("Accept".into(), Secret::new("application/json")));
        }
        Ok(Prepared {
            method: self.method,
            label,
            path: Secret::new(path),
            headers,
            body,
        })
    }

    /// Takes what the flow needs from a response: it must be a success; its cookies go into
    /// `jar`, and each extraction becomes a variable.
    ///
    /// A redirect (3xx) is a success only for a request that extracts something: a browser
    /// form login (Django's, Flask's) answers 302 with the session cookie when the password is
    /// right, and its form again, or another redirect without that cookie, when it is wrong, so
    /// the extraction is what tells the two apart.
    pub fn absorb(
        &self,
        response: &FlowResponse,
        vars: &mut Vars,
        jar: &mut Vars,
    ) -> Result<(), LoginError> {
        let label = self.label();
        let success = (200..300).contains(&response.status);
        let redirect = (300..400).contains(&response.status);
        let accepted = success || (redirect && !self.extract.is_empty());
        if !accepted {
            return Err(LoginError::Refused {
                request: label,
                status: response.status,
                hint: match response.status {
                    401 | 403 => " (check the identity's credentials)",
                    300..=399 => {
                        " (a redirect: extract what a successful login sets, such as its \
                         session cookie, to accept it)"
                    }
                    _ => "",
                },
                said: reason(&response.body, &[vars, jar])
                    .map(|r| format!(": the server said \"{r}\""))
                    .unwrap_or_default(),
            });
        }
        for (name, value) in &response.headers {
            if name.eq_ignore_ascii_case("set-cookie") {
                if let Some((k, v)) = cookie_pair(value) {
                    set_var(jar, &k, Secret::new(v));
                }
            }
        }
        let body: Option<Value> = serde_json::from_slice(&response.body).ok();
        for (name, from) in &self.extract {
            let value = match from {
                Extract::Json(path) => body.as_ref().and_then(|b| json_value(b, path)),
                Extract::Header(header) => response
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(header))
                    .map(|(_, v)| v.clone()),
                Extract::Cookie(cookie) => response
                    .headers
                    .iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
                    .filter_map(|(_, v)| cookie_pair(v))
                    .find(|(k, _)| k == cookie)
                    .map(|(_, v)| v),
            };
            let value = value
                .filter(|v| !v.is_empty())
                .ok_or_else(|| LoginError::Extract {
                    request: label.clone(),
                    name: name.clone(),
                    from: from.to_string(),
                    fields: match (&from, &body) {
                        (Extract::Json(_), Some(Value::Object(map))) if !map.is_empty() => {
                            let names: Vec<&str> =
                                map.keys().take(12).map(String::as_str).collect();
                            format!(" (its JSON has the fields {})", names.join(", "))
                        }
                        _ => String::new(),
                    },
                })?;
            set_var(vars, name, Secret::new(value));
        }
        Ok(())
    }
}

impl LoginFlow {
    /// The variables a run of the flow starts with: `{unique}` and `{identity}`, then the
    /// flow's own, the templated ones filled (`{unique}` and the other variables may appear
    /// in them; one templated variable may not use another).
    pub fn initial_vars(&self, unique: &str, identity: &str) -> Result<Vars, LoginError> {
        let mut vars: Vars = vec![
            ("unique".into(), Secret::new(unique)),
            ("identity".into(), Secret::new(identity)),
        ];
        vars.extend(self.vars.iter().cloned());
        let plain: Vars = vars
            .iter()
            .filter(|(k, _)| !self.templated.contains(k))
            .cloned()
            .collect();
        for name in &self.templated {
            let Some((_, raw)) = self.vars.iter().find(|(k, _)| k == name) else {
                continue;
            };
            let filled = fill(raw.expose(), &plain, &format!("login.vars.{name}"))?;
            set_var(&mut vars, name, Secret::new(filled));
        }
        Ok(vars)
    }

    /// The credentials the flow produced, from its variables and the cookies its responses set.
    pub fn credentials(&self, vars: &Vars, jar: &Vars) -> Result<Credentials, LoginError> {
        let each = |list: &[(String, Secret)], what: &str| -> Result<Vars, LoginError> {
            list.iter()
                .map(|(k, v)| {
                    fill(v.expose(), vars, &format!("login.apply.{what}.{k}"))
                        .map(|filled| (k.clone(), Secret::new(filled)))
                })
                .collect()
        };
        let mut cookies = if self.keep_cookies {
            jar.clone()
        } else {
            Vec::new()
        };
        for (k, v) in each(&self.apply.cookies, "cookies")? {
            set_var(&mut cookies, &k, v);
        }
        let basic = match &self.apply.basic {
            Some((u, p)) => Some((
                Secret::new(fill(u.expose(), vars, "login.apply.basic.username")?),
                Secret::new(fill(p.expose(), vars, "login.apply.basic.password")?),
            )),
            None => None,
        };
        let csrf = match &self.apply.csrf {
            Some((header, value)) => Some((
                header.clone(),
                Secret::new(fill(value.expose(), vars, "login.apply.csrf.value")?),
            )),
            None => None,
        };
        Ok(Credentials {
            headers: each(&self.apply.headers, "headers")?,
            query: each(&self.apply.query, "query")?,
            cookies,
            basic,
            csrf,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Secret::new(*v)))
            .collect()
    }

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> FlowResponse {
        FlowResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn form_login(extract: Vec<(String, Extract)>) -> FlowRequest {
        FlowRequest {
            method: Method::Post,
            path: "/accounts/login/".into(),
            headers: Vec::new(),
            body: None,
            extract,
        }
    }

    #[test]
    fn a_request_that_extracts_json_asks_for_json() {
        let accept = |request: &FlowRequest| -> Vec<String> {
            let prepared = request.prepare(&Vars::new(), &Vars::new()).unwrap();
            prepared
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("accept"))
                .map(|(_, v)| v.expose().to_string())
                .collect()
        };
        let token = vec![("token".to_string(), Extract::Json("$.token".into()))];
        assert_eq!(accept(&form_login(token.clone())), ["application/json"]);
        // The config's own Accept wins; a request that reads no JSON sends none.
        let mut own = form_login(token);
        own.headers
            .push(("accept".into(), Secret::new("application/vnd.api+json")));
        assert_eq!(accept(&own), ["application/vnd.api+json"]);
        let cookie = vec![("sid".to_string(), Extract::Cookie("sid".into()))];
        assert!(accept(&form_login(cookie)).is_empty());
    }

    #[test]
    fn a_redirect_logs_in_only_when_what_it_extracts_is_there() {
        let session = vec![("session".to_string(), Extract::Cookie("sessionid".into()))];
        let (mut v, mut jar) = (Vars::new(), Vars::new());
        // Right password: 302 with the session cookie.
        let ok = response(
            302,
            &[
                ("Location", "/"),
                ("Set-Cookie", "sessionid=s3ss; HttpOnly; Path=/"),
            ],
            "",
        );
        form_login(session.clone())
            .absorb(&ok, &mut v, &mut jar)
            .unwrap();
        assert_eq!(
            v.iter().find(|(k, _)| k == "session").unwrap().1.expose(),
            "s3ss"
        );
        // Wrong password: a redirect back to the form without the cookie, or the form again.
        let back = response(302, &[("Location", "/accounts/login/?error=1")], "");
        let err = form_login(session.clone()).absorb(&back, &mut Vars::new(), &mut Vars::new());
        assert!(matches!(err, Err(LoginError::Extract { .. })), "{err:?}");
        let form = response(200, &[], "<form>password</form>");
        let err = form_login(session).absorb(&form, &mut Vars::new(), &mut Vars::new());
        assert!(matches!(err, Err(LoginError::Extract { .. })), "{err:?}");
        // A request that extracts nothing cannot tell a redirect's success from its failure.
        let err = form_login(Vec::new())
            .absorb(&ok, &mut Vars::new(), &mut Vars::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("answered 302") && err.contains("extract"),
            "{err}"
        );
        assert!(!err.contains("s3ss"), "{err}");
    }

    #[test]
    fn templates_fill_names_and_leave_other_braces() {
        let v = vars(&[("token", "t0k"), ("user", "a\"b")]);
        assert_eq!(fill("Bearer {token}", &v, "x").unwrap(), "Bearer t0k");
        assert_eq!(fill("{ {} {1} }", &v, "x").unwrap(), "{ {} {1} }");
        let err = fill("{tokn}", &v, "the header").unwrap_err().to_string();
        assert!(err.contains("tokn") && err.contains("the header"), "{err}");
        assert!(!err.contains("t0k"), "{err}");
    }

    #[test]
    fn json_bodies_are_filled_inside_strings_with_escaping() {
        let request = FlowRequest {
            method: Method::Post,
            path: "/auth/login".into(),
            headers: Vec::new(),
            body: Some(FlowBody::Json(Secret::new(
                json!({"email": "{user}", "n": 1}).to_string(),
            ))),
            extract: Vec::new(),
        };
        let prepared = request
            .prepare(&vars(&[("user", "a\"b")]), &vars(&[("sid", "s1")]))
            .unwrap();
        let body: Value = serde_json::from_str(prepared.body.unwrap().expose()).unwrap();
        assert_eq!(body, json!({"email": "a\"b", "n": 1}));
        let headers: Vec<(String, String)> = prepared
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.expose().to_string()))
            .collect();
        assert!(headers.contains(&("Cookie".into(), "sid=s1".into())));
        assert!(headers.contains(&("Content-Type".into(), "application/json".into())));
    }

    #[test]
    fn values_come_from_jsonpath_pointer_header_and_cookie() {
        let request = FlowRequest {
            method: Method::Post,
            path: "/login".into(),
            headers: Vec::new(),
            body: None,
            extract: vec![
                ("a".into(), Extract::Json("$.data.token".into())),
                ("b".into(), Extract::Json("/data/n".into())),
                ("c".into(), Extract::Header("x-csrf-token".into())),
                ("d".into(), Extract::Cookie("sid".into())),
            ],
        };
        let response = FlowResponse {
            status: 200,
            headers: vec![
                ("X-CSRF-Token".into(), "csrf1".into()),
                ("set-cookie".into(), "sid=s1; HttpOnly; Path=/".into()),
            ],
            body: json!({"data": {"token": "tk", "n": 7}})
                .to_string()
                .into_bytes(),
        };
        let (mut v, mut jar) = (Vars::new(), Vars::new());
        request.absorb(&response, &mut v, &mut jar).unwrap();
        let got: Vec<(String, String)> = v
            .iter()
            .map(|(k, s)| (k.clone(), s.expose().to_string()))
            .collect();
        assert_eq!(
            got,
            [
                ("a".to_string(), "tk".to_string()),
                ("b".to_string(), "7".to_string()),
                ("c".to_string(), "csrf1".to_string()),
                ("d".to_string(), "s1".to_string()),
            ]
        );
        assert_eq!(jar.len(), 1);
        let flow = LoginFlow {
            apply: Credentials {
                headers: vec![("Authorization".into(), Secret::new("Bearer {a}"))],
                csrf: Some(("X-CSRF-Token".into(), Secret::new("{c}"))),
                ..Credentials::default()
            },
            keep_cookies: true,
            ..LoginFlow::default()
        };
        let creds = flow.credentials(&v, &jar).unwrap();
        assert_eq!(creds.headers[0].1.expose(), "Bearer tk");
        assert_eq!(creds.cookies[0].1.expose(), "s1");
        assert_eq!(creds.csrf.unwrap().1.expose(), "csrf1");
    }

    #[test]
    fn templated_variables_are_filled_and_others_taken_as_they_are() {
        assert!(has_template("alice-{unique}@example.test"));
        assert!(!has_template("${env:PW}"));
        assert!(!has_template("{ not a name }"));
        assert!(has_template("${env:USER}+{identity}"));
        let flow = LoginFlow {
            vars: vars(&[("user", "a-{unique}-{identity}"), ("password", "p{w}d")]),
            templated: vec!["user".into()],
            ..LoginFlow::default()
        };
        let got = flow.initial_vars("u1", "alice").unwrap();
        let value = |name: &str| {
            got.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.expose().to_string())
        };
        assert_eq!(value("user").as_deref(), Some("a-u1-alice"));
        // A password from the environment keeps its braces.
        assert_eq!(value("password").as_deref(), Some("p{w}d"));
        assert_eq!(value("unique").as_deref(), Some("u1"));
        let bad = LoginFlow {
            vars: vars(&[("user", "a-{uniq}")]),
            templated: vec!["user".into()],
            ..LoginFlow::default()
        };
        let err = bad.initial_vars("u1", "alice").unwrap_err().to_string();
        assert!(err.contains("'{uniq}' in login.vars.user"), "{err}");
    }

    #[test]
    fn the_servers_reason_is_short_and_holds_no_known_value() {
        let known = vars(&[("password", "hunter22"), ("user", "bob@x.test")]);
        let jar = vars(&[("sid", "cookie-value-1")]);
        let said = |body: &str| reason(body.as_bytes(), &[&known, &jar]);
        assert_eq!(
            said(
                r#"{"error": {"code": 7, "message": "no user bob@x.test with password hunter22"}}"#
            )
            .as_deref(),
            Some("no user *** with password ***")
        );
        assert_eq!(
            said(r#"{"error": "invalid_grant", "error_description": "Bad  credentials"}"#)
                .as_deref(),
            Some("Bad credentials")
        );
        assert_eq!(
            said(r#"{"username": ["A user with that username already exists."]}"#).as_deref(),
            Some("username: A user with that username already exists.")
        );
        assert_eq!(
            said("<html><head><title>Login failed</title></head><body>...</body></html>")
                .as_deref(),
            Some("Login failed")
        );
        assert_eq!(
            said("session cookie-value-1 expired; token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln")
                .as_deref(),
            Some("session *** expired; token ***")
        );
        assert_eq!(said("{}"), None);
        assert_eq!(said(""), None);
        let long = said(&"word ".repeat(100)).unwrap();
        assert!(long.ends_with("...") && long.chars().count() == REASON_CHARS + 3);
    }

    #[test]
    fn a_conflict_or_a_refusal_that_says_so_is_an_existing_account() {
        assert!(already_exists(&response(409, &[], "")));
        assert!(already_exists(&response(
            400,
            &[],
            r#"{"email": ["user with this email already exists."]}"#
        )));
        assert!(already_exists(&response(422, &[], "Username is taken")));
        assert!(!already_exists(&response(400, &[], "password too short")));
        assert!(!already_exists(&response(500, &[], "already exists")));
    }

    #[test]
    fn a_refusal_or_a_missing_value_is_named_without_values() {
        let request = FlowRequest {
            method: Method::Post,
            path: "/login".into(),
            headers: Vec::new(),
            body: None,
            extract: vec![("token".into(), Extract::Json("$.token".into()))],
        };
        let refused = FlowResponse {
            status: 401,
            headers: Vec::new(),
            body: b"{}".to_vec(),
        };
        let (mut v, mut jar) = (Vars::new(), Vars::new());
        let err = request.absorb(&refused, &mut v, &mut jar).unwrap_err();
        assert_eq!(
            err.to_string(),
            "POST /login answered 401 (check the identity's credentials)"
        );
        let empty = FlowResponse {
            status: 200,
            headers: Vec::new(),
            body: b"{\"other\": \"secret-value\"}".to_vec(),
        };
        let err = request.absorb(&empty, &mut v, &mut jar).unwrap_err();
        assert_eq!(
            err.to_string(),
            "POST /login: found no 'token' in the response's body $.token (its JSON has the fields other)"
        );
        let said = FlowResponse {
            status: 401,
            headers: Vec::new(),
            body: b"{\"message\": \"wrong password\"}".to_vec(),
        };
        let err = request.absorb(&said, &mut v, &mut jar).unwrap_err();
        assert_eq!(
            err.to_string(),
            "POST /login answered 401 (check the identity's credentials): the server said \"wrong password\""
        );
    }
}
