//! Reproductions for hurl: the same minimal steps as the bash + curl script, as a `.hurl` file
//! whose captures carry ids from one step to the next and whose asserts express the evidence.
//! It passes while the bug is present and fails once it is fixed. Credentials are hurl
//! variables (`{{bob_authorization}}`), never literal; markers are renewed with `{{run}}`.

use std::fmt::Write;

use serde_json::Value;

use super::repro::{
    Dialect, body_text, captured, evidence_step, fresh_values, heading, query_credentials,
    query_secrets, refresh, remember, step_captures, url_text,
};
use crate::finding::{Finding, Kind};

/// The hurl variable that holds `identity`'s `header` value.
pub fn credential_var(identity: &str, header: &str) -> String {
    super::repro::variable(identity, header, char::to_ascii_lowercase)
}

/// The file name of a finding's hurl file (the curl script's name with `.hurl`).
pub fn file_name(f: &Finding) -> String {
    let sh = super::curl::file_name(f);
    format!("{}.hurl", sh.trim_end_matches(".sh"))
}

/// A JSON pointer as a JSONPath: `/items/0/id` -> `$.items[0].id`.
fn jsonpath(pointer: &str) -> String {
    let mut out = String::from("$");
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
            let _ = write!(out, "[{token}]");
        } else if !token.is_empty()
            && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !token.starts_with(|c: char| c.is_ascii_digit())
        {
            let _ = write!(out, ".{token}");
        } else {
            let _ = write!(
                out,
                "['{}']",
                token.replace('\\', "\\\\").replace('\'', "\\'")
            );
        }
    }
    out
}

/// Text for a hurl quoted string.
fn quoted(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// How the file writes ids, markers and the base URL: hurl templates, the text as recorded.
const HURL: Dialect = Dialect {
    base_url: "{{base_url}}",
    run: "tfz{{run}}",
    id: |n| format!("{{{{id_{n}}}}}"),
    // hurl's own generator: a new uuid wherever it stands.
    fresh: |_| "{{newUuid}}".to_string(),
    credential: |identity, key| format!("{{{{{}}}}}", credential_var(identity, key)),
    escape: str::to_string,
    pretty: true,
};

/// Replaces the run's marker prefix by `tfz{{run}}`.
fn renew(text: &str, run_prefix: &str) -> String {
    super::repro::renew(text, run_prefix, &HURL)
}

/// The asserts that express the evidence, by 0-based step index.
/// Values to capture beyond the ids later steps use: (step, variable, query).
type Extra = Vec<(usize, String, String)>;

/// Whether hurl can reproduce a finding: webhook events need a fresh HMAC signature, which
/// hurl cannot compute (the bash script signs them with openssl).
pub fn supported(f: &Finding) -> bool {
    !matches!(f.kind, Kind::WebhookUnsigned | Kind::WebhookReplay)
}

/// A JSON value as a hurl predicate value.
fn literal(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{}\"", quoted(s)),
        other => other.to_string(),
    }
}

