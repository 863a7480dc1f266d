//! The HTML report: one self-contained file a person opens in a browser. A summary, an access
//! matrix (operations by identity: what each attacker's requests got back, with the confirmed
//! findings laid over it), the findings grouped by bug with evidence and one representative
//! minimal reproduction each, and the coverage with its reasons. No script, no external style,
//! font or image: inline CSS only, and a Content-Security-Policy that forbids the rest. Every
//! text is escaped (server answers are attacker-controlled); exchanges are already redacted, and
//! headers go through [`super::redact`] once more.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::finding::{Bug, Finding, Kind, Status};
use crate::outcome::{Access, CampaignResult, Coverage};

/// Text as HTML: safe in element content and in quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// How many characters of a body a step shows.
const BODY_CHARS: usize = 2_000;

/// How many characters of a bug's evidence are shown.
const EVIDENCE_CHARS: usize = 2_000;

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// What one cell of the access matrix shows: the confirmed findings first, then what the
/// attacker's requests got back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// A confirmed finding that changed, deleted or reached what it must not.
    Violation,
    /// A confirmed finding that read another tenant's data.
    Leak,
    /// Some attack answered 2xx, and no check found a violation in it.
    Allowed,
    /// Every judged attack answered otherwise (refused, or another non-2xx answer).
    Denied,
    /// Attacks were sent, but none could be judged.
    Unjudged,
    /// This identity did not attack this operation.
    NotTried,
}

impl Cell {
    const ALL: [Cell; 6] = [
        Cell::Violation,
        Cell::Leak,
        Cell::Allowed,
        Cell::Denied,
        Cell::Unjudged,
        Cell::NotTried,
    ];

    /// The class and `data-state` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Cell::Violation => "violation",
            Cell::Leak => "leak",
            Cell::Allowed => "allowed",
            Cell::Denied => "denied",
            Cell::Unjudged => "unjudged",
            Cell::NotTried => "not-tried",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Cell::NotTried => "not tried",
            Cell::Unjudged => "not judged",
            other => other.as_str(),
        }
    }

    /// Shown beside the colour, so that the cell reads without it.
    fn symbol(self) -> &'static str {
        match self {
            Cell::Violation => "✖",
            Cell::Leak => "◆",
            Cell::Allowed => "●",
            Cell::Denied => "✓",
            Cell::Unjudged => "?",
            Cell::NotTried => "·",
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            Cell::Violation => {
                "a confirmed finding with this identity as attacker: it changed, deleted or \
                 reached what it must not"
            }
            Cell::Leak => {
                "a confirmed finding with this identity as attacker: another tenant's data came \
                 back in the answer"
            }
            Cell::Allowed => {
                "an attack was answered 2xx and no check found a violation in it (public or own \
                 data, an ignored write)"
            }
            Cell::Denied => {
                "every judged attack was refused (401, 403, 404, 410) or answered another non-2xx"
            }
            Cell::Unjudged => {
                "attacks were sent, none could be judged (no answer, 5xx, 429, a failed set-up \
                 step)"
            }
            Cell::NotTried => "this identity sent no attack on this operation",
        }
    }
}

/// Whether a finding kind reads data (a leak) rather than acting on it.
fn is_leak(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::BolaRead | Kind::ListLeak | Kind::Unauthenticated | Kind::ExistenceLeak
    )
}

/// The cell of `identity` on an operation: its confirmed findings there (with that identity
/// as attacker), else what its attacks got back.
pub fn cell(access: Option<&Access>, findings: &[&Finding]) -> Cell {
    let confirmed: Vec<&&Finding> = findings
        .iter()
        .filter(|f| f.status == Status::Confirmed)
        .collect();
    if confirmed.iter().any(|f| !is_leak(f.kind)) {
        return Cell::Violation;
    }
    if !confirmed.is_empty() {
        return Cell::Leak;
    }
    match access {
        Some(a) if a.allowed > 0 => Cell::Allowed,
        Some(a) if a.denied + a.other > 0 => Cell::Denied,
        Some(a) if a.unjudged > 0 => Cell::Unjudged,
        _ => Cell::NotTried,
    }
}

