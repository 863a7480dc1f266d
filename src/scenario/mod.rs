//! Scenarios: steps with symbolic references, the systematic plan that covers every operation
//! and slot, and the proptest strategies that explore beyond it.

mod cast;
mod compile;
mod explore;
mod plan;
mod step;
mod values;

pub use cast::{Cast, TokenShape};
pub use compile::compile;
pub use explore::{Draft, Move, SendBoxed, SendTree, strategy};
pub(crate) use plan::is_password_field;
pub(crate) use plan::most_privileged_first;
pub use plan::{Gap, Plan, Probe, plan};
#[cfg(test)]
pub(crate) use step::test_setup;
pub use step::{
    AddressShape, Args, Check, Effect, Expr, Forgery, MarkerFormat, NoneSpelling, Phase, Scenario,
    Step, StepRole, TokenForgery,
};
