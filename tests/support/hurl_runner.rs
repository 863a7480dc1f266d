//! A small interpreter for the subset of hurl that tenantfuzz writes, so that tests can run the
//! `.hurl` reproductions where hurl itself is not installed: entries of a method line, headers,
//! an optional JSON body and `HTTP *`; `[Captures]` by `jsonpath` or `header "Location"`;
//! `status toString regex "..."` (a positive control: no match is an error, as in hurl);
//! `[Asserts]` on `body contains`, `body not contains`, `jsonpath "..." ==`/`!=` a JSON literal
//! and `status` comparisons. Variables are
//! `{{name}}`, and an undefined one is an error, as in hurl. Anything else is an error too, so a
//! file that strays from the subset fails loudly rather than passing.

use std::collections::HashMap;

use serde_json::Value;

#[derive(Debug, Default)]
struct Entry {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    captures: Vec<(String, String)>,
    asserts: Vec<String>,
}

fn parse(text: &str) -> Result<Vec<Entry>, String> {
    #[derive(PartialEq)]
    enum State {
        Start,
        Headers,
        Body,
        Response,
        Captures,
        Asserts,
    }
    let methods = [
        "GET ", "POST ", "PUT ", "PATCH ", "DELETE ", "HEAD ", "OPTIONS ",
    ];
    let mut entries: Vec<Entry> = Vec::new();
    let mut state = State::Start;
    for line in text.lines() {
        if state != State::Body && (line.starts_with('#') || line.trim().is_empty()) {
            continue;
        }
        if state != State::Body && methods.iter().any(|m| line.starts_with(m)) {
            let (method, url) = line.split_once(' ').expect("a method line has a space");
            entries.push(Entry {
                method: method.into(),
                url: url.trim().into(),
                ..Entry::default()
            });
            state = State::Headers;
            continue;
        }
        let entry = entries
            .last_mut()
            .ok_or_else(|| format!("a line before the first request: {line}"))?;
        if line.starts_with("HTTP ") {
            if line.trim() != "HTTP *" {
                return Err(format!("unsupported response line: {line}"));
            }
            state = State::Response;
            continue;
        }
        match state {
            State::Start => return Err(format!("unexpected line: {line}")),
            State::Headers if line.starts_with('{') || line.starts_with('[') => {
                entry.body = Some(format!("{line}\n"));
                state = State::Body;
            }
            State::Headers => {
                let (name, value) = line
                    .split_once(": ")
                    .ok_or_else(|| format!("not a header: {line}"))?;
                entry.headers.push((name.into(), value.into()));
            }
            State::Body => {
                let body = entry.body.get_or_insert_with(String::new);
                body.push_str(line);
                body.push('\n');
            }
            State::Response | State::Captures | State::Asserts if line == "[Captures]" => {
                state = State::Captures;
            }
            State::Response | State::Captures | State::Asserts if line == "[Asserts]" => {
                state = State::Asserts;
            }
            State::Captures => {
                let (name, query) = line
                    .split_once(": ")
                    .ok_or_else(|| format!("not a capture: {line}"))?;
                entry.captures.push((name.into(), query.into()));
            }
            State::Asserts => entry.asserts.push(line.into()),
            State::Response => return Err(format!("unexpected line after HTTP: {line}")),
        }
    }
    Ok(entries)
}

