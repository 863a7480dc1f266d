//! A Markdown summary for a pull-request comment or a ticket: counts, a table of findings, and
//! each finding's minimal steps in a collapsible block. GitHub-flavoured (tables, `<details>`).

use std::fmt::Write;

use crate::finding::{Finding, Status};
use crate::outcome::CampaignResult;

/// Text for a table cell: one line, pipes escaped, no raw HTML.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\n', '\r'], " ")
}

/// Text inside a fenced block: a fence in the text cannot close the block.
fn fenced(text: &str) -> String {
    text.replace("```", "'''")
}

fn status(f: &Finding) -> String {
    match (f.status, f.known) {
        (Status::Confirmed, false) => "confirmed".into(),
        (Status::Confirmed, true) => "known".into(),
        (Status::Inconclusive, _) => format!("inconclusive ({}/{})", f.reproduced, f.replays),
    }
}

/// Renders the summary.
pub fn render(result: &CampaignResult) -> String {
    let mut out = String::new();
    let confirmed: Vec<&Finding> = result.confirmed().collect();
    let new = confirmed.iter().filter(|f| !f.known).count();
    let known = confirmed.len() - new;
    let inconclusive = result.findings.len() - confirmed.len();
    let headline = match (new, known) {
        (0, 0) => "no confirmed finding".to_string(),
        (n, 0) => format!("{n} confirmed finding{}", if n == 1 { "" } else { "s" }),
        (n, k) => format!(
            "{n} new confirmed finding{} ({k} known)",
            if n == 1 { "" } else { "s" }
        ),
    };
    let _ = writeln!(out, "## tenantfuzz: {headline}\n");
    let _ = writeln!(
        out,
        "Target `{}`, spec `{}`, identities {}.\n",
        result.base_url,
        result.spec,
        result
            .identities
            .iter()
            .map(|i| format!("`{i}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let attacked = result.coverage.iter().filter(|c| c.attacked).count();
    let unjudged: u64 = result.coverage.iter().map(|c| c.unjudged).sum();
    let _ = writeln!(out, "| | |\n|---|---:|");
    let _ = writeln!(out, "| confirmed findings | {} |", confirmed.len());
    if known > 0 {
        let _ = writeln!(out, "| of which known (baseline) | {known} |");
    }
    let _ = writeln!(out, "| inconclusive findings | {inconclusive} |");
    let _ = writeln!(
        out,
        "| operations attacked | {attacked} of {} |",
        result.operations_total
    );
    let _ = writeln!(out, "| attack requests not judged | {unjudged} |");
    let _ = writeln!(out, "| requests sent | {} |", result.stats.requests);
    let _ = writeln!(
        out,
        "| resources left behind by the cleanup | {} |",
        result.cleanup.left.len()
    );
    let untested = result.untested().count();
    if untested > 0 {
        let _ = writeln!(
            out,
            "| operations that take an id, none of whose probes was judged | {untested} |"
        );
    }
    for why in result.incomplete() {
        let _ = writeln!(out, "\n> **Incomplete:** {}", cell(&why));
    }
    if result.findings.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\n### Findings\n");
    let _ = writeln!(
        out,
        "| # | kind | operation | attacker → victim | vector | status | evidence |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for (i, f) in result.findings.iter().enumerate() {
        let rule = super::rules::rule(f.kind);
        let _ = writeln!(
            out,
            "| {} | `{}` ({}, {}) | `{} {}` | {} → {} | {} | {} | {} |",
            i + 1,
            f.kind,
            rule.owasp.0,
            rule.severity_label(),
            f.operation.method,
            cell(&f.operation.path),
            cell(&f.attacker),
            cell(&f.victim),
            f.vector,
            status(f),
            cell(&f.evidence)
        );
    }
    let _ = writeln!(out, "\n### Minimal steps\n");
    for (i, f) in result.findings.iter().enumerate() {
        let _ = writeln!(
            out,
            "<details><summary>{}. <code>{}</code> on <code>{} {}</code> ({} → {}), {}</summary>\n",
            i + 1,
            f.kind,
            f.operation.method,
            cell(&f.operation.path),
            cell(&f.attacker),
            cell(&f.victim),
            f.id
        );
        let _ = writeln!(out, "```text");
        for line in super::steps::lines(f) {
            let _ = writeln!(out, "{}", fenced(&line));
        }
        let _ = writeln!(out, "```\n");
        if let Some(r) = &f.reproduction {
            let _ = writeln!(out, "Reproduce: `bash {}`\n", r.curl);
        }
        let _ = writeln!(out, "</details>\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table_or_inject_html() {
        assert_eq!(cell("a|b\nc<script>"), "a\\|b c&lt;script&gt;");
    }
}
