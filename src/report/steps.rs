//! A finding's minimal steps as short plain-text lines, for formats that show them to people
//! (JUnit failure bodies, Markdown). Exchanges are already redacted; bodies are cut short.

use crate::finding::Finding;

/// How much of a body a step line shows.
const BODY_CHARS: usize = 200;

fn cut(text: &str) -> String {
    match text.char_indices().nth(BODY_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// One line per step: `1. bob (attack): GET http://… -> 200`, then the request body (if any)
/// indented below it.
pub fn lines(f: &Finding) -> Vec<String> {
    let mut out = Vec::new();
    for (i, step) in f.steps.iter().enumerate() {
        let ex = &step.exchange;
        let status = ex
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "no answer".into());
        out.push(format!(
            "{}. {} ({}): {} {} -> {status}",
            i + 1,
            step.identity,
            step.role,
            ex.method,
            ex.url
        ));
        if let Some(body) = &ex.request_body {
            out.push(format!("   body: {}", cut(&body.to_string())));
        }
    }
    out
}
