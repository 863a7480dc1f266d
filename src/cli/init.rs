//! `tenantfuzz init`: a commented `tenantfuzz.toml` derived from a spec's security schemes and
//! its likely login operation. Every key is documented in place; the credentials are
//! `${env:...}` placeholders, so the file runs as soon as those variables are set.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::{CliError, Outcome};
use crate::spec::{Api, Location, Method, Operation, Schema, SchemaKind, Security};

/// Arguments of `tenantfuzz init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The OpenAPI spec to derive the config from.
    #[arg(long, value_name = "PATH")]
    pub spec: PathBuf,
    /// Write the config here (refuses to overwrite) instead of printing it.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub(crate) fn run(args: InitArgs) -> Result<Outcome, CliError> {
    let api = crate::spec::load(&args.spec).map_err(|e| CliError::Usage(e.to_string()))?;
    let spec_ref = spec_reference(&args.spec, args.output.as_deref());
    let text = template(&api, &spec_ref);
    match &args.output {
        None => print!("{text}"),
        Some(path) => {
            if path.exists() {
                return Err(CliError::Usage(format!(
                    "'{}' exists; remove it or choose another file with -o",
                    path.display()
                )));
            }
            std::fs::write(path, &text).map_err(|e| {
                CliError::Usage(format!("failed to write '{}': {e}", path.display()))
            })?;
            eprintln!(
                "wrote {}: set the variables it names, then `tenantfuzz run --config {}`",
                path.display(),
                path.display()
            );
        }
    }
    Ok(Outcome::Clean)
}

/// The spec as the config should name it: relative paths resolve against the config's folder.
fn spec_reference(spec: &Path, output: Option<&Path>) -> String {
    let in_cwd = output.is_none_or(|o| o.parent().is_none_or(|p| p.as_os_str().is_empty()));
    if spec.is_relative() && in_cwd {
        return spec.display().to_string();
    }
    std::fs::canonicalize(spec)
        .unwrap_or_else(|_| spec.to_path_buf())
        .display()
        .to_string()
}

/// Escapes a TOML basic string's content.
fn toml_str(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Request-body fields that name the account, best first.
const USER_FIELDS: &[&str] = &[
    "username",
    "email",
    "user_name",
    "userName",
    "login",
    "user",
    "email_address",
    "emailAddress",
    "mail",
    "identifier",
    "name",
];
const PASSWORD_FIELDS: &[&str] = &["password", "pass", "passwd", "pwd", "secret"];
/// Answer fields that carry the session's token, normalized (lowercase, no `_` or `-`), best
/// first: `token`, `access_token`, `auth_token`, `jwt`, `data.token` all count.
const TOKEN_FIELDS: &[&str] = &[
    "accesstoken",
    "token",
    "authtoken",
    "jwt",
    "idtoken",
    "sessiontoken",
    "bearertoken",
    "apitoken",
    "authorization",
    "key",
];
/// Answer fields that may wrap the token (`{"data": {"token": ...}}`).
const WRAPPERS: &[&str] = &["data", "result", "auth", "session", "payload", "response"];
const LOGIN_SEGMENTS: &[&str] = &[
    "login",
    "signin",
    "logon",
    "token",
    "tokens",
    "session",
    "sessions",
    "authenticate",
    "auth",
    "accesstoken",
    "jwt",
];
const REGISTER_SEGMENTS: &[&str] = &[
    "register",
    "registration",
    "signup",
    "join",
    "createaccount",
    "users",
    "accounts",
];
/// Words of a route that resets, seeds or empties more than one tenant's data.
const DESTRUCTIVE_WORDS: &[&str] = &[
    "reset", "createdb", "dropdb", "resetdb", "initdb", "seed", "drop", "purge", "flush",
    "truncate", "wipe", "nuke", "teardown",
];

fn normalize(name: &str) -> String {
    name.to_ascii_lowercase().replace(['-', '_'], "")
}

/// `userName` -> `user_name`: a variable's name for a body field.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 && !out.ends_with('_') {
            out.push('_');
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// The words of a route (its literal path segments and operationId), for matching names.
fn words(op: &Operation) -> Vec<String> {
    let mut text = String::new();
    for seg in op.path.split('/').filter(|s| !s.starts_with('{')) {
        text.push(' ');
        text.push_str(seg);
    }
    if let Some(id) = &op.operation_id {
        text.push(' ');
        text.push_str(id);
    }
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in text.chars() {
        if !c.is_ascii_alphanumeric() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        word.push(c.to_ascii_lowercase());
    }
    if !word.is_empty() {
        out.push(word);
    }
    // `create_db`, `createDb` and `createdb` alike.
    let pairs: Vec<String> = out
        .windows(2)
        .map(|w| format!("{}{}", w[0], w[1]))
        .collect();
    out.extend(pairs);
    out
}

fn last_segment(path: &str) -> String {
    normalize(
        path.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default(),
    )
}

fn field(schema: &Schema, names: &[&str]) -> Option<String> {
    let props = schema.properties()?;
    names.iter().find_map(|n| {
        props
            .keys()
            .find(|k| k.eq_ignore_ascii_case(n))
            .map(|k| k.to_string())
    })
}

/// Where a token is in a login's answer.
#[derive(Clone, PartialEq)]
enum TokenAt {
    /// A JSONPath into the body (`$.data.token`).
    Json(String),
    /// A response header.
    Header(String),
}

/// The token field of an answer's schema: at the top, or one level down in a wrapper
/// (`data`, `result`, ...); the best name wins, the top level on a tie.
fn token_in(schema: &Schema) -> Option<String> {
    let props = schema.properties()?;
    let rank = |name: &str| TOKEN_FIELDS.iter().position(|t| *t == normalize(name));
    let mut best: Option<(usize, usize, String)> = None;
    let mut consider = |r: Option<usize>, depth: usize, path: String| {
        if let Some(r) = r {
            if best
                .as_ref()
                .is_none_or(|(br, bd, _)| (r, depth) < (*br, *bd))
            {
                best = Some((r, depth, path));
            }
        }
    };
    for (name, prop) in props {
        let is_scalar = matches!(prop.kind, SchemaKind::String | SchemaKind::Any);
        if is_scalar {
            consider(rank(name), 0, format!("$.{name}"));
        }
        if WRAPPERS.contains(&normalize(name).as_str()) {
            if let Some(inner) = prop.properties() {
                for (n, p) in inner {
                    if matches!(p.kind, SchemaKind::String | SchemaKind::Any) {
                        consider(rank(n), 1, format!("$.{name}.{n}"));
                    }
                }
            }
        }
    }
    best.map(|(_, _, path)| path)
}

fn is_csrf(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("csrf") || n.contains("xsrf")
}

/// A CSRF token writes must send: the header it goes in, and where the login's answer has it.
struct Csrf {
    header: String,
    from: Option<TokenAt>,
}

/// A login operation the spec suggests.
struct LoginGuess<'a> {
    op: &'a Operation,
    user: String,
    password: String,
    form: bool,
    /// Where the answer declares a token; `None` when it declares none.
    token: Option<TokenAt>,
    sets_cookie: bool,
    csrf: Option<Csrf>,
}

