//! Runnable reproductions: one bash + curl script per confirmed finding. Each step is labelled
//! with who sends it; ids are captured from earlier responses; credentials come from environment
//! variables (`TFZ_<IDENTITY>_<HEADER>`, `TFZ_<IDENTITY>_QUERY_<PARAMETER>` for a key in the
//! query), never from the script; markers are fresh on every run.
//! The script ends with the check that shows the violation: exit 1 while the bug is present, 0
//! once it is fixed, 2 when it could not set up.

use std::fmt::Write;

use super::repro::{
    Control, Dialect, body_text, captured, control, evidence_step, fresh_values, heading,
    query_credentials, query_secrets, refresh, remember, renew, session_checks, step_captures,
    url_text,
};
use crate::finding::{Finding, Kind};

/// The environment variable that holds `identity`'s `header` value.
pub fn credential_var(identity: &str, header: &str) -> String {
    format!(
        "TFZ_{}",
        super::repro::variable(identity, header, char::to_ascii_uppercase)
    )
}

/// The file name of a finding's script.
pub fn file_name(f: &Finding) -> String {
    let op: String = format!("{}-{}", f.operation.method, f.operation.path)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let op = op
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    format!("{}-{}-{}-{}.sh", f.kind.as_str(), op, f.attacker, f.victim)
}

