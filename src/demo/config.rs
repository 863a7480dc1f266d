//! What a demo server instance is started with: which planted bugs are live, token lifetime, the
//! webhook secret, and the accounts seeded at start.

use std::time::Duration;

/// The planted authorization bugs, one flag each. [`Bugs::all`] is the vulnerable mode and
/// [`Bugs::none`] the secure mode; single flags let a test isolate one bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bugs {
    /// 1. `GET /workspaces/{workspaceId}/projects/{projectId}` checks membership of `workspaceId`
    ///    but not that the project belongs to it (foreign-child bypass).
    pub project_read_foreign_child: bool,
    /// 2. `PUT /documents/{documentId}` has no ownership check.
    pub document_update_unchecked: bool,
    /// 3. `DELETE /comments/{commentId}` has no ownership check.
    pub comment_delete_unchecked: bool,
    /// 4. `GET /attachments?id=` has no ownership check.
    pub attachment_read_unchecked: bool,
    /// 5. `POST /reports {projectId}` has no ownership check.
    pub report_unchecked: bool,
    /// 6. `GET /search` searches every tenant's documents.
    pub search_all_tenants: bool,
    /// 7. `GET /exports/{exportId}` serves anyone who sends no credentials at all.
    pub export_optional_auth: bool,
    /// 8. `POST /workspaces/{workspaceId}/projects` honours the read-only `workspaceId` of the body.
    pub project_create_mass_assign_tenant: bool,
    /// 9. `PATCH /me` honours the read-only `role`.
    pub me_mass_assign_role: bool,
    /// 10. `GET /admin/workspaces` is open to every authenticated user.
    pub admin_list_open: bool,
    /// 11. The pro-only automations can be created on a free plan.
    pub automation_plan_unchecked: bool,
    /// 12. `POST /webhooks/billing` does not verify the signature.
    pub webhook_unsigned: bool,
    /// 13. `POST /webhooks/billing` applies the same event id more than once.
    pub webhook_replay: bool,
}

impl Bugs {
    /// Every planted bug live: the vulnerable mode.
    pub fn all() -> Self {
        Bugs {
            project_read_foreign_child: true,
            document_update_unchecked: true,
            comment_delete_unchecked: true,
            attachment_read_unchecked: true,
            report_unchecked: true,
            search_all_tenants: true,
            export_optional_auth: true,
            project_create_mass_assign_tenant: true,
            me_mass_assign_role: true,
            admin_list_open: true,
            automation_plan_unchecked: true,
            webhook_unsigned: true,
            webhook_replay: true,
        }
    }

    /// Every planted bug fixed: the secure mode.
    pub fn none() -> Self {
        Bugs::default()
    }
}

/// The two modes of the demo API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// All planted bugs are live.
    Vulnerable,
    /// All planted bugs are fixed; everything else behaves identically.
    Secure,
}

/// How a demo server is started.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// Which planted bugs are live.
    pub bugs: Bugs,
    /// Lifetime of a bearer token from `POST /auth/login`.
    pub token_ttl: Duration,
    /// The HMAC-SHA256 secret that signs `POST /webhooks/billing` requests.
    pub webhook_secret: String,
    /// How far a webhook timestamp may be from the server's clock before it is stale.
    pub webhook_tolerance: Duration,
    /// The share of requests (0.0 to 1.0) that meet an injected fault: a 500, a 503 or 429 with
    /// `Retry-After: 0`, a delay, or a body cut in half. Login is spared. For robustness tests.
    pub fault_rate: f64,
    /// Time every request takes before it is handled (zero: none). Stands in for a server on
    /// another machine, or one with a database behind it, in benchmarks.
    pub latency: Duration,
    /// A disturbance for tests, the same on every run: the first `n` answers to requests without
    /// credentials whose path starts with the prefix are cut in half after the handler ran.
    pub cut_unauthenticated: Option<(String, u32)>,
}

/// The webhook secret of a default demo server. Printed by `tenantfuzz demo --serve`; it guards
/// nothing but a throwaway in-memory demo.
pub const DEFAULT_WEBHOOK_SECRET: &str = "whsec_demo_0a1b2c3d4e5f";

impl DemoConfig {
    /// The default configuration for `mode`.
    pub fn new(mode: Mode) -> Self {
        DemoConfig {
            bugs: match mode {
                Mode::Vulnerable => Bugs::all(),
                Mode::Secure => Bugs::none(),
            },
            token_ttl: Duration::from_secs(3600),
            webhook_secret: DEFAULT_WEBHOOK_SECRET.to_string(),
            webhook_tolerance: Duration::from_secs(300),
            fault_rate: 0.0,
            latency: Duration::ZERO,
            cut_unauthenticated: None,
        }
    }
}

/// A workspace role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkspaceRole {
    /// Created the workspace; may delete projects and see billing.
    Owner,
    /// A plain member.
    Member,
}

impl WorkspaceRole {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkspaceRole::Owner => "owner",
            WorkspaceRole::Member => "member",
        }
    }
}

/// An account that exists when the demo starts.
#[derive(Debug, Clone, Copy)]
pub struct SeedAccount {
    /// A short handle, used as the identity name by `tenantfuzz demo`.
    pub handle: &'static str,
    /// Login e-mail.
    pub email: &'static str,
    /// Login password (a throwaway demo value).
    pub password: &'static str,
    /// Display name.
    pub display_name: &'static str,
    /// The workspace (tenant) the account belongs to, if any.
    pub workspace: Option<&'static str>,
    /// Its role there.
    pub workspace_role: WorkspaceRole,
    /// Whether it is a platform administrator.
    pub platform_admin: bool,
}

/// Name and plan of each seeded workspace.
pub const WORKSPACES: &[(&str, &str)] = &[("Acme", "pro"), ("Globex", "free")];

/// The seeded accounts: the owner of Acme (pro), the owner of Globex (free), a member of Acme and
/// a platform admin.
pub const ACCOUNTS: &[SeedAccount] = &[
    SeedAccount {
        handle: "alice",
        email: "alice@acme.test",
        password: "alice-demo-password",
        display_name: "Alice (Acme owner)",
        workspace: Some("Acme"),
        workspace_role: WorkspaceRole::Owner,
        platform_admin: false,
    },
    SeedAccount {
        handle: "bob",
        email: "bob@globex.test",
        password: "bob-demo-password",
        display_name: "Bob (Globex owner)",
        workspace: Some("Globex"),
        workspace_role: WorkspaceRole::Owner,
        platform_admin: false,
    },
    SeedAccount {
        handle: "carol",
        email: "carol@acme.test",
        password: "carol-demo-password",
        display_name: "Carol (Acme member)",
        workspace: Some("Acme"),
        workspace_role: WorkspaceRole::Member,
        platform_admin: false,
    },
    SeedAccount {
        handle: "root",
        email: "admin@platform.test",
        password: "admin-demo-password",
        display_name: "Platform admin",
        workspace: None,
        workspace_role: WorkspaceRole::Member,
        platform_admin: true,
    },
];
