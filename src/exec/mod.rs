//! Sending requests: the HTTP client and, later, scope guard, pacing and retries. The only async
//! code besides the demo server and the runtime's edge.

mod client;
mod run;
mod session;
mod sign;
mod slots;

pub use client::http_client;
pub use run::{Created, Discovered, Exclusive, Runtime, Sender, Target, TargetError};
pub(crate) use session::LiveCredentials;
pub use slots::{Priority, Slot, Slots};