/// Escapes text for a double-quoted bash string.
fn dq(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// How the script writes ids, markers and the base URL, inside double-quoted bash strings.
const BASH: Dialect = Dialect {
    base_url: "${BASE_URL}",
    run: "tfz${RUN}",
    id: |n| format!("${{ID_{n}}}"),
    fresh: |n| format!("${{FRESH_{n}}}"),
    credential: |identity, key| format!("${{{}}}", credential_var(identity, key)),
    escape: dq,
    pretty: false,
};

/// Replaces, in one escaped request part, the run's marker prefix by `tfz${RUN}`.
fn substitute(escaped: &str, run_prefix: &str) -> String {
    renew(escaped, run_prefix, &BASH)
}

/// The environment variables a step's credentials come from.
fn step_vars(step: &crate::finding::ReproStep) -> Vec<String> {
    let mut out: Vec<String> = step
        .exchange
        .request_headers
        .iter()
        .filter(|(_, v)| v == super::redact::REDACTED)
        .map(|(name, _)| credential_var(&step.identity, name))
        .collect();
    out.extend(
        query_credentials(&step.exchange.url)
            .iter()
            .map(|name| credential_var(&step.identity, &format!("query_{name}"))),
    );
    if matches!(step.signature.as_deref(), Some("signed" | "stale")) {
        out.push("TFZ_WEBHOOK_SECRET".into());
    }
    out
}

/// The line that checks step `n`'s own answer (see [`Control`]), if it has a control.
fn control_line(step: &crate::finding::ReproStep, n: usize, control: Option<Control>) -> String {
    let Some(control) = control else {
        return String::new();
    };
    let function = match control {
        Control::Succeeds => "succeeds",
        Control::Accepted => "accepted",
    };
    let vars = step_vars(step);
    let hint = if vars.is_empty() {
        "its request".to_string()
    } else {
        vars.join(", ")
    };
    format!(
        "{function} {n} \"{}, {}\" {} \"{}\"\n",
        dq(&step.identity),
        dq(&step.role),
        step.exchange.status.unwrap_or(0),
        dq(&hint)
    )
}

/// The script for one finding. `run_prefix` is `tfz` + the campaign's run tag.
pub fn script(f: &Finding, run_prefix: &str, base_url: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "#!/usr/bin/env bash");
    heading(&mut s, f);
    let checks = session_checks(f);
    let mut vars: Vec<(String, String, String)> = Vec::new();
    for step in checks.iter().chain(&f.steps) {
        for (name, value) in &step.exchange.request_headers {
            if value == "***" {
                let var = credential_var(&step.identity, name);
                if !vars.iter().any(|(v, _, _)| *v == var) {
                    vars.push((var, step.identity.clone(), format!("{name} header")));
                }
            }
        }
        for name in query_credentials(&step.exchange.url) {
            let var = credential_var(&step.identity, &format!("query_{name}"));
            if !vars.iter().any(|(v, _, _)| *v == var) {
                vars.push((
                    var,
                    step.identity.clone(),
                    format!("URL-encoded {name} query parameter"),
                ));
            }
        }
    }
    let needs_secret = f.signing.is_some()
        && f.steps
            .iter()
            .any(|st| matches!(st.signature.as_deref(), Some("signed" | "stale")));
    let _ = writeln!(s, "#");
    let _ = writeln!(
        s,
        "# Usage: BASE_URL={} {}{}bash {}",
        base_url.trim_end_matches('/'),
        vars.iter()
            .map(|(v, _, _)| format!("{v}='...' "))
            .collect::<String>(),
        if needs_secret {
            "TFZ_WEBHOOK_SECRET='...' "
        } else {
            ""
        },
        file_name(f)
    );
    let _ = writeln!(
        s,
        "# Exit status: 1 while the bug is present, 0 once it is fixed, 2 when it cannot decide"
    );
    let _ = writeln!(
        s,
        "# (a variable unset, a session rejected, a set-up step failed: the message names it)."
    );
    let _ = writeln!(s, "# Needs curl, and jq or python3.");
    let _ = writeln!(s, "set -uo pipefail");
    s.push_str(CHECKS);
    let _ = writeln!(
        s,
        "need_var BASE_URL \"the target's base URL (the run's was {})\"",
        dq(base_url.trim_end_matches('/'))
    );
    let _ = writeln!(s, "BASE_URL=\"${{BASE_URL%/}}\"");
    for (var, identity, header) in &vars {
        let _ = writeln!(
            s,
            "need_var {var} \"the {} value of {}\"",
            dq(header),
            dq(identity)
        );
    }
    if needs_secret {
        let _ = writeln!(
            s,
            "need_var TFZ_WEBHOOK_SECRET \"the webhook signing secret\""
        );
    }
    let _ = writeln!(s, "need_tool curl");
    if f.signing.is_some() {
        let _ = writeln!(s, "need_tool openssl");
    }
    s.push_str(PRELUDE);
    if let Some(sg) = &f.signing {
        s.push_str(&signer(sg));
    }
    // Values made up afresh for each request (event or delivery ids): new ones on every run.
    let fresh = fresh_values(f);
    if !fresh.is_empty() {
        s.push_str(NEW_UUID);
        for i in 1..=fresh.len() {
            let _ = writeln!(s, "FRESH_{i}=$(new_uuid)");
        }
    }
    // The sessions' positive controls first, numbered after the steps.
    for (k, check) in checks.iter().enumerate() {
        let n = f.steps.len() + k + 1;
        let ex = &check.exchange;
        let _ = writeln!(
            s,
            "\n# {n}. {} ({}, before step 1): {} {}",
            check.identity, check.role, ex.method, ex.url
        );
        let url = query_secrets(
            substitute(&url_text(&ex.url, base_url, &[], &BASH), run_prefix),
            &ex.url,
            &check.identity,
            &BASH,
        );
        let mut headers = String::new();
        for (name, value) in &ex.request_headers {
            let value = if value == "***" {
                format!("${{{}}}", credential_var(&check.identity, name))
            } else {
                substitute(&dq(value), run_prefix)
            };
            let _ = write!(headers, " -H \"{}: {value}\"", dq(name));
        }
        let _ = writeln!(s, "send {n} {} \"{url}\" \"\"{headers}", ex.method);
        s.push_str(&control_line(check, n, Some(Control::Succeeds)));
    }
    let steps_from = s.len();
    // Which steps' ids later steps use, and how to get them.
    let captured = captured(f);
    let mut known: Vec<(String, usize)> = Vec::new();
    for (i, step) in f.steps.iter().enumerate() {
        let n = i + 1;
        let ex = &step.exchange;
        let _ = writeln!(
            s,
            "\n# {n}. {} ({}): {} {}",
            step.identity, step.role, ex.method, ex.url
        );
        let caps = step_captures(step, &known);
        let mut url = refresh(
            &substitute(&url_text(&ex.url, base_url, &caps, &BASH), run_prefix),
            &fresh,
            &BASH,
        );
        url = query_secrets(url, &ex.url, &step.identity, &BASH);
        let body = ex
            .request_body
            .as_ref()
            .map(|b| {
                refresh(
                    &substitute(&body_text(b, &caps, &BASH), run_prefix),
                    &fresh,
                    &BASH,
                )
            })
            .unwrap_or_default();
        let signing = f.signing.as_ref().filter(|_| step.signature.is_some());
        let is_signing_header = |name: &str| {
            signing.is_some_and(|sg| {
                name.eq_ignore_ascii_case(&sg.signature_header)
                    || sg
                        .timestamp_header
                        .as_deref()
                        .is_some_and(|t| name.eq_ignore_ascii_case(t))
            })
        };
        let mut headers = String::new();
        for (name, value) in &ex.request_headers {
            if is_signing_header(name) {
                continue;
            }
            let value = if value == "***" {
                format!("${{{}}}", credential_var(&step.identity, name))
            } else {
                substitute(&dq(value), run_prefix)
            };
            let _ = write!(headers, " -H \"{}: {value}\"", dq(name));
        }
        if let (Some(sg), Some(how)) = (signing, step.signature.as_deref()) {
            // A webhook event, signed afresh the way the recorded one was.
            let _ = writeln!(s, "B_{n}=\"{body}\"");
            match how {
                "signed" | "wrong-secret" | "stale" => {
                    let secret = if how == "wrong-secret" {
                        "tfz-not-the-webhook-secret"
                    } else {
                        "$TFZ_WEBHOOK_SECRET"
                    };
                    let ts = if how == "stale" {
                        format!("$(( $(date +%s) - {} ))", sg.tolerance_seconds + 3600)
                    } else {
                        "$(date +%s)".to_string()
                    };
                    let _ = writeln!(s, "TS_{n}={ts}");
                    let _ = writeln!(s, "SIG_{n}=$(sign \"{secret}\" \"$TS_{n}\" \"$B_{n}\")");
                    let _ = writeln!(s, "LAST_SIGNED={n}");
                }
                "replay" => {
                    let _ = writeln!(
                        s,
                        "B_{n}=\"${{B_LAST}}\"; TS_{n}=\"${{TS_LAST}}\"; SIG_{n}=\"${{SIG_LAST}}\""
                    );
                }
                _ => {}
            }
            let mut signed_headers = String::new();
            if how != "unsigned" {
                if let Some(t) = &sg.timestamp_header {
                    let _ = write!(signed_headers, " -H \"{}: $TS_{n}\"", dq(t));
                }
                let _ = write!(
                    signed_headers,
                    " -H \"{}: $SIG_{n}\"",
                    dq(&sg.signature_header)
                );
            }
            let _ = writeln!(
                s,
                "send {n} {} \"{url}\" \"$B_{n}\"{headers}{signed_headers}",
                ex.method
            );
            if how == "signed" {
                let _ = writeln!(
                    s,
                    "B_LAST=\"$B_{n}\"; TS_LAST=\"$TS_{n}\"; SIG_LAST=\"$SIG_{n}\""
                );
            }
        } else {
            let _ = writeln!(s, "send {n} {} \"{url}\" \"{body}\"{headers}", ex.method);
        }
        s.push_str(&control_line(step, n, control(f, i)));
        if let Some((_, pointer)) = captured.iter().find(|(from, _)| *from == i) {
            let getter = match pointer.as_str() {
                "header:Location" => format!("$(location_id {n})"),
                p => format!("$(json_at \"${{BODY[{n}]}}\" '{}')", p.replace('\'', "")),
            };
            let _ = writeln!(s, "ID_{n}={getter}");
            let _ = writeln!(s, "need_id {n} \"$ID_{n}\"");
            remember(f, i, &mut known);
        }
    }
    s.push_str(&check(f, run_prefix));
    // JSON is read only where the steps or the check need it.
    let rest = &s[steps_from..];
    if rest.contains("$(json_at ") || rest.contains("ids_in \"") {
        s = s.replacen("need_tool curl\n", "need_tool curl\nneed_json\n", 1);
    }
    s
}

