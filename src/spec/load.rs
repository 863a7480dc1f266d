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

/// The 1-based line of an operation in the spec text: the line of its method key after the line
/// of its path key. Best effort; `None` when the text is laid out in a way this does not follow.
pub(crate) fn operation_line(text: &str, path: &str, method_key: &str) -> Option<usize> {
    let keys = [
        format!("{path}:"),
        format!("\"{path}\":"),
        format!("'{path}':"),
        format!("\"{path}\" :"),
    ];
    let mut lines = text.lines().enumerate();
    let (path_line, _) = lines
        .by_ref()
        .find(|(_, l)| keys.iter().any(|k| l.trim_start().starts_with(k.as_str())))?;
    let method_keys = [format!("{method_key}:"), format!("\"{method_key}\":")];
    let indent_of = |l: &str| l.len() - l.trim_start().len();
    let path_indent = indent_of(text.lines().nth(path_line)?);
    for (i, l) in lines {
        let t = l.trim_start();
        if t.is_empty() {
            continue;
        }
        // Leaving the path item (a key at the path's indentation or less) ends the search.
        if indent_of(l) <= path_indent && !t.starts_with('}') && t.starts_with(['"', '\'', '/']) {
            return None;
        }
        if method_keys.iter().any(|k| t.starts_with(k.as_str())) {
            return Some(i + 1);
        }
    }
    None
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
        assert_eq!(operation_line(text, "/a", "get"), Some(3));
        assert_eq!(operation_line(text, "/b/{id}", "delete"), Some(8));
        assert_eq!(operation_line(text, "/a", "put"), None);
    }
}
