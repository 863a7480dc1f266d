//! The terminal summary: one entry per bug (a kind, operation and vector), grouped by kind,
//! listing every attacker/victim pair it was found for and one representative pair's minimal
//! steps (who sent what, and what came back), then coverage and counters.

use std::fmt::Write;

use crate::finding::{Bug, Finding, Status};
use crate::outcome::CampaignResult;

/// ANSI styles, or nothing when colour is off.
#[derive(Debug, Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn wrap(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }
    fn red(self, text: &str) -> String {
        self.wrap("1;31", text)
    }
    fn yellow(self, text: &str) -> String {
        self.wrap("33", text)
    }
    fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }
}

/// Whether the summary may be coloured: stdout is a terminal and `NO_COLOR` is unset or empty
/// (<https://no-color.org>).
pub fn colour_wanted(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Renders the summary as plain text.
pub fn render(result: &CampaignResult) -> String {
    render_with(result, false)
}

/// Renders the summary, in colour when `colour` is on (see [`colour_wanted`]): new bugs red,
/// inconclusive ones yellow, known ones dim. Without its escapes it is [`render`]'s text.
pub fn render_with(result: &CampaignResult, colour: bool) -> String {
    let paint = Paint(colour);
    let mut out = String::new();
    let confirmed = result.confirmed().count();
    let known = result.confirmed().filter(|f| f.known).count();
    let inconclusive = result.findings.len() - confirmed;
    let confirmed_bugs = crate::finding::confirmed_bugs(&result.findings);
    let bugs = crate::finding::bugs(&result.findings);
    let mut kinds: Vec<_> = bugs.iter().map(|b| b.first().kind).collect();
    kinds.dedup();
    for kind in kinds {
        let _ = writeln!(
            out,
            "\n{}",
            paint.bold(&format!("== {} ({})", kind, kind.title()))
        );
        for b in bugs.iter().filter(|b| b.first().kind == kind) {
            bug(&mut out, b, paint);
        }
    }
    let attacked = result.coverage.iter().filter(|c| c.attacked).count();
    let unjudged: u64 = result.coverage.iter().map(|c| c.unjudged).sum();
    let _ = writeln!(
        out,
        "\n{} bug{} confirmed ({} finding{}: one per attacker/victim pair{}), {} inconclusive; {} of {} operations attacked; {} requests in {:.1}s ({} systematic, {} on {} explored cases, {} on confirmation and shrinking){}",
        confirmed_bugs,
        if confirmed_bugs == 1 { "" } else { "s" },
        confirmed,
        if confirmed == 1 { "" } else { "s" },
        if known > 0 {
            format!("; {known} known from the baseline")
        } else {
            String::new()
        },
        inconclusive,
        attacked,
        result.operations_total,
        result.stats.requests,
        result.stats.duration_ms as f64 / 1000.0,
        result.stats.systematic_requests,
        result.stats.exploration_requests,
        result.stats.explored_cases,
        result.stats.confirmation_requests,
        if unjudged > 0 {
            format!("; {unjudged} probes could not be judged")
        } else {
            String::new()
        }
    );
    if let Some(shard) = result.shard {
        let _ = writeln!(
            out,
            "shard {shard}: only this shard's operations were attacked; merge the shards' JSON reports with `tenantfuzz merge`"
        );
    }
    let incomplete = result.incomplete();
    for why in &incomplete {
        let _ = writeln!(out, "{} {why}", paint.yellow("INCOMPLETE:"));
    }
    let untested: Vec<_> = result.untested().collect();
    if !untested.is_empty() {
        let _ = writeln!(
            out,
            "untested ({} operations that take a resource id; none of their probes was judged):",
            untested.len()
        );
        for c in untested.iter().take(10) {
            let _ = writeln!(
                out,
                "  {} {}: {}",
                c.method,
                c.path,
                c.note.as_deref().unwrap_or("no reason recorded")
            );
        }
        if untested.len() > 10 {
            let _ = writeln!(
                out,
                "  ... and {} more (the JSON report's coverage gives each one's reason)",
                untested.len() - 10
            );
        }
    }
    let shared: Vec<_> = result
        .coverage
        .iter()
        .filter_map(|c| Some((c, c.by_design.as_deref()?)))
        .collect();
    if !shared.is_empty() {
        let _ = writeln!(
            out,
            "by design ({} operations: what they showed or changed is public or shared by behaviour, so no finding; `policy.private` names operations whose data is private all the same):",
            shared.len()
        );
        for (c, why) in shared.iter().take(5) {
            let _ = writeln!(out, "  {} {}: {why}", c.method, c.path);
        }
        if shared.len() > 5 {
            let _ = writeln!(
                out,
                "  ... and {} more (the JSON report's coverage, `by_design`)",
                shared.len() - 5
            );
        }
    }
    if !incomplete.is_empty() && confirmed == 0 {
        let _ = writeln!(
            out,
            "{} coverage is incomplete; no confirmed finding does not mean the API is safe",
            paint.yellow("INCOMPLETE:")
        );
    }
    if let Some(error) = &result.failure {
        let _ = writeln!(out, "{} {error}", paint.red("error:"));
    }
    let c = &result.cleanup;
    if c.deleted > 0 || c.already_gone > 0 || !c.left.is_empty() {
        let total = c.deleted + c.already_gone + c.left.len();
        let mut parts = vec![format!("{} deleted", c.deleted)];
        if c.already_gone > 0 {
            parts.push(format!(
                "{} already gone (their delete answered 404)",
                c.already_gone
            ));
        }
        if !c.left.is_empty() {
            parts.push(format!(
                "{} left behind (listed in the JSON report{})",
                c.left.len(),
                if c.left.len() > 10 {
                    "; the first 10 below"
                } else {
                    ""
                }
            ));
        }
        let _ = writeln!(
            out,
            "cleanup: {total} resources the campaign created: {}",
            parts.join(", ")
        );
        for left in c.left.iter().take(10) {
            let _ = writeln!(
                out,
                "  {} {}: {}{}",
                left.resource,
                left.id,
                left.reason,
                left.url
                    .as_ref()
                    .map(|u| format!(" ({u})"))
                    .unwrap_or_default()
            );
        }
        if c.left.len() > 10 {
            let _ = writeln!(out, "  ... and {} more", c.left.len() - 10);
        }
    }
    out
}

fn pair_status(f: &Finding) -> String {
    match f.status {
        Status::Confirmed if f.known => format!(
            "known (in the baseline), confirmed {}/{}",
            f.reproduced, f.replays
        ),
        Status::Confirmed => format!("confirmed {}/{}", f.reproduced, f.replays),
        Status::Inconclusive => format!("INCONCLUSIVE {}/{}", f.reproduced, f.replays),
    }
}

/// One bug: its operation, kind and vector, every pair it was found for, then the evidence,
/// minimal steps and reproduction of one representative pair.
fn bug(out: &mut String, b: &Bug<'_>, paint: Paint) {
    let first = b.first();
    let confirmed = b.confirmed().count();
    let pairs = b.findings.len();
    let found = if confirmed > 0 {
        format!(
            "confirmed for {confirmed} pair{}{}",
            if confirmed == 1 { "" } else { "s" },
            if confirmed < pairs {
                format!(", inconclusive for {}", pairs - confirmed)
            } else {
                String::new()
            }
        )
    } else {
        format!(
            "INCONCLUSIVE for {pairs} pair{}",
            if pairs == 1 { "" } else { "s" }
        )
    };
    let headline = format!(
        "{} {} [{}] via {}: {found}{}",
        first.operation.method,
        first.operation.path,
        first.kind,
        first.vector,
        if b.is_known() {
            ", all known (in the baseline)"
        } else {
            ""
        },
    );
    let headline = if b.is_new() {
        paint.red(&headline)
    } else if b.is_known() {
        paint.dim(&headline)
    } else {
        paint.yellow(&headline)
    };
    let _ = writeln!(out, "\n  {headline} ({})", b.id);
    for f in &b.findings {
        let status = pair_status(f);
        let status = match (f.status, f.known) {
            (Status::Confirmed, false) => status,
            (Status::Confirmed, true) => paint.dim(&status),
            (Status::Inconclusive, _) => paint.yellow(&status),
        };
        let _ = writeln!(
            out,
            "    {} -> {}: {status} ({})",
            f.attacker, f.victim, f.id
        );
    }
    let f = b.representative();
    let who = if pairs > 1 {
        format!(" ({} -> {})", f.attacker, f.victim)
    } else {
        String::new()
    };
    let _ = writeln!(out, "    evidence{who}: {}", f.evidence);
    if pairs > 1 {
        let _ = writeln!(out, "    minimal steps{who}:");
    }
    for (i, step) in f.steps.iter().enumerate() {
        let status = step
            .exchange
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "no answer".into());
        let _ = writeln!(
            out,
            "    {}. {:<9} {:<10} {} {} -> {}",
            i + 1,
            step.identity,
            step.role,
            step.exchange.method,
            step.exchange.url,
            status
        );
    }
    if let Some(note) = &f.shrink_note {
        let _ = writeln!(out, "    note: {note}");
    }
    if let Some(r) = &f.reproduction {
        let _ = writeln!(out, "    reproduce: {}", r.curl);
        if let Some(hurl) = &r.hurl {
            let _ = writeln!(out, "               {hurl}");
        }
        let others = b
            .findings
            .iter()
            .filter(|o| o.id != f.id && o.reproduction.is_some())
            .count();
        if others > 0 {
            let _ = writeln!(
                out,
                "    ({} beside it, named by attacker and victim)",
                if others == 1 {
                    "the other pair's reproduction is".to_string()
                } else {
                    format!("the other {others} pairs' reproductions are")
                }
            );
        }
    }
}