/// The `new_uuid` function of scripts that send values made up afresh for each request.
const NEW_UUID: &str = r#"new_uuid() { # a random (version 4) uuid, lower case
  if [ -r /proc/sys/kernel/random/uuid ]; then cat /proc/sys/kernel/random/uuid
  elif command -v uuidgen >/dev/null 2>&1; then uuidgen | tr 'A-F' 'a-f'
  else python3 -c 'import uuid; print(uuid.uuid4())'; fi
}
"#;

/// What every script checks before it sends anything: its variables and its tools. Each
/// failure is "cannot decide" (exit 2) and names what is missing.
const CHECKS: &str = r#"undecided() { echo "cannot decide: $*" >&2; exit 2; }
need_var() { # name what: a variable the script needs, set and not empty
  [ -n "${!1:-}" ] || undecided "$1 is not set (set it to $2)"
}
need_tool() { command -v "$1" >/dev/null 2>&1 || undecided "$1 is not installed"; }
need_json() { command -v jq >/dev/null 2>&1 || command -v python3 >/dev/null 2>&1 || undecided "neither jq nor python3 is installed"; }
"#;

const PRELUDE: &str = r#"RUN="$(LC_ALL=C tr -dc 'a-z0-9' </dev/urandom | head -c 5)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
declare -a STATUS BODY
send() { # n method url body [curl args...]
  local n=$1 method=$2 url=$3 body=$4
  shift 4
  local args=(-sS -X "$method" -D "$TMP/h$n" -o "$TMP/b$n" -w '%{http_code}' "$@")
  if [ -n "$body" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$body"); fi
  STATUS[$n]=$(curl "${args[@]}" "$url") || undecided "step $n: the request failed ($method $url)"
  BODY[$n]=$(cat "$TMP/b$n")
  echo "step $n: $method $url -> ${STATUS[$n]}"
}
succeeds() { # n who recorded hint: a step the run saw succeed must succeed again (a positive control)
  [[ "${STATUS[$1]}" == 2* ]] && return 0
  case "${STATUS[$1]}" in
    401|403) undecided "step $1 ($2) answered ${STATUS[$1]} where the run saw $3: the session was rejected (check $4)" ;;
    *) undecided "step $1 ($2) answered ${STATUS[$1]} where the run saw $3: the set-up failed" ;;
  esac
}
accepted() { # n who recorded hint: after the attack, a refused read-back proves nothing
  case "${STATUS[$1]}" in
    401|403) undecided "step $1 ($2) answered ${STATUS[$1]} where the run saw $3: the session was rejected (check $4)" ;;
  esac
  return 0
}
json_at() { # json pointer: a string as it is, any other value as compact JSON (false, null, 1.5); nothing where the pointer leads nowhere
  if command -v jq >/dev/null 2>&1; then
    jq -r --arg p "$2" 'reduce ($p | ltrimstr("/") | split("/") | map(gsub("~1"; "/") | gsub("~0"; "~"))[]) as $k ({v: ., ok: true};
      if .ok and (.v | type) == "object" and (.v | has($k)) then .v |= .[$k]
      elif .ok and (.v | type) == "array" and ($k | test("^[0-9]+$")) and (($k | tonumber) < (.v | length)) then .v |= .[$k | tonumber]
      else .ok = false end) | select(.ok) | .v | if type == "string" then . else tojson end' <<<"$1" 2>/dev/null
  else
    python3 -c 'import json, sys
