//! Sending requests: the transport (`target.rs`: scope, credentials, pacing, retries, recording),
//! the interpreter of scenarios (`interpret.rs`) and its id resolution (`ids.rs`), sessions and
//! webhook signatures. The only async code
//! besides the demo server and the runtime's edge.

mod accounts;
mod client;
mod forge;
mod ids;
mod interpret;
mod session;
mod sign;
mod slots;
mod target;

pub use client::http_client;
pub use interpret::{Created, Discovered, Exclusive, Interpreter, REFUSED, Refusals};
pub use session::Control;
pub(crate) use session::LiveCredentials;
pub use slots::{Priority, Slot, Slots};
pub use target::{Abort, Sender, Target, TargetError};