/// The page's style: readable on screen and on paper, colour never the only signal.
const STYLE: &str = r#"
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#ffffff; --soft:#f6f8fa;
  --violation:#b42318; --violation-bg:#fee4e2; --leak:#b54708; --leak-bg:#fef0c7;
  --allowed:#175cd3; --allowed-bg:#e0eaff; --denied:#067647; --denied-bg:#dcfae6;
  --unjudged:#6941c6; --unjudged-bg:#f4ebff; --not-tried:#667085; --not-tried-bg:#f2f4f7; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif; color:var(--fg); background:var(--bg); }
main { max-width:1280px; margin:0 auto; padding:8px 28px 64px; }
header.top { background:#0d1117; color:#f0f6fc; }
header.top .inner { max-width:1280px; margin:0 auto; padding:18px 28px; }
header.top h1 { margin:0; font-size:20px; font-weight:600; }
header.top p { margin:4px 0 0; color:#9198a1; overflow-wrap:anywhere; }
nav.toc { margin-top:10px; display:flex; gap:18px; flex-wrap:wrap; }
nav.toc a { color:#79c0ff; text-decoration:none; }
h2 { font-size:18px; margin:36px 0 10px; padding-bottom:6px; border-bottom:1px solid var(--line); }
h3 { font-size:15px; margin:0; }
code, pre, .mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace; font-size:12.5px; }
pre { background:var(--soft); border:1px solid var(--line); border-radius:6px; padding:10px 12px; overflow:auto; max-height:420px; white-space:pre-wrap; overflow-wrap:anywhere; margin:6px 0; }
.verdict { display:inline-block; padding:4px 12px; border-radius:999px; font-weight:600; margin:6px 0 0; }
.verdict.bad { background:var(--violation-bg); color:var(--violation); }
.verdict.warn { background:var(--leak-bg); color:var(--leak); }
.verdict.good { background:var(--denied-bg); color:var(--denied); }
table { border-collapse:separate; border-spacing:0; }
th, td { text-align:left; vertical-align:top; }
dl.facts { display:grid; grid-template-columns:repeat(auto-fill,minmax(300px,1fr)); gap:0; margin:10px 0; border:1px solid var(--line); border-radius:6px; overflow:hidden; }
dl.facts > div { padding:6px 12px; border-bottom:1px solid var(--line); border-right:1px solid var(--line); margin:0 -1px -1px 0; }
dl.facts > div.wide { grid-column:1 / -1; }
dl.facts dt { font-size:12px; color:var(--muted); }
dl.facts dd { margin:0; overflow-wrap:anywhere; }
.incomplete { border-left:4px solid var(--leak); background:var(--leak-bg); padding:8px 12px; margin:10px 0; border-radius:4px; }
.legend { display:grid; grid-template-columns:repeat(auto-fill,minmax(380px,1fr)); gap:6px 18px; margin:8px 0 12px; padding:0; list-style:none; }
.legend li { display:flex; gap:8px; align-items:baseline; color:var(--muted); font-size:13px; }
.legend .cell { flex:none; }
.scroll { overflow:auto; max-height:80vh; border:1px solid var(--line); border-radius:6px; }
table.matrix { width:100%; }
table.matrix thead th { position:sticky; top:0; z-index:2; background:var(--soft); border-bottom:1px solid var(--line); padding:8px 10px; font-weight:600; white-space:nowrap; }
table.matrix thead th.op { left:0; z-index:3; }
table.matrix tbody th { position:sticky; left:0; z-index:1; background:var(--bg); font-weight:400; padding:6px 10px; min-width:260px; max-width:460px; overflow-wrap:anywhere; border-right:1px solid var(--line); }
table.matrix td { padding:3px 4px; }
table.matrix tbody tr + tr > * { border-top:1px solid var(--soft); }
.method { display:inline-block; min-width:58px; font-weight:600; color:var(--muted); }
.cell { display:flex; gap:6px; align-items:center; justify-content:flex-start; padding:3px 8px; border-radius:4px; white-space:nowrap; font-size:12.5px; border:1px solid transparent; min-width:110px; text-decoration:none; }
.cell .sym { font-weight:700; width:1em; text-align:center; }
.cell .n { color:var(--muted); margin-left:auto; font-size:11.5px; }
.cell.violation { background:var(--violation-bg); color:var(--violation); border-color:var(--violation); font-weight:600; }
.cell.leak { background:var(--leak-bg); color:var(--leak); border-color:var(--leak); font-weight:600; }
.cell.allowed { background:var(--allowed-bg); color:var(--allowed); }
.cell.denied { background:var(--denied-bg); color:var(--denied); }
.cell.unjudged { background:repeating-linear-gradient(45deg,var(--unjudged-bg),var(--unjudged-bg) 4px,#fff 4px,#fff 8px); color:var(--unjudged); border-color:var(--unjudged-bg); }
.cell.not-tried { background:var(--not-tried-bg); color:var(--not-tried); }
a.cell:hover { text-decoration:underline; }
.bug { border:1px solid var(--line); border-radius:8px; margin:14px 0; }
.bug > .head { display:flex; gap:10px; align-items:baseline; flex-wrap:wrap; padding:10px 14px; background:var(--soft); border-bottom:1px solid var(--line); border-radius:8px 8px 0 0; }
.bug > .body { padding:8px 14px 12px; }
.bug .path { overflow-wrap:anywhere; }
.tag { display:inline-block; padding:0 8px; border-radius:999px; font-size:12px; border:1px solid var(--line); color:var(--muted); background:var(--bg); }
.tag.critical, .tag.high, .tag.confirmed { color:var(--violation); border-color:var(--violation); }
.tag.medium, .tag.inconclusive { color:var(--leak); border-color:var(--leak); }
.tag.known { color:var(--muted); }
.muted { color:var(--muted); }
table.list { width:100%; border:1px solid var(--line); border-radius:6px; margin:6px 0; }
table.list th { background:var(--soft); font-weight:600; padding:6px 10px; border-bottom:1px solid var(--line); white-space:nowrap; }
table.list td { padding:5px 10px; overflow-wrap:anywhere; }
table.list tr + tr > td { border-top:1px solid var(--soft); }
table.list td.num, table.list th.num { text-align:right; white-space:nowrap; }
tr.untested td { background:#fffaeb; }
details { margin:6px 0; }
summary { cursor:pointer; color:var(--allowed); }
dl.evidence { margin:6px 0; display:grid; grid-template-columns:max-content 1fr; gap:4px 14px; }
dl.evidence dt { color:var(--muted); }
dl.evidence dd { margin:0; overflow-wrap:anywhere; }
@media print { .scroll { max-height:none; overflow:visible; } header.top { background:none; color:#000; } details { display:block; } }
"#;

/// Renders the report.
pub fn render(result: &CampaignResult) -> String {
    let bugs = crate::finding::bugs(&result.findings);
    let mut out = String::with_capacity(64 * 1024);
    let confirmed = result.confirmed().count();
    let new = bugs.iter().filter(|b| b.is_new()).count();
    let known = bugs.iter().filter(|b| b.is_known()).count();
    let headline = match (new, known) {
        (0, 0) => "no confirmed finding".to_string(),
        (n, 0) => format!(
            "{} ({})",
            plural(n, "confirmed bug"),
            plural(confirmed, "attacker/victim pair")
        ),
        (n, k) => format!(
            "{} ({k} known; {})",
            plural(n, "new confirmed bug"),
            plural(confirmed, "attacker/victim pair")
        ),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"generator\" content=\"tenantfuzz {}\">\n\
         <title>tenantfuzz: {} on {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        env!("CARGO_PKG_VERSION"),
        escape(&headline),
        escape(&result.base_url)
    );
    let _ = write!(
        out,
        "<header class=\"top\"><div class=\"inner\"><h1>tenantfuzz report: {}</h1>\
         <p>{} · spec {}</p>\
         <nav class=\"toc\"><a href=\"#summary\">Summary</a><a href=\"#matrix\">Access matrix</a>\
         <a href=\"#bugs\">Bugs ({})</a><a href=\"#coverage\">Coverage</a>\
         <a href=\"#cleanup\">Cleanup</a></nav></div></header>\n<main>\n",
        escape(&headline),
        escape(&result.base_url),
        escape(&result.spec),
        bugs.len()
    );
    summary(&mut out, result, &bugs, &headline);
    matrix(&mut out, result);
    bug_list(&mut out, result, &bugs);
    coverage(&mut out, result);
    cleanup(&mut out, result);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// The exit code a run with this result ends with, and what it means.
fn exit_meaning(result: &CampaignResult) -> (u8, &'static str) {
    if result.failure.is_some() {
        (
            3,
            "the target stopped answering: the findings confirmed before still stand",
        )
    } else if result.confirmed().any(|f| !f.known) {
        (1, "at least one confirmed finding not in the baseline")
    } else if !result.incomplete().is_empty() {
        (4, "incomplete: nothing confirmed, but that is not a pass")
    } else {
        (
            0,
            "no confirmed finding, and every operation that takes a resource id was tested",
        )
    }
}

fn summary(out: &mut String, result: &CampaignResult, bugs: &[Bug<'_>], headline: &str) {
    let (code, meaning) = exit_meaning(result);
    let class = match code {
        0 => "good",
        1 | 3 => "bad",
        _ => "warn",
    };
    let _ = write!(
        out,
        "<section id=\"summary\"><h2>Summary</h2>\n<p class=\"verdict {class}\">{}</p>\n",
        escape(headline)
    );
    let incomplete = result.incomplete();
    if let Some(failure) = &result.failure {
        let _ = writeln!(
            out,
            "<p class=\"incomplete\"><strong>Cut short:</strong> {}</p>",
            escape(failure)
        );
    }
    for why in &incomplete {
        let _ = writeln!(
            out,
            "<p class=\"incomplete\"><strong>Incomplete:</strong> {} (no finding is not a pass)</p>",
            escape(why)
        );
    }
    let confirmed = result.confirmed().count();
    let inconclusive = result.findings.len() - confirmed;
    let confirmed_bugs = bugs.iter().filter(|b| b.is_confirmed()).count();
    let known = bugs.iter().filter(|b| b.is_known()).count();
    let attacked = result.coverage.iter().filter(|c| c.attacked).count();
    let judged: u64 = result.coverage.iter().map(|c| c.judged).sum();
    let unjudged: u64 = result.coverage.iter().map(|c| c.unjudged).sum();
    let untested = result.untested().count();
    let complete = if incomplete.is_empty() && result.failure.is_none() {
        "yes".to_string()
    } else {
        let mut why: Vec<String> = incomplete.clone();
        if let Some(f) = &result.failure {
            why.insert(0, format!("failed: {f}"));
        }
        format!("no: {}", why.join("; "))
    };
    let mut identities = result.identities.join(", ");
    if identities.is_empty() {
        identities = "none recorded".into();
    }
    let rows: Vec<(&str, String)> = vec![
        (
            "confirmed bugs",
            if known > 0 {
                format!("{confirmed_bugs} ({known} known from the baseline)")
            } else {
                confirmed_bugs.to_string()
            },
        ),
        (
            "confirmed findings",
            format!("{confirmed} (one per attacker/victim pair)"),
        ),
        ("inconclusive findings", inconclusive.to_string()),
        ("exit code", format!("{code}: {meaning}")),
        ("complete", complete),
        (
            "operations attacked",
            format!("{attacked} of {}", result.operations_total),
        ),
        (
            "attack requests",
            format!("{judged} judged, {unjudged} not judged"),
        ),
        (
            "untested operations",
            format!(
                "{untested} (take a resource id, no probe judged; {} allowed)",
                result.untested_allowed
            ),
        ),
        (
            "duration",
            format!("{:.1} s", result.stats.duration_ms as f64 / 1000.0),
        ),
        (
            "cleanup",
            format!(
                "{} deleted, {} already gone, {} left behind",
                result.cleanup.deleted,
                result.cleanup.already_gone,
                result.cleanup.left.len()
            ),
        ),
        (
            "requests sent",
            format!(
                "{} ({} systematic, {} exploration, {} confirmation and shrinking, {} cleanup)",
                result.stats.requests,
                result.stats.systematic_requests,
                result.stats.exploration_requests,
                result.stats.confirmation_requests,
                result.stats.cleanup_requests
            ),
        ),
        ("identities", identities),
        ("target", result.base_url.clone()),
        ("spec", result.spec.clone()),
        (
            "shard",
            result
                .shard
                .map_or_else(|| "the whole campaign".into(), |s| s.to_string()),
        ),
    ];
    out.push_str("<dl class=\"facts\">\n");
    for (name, value) in rows {
        // Long values take a row of their own.
        let class = if value.len() > 90 {
            " class=\"wide\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<div{class}><dt>{}</dt><dd>{}</dd></div>",
            escape(name),
            escape(&value)
        );
    }
    out.push_str("</dl>\n</section>\n");
}

/// The matrix's columns: the run's identities, then any other name an access count or a
/// finding uses (a merge of runs with different identities).
fn columns(result: &CampaignResult) -> Vec<String> {
    let mut names: Vec<String> = result.identities.clone();
    let extra = result
        .coverage
        .iter()
        .flat_map(|c| c.access.keys())
        .chain(result.findings.iter().map(|f| &f.attacker));
    for name in extra {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

fn counts(a: Option<&Access>) -> String {
    let Some(a) = a else {
        return "no attack sent".into();
    };
    let mut parts = Vec::new();
    if a.allowed > 0 {
        parts.push(format!("{} answered 2xx", a.allowed));
    }
    if a.denied > 0 {
        parts.push(format!("{} refused (401/403/404/410)", a.denied));
    }
    if a.other > 0 {
        parts.push(format!("{} other non-2xx answers", a.other));
    }
    if a.unjudged > 0 {
        parts.push(format!("{} not judged", a.unjudged));
    }
    if parts.is_empty() {
        "no attack sent".into()
    } else {
        parts.join(", ")
    }
}

fn legend_item(c: Cell) -> String {
    format!(
        "<li><span class=\"cell {}\"><span class=\"sym\" aria-hidden=\"true\">{}</span>{}</span><span>{}</span></li>",
        c.as_str(),
        c.symbol(),
        c.label(),
        escape(c.meaning())
    )
}

fn matrix(out: &mut String, result: &CampaignResult) {
    let names = columns(result);
    out.push_str("<section id=\"matrix\"><h2>Access matrix</h2>\n");
    out.push_str(
        "<p class=\"muted\">Each row is an operation, each column an identity as the attacker: \
         what its attack requests on other tenants' objects got back. A status code alone proves \
         nothing; violation and leak cells are confirmed findings (they link to the bug), the \
         others count answers. The numbers are attack requests.</p>\n<ul class=\"legend\">",
    );
    for c in Cell::ALL {
        out.push_str(&legend_item(c));
    }
    out.push_str("</ul>\n");
    // Findings by (method, path, attacker).
    let mut by_cell: BTreeMap<(&str, &str, &str), Vec<&Finding>> = BTreeMap::new();
    for f in &result.findings {
        by_cell
            .entry((
                f.operation.method.as_str(),
                f.operation.path.as_str(),
                f.attacker.as_str(),
            ))
            .or_default()
            .push(f);
    }
    out.push_str(
        "<div class=\"scroll\"><table class=\"matrix\" id=\"access-matrix\">\n<thead><tr><th class=\"op\" scope=\"col\">operation</th>",
    );
    for name in &names {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(name));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for c in &result.coverage {
        let op = format!("{} {}", c.method, c.path);
        let _ = write!(
            out,
            "<tr data-op=\"{}\"><th scope=\"row\"><span class=\"method\">{}</span><span class=\"mono\">{}</span></th>",
            escape(&op),
            escape(&c.method),
            escape(&c.path)
        );
        for name in &names {
            let access = c.access.get(name);
            let found = by_cell
                .get(&(c.method.as_str(), c.path.as_str(), name.as_str()))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let state = cell(access, found);
            let mut title = format!("{name} on {op}: {}", counts(access));
            let mut kinds: Vec<String> = found
                .iter()
                .map(|f| {
                    let status = match (f.status, f.known) {
                        (Status::Confirmed, true) => "confirmed, known",
                        (Status::Confirmed, false) => "confirmed",
                        (Status::Inconclusive, _) => "inconclusive",
                    };
                    format!("{} ({status}) against {}", f.kind, f.victim)
                })
                .collect();
            kinds.dedup();
            if !kinds.is_empty() {
                let _ = write!(title, "; findings: {}", kinds.join(", "));
            }
            let n = match access {
                Some(a) => a.allowed + a.denied + a.other + a.unjudged,
                None => 0,
            };
            let number = if n > 0 {
                format!("<span class=\"n\">{n}</span>")
            } else {
                String::new()
            };
            let inner = format!(
                "<span class=\"sym\" aria-hidden=\"true\">{}</span>{}{number}",
                state.symbol(),
                state.label()
            );
            let link = found
                .iter()
                .find(|f| f.status == Status::Confirmed)
                .filter(|_| matches!(state, Cell::Violation | Cell::Leak));
            let _ = match link {
                Some(f) => write!(
                    out,
                    "<td data-identity=\"{}\" data-state=\"{}\"><a class=\"cell {}\" href=\"#{}\" title=\"{}\">{inner}</a></td>",
                    escape(name),
                    state.as_str(),
                    state.as_str(),
                    escape(&bug_anchor(f)),
                    escape(&title)
                ),
                None => write!(
                    out,
                    "<td data-identity=\"{}\" data-state=\"{}\"><span class=\"cell {}\" title=\"{}\">{inner}</span></td>",
                    escape(name),
                    state.as_str(),
                    state.as_str(),
                    escape(&title)
                ),
            };
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n</section>\n");
}

fn bug_anchor(f: &Finding) -> String {
    let id = if f.bug.is_empty() {
        crate::finding::bug_id(f.kind, f.vector, &f.operation)
    } else {
        f.bug.clone()
    };
    format!("bug-{id}")
}

fn status_tag(b: &Bug<'_>) -> String {
    if b.is_new() {
        "<span class=\"tag confirmed\">confirmed</span>".into()
    } else if b.is_known() {
        "<span class=\"tag known\">known (baseline)</span>".into()
    } else {
        let f = b.representative();
        format!(
            "<span class=\"tag inconclusive\">inconclusive ({}/{})</span>",
            f.reproduced, f.replays
        )
    }
}

fn bug_list(out: &mut String, result: &CampaignResult, bugs: &[Bug<'_>]) {
    let _ = writeln!(out, "<section id=\"bugs\"><h2>Bugs ({})</h2>", bugs.len());
    if bugs.is_empty() {
        out.push_str("<p>No finding.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<p class=\"muted\">One entry per kind, operation and vector, with every attacker/victim \
         pair it was found for and one representative pair's minimal steps. \
         <code>--repro-dir</code> writes every pair's reproduction.</p>\n",
    );
    for (i, b) in bugs.iter().enumerate() {
        bug(out, result, i, b);
    }
    out.push_str("</section>\n");
}

fn bug(out: &mut String, result: &CampaignResult, i: usize, b: &Bug<'_>) {
    let first = b.first();
    let f = b.representative();
    let rule = super::rules::rule(first.kind);
    let _ = write!(
        out,
        "<article class=\"bug\" id=\"{}\"><div class=\"head\"><h3>{}. <code>{}</code> {}</h3>\
         <span class=\"mono path\">{} {}</span><span class=\"tag\">via {}</span>{}\
         <span class=\"tag {}\">{} {:.1}</span><span class=\"tag\">{} {}</span>\
         <span class=\"muted mono\">{}</span></div>\n<div class=\"body\">\n",
        escape(&bug_anchor(first)),
        i + 1,
        escape(first.kind.as_str()),
        escape(first.kind.title()),
        escape(&first.operation.method),
        escape(&first.operation.path),
        escape(first.vector.as_str()),
        status_tag(b),
        rule.severity_label(),
        rule.severity_label(),
        rule.severity,
        escape(rule.owasp.0),
        escape(rule.owasp.1),
        escape(&b.id)
    );
    // The pairs.
    out.push_str(
        "<table class=\"list pairs\"><thead><tr><th>attacker</th><th>victim</th><th>status</th>\
         <th class=\"num\">reproduced</th><th>finding id</th></tr></thead><tbody>\n",
    );
    for p in &b.findings {
        let status = match (p.status, p.known) {
            (Status::Confirmed, true) => "confirmed, known",
            (Status::Confirmed, false) => "confirmed",
            (Status::Inconclusive, _) => "inconclusive",
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{status}{}</td><td class=\"num\">{}/{}</td><td class=\"mono\">{}</td></tr>",
            escape(&p.attacker),
            escape(&p.victim),
            if p.id == f.id { " (shown below)" } else { "" },
            p.reproduced,
            p.replays,
            escape(&p.id)
        );
    }
    out.push_str("</tbody></table>\n");
    // The evidence.
    out.push_str("<dl class=\"evidence\">");
    let _ = write!(
        out,
        "<dt>evidence</dt><dd>{}</dd>",
        escape(&cut(&f.evidence, EVIDENCE_CHARS))
    );
    if !f.evidence_markers.is_empty() {
        let _ = write!(
            out,
            "<dt>markers</dt><dd class=\"mono\">{}</dd>",
            escape(&f.evidence_markers.join(", "))
        );
    }
    if let Some(field) = &f.evidence_field {
        let _ = write!(
            out,
            "<dt>field</dt><dd class=\"mono\">{}</dd>",
            escape(field)
        );
    }
    if let Some(note) = &f.shrink_note {
        let _ = write!(out, "<dt>shrinking</dt><dd>{}</dd>", escape(note));
    }
    if let Some(r) = &f.reproduction {
        let _ = write!(
            out,
            "<dt>reproduce</dt><dd class=\"mono\">bash {}{}</dd>",
            escape(&r.curl),
            r.hurl
                .as_ref()
                .map(|h| format!(" · hurl --test {}", escape(h)))
                .unwrap_or_default()
        );
    }
    out.push_str("</dl>\n");
    steps(out, f);
    // The script of a copy whose headers went through the one redaction place: a credential
    // header is `***` there, which the script reads from the environment instead.
    let mut redacted = f.clone();
    for step in &mut redacted.steps {
        for (name, value) in step
            .exchange
            .request_headers
            .iter_mut()
            .chain(step.exchange.response_headers.iter_mut())
        {
            if super::redact::is_sensitive_header(name) {
                *value = super::redact::REDACTED.to_string();
            }
        }
    }
    let script = super::curl::script(&redacted, &result.marker_prefix, &result.base_url);
    let _ = writeln!(
        out,
        "<details><summary>reproduction script (bash and curl; credentials come from the \
         environment)</summary><pre>{}</pre></details>",
        escape(&script)
    );
    out.push_str("</div></article>\n");
}

/// The representative's minimal steps: who sent what, and what came back.
fn steps(out: &mut String, f: &Finding) {
    let _ = writeln!(
        out,
        "<table class=\"list steps\"><thead><tr><th class=\"num\">#</th><th>identity</th>\
         <th>role</th><th>request</th><th class=\"num\">status</th></tr></thead><tbody>"
    );
    for (i, step) in f.steps.iter().enumerate() {
        let ex = &step.exchange;
        let status = match (ex.status, &ex.error) {
            (Some(s), _) => s.to_string(),
            (None, Some(e)) => format!("no answer: {e}"),
            (None, None) => "no answer".into(),
        };
        let _ = write!(
            out,
            "<tr><td class=\"num\">{}</td><td>{}</td><td>{}{}</td><td><span class=\"method\">{}</span><span class=\"mono\">{}</span>",
            i + 1,
            escape(&step.identity),
            escape(&step.role),
            step.signature
                .as_ref()
                .map(|s| format!(" ({})", escape(s)))
                .unwrap_or_default(),
            escape(&ex.method),
            escape(&ex.url)
        );
        let mut detail = String::new();
        for (name, value) in &ex.request_headers {
            let _ = writeln!(
                detail,
                "{name}: {}",
                super::redact::header_value(name, value)
            );
        }
        if let Some(body) = &ex.request_body {
            let _ = writeln!(detail, "\n{}", cut(&body.to_string(), BODY_CHARS));
        }
        let mut answer = String::new();
        for (name, value) in &ex.response_headers {
            let _ = writeln!(
                answer,
                "{name}: {}",
                super::redact::header_value(name, value)
            );
        }
        let text = ex.response_body.text();
        if !text.is_empty() {
            let _ = writeln!(answer, "\n{}", cut(text, BODY_CHARS));
        }
        if !detail.is_empty() {
            let _ = write!(
                out,
                "<details><summary>request</summary><pre>{}</pre></details>",
                escape(&detail)
            );
        }
        if !answer.is_empty() {
            let _ = write!(
                out,
                "<details><summary>answer</summary><pre>{}</pre></details>",
                escape(&answer)
            );
        }
        let _ = writeln!(out, "</td><td class=\"num\">{}</td></tr>", escape(&status));
    }
    out.push_str("</tbody></table>\n");
}

fn coverage(out: &mut String, result: &CampaignResult) {
    out.push_str("<section id=\"coverage\"><h2>Coverage</h2>\n");
    let untested = result.untested().count();
    let _ = writeln!(
        out,
        "<p class=\"muted\">{} listed first: they take a resource id, and none of their probes \
         could be judged, so the run cannot call them safe. Then the others, with why an \
         operation was not attacked.</p>",
        plural(untested, "untested operation")
    );
    let mut rows: Vec<&Coverage> = result.coverage.iter().collect();
    // Untested first, then not attacked with a note, then the rest; spec order within each.
    rows.sort_by_key(|c| (!c.untested(), c.attacked || c.note.is_none()));
    out.push_str(
        "<table class=\"list coverage\"><thead><tr><th>operation</th><th>state</th>\
         <th>vectors</th><th>checks</th><th class=\"num\">judged</th>\
         <th class=\"num\">not judged</th><th>note</th></tr></thead><tbody>\n",
    );
    for c in rows {
        let state = if c.untested() {
            "untested"
        } else if c.attacked {
            "attacked"
        } else {
            "not attacked"
        };
        let vectors: Vec<&str> = {
            let mut v: Vec<&str> = c.vectors.iter().map(|v| v.as_str()).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let checks: Vec<&str> = {
            let mut k: Vec<&str> = c.checks.iter().map(|k| k.as_str()).collect();
            k.sort_unstable();
            k.dedup();
            k
        };
        let mut note = c.note.clone().unwrap_or_default();
        if c.reasons.len() > 1 {
            let all: Vec<String> = c
                .reasons
                .iter()
                .map(|(r, n)| format!("{r} ({n})"))
                .collect();
            if !note.is_empty() {
                note.push_str(". ");
            }
            let _ = write!(note, "all reasons: {}", all.join("; "));
        }
        let _ = writeln!(
            out,
            "<tr class=\"{}\"><td><span class=\"method\">{}</span><span class=\"mono\">{}</span></td>\
             <td>{state}{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            state.replace(' ', "-"),
            escape(&c.method),
            escape(&c.path),
            if c.in_scope { "" } else { " (not in scope)" },
            escape(&vectors.join(", ")),
            escape(&checks.join(", ")),
            c.judged,
            c.unjudged,
            escape(&note)
        );
    }
    out.push_str("</tbody></table>\n</section>\n");
}

fn cleanup(out: &mut String, result: &CampaignResult) {
    let c = &result.cleanup;
    let _ = writeln!(
        out,
        "<section id=\"cleanup\"><h2>Cleanup</h2>\n<p>{} deleted, {} already gone (an attack or \
         the scenario deleted them), {} left behind on the target.</p>",
        c.deleted,
        c.already_gone,
        c.left.len()
    );
    if !c.left.is_empty() {
        out.push_str(
            "<table class=\"list left\"><thead><tr><th>resource</th><th>id</th><th>delete</th>\
             <th>why it is left</th></tr></thead><tbody>\n",
        );
        for l in &c.left {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
                escape(&l.resource),
                escape(&l.id),
                escape(l.url.as_deref().unwrap_or("")),
                escape(&l.reason)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_element_and_attribute_text() {
        assert_eq!(
            escape(r#"</script><img src=x onerror="a('b')">&"#),
            "&lt;/script&gt;&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;"
        );
    }

    #[test]
    fn a_cell_shows_findings_over_counts() {
        let a = |allowed, denied, other, unjudged| Access {
            allowed,
            denied,
            other,
            unjudged,
        };
        assert_eq!(cell(None, &[]), Cell::NotTried);
        assert_eq!(cell(Some(&a(0, 0, 0, 2)), &[]), Cell::Unjudged);
        assert_eq!(cell(Some(&a(0, 3, 1, 2)), &[]), Cell::Denied);
        assert_eq!(cell(Some(&a(0, 0, 1, 0)), &[]), Cell::Denied);
        assert_eq!(cell(Some(&a(1, 3, 0, 0)), &[]), Cell::Allowed);
    }
}
