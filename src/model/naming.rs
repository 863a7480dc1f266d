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

/// Whether two field names name the same field of an object: equal once normalized
/// (`payment_status`, `paymentStatus`), or one ends with the other when that one is not a short
/// word (`payment_status` and `status`; not `plan_type` and `type`). A webhook event's `status`
/// and the object's read `status` are one field.
pub(crate) fn same_field(a: &str, b: &str) -> bool {
    let (a, b) = (normalize(a), normalize(b));
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    !short.is_empty() && (short == long || (short.len() >= 5 && long.ends_with(&short)))
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

/// Format suffixes a path may end its segments with (`/Calls.json`, `/Calls/{Sid}.json`:
/// Twilio); they name a representation, not a resource.
const FORMAT_SUFFIXES: &[&str] = &[".json", ".xml", ".yaml", ".yml", ".csv", ".txt", ".html"];

/// Verbs that, after an item's id (`/charges/{charge}/capture`), name an action on that item
/// rather than a resource of its own: the action takes the parent's id and creates nothing.
/// Matched on a segment's first word (`verify_microdeposits`, `mark_uncollectible`). Verbs that
/// make something new of the item (`copy`, `clone`, `duplicate`, `fork`) are not here.
const ACTIONS: &[&str] = &[
    "accept",
    "activate",
    "apply",
    "approve",
    "archive",
    "attach",
    "cancel",
    "capture",
    "close",
    "complete",
    "confirm",
    "deactivate",
    "decline",
    "detach",
    "disable",
    "dismiss",
    "enable",
    "expire",
    "finalize",
    "increment",
    "lock",
    "mark",
    "pause",
    "pay",
    "publish",
    "reject",
    "refund",
    "reopen",
    "rerun",
    "resend",
    "reset",
    "restore",
    "resume",
    "retry",
    "reverse",
    "revoke",
    "run",
    "send",
    "start",
    "stop",
    "submit",
    "suspend",
    "trigger",
    "unarchive",
    "unlock",
    "unpublish",
    "verify",
    "void",
];

/// A segment without its format suffix: `Calls.json` -> `Calls`, `{Sid}.json` -> `{Sid}`.
pub(crate) fn without_format(segment: &str) -> &str {
    FORMAT_SUFFIXES
        .iter()
        .find_map(|f| segment.strip_suffix(f).filter(|s| !s.is_empty()))
        .unwrap_or(segment)
}

/// A path without a trailing slash or format suffix: the key its collection and item path
/// share (`/Calls.json` and `/Calls/{Sid}.json` are `/Calls` and `/Calls/{Sid}`).
pub(crate) fn path_key(path: &str) -> &str {
    without_format(path.trim_end_matches('/')).trim_end_matches('/')
}

/// Whether a literal segment is a version or an API prefix (`v1`, `v2beta1`, `api`, `rest`,
/// `2010-04-01`), which names no resource.
pub(crate) fn is_version_segment(segment: &str) -> bool {
    let s = segment.to_ascii_lowercase();
    if matches!(s.as_str(), "api" | "apis" | "rest" | "latest") {
        return true;
    }
    // `2010-04-01`, `1.0`: digits and separators only.
    if !s.is_empty()
        && s.chars().any(|c| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '.' | '_'))
    {
        return true;
    }
    // `v1`, `v1.2`, `v2beta1`, `v1alpha`.
    let Some(rest) = s.strip_prefix('v') else {
        return false;
    };
    let digits = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    digits.len() < rest.len()
        && ["", "alpha", "beta"].iter().any(|tag| {
            digits
                .strip_prefix(tag)
                .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
        })
}

/// Whether `path` is an action on the item before it (`/charges/{charge}/capture`,
/// `/invoices/{invoice}/mark_uncollectible`): its last segment is an action verb right after a
/// path parameter.
pub(crate) fn is_action_path(path: &str) -> bool {
    let segs = segments(path);
    match segs.as_slice() {
        [.., parent, last] if parent.starts_with('{') && !last.starts_with('{') => words(last)
            .first()
            .is_some_and(|w| ACTIONS.contains(&w.as_str())),
        _ => false,
    }
}

/// Segments of a path template, each without its format suffix (`{Sid}.json` -> `{Sid}`).
pub(crate) fn segments(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(without_format)
        .collect()
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
        .filter(|s| !is_version_segment(s))
}

/// The last literal segment of a path (the collection a POST creates into); `None` when it is a
/// version (`/api/v1`) or a parameter.
pub(crate) fn last_literal(path: &str) -> Option<&str> {
    let segs = segments(path);
    match segs.last() {
        Some(s) if !s.starts_with('{') && !is_version_segment(s) => Some(s),
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
            | "emailverified"
            | "isstaff"
            | "balance"
            | "credits"
            | "status"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_field_is_the_same_under_other_spellings_and_prefixes() {
        assert!(same_field("status", "status"));
        assert!(same_field("payment_status", "status"));
        assert!(same_field("paymentStatus", "payment_status"));
        assert!(same_field("State", "order_state"));
        assert!(
            !same_field("type", "plan_type"),
            "a short word names too much"
        );
        assert!(!same_field("status", "statuses_count"));
        assert!(!same_field("", "status"));
    }

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
    fn versions_formats_and_actions_are_not_resources() {
        for v in [
            "v1",
            "V2",
            "v1.2",
            "v2beta1",
            "v1alpha",
            "api",
            "rest",
            "2010-04-01",
            "1.0",
        ] {
            assert!(is_version_segment(v), "{v}");
        }
        for s in [
            "values", "vendors", "v", "vip", "apis2", "projects", "version",
        ] {
            assert!(!is_version_segment(s), "{s}");
        }
        // Twilio's format suffixes: the collection and the item path share a key.
        assert_eq!(
            last_literal("/2010-04-01/Accounts/{AccountSid}/Calls.json"),
            Some("Calls")
        );
        assert_eq!(
            segment_before_param("/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json", "Sid"),
            Some("Calls")
        );
        assert_eq!(path_key("/Calls/{Sid}.json"), "/Calls/{Sid}");
        assert_eq!(path_key("/sites/"), "/sites");
        // A version names nothing: `/api/v1` creates no `v1`, `/v1/{id}` takes no `v1`'s id.
        assert_eq!(last_literal("/api/v1"), None);
        assert_eq!(segment_before_param("/v1/{id}", "id"), None);
        assert_eq!(
            resource_of_path_param("id", segment_before_param("/api/v2/charges/{id}", "id")),
            Some("charge".into())
        );
        // Actions act on the item before them; a sub-collection or a copy is no action.
        for path in [
            "/v1/charges/{charge}/capture",
            "/v1/invoices/{invoice}/mark_uncollectible",
            "/v1/payment_intents/{intent}/verify_microdeposits",
            "/orders/{id}/cancel",
            "/posts/{id}/publish",
        ] {
            assert!(is_action_path(path), "{path}");
        }
        for path in [
            "/v1/charges/{charge}/refunds",
            "/v1/charges",
            "/cancel",
            "/repos/{owner}/{repo}/forks",
            "/documents/{id}/copy",
            "/charges/{charge}/capture/{id}",
        ] {
            assert!(!is_action_path(path), "{path}");
        }
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
