//! `plan-bypass`: an identity on a plan the policy denies an operation (a paid feature on a free
//! plan) gets its effect: the feature's data in the answer, or a change its own read-back sees.

use super::Context;
use crate::exchange::Execution;
use crate::finding::{Kind, Violation};
use crate::scenario::Scenario;

pub(crate) fn check(ctx: &Context<'_>, scenario: &Scenario, exec: &Execution) -> Vec<Violation> {
    super::sweep::gates(ctx, scenario, exec, true, Kind::PlanBypass, "plans")
}