/// The header the spec's operations take a CSRF token in, if any.
fn csrf_parameter(api: &Api) -> Option<String> {
    api.operations.iter().find_map(|op| {
        op.parameters
            .iter()
            .find(|p| p.location == Location::Header && is_csrf(&p.name))
            .map(|p| p.name.clone())
    })
}

fn guess_login(api: &Api) -> Vec<LoginGuess<'_>> {
    let mut out = Vec::new();
    let csrf_param = csrf_parameter(api);
    for op in &api.operations {
        if op.method != Method::Post || !LOGIN_SEGMENTS.contains(&last_segment(&op.path).as_str()) {
            continue;
        }
        let Some(body) = &op.body else { continue };
        let (Some(user), Some(password)) = (
            field(&body.schema, USER_FIELDS),
            field(&body.schema, PASSWORD_FIELDS),
        ) else {
            continue;
        };
        let success: Vec<&crate::spec::Response> = op
            .responses
            .iter()
            .filter(|r| r.status.starts_with('2') || r.status.starts_with('3'))
            .collect();
        let headers: Vec<&String> = success.iter().flat_map(|r| r.headers.iter()).collect();
        let token = success
            .iter()
            .find_map(|r| r.schema.as_ref().and_then(|s| token_in(s)))
            .map(TokenAt::Json)
            .or_else(|| {
                headers
                    .iter()
                    .find(|h| {
                        let n = normalize(h);
                        !is_csrf(h) && (n == "authorization" || n.contains("token") || n == "xauth")
                    })
                    .map(|h| TokenAt::Header(h.to_string()))
            });
        let sets_cookie = headers.iter().any(|h| h.eq_ignore_ascii_case("set-cookie"));
        let csrf_header = headers.iter().find(|h| is_csrf(h)).map(|h| h.to_string());
        let csrf_body = success.iter().find_map(|r| {
            let props = r.schema.as_ref()?.properties()?;
            props.keys().find(|k| is_csrf(k)).map(|k| format!("$.{k}"))
        });
        let csrf = match (&csrf_header, &csrf_param) {
            (Some(h), _) => Some(Csrf {
                header: csrf_param.clone().unwrap_or_else(|| h.clone()),
                from: Some(TokenAt::Header(h.clone())),
            }),
            (None, Some(p)) => Some(Csrf {
                header: p.clone(),
                from: csrf_body.clone().map(TokenAt::Json),
            }),
            (None, None) => csrf_body.clone().map(|b| Csrf {
                header: "X-CSRF-Token".into(),
                from: Some(TokenAt::Json(b)),
            }),
        };
        out.push(LoginGuess {
            op,
            user,
            password,
            form: body.content_type.contains("x-www-form-urlencoded"),
            token,
            sets_cookie,
            csrf,
        });
    }
    // A login that answers with a token first, then one that sets a cookie.
    out.sort_by_key(|g| (g.token.is_none(), !g.sets_cookie));
    out
}

