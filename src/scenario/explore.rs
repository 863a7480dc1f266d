//! Exploration beyond the systematic plan: proptest strategies, built at run time from the
//! model, that draw sequences of moves (who creates what, who attacks which operation with whose
//! ids in which slot), compiled into scenarios. Moves are plain indexes, so proptest's own
//! shrinking gives fewer moves and smaller choices.

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use super::plan::Cast;
use crate::model::ResourceModel;
use crate::spec::Api;

/// One move of an explored scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    /// The victim (or the attacker) creates a resource through producer `producer`.
    Create { by_victim: bool, producer: usize },
    /// The attacker sends operation `op`; `fill[i]` decides whose id goes in the operation's
    /// i-th id slot (even: the victim's, odd: its own); `search` puts the victim's marker stem in
    /// search parameters.
    Attack {
        op: usize,
        fill: Vec<u8>,
        search: bool,
    },
}

/// An explored scenario before compilation: an (attacker, victim) pair and its moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub pair: usize,
    pub moves: Vec<Move>,
}

/// The strategy of drafts for an API, or `None` when there is nothing to attack.
pub fn strategy(
    api: &Api,
    model: &ResourceModel,
    cast: &Cast,
    max_steps: usize,
) -> Option<BoxedStrategy<Draft>> {
    let pairs = cast.pairs().len();
    let ops: Vec<usize> = (0..api.operations.len())
        .filter(|op| !model.is_skipped(*op))
        .collect();
    if pairs == 0 || ops.is_empty() {
        return None;
    }
    let producers = model.producers.len();
    let attack = (
        proptest::sample::select(ops),
        proptest::collection::vec(0u8..2, 4),
        any::<bool>(),
    )
        .prop_map(|(op, fill, search)| Move::Attack { op, fill, search });
    let step: BoxedStrategy<Move> = if producers == 0 {
        attack.boxed()
    } else {
        prop_oneof![
            1 => (any::<bool>(), 0..producers)
                .prop_map(|(by_victim, producer)| Move::Create { by_victim, producer }),
            2 => attack,
        ]
        .boxed()
    };
    Some(
        (
            0..pairs,
            proptest::collection::vec(step, 1..=max_steps.max(1)),
        )
            .prop_map(|(pair, moves)| Draft { pair, moves })
            .boxed(),
    )
}
