//! Specs split over several files: every `$ref` to another file (relative to the file that
//! holds it, YAML or JSON, with or without a fragment, nested to any depth) is brought into the
//! main document, so that the converter sees one document with local references only.
//!
//! Each file is read once, whatever refers to it and however often, so references that go round
//! between files end (their schemas are then cut where they recur, as a local cycle is). A file
//! outside the spec's directory (`../common.yaml`) is read like any other: real layouts do that.
//! Nothing is ever fetched: a `$ref` to a URL is refused, naming it. A reference that cannot be
//! followed (a URL, a missing file) fails only when the converter uses it, as a broken local
//! reference does, so an unused corner of a shared file does not stop the load.
//!
//! The other files go under [`FILES`] in the root, keyed by their path relative to the main
//! file's directory; [`readable`] turns such a place back into `file#/pointer` for errors.

use std::collections::{HashMap, VecDeque};
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value, json};

use super::SpecError;
use super::convert::escape;

/// The root key the other files go under.
pub(crate) const FILES: &str = "x-tenantfuzz-files";
/// The root key of the references that could not be followed, with why.
pub(crate) const UNRESOLVED: &str = "x-tenantfuzz-unresolved";

/// A file read and waiting for its references to be rewritten.
struct Pending {
    key: String,
    dir: PathBuf,
    canonical: PathBuf,
    value: Value,
}

struct Bundler {
    main: PathBuf,
    main_dir: PathBuf,
    /// Canonical path -> key, for every file seen (read or being read).
    keys: HashMap<PathBuf, String>,
    queue: VecDeque<Pending>,
    done: Map<String, Value>,
    unresolved: Vec<Value>,
}

/// Brings every file `root` (read from `path`) refers to into it. Fails on a referenced file
/// that cannot be parsed; references that cannot be followed fail when used (see the module).
pub(crate) fn bundle(root: &mut Value, path: &Path) -> Result<(), SpecError> {
    if !root.is_object() {
        return Ok(());
    }
    let main_dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let main = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let main_dir_canonical = std::fs::canonicalize(&main_dir).unwrap_or(main_dir.clone());
    let mut b = Bundler {
        main: main.clone(),
        main_dir: main_dir_canonical,
        keys: HashMap::new(),
        queue: VecDeque::new(),
        done: Map::new(),
        unresolved: Vec::new(),
    };
    b.rewrite(root, None, &main_dir, &main, &mut String::new())?;
    while let Some(mut p) = b.queue.pop_front() {
        b.rewrite(
            &mut p.value,
            Some(&p.key),
            &p.dir.clone(),
            &p.canonical.clone(),
            &mut String::new(),
        )?;
        b.done.insert(p.key, p.value);
    }
    if b.done.is_empty() && b.unresolved.is_empty() {
        return Ok(());
    }
    let obj = root.as_object_mut().expect("checked to be an object above");
    obj.insert(FILES.into(), Value::Object(b.done));
    obj.insert(UNRESOLVED.into(), Value::Array(b.unresolved));
    Ok(())
}

