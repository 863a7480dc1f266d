//! `tenantfuzz init`: a commented `tenantfuzz.toml` derived from a spec's security schemes and
//! its likely login operation. Every key is documented in place; the credentials are
//! `${env:...}` placeholders, so the file runs as soon as those variables are set.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::{CliError, Outcome};
use crate::spec::{Api, Location, Method, Operation, Schema};

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

const USER_FIELDS: &[&str] = &["email", "username", "user", "login", "name", "mail"];
const PASSWORD_FIELDS: &[&str] = &["password", "pass", "passwd", "secret"];
const TOKEN_FIELDS: &[&str] = &[
    "token",
    "access_token",
    "accessToken",
    "jwt",
    "id_token",
    "idToken",
    "sessionToken",
    "authToken",
];
const LOGIN_SEGMENTS: &[&str] = &[
    "login",
    "signin",
    "token",
    "tokens",
    "session",
    "sessions",
    "authenticate",
    "auth",
];

/// A login operation the spec suggests: its user and password fields, how its body is sent,
/// and the token field of its answer (if it answers with one).
struct LoginGuess<'a> {
    op: &'a Operation,
    user: String,
    password: String,
    form: bool,
    token: Option<String>,
    sets_cookie: bool,
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

fn guess_login(api: &Api) -> Vec<LoginGuess<'_>> {
    let mut out = Vec::new();
    for op in &api.operations {
        if op.method != Method::Post {
            continue;
        }
        let last = op
            .path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
            .replace(['-', '_'], "");
        if !LOGIN_SEGMENTS.contains(&last.as_str()) {
            continue;
        }
        let Some(body) = &op.body else { continue };
        let (Some(user), Some(password)) = (
            field(&body.schema, USER_FIELDS),
            field(&body.schema, PASSWORD_FIELDS),
        ) else {
            continue;
        };
        let success = op.responses.iter().filter(|r| r.status.starts_with('2'));
        let token = success
            .clone()
            .find_map(|r| r.schema.as_ref().and_then(|s| field(s, TOKEN_FIELDS)));
        let sets_cookie = success.clone().any(|r| {
            r.headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case("set-cookie"))
        });
        out.push(LoginGuess {
            op,
            user,
            password,
            form: body.content_type.contains("x-www-form-urlencoded"),
            token,
            sets_cookie,
        });
    }
    // A login that answers with a token first, then one that sets a cookie.
    out.sort_by_key(|g| (g.token.is_none(), !g.sets_cookie));
    out
}

