//! `tenantfuzz plan`: the inferred resource model and the attack plan, without sending anything.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use super::{CliError, Outcome};
use crate::campaign::Campaign;
use std::collections::BTreeSet;

use crate::config::Settings;
use crate::model::Decision;
use crate::model::Slot;
use crate::scenario::{Check, StepRole};

/// Arguments of `tenantfuzz plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The config file (identities, exclusions, overrides).
    #[arg(long, short, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The spec (overrides the config's).
    #[arg(long, value_name = "PATH")]
    pub spec: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn run(args: PlanArgs) -> Result<Outcome, CliError> {
    let mut settings = match &args.config {
        // Planning sends nothing: credentials not exported yet are no error.
        Some(path) => {
            Settings::load_for_planning(path).map_err(|e| CliError::Usage(e.to_string()))?
        }
        None => Settings::for_planning(Path::new("")),
    };
    if let Some(spec) = &args.spec {
        settings.spec = spec.clone();
    }
    if settings.spec.as_os_str().is_empty() {
        return Err(CliError::Usage(
            "no spec given: pass --spec PATH or --config FILE".into(),
        ));
    }
    if settings.identities.len() < 2 {
        settings.identities = Settings::for_planning(Path::new("")).identities;
    }
    let campaign = Campaign::planning(settings).map_err(super::campaign_error)?;
    let text = if args.json {
        serde_json::to_string_pretty(&to_json(&campaign)).unwrap_or_default() + "\n"
    } else {
        render(&campaign)
    };
    // A reader that stopped early (`plan | head`) is not an error; print! would panic.
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::Usage(format!(
            "failed to write the plan to stdout: {e}"
        ))),
        _ => Ok(Outcome::Clean),
    }
}

fn slot_text(slot: &Slot) -> String {
    slot.label()
}