fn template(text: &str, vars: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("}}")
            .ok_or_else(|| format!("unclosed template in {text}"))?;
        let name = &rest[start + 2..start + end];
        let value = vars
            .get(name)
            .ok_or_else(|| format!("undefined variable '{name}'"))?;
        out.push_str(value);
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A quoted hurl string's content.
fn unquote(s: &str) -> Result<String, String> {
    let inner = s
        .trim()
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or_else(|| format!("not a quoted string: {s}"))?;
    Ok(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
}

fn jsonpath<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let mut rest = path.strip_prefix('$')?;
    let mut v = value;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("['") {
            let end = r.find("']")?;
            v = v.get(&r[..end])?;
            rest = &r[end + 2..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            v = v.get(r[..end].parse::<usize>().ok()?)?;
            rest = &r[end + 1..];
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            v = v.get(&r[..end])?;
            rest = &r[end..];
        } else {
            return None;
        }
    }
    Some(v)
}

/// Runs a hurl file. `Ok` when every request was sent and every assert held; `Err` says which
/// did not (or why the file could not run).
pub async fn run(text: &str, vars: &HashMap<String, String>) -> Result<(), String> {
    let client = tenantfuzz::exec::http_client().map_err(|e| e.to_string())?;
    let mut vars = vars.clone();
    for (n, entry) in parse(text)?.into_iter().enumerate() {
        let url = template(&entry.url, &vars)?;
        let method =
            reqwest::Method::from_bytes(entry.method.as_bytes()).map_err(|e| e.to_string())?;
        let mut request = client.request(method, &url);
        for (name, value) in &entry.headers {
            request = request.header(name, template(value, &vars)?);
        }
        if let Some(body) = &entry.body {
            let body = template(body, &vars)?;
            serde_json::from_str::<Value>(&body)
                .map_err(|e| format!("entry {}: the body is not JSON ({e}): {body}", n + 1))?;
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response.text().await.map_err(|e| e.to_string())?;
        for (name, query) in &entry.captures {
            let value = if let Some(pattern) = query.strip_prefix("status toString regex ") {
                // A positive control: no match is a runtime error (hurl's exit 3), not an assert.
                let re = regex::Regex::new(&unquote(pattern)?).map_err(|e| e.to_string())?;
                match re.captures(&status.to_string()).and_then(|c| c.get(1)) {
                    Some(m) => m.as_str().to_string(),
                    None => {
                        return Err(format!(
                            "entry {} ({} {url} -> {status}): cannot decide: capture {name} matched nothing",
                            n + 1,
                            entry.method
                        ));
                    }
                }
            } else if let Some(path) = query.strip_prefix("jsonpath ") {
                let json: Value = serde_json::from_str(&body)
                    .map_err(|_| format!("entry {}: capture {name}: not JSON", n + 1))?;
                match jsonpath(&json, &unquote(path)?) {
                    Some(Value::String(s)) => s.clone(),
                    Some(v) if !v.is_null() => v.to_string(),
                    _ => return Err(format!("entry {}: capture {name} matched nothing", n + 1)),
                }
            } else if query.starts_with("header \"Location\" regex ") {
                let loc = location
                    .clone()
                    .ok_or_else(|| format!("entry {}: no Location header", n + 1))?;
                let path = loc
                    .split(['?', '#'])
                    .next()
                    .unwrap_or("")
                    .trim_end_matches('/');
                path.rsplit('/').next().unwrap_or("").to_string()
            } else {
                return Err(format!("unsupported capture: {query}"));
            };
            vars.insert(name.clone(), value);
        }
        for assert in &entry.asserts {
            let held = if let Some(v) = assert.strip_prefix("body not contains ") {
                !body.contains(&template(&unquote(v)?, &vars)?)
            } else if let Some(v) = assert.strip_prefix("body contains ") {
                body.contains(&template(&unquote(v)?, &vars)?)
            } else if let Some(rest) = assert.strip_prefix("jsonpath ") {
                // `jsonpath "PATH" == VALUE` or `!= VALUE`, VALUE a JSON literal.
                let end = rest[1..]
                    .find('"')
                    .ok_or_else(|| format!("unsupported assert: {assert}"))?;
                let path = &rest[1..end + 1];
                let (op, value) = rest[end + 2..]
                    .trim()
                    .split_once(' ')
                    .ok_or_else(|| format!("unsupported assert: {assert}"))?;
                let want: Value = serde_json::from_str(&template(value, &vars)?)
                    .map_err(|_| format!("unsupported assert: {assert}"))?;
                let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let got = jsonpath(&json, path);
                match op {
                    "==" => got == Some(&want),
                    "!=" => got.is_some_and(|g| *g != want),
                    _ => return Err(format!("unsupported assert: {assert}")),
                }
            } else if let Some(rest) = assert.strip_prefix("status ") {
                let (op, n) = rest
                    .split_once(' ')
                    .ok_or_else(|| format!("unsupported assert: {assert}"))?;
                let n: u16 = n
                    .parse()
                    .map_err(|_| format!("unsupported assert: {assert}"))?;
                match op {
                    "<" => status < n,
                    "<=" => status <= n,
                    ">=" => status >= n,
                    ">" => status > n,
                    "!=" => status != n,
                    "==" => status == n,
                    _ => return Err(format!("unsupported assert: {assert}")),
                }
            } else {
                return Err(format!("unsupported assert: {assert}"));
            };
            if !held {
                return Err(format!(
                    "entry {} ({} {url} -> {status}): assert failed: {assert}",
                    n + 1,
                    entry.method
                ));
            }
        }
    }
    Ok(())
}
