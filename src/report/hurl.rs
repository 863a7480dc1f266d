//! Reproductions for hurl: the same minimal steps as the bash + curl script, as a `.hurl` file
//! whose captures carry ids from one step to the next and whose asserts express the evidence.
//! It passes while the bug is present and fails once it is fixed. Credentials are hurl
//! variables (`{{bob_authorization}}`), never literal; markers are renewed with `{{run}}`.
//!
//! Only the evidence is an assert (exit 4: fixed). The positive controls (the sessions'
//! checks, the steps the run saw succeed, a webhook's signed control) are captures that match
//! nothing when they fail, so that a rejected session or a failed set-up is a hurl runtime error
//! (exit 3), like a missing variable: "cannot decide". Webhook events are signed by a bash
//! recipe in the file's header (hurl cannot compute an HMAC), whose results are variables.

use std::fmt::Write;

use serde_json::Value;

use super::repro::{
    Control, Dialect, body_text, captured, control, evidence_step, fresh_values, heading,
    query_credentials, query_secrets, refresh, remember, session_checks, step_captures, url_text,
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

/// Whether hurl can reproduce a finding. Webhook events need a fresh HMAC signature, which hurl
/// cannot compute: the file's header recipe computes it beforehand,
/// which needs every id a signed body uses to be readable before the run.
pub fn supported(f: &Finding) -> bool {
    f.signing.is_none() || signable(f)
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
        // An account probe's evidence: the victim's own answer about itself (`/me`).
        Kind::BolaDelete if f.evidence_field.as_deref() == Some("account") => vec![
            (
                index("control").unwrap_or(attack),
                vec!["status < 300".into()],
            ),
            (
                index("read-back").unwrap_or(last),
                vec!["status >= 401".into(), "status <= 410".into()],
            ),
        ],
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
        Kind::BolaWrite if marker.is_none() => match f.evidence_field.as_deref() {
            // The victim's password no longer logs in: the attack is what can be replayed.
            Some("password") => vec![(attack, vec!["status < 300".into()])],
            Some(field) if field.starts_with('/') => {
                let key = field.rsplit('/').next().unwrap_or_default();
                let sent = f.steps[attack]
                    .exchange
                    .request_body
                    .as_ref()
                    .and_then(|b| b.get(key.replace("~1", "/").replace("~0", "~")))
                    .cloned()
                    .unwrap_or(serde_json::Value::Null);
                let path = quoted(&jsonpath(field));
                let after = index("read-back").unwrap_or(last);
                vec![(
                    after,
                    vec![
                        "status < 300".into(),
                        format!("jsonpath \"{path}\" == {}", literal(&sent)),
                    ],
                )]
            }
            _ => by_read_back(&marker),
        },
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
        Kind::AccountEnumeration => {
            // The statuses the run saw: the existing account's, then the unknown one's.
            let known = f.steps[..attack]
                .iter()
                .rposition(|st| st.role == "control")
                .unwrap_or(attack);
            let status = |i: usize| f.steps[i].exchange.status.unwrap_or(0);
            vec![
                (known, vec![format!("status == {}", status(known))]),
                (attack, vec![format!("status == {}", status(attack))]),
            ]
        }
        Kind::WebhookUnsigned | Kind::WebhookReplay => {
            // As the script: the field the signed control changed changes again after the
            // forged event. The control that it changed at all is a capture (a runtime error,
            // "cannot decide", when it did not); the evidence is an assert.
            let path = quoted(&jsonpath(f.evidence_field.as_deref().unwrap_or("")));
            let gets: Vec<usize> = f
                .steps
                .iter()
                .enumerate()
                .filter(|(_, st)| st.exchange.method == "GET" && st.identity == f.victim)
                .map(|(i, _)| i)
                .collect();
            let signed = f
                .steps
                .iter()
                .position(|st| st.signature.as_deref() == Some("signed"));
            let before_control = signed.and_then(|sg| gets.iter().rev().find(|i| **i < sg));
            let after_control =
                signed.and_then(|sg| gets.iter().find(|i| **i > sg && **i < attack));
            let prior = gets.iter().rev().find(|i| **i < attack);
            let after = gets.iter().find(|i| **i > attack);
            match (before_control, after_control, prior, after) {
                (Some(b), Some(c), Some(p), Some(a)) => {
                    extra.push((
                        *b,
                        "field_before_signed".into(),
                        format!("jsonpath \"{path}\""),
                    ));
                    extra.push((
                        *c,
                        "cannot_decide_unless_the_signed_event_changed_it".into(),
                        format!(
                            "jsonpath \"{path}\" toString replaceRegex \"^{{{{field_before_signed}}}}$\" \"\" regex \"^(.+)$\""
                        ),
                    ));
                    extra.push((
                        *p,
                        "field_before_attack".into(),
                        format!("jsonpath \"{path}\""),
                    ));
                    vec![
                        (attack, vec!["status < 300".into()]),
                        (
                            *a,
                            vec![format!(
                                "jsonpath \"{path}\" != {{{{field_before_attack}}}}"
                            )],
                        ),
                    ]
                }
                _ => vec![(attack, vec!["status < 0".into()])],
            }
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
    let signing = f.signing.as_ref();
    if let Some(sg) = signing {
        s.push_str(&signing_recipe(f, sg, run_prefix, base_url));
    }
    // The sessions' positive controls first, numbered after the steps (as in the script).
    for (k, check) in session_checks(f).iter().enumerate() {
        let n = f.steps.len() + k + 1;
        let ex = &check.exchange;
        let _ = writeln!(
            s,
            "\n# {n}. {} ({}, before step 1)",
            check.identity, check.role
        );
        let url = query_secrets(
            renew(&url_text(&ex.url, base_url, &[], &HURL), run_prefix),
            &ex.url,
            &check.identity,
            &HURL,
        );
        let _ = writeln!(s, "{} {url}", ex.method);
        for (name, value) in &ex.request_headers {
            let value = if value == super::redact::REDACTED {
                format!("{{{{{}}}}}", credential_var(&check.identity, name))
            } else {
                renew(value, run_prefix)
            };
            let _ = writeln!(s, "{name}: {value}");
        }
        let _ = writeln!(s, "HTTP *\n[Captures]");
        let _ = writeln!(s, "{}", control_capture(n, Control::Succeeds));
    }
    let mut known: Vec<(String, usize)> = Vec::new();
    let mut last_signed = 0;
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
        let how = signing.and(step.signature.as_deref());
        let is_signing_header = |name: &str| {
            signing.is_some_and(|sg| {
                how.is_some()
                    && (name.eq_ignore_ascii_case(&sg.signature_header)
                        || sg
                            .timestamp_header
                            .as_deref()
                            .is_some_and(|t| name.eq_ignore_ascii_case(t)))
            })
        };
        for (name, value) in &ex.request_headers {
            if is_signing_header(name) {
                continue;
            }
            let value = if value == super::redact::REDACTED {
                format!("{{{{{}}}}}", credential_var(&step.identity, name))
            } else {
                renew(value, run_prefix)
            };
            let _ = writeln!(s, "{name}: {value}");
        }
        if let (Some(sg), Some(how)) = (signing, how) {
            // A webhook event: the exact bytes the recipe above signed, and its signature.
            let signed_as = match how {
                "replay" => last_signed,
                "unsigned" => 0,
                _ => {
                    last_signed = n;
                    n
                }
            };
            if signed_as != 0 {
                if let Some(t) = &sg.timestamp_header {
                    let _ = writeln!(s, "{t}: {{{{ts_{signed_as}}}}}");
                }
                let _ = writeln!(s, "{}: {{{{signature_{signed_as}}}}}", sg.signature_header);
            }
            let _ = writeln!(s, "Content-Type: application/json");
            let body_step = if signed_as != 0 { signed_as - 1 } else { i };
            let _ = writeln!(s, "`{}`", oneline_body(f, body_step, &known, run_prefix));
        } else if let Some(body) = &ex.request_body {
            let body = renew(&body_text(body, &caps, &HURL), run_prefix);
            let _ = writeln!(s, "{}", refresh(&body, &fresh, &HURL));
        }
        let _ = writeln!(s, "HTTP *");
        let more: Vec<&(usize, String, String)> =
            extra.iter().filter(|(at, ..)| *at == i).collect();
        let id_capture = captured.iter().find(|(from, _)| *from == i);
        let control = control(f, i);
        if id_capture.is_some() || !more.is_empty() || control.is_some() {
            let _ = writeln!(s, "[Captures]");
        }
        if let Some(c) = control {
            let _ = writeln!(s, "{}", control_capture(n, c));
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

/// A positive control as a capture that matches nothing unless the status is right: its
/// failure is a hurl runtime error (exit 3, "cannot decide"), never a failed assert (exit 4,
/// "fixed"); hurl's message shows the capture's name, which says what it needs.
fn control_capture(n: usize, control: Control) -> String {
    match control {
        Control::Succeeds => {
            format!("cannot_decide_unless_2xx_{n}: status toString regex \"^(2[0-9][0-9])$\"")
        }
        Control::Accepted => format!(
            "cannot_decide_if_401_or_403_{n}: status toString regex \"^([^4][0-9][0-9]|4[1-9][0-9]|40[02-9])$\""
        ),
    }
}

/// Text for a hurl one-line (backtick) string.
fn backticked(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('`', "\\`")
        .replace('#', "\\#")
}

/// How a signed event's body is written: one line, as the recipe signs it, with hurl
/// variables for what the recipe computes beforehand (`{{fresh_n}}`, not `{{newUuid}}`).
const HURL_SIGNED: Dialect = Dialect {
    fresh: |n| format!("{{{{fresh_{n}}}}}"),
    escape: backticked,
    pretty: false,
    ..HURL
};

/// How the recipe in a webhook file's header writes the same body (bash, as the script does).
const BASH_RECIPE: Dialect = Dialect {
    base_url: "${BASE_URL}",
    run: "tfz${RUN}",
    id: |n| format!("${{ID_{n}}}"),
    fresh: |n| format!("${{FRESH_{n}}}"),
    credential: |identity, key| format!("${{{}}}", super::curl::credential_var(identity, key)),
    escape: bash_dq,
    pretty: false,
};

fn bash_dq(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The body of step `i` (0-based) in dialect `d`, on one line.
fn body_in(
    f: &Finding,
    i: usize,
    known: &[(String, usize)],
    run_prefix: &str,
    d: &Dialect,
) -> String {
    let step = &f.steps[i];
    let caps = step_captures(step, known);
    let body = step
        .exchange
        .request_body
        .as_ref()
        .map(|b| body_text(b, &caps, d))
        .unwrap_or_default();
    refresh(
        &super::repro::renew(&body, run_prefix, d),
        &fresh_values(f),
        d,
    )
}

fn oneline_body(f: &Finding, i: usize, known: &[(String, usize)], run_prefix: &str) -> String {
    body_in(f, i, known, run_prefix, &HURL_SIGNED)
}

/// The ids every step may refer to, as the steps capture them (see `remember`).
fn all_known(f: &Finding) -> Vec<(String, usize)> {
    let mut known = Vec::new();
    for (i, _) in f.steps.iter().enumerate() {
        remember(f, i, &mut known);
    }
    known
}

/// The steps (0-based) whose captured ids a signed event's body uses, with their pointers.
fn signed_ids(f: &Finding) -> Vec<(usize, String)> {
    let known = all_known(f);
    let caps = captured(f);
    let mut out: Vec<(usize, String)> = Vec::new();
    for step in f.steps.iter().filter(|s| {
        matches!(
            s.signature.as_deref(),
            Some("signed" | "wrong-secret" | "stale")
        )
    }) {
        let text = body_in(
            f,
            f.steps
                .iter()
                .position(|x| std::ptr::eq(x, step))
                .unwrap_or(0),
            &known,
            "",
            &HURL_SIGNED,
        );
        for (from, pointer) in &caps {
            if text.contains(&format!("{{{{id_{}}}}}", from + 1))
                && !out.iter().any(|(n, _)| n == from)
            {
                out.push((*from, pointer.clone()));
            }
        }
    }
    out
}

/// Whether the ids a signed body uses can be read before the run: each from a GET that takes
/// no id itself (what discovery sends), by a JSON pointer.
fn signable(f: &Finding) -> bool {
    signed_ids(f).iter().all(|(from, pointer)| {
        let st = &f.steps[*from];
        st.exchange.method == "GET"
            && st.captures.is_empty()
            && st.exchange.request_body.is_none()
            && pointer.starts_with('/')
    })
}

/// The header recipe of a webhook file: hurl cannot compute an HMAC, so each signed event's
/// timestamp and signature are variables, computed beforehand in bash from the exact body the
/// file sends (the ids it uses read the way the file's own steps read them).
fn signing_recipe(
    f: &Finding,
    sg: &crate::finding::Signing,
    run_prefix: &str,
    base_url: &str,
) -> String {
    let mut r = String::new();
    let known = all_known(f);
    let _ = writeln!(r, "#");
    let _ = writeln!(
        r,
        "# Webhook events are signed (HMAC), which hurl cannot compute: each signed event's timestamp"
    );
    let _ = writeln!(
        r,
        "# and signature are variables, computed beforehand from the exact body this file sends. In bash"
    );
    let _ = writeln!(
        r,
        "# (needs curl, jq and openssl), with BASE_URL, TFZ_WEBHOOK_SECRET and the credentials set:"
    );
    let _ = writeln!(r, "# --- recipe");
    let _ = writeln!(r, "#   RUN=$(date +%s)");
    for k in 1..=fresh_values(f).len() {
        let _ = writeln!(
            r,
            "#   FRESH_{k}=$(cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen | tr A-F a-f)"
        );
    }
    for (from, pointer) in signed_ids(f) {
        let st = &f.steps[from];
        let n = from + 1;
        let url = query_secrets(
            url_text(&st.exchange.url, base_url, &[], &BASH_RECIPE),
            &st.exchange.url,
            &st.identity,
            &BASH_RECIPE,
        );
        let headers: String = st
            .exchange
            .request_headers
            .iter()
            .map(|(name, value)| {
                let value = if value == super::redact::REDACTED {
                    format!("${}", super::curl::credential_var(&st.identity, name))
                } else {
                    bash_dq(value)
                };
                format!(" -H \"{}: {value}\"", bash_dq(name))
            })
            .collect();
        let path: Vec<Value> = pointer
            .split('/')
            .skip(1)
            .map(|t| {
                let t = t.replace("~1", "/").replace("~0", "~");
                match t.parse::<u64>() {
                    Ok(i) => Value::from(i),
                    Err(_) => Value::from(t),
                }
            })
            .collect();
        let _ = writeln!(
            r,
            "#   ID_{n}=$(curl -sS{headers} \"{url}\" | jq -r 'getpath({})')   # what step {n} captures",
            Value::Array(path).to_string().replace('\'', "'\\''")
        );
    }
    let algorithm = if sg.algorithm.ends_with("512") {
        "sha512"
    } else {
        "sha256"
    };
    let encode = if sg.encoding == "base64" {
        "base64 | tr -d '\\n'"
    } else {
        "od -An -v -tx1 | tr -d ' \\n'"
    };
    let mut vars = vec!["--variable run=\"$RUN\"".to_string()];
    for k in 1..=fresh_values(f).len() {
        vars.push(format!("--variable fresh_{k}=\"$FRESH_{k}\""));
    }
    for (i, step) in f.steps.iter().enumerate() {
        let n = i + 1;
        let how = step.signature.as_deref().unwrap_or("");
        if !matches!(how, "signed" | "wrong-secret" | "stale") {
            continue;
        }
        let ts = if how == "stale" {
            format!("$(( $(date +%s) - {} ))", sg.tolerance_seconds + 3600)
        } else {
            "$(date +%s)".to_string()
        };
        let secret = if how == "wrong-secret" {
            "tfz-not-the-webhook-secret"
        } else {
            "$TFZ_WEBHOOK_SECRET"
        };
        let _ = writeln!(r, "#   TS_{n}={ts}");
        let _ = writeln!(
            r,
            "#   B_{n}=\"{}\"",
            body_in(f, i, &known, run_prefix, &BASH_RECIPE)
        );
        let data = bash_dq(&sg.signed)
            .replace("{timestamp}", &format!("${{TS_{n}}}"))
            .replace("{body}", &format!("${{B_{n}}}"));
        let _ = writeln!(
            r,
            "#   SIG_{n}=\"{}$(printf '%s' \"{data}\" | openssl dgst -{algorithm} -hmac \"{secret}\" -binary | {encode})\"",
            bash_dq(&sg.prefix)
        );
        if sg.timestamp_header.is_some() {
            vars.push(format!("--variable ts_{n}=\"$TS_{n}\""));
        }
        vars.push(format!("--variable signature_{n}=\"$SIG_{n}\""));
    }
    let _ = writeln!(r, "#   hurl --test --variable base_url=\"$BASE_URL\" \\");
    let _ = writeln!(r, "#     {} \\", vars.join(" "));
    let mut secrets: Vec<String> = Vec::new();
    for step in &f.steps {
        for (name, value) in &step.exchange.request_headers {
            if value == super::redact::REDACTED {
                let v = format!(
                    "--secret {}=\"${}\"",
                    credential_var(&step.identity, name),
                    super::curl::credential_var(&step.identity, name)
                );
                if !secrets.contains(&v) {
                    secrets.push(v);
                }
            }
        }
    }
    let _ = writeln!(r, "#     {} \\", secrets.join(" "));
    let _ = writeln!(r, "#     {}", file_name(f));
    let _ = writeln!(r, "# --- end of recipe");
    r
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
