//! `bfla`: an identity whose role the policy denies an operation gets its effect: another
//! tenant's data in the answer (compared with what the victim's and the caller's own lists
//! show), or a change its own read-back sees. The permitted role's call is the positive control.

use super::Context;
use crate::exchange::Execution;
use crate::finding::{Kind, Violation};
use crate::scenario::Scenario;

pub(crate) fn check(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    super::sweep::gates(ctx, scenario, exec, false, Kind::Bfla, "roles")
}
