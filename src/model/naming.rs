//! Naming heuristics: which resource a parameter or a path segment speaks of. Kept apart so they
//! can be read, tested and tuned in one place; every rule must hold on APIs we did not write.

/// Parameter names that say "an id" without saying of what; the path decides. `pk` is Django's
/// and Flask-AppBuilder's primary key, `sid` Twilio's, `handle` and `code` the address of
/// objects that have no other (`/countries/{code}`).
const GENERIC_ID_NAMES: &[&str] = &[
    "id",
    "uuid",
    "guid",
    "key",
    "slug",
    "identifier",
    "oid",
    "pk",
    "sid",
    "code",
    "handle",
];

/// Suffixes that mark an identifier, longest first. `exposedid` is the public id beside a
/// private one (`subscription_exposed_id`).
const ID_SUFFIXES: &[&str] = &[
    "identifier",
    "exposedid",
    "number",
    "uuid",
    "guid",
    "slug",
    "ids",
    "id",
];

/// Lowercases and drops separators: `Project_ID` -> `projectid`.
pub(crate) fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A crude English singular of a normalized plural segment.
pub(crate) fn singular(word: &str) -> String {
    let w = normalize(word);
    if let Some(stem) = w.strip_suffix("ies") {
        if !stem.is_empty() {
            return format!("{stem}y");
        }
    }
    // `houses`, `warehouses`, `clauses`: a vowel before `-uses` means the singular ends in
    // `-use`; `statuses`, `bonuses`, `campuses` drop `-es`.
    if let Some(stem) = w.strip_suffix("uses") {
        if stem.ends_with(['a', 'e', 'i', 'o', 'u']) {
            return format!("{stem}use");
        }
    }
    for suffix in ["sses", "shes", "ches", "xes", "zzes", "uses", "sses"] {
        if let Some(stem) = w.strip_suffix(suffix) {
            return format!("{stem}{}", &suffix[..suffix.len() - 2]);
        }
    }
    if w.ends_with("ss") || w.ends_with("us") || w.ends_with("is") {
        return w;
    }
    w.strip_suffix('s').map(str::to_string).unwrap_or(w)
}

/// Whether `name` is a generic id name (`id`, `uuid`, ...).
pub(crate) fn is_generic_id(name: &str) -> bool {
    GENERIC_ID_NAMES.contains(&normalize(name).as_str()) || is_either_id(name)
}

/// Whether `name` offers generic ids to choose from: `id_or_uuid`, `id_or_slug`, `pkOrUuid`
/// (NetBox, Django REST framework lookups that take either).
fn is_either_id(name: &str) -> bool {
    let words = words(name);
    let parts: Vec<&[String]> = words.split(|w| w == "or").collect();
    parts.len() > 1
        && parts
            .iter()
            .all(|p| !p.is_empty() && GENERIC_ID_NAMES.contains(&normalize(&p.join("")).as_str()))
}

/// The resource an identifier-like name refers to: `projectId` -> `project`,
/// `X-Workspace-Id` -> `workspace`, `document_ids` -> `document`. `None` for names that do not
/// end in an id suffix, and for generic names (`id`) which need the path to decide.
pub(crate) fn resource_of_id_name(name: &str) -> Option<String> {
    let mut n = normalize(name);
    if let Some(rest) = n.strip_prefix('x') {
        // Header names: X-Workspace-Id.
        if name.to_ascii_lowercase().starts_with("x-") {
            n = rest.to_string();
        }
    }
    if GENERIC_ID_NAMES.contains(&n.as_str()) || is_either_id(name) {
        return None;
    }
    ID_SUFFIXES
        .iter()
        .find_map(|s| n.strip_suffix(s).filter(|stem| stem.len() >= 3))
        .map(singular)
}

