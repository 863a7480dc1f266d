//! A Markdown summary for a pull-request comment or a ticket: counts, a table of bugs (one row per
//! kind, operation and vector, naming the attacker/victim pairs it was found for), and one
//! representative pair's minimal steps per bug in a collapsible block. GitHub-flavoured (tables,
//! `<details>`). Always under [`LIMIT`]: past it, the table and the blocks stop early and a note
//! says so and where the full report is.

use std::fmt::Write;

use crate::finding::{Bug, Finding};
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

/// The most a summary may hold, in bytes (so in characters too): a GitHub pull-request comment
/// holds 65,536 characters, and a summary is often posted inside a little text of its own.
pub const LIMIT: usize = 60_000;

/// Room kept for the note that says a summary was shortened.
const NOTE_ROOM: usize = 2_000;

/// How many pairs a bug's table row names before it says how many more.
const PAIRS_IN_ROW: usize = 6;

/// How many of its other pairs a bug's details name.
const PAIRS_IN_DETAILS: usize = 20;

/// How many characters of evidence a table cell shows.
const EVIDENCE_CHARS: usize = 300;

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn status(b: &Bug<'_>) -> String {
    if b.is_new() {
        "confirmed".into()
    } else if b.is_known() {
        "known".into()
    } else {
        let f = b.representative();
        format!("inconclusive ({}/{})", f.reproduced, f.replays)
    }
}

fn pair(f: &Finding) -> String {
    format!("{} → {}", cell(&f.attacker), cell(&f.victim))
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Renders the summary, at most [`LIMIT`] long; a shortened one says to look in the JSON report.
pub fn render(result: &CampaignResult) -> String {
    render_linked(result, None)
}

/// Renders the summary, at most [`LIMIT`] long. `full_report` is where the full (JSON) report
/// was written, which a shortened summary points to.
pub fn render_linked(result: &CampaignResult, full_report: Option<&str>) -> String {
    let mut out = String::new();
    let bugs = crate::finding::bugs(&result.findings);
    let confirmed: Vec<&Finding> = result.confirmed().collect();
    let new = bugs.iter().filter(|b| b.is_new()).count();
    let known = bugs.iter().filter(|b| b.is_known()).count();
    let confirmed_bugs = new + known;
    let inconclusive = result.findings.len() - confirmed.len();
    let pairs = format!("{} of attacker and victim", plural(confirmed.len(), "pair"));
    let headline = match (new, known) {
        (0, 0) => "no confirmed finding".to_string(),
        (n, 0) => format!("{} ({pairs})", plural(n, "confirmed bug")),
        (n, k) => format!("{} ({k} known; {pairs})", plural(n, "new confirmed bug")),
    };
    let _ = writeln!(out, "## tenantfuzz: {headline}\n");
    let mut names: Vec<String> = result
        .identities
        .iter()
        .take(20)
        .map(|i| format!("`{}`", cell(i)))
        .collect();
    if result.identities.len() > 20 {
        names.push(format!("and {} more", result.identities.len() - 20));
    }
    let _ = writeln!(
        out,
        "Target `{}`, spec `{}`, identities {}.\n",
        cell(&result.base_url),
        cell(&result.spec),
        names.join(", ")
    );
    let attacked = result.coverage.iter().filter(|c| c.attacked).count();
    let unjudged: u64 = result.coverage.iter().map(|c| c.unjudged).sum();
    let _ = writeln!(out, "| | |\n|---|---:|");
    let _ = writeln!(out, "| confirmed bugs | {confirmed_bugs} |");
    if known > 0 {
        let _ = writeln!(out, "| of which known (baseline) | {known} |");
    }
    let _ = writeln!(
        out,
        "| confirmed findings (attacker/victim pairs) | {} |",
        confirmed.len()
    );
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
        let _ = writeln!(out, "\n> **Incomplete:** {}", cell(&cut(&why, 500)));
    }
    if bugs.is_empty() {
        return out;
    }
    let rows: Vec<String> = bugs.iter().enumerate().map(|(i, b)| row(i, b)).collect();
    let details: Vec<String> = bugs.iter().enumerate().map(|(i, b)| detail(i, b)).collect();
    let table_head = "\n### Bugs\n\n| # | kind | operation | vector | attacker → victim | status | evidence |\n|---|---|---|---|---|---|---|\n";
    let details_head = "\n### Minimal steps\n\nOne representative pair per bug; `--repro-dir` writes every pair's reproduction.\n\n";
    let mut room =
        LIMIT.saturating_sub(out.len() + NOTE_ROOM + table_head.len() + details_head.len());
    let mut shown_rows = 0;
    for r in &rows {
        if r.len() > room {
            break;
        }
        room -= r.len();
        shown_rows += 1;
    }
    let mut shown_details = 0;
    for d in details.iter().take(shown_rows) {
        if d.len() > room {
            break;
        }
        room -= d.len();
        shown_details += 1;
    }
    if shown_rows < bugs.len() || shown_details < bugs.len() {
        let whole = match full_report {
            Some(path) => format!("the full report is `{}`", cell(&cut(path, 300))),
            None => "write the full report with `--report-json FILE` (or see the run's JSON \
                     report)"
                .to_string(),
        };
        let _ = writeln!(
            out,
            "\n> **Shortened** to fit a pull-request comment: this summary lists {} of {} bugs \
             and the minimal steps of {}; {whole}, with every bug, pair and reproduction.",
            shown_rows,
            bugs.len(),
            shown_details
        );
    }
    out.push_str(table_head);
    for r in rows.iter().take(shown_rows) {
        out.push_str(r);
    }
    if shown_details > 0 {
        out.push_str(details_head);
        for d in details.iter().take(shown_details) {
            out.push_str(d);
        }
    }
    out
}

