//! The campaign: discovery, the systematic phase, confirmation replays, shrinking and
//! deduplication, from settings to a [`crate::outcome::CampaignResult`]. The only place that drives the
//! executor; reporters read its result and nothing else.

mod accounts;
mod cleanup;
mod confirm;
mod discover;
mod exploration;
mod finding;
mod progress;
mod run;
mod state;
mod systematic;
mod visibility;

pub use progress::{Phase, Progress, Snapshot};
pub use run::{Campaign, CampaignError};