/// The plan as text.
pub(crate) fn render(c: &Campaign) -> String {
    let mut out = String::new();
    let api = &c.api;
    let m = &c.model;
    let op = |i: usize| api.operations[i].label();
    let _ = writeln!(
        out,
        "{} ({} {}, {} operations)",
        api.title,
        api.source,
        api.spec_version,
        api.operations.len()
    );
    if !api.ignored.is_empty() {
        let _ = writeln!(out, "\nignored (not attacked, not in the model):");
        for line in &api.ignored {
            let _ = writeln!(out, "  {line}");
        }
    }
    let _ = writeln!(out, "\nresources:");
    // Each resource's producers, lists and consumers, grouped once: a scan of every one for
    // every resource made the plan of a large spec quadratic.
    let (mut producers_of, mut discoveries_of, mut consumers_of) = (
        vec![Vec::new(); m.resources.len()],
        vec![Vec::new(); m.resources.len()],
        vec![Vec::new(); m.resources.len()],
    );
    for p in &m.producers {
        producers_of[p.resource].push(p);
    }
    for d in &m.discoveries {
        discoveries_of[d.resource].push(d);
    }
    for x in &m.consumers {
        consumers_of[x.resource].push(x);
    }
    for (i, r) in m.resources.iter().enumerate() {
        let parents: Vec<&str> = r
            .parents
            .iter()
            .map(|p| m.resources[*p].name.as_str())
            .collect();
        let producers: Vec<String> = producers_of[i]
            .iter()
            .map(|p| {
                let from = match (&p.id_pointer, p.location_header, &p.request_key) {
                    (Some(pointer), _, _) => pointer.clone(),
                    (None, true, _) => "Location header".into(),
                    (None, false, Some(key)) => format!("the answer, else the request's {key}"),
                    (None, false, None) => "the answer (its schema declares none)".into(),
                };
                format!(
                    "{} (id at {from}{})",
                    op(p.op),
                    if p.derived { ", derived" } else { "" }
                )
            })
            .collect();
        let discovered: Vec<String> = discoveries_of[i]
            .iter()
            .map(|d| {
                format!(
                    "{} {}",
                    op(d.op),
                    if d.array_pointer.is_empty() {
                        "/".to_string()
                    } else {
                        d.array_pointer.clone()
                    }
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "  {}{}",
            r.name,
            if parents.is_empty() {
                String::new()
            } else {
                format!(" (under {})", parents.join(", "))
            }
        );
        if !producers.is_empty() {
            let _ = writeln!(out, "    created by   {}", few(&producers));
        }
        if !discovered.is_empty() {
            let _ = writeln!(out, "    listed by    {}", few(&discovered));
        }
        let consumers: Vec<String> = consumers_of[i]
            .iter()
            .map(|x| format!("{} [{}]", op(x.op), slot_text(&x.slot)))
            .collect();
        if !consumers.is_empty() {
            let _ = writeln!(
                out,
                "    taken by     {}",
                consumers.join("\n                 ")
            );
        }
    }
    out.push_str(&id_sources_text(c));
    let plan = c.plan(None);
    let names = c.identity_names();
    out.push_str(&policy_text(c, &names));
    let mut lines: Vec<String> = Vec::new();
    for probe in &plan.probes {
        for step in &probe.scenario.steps {
            if let StepRole::Attack {
                effect,
                vector,
                target_resource,
                check,
                ..
            } = &step.role
            {
                let target = target_resource
                    .map(|r| m.resources[r].name.clone())
                    .unwrap_or_else(|| "own scope".into());
                lines.push(format!(
                    "  {:<55} {:<16} {:<7} {:<7} {} -> {} ({})",
                    op(step.op),
                    check_name(check),
                    format!("{effect:?}").to_lowercase(),
                    vector.as_str(),
                    names[step.actor],
                    names[probe.victim],
                    target
                ));
            }
        }
    }
    lines.sort();
    lines.dedup();
    // The count is of the rows below: one per distinct attack (a scenario may hold several,
    // and several scenarios the same one under different setups).
    let operations: BTreeSet<usize> = plan
        .probes
        .iter()
        .flat_map(|p| &p.scenario.steps)
        .filter(|s| matches!(s.role, StepRole::Attack { .. }))
        .map(|s| s.op)
        .collect();
    let _ = writeln!(
        out,
        "\nattack plan ({} attacks on {} operations, in {} scenarios):",
        lines.len(),
        operations.len(),
        plan.probes.len()
    );
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
    let _ = writeln!(
        out,
        "\nnot attacked ({} operations; each with why, and the config key that changes it):",
        plan.gaps.len()
    );
    for gap in &plan.gaps {
        let _ = writeln!(
            out,
            "  {:<55} {} [key: {}]",
            op(gap.op),
            gap.reason,
            gap.key
        );
    }
    out
}

/// A list for a line of text: the first few, then how many more. A resource that many
/// operations create (every version of one API, say) would otherwise make each of its lines as
/// long as the spec, and the text plan quadratic in the spec's size.
fn few(items: &[String]) -> String {
    const SHOWN: usize = 6;
    if items.len() <= SHOWN + 1 {
        return items.join("; ");
    }
    format!(
        "{}; and {} more",
        items[..SHOWN].join("; "),
        items.len() - SHOWN
    )
}

/// Where the ids of each resource come from: its creates (the id in the answer, else the key
/// the request chose), the lists that show an identity's own, the caller's own answers.
fn id_sources(c: &Campaign) -> Vec<Vec<String>> {
    let m = &c.model;
    let op = |i: usize| c.api.operations[i].label();
    let mut all: Vec<Vec<String>> = (0..m.resources.len())
        .map(|r| id_sources_created(c, r))
        .collect();
    for d in &m.discoveries {
        all[d.resource].push(format!("discovery {}", op(d.op)));
    }
    for s in &m.selves {
        all[s.resource].push(format!("self endpoint {} {}", op(s.op), s.pointer));
    }
    all
}

/// Where the ids of `resource` come from at creation: the id in the answer, else the key the
/// request chose.
fn id_sources_created(c: &Campaign, resource: usize) -> Vec<String> {
    let m = &c.model;
    let op = |i: usize| c.api.operations[i].label();
    m.producers_of(resource)
        .map(|p| match &p.request_key {
            Some(key) if p.id_pointer.is_none() => {
                format!("request value {key} of {}", op(p.op))
            }
            _ => format!("creation {}", op(p.op)),
        })
        .collect()
}

/// For every operation that takes an id: which resource, in which slot, and where its ids come
/// from; a slot with no source says which config key gives one.
fn id_sources_text(c: &Campaign) -> String {
    let mut out = String::from(
        "
ids taken (operation, slot, resource: where its ids come from):
",
    );
    let sources = id_sources(c);
    for (i, operation) in c.api.operations.iter().enumerate() {
        for x in c.model.consumers_of(i) {
            let from = &sources[x.resource];
            let from = if from.is_empty() {
                "none: nothing creates, lists or answers it (add a create, or name one with \
                 [[model.links]] / [[model.ids]])"
                    .to_string()
            } else {
                few(from)
            };
            let _ = writeln!(
                out,
                "  {:<55} [{}] {}: {from}",
                operation.label(),
                slot_text(&x.slot),
                c.model.resources[x.resource].name
            );
        }
    }
    out
}

/// What an attack's check is called in the plan.
fn check_name(check: &Check) -> &'static str {
    check.name()
}

/// Each restricted operation with what restricts it and where that came from, and what the
/// policy decides for each identity.
fn policy_rows(c: &Campaign, names: &[String]) -> Vec<(usize, Vec<(String, Decision)>)> {
    let cast = c.cast(Default::default(), Default::default());
    (0..c.api.operations.len())
        .filter(|i| {
            let p = &c.policy.ops[*i];
            p.roles.is_some() || p.plans.is_some()
        })
        .map(|i| {
            let decisions = (0..names.len() - 1)
                .map(|who| (names[who].clone(), cast.decide(who, i)))
                .collect();
            (i, decisions)
        })
        .collect()
}

fn policy_text(c: &Campaign, names: &[String]) -> String {
    let mut out = String::new();
    let rows = policy_rows(c, names);
    let _ = writeln!(
        out,
        "\npolicy ({} restricted operations; every other one is open to every identity):",
        rows.len()
    );
    let who: Vec<String> = c
        .settings
        .identities
        .iter()
        .map(|i| {
            format!(
                "{} (tenant {}, role {}, plan {}{})",
                i.name,
                i.tenant,
                i.role.as_deref().unwrap_or("-"),
                i.plan.as_deref().unwrap_or("-"),
                if i.role.as_deref().is_some_and(|r| c.policy.is_admin(r)) {
                    ", admin: not an ownership attacker or victim"
                } else {
                    ""
                }
            )
        })
        .collect();
    let _ = writeln!(out, "  identities: {}", who.join("; "));
    for (i, decisions) in rows {
        let p = &c.policy.ops[i];
        let mut rule = Vec::new();
        if let Some(r) = &p.roles {
            rule.push(format!("roles [{}]", r.join(", ")));
        }
        if let Some(pl) = &p.plans {
            rule.push(format!("plans [{}]", pl.join(", ")));
        }
        let _ = writeln!(
            out,
            "  {:<55} {} (from {})",
            c.api.operations[i].label(),
            rule.join(", "),
            p.sources.join(", ")
        );
        let cells: Vec<String> = decisions
            .iter()
            .map(|(n, d)| format!("{n}: {}", decision_text(*d)))
            .collect();
        let _ = writeln!(out, "  {:<55} {}", "", cells.join("  "));
    }
    let shared: Vec<String> = (0..c.api.operations.len())
        .filter(|i| c.policy.is_shared(*i))
        .map(|i| c.api.operations[i].label())
        .collect();
    if !shared.is_empty() {
        let _ = writeln!(
            out,
            "  shared by design (policy.shared; only anonymous callers are attacked): {}",
            shared.join(", ")
        );
    }
    for (op, w) in &c.webhooks {
        let _ = writeln!(
            out,
            "  webhook receiver {} (signature in {})",
            c.api.operations[*op].label(),
            w.signature_header
        );
    }
    out
}

fn decision_text(d: Decision) -> &'static str {
    match d {
        Decision::Allow => "allow",
        Decision::DenyRole => "deny (role)",
        Decision::DenyPlan => "deny (plan)",
        Decision::Unknown => "unknown (no role or plan declared)",
    }
}