/// A registration operation whose body takes the login's user and password fields.
fn guess_register<'a>(api: &'a Api, login: &LoginGuess<'_>) -> Option<&'a Operation> {
    api.operations.iter().find(|op| {
        op.method == Method::Post
            && op.path != login.op.path
            && REGISTER_SEGMENTS.contains(&last_segment(&op.path).as_str())
            && op.body.as_ref().is_some_and(|b| {
                field(&b.schema, &[&login.user]).is_some()
                    && field(&b.schema, PASSWORD_FIELDS).is_some()
            })
    })
}

/// A TOML value for a required field of a registration that the login does not fill.
fn filler(name: &str, schema: &Schema) -> Option<String> {
    if let Some(first) = schema.enum_values.first() {
        return Some(match first {
            serde_json::Value::String(s) => format!("\"{}\"", toml_str(s)),
            other => other.to_string(),
        });
    }
    let n = normalize(name);
    match &schema.kind {
        _ if n.contains("password") || n == "password2" => Some("\"{password}\"".into()),
        SchemaKind::String | SchemaKind::Any => Some(
            if schema.format.as_deref() == Some("email") || n.contains("email") {
                "\"{identity}-{unique}@example.test\"".to_string()
            } else {
                "\"{identity} {unique}\"".to_string()
            },
        ),
        SchemaKind::Integer | SchemaKind::Number => Some("1".into()),
        SchemaKind::Boolean => Some("true".into()),
        _ => None,
    }
}

/// The identity's table name for `who` (`A`, `B`).
fn ident(who: &str) -> String {
    format!("identities.user_{}", who.to_ascii_lowercase())
}

fn env_var(who: &str, what: &str) -> String {
    format!("${{env:USER_{who}_{}}}", what.to_ascii_uppercase())
}

/// A way for an identity to authenticate: a title, the TOML lines, what init guessed and what
/// the user must check (comments).
struct Way {
    title: String,
    lines: String,
    notes: Vec<String>,
}

impl Way {
    fn is_table(&self) -> bool {
        self.lines.starts_with('[')
    }
}

/// The request path of an OAuth token URL (absolute or relative) and, when it is absolute, a
/// note that it is sent under base_url.
fn token_path(url: &str) -> (String, Option<String>) {
    match url::Url::parse(url) {
        Ok(u) => (
            u.path().to_string(),
            Some(format!(
                "the spec's tokenUrl is {url}: it is sent under base_url, so both must be on one server"
            )),
        ),
        Err(_) if url.starts_with('/') => (url.to_string(), None),
        Err(_) => (format!("/{url}"), None),
    }
}

fn oauth_way(scheme: &crate::spec::SecurityScheme, token_url: &str, who: &str) -> Way {
    let ident = ident(who);
    let (path, note) = token_path(token_url);
    let mut lines = String::new();
    let _ = writeln!(lines, "[{ident}.login]");
    let _ = writeln!(
        lines,
        "vars = {{ username = \"{}\", password = \"{}\" }}",
        env_var(who, "username"),
        env_var(who, "password")
    );
    let _ = writeln!(
        lines,
        "apply = {{ headers = {{ Authorization = \"Bearer {{token}}\" }} }}"
    );
    let _ = writeln!(lines, "[[{ident}.login.requests]]");
    let _ = writeln!(lines, "method = \"POST\"");
    let _ = writeln!(lines, "path = \"{}\"", toml_str(&path));
    let _ = writeln!(
        lines,
        "form = {{ grant_type = \"password\", username = \"{{username}}\", password = \"{{password}}\" }}"
    );
    let _ = writeln!(
        lines,
        "# form = {{ grant_type = \"password\", username = \"{{username}}\", password = \"{{password}}\", client_id = \"...\", scope = \"...\" }}   # if the server wants a client"
    );
    let _ = writeln!(
        lines,
        "extract = {{ token = {{ json = \"$.access_token\" }} }}"
    );
    let mut notes = vec![format!(
        "guessed: {} declares an OAuth 2 password flow; its token URL answers access_token (RFC 6749)",
        scheme.name
    )];
    notes.extend(note);
    notes.push("check: a client_id (and client_secret) if the server asks for one".into());
    Way {
        title: format!(
            "the OAuth 2 password flow of {} (POST {path}), its access_token sent as a bearer token",
            scheme.name
        ),
        lines,
        notes,
    }
}