v = json.loads(sys.stdin.read())
for t in sys.argv[1].split("/")[1:]:
    t = t.replace("~1", "/").replace("~0", "~")
    if isinstance(v, dict) and t in v: v = v[t]
    elif isinstance(v, list) and t.isdigit() and int(t) < len(v): v = v[int(t)]
    else: sys.exit(0)
print(v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), ensure_ascii=False))' "$2" <<<"$1" 2>/dev/null
  fi
}
location_id() { grep -i '^location:' "$TMP/h$1" | tail -1 | tr -d '\r' | sed 's#[?#].*##; s#/*$##; s#.*/##'; }
need_id() { [ -n "$2" ] || undecided "step $1 gave no id (status ${STATUS[$1]})"; }
has() { grep -qF "$2" <<<"${BODY[$1]}"; }
ids_in() { # json: values under id keys (id, *Id, *_id, uuid), 4+ characters or 1000+
  if command -v jq >/dev/null 2>&1; then
    jq -r '.. | objects | to_entries[] | select(.key | test("^([Ii][Dd]|[Uu][Uu][Ii][Dd])$|Id$|_id$|-id$|ID$")) | .value | select((type == "string" and length >= 4) or (type == "number" and . >= 1000)) | tostring' <<<"$1" 2>/dev/null
  else
    python3 -c 'import json, re, sys
def walk(v):
    if isinstance(v, dict):
        for k, x in v.items():
            if re.search(r"^([Ii][Dd]|[Uu][Uu][Ii][Dd])$|Id$|_id$|-id$|ID$", k) and ((isinstance(x, str) and len(x) >= 4) or (isinstance(x, int) and not isinstance(x, bool) and x >= 1000)):
                print(x)
            walk(x)
    elif isinstance(v, list):
        for x in v: walk(x)
walk(json.loads(sys.stdin.read()))' <<<"$1" 2>/dev/null
  fi
}
"#;

