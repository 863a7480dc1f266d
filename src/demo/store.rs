//! The demo's in-memory state: users, sessions, workspaces and everything inside them, seeded at
//! start. Plain data and lookups; who may do what is decided by the route handlers.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use uuid::Uuid;

use super::config::{ACCOUNTS, WORKSPACES, WorkspaceRole};

/// A random lowercase hex string of `len` characters (at most 32).
pub(crate) fn random_hex(len: usize) -> String {
    let mut s = Uuid::new_v4().simple().to_string();
    s.truncate(len);
    s
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// An RFC 3339 UTC timestamp for the current time.
pub(crate) fn now_rfc3339() -> String {
    let secs = unix_now();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil conversion.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct User {
    pub id: String,
    pub email: String,
    #[serde(skip)]
    pub password: String,
    pub display_name: String,
    /// Platform role: `user` or `admin`.
    pub role: String,
    pub created_at: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub user_id: String,
    pub expires: Instant,
}

/// A browser-style session: the cookie's value is the key; writes must echo `csrf`.
#[derive(Debug, Clone)]
pub(crate) struct CookieSession {
    pub user_id: String,
    pub expires: Instant,
    pub csrf: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Workspace {
    pub id: String,
    pub name: String,
    pub plan: String,
    pub owner_id: String,
    pub credit_balance_cents: i64,
    pub created_at: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Membership {
    pub workspace_id: String,
    pub user_id: String,
    pub role: WorkspaceRole,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Project {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    pub description: String,
    pub created_by: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Document {
    pub id: u64,
    pub project_id: String,
    pub workspace_id: String,
    pub title: String,
    pub body: String,
    pub published: bool,
    pub version: u64,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Comment {
    pub id: u64,
    pub document_id: u64,
    pub author_id: String,
    pub body: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Attachment {
    pub id: Uuid,
    pub workspace_id: String,
    pub filename: String,
    pub content_type: String,
    pub size: usize,
    pub content: String,
    pub created_by: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExportDocument {
    pub id: u64,
    pub title: String,
    pub body: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Export {
    pub id: String,
    pub project_id: String,
    #[serde(skip)]
    pub workspace_id: String,
    pub status: String,
    pub created_by: String,
    pub created_at: String,
    pub documents: Vec<ExportDocument>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Invoice {
    pub id: String,
    pub workspace_id: String,
    pub number: String,
    pub amount_cents: i64,
    pub currency: String,
    pub status: String,
    pub issued_at: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Automation {
    pub id: u64,
    pub project_id: String,
    pub name: String,
    pub trigger: String,
    pub action: String,
    pub created_by: String,
    pub created_at: String,
}

/// Everything the demo holds. Guarded by one mutex in the server state.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub users: BTreeMap<String, User>,
    pub sessions: HashMap<String, Session>,
    /// Cookie sessions from `POST /auth/session`, by cookie value.
    pub cookie_sessions: HashMap<String, CookieSession>,
    /// API keys from `POST /auth/api-keys`: key -> user id. They do not expire.
    pub api_keys: HashMap<String, String>,
    pub workspaces: BTreeMap<String, Workspace>,
    pub memberships: Vec<Membership>,
    pub projects: BTreeMap<String, Project>,
    pub documents: BTreeMap<u64, Document>,
    pub comments: BTreeMap<u64, Comment>,
    pub attachments: BTreeMap<Uuid, Attachment>,
    pub exports: BTreeMap<String, Export>,
    pub invoices: BTreeMap<String, Invoice>,
    pub automations: BTreeMap<u64, Automation>,
    pub webhook_events: HashSet<String>,
    next_document: u64,
    next_comment: u64,
    next_automation: u64,
}

impl Store {
    /// The store with the seeded accounts, their workspaces, and a little content in each.
    pub fn seeded() -> Self {
        let mut store = Store {
            next_document: 1,
            next_comment: 1,
            next_automation: 1,
            ..Store::default()
        };
        let mut ws_ids = HashMap::new();
        for (name, plan) in WORKSPACES {
            let id = format!("ws_{}", random_hex(10));
            ws_ids.insert(*name, id.clone());
            store.workspaces.insert(
                id.clone(),
                Workspace {
                    id,
                    name: (*name).to_string(),
                    plan: (*plan).to_string(),
                    owner_id: String::new(),
                    credit_balance_cents: 0,
                    created_at: now_rfc3339(),
                },
            );
        }
        for account in ACCOUNTS {
            let user = store.add_user(
                account.email,
                account.password,
                account.display_name,
                if account.platform_admin {
                    "admin"
                } else {
                    "user"
                },
            );
            if let Some(ws_name) = account.workspace {
                let ws_id = ws_ids[ws_name].clone();
                if account.workspace_role == WorkspaceRole::Owner {
                    if let Some(ws) = store.workspaces.get_mut(&ws_id) {
                        ws.owner_id = user.clone();
                    }
                }
                store.memberships.push(Membership {
                    workspace_id: ws_id,
                    user_id: user,
                    role: account.workspace_role,
                });
            }
        }
        // A little pre-existing content per workspace, and two invoices each.
        let mut invoice_no = 1;
        for (name, _) in WORKSPACES {
            let ws_id = ws_ids[name].clone();
            let owner = store.workspaces[&ws_id].owner_id.clone();
            let project = store.add_project(
                &ws_id,
                &format!("{name} roadmap"),
                &format!("Plans of {name}"),
                &owner,
            );
            let doc = store.add_document(
                &project,
                &format!("{name} quarterly goals"),
                &format!("Internal goals of {name}; do not share."),
                false,
                &owner,
            );
            store.add_comment(doc, &owner, "First draft, comments welcome.");
            for amount in [4_900, 9_900] {
                let id = format!("inv_{invoice_no:04}");
                store.invoices.insert(
                    id.clone(),
                    Invoice {
                        id,
                        workspace_id: ws_id.clone(),
                        number: format!("2026-{invoice_no:04}"),
                        amount_cents: amount,
                        currency: "USD".to_string(),
                        status: "paid".to_string(),
                        issued_at: now_rfc3339(),
                    },
                );
                invoice_no += 1;
            }
        }
        store
    }

    pub fn add_user(&mut self, email: &str, password: &str, name: &str, role: &str) -> String {
        let id = format!("usr_{}", random_hex(12));
        self.users.insert(
            id.clone(),
            User {
                id: id.clone(),
                email: email.to_string(),
                password: password.to_string(),
                display_name: name.to_string(),
                role: role.to_string(),
                created_at: now_rfc3339(),
            },
        );
        id
    }

    pub fn add_workspace(&mut self, name: &str, owner: &str) -> String {
        let id = format!("ws_{}", random_hex(10));
        self.workspaces.insert(
            id.clone(),
            Workspace {
                id: id.clone(),
                name: name.to_string(),
                plan: "free".to_string(),
                owner_id: owner.to_string(),
                credit_balance_cents: 0,
                created_at: now_rfc3339(),
            },
        );
        self.memberships.push(Membership {
            workspace_id: id.clone(),
            user_id: owner.to_string(),
            role: WorkspaceRole::Owner,
        });
        id
    }

    pub fn add_project(&mut self, ws: &str, name: &str, description: &str, by: &str) -> String {
        let id = format!("prj_{}", random_hex(12));
        self.projects.insert(
            id.clone(),
            Project {
                id: id.clone(),
                workspace_id: ws.to_string(),
                name: name.to_string(),
                description: description.to_string(),
                created_by: by.to_string(),
                created_at: now_rfc3339(),
            },
        );
        id
    }

    pub fn add_document(
        &mut self,
        project: &str,
        title: &str,
        body: &str,
        published: bool,
        by: &str,
    ) -> u64 {
        let id = self.next_document;
        self.next_document += 1;
        let workspace_id = self
            .projects
            .get(project)
            .map(|p| p.workspace_id.clone())
            .unwrap_or_default();
        let now = now_rfc3339();
        self.documents.insert(
            id,
            Document {
                id,
                project_id: project.to_string(),
                workspace_id,
                title: title.to_string(),
                body: body.to_string(),
                published,
                version: 1,
                created_by: by.to_string(),
                created_at: now.clone(),
                updated_at: now,
            },
        );
        id
    }

    pub fn add_comment(&mut self, document: u64, by: &str, body: &str) -> u64 {
        let id = self.next_comment;
        self.next_comment += 1;
        self.comments.insert(
            id,
            Comment {
                id,
                document_id: document,
                author_id: by.to_string(),
                body: body.to_string(),
                created_at: now_rfc3339(),
            },
        );
        id
    }

    pub fn add_automation(
        &mut self,
        project: &str,
        name: &str,
        trigger: &str,
        action: &str,
        by: &str,
    ) -> u64 {
        let id = self.next_automation;
        self.next_automation += 1;
        self.automations.insert(
            id,
            Automation {
                id,
                project_id: project.to_string(),
                name: name.to_string(),
                trigger: trigger.to_string(),
                action: action.to_string(),
                created_by: by.to_string(),
                created_at: now_rfc3339(),
            },
        );
        id
    }

    /// The caller's role in a workspace, if it is a member.
    pub fn role_in(&self, user: &str, workspace: &str) -> Option<WorkspaceRole> {
        self.memberships
            .iter()
            .find(|m| m.user_id == user && m.workspace_id == workspace)
            .map(|m| m.role)
    }

    pub fn is_member(&self, user: &str, workspace: &str) -> bool {
        self.role_in(user, workspace).is_some()
    }

    /// Removes a document and its comments.
    pub fn remove_document(&mut self, id: u64) {
        self.documents.remove(&id);
        self.comments.retain(|_, c| c.document_id != id);
    }

    /// Removes a project with its documents, comments and automations.
    pub fn remove_project(&mut self, id: &str) {
        self.projects.remove(id);
        let docs: Vec<u64> = self
            .documents
            .values()
            .filter(|d| d.project_id == id)
            .map(|d| d.id)
            .collect();
        for doc in docs {
            self.remove_document(doc);
        }
        self.automations.retain(|_, a| a.project_id != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn seed_has_two_tenants_and_four_accounts() {
        let store = Store::seeded();
        assert_eq!(store.users.len(), 4);
        assert_eq!(store.workspaces.len(), 2);
        assert!(store.workspaces.values().all(|w| !w.owner_id.is_empty()));
        assert_eq!(store.documents.len(), 2);
        assert_eq!(store.invoices.len(), 4);
    }
}