fn login_way(api: &Api, login: &LoginGuess<'_>, who: &str) -> Way {
    let ident = ident(who);
    let label = login.op.label();
    let body_key = if login.form { "form" } else { "json" };
    let user_var = snake(&login.user);
    let password_var = "password";
    let bearer_scheme = api
        .security_schemes
        .iter()
        .any(|s| s.kind == "http" && s.scheme.as_deref() == Some("bearer"));
    let cookie_scheme = api
        .security_schemes
        .iter()
        .find(|s| s.kind == "apiKey" && s.location == Some(Location::Cookie));
    // A token when the answer has one and the spec does not say it uses the cookie; the cookie
    // when the login sets one or the spec names one; a token at `$.token` as the last guess.
    let uses_token = match (&login.token, login.sets_cookie || cookie_scheme.is_some()) {
        (Some(_), cookie) => bearer_scheme || !cookie,
        (None, cookie) => !cookie,
    };
    let mut notes = Vec::new();
    let mut lines = String::new();
    let _ = writeln!(lines, "[{ident}.login]");
    let _ = writeln!(
        lines,
        "vars = {{ {} = \"{}\", {password_var} = \"{}\" }}",
        toml_key(&user_var),
        env_var(who, &user_var),
        env_var(who, password_var)
    );
    let mut extract = Vec::new();
    if uses_token {
        let token = login
            .token
            .clone()
            .unwrap_or(TokenAt::Json("$.token".into()));
        match &token {
            TokenAt::Json(path) => {
                extract.push(format!("token = {{ json = \"{}\" }}", toml_str(path)));
                if login.token.is_some() {
                    notes.push(format!(
                        "guessed: the answer's token is at {path} (its schema says so)"
                    ));
                } else {
                    notes.push(
                        "guessed: the spec does not describe the answer; the token is taken at $.token"
                            .into(),
                    );
                    notes.push(
                        "check: where the answer has the token ($.access_token, $.data.token, ...): a failed login names the fields it saw"
                            .into(),
                    );
                }
            }
            TokenAt::Header(h) => {
                extract.push(format!("token = {{ header = \"{}\" }}", toml_str(h)));
                notes.push(format!("guessed: the answer's token is its {h} header"));
            }
        }
        let _ = writeln!(
            lines,
            "apply = {{ headers = {{ Authorization = \"Bearer {{token}}\" }} }}"
        );
        notes
            .push("check: the scheme the API expects (Bearer, Token, JWT) in apply.headers".into());
    } else {
        let cookie = cookie_scheme
            .and_then(|c| c.parameter.clone())
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        let _ = writeln!(
            lines,
            "keep_cookies = true            # send every cookie the login sets{cookie}"
        );
        notes.push(format!(
            "guessed: the login answers with a session cookie{cookie}, sent on every request"
        ));
        match &login.csrf {
            Some(Csrf {
                header,
                from: Some(from),
            }) => {
                let _ = writeln!(
                    lines,
                    "apply = {{ csrf = {{ header = \"{}\", value = \"{{csrf}}\" }} }}   # on writes",
                    toml_str(header)
                );
                let (e, said) = match from {
                    TokenAt::Header(h) => (
                        format!("csrf = {{ header = \"{}\" }}", toml_str(h)),
                        format!("its {h} header"),
                    ),
                    TokenAt::Json(p) => (
                        format!("csrf = {{ json = \"{}\" }}", toml_str(p)),
                        format!("its body at {p}"),
                    ),
                };
                extract.push(e);
                notes.push(format!(
                    "guessed: writes send the CSRF token the login answers in {said}, in the {header} header"
                ));
            }
            Some(Csrf { header, from: None }) => {
                let _ = writeln!(
                    lines,
                    "# apply = {{ csrf = {{ header = \"{}\", value = \"{{csrf}}\" }} }}   # with extract.csrf below",
                    toml_str(header)
                );
                notes.push(format!(
                    "check: operations take a {header} header, but the spec does not say where its value comes from (a cookie such as csrftoken? then extract = {{ csrf = {{ cookie = \"csrftoken\" }} }})"
                ));
            }
            None => {
                let _ = writeln!(
                    lines,
                    "# apply = {{ csrf = {{ header = \"X-CSRF-Token\", value = \"{{csrf}}\" }} }}   # if writes need a CSRF token"
                );
            }
        }
    }
    if let Some(reg) = guess_register(api, login) {
        let public = reg.security != Security::Secured;
        let mut block = String::new();
        let _ = writeln!(block, "[[{ident}.login.register]]");
        let _ = writeln!(block, "method = \"POST\"");
        let _ = writeln!(block, "path = \"{}\"", toml_str(&reg.path));
        let mut fields = Vec::new();
        let mut left_out = Vec::new();
        if let Some(body) = &reg.body {
            let required = match &body.schema.kind {
                SchemaKind::Object { required, .. } => required.clone(),
                _ => Vec::new(),
            };
            for (name, schema) in body.schema.properties().into_iter().flatten() {
                if name.eq_ignore_ascii_case(&login.user) {
                    fields.push(format!("{} = \"{{{user_var}}}\"", toml_key(name)));
                } else if PASSWORD_FIELDS.iter().any(|p| name.eq_ignore_ascii_case(p)) {
                    fields.push(format!("{} = \"{{{password_var}}}\"", toml_key(name)));
                } else if required.contains(name) {
                    match filler(name, schema) {
                        Some(v) => fields.push(format!("{} = {v}", toml_key(name))),
                        None => left_out.push(name.clone()),
                    }
                }
            }
            let key = if body.content_type.contains("x-www-form-urlencoded") {
                "form"
            } else {
                "json"
            };
            let _ = writeln!(block, "{key} = {{ {} }}", fields.join(", "));
        }
        if public {
            lines.push_str(&block);
            notes.push(format!(
                "guessed: {} registers the account first, once per run; an account that already exists (409, or a refusal saying so) is logged in to",
                reg.label()
            ));
            notes.push(
                "check: the other fields of the registration; to register fresh names each run instead, set vars to e.g. \"user-a-{unique}@example.test\""
                    .into(),
            );
        } else {
            lines.push_str(&comment_out(&block));
            lines.push('\n');
            notes.push(format!(
                "guessed: {} could register the account, but the spec says it needs credentials: uncomment it if anyone may register",
                reg.label()
            ));
        }
        if !left_out.is_empty() {
            notes.push(format!(
                "check: the registration also requires {} (left out: fill them in)",
                left_out.join(", ")
            ));
        }
    }
    let _ = writeln!(lines, "[[{ident}.login.requests]]");
    let _ = writeln!(lines, "method = \"POST\"");
    let _ = writeln!(lines, "path = \"{}\"", toml_str(&login.op.path));
    let _ = writeln!(
        lines,
        "{body_key} = {{ {} = \"{{{user_var}}}\", {} = \"{{{password_var}}}\" }}",
        toml_key(&login.user),
        toml_key(&login.password)
    );
    if !extract.is_empty() {
        let _ = writeln!(lines, "extract = {{ {} }}", extract.join(", "));
    }
    notes.insert(
        0,
        format!(
            "guessed: {label} is the login (its {} body has {} and {})",
            if login.form { "form" } else { "JSON" },
            login.user,
            login.password
        ),
    );
    let title = if uses_token {
        format!("log in with {label} and send the token as a bearer token")
    } else if login.csrf.as_ref().is_some_and(|c| c.from.is_some()) {
        format!(
            "log in with {label} and send the session cookie it sets, and its CSRF token on writes"
        )
    } else {
        format!("log in with {label} and send the session cookie it sets")
    };
    Way {
        title,
        lines,
        notes,
    }
}

