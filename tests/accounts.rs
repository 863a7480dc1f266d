//! The account probes (#24) on a small account API (`support/accounts.rs`): registration with
//! a privilege field (`role` of [member, editor, owner], `is_admin`) and a profile update with
//! a field only the read model shows fire when the server honours them and stay silent when it
//! ignores them, only echoes them, or gives every new account the value by design; account
//! enumeration fires only when turned on, and only on a login that tells an unknown user from
//! a wrong password.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use tenantfuzz::campaign::Campaign;
use tenantfuzz::config::Settings;
use tenantfuzz::finding::{Finding, Kind};

use crate::support::accounts::{self, Honour, Mode};
use crate::support::cmd::temp_dir;

/// alice and bob, registered fresh (`{unique}`) when `register`, else logging in to the
/// seeded accounts.
fn config(base: &str, spec: &Path, register: bool, enumeration: bool) -> String {
    let mut text = format!(
        "spec = \"{}\"\nbase_url = \"{base}\"\n[campaign]\ncases = 0\naccount_enumeration = {enumeration}\n",
        spec.display()
    );
    for (name, password) in accounts::SEEDED {
        let user = if register {
            format!("{name}-{{unique}}")
        } else {
            name.to_string()
        };
        text.push_str(&format!(
            r#"
[identities.{name}]
tenant = "{name}"
role = "member"
[identities.{name}.login]
vars = {{ user = "{user}", password = "{password}" }}
apply = {{ headers = {{ Authorization = "Bearer {{token}}" }} }}
"#
        ));
        if register {
            text.push_str(&format!(
                "[[identities.{name}.login.register]]\npath = \"/register\"\njson = {{ username = \"{{user}}\", password = \"{{password}}\" }}\n"
            ));
        }
        text.push_str(&format!(
            "[[identities.{name}.login.requests]]\npath = \"/login\"\njson = {{ username = \"{{user}}\", password = \"{{password}}\" }}\nextract = {{ token = {{ json = \"$.token\" }} }}\n"
        ));
    }
    text
}

async fn findings(mode: Mode, register: bool, enumeration: bool) -> Vec<Finding> {
    let base = accounts::start(mode).await;
    findings_at(&base, mode, register, enumeration).await
}

async fn findings_at(base: &str, mode: Mode, register: bool, enumeration: bool) -> Vec<Finding> {
    let dir = temp_dir(&format!(
        "accounts-{:?}-{:?}-{}-{}-{register}-{enumeration}",
        mode.register, mode.patch, mode.login_leaks, mode.owners_by_default
    ));
    let spec = dir.join("accounts.yaml");
    std::fs::write(&spec, accounts::SPEC).unwrap();
    let text = config(base, &spec, register, enumeration);
    let settings = Settings::parse(&text, "accounts.toml", &dir, &|_| None).unwrap();
    settings.validate().unwrap();
    let result = Campaign::new(settings).unwrap().run().await.unwrap();
    // Every report, and each finding's reproductions: no password in any.
    let mut all = tenantfuzz::report::json::render(&result);
    all.push_str(&tenantfuzz::report::sarif::render(&result, "accounts.yaml"));
    all.push_str(&tenantfuzz::report::markdown::render(&result));
    all.push_str(&tenantfuzz::report::junit::render(&result));
    all.push_str(&tenantfuzz::report::html::render(&result));
    for f in &result.findings {
        all.push_str(&tenantfuzz::report::curl::script(
            f,
            &result.marker_prefix,
            &result.base_url,
        ));
        all.push_str(&tenantfuzz::report::hurl::file(
            f,
            &result.marker_prefix,
            &result.base_url,
        ));
    }
    for (_, password) in accounts::SEEDED {
        assert!(
            !all.contains(password),
            "a password in a report: {password}"
        );
    }
    result.findings
}

/// (kind, method, path) of the findings.
fn kinds(found: &[Finding]) -> Vec<(Kind, String, String)> {
    found
        .iter()
        .map(|f| (f.kind, f.operation.method.clone(), f.operation.path.clone()))
        .collect()
}