/// Whether a reference starts with a URI scheme (`https:`, `file:`, `urn:`).
pub(crate) fn is_url(reference: &str) -> bool {
    let Some((scheme, _)) = reference.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    // A single letter is a Windows drive (`C:\specs\a.yaml`), not a scheme.
    scheme.len() > 1
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

impl Bundler {
    /// Rewrites every `$ref` in `value` (of the file `key`, the main one when `None`) to a local
    /// one, reading the files they name.
    fn rewrite(
        &mut self,
        value: &mut Value,
        key: Option<&str>,
        dir: &Path,
        canonical: &Path,
        pointer: &mut String,
    ) -> Result<(), SpecError> {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    let local = self.resolve(reference, key, dir, canonical, pointer)?;
                    map.insert("$ref".into(), Value::String(local));
                }
                for (k, v) in map.iter_mut() {
                    if k == "$ref" {
                        continue;
                    }
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&escape(k));
                    self.rewrite(v, key, dir, canonical, pointer)?;
                    pointer.truncate(len);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter_mut().enumerate() {
                    let len = pointer.len();
                    pointer.push_str(&format!("/{i}"));
                    self.rewrite(v, key, dir, canonical, pointer)?;
                    pointer.truncate(len);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The local reference that stands for `reference`, written at `pointer` of file `key`.
    fn resolve(
        &mut self,
        reference: &str,
        key: Option<&str>,
        dir: &Path,
        canonical: &Path,
        pointer: &str,
    ) -> Result<String, SpecError> {
        let in_file = |fragment: &str, key: Option<&str>| match key {
            None => format!("#{fragment}"),
            Some(k) => format!("#/{FILES}/{}{fragment}", file_token(k)),
        };
        if let Some(fragment) = reference.strip_prefix('#') {
            return Ok(in_file(fragment, key));
        }
        if is_url(reference) {
            return Ok(self.unresolved(
                reference,
                key,
                pointer,
                "a reference to a URL: tenantfuzz fetches nothing from the network; save the \
                 document and refer to it by a relative file path"
                    .into(),
            ));
        }
        let (file, fragment) = match reference.split_once('#') {
            Some((f, frag)) => (f, frag),
            None => (reference, ""),
        };
        let file = percent_encoding::percent_decode_str(file).decode_utf8_lossy();
        let target = dir.join(file.as_ref());
        let target_canonical = match std::fs::canonicalize(&target) {
            Ok(c) => c,
            Err(e) => {
                return Ok(self.unresolved(
                    reference,
                    key,
                    pointer,
                    format!("cannot read '{}': {e}", target.display()),
                ));
            }
        };
        if target_canonical == self.main {
            return Ok(in_file(fragment, None));
        }
        if target_canonical == canonical {
            return Ok(in_file(fragment, key));
        }
        if let Some(k) = self.keys.get(&target_canonical) {
            return Ok(in_file(fragment, Some(&k.clone())));
        }
        let text = match std::fs::read_to_string(&target) {
            Ok(t) => t,
            Err(e) => {
                return Ok(self.unresolved(
                    reference,
                    key,
                    pointer,
                    format!("cannot read '{}': {e}", target.display()),
                ));
            }
        };
        let new_key = relative(&self.main_dir, &target_canonical);
        let value = super::load::parse(&text, &target.display().to_string())?;
        self.keys.insert(target_canonical.clone(), new_key.clone());
        self.queue.push_back(Pending {
            key: new_key.clone(),
            dir: target_canonical
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            canonical: target_canonical,
            value,
        });
        Ok(in_file(fragment, Some(&new_key)))
    }

    /// Records a reference that cannot be followed; the local reference that says why.
    fn unresolved(
        &mut self,
        reference: &str,
        key: Option<&str>,
        pointer: &str,
        reason: String,
    ) -> String {
        let n = self.unresolved.len();
        let place = match key {
            Some(k) => format!("{k}#{pointer}"),
            None => format!("#{pointer}"),
        };
        self.unresolved
            .push(json!({"ref": reference, "place": place, "reason": reason}));
        format!("#/{UNRESOLVED}/{n}")
    }
}

/// A file's key as a JSON pointer token (percent signs too: fragments are percent-decoded).
fn file_token(key: &str) -> String {
    escape(key).replace('%', "%25")
}

/// `to` relative to `from` (both canonical), `../` where it is outside.
fn relative(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to_parts: Vec<Component> = to.components().collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut out: Vec<String> = Vec::new();
    for _ in common..from.len() {
        out.push("..".into());
    }
    for c in &to_parts[common..] {
        out.push(c.as_os_str().to_string_lossy().into_owned());
    }
    out.join("/")
}

/// A place in the bundled document as its file and pointer: `#/x-tenantfuzz-files/a~1b.yaml/x`
/// becomes `a/b.yaml#/x`. Everything else is left as it is.
pub(crate) fn readable(text: &str) -> String {
    let marker = format!("#/{FILES}/");
    if !text.contains(&marker) {
        return text.to_string();
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(&marker) {
        out.push_str(&rest[..at]);
        let after = &rest[at + marker.len()..];
        let end = after.find(['/', ' ']).unwrap_or(after.len());
        let file = percent_encoding::percent_decode_str(&after[..end]).decode_utf8_lossy();
        out.push_str(&file.replace("~1", "/").replace("~0", "~"));
        out.push('#');
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The name a bundled reference gives a schema: the file's stem for a whole file
/// (`schemas/User.yaml`), else the last token under `schemas` or `definitions`, or of a
/// one-token fragment (`defs.yaml#/Pet`).
pub(crate) fn schema_name(reference: &str) -> Option<String> {
    let rest = reference.strip_prefix(&format!("#/{FILES}/"))?;
    let (file, fragment) = match rest.split_once('/') {
        Some((f, frag)) => (f, frag),
        None => (rest, ""),
    };
    let decode = |t: &str| {
        percent_encoding::percent_decode_str(t)
            .decode_utf8_lossy()
            .replace("~1", "/")
            .replace("~0", "~")
    };
    let tokens: Vec<String> = fragment
        .split('/')
        .filter(|t| !t.is_empty())
        .map(decode)
        .collect();
    match tokens.as_slice() {
        [] => {
            let file = decode(file);
            let name = file.rsplit('/').next().unwrap_or(&file);
            let stem = name.split('.').next().unwrap_or(name);
            (!stem.is_empty()).then(|| stem.to_string())
        }
        [one] => Some(one.clone()),
        [.., parent, last] if matches!(parent.as_str(), "schemas" | "definitions" | "$defs") => {
            Some(last.clone())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_paths() {
        assert!(is_url("https://example.com/a.yaml#/x"));
        assert!(is_url("file:///etc/passwd"));
        assert!(!is_url("../common.yaml#/Error"));
        assert!(!is_url("C:\\specs\\a.yaml"));
        assert!(!is_url("#/components/schemas/A"));
    }

    #[test]
    fn places_read_as_file_and_pointer() {
        assert_eq!(
            readable("/paths/~1a/get -> #/x-tenantfuzz-files/schemas~1User.yaml/properties/x"),
            "/paths/~1a/get -> schemas/User.yaml#/properties/x"
        );
        assert_eq!(readable("/paths/~1a"), "/paths/~1a");
    }

    #[test]
    fn names_of_bundled_schemas() {
        let name = |r: &str| schema_name(r);
        assert_eq!(
            name("#/x-tenantfuzz-files/schemas~1User.yaml").as_deref(),
            Some("User")
        );
        assert_eq!(
            name("#/x-tenantfuzz-files/common.yaml/components/schemas/Error").as_deref(),
            Some("Error")
        );
        assert_eq!(
            name("#/x-tenantfuzz-files/defs.json/Pet").as_deref(),
            Some("Pet")
        );
        assert_eq!(name("#/x-tenantfuzz-files/p.yaml/limit/schema"), None);
        assert_eq!(name("#/components/schemas/A"), None);
    }

    #[test]
    fn relative_paths_climb_out() {
        assert_eq!(
            relative(Path::new("/a/spec"), Path::new("/a/common/e.yaml")),
            "../common/e.yaml"
        );
        assert_eq!(
            relative(Path::new("/a/spec"), Path::new("/a/spec/x/y.yaml")),
            "x/y.yaml"
        );
    }
}