/// The ways identity `who` (`A` or `B`) can authenticate, best first.
fn ways(api: &Api, who: &str) -> Vec<Way> {
    let mut out = Vec::new();
    let schemes = &api.security_schemes;
    let mut oauth_paths = Vec::new();
    for s in schemes {
        if let (Some(url), "oauth2") = (&s.token_url, s.kind.as_str()) {
            oauth_paths.push(token_path(url).0);
            out.push(oauth_way(s, url, who));
        }
    }
    for login in guess_login(api) {
        if oauth_paths.contains(&login.op.path) {
            continue;
        }
        out.push(login_way(api, &login, who));
    }
    for s in schemes {
        let (title, line) = match (s.kind.as_str(), s.scheme.as_deref(), s.location) {
            ("http", Some("bearer"), _) => (
                format!("a bearer token ({})", s.name),
                format!(
                    "headers = {{ Authorization = \"Bearer {}\" }}",
                    env_var(who, "token")
                ),
            ),
            ("http", Some("basic"), _) => (
                format!("HTTP basic ({})", s.name),
                format!(
                    "basic = {{ username = \"{}\", password = \"{}\" }}",
                    env_var(who, "username"),
                    env_var(who, "password")
                ),
            ),
            ("apiKey", _, Some(location)) => {
                let name = s.parameter.clone().unwrap_or_default();
                let key = match location {
                    Location::Header => "headers",
                    Location::Query => "query",
                    Location::Cookie => "cookies",
                    _ => continue,
                };
                let what = if location == Location::Cookie {
                    "session"
                } else {
                    "api_key"
                };
                (
                    format!(
                        "an API key in the {} {name} ({})",
                        location_word(location),
                        s.name
                    ),
                    format!(
                        "{key} = {{ {} = \"{}\" }}",
                        toml_key(&name),
                        env_var(who, what)
                    ),
                )
            }
            ("oauth2", _, _) | ("openIdConnect", _, _) => (
                format!("a token of {} obtained beforehand", s.name),
                format!(
                    "headers = {{ Authorization = \"Bearer {}\" }}",
                    env_var(who, "token")
                ),
            ),
            _ => continue,
        };
        if out.iter().any(|w| w.lines.trim_end() == line) {
            continue;
        }
        out.push(Way {
            title,
            lines: format!("{line}\n"),
            notes: Vec::new(),
        });
    }
    if out.is_empty() {
        out.push(Way {
            title: "a header (the spec declares no security scheme)".into(),
            lines: format!(
                "headers = {{ Authorization = \"Bearer {}\" }}\n",
                env_var(who, "token")
            ),
            notes: vec!["check: how the API authenticates; the spec does not say".into()],
        });
    }
    out
}

