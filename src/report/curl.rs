//! Runnable reproductions: one bash + curl script per confirmed finding. Each step is labelled
//! with who sends it; ids are captured from earlier responses; credentials come from environment
//! variables (`TFZ_<IDENTITY>_<HEADER>`, `TFZ_<IDENTITY>_QUERY_<PARAMETER>` for a key in the
//! query), never from the script; markers are fresh on every run.
//! The script ends with the check that shows the violation: exit 1 while the bug is present, 0
//! once it is fixed, 2 when it could not set up.

use std::fmt::Write;

use serde_json::Value;

use crate::finding::{Finding, Kind};

/// The environment variable that holds `identity`'s `header` value.
pub fn credential_var(identity: &str, header: &str) -> String {
    let clean = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect::<String>()
    };
    format!("TFZ_{}_{}", clean(identity), clean(header))
}

/// Names of the query parameters whose values the executor recorded as `***` (credentials).
fn query_credentials(url: &str) -> Vec<String> {
    let Some((_, query)) = url.split_once('?') else {
        return Vec::new();
    };
    query
        .split('&')
        .filter_map(|pair| pair.strip_suffix("=***"))
        .map(str::to_string)
        .collect()
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

/// Replaces, in one request part, the run's marker prefix by `${RUN}` and captured ids by
/// their variables. Done on escaped text, so the inserted `${...}` stay live.
fn substitute(escaped: &str, run_prefix: &str) -> String {
    if run_prefix.is_empty() {
        return escaped.to_string();
    }
    escaped.replace(run_prefix, "tfz${RUN}")
}

/// A URL with the base replaced by `${BASE_URL}` and captured ids in path segments and query
/// values replaced by `${ID_n}`.
fn url_text(url: &str, base_url: &str, captures: &[(String, usize)]) -> String {
    let base_url = base_url.trim_end_matches('/');
    let relative = url.strip_prefix(base_url).filter(|_| !base_url.is_empty());
    match relative {
        Some(rest) => format!("${{BASE_URL}}{}", url_path(rest, captures, 0)),
        None => url_path(url, captures, 3),
    }
}

fn url_path(url: &str, captures: &[(String, usize)], skip: usize) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut segments: Vec<String> = base.split('/').map(dq).collect();
    for seg in segments.iter_mut().skip(skip) {
        if let Some((_, n)) = captures
            .iter()
            .find(|(v, _)| dq(v) == *seg || encode(v) == *seg)
        {
            *seg = format!("${{ID_{n}}}");
        }
    }
    let mut out = segments.join("/");
    if let Some(q) = query {
        let pairs: Vec<String> = q
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) => {
                    let decoded = url::form_urlencoded::parse(pair.as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
                    match captures.iter().find(|(c, _)| *c == decoded) {
                        Some((_, n)) => format!("{}=${{ID_{n}}}", dq(k)),
                        None => format!("{}={}", dq(k), dq(v)),
                    }
                }
                None => dq(pair),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A JSON body with captured ids replaced by `${ID_n}` (quoted for strings, bare for numbers).
fn body_text(body: &Value, captures: &[(String, usize)]) -> String {
    fn walk(v: &mut Value, captures: &[(String, usize)]) {
        match v {
            Value::Object(map) => map.values_mut().for_each(|x| walk(x, captures)),
            Value::Array(items) => items.iter_mut().for_each(|x| walk(x, captures)),
            Value::String(s) => {
                if let Some((_, n)) = captures.iter().find(|(c, _)| c == s) {
                    *v = Value::String(format!("@@TFZ_S{n}@@"));
                }
            }
            Value::Number(num) => {
                let text = num.to_string();
                if let Some((_, n)) = captures.iter().find(|(c, _)| *c == text) {
                    *v = Value::String(format!("@@TFZ_N{n}@@"));
                }
            }
            _ => {}
        }
    }
    let mut body = body.clone();
    walk(&mut body, captures);
    let mut text = dq(&body.to_string());
    for (_, n) in captures {
        text = text
            .replace(&format!("\\\"@@TFZ_N{n}@@\\\""), &format!("${{ID_{n}}}"))
            .replace(&format!("@@TFZ_S{n}@@"), &format!("${{ID_{n}}}"));
    }
    text
}

/// The script for one finding. `run_prefix` is `tfz` + the campaign's run tag.
pub fn script(f: &Finding, run_prefix: &str, base_url: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "#!/usr/bin/env bash");
    let _ = writeln!(
        s,
        "# tenantfuzz reproduction {}: {} ({}) on {} {}",
        f.id,
        f.kind,
        f.kind.title(),
        f.operation.method,
        f.operation.path
    );
    let _ = writeln!(
        s,
        "# attacker: {}  victim: {}  vector: {}",
        f.attacker, f.victim, f.vector
    );
    for line in f.evidence.lines() {
        let _ = writeln!(s, "# evidence seen: {line}");
    }
    let mut vars: Vec<(String, String, String)> = Vec::new();
    for step in &f.steps {
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
    let _ = writeln!(s, "#");
    let _ = writeln!(
        s,
        "# Usage: BASE_URL=... {} bash {}",
        vars.iter()
            .map(|(v, _, _)| format!("{v}='...'"))
            .collect::<Vec<_>>()
            .join(" "),
        file_name(f)
    );
    let _ = writeln!(
        s,
        "# Exit status: 1 while the bug is present, 0 once it is fixed, 2 when it cannot set up."
    );
    let _ = writeln!(s, "# Needs curl, and jq or python3.");
    let _ = writeln!(s, "set -uo pipefail");
    let _ = writeln!(s, "BASE_URL=\"${{BASE_URL:-{}}}\"", dq(base_url));
    let _ = writeln!(s, "BASE_URL=\"${{BASE_URL%/}}\"");
    for (var, identity, header) in &vars {
        let _ = writeln!(
            s,
            ": \"${{{var}:?set {var} to the {header} value of {identity}}}\""
        );
    }
    s.push_str(PRELUDE);
    // Which steps' ids later steps use, and how to get them.
    let mut captured: Vec<(usize, String)> = Vec::new();
    for step in &f.steps {
        for c in &step.captures {
            if !captured.iter().any(|(n, _)| *n == c.from_step) {
                captured.push((c.from_step, c.pointer.clone()));
            }
        }
    }
    let mut known: Vec<(String, usize)> = Vec::new();
    for (i, step) in f.steps.iter().enumerate() {
        let n = i + 1;
        let ex = &step.exchange;
        let _ = writeln!(
            s,
            "\n# {n}. {} ({}): {} {}",
            step.identity, step.role, ex.method, ex.url
        );
        let caps: Vec<(String, usize)> = step
            .captures
            .iter()
            .map(|c| (c.value.clone(), c.from_step + 1))
            .chain(known.iter().cloned())
            .collect();
        let mut url = substitute(&url_text(&ex.url, base_url, &caps), run_prefix);
        for name in query_credentials(&ex.url) {
            let var = credential_var(&step.identity, &format!("query_{name}"));
            url = url.replace(
                &format!("{}=***", dq(&name)),
                &format!("{}=${{{var}}}", dq(&name)),
            );
        }
        let body = ex
            .request_body
            .as_ref()
            .map(|b| substitute(&body_text(b, &caps), run_prefix))
            .unwrap_or_default();
        let mut headers = String::new();
        for (name, value) in &ex.request_headers {
            let value = if value == "***" {
                format!("${{{}}}", credential_var(&step.identity, name))
            } else {
                substitute(&dq(value), run_prefix)
            };
            let _ = write!(headers, " -H \"{}: {value}\"", dq(name));
        }
        let _ = writeln!(s, "send {n} {} \"{url}\" \"{body}\"{headers}", ex.method);
        if let Some((_, pointer)) = captured.iter().find(|(from, _)| *from == i) {
            let getter = match pointer.as_str() {
                "header:Location" => format!("$(location_id {n})"),
                p => format!("$(json_at \"${{BODY[{n}]}}\" '{}')", p.replace('\'', "")),
            };
            let _ = writeln!(s, "ID_{n}={getter}");
            let _ = writeln!(s, "need_id {n} \"$ID_{n}\"");
            if let Some(c) = f
                .steps
                .iter()
                .flat_map(|st| &st.captures)
                .find(|c| c.from_step == i)
            {
                known.push((c.value.clone(), n));
            }
        }
    }
    s.push_str(&check(f, run_prefix));
    s
}

const PRELUDE: &str = r#"RUN="$(LC_ALL=C tr -dc 'a-z0-9' </dev/urandom | head -c 5)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
declare -a STATUS BODY
send() { # n method url body [curl args...]
  local n=$1 method=$2 url=$3 body=$4
  shift 4
  local args=(-sS -X "$method" -D "$TMP/h$n" -o "$TMP/b$n" -w '%{http_code}' "$@")
  if [ -n "$body" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$body"); fi
  STATUS[$n]=$(curl "${args[@]}" "$url") || { echo "step $n: the request failed" >&2; exit 2; }
  BODY[$n]=$(cat "$TMP/b$n")
  echo "step $n: $method $url -> ${STATUS[$n]}"
}
json_at() { # json pointer
  if command -v jq >/dev/null 2>&1; then
    jq -r --arg p "$2" '(try getpath($p | ltrimstr("/") | split("/") | map(if test("^[0-9]+$") then tonumber else . end)) catch null) // empty' <<<"$1" 2>/dev/null
  else
    python3 -c 'import json, sys
v = json.loads(sys.stdin.read())
for t in sys.argv[1].split("/")[1:]:
    v = v[int(t)] if isinstance(v, list) else (v or {}).get(t)
print("" if v is None else v)' "$2" <<<"$1" 2>/dev/null
  fi
}
location_id() { grep -i '^location:' "$TMP/h$1" | tail -1 | tr -d '\r' | sed 's#[?#].*##; s#/*$##; s#.*/##'; }
need_id() { [ -n "$2" ] || { echo "step $1 created nothing (status ${STATUS[$1]}): cannot reproduce" >&2; exit 2; }; }
has() { grep -qF "$2" <<<"${BODY[$1]}"; }
"#;

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
        Kind::BolaWrite => {
            let after = index("read-back").unwrap_or(f.steps.len());
            format!("[[ \"${{STATUS[{after}]}}\" == 2* ]] && ( {} )", any(after))
        }
        Kind::Unauthenticated => {
            // Evidence is where the recorded run found it: the attack's own answer (a read) or
            // the victim's read-back (a write).
            let shown_in = f
                .steps
                .iter()
                .position(|st| {
                    let text = st.exchange.response_text();
                    st.role != "setup" && f.evidence_markers.iter().any(|m| text.contains(m))
                })
                .map(|i| i + 1)
                .unwrap_or(attack);
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
            url_text("http://h:1/a/prj_1/b?id=7&q=x", "http://h:1", &caps),
            "${BASE_URL}/a/${ID_1}/b?id=${ID_2}&q=x"
        );
        assert_eq!(
            body_text(&json!({"p": "prj_1", "n": 7, "t": "$x"}), &caps),
            "{\\\"p\\\":\\\"${ID_1}\\\",\\\"n\\\":${ID_2},\\\"t\\\":\\\"\\$x\\\"}"
        );
    }

    #[test]
    fn markers_are_renewed_per_run() {
        assert_eq!(substitute("q=tfzab12cx", "tfzab12c"), "q=tfz${RUN}x");
    }
}