/// The words of a name: `to_warehouse_id`, `toWarehouseId` and `X-To-Warehouse-Id` all give
/// `to`, `warehouse`, `id` (with `x` first for the header).
pub(crate) fn words(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The resources an identifier-like name may refer to, most specific first: the whole stem, then
/// the stem without its leading qualifier words (`to_warehouse_id` -> `towarehouse`, then
/// `warehouse`; `sourceAccountId` -> `sourceaccount`, then `account`). Callers take the first one
/// that names a resource they know, so qualified references (`to_`, `source_`, `parent_`) reach
/// the resource without inventing a new one.
pub(crate) fn resources_of_id_name(name: &str) -> Vec<String> {
    let mut out: Vec<String> = resource_of_id_name(name).into_iter().collect();
    let words = words(name);
    for start in 1..words.len() {
        if let Some(r) = resource_of_id_name(&words[start..].join("_")) {
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    out
}

/// The resource a path parameter names: by its own name (`{projectId}`), or for generic names
/// and bare nouns by the literal segment before it (`/projects/{id}`, `/projects/{project}`).
pub(crate) fn resource_of_path_param(
    name: &str,
    preceding_segment: Option<&str>,
) -> Option<String> {
    if let Some(r) = resource_of_id_name(name) {
        return Some(r);
    }
    let segment = preceding_segment.map(singular).filter(|s| s.len() >= 2);
    if is_generic_id(name) {
        return segment;
    }
    // Addressed by a name rather than an id: `{name}` after `/pods` (Kubernetes objects, tags),
    // `{username}` after `/users`. Only in paths: a `name` in a query or a body is a filter or a
    // label, not an address.
    let n = normalize(name);
    if let Some(seg) = &segment {
        if n == "name" || n == format!("{}name", normalize(seg)) {
            return segment;
        }
    }
    // `{project}` after `/projects`: the bare noun is the resource.
    let bare = singular(name);
    match segment {
        Some(seg) if seg == bare => Some(seg),
        _ => None,
    }
}

/// Literal segments of a path template, with the index of each `{param}` they precede.
pub(crate) fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// The literal segment right before `{name}` in `path`.
pub(crate) fn segment_before_param<'a>(path: &'a str, name: &str) -> Option<&'a str> {
    let needle = format!("{{{name}}}");
    let segs = segments(path);
    let i = segs.iter().position(|s| *s == needle)?;
    segs[..i]
        .iter()
        .rev()
        .find(|s| !s.starts_with('{'))
        .copied()
}

/// The last literal segment of a path (the collection a POST creates into).
pub(crate) fn last_literal(path: &str) -> Option<&str> {
    let segs = segments(path);
    match segs.last() {
        Some(s) if !s.starts_with('{') => Some(s),
        _ => None,
    }
}

/// Names that suggest authentication plumbing rather than a resource.
pub(crate) fn is_auth_path(path: &str) -> bool {
    segments(path).iter().any(|s| {
        let n = normalize(s);
        matches!(
            n.as_str(),
            "login"
                | "logout"
                | "signin"
                | "signout"
                | "signup"
                | "register"
                | "token"
                | "tokens"
                | "oauth"
                | "oauth2"
                | "session"
                | "sessions"
                | "refresh"
                | "password"
                | "passwordreset"
                | "apikey"
                | "apikeys"
        )
    })
}

/// Field names that carry ownership or privilege; never filled in ordinary requests.
pub(crate) fn is_privileged_field(name: &str) -> bool {
    let n = normalize(name);
    matches!(
        n.as_str(),
        "role"
            | "roles"
            | "admin"
            | "isadmin"
            | "superuser"
            | "issuperuser"
            | "permissions"
            | "scopes"
            | "plan"
            | "tier"
            | "owner"
            | "ownerid"
            | "tenant"
            | "tenantid"
            | "userid"
            | "accountid"
            | "organizationid"
            | "orgid"
            | "verified"
            | "isverified"
            | "balance"
            | "credits"
            | "status"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singulars() {
        for (plural, one) in [
            ("projects", "project"),
            ("companies", "company"),
            ("addresses", "address"),
            ("boxes", "box"),
            ("status", "status"),
            ("statuses", "status"),
            ("billing", "billing"),
            ("Invoices", "invoice"),
            ("matches", "match"),
            ("warehouses", "warehouse"),
            ("houses", "house"),
            ("clauses", "clause"),
            ("bonuses", "bonus"),
            ("campuses", "campus"),
        ] {
            assert_eq!(singular(plural), one, "{plural}");
        }
    }

    #[test]
    fn primary_keys_either_ids_and_exposed_ids_are_ids() {
        // Django's and Flask-AppBuilder's `{pk}`, Twilio's `{sid}`: the path decides.
        for name in [
            "pk",
            "sid",
            "code",
            "handle",
            "id_or_uuid",
            "id_or_slug",
            "pkOrUuid",
        ] {
            assert!(is_generic_id(name), "{name}");
            assert_eq!(resource_of_id_name(name), None, "{name}");
            assert_eq!(
                resource_of_path_param(name, Some("charts")).as_deref(),
                Some("chart"),
                "{name}"
            );
        }
        // Not a choice of ids: a resource named before the `or`, or nothing after it.
        assert!(!is_generic_id("color_or_id"));
        assert!(!is_generic_id("id_or"));
        assert_eq!(
            resource_of_id_name("subscription_exposed_id").as_deref(),
            Some("subscription")
        );
    }

    #[test]
    fn id_names() {
        assert_eq!(resource_of_id_name("projectId").as_deref(), Some("project"));
        assert_eq!(
            resource_of_id_name("project_id").as_deref(),
            Some("project")
        );
        assert_eq!(
            resource_of_id_name("X-Workspace-Id").as_deref(),
            Some("workspace")
        );
        assert_eq!(
            resource_of_id_name("documentIds").as_deref(),
            Some("document")
        );
        assert_eq!(
            resource_of_id_name("issue_number").as_deref(),
            Some("issue")
        );
        assert_eq!(resource_of_id_name("id"), None);
        assert_eq!(resource_of_id_name("name"), None);
        assert_eq!(resource_of_id_name("paid"), None);
    }

    #[test]
    fn qualified_id_names() {
        assert_eq!(
            resources_of_id_name("to_warehouse_id"),
            vec!["towarehouse".to_string(), "warehouse".to_string()]
        );
        assert_eq!(
            resources_of_id_name("sourceAccountId"),
            vec!["sourceaccount".to_string(), "account".to_string()]
        );
        assert_eq!(
            resources_of_id_name("X-Parent-Folder-Id"),
            vec!["parentfolder".to_string(), "folder".to_string()]
        );
        assert_eq!(
            resources_of_id_name("projectId"),
            vec!["project".to_string()]
        );
        assert_eq!(
            resources_of_id_name("workspace_ids"),
            vec!["workspace".to_string()]
        );
        // Nothing that is not an id name, and no generic leftover (`id` alone).
        assert!(resources_of_id_name("display_name").is_empty());
        assert!(resources_of_id_name("id").is_empty());
        assert!(resources_of_id_name("paid").is_empty());
    }

    #[test]
    fn path_params() {
        assert_eq!(
            resource_of_path_param("id", Some("attachments")).as_deref(),
            Some("attachment")
        );
        assert_eq!(
            resource_of_path_param("project", Some("projects")).as_deref(),
            Some("project")
        );
        assert_eq!(resource_of_path_param("owner", Some("repos")), None);
        assert_eq!(
            segment_before_param(
                "/workspaces/{workspaceId}/projects/{projectId}",
                "projectId"
            ),
            Some("projects")
        );
        assert_eq!(
            last_literal("/projects/{projectId}/documents"),
            Some("documents")
        );
        assert_eq!(last_literal("/documents/{documentId}"), None);
    }
}
