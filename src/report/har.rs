//! HAR 1.2 of every exchange of a run, for browser devtools and HTTP tools. Needs a result with
//! recorded exchanges (the CLI asks the campaign to record them when `--har` is given).
//! Credential headers are `***` (see `redact.rs`); cookies are never listed.

use chrono::{DateTime, SecondsFormat};
use serde::Serialize;
use serde_json::Value;

use super::redact;
use crate::exchange::{Exchange, Recorded};
use crate::outcome::CampaignResult;

#[derive(Debug, Serialize)]
pub struct Har {
    pub log: Log,
}

#[derive(Debug, Serialize)]
pub struct Log {
    pub version: &'static str,
    pub creator: Creator,
    pub entries: Vec<Entry>,
    pub comment: String,
}

#[derive(Debug, Serialize)]
pub struct Creator {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub started_date_time: String,
    pub time: f64,
    pub request: Request,
    pub response: Response,
    pub cache: Cache,
    pub timings: Timings,
    /// Who sent it.
    pub comment: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub method: String,
    pub url: String,
    pub http_version: &'static str,
    pub cookies: Vec<NameValue>,
    pub headers: Vec<NameValue>,
    pub query_string: Vec<NameValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_data: Option<PostData>,
    pub headers_size: i64,
    pub body_size: i64,
}

#[derive(Debug, Serialize)]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostData {
    pub mime_type: String,
    pub text: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub status: u16,
    pub status_text: String,
    pub http_version: &'static str,
    pub cookies: Vec<NameValue>,
    pub headers: Vec<NameValue>,
    pub content: Content,
    #[serde(rename = "redirectURL")]
    pub redirect_url: String,
    pub headers_size: i64,
    pub body_size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    pub size: i64,
    pub mime_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Cache {}

#[derive(Debug, Serialize)]
pub struct Timings {
    pub send: f64,
    pub wait: f64,
    pub receive: f64,
}

fn headers(list: &[(String, String)]) -> Vec<NameValue> {
    list.iter()
        .map(|(name, value)| NameValue {
            name: name.clone(),
            value: redact::header_value(name, value).to_string(),
        })
        .collect()
}

fn body_text(body: &Value) -> String {
    match body {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn entry(r: &Recorded) -> Entry {
    let ex: &Exchange = &r.exchange;
    let query_string = url::Url::parse(&ex.url)
        .map(|u| {
            u.query_pairs()
                .map(|(name, value)| NameValue {
                    name: name.into_owned(),
                    value: value.into_owned(),
                })
                .collect()
        })
        .unwrap_or_default();
    let post_data = ex.request_body.as_ref().map(|b| PostData {
        mime_type: "application/json".into(),
        text: body_text(b),
    });
    let request_size = post_data.as_ref().map(|p| p.text.len() as i64).unwrap_or(0);
    let response_text = ex.response_body.get().map(body_text);
    let mime = ex
        .response_header("content-type")
        .unwrap_or(if !ex.response_body.is_none() {
            "application/json"
        } else {
            "x-unknown"
        })
        .to_string();
    let time = ex.duration_ms as f64;
    Entry {
        started_date_time: DateTime::from_timestamp_millis(r.started_unix_ms as i64)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Millis, true),
        time,
        request: Request {
            method: ex.method.clone(),
            url: ex.url.clone(),
            http_version: "HTTP/1.1",
            cookies: Vec::new(),
            headers: headers(&ex.request_headers),
            query_string,
            post_data,
            headers_size: -1,
            body_size: request_size,
        },
        response: Response {
            status: ex.status.unwrap_or(0),
            status_text: ex
                .status
                .and_then(|s| reqwest::StatusCode::from_u16(s).ok())
                .and_then(|s| s.canonical_reason())
                .unwrap_or("")
                .to_string(),
            http_version: "HTTP/1.1",
            cookies: Vec::new(),
            headers: headers(&ex.response_headers),
            content: Content {
                size: response_text.as_ref().map(|t| t.len() as i64).unwrap_or(0),
                mime_type: mime,
                text: response_text,
            },
            redirect_url: ex.response_header("location").unwrap_or("").to_string(),
            headers_size: -1,
            body_size: -1,
            comment: ex.error.clone(),
        },
        cache: Cache {},
        timings: Timings {
            send: 0.0,
            wait: time,
            receive: 0.0,
        },
        comment: format!("sent by {}", r.identity),
    }
}

/// The HAR log of a campaign result's recorded exchanges.
pub fn har(result: &CampaignResult) -> Har {
    let mut entries: Vec<&Recorded> = result.exchanges.iter().collect();
    // Recorded in the order they finished; HAR viewers expect the order they started.
    entries.sort_by_key(|r| r.started_unix_ms);
    Har {
        log: Log {
            version: "1.2",
            creator: Creator {
                name: "tenantfuzz",
                version: env!("CARGO_PKG_VERSION"),
            },
            entries: entries.into_iter().map(entry).collect(),
            comment: format!(
                "tenantfuzz run against {} ({} requests); credential headers are redacted as ***",
                result.base_url, result.stats.requests
            ),
        },
    }
}

/// The HAR log as pretty JSON.
pub fn render(result: &CampaignResult) -> String {
    serde_json::to_string_pretty(&har(result)).expect("the log is plain data")
}