fn has(found: &[Finding], kind: Kind, method: &str, path: &str) -> bool {
    kinds(found)
        .iter()
        .any(|(k, m, p)| *k == kind && m == method && p == path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_with_a_privilege_field_fires_only_when_the_new_account_has_it() {
    for honour in [Honour::Role, Honour::Admin] {
        let mode = Mode {
            register: honour,
            ..Mode::secure()
        };
        let found = findings(mode, true, false).await;
        let f = found
            .iter()
            .find(|f| f.kind == Kind::MassAssignment && f.operation.path == "/register");
        let f = f.unwrap_or_else(|| panic!("{honour:?}: {:?}", kinds(&found)));
        assert!(f.evidence.contains("reads itself with"), "{}", f.evidence);
        // The most privileged value of the enum first.
        let (field, value) = if honour == Honour::Role {
            ("/role", "= \"owner\"")
        } else {
            ("/is_admin", "= true")
        };
        assert_eq!(f.evidence_field.as_deref(), Some(field));
        assert!(f.evidence.contains(value), "{}", f.evidence);
        // The account's name is shown, its password never.
        let registered = f.steps[0].exchange.response_body.text();
        assert!(registered.contains("\"alice-"), "{registered}");
    }
    // Ignored, only echoed back, or every new account's by design: no finding.
    for mode in [
        Mode::secure(),
        Mode {
            register: Honour::Echo,
            ..Mode::secure()
        },
        Mode {
            owners_by_default: true,
            ..Mode::secure()
        },
    ] {
        let found = findings(mode, true, false).await;
        let wrong: Vec<_> = found
            .iter()
            .filter(|f| f.kind == Kind::MassAssignment)
            .collect();
        assert!(wrong.is_empty(), "{mode:?}: {:?}", kinds(&found));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_update_honouring_a_field_only_the_read_model_shows_fires() {
    let vulnerable = Mode {
        patch: Honour::Admin,
        ..Mode::secure()
    };
    let found = findings(vulnerable, false, false).await;
    assert!(
        has(&found, Kind::MassAssignment, "PATCH", "/me"),
        "{:?}",
        kinds(&found)
    );
    // A role the server refuses to raise to `owner` but sets to `editor`: only trying every
    // value of the enum shows it. Each identity's role is set back afterwards.
    let role = Mode {
        patch: Honour::RoleButOwner,
        ..Mode::secure()
    };
    let base = accounts::start(role).await;
    let found = findings_at(&base, role, false, false).await;
    let f = found
        .iter()
        .find(|f| f.kind == Kind::MassAssignment && f.operation.path == "/me")
        .unwrap_or_else(|| panic!("{:?}", kinds(&found)));
    assert!(f.evidence.contains("editor"), "{}", f.evidence);
    for (name, _) in accounts::SEEDED {
        let me = accounts::me_of(&base, name).await;
        assert_eq!(
            (me["role"].as_str(), me["is_admin"].as_bool()),
            (Some("member"), Some(false)),
            "{name}: {me}"
        );
    }
    for mode in [
        Mode::secure(),
        Mode {
            patch: Honour::Echo,
            ..Mode::secure()
        },
    ] {
        let found = findings(mode, false, false).await;
        assert!(
            !found.iter().any(|f| f.kind == Kind::MassAssignment),
            "{mode:?}: {:?}",
            kinds(&found)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_enumeration_fires_only_when_asked_and_only_on_a_login_that_tells() {
    let leaky = Mode {
        login_leaks: true,
        ..Mode::secure()
    };
    let found = findings(leaky, false, true).await;
    let f = found
        .iter()
        .find(|f| f.kind == Kind::AccountEnumeration)
        .unwrap_or_else(|| panic!("{:?}", kinds(&found)));
    assert_eq!(
        (f.operation.method.as_str(), f.operation.path.as_str()),
        ("POST", "/login")
    );
    assert!(
        f.evidence.contains("no such user") && f.evidence.contains("wrong password"),
        "{}",
        f.evidence
    );
    // Off by default.
    let found = findings(leaky, false, false).await;
    assert!(
        !found.iter().any(|f| f.kind == Kind::AccountEnumeration),
        "{:?}",
        kinds(&found)
    );
    // A login that answers both the same.
    let found = findings(Mode::secure(), false, true).await;
    assert!(
        !found.iter().any(|f| f.kind == Kind::AccountEnumeration),
        "{:?}",
        kinds(&found)
    );
}
