//! `${env:NAME}` and `${file:PATH}` in config values: replaced when the config is read, with
//! files relative to the config's own folder. The values that result are held as secrets by
//! the callers where they are credentials.

use std::path::Path;

/// Where `${env:NAME}` looks a name up (the process environment, or a test's map).
pub(super) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Replaces `${env:NAME}` and `${file:PATH}` in a value.
pub(super) fn interpolate(
    value: &str,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else {
            return Err("unclosed '${' in value".into());
        };
        let inner = &rest[start + 2..start + len];
        let replaced = if let Some(name) = inner.strip_prefix("env:") {
            env(name).ok_or_else(|| format!("environment variable '{name}' is not set"))?
        } else if let Some(file) = inner.strip_prefix("file:") {
            let path = base.join(file);
            std::fs::read_to_string(&path)
                .map_err(|e| format!("failed to read '{}': {e}", path.display()))?
                .trim_end()
                .to_string()
        } else {
            return Err(format!(
                "unknown interpolation '${{{inner}}}' (use ${{env:NAME}} or ${{file:PATH}})"
            ));
        };
        out.push_str(&replaced);
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

pub(super) fn interpolate_json(
    v: &mut serde_json::Value,
    base: &Path,
    env: Env,
) -> Result<(), String> {
    match v {
        serde_json::Value::String(s) => *s = interpolate(s, base, env)?,
        serde_json::Value::Array(items) => {
            for item in items {
                interpolate_json(item, base, env)?;
            }
        }
        serde_json::Value::Object(map) => {
            for item in map.values_mut() {
                interpolate_json(item, base, env)?;
            }
        }
        _ => {}
    }
    Ok(())
}
