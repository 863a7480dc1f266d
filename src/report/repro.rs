//! What the two runnable reproductions (bash + curl in `curl.rs`, hurl in `hurl.rs`) share: how a
//! recorded step's URL and body become text with captured ids and renewed markers, which steps'
//! ids later steps use, and the opening comment. Each format supplies only its own syntax
//! (a [`Dialect`]), so the two cannot drift apart in what they substitute.

use std::fmt::Write;

use serde_json::Value;

use crate::finding::{Finding, ReproStep};

/// How one reproduction format writes the parts it fills in.
pub(crate) struct Dialect {
    /// What stands for the base URL: `${BASE_URL}`, `{{base_url}}`.
    pub base_url: &'static str,
    /// What stands for the run's marker prefix: `tfz${RUN}`, `tfz{{run}}`.
    pub run: &'static str,
    /// What stands for the id captured at (1-based) step `n`: `${ID_n}`, `{{id_n}}`.
    pub id: fn(usize) -> String,
    /// What stands for the `n`-th (1-based) value made up afresh for each request (see
    /// [`fresh_values`]): `${FRESH_n}`, `{{newUuid}}`.
    pub fresh: fn(usize) -> String,
    /// What stands for `identity`'s credential named `key` (a header, or `query_<name>`):
    /// `${TFZ_BOB_QUERY_API_KEY}`, `{{bob_query_api_key}}`.
    pub credential: fn(&str, &str) -> String,
    /// Escapes recorded text for where it is written (a double-quoted bash string, or nothing).
    pub escape: fn(&str) -> String,
    /// Whether bodies are pretty-printed JSON (hurl) or one line (curl).
    pub pretty: bool,
}