fn location_word(l: Location) -> &'static str {
    match l {
        Location::Header => "header",
        Location::Query => "query parameter",
        Location::Cookie => "cookie",
        _ => "parameter",
    }
}

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        format!("\"{}\"", toml_str(k))
    }
}

fn comment_out(lines: &str) -> String {
    lines
        .lines()
        .map(|l| {
            if l.starts_with('#') {
                l.to_string()
            } else {
                format!("# {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `base_url` from the spec's servers, and comments on it.
fn base_url(api: &Api) -> (String, Vec<String>) {
    const FALLBACK: &str = "http://127.0.0.1:8080";
    let mut notes = Vec::new();
    let Some(first) = api.servers.first() else {
        notes.push("The spec names no server: put the API's URL here.".into());
        return (FALLBACK.into(), notes);
    };
    let url = match url::Url::parse(first) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {
            let host = u.host_str().unwrap_or_default().to_ascii_lowercase();
            let local = host == "localhost"
                || host.ends_with(".localhost")
                || host.starts_with("127.")
                || host == "0.0.0.0"
                || host == "[::1]"
                || host == "::1";
            if local {
                notes.push(format!(
                    "From the spec's servers: {first} is a local address; check that the API runs there (its port too)."
                ));
            } else {
                notes.push(format!(
                    "From the spec's servers: {first}. Check that this is a deployment you may test (not production), with test accounts."
                ));
            }
            first.trim_end_matches('/').to_string()
        }
        Ok(_) => {
            notes.push(format!(
                "The spec's server {first} is not http(s): put the API's URL here."
            ));
            FALLBACK.into()
        }
        Err(_) => {
            let path = first.trim_end_matches('/');
            notes.push(format!(
                "The spec's server is relative ({first}): put the API's origin in front of it."
            ));
            format!(
                "{FALLBACK}{}",
                if path.starts_with('/') {
                    path.to_string()
                } else {
                    format!("/{path}")
                }
            )
        }
    };
    if api.servers.len() > 1 {
        notes.push(format!(
            "Other servers in the spec: {}.",
            api.servers[1..].join(", ")
        ));
    }
    (url, notes)
}

/// Operations a campaign should leave alone: routes that reset, seed or empty the whole
/// database, DELETEs of a whole collection, and deleting the caller's own account (the
/// identity could not log in again). Each with why.
fn excludes(api: &Api) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for op in &api.operations {
        if matches!(op.method, Method::Head | Method::Options) {
            continue;
        }
        let w = words(op);
        let last = last_segment(&op.path);
        let literal_end = !op.path.trim_end_matches('/').ends_with('}');
        // `DELETE /attachments?attachmentId=...` deletes one item, not the collection.
        let names_an_item = op.body.is_some()
            || op
                .parameters
                .iter()
                .any(|p| p.required && p.location == Location::Query);
        let why = if let Some(word) = DESTRUCTIVE_WORDS.iter().find(|d| w.iter().any(|x| x == *d)) {
            Some(format!(
                "'{word}': it may reset or empty data of every tenant"
            ))
        } else if op.method == Method::Delete
            && literal_end
            && ["me", "account", "profile", "self"].contains(&last.as_str())
        {
            Some("deletes the caller's own account: the identity could not log in again".into())
        } else if op.method == Method::Delete
            && literal_end
            && !names_an_item
            && !LOGIN_SEGMENTS.contains(&last.as_str())
            && !["logout", "signout", "logoff"].contains(&last.as_str())
        {
            Some("a DELETE of a whole collection".into())
        } else {
            None
        };
        if let Some(why) = why {
            let selector = format!("{} {}", op.method.as_str(), op.path);
            if !out.iter().any(|(s, _)| *s == selector) {
                out.push((selector, why));
            }
        }
    }
    out
}

/// The config text for `api`, naming the spec as `spec_ref`.
pub(crate) fn template(api: &Api, spec_ref: &str) -> String {
    let mut t = String::new();
    let control = crate::identity::infer_control(api).map(|op| api.operations[op].label());
    let (base_url, base_notes) = base_url(api);
    let _ = writeln!(
        t,
        "# tenantfuzz configuration for {} ({}), written by `tenantfuzz init`.",
        api.title, api.source
    );
    t.push_str(
        r#"#
# Fill in the ${env:...} variables below (export them, or replace a value by ${file:PATH}),
# check base_url, then:
#   tenantfuzz plan --config tenantfuzz.toml   # the model and attack plan; sends nothing
#   tenantfuzz run --config tenantfuzz.toml
# Values written ${env:NAME} come from the environment and ${file:PATH} from a file (relative
# to this one). Credentials are secrets: they reach no log line, report or repro script.
# Unknown keys are errors.

# The OpenAPI description (3.0 or 3.1, YAML or JSON), relative to this file.
"#,
    );
    let _ = writeln!(t, "spec = \"{}\"", toml_str(spec_ref));
    t.push_str(
        "# The API under test. Requests go only to URLs under it (the spec's servers are never used).\n",
    );
    for note in &base_notes {
        let _ = writeln!(t, "# {note}");
    }
    let _ = writeln!(t, "base_url = \"{}\"", toml_str(&base_url));
    t.push_str(
        r#"# A Web Fuzzing Commons auth file (EvoMaster, Schemathesis): each user becomes an identity
# (its own tenant unless [identities.NAME] below gives one).
# auth_file = "auth.yaml"

# Two or more identities, in at least two tenants. Each attacks every identity of another
# tenant (and anonymous attacks everyone); identities of one tenant are never attacked against
# each other. Per identity:
#   tenant   its tenant (organisation, workspace, account)                  required
#   role     e.g. owner, member, admin; plan   e.g. free, pro               recorded
#   headers  = { NAME = "value" }    sent with every request
#   query    = { NAME = "value" }    appended to every URL (an API key in the query)
#   cookies  = { NAME = "value" }    sent in one Cookie header
#   basic    = { username = "...", password = "..." }   HTTP basic
#   health   = "GET /me"   the positive control: it must answer 2xx before the run, and two
#                          identities must not get the same answer (the same account)
#   [identities.NAME.login]   obtain credentials by logging in (and again whenever a
#                             request answers 401 and the positive control fails too):
#     vars = { NAME = "value" }  values for {NAME} templates; {unique} (random, fixed for the
#                                run) and {identity} always exist
#     keep_cookies = true        send every cookie the login responses set
#     apply = { headers = {...}, query = {...}, cookies = {...}, basic = {...},
#               csrf = { header = "X-CSRF-Token", value = "{csrf}" } }
#                                what every request then sends (csrf: on writes only)
#     [[identities.NAME.login.register]]   requests sent once first, to create a fresh account
#     [[identities.NAME.login.requests]]   the login requests, in order:
#       method = "POST"; path = "/login"
#       headers = {...}; json = {...} or form = {...} or body = "..." with content_type
#       extract = { NAME = { json = "$.token" } }   (a JSONPath or a /json/pointer),
#                 { header = "X-CSRF-Token" } or { cookie = "session" }
"#,
    );
    for (who, tenant) in [("A", "tenant-a"), ("B", "tenant-b")] {
        let ways = ways(api, who);
        let _ = writeln!(t, "\n[identities.user_{}]", who.to_ascii_lowercase());
        let _ = writeln!(t, "tenant = \"{tenant}\"");
        t.push_str("# role = \"owner\"\n# plan = \"free\"\n");
        match &control {
            Some(c) => {
                let _ = writeln!(t, "health = \"{c}\"");
            }
            None => t.push_str(
                "# health = \"GET /me\"   # none inferred from the spec: name a GET without parameters\n",
            ),
        }
        // Keys must come before the identity's sub-tables in TOML: the alternatives that are
        // plain keys go first, the chosen way next, other login flows (tables) last.
        for way in ways[1..].iter().filter(|w| !w.is_table()) {
            let _ = writeln!(t, "# Or {}:", way.title);
            let _ = writeln!(t, "{}", comment_out(&way.lines));
        }
        let chosen = &ways[0];
        let _ = writeln!(t, "# Credentials: {}.", chosen.title);
        if who == "A" {
            for note in &chosen.notes {
                let _ = writeln!(t, "#   {note}");
            }
        } else if !chosen.notes.is_empty() {
            t.push_str("#   (guessed as for user_a, with the USER_B_ variables)\n");
        }
        t.push_str(&chosen.lines);
        for way in ways[1..].iter().filter(|w| w.is_table()) {
            let _ = writeln!(t, "# Or {} (instead of the login above):", way.title);
            let _ = writeln!(t, "{}", comment_out(&way.lines));
        }
    }
    t.push_str(
        r#"
[campaign]
# seed = 0               # same seed, same findings and steps
# concurrency = 8        # requests in flight at once
# confirmations = 2      # replays a violation must survive (all of them) to be confirmed
# cases = 64             # proptest-drawn scenarios explored after the systematic phase
# systematic = true      # the systematic phase (off: exploration only)
# max_steps = 8          # moves in an explored scenario
# shrink_iterations = 64 # bounds on shrinking one finding
# shrink_seconds = 30
# exclude = ["DELETE /admin/users/{userId}", "resetDatabase", "tag:billing", "POST /admin/*"]
EXCLUDES# timeout_seconds = 30   # per request
# rate = 20              # requests per second over the whole run (default: no limit)
# max_seconds = 600      # stop starting new probes after this (after 4/5 once a violation awaits confirmation); the cleanup still runs
# session_check_seconds = 60   # each session re-proves itself with its positive control this
#                              # often, catching sessions that die without a 401 (0: off)
# shard = "1/3"         # run only part 1 of 3, split by operation (usually --shard I/N in CI)

# [[model.ids]]          # where a create's id comes back, when inference gets it wrong
# operation = "createThing"
# pointer = "/data/id"
# [[model.links]]        # a parameter that takes a resource's id, when naming does not say so
# operation = "GET /search"
# parameter = "query.owner"   # path.NAME, query.NAME, header.NAME or body./pointer
# resource = "user"

[output]
# report_json = "tenantfuzz-report.json"
# repro_dir = "repro"
"#,
    );
    let excluded = excludes(api);
    let block = if excluded.is_empty() {
        String::new()
    } else {
        let mut b = String::from(
            "# Proposed by init: routes that look destructive or global. Check each; remove a line\n# to attack that route too.\nexclude = [\n",
        );
        for (selector, why) in &excluded {
            let _ = writeln!(b, "    \"{}\",   # {why}", toml_str(selector));
        }
        b.push_str("]\n");
        b
    };
    t.replace("EXCLUDES", &block)
}

#[cfg(all(test, feature = "demo"))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn the_demo_gets_a_json_login_and_every_alternative() {
        let api = crate::spec::load_str(crate::demo::SPEC_YAML, "specs/demo.yaml").unwrap();
        let text = template(&api, "specs/demo.yaml");
        assert!(text.contains("path = \"/auth/login\""), "{text}");
        assert!(
            text.contains("extract = { token = { json = \"$.token\" } }"),
            "{text}"
        );
        assert!(text.contains("health = \"GET /me\""), "{text}");
        assert!(
            text.contains("# query = { api_key = \"${env:USER_A_API_KEY}\" }"),
            "{text}"
        );
        assert!(text.contains("# basic = { username"), "{text}");
        let vars = |name: &str| Some(format!("value-of-{name}"));
        let s = Settings::parse(&text, "init.toml", Path::new("/x"), &vars).unwrap();
        s.validate().unwrap();
        assert_eq!(s.identities.len(), 2);
        assert!(s.identities.iter().all(|i| i.auth.login.is_some()));
        assert_eq!(s.identities[0].auth.health.as_deref(), Some("GET /me"));
        // An uncommented alternative lands in the identity's own table.
        let uncommented = text.replace("# basic = {", "basic = {");
        let s = Settings::parse(&uncommented, "init.toml", Path::new("/x"), &vars).unwrap();
        assert!(
            s.identities
                .iter()
                .all(|i| i.auth.credentials.basic.is_some())
        );
    }
}