/// A bug's row of the table: its pairs (the first few), status and the representative's
/// evidence.
fn row(i: usize, b: &Bug<'_>) -> String {
    let f = b.first();
    let rule = super::rules::rule(f.kind);
    let mut pairs: Vec<String> = b
        .findings
        .iter()
        .take(PAIRS_IN_ROW)
        .map(|f| pair(f))
        .collect();
    if b.findings.len() > PAIRS_IN_ROW {
        pairs.push(format!("and {} more", b.findings.len() - PAIRS_IN_ROW));
    }
    format!(
        "| {} | `{}` ({}, {}) | `{} {}` | {} | {} | {} | {} |\n",
        i + 1,
        f.kind,
        rule.owasp.0,
        rule.severity_label(),
        f.operation.method,
        cell(&f.operation.path),
        f.vector,
        pairs.join(", "),
        status(b),
        cell(&cut(&b.representative().evidence, EVIDENCE_CHARS))
    )
}

/// A bug's collapsible block: the representative pair's minimal steps and reproduction, and
/// the other pairs.
fn detail(i: usize, b: &Bug<'_>) -> String {
    let mut out = String::new();
    let first = b.first();
    let f = b.representative();
    let _ = writeln!(
        out,
        "<details><summary>{}. <code>{}</code> on <code>{} {}</code> via {}, {}, {}</summary>\n",
        i + 1,
        first.kind,
        first.operation.method,
        cell(&first.operation.path),
        first.vector,
        plural(b.findings.len(), "pair"),
        b.id
    );
    let _ = writeln!(out, "Representative: {} (`{}`)\n", pair(f), f.id);
    let _ = writeln!(out, "```text");
    for line in super::steps::lines(f) {
        let _ = writeln!(out, "{}", fenced(&line));
    }
    let _ = writeln!(out, "```\n");
    if let Some(r) = &f.reproduction {
        let _ = writeln!(out, "Reproduce: `bash {}`\n", r.curl);
    }
    let others: Vec<&&Finding> = b.findings.iter().filter(|o| o.id != f.id).collect();
    if !others.is_empty() {
        let mut names: Vec<String> = others
            .iter()
            .take(PAIRS_IN_DETAILS)
            .map(|o| format!("{} (`{}`)", pair(o), o.id))
            .collect();
        if others.len() > PAIRS_IN_DETAILS {
            names.push(format!("and {} more", others.len() - PAIRS_IN_DETAILS));
        }
        let _ = writeln!(out, "Also found for: {}\n", names.join(", "));
    }
    let _ = writeln!(out, "</details>\n");
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