/// Replaces, in text already escaped, the run's marker prefix by the dialect's `run`, so markers
/// are fresh on every run. The inserted text stays live because it is put in after escaping.
pub(crate) fn renew(escaped: &str, run_prefix: &str, d: &Dialect) -> String {
    if run_prefix.is_empty() {
        return escaped.to_string();
    }
    escaped.replace(run_prefix, d.run)
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A URL, escaped, with the base replaced by the dialect's `base_url` and captured ids in path
/// segments and query values replaced by their ids. `captures` are (value, 1-based step).
pub(crate) fn url_text(
    url: &str,
    base_url: &str,
    captures: &[(String, usize)],
    d: &Dialect,
) -> String {
    let base_url = base_url.trim_end_matches('/');
    let (prefix, rest, skip) = match url.strip_prefix(base_url).filter(|_| !base_url.is_empty()) {
        Some(rest) => (d.base_url, rest, 0),
        // An absolute URL elsewhere: its scheme and host are not ids.
        None => ("", url, 3),
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let segments: Vec<String> = path
        .split('/')
        .enumerate()
        .map(
            |(i, seg)| match captures.iter().find(|(v, _)| *v == seg || encode(v) == seg) {
                Some((_, n)) if i >= skip => (d.id)(*n),
                _ => (d.escape)(seg),
            },
        )
        .collect();
    let mut out = format!("{prefix}{}", segments.join("/"));
    if let Some(q) = query {
        let pairs: Vec<String> = q
            .split('&')
            .map(|pair| {
                let decoded = url::form_urlencoded::parse(pair.as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                match (
                    pair.split_once('='),
                    captures.iter().find(|(c, _)| *c == decoded),
                ) {
                    (Some((k, _)), Some((_, n))) => format!("{}={}", (d.escape)(k), (d.id)(*n)),
                    _ => (d.escape)(pair),
                }
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// A JSON body, escaped, with captured ids replaced by their ids: inside the quotes for strings,
/// bare for numbers.
pub(crate) fn body_text(body: &Value, captures: &[(String, usize)], d: &Dialect) -> String {
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
    let json = if d.pretty {
        serde_json::to_string_pretty(&body).expect("JSON values serialize")
    } else {
        body.to_string()
    };
    let mut text = (d.escape)(&json);
    for (_, n) in captures {
        let id = (d.id)(*n);
        text = text
            .replace(&(d.escape)(&format!("\"@@TFZ_N{n}@@\"")), &id)
            .replace(&format!("@@TFZ_S{n}@@"), &id);
    }
    text
}

/// The steps whose ids later steps use, by 0-based index, with the JSON pointer (or
/// `header:Location`) the id is read from; each step once, in order of first use.
pub(crate) fn captured(f: &Finding) -> Vec<(usize, String)> {
    let mut list: Vec<(usize, String)> = Vec::new();
    for step in &f.steps {
        // A key the request itself chose (`request:/name`) is the literal the script sends
        // there too: the later steps keep it as it is.
        for c in step
            .captures
            .iter()
            .filter(|c| !c.pointer.starts_with("request:"))
        {
            if !list.iter().any(|(n, _)| *n == c.from_step) {
                list.push((c.from_step, c.pointer.clone()));
            }
        }
    }
    list
}

/// The ids one step may refer to: its own captures, then the ones captured so far (`known`).
pub(crate) fn step_captures(step: &ReproStep, known: &[(String, usize)]) -> Vec<(String, usize)> {
    step.captures
        .iter()
        .map(|c| (c.value.clone(), c.from_step + 1))
        .chain(known.iter().cloned())
        .collect()
}

/// Records, once step `i` (0-based) has captured its id, the value that later steps refer to.
pub(crate) fn remember(f: &Finding, i: usize, known: &mut Vec<(String, usize)>) {
    if let Some(c) = f
        .steps
        .iter()
        .flat_map(|st| &st.captures)
        .find(|c| c.from_step == i)
    {
        known.push((c.value.clone(), i + 1));
    }
}

/// The first step (0-based) past the setup whose answer shows one of the evidence markers: where
/// the recorded run found the evidence (the attack's own answer for a read, the victim's
/// read-back for a write).
pub(crate) fn evidence_step(f: &Finding) -> Option<usize> {
    f.steps.iter().position(|st| {
        let text = st.exchange.response_text();
        st.role != "setup" && f.evidence_markers.iter().any(|m| text.contains(m))
    })
}

/// The opening comment both reproductions carry: what was found, by whom, and the evidence.
pub(crate) fn heading(s: &mut String, f: &Finding) {
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
}

/// `identity` and `header` as one variable name: each non-alphanumeric character becomes `_`,
/// the rest go through `case`.
pub(crate) fn variable(identity: &str, header: &str, case: fn(&char) -> char) -> String {
    let clean = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    case(&c)
                } else {
                    '_'
                }
            })
            .collect::<String>()
    };
    format!("{}_{}", clean(identity), clean(header))
}

/// Names of the query parameters whose values the executor recorded as `***` (credentials):
/// both reproductions read them from the environment, as they do credential headers.
pub(crate) fn query_credentials(url: &str) -> Vec<String> {
    let Some((_, query)) = url.split_once('?') else {
        return Vec::new();
    };
    query
        .split('&')
        .filter_map(|pair| pair.strip_suffix("=***"))
        .map(str::to_string)
        .collect()
}

/// The values a finding's requests made up afresh (`ReproStep::fresh`: uuids for event or
/// delivery ids a receiver applies once), each once, in order of first use. A reproduction sends
/// new ones, so that it proves its bug again against the server that saw the recorded ones.
pub(crate) fn fresh_values(f: &Finding) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in f.steps.iter().flat_map(|s| &s.fresh) {
        if !v.is_empty() && !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

/// Replaces, in text already escaped, each of `fresh` (from [`fresh_values`]) by the dialect's
/// `fresh`. The inserted text stays live because it is put in after escaping.
pub(crate) fn refresh(escaped: &str, fresh: &[String], d: &Dialect) -> String {
    let mut text = escaped.to_string();
    for (i, v) in fresh.iter().enumerate() {
        text = text.replace(&(d.escape)(v), &(d.fresh)(i + 1));
    }
    text
}

/// A step's URL text (already escaped) with each query credential recorded as `***` replaced by
/// the dialect's `credential` for `identity`.
pub(crate) fn query_secrets(text: String, url: &str, identity: &str, d: &Dialect) -> String {
    query_credentials(url).iter().fold(text, |text, name| {
        let shown = (d.escape)(name);
        let secret = (d.credential)(identity, &format!("query_{name}"));
        text.replace(&format!("{shown}=***"), &format!("{shown}={secret}"))
    })
}

/// Whether a recorded status is a success (2xx).
fn succeeded(status: Option<u16>) -> bool {
    status.is_some_and(|s| (200..300).contains(&s))
}

/// The index (0-based) of the first attack step, or the number of steps when there is none.
pub(crate) fn first_attack(f: &Finding) -> usize {
    f.steps
        .iter()
        .position(|s| s.role == "attack")
        .unwrap_or(f.steps.len())
}

/// What a reproduction checks about a step's own answer before it judges the evidence: a
/// positive control, so that a rejected session or a failed set-up is "cannot decide", never
/// "fixed" or "vulnerable".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// Before the attack, a step the run saw succeed (the owner's set-up and reads, an
    /// identity's session check, a correctly signed event) must succeed again.
    Succeeds,
    /// After the attack, a step the run saw succeed (a read-back) may answer anything that is
    /// evidence (404 for a deleted object, the old value), but not 401 or 403: its sender's
    /// session was rejected.
    Accepted,
}

/// The control of step `i` (0-based), if any.
pub(crate) fn control(f: &Finding, i: usize) -> Option<Control> {
    let step = &f.steps[i];
    if step.role == "attack" || !succeeded(step.exchange.status) {
        return None;
    }
    Some(if i < first_attack(f) {
        Control::Succeeds
    } else {
        Control::Accepted
    })
}

/// Whether a step sends credentials (a header or query parameter recorded as `***`).
fn has_credentials(step: &ReproStep) -> bool {
    step.exchange
        .request_headers
        .iter()
        .any(|(_, v)| v == super::redact::REDACTED)
        || !query_credentials(&step.exchange.url).is_empty()
}

/// The path of a URL, without its query.
fn path_of(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// Requests that show the attacker's and the victim's sessions work, for those of them that
/// send credentials and have no step of their own before the attack that the run saw succeed
/// (typically the attacker, whose only step is the attack): a GET the finding's steps already
/// send without ids or a body (what discovery sent for every identity, `GET /me` and the
/// like; never the attacked URL), sent with the identity's own credentials. Each must answer
/// 2xx; otherwise the reproduction cannot decide. An identity for which no such request
/// exists gets none (the reproduction's other controls still apply).
pub(crate) fn session_checks(f: &Finding) -> Vec<ReproStep> {
    let attack = first_attack(f);
    let attacked: Vec<&str> = f
        .steps
        .iter()
        .filter(|s| s.role == "attack")
        .map(|s| path_of(&s.exchange.url))
        .collect();
    let usable = |s: &&ReproStep| {
        s.exchange.method == "GET"
            && s.captures.is_empty()
            && s.exchange.request_body.is_none()
            && s.signature.is_none()
            && succeeded(s.exchange.status)
            && has_credentials(s)
            && !attacked.contains(&path_of(&s.exchange.url))
    };
    let template = f.steps[..attack]
        .iter()
        .filter(usable)
        .find(|s| s.role == "discover")
        .or_else(|| f.steps[..attack].iter().find(usable));
    let mut out = Vec::new();
    let mut who: Vec<&str> = vec![f.attacker.as_str()];
    if f.victim != f.attacker {
        who.push(f.victim.as_str());
    }
    for identity in who {
        let own = |s: &&ReproStep| s.identity == identity;
        if f.steps[..attack]
            .iter()
            .filter(own)
            .any(|s| succeeded(s.exchange.status))
        {
            continue;
        }
        // Its credentials as its own steps send them.
        let Some(mine) = f.steps.iter().filter(own).find(|s| has_credentials(s)) else {
            continue;
        };
        let Some(template) = template else {
            continue;
        };
        let mut exchange = template.exchange.clone();
        exchange.request_headers = template
            .exchange
            .request_headers
            .iter()
            .filter(|(_, v)| v != super::redact::REDACTED)
            .chain(
                mine.exchange
                    .request_headers
                    .iter()
                    .filter(|(_, v)| v == super::redact::REDACTED),
            )
            .cloned()
            .collect();
        let (path, query) = match template.exchange.url.split_once('?') {
            Some((p, q)) => (p, q),
            None => (template.exchange.url.as_str(), ""),
        };
        let pairs: Vec<String> = query
            .split('&')
            .filter(|p| !p.is_empty() && !p.ends_with("=***"))
            .map(str::to_string)
            .chain(
                query_credentials(&mine.exchange.url)
                    .into_iter()
                    .map(|n| format!("{n}=***")),
            )
            .collect();
        exchange.url = if pairs.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{}", pairs.join("&"))
        };
        out.push(ReproStep {
            identity: identity.to_string(),
            role: "session check".into(),
            exchange,
            captures: Vec::new(),
            signature: None,
            fresh: Vec::new(),
        });
    }
    out
}
