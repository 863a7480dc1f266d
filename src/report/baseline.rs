//! Baselines: the findings a team already knows about. `tenantfuzz baseline REPORT.json` writes
//! one from a JSON report; `--baseline FILE` marks the findings whose id (a fingerprint of kind,
//! vector, operation, attacker and victim, stable across runs and seeds) it lists as known, and
//! known findings do not fail the run. A JSON report is itself accepted as a baseline.

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::outcome::CampaignResult;

/// The baseline file's format version.
pub const FORMAT_VERSION: u32 = 1;

/// A baseline file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Baseline {
    pub format_version: u32,
    pub findings: Vec<Entry>,
}

/// One known finding. Only `id` is used for matching; the rest is for people reading the file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// `METHOD /path`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub operation: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub attacker: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub victim: String,
}

/// Why a baseline could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("failed to read '{path}': {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("'{path}' is neither a baseline nor a tenantfuzz JSON report: {message}")]
    Parse { path: String, message: String },
}

impl Baseline {
    /// The baseline of a set of findings (sorted by id, without duplicates).
    pub fn of(findings: &[Finding]) -> Baseline {
        let mut entries: Vec<Entry> = findings
            .iter()
            .map(|f| Entry {
                id: f.id.clone(),
                kind: f.kind.as_str().to_string(),
                operation: format!("{} {}", f.operation.method, f.operation.path),
                attacker: f.attacker.clone(),
                victim: f.victim.clone(),
            })
            .collect();
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        entries.dedup_by(|a, b| a.id == b.id);
        Baseline {
            format_version: FORMAT_VERSION,
            findings: entries,
        }
    }

    /// Parses a baseline, or takes the finding ids of a JSON report. `source` names the text in
    /// errors.
    pub fn parse(text: &str, source: &str) -> Result<Baseline, BaselineError> {
        #[derive(Deserialize)]
        struct Ids {
            findings: Vec<IdOnly>,
        }
        #[derive(Deserialize)]
        struct IdOnly {
            id: String,
        }
        if let Ok(b) = serde_json::from_str::<Baseline>(text) {
            return Ok(b);
        }
        let ids: Ids = serde_json::from_str(text).map_err(|e| BaselineError::Parse {
            path: source.to_string(),
            message: e.to_string(),
        })?;
        Ok(Baseline {
            format_version: FORMAT_VERSION,
            findings: ids
                .findings
                .into_iter()
                .map(|f| Entry {
                    id: f.id,
                    kind: String::new(),
                    operation: String::new(),
                    attacker: String::new(),
                    victim: String::new(),
                })
                .collect(),
        })
    }

    /// Reads a baseline file (or a JSON report).
    pub fn load(path: &std::path::Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Baseline::parse(&text, &path.display().to_string())
    }

    /// Whether a finding id is listed.
    pub fn contains(&self, id: &str) -> bool {
        self.findings.iter().any(|e| e.id == id)
    }

    /// Marks the result's findings that are listed as known; returns how many.
    pub fn mark(&self, result: &mut CampaignResult) -> usize {
        let mut n = 0;
        for f in &mut result.findings {
            f.known = self.contains(&f.id);
            n += usize::from(f.known);
        }
        n
    }

    /// The baseline as pretty JSON.
    pub fn render(&self) -> String {
        serde_json::to_string_pretty(self).expect("the baseline is plain data")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_accepted_as_a_baseline() {
        let report = r#"{"format_version": 1, "findings": [{"id": "tfz-1", "kind": "bola-read",
            "operation": {"method": "GET", "path": "/a"}}]}"#;
        let b = Baseline::parse(report, "r.json").expect("parses");
        assert!(b.contains("tfz-1"));
        assert!(!b.contains("tfz-2"));
        let again = Baseline::parse(&b.render(), "b.json").expect("round-trips");
        assert_eq!(again, b);
        assert!(Baseline::parse("{}", "x.json").is_err());
    }
}
