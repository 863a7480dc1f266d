//! SARIF 2.1.0 for GitHub code scanning and other SARIF viewers: one rule per finding kind (every
//! kind, produced or not), one result per bug (kind, operation and vector) located at its
//! operation in the spec file, naming every attacker/victim pair it was found for; its
//! fingerprint is the bug's id, so code scanning tracks one alert per bug across runs.
//! Built from typed structures; `tests/reports.rs` validates the output against the official
//! schema. Where the spec file is, relative to the repository, is the caller's to say.

use serde::Serialize;

use super::rules::{Rule, rule};
use crate::finding::{Bug, Kind, Status};
use crate::outcome::CampaignResult;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The key of the bug id in `partialFingerprints`: code scanning tracks a bug across runs by it,
/// whichever attacker/victim pairs each run found it for.
pub const FINGERPRINT_KEY: &str = "tenantfuzzBugId/v1";

/// How many pairs a result's message names before it says how many more.
const PAIRS_IN_MESSAGE: usize = 10;

/// A SARIF log: the document.
#[derive(Debug, Serialize)]
pub struct SarifLog {
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    pub version: &'static str,
    pub runs: Vec<Run>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub tool: Tool,
    pub results: Vec<SarifResult>,
    pub invocations: Vec<Invocation>,
    pub column_kind: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Tool {
    pub driver: Driver,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Driver {
    pub name: &'static str,
    pub version: &'static str,
    pub semantic_version: &'static str,
    pub information_uri: &'static str,
    pub rules: Vec<ReportingDescriptor>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportingDescriptor {
    pub id: String,
    pub name: String,
    pub short_description: Message,
    pub full_description: Message,
    pub help: MultiformatMessage,
    pub help_uri: String,
    pub default_configuration: Configuration,
    pub properties: RuleProperties,
}

#[derive(Debug, Serialize)]
pub struct Message {
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct MultiformatMessage {
    pub text: String,
    pub markdown: String,
}

#[derive(Debug, Serialize)]
pub struct Configuration {
    pub level: Level,
}

/// SARIF result levels (the ones used here).
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
    Note,
}

#[derive(Debug, Serialize)]
pub struct RuleProperties {
    pub tags: Vec<String>,
    pub precision: &'static str,
    #[serde(rename = "problem.severity")]
    pub problem_severity: &'static str,
    /// GitHub's severity score, a number as a string.
    #[serde(rename = "security-severity")]
    pub security_severity: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    pub rule_id: String,
    pub rule_index: usize,
    pub level: Level,
    pub message: Message,
    pub locations: Vec<Location>,
    pub partial_fingerprints: std::collections::BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_state: Option<&'static str>,
    pub properties: ResultProperties,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub physical_location: PhysicalLocation,
    pub logical_locations: Vec<LogicalLocation>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalLocation {
    pub artifact_location: ArtifactLocation,
    pub region: Region,
}

#[derive(Debug, Serialize)]
pub struct ArtifactLocation {
    pub uri: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    pub start_line: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogicalLocation {
    pub name: String,
    pub fully_qualified_name: String,
    pub kind: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultProperties {
    /// The bug's id (also its fingerprint).
    pub bug_id: String,
    /// Confirmed when any pair was.
    pub status: Status,
    pub vector: String,
    /// Every attacker/victim pair the bug was found for.
    pub pairs: Vec<PairProperties>,
    /// The finding id of the pair whose evidence and reproduction the result shows.
    pub representative: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reproduction: Option<String>,
}

/// One attacker/victim pair of a bug.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PairProperties {
    pub finding_id: String,
    pub attacker: String,
    pub victim: String,
    pub status: Status,
    pub reproduced: u32,
    pub replays: u32,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub known: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    pub execution_successful: bool,
}

fn descriptor(r: &Rule) -> ReportingDescriptor {
    let mut tags = vec!["security".to_string(), "authorization".to_string()];
    tags.extend(r.cwe.iter().map(|c| format!("external/cwe/cwe-{c}")));
    tags.push(format!(
        "external/owasp-api-2023/{}",
        r.owasp.0.to_ascii_lowercase()
    ));
    let cwe_text = r
        .cwe
        .iter()
        .map(|c| format!("CWE-{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let cwe_markdown = r
        .cwe
        .iter()
        .map(|c| format!("[CWE-{c}](https://cwe.mitre.org/data/definitions/{c}.html)"))
        .collect::<Vec<_>>()
        .join(", ");
    let title = r.kind.title();
    let short = format!("{}{}", title[..1].to_ascii_uppercase(), &title[1..]);
    ReportingDescriptor {
        id: r.kind.as_str().to_string(),
        name: r.name.to_string(),
        short_description: Message { text: short },
        full_description: Message {
            text: r.help.to_string(),
        },
        help: MultiformatMessage {
            text: format!(
                "{}\n\nWeakness: {cwe_text}. OWASP API Security Top 10: {} {}.",
                r.help, r.owasp.0, r.owasp.1
            ),
            markdown: format!(
                "{}\n\n**Weakness:** {cwe_markdown}  \n**OWASP API Security Top 10:** [{} {}]({})\n\n\
                 Every tenantfuzz finding is confirmed by replay and comes with its minimal steps; \
                 run its reproduction script (or `.hurl` file) to see it and to check a fix.",
                r.help,
                r.owasp.0,
                r.owasp.1,
                r.owasp_url()
            ),
        },
        help_uri: r.owasp_url().to_string(),
        default_configuration: Configuration {
            level: if r.severity >= 7.0 {
                Level::Error
            } else {
                Level::Warning
            },
        },
        properties: RuleProperties {
            tags,
            precision: "very-high",
            problem_severity: if r.severity >= 7.0 {
                "error"
            } else {
                "warning"
            },
            security_severity: format!("{:.1}", r.severity),
        },
    }
}

fn result(b: &Bug<'_>, spec_uri: &str) -> SarifResult {
    let f = b.representative();
    let rule_index = Kind::ALL
        .iter()
        .position(|k| *k == f.kind)
        .expect("ALL lists every kind");
    let op = format!("{} {}", f.operation.method, f.operation.path);
    let confirmed = b.confirmed().count();
    let found = if confirmed > 0 {
        format!(
            "confirmed for {confirmed} of {} attacker/victim pairs",
            b.findings.len()
        )
    } else {
        format!(
            "inconclusive for all {} attacker/victim pairs",
            b.findings.len()
        )
    };
    let mut pairs: Vec<String> = b
        .findings
        .iter()
        .take(PAIRS_IN_MESSAGE)
        .map(|p| format!("{} -> {}", p.attacker, p.victim))
        .collect();
    if b.findings.len() > PAIRS_IN_MESSAGE {
        pairs.push(format!("and {} more", b.findings.len() - PAIRS_IN_MESSAGE));
    }
    let replays = match f.status {
        Status::Confirmed => format!("confirmed on {} of {} replays", f.reproduced, f.replays),
        Status::Inconclusive => format!(
            "inconclusive: reproduced on {} of {} replays",
            f.reproduced, f.replays
        ),
    };
    let known = if b.is_known() {
        " Known: every confirmed pair is listed in the baseline."
    } else {
        ""
    };
    SarifResult {
        rule_id: f.kind.as_str().to_string(),
        rule_index,
        level: if b.is_new() {
            Level::Error
        } else if b.is_known() {
            Level::Note
        } else {
            Level::Warning
        },
        message: Message {
            text: format!(
                "{} on {op} via the {}, {found}: {}. Evidence ({} -> {}, {replays}): {}{known}",
                f.kind.title(),
                f.vector,
                pairs.join(", "),
                f.attacker,
                f.victim,
                f.evidence
            ),
        },
        locations: vec![Location {
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation {
                    uri: spec_uri.to_string(),
                },
                region: Region {
                    start_line: f.operation.line.unwrap_or(1).max(1),
                },
            },
            logical_locations: vec![LogicalLocation {
                name: f
                    .operation
                    .operation_id
                    .clone()
                    .unwrap_or_else(|| op.clone()),
                fully_qualified_name: op,
                kind: "function",
            }],
        }],
        partial_fingerprints: [(FINGERPRINT_KEY, b.id.clone())].into_iter().collect(),
        baseline_state: b.is_known().then_some("unchanged"),
        properties: ResultProperties {
            bug_id: b.id.clone(),
            status: if confirmed > 0 {
                Status::Confirmed
            } else {
                Status::Inconclusive
            },
            vector: f.vector.as_str().to_string(),
            pairs: b
                .findings
                .iter()
                .map(|p| PairProperties {
                    finding_id: p.id.clone(),
                    attacker: p.attacker.clone(),
                    victim: p.victim.clone(),
                    status: p.status,
                    reproduced: p.reproduced,
                    replays: p.replays,
                    known: p.known,
                })
                .collect(),
            representative: f.id.clone(),
            reproduction: f.reproduction.as_ref().map(|r| r.curl.clone()),
        },
    }
}

/// A path with `.` dropped and each `name/..` taken out, without touching the file system (a
/// `..` that climbs above a relative path's start stays).
fn normalise(path: &std::path::Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(c),
            },
            _ => out.push(c),
        }
    }
    out.iter().collect()
}

/// A spec path as a SARIF artifact URI: `.` and `name/..` taken out (`examples/../specs/a.yaml`
/// is `specs/a.yaml`), relative paths with forward slashes; an absolute path under `root` (the
/// repository or working directory) is made relative to it.
pub fn spec_uri(spec: &str, root: Option<&std::path::Path>) -> String {
    let path = normalise(std::path::Path::new(spec));
    let root = root.map(normalise);
    let relative = match &root {
        Some(root) if path.is_absolute() => path.strip_prefix(root).unwrap_or(&path),
        _ => &path,
    };
    let text = relative.to_string_lossy().replace('\\', "/");
    if relative.is_absolute() {
        return format!("file://{text}");
    }
    text
}

/// The SARIF log of a campaign result; `spec_uri` is where the spec file is, relative to the
/// repository root (see [`spec_uri`]).
pub fn log(result: &CampaignResult, spec_uri: &str) -> SarifLog {
    SarifLog {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "tenantfuzz",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: "https://crates.io/crates/tenantfuzz",
                    rules: Kind::ALL.iter().map(|k| descriptor(&rule(*k))).collect(),
                },
            },
            results: crate::finding::bugs(&result.findings)
                .iter()
                .map(|b| self::result(b, spec_uri))
                .collect(),
            invocations: vec![Invocation {
                execution_successful: result.incomplete().is_empty() && result.failure.is_none(),
            }],
            column_kind: "unicodeCodePoints",
        }],
    }
}

