//! A confirmed violation as a [`Finding`]: the operation, the evidence, the minimal steps as a
//! reproduction (pre-existing ids re-read the way discovery found them), and its fingerprint.

use super::Campaign;
use crate::finding::{Finding, OperationRef, ReproStep, Status, fingerprint};
use crate::model::Slot;
use crate::scenario::StepRole;

impl Campaign {
    pub(super) fn finding(
        &self,
        done: &super::confirm::Confirmed,
        names: &[String],
        discovery: &super::discover::Discovery,
    ) -> Finding {
        let v = &done.violation;
        let op = &self.api.operations[v.op];
        let operation = OperationRef {
            method: op.method.to_string(),
            path: op.path.clone(),
            operation_id: op.operation_id.clone(),
            line: op.line,
        };
        // Pre-existing ids are re-read the way discovery found them, so the reproduction works on
        // another instance of the target too.
        let mut used: Vec<(usize, usize)> = Vec::new();
        for step in &done.scenario.steps {
            for (_, expr) in &step.args {
                if let crate::scenario::Expr::Discovered { identity, resource } = expr {
                    if !used.contains(&(*identity, *resource)) {
                        used.push((*identity, *resource));
                    }
                }
            }
        }
        let mut steps: Vec<ReproStep> = Vec::new();
        let mut from_discovery: Vec<((usize, usize), usize, String, String)> = Vec::new();
        for key in &used {
            let Some((op, pointer)) = discovery.sources.get(key) else {
                continue;
            };
            let Some(exchange) = discovery
                .answers
                .get(&key.0)
                .and_then(|list| list.iter().find(|(o, _)| o == op))
                .map(|(_, e)| e.clone())
            else {
                continue;
            };
            let value = discovery
                .owned
                .get(key)
                .and_then(|ids| ids.first())
                .map(crate::exchange::value_text)
                .unwrap_or_default();
            let index = match steps
                .iter()
                .position(|s| s.identity == names[key.0] && s.exchange.url == exchange.url)
            {
                Some(i) => i,
                None => {
                    steps.push(ReproStep {
                        identity: names[key.0].clone(),
                        role: "discover".into(),
                        exchange,
                        captures: Vec::new(),
                        signature: None,
                        fresh: Vec::new(),
                    });
                    steps.len() - 1
                }
            };
            from_discovery.push((*key, index, pointer.clone(), value));
        }
        let shift = steps.len();
        for (step, record) in done.scenario.steps.iter().zip(&done.execution.steps) {
            let Some(exchange) = record.exchange.clone() else {
                continue;
            };
            // An account probe's login check is the flow's, with its secrets: the script says
            // what to check instead.
            if matches!(step.role, crate::scenario::StepRole::Relogin { .. }) {
                continue;
            }
            let mut captures: Vec<crate::exchange::Capture> = record
                .captures
                .iter()
                .map(|c| crate::exchange::Capture {
                    from_step: c.from_step + shift,
                    ..c.clone()
                })
                .collect();
            for (_, expr) in &step.args {
                if let crate::scenario::Expr::Discovered { identity, resource } = expr {
                    if let Some((_, index, pointer, value)) = from_discovery
                        .iter()
                        .find(|(k, ..)| *k == (*identity, *resource))
                    {
                        captures.push(crate::exchange::Capture {
                            value: value.clone(),
                            from_step: *index,
                            pointer: pointer.clone(),
                        });
                    }
                }
            }
            let signature = self
                .webhooks
                .iter()
                .any(|(op, _)| *op == step.op)
                .then_some(match &step.role {
                    StepRole::Attack {
                        check: crate::scenario::Check::Webhook { forgery, .. },
                        ..
                    } => match forgery {
                        crate::scenario::Forgery::Unsigned => "unsigned",
                        crate::scenario::Forgery::WrongSecret => "wrong-secret",
                        crate::scenario::Forgery::Stale => "stale",
                        crate::scenario::Forgery::Replay => "replay",
                    },
                    _ => "signed",
                })
                .map(str::to_string);
            // What was made up afresh for this request, as sent.
            let fresh = step
                .args
                .iter()
                .filter_map(|(slot, expr)| match (slot, expr) {
                    (Slot::Body(pointer), crate::scenario::Expr::Unique) => exchange
                        .request_body
                        .as_ref()?
                        .pointer(pointer)?
                        .as_str()
                        .map(str::to_string),
                    _ => None,
                })
                .collect();
            // A forged token is a credential no identity holds: the step is sent as
            // `<identity>-forged` (a reproduction asks for its own variable, never the
            // identity's real token), and its recipe stands where a webhook's signing would.
            let (identity, signature) = match &step.role {
                StepRole::Attack {
                    victim,
                    check: crate::scenario::Check::Token { forgery, .. },
                    ..
                } => (
                    format!("{}-forged", names[step.actor]),
                    Some(format!("forged token: {}", forgery.recipe(&names[*victim]))),
                ),
                _ => (names[step.actor].clone(), signature),
            };
            steps.push(ReproStep {
                identity,
                role: step.role_label().to_string(),
                exchange,
                captures,
                signature,
                fresh,
            });
        }
        Finding {
            id: fingerprint(v.kind, v.vector, &operation, &v.attacker, &v.victim),
            bug: crate::finding::bug_id(v.kind, v.vector, &operation),
            kind: v.kind,
            vector: v.vector,
            status: if done.replays > 0 && done.reproduced == done.replays {
                Status::Confirmed
            } else {
                Status::Inconclusive
            },
            reproduced: done.reproduced,
            replays: done.replays,
            operation,
            attacker: v.attacker.clone(),
            victim: v.victim.clone(),
            evidence: v.evidence.clone(),
            evidence_markers: v.markers.clone(),
            evidence_field: v.field.clone(),
            signing: self
                .webhooks
                .iter()
                .find(|(op, _)| done.scenario.steps.iter().any(|s| s.op == *op))
                .map(|(_, w)| crate::finding::Signing {
                    signature_header: w.signature_header.clone(),
                    timestamp_header: w.timestamp_header.clone(),
                    algorithm: match w.algorithm {
                        crate::config::HmacAlgorithm::Sha256 => "hmac-sha256".into(),
                        crate::config::HmacAlgorithm::Sha512 => "hmac-sha512".into(),
                    },
                    encoding: match w.encoding {
                        crate::config::DigestEncoding::Hex => "hex".into(),
                        crate::config::DigestEncoding::Base64 => "base64".into(),
                    },
                    prefix: w.prefix.clone(),
                    signed: w.signed.clone(),
                    tolerance_seconds: w.tolerance.as_secs(),
                }),
            steps,
            shrink_note: done.shrink_note.clone(),
            requests_spent: done.requests,
            reproduction: None,
            known: false,
        }
    }
}