/// The JSON pointer of the first place `value` appears (as a string or number) in `v`.
fn pointer_of(v: &Value, value: &str, at: &str) -> Option<String> {
    match v {
        Value::Object(map) => map.iter().find_map(|(k, x)| {
            pointer_of(
                x,
                value,
                &format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
            )
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| pointer_of(x, value, &format!("{at}/{i}"))),
        Value::String(s) if s == value => Some(at.to_string()),
        Value::Number(n) if n.to_string() == value => Some(at.to_string()),
        _ => None,
    }
}

fn asserts(f: &Finding, run_prefix: &str) -> (Vec<(usize, Vec<String>)>, Extra) {
    let index = |role: &str| f.steps.iter().position(|s| s.role == role);
    let last = f.steps.len().saturating_sub(1);
    let attack = index("attack").unwrap_or(last);
    let marker = f
        .evidence_markers
        .first()
        .map(|m| quoted(&renew(m, run_prefix)));
    let contains = |m: &String| format!("body contains \"{m}\"");
    let mut extra: Extra = Vec::new();
    let by_read_back = |marker: &Option<String>| {
        let after = index("read-back").unwrap_or(last);
        let mut list = vec!["status < 300".to_string()];
        list.extend(marker.as_ref().map(contains));
        vec![(after, list)]
    };
    let list = match f.kind {
        Kind::BolaDelete => {
            let before = index("control").unwrap_or(attack);
            let after = index("read-back").unwrap_or(last);
            match marker {
                // Gone from a read-back that answered (2xx, or 404/410 for the object itself);
                // an error or a refusal proves nothing.
                Some(m) => vec![
                    (before, vec![contains(&m)]),
                    (
                        after,
                        vec![
                            "status < 500".into(),
                            "status != 401".into(),
                            "status != 403".into(),
                            format!("body not contains \"{m}\""),
                        ],
                    ),
                ],
                None => vec![
                    (before, vec!["status < 300".into()]),
                    (after, vec!["status >= 404".into(), "status <= 410".into()]),
                ],
            }
        }
        Kind::BolaWrite => by_read_back(&marker),
        Kind::Unauthenticated => {
            let shown_in = evidence_step(f).unwrap_or(attack);
            vec![(
                shown_in,
                marker.as_ref().map(contains).into_iter().collect(),
            )]
        }
        Kind::MassAssignment => match &f.evidence_field {
            // The caller's own read-back follows the privileged value, then the original.
            Some(field) => {
                let reads: Vec<usize> = f
                    .steps
                    .iter()
                    .enumerate()
                    .filter(|(_, st)| st.role == "read-back")
                    .map(|(i, _)| i)
                    .collect();
                let control = f.steps[..attack]
                    .iter()
                    .rposition(|st| st.role == "control");
                let at = |i: usize| {
                    f.steps[i]
                        .exchange
                        .response_body
                        .get()
                        .and_then(|b| b.pointer(field).cloned())
                };
                let injected = f.steps[attack]
                    .exchange
                    .request_body
                    .as_ref()
                    .and_then(|b| b.pointer(field).cloned());
                let path = quoted(&jsonpath(field));
                match (control, reads.first(), reads.get(1), injected) {
                    (Some(c), Some(r1), Some(r2), Some(v)) => {
                        let original = at(c).unwrap_or(Value::Null);
                        vec![
                            (c, vec![format!("jsonpath \"{path}\" != {}", literal(&v))]),
                            (*r1, vec![format!("jsonpath \"{path}\" == {}", literal(&v))]),
                            (
                                *r2,
                                vec![format!("jsonpath \"{path}\" == {}", literal(&original))],
                            ),
                        ]
                    }
                    _ => vec![(attack, vec!["status < 0".into()])],
                }
            }
            None => by_read_back(&marker),
        },
        Kind::Bfla | Kind::PlanBypass => {
            if index("read-back").is_some() {
                by_read_back(&marker)
            } else if let Some(m) = &marker {
                vec![(attack, vec!["status < 300".into(), contains(m)])]
            } else {
                // Ids only the victim's own lists show: captured there, found in the answer.
                let shown = f.steps[attack].exchange.response_text();
                let mut found = None;
                for (i, st) in f.steps[..attack].iter().enumerate() {
                    if st.identity != f.victim || st.role != "control" {
                        continue;
                    }
                    let Some(body) = st.exchange.response_body.get() else {
                        continue;
                    };
                    let mut ids = std::collections::BTreeSet::new();
                    crate::exchange::ids_in(body, &mut ids);
                    if let Some(id) = ids.iter().find(|id| shown.contains(id.as_str())) {
                        if let Some(p) = pointer_of(body, id, "") {
                            found = Some((i, p));
                            break;
                        }
                    }
                }
                match found {
                    Some((i, p)) => {
                        extra.push((
                            i,
                            "foreign_id".into(),
                            format!("jsonpath \"{}\"", quoted(&jsonpath(&p))),
                        ));
                        vec![(
                            attack,
                            vec![
                                "status < 300".into(),
                                "body contains \"{{foreign_id}}\"".into(),
                            ],
                        )]
                    }
                    None => vec![(attack, vec!["status < 0".into()])],
                }
            }
        }
        Kind::ExistenceLeak => {
            // The statuses the run saw: another tenant's id, and one that does not exist.
            let absent = f.steps[..attack]
                .iter()
                .rposition(|st| st.identity == f.attacker)
                .unwrap_or(attack);
            let status = |i: usize| f.steps[i].exchange.status.unwrap_or(0);
            vec![
                (absent, vec![format!("status == {}", status(absent))]),
                (attack, vec![format!("status == {}", status(attack))]),
            ]
        }
        _ => vec![(attack, marker.as_ref().map(contains).into_iter().collect())],
    };
    (list, extra)
}

/// The hurl file of one finding. `run_prefix` is `tfz` + the campaign's run tag.
pub fn file(f: &Finding, run_prefix: &str, base_url: &str) -> String {
    let mut s = String::new();
    heading(&mut s, f);
    // (hurl variable, identity, what it holds, the curl script's environment variable)
    let mut vars: Vec<(String, String, String, String)> = Vec::new();
    for step in &f.steps {
        let mut add = |var: String, what: String, env: String| {
            if !vars.iter().any(|(v, ..)| *v == var) {
                vars.push((var, step.identity.clone(), what, env));
            }
        };
        for (name, value) in &step.exchange.request_headers {
            if value == super::redact::REDACTED {
                add(
                    credential_var(&step.identity, name),
                    format!("the {name} header value"),
                    super::curl::credential_var(&step.identity, name),
                );
            }
        }
        for name in query_credentials(&step.exchange.url) {
            let key = format!("query_{name}");
            add(
                credential_var(&step.identity, &key),
                format!("the URL-encoded {name} query parameter"),
                super::curl::credential_var(&step.identity, &key),
            );
        }
    }
    let _ = writeln!(s, "#");
    for (var, identity, what, _) in &vars {
        let _ = writeln!(s, "# {var}: {what} of {identity}");
    }
    let _ = writeln!(s, "# Run it (hurl 5 or later):");
    let _ = writeln!(s, "#   hurl --test \\");
    let _ = writeln!(
        s,
        "#     --variable base_url={} \\",
        base_url.trim_end_matches('/')
    );
    let _ = writeln!(s, "#     --variable run=\"$(date +%s)\" \\");
    for (var, _, _, env) in &vars {
        let _ = writeln!(s, "#     --secret {var}=\"${env}\" \\");
    }
    let _ = writeln!(s, "#     {}", file_name(f));
    let _ = writeln!(
        s,
        "# (hurl 4: --variable instead of --secret; variables can also come from HURL_VARIABLE_<name>)"
    );
    let _ = writeln!(
        s,
        "# It passes while the bug is present (the asserts are the evidence) and fails once it is fixed."
    );
    let _ = writeln!(
        s,
        "# `run` renews the markers this file sends; any short alphanumeric text will do."
    );
    if f.steps.iter().any(|st| !st.fresh.is_empty()) {
        let _ = writeln!(
            s,
            "# {{{{newUuid}}}} (a hurl function) sends a new uuid where the campaign made one up."
        );
    }
    let captured = captured(f);
    let fresh = fresh_values(f);
    let (asserts, extra) = asserts(f, run_prefix);
    let mut known: Vec<(String, usize)> = Vec::new();
    for (i, step) in f.steps.iter().enumerate() {
        let n = i + 1;
        let ex = &step.exchange;
        let _ = writeln!(s, "\n# {n}. {} ({})", step.identity, step.role);
        let caps = step_captures(step, &known);
        let url = query_secrets(
            renew(&url_text(&ex.url, base_url, &caps, &HURL), run_prefix),
            &ex.url,
            &step.identity,
            &HURL,
        );
        let _ = writeln!(s, "{} {url}", ex.method);
        for (name, value) in &ex.request_headers {
            let value = if value == super::redact::REDACTED {
                format!("{{{{{}}}}}", credential_var(&step.identity, name))
            } else {
                renew(value, run_prefix)
            };
            let _ = writeln!(s, "{name}: {value}");
        }
        if let Some(body) = &ex.request_body {
            let body = renew(&body_text(body, &caps, &HURL), run_prefix);
            let _ = writeln!(s, "{}", refresh(&body, &fresh, &HURL));
        }
        let _ = writeln!(s, "HTTP *");
        let more: Vec<&(usize, String, String)> =
            extra.iter().filter(|(at, ..)| *at == i).collect();
        let id_capture = captured.iter().find(|(from, _)| *from == i);
        if id_capture.is_some() || !more.is_empty() {
            let _ = writeln!(s, "[Captures]");
        }
        for (_, name, query) in more {
            let _ = writeln!(s, "{name}: {query}");
        }
        if let Some((_, pointer)) = id_capture {
            let query = match pointer.as_str() {
                "header:Location" => "header \"Location\" regex \"([^/?#]+)/*(?:[?#].*)?$\"".into(),
                p => format!("jsonpath \"{}\"", quoted(&jsonpath(p))),
            };
            let _ = writeln!(s, "id_{n}: {query}");
            remember(f, i, &mut known);
        }
        let mine: Vec<&String> = asserts
            .iter()
            .filter(|(at, _)| *at == i)
            .flat_map(|(_, list)| list)
            .collect();
        if !mine.is_empty() {
            let _ = writeln!(s, "[Asserts]");
            for a in mine {
                let _ = writeln!(s, "{a}");
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_become_jsonpaths() {
        assert_eq!(jsonpath("/id"), "$.id");
        assert_eq!(jsonpath("/workspaces/0/id"), "$.workspaces[0].id");
        assert_eq!(jsonpath("/a~1b/x-y"), "$['a/b']['x-y']");
    }

    #[test]
    fn captured_ids_become_variables() {
        let caps = vec![("prj_1".to_string(), 1), ("7".to_string(), 2)];
        assert_eq!(
            url_text("http://h:1/a/prj_1/b?id=7&q=x", "http://h:1", &caps, &HURL),
            "{{base_url}}/a/{{id_1}}/b?id={{id_2}}&q=x"
        );
        assert_eq!(
            body_text(&serde_json::json!({"p": "prj_1", "n": 7}), &caps, &HURL),
            "{\n  \"p\": \"{{id_1}}\",\n  \"n\": {{id_2}}\n}"
        );
        assert_eq!(credential_var("team-a", "X-Api-Key"), "team_a_x_api_key");
    }

    #[test]
    fn values_made_up_afresh_become_new_uuids() {
        let id = "5e3e1e2e-a14a-463d-9024-73b0a8839559";
        let body = body_text(&serde_json::json!({"delivery_id": id}), &[], &HURL);
        assert_eq!(
            refresh(&body, &[id.to_string()], &HURL),
            "{\n  \"delivery_id\": \"{{newUuid}}\"\n}"
        );
    }
}