/// The credential lines of identity `who` (`A` or `B`) for each way the spec offers, best
/// first. Each entry: (a title, the TOML lines).
fn ways(api: &Api, who: &str) -> Vec<(String, String)> {
    let var = |what: &str| format!("${{env:USER_{who}_{what}}}");
    let ident = format!("identities.user_{}", who.to_ascii_lowercase());
    let mut out = Vec::new();
    let schemes = &api.security_schemes;
    let bearer = schemes
        .iter()
        .any(|s| s.kind == "http" && s.scheme.as_deref() == Some("bearer"));
    let cookie_scheme = schemes
        .iter()
        .find(|s| s.kind == "apiKey" && s.location == Some(Location::Cookie));
    for login in guess_login(api) {
        let label = login.op.label();
        let body_key = if login.form { "form" } else { "json" };
        let mut lines = String::new();
        let _ = writeln!(lines, "[{ident}.login]");
        let _ = writeln!(
            lines,
            "vars = {{ user = \"{}\", password = \"{}\" }}",
            var("EMAIL"),
            var("PASSWORD")
        );
        let apply = match (&login.token, login.sets_cookie, cookie_scheme) {
            (Some(_), _, _) if bearer || cookie_scheme.is_none() => {
                "apply = { headers = { Authorization = \"Bearer {token}\" } }".to_string()
            }
            (_, _, Some(c)) => {
                let name = c.parameter.clone().unwrap_or_else(|| "session".into());
                format!(
                    "keep_cookies = true            # send every cookie the login sets ({name})\n# apply.csrf = {{ header = \"X-CSRF-Token\", value = \"{{csrf}}\" }}   # if writes need a CSRF token"
                )
            }
            (Some(_), _, None) => {
                "apply = { headers = { Authorization = \"Bearer {token}\" } }".to_string()
            }
            (None, _, None) => "keep_cookies = true".to_string(),
        };
        let _ = writeln!(lines, "{apply}");
        let _ = writeln!(lines, "[[{ident}.login.requests]]");
        let _ = writeln!(lines, "method = \"POST\"");
        let _ = writeln!(lines, "path = \"{}\"", toml_str(&login.op.path));
        let _ = writeln!(
            lines,
            "{body_key} = {{ {} = \"{{user}}\", {} = \"{{password}}\" }}",
            toml_key(&login.user),
            toml_key(&login.password)
        );
        if !apply.contains("{token}") {
            let _ = writeln!(
                lines,
                "# extract = {{ csrf = {{ header = \"X-CSRF-Token\" }} }}   # with apply.csrf"
            );
        }
        if let Some(token) = &login.token {
            if apply.contains("{token}") {
                let _ = writeln!(
                    lines,
                    "extract = {{ token = {{ json = \"$.{}\" }} }}",
                    toml_str(token)
                );
            }
        }
        let title = if apply.contains("{token}") {
            format!("log in with {label} and send the token as a bearer token")
        } else {
            format!("log in with {label} and send the session cookie it sets")
        };
        out.push((title, lines));
    }
    for s in schemes {
        let (title, line) = match (s.kind.as_str(), s.scheme.as_deref(), s.location) {
            ("http", Some("bearer"), _) => (
                format!("a bearer token ({})", s.name),
                format!(
                    "headers = {{ Authorization = \"Bearer {}\" }}",
                    var("TOKEN")
                ),
            ),
            ("http", Some("basic"), _) => (
                format!("HTTP basic ({})", s.name),
                format!(
                    "basic = {{ username = \"{}\", password = \"{}\" }}",
                    var("EMAIL"),
                    var("PASSWORD")
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
                (
                    format!(
                        "an API key in the {} {name} ({})",
                        location_word(location),
                        s.name
                    ),
                    format!("{key} = {{ {} = \"{}\" }}", toml_key(&name), var("API_KEY")),
                )
            }
            _ => continue,
        };
        out.push((title, format!("{line}\n")));
    }
    if out.is_empty() {
        out.push((
            "a header (the spec declares no security scheme)".into(),
            format!(
                "headers = {{ Authorization = \"Bearer {}\" }}\n",
                var("TOKEN")
            ),
        ));
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

/// The config text for `api`, naming the spec as `spec_ref`.
pub(crate) fn template(api: &Api, spec_ref: &str) -> String {
    let mut t = String::new();
    let control = crate::identity::infer_control(api).map(|op| api.operations[op].label());
    let base_url = "http://127.0.0.1:8080";
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
    let _ = writeln!(t, "base_url = \"{base_url}\"");
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
        let is_table = |lines: &str| lines.starts_with('[');
        for (title, lines) in ways[1..].iter().filter(|(_, l)| !is_table(l)) {
            let _ = writeln!(t, "# Or {title}:");
            let _ = writeln!(t, "{}", comment_out(lines));
        }
        let (title, lines) = &ways[0];
        let _ = writeln!(t, "# Credentials: {title}.");
        t.push_str(lines);
        for (title, lines) in ways[1..].iter().filter(|(_, l)| is_table(l)) {
            let _ = writeln!(t, "# Or {title} (instead of the login above):");
            let _ = writeln!(t, "{}", comment_out(lines));
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
# timeout_seconds = 30   # per request
# rate = 20              # requests per second over the whole run (default: no limit)
# max_seconds = 600      # stop starting new probes after this; the cleanup still runs
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
    t
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