fn to_json(c: &Campaign) -> serde_json::Value {
    let plan = c.plan(None);
    let names = c.identity_names();
    let attacks: Vec<serde_json::Value> = plan
        .probes
        .iter()
        .flat_map(|p| p.scenario.steps.iter().map(move |s| (p, s)))
        .filter_map(|(p, s)| match &s.role {
            StepRole::Attack {
                effect,
                vector,
                target_resource,
                check,
                ..
            } => Some(json!({
                "operation": c.api.operations[s.op].label(),
                "check": check_name(check),
                "effect": effect, "vector": vector,
                "attacker": names[s.actor], "victim": names[p.victim],
                "target": target_resource.map(|r| c.model.resources[r].name.clone()),
            })),
            _ => None,
        })
        .collect();
    json!({
        "spec": c.api.source,
        "operations": c.api.operations.len(),
        "ignored": c.api.ignored,
        "model": c.model,
        "policy": policy_rows(c, &names).into_iter().map(|(i, decisions)| {
            let p = &c.policy.ops[i];
            json!({
                "operation": c.api.operations[i].label(),
                "roles": p.roles, "plans": p.plans, "sources": p.sources,
                "decisions": decisions.into_iter().map(|(n, d)| (n, json!(d))).collect::<serde_json::Map<_, _>>(),
            })
        }).collect::<Vec<_>>(),
        "attacks": attacks,
        "not_attacked": plan.gaps.iter().map(|g| json!({"operation": c.api.operations[g.op].label(), "reason": g.reason, "key": g.key})).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::few;

    #[test]
    fn a_long_list_shows_its_first_few_and_how_many_more() {
        let items: Vec<String> = (1..=20).map(|i| format!("POST /v{i}/things")).collect();
        assert_eq!(
            few(&items),
            "POST /v1/things; POST /v2/things; POST /v3/things; POST /v4/things; \
             POST /v5/things; POST /v6/things; and 14 more"
        );
        // Seven fit: "and 1 more" would be no shorter.
        assert_eq!(few(&items[..7]).matches("; ").count(), 6);
        assert!(!few(&items[..7]).contains("more"));
    }
}