/// The `sign SECRET TIMESTAMP BODY` function of scripts that send webhook events.
fn signer(sg: &crate::finding::Signing) -> String {
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
    format!(
        r#"shopt -u patsub_replacement 2>/dev/null || true
sign() {{ # secret timestamp body: the signature header value (needs openssl)
  local data="{signed}"
  data="${{data//\{{timestamp\}}/$2}}"
  data="${{data//\{{body\}}/$3}}"
  printf '%s%s' "{prefix}" "$(printf '%s' "$data" | openssl dgst -{algorithm} -hmac "$1" -binary | {encode})"
}}
"#,
        signed = dq(&sg.signed),
        prefix = dq(&sg.prefix),
    )
}

/// The closing check of a script.
fn check(f: &Finding, run_prefix: &str) -> String {
    let index = |role: &str| f.steps.iter().position(|s| s.role == role).map(|i| i + 1);
    let markers: Vec<String> = f
        .evidence_markers
        .iter()
        .map(|m| substitute(m, run_prefix))
        .collect();
    let any = |step: usize| {
        markers
            .iter()
            .map(|m| format!("has {step} \"{m}\""))
            .collect::<Vec<_>>()
            .join(" || ")
    };
    let mut s = String::from("\n# The check.\n");
    let attack = index("attack").unwrap_or(f.steps.len());
    let condition = match f.kind {
        // An account probe's evidence: the victim's own answer about itself (`/me`).
        Kind::BolaDelete if f.evidence_field.as_deref() == Some("account") => {
            let before = index("control").unwrap_or(attack);
            let after = index("read-back").unwrap_or(f.steps.len());
            format!(
                "[[ \"${{STATUS[{before}]}}\" == 2* ]] && [[ \"${{STATUS[{after}]}}\" == 40[13] || \"${{STATUS[{after}]}}\" == 404 || \"${{STATUS[{after}]}}\" == 410 ]]"
            )
        }
        Kind::BolaDelete => {
            let before = index("control").unwrap_or(attack);
            let after = index("read-back").unwrap_or(f.steps.len());
            if markers.is_empty() {
                format!(
                    "[[ \"${{STATUS[{before}]}}\" == 2* ]] && [[ \"${{STATUS[{after}]}}\" == 404 || \"${{STATUS[{after}]}}\" == 410 ]]"
                )
            } else {
                let absent = markers
                    .iter()
                    .map(|m| format!("! has {after} \"{m}\""))
                    .collect::<Vec<_>>()
                    .join(" && ");
                format!(
                    "( {} ) && [[ \"${{STATUS[{after}]}}\" == 2* || \"${{STATUS[{after}]}}\" == 404 || \"${{STATUS[{after}]}}\" == 410 ]] && {absent}",
                    any(before)
                )
            }
        }
        Kind::BolaWrite if markers.is_empty() => {
            let before = index("control").unwrap_or(attack);
            let after = index("read-back").unwrap_or(f.steps.len());
            match f.evidence_field.as_deref() {
                Some("password") => {
                    let _ = writeln!(
                        s,
                        "# Then log in as {} with its old password: it is refused (tenantfuzz \
                         checked this on a fresh account).",
                        f.victim
                    );
                    format!("[[ \"${{STATUS[{attack}]}}\" == 2* ]]")
                }
                Some(field) if field.starts_with('/') => {
                    let at = |n: usize| {
                        format!(
                            "\"$(json_at \"${{BODY[{n}]}}\" '{}')\"",
                            field.replace('\'', "")
                        )
                    };
                    format!(
                        "[[ \"${{STATUS[{after}]}}\" == 2* ]] && [ {} != {} ]",
                        at(after),
                        at(before)
                    )
                }
                _ => "false".to_string(),
            }
        }
        Kind::BolaWrite => {
            let after = index("read-back").unwrap_or(f.steps.len());
            format!("[[ \"${{STATUS[{after}]}}\" == 2* ]] && ( {} )", any(after))
        }
        Kind::MassAssignment => match &f.evidence_field {
            // The caller's own read-back follows the privileged value, then the original one.
            Some(field) => {
                let pos = |role: &str| -> Vec<usize> {
                    f.steps
                        .iter()
                        .enumerate()
                        .filter(|(_, st)| st.role == role)
                        .map(|(i, _)| i + 1)
                        .collect()
                };
                let (controls, reads) = (pos("control"), pos("read-back"));
                let injected = f
                    .steps
                    .iter()
                    .find(|st| st.role == "attack")
                    .and_then(|st| st.exchange.request_body.as_ref()?.pointer(field).cloned())
                    // As `json_at` prints it: a string as it is, anything else as JSON.
                    .map(|v| match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    })
                    .unwrap_or_default();
                match (controls.last(), reads.first(), reads.get(1)) {
                    (Some(c), Some(r1), Some(r2)) => {
                        let at = |n: usize| {
                            format!(
                                "\"$(json_at \"${{BODY[{n}]}}\" '{}')\"",
                                field.replace('\'', "")
                            )
                        };
                        format!(
                            "[[ \"${{STATUS[{r1}]}}\" == 2* && \"${{STATUS[{r2}]}}\" == 2* ]] && [ {} != \"{}\" ] && [ {} = \"{}\" ] && [ {} = {} ]",
                            at(*c),
                            dq(&injected),
                            at(*r1),
                            dq(&injected),
                            at(*r2),
                            at(*c)
                        )
                    }
                    _ => "false".to_string(),
                }
            }
            None => {
                let after = index("read-back").unwrap_or(f.steps.len());
                format!("[[ \"${{STATUS[{after}]}}\" == 2* ]] && ( {} )", any(after))
            }
        },
        Kind::Bfla | Kind::PlanBypass => {
            if let Some(after) = index("read-back") {
                format!("[[ \"${{STATUS[{after}]}}\" == 2* ]] && ( {} )", any(after))
            } else if !markers.is_empty() {
                format!(
                    "[[ \"${{STATUS[{attack}]}}\" == 2* ]] && ( {} )",
                    any(attack)
                )
            } else {
                // Ids only the victim's own lists show, in the denied call's answer.
                let lists = |who: &str| -> Vec<String> {
                    f.steps
                        .iter()
                        .enumerate()
                        .filter(|(i, st)| {
                            st.identity == who
                                && st.role == "control"
                                && f.steps.get(attack - 1).is_some_and(|a| {
                                    a.exchange.method != st.exchange.method
                                        || a.exchange.url != st.exchange.url
                                })
                                && *i + 1 < attack
                        })
                        .map(|(i, _)| (i + 1).to_string())
                        .collect()
                };
                let theirs = lists(&f.victim);
                let mine = lists(&f.attacker);
                let _ = writeln!(s, "FOREIGN=0");
                let _ = writeln!(
                    s,
                    "for id in $(for n in {}; do ids_in \"${{BODY[$n]}}\"; done | sort -u); do",
                    if theirs.is_empty() {
                        "0".to_string()
                    } else {
                        theirs.join(" ")
                    }
                );
                let mut test = format!("  if has {attack} \"$id\"");
                for m in &mine {
                    let _ = write!(test, " && ! has {m} \"$id\"");
                }
                let _ = writeln!(s, "{test}; then FOREIGN=1; fi");
                let _ = writeln!(s, "done");
                format!("[[ \"${{STATUS[{attack}]}}\" == 2* ]] && [ \"$FOREIGN\" = 1 ]")
            }
        }
        Kind::ExistenceLeak => {
            // The same caller: a foreign id and one that does not exist, refused differently.
            let absent = f
                .steps
                .iter()
                .enumerate()
                .filter(|(i, st)| *i + 1 < attack && st.identity == f.attacker)
                .map(|(i, _)| i + 1)
                .next_back()
                .unwrap_or(attack);
            format!(
                "[[ \"${{STATUS[{attack}]}}\" == 4* && \"${{STATUS[{absent}]}}\" == 4* && \"${{STATUS[{attack}]}}\" != \"${{STATUS[{absent}]}}\" ]]"
            )
        }
        Kind::AccountEnumeration => {
            // The existing account and the unknown one, answered differently.
            let known = index("control").unwrap_or(1);
            format!(
                "[[ \"${{STATUS[{known}]}}\" != \"${{STATUS[{attack}]}}\" || \"${{BODY[{known}]}}\" != \"${{BODY[{attack}]}}\" ]]"
            )
        }
        Kind::WebhookUnsigned | Kind::WebhookReplay => {
            // The field the signed control changed changes again after the forged event.
            let field = f
                .evidence_field
                .clone()
                .unwrap_or_default()
                .replace('\'', "");
            let gets: Vec<usize> = f
                .steps
                .iter()
                .enumerate()
                .filter(|(_, st)| st.exchange.method == "GET" && st.identity == f.victim)
                .map(|(i, _)| i + 1)
                .collect();
            let signed = f
                .steps
                .iter()
                .position(|st| st.signature.as_deref() == Some("signed"))
                .map(|i| i + 1)
                .unwrap_or(0);
            let before_control = gets.iter().rev().find(|n| **n < signed).copied();
            let after_control = gets.iter().find(|n| **n > signed && **n < attack).copied();
            let prior = gets.iter().rev().find(|n| **n < attack).copied();
            let after = gets.iter().find(|n| **n > attack).copied();
            match (before_control, after_control, prior, after) {
                (Some(b), Some(c), Some(p), Some(a)) => {
                    let at = |n: usize| format!("\"$(json_at \"${{BODY[{n}]}}\" '{field}')\"");
                    let _ = writeln!(
                        s,
                        "if [ {} = {} ]; then undecided \"the signed event (step {signed}) changed nothing the owner can see\"; fi",
                        at(b),
                        at(c)
                    );
                    format!(
                        "[[ \"${{STATUS[{attack}]}}\" == 2* ]] && [ {} != {} ]",
                        at(p),
                        at(a)
                    )
                }
                _ => "false".to_string(),
            }
        }
        Kind::Unauthenticated => {
            // Evidence is where the recorded run found it: the attack's own answer (a read) or
            // the victim's read-back (a write).
            let shown_in = evidence_step(f).map(|i| i + 1).unwrap_or(attack);
            format!("( {} )", any(shown_in))
        }
        _ => format!("( {} )", any(attack)),
    };
    let _ = writeln!(s, "if {condition}; then");
    let _ = writeln!(
        s,
        "  echo \"VULNERABLE: {} ({}) on {} {} reproduced\"",
        f.kind,
        dq(f.kind.title()),
        f.operation.method,
        dq(&f.operation.path)
    );
    let _ = writeln!(s, "  exit 1");
    let _ = writeln!(s, "fi");
    let _ = writeln!(
        s,
        "echo \"not reproduced: {} on {} {} looks fixed\"",
        f.kind,
        f.operation.method,
        dq(&f.operation.path)
    );
    let _ = writeln!(s, "exit 0");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn variables_name_identity_and_header() {
        assert_eq!(
            credential_var("bob", "Authorization"),
            "TFZ_BOB_AUTHORIZATION"
        );
        assert_eq!(
            credential_var("team-a", "X-Api-Key"),
            "TFZ_TEAM_A_X_API_KEY"
        );
    }

    #[test]
    fn captured_ids_become_variables() {
        let caps = vec![("prj_1".to_string(), 1), ("7".to_string(), 2)];
        assert_eq!(
            url_text("http://h:1/a/prj_1/b?id=7&q=x", "http://h:1", &caps, &BASH),
            "${BASE_URL}/a/${ID_1}/b?id=${ID_2}&q=x"
        );
        assert_eq!(
            body_text(&json!({"p": "prj_1", "n": 7, "t": "$x"}), &caps, &BASH),
            "{\\\"p\\\":\\\"${ID_1}\\\",\\\"n\\\":${ID_2},\\\"t\\\":\\\"\\$x\\\"}"
        );
    }

    #[test]
    fn markers_are_renewed_per_run() {
        assert_eq!(substitute("q=tfzab12cx", "tfzab12c"), "q=tfz${RUN}x");
    }
}
