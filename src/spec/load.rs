//! Reading a spec file: YAML or JSON text into a JSON value, with errors that name the place.

use std::path::Path;

use serde_json::{Map, Number, Value};

use super::SpecError;

/// Reads and parses `path` (YAML or JSON, by content).
pub(crate) fn read(path: &Path) -> Result<(String, Value), SpecError> {
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let value = parse(&text, &path.display().to_string())?;
    Ok((text, value))
}

/// Parses spec text. JSON is tried first when the text looks like JSON, for its exact line numbers.
pub(crate) fn parse(text: &str, source: &str) -> Result<Value, SpecError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') {
        return serde_json::from_str(trimmed).map_err(|e| SpecError::Syntax {
            source_name: source.to_string(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        });
    }
    let yaml: yaml_serde::Value = yaml_serde::from_str(trimmed).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        SpecError::Syntax {
            source_name: source.to_string(),
            line,
            column,
            message: e.to_string(),
        }
    })?;
    Ok(yaml_to_json(yaml))
}

/// Converts YAML to JSON. Non-string keys (`200:` unquoted) become their string form.
fn yaml_to_json(value: yaml_serde::Value) -> Value {
    use yaml_serde::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Number(i.into())
            } else if let Some(u) = n.as_u64() {
                Value::Number(u.into())
            } else {
                n.as_f64()
                    .and_then(Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    Y::Null => "null".to_string(),
                    other => yaml_serde::to_string(&other)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                };
                out.insert(key, yaml_to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

/// Where path items start in the spec text, found in one pass, so that each operation's line is
/// a short forward scan (a per-operation search of a 13 MB spec is quadratic).
pub(crate) struct Lines<'a> {
    lines: Vec<&'a str>,
    /// Path template -> index of the line of its key.
    paths: std::collections::HashMap<String, usize>,
}

impl<'a> Lines<'a> {
    /// Indexes `text`. Minified documents (a few enormous lines) get no index: their line
    /// numbers would say nothing.
    pub(crate) fn new(text: &'a str) -> Lines<'a> {
        let lines: Vec<&str> = text.lines().collect();
        let mut paths = std::collections::HashMap::new();
        if text.len() / lines.len().max(1) > 2_000 {
            return Lines { lines, paths };
        }
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            let key = match t.as_bytes().first() {
                Some(b'"') => t[1..].split_once('"').map(|(k, _)| k),
                Some(b'\'') => t[1..].split_once('\'').map(|(k, _)| k),
                Some(b'/') => t.split_once(':').map(|(k, _)| k.trim_end()),
                _ => None,
            };
            if let Some(key) = key.filter(|k| k.starts_with('/')) {
                paths.entry(key.to_string()).or_insert(i);
            }
        }
        Lines { lines, paths }
    }

    /// The 1-based line of an operation: its method key after its path's key.
    pub(crate) fn operation(&self, path: &str, method_key: &str) -> Option<usize> {
        let start = *self.paths.get(path)?;
        let indent_of = |l: &str| l.len() - l.trim_start().len();
        let path_indent = indent_of(self.lines[start]);
        let method_keys = [format!("{method_key}:"), format!("\"{method_key}\":")];
        for (i, l) in self.lines.iter().enumerate().skip(start + 1) {
            let t = l.trim_start();
            if t.is_empty() {
                continue;
            }
            // A key at the path's indentation or less ends the path item.
            if indent_of(l) <= path_indent && t.starts_with(['"', '\'', '/']) {
                return None;
            }
            if method_keys.iter().any(|k| t.starts_with(k.as_str())) {
                return Some(i + 1);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_integer_keys_become_strings() {
        let v = parse("responses:\n  200:\n    description: ok\n", "t").expect("parses");
        assert_eq!(v["responses"]["200"]["description"], "ok");
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let err = parse("a: [1, 2\nb: c\n", "spec.yaml").expect_err("invalid");
        let msg = err.to_string();
        assert!(msg.starts_with("spec.yaml:"), "{msg}");
        let err = parse("{\n  \"a\": 1,\n  \"b\" 2\n}", "spec.json").expect_err("invalid");
        assert!(err.to_string().starts_with("spec.json:3:"), "{err}");
    }

    #[test]
    fn finds_operation_lines() {
        let text = "paths:\n  /a:\n    get:\n      x: 1\n  /b/{id}:\n    put:\n      y: 2\n    delete:\n      z: 3\n";
        let lines = Lines::new(text);
        assert_eq!(lines.operation("/a", "get"), Some(3));
        assert_eq!(lines.operation("/b/{id}", "delete"), Some(8));
        assert_eq!(lines.operation("/a", "put"), None);
        let json = "{\n  \"paths\": {\n    \"/a\": {\n      \"get\": {}\n    }\n  }\n}";
        assert_eq!(Lines::new(json).operation("/a", "get"), Some(4));
    }
}