/// The SARIF log as pretty JSON.
pub fn render(result: &CampaignResult, spec_uri: &str) -> String {
    serde_json::to_string_pretty(&log(result, spec_uri)).expect("the log is plain data")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_paths_become_relative_uris() {
        let root = std::path::Path::new("/repo");
        assert_eq!(spec_uri("specs/demo.yaml", Some(root)), "specs/demo.yaml");
        assert_eq!(spec_uri("./api.yaml", Some(root)), "api.yaml");
        assert_eq!(
            spec_uri("/repo/api/openapi.json", Some(root)),
            "api/openapi.json"
        );
        assert_eq!(
            spec_uri("/elsewhere/a.yaml", Some(root)),
            "file:///elsewhere/a.yaml"
        );
        assert_eq!(
            spec_uri("examples/../specs/demo.yaml", Some(root)),
            "specs/demo.yaml"
        );
        assert_eq!(spec_uri("./a/./b/../c.yaml", None), "a/c.yaml");
        assert_eq!(
            spec_uri("/repo/examples/../specs/demo.yaml", Some(root)),
            "specs/demo.yaml"
        );
        assert_eq!(spec_uri("../api/openapi.yaml", None), "../api/openapi.yaml");
    }

    #[test]
    fn one_rule_per_kind_with_cwe_owasp_and_severity() {
        let rules: Vec<_> = Kind::ALL.iter().map(|k| descriptor(&rule(*k))).collect();
        assert_eq!(rules.len(), Kind::ALL.len());
        let v = serde_json::to_value(&rules[0]).expect("serializes");
        assert_eq!(v["id"], "bola-read");
        assert_eq!(v["properties"]["security-severity"], "8.1");
        let tags = v["properties"]["tags"].as_array().expect("tags");
        assert!(tags.iter().any(|t| t == "external/cwe/cwe-639"));
        assert!(
            tags.iter()
                .any(|t| t == "external/owasp-api-2023/api1:2023")
        );
    }
}
