//! Exploration beyond the systematic plan: proptest strategies, built at run time from the
//! model, that draw sequences of moves (who creates what, who attacks which operation with whose
//! ids in which slot), compiled into scenarios. Moves are plain indexes, so proptest's own
//! shrinking gives fewer moves and smaller choices.

use std::sync::Arc;

use proptest::prelude::*;
use proptest::strategy::{NewTree, ValueTree};
use proptest::test_runner::TestRunner;

use super::cast::Cast;
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

/// A value tree that can move to another thread with the campaign that shrinks it.
pub type SendTree<T> = Box<dyn ValueTree<Value = T> + Send>;

/// A type-erased strategy whose trees are [`SendTree`]s. proptest's own boxed strategies give
/// trees that are not `Send`, and the campaign holds a case's tree while it re-executes it.
pub struct SendBoxed<T>(Arc<dyn Strategy<Value = T, Tree = SendTree<T>> + Send + Sync>);

impl<T> Clone for SendBoxed<T> {
    fn clone(&self) -> Self {
        SendBoxed(self.0.clone())
    }
}

impl<T> std::fmt::Debug for SendBoxed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SendBoxed")
    }
}

impl<T: std::fmt::Debug> Strategy for SendBoxed<T> {
    type Tree = SendTree<T>;
    type Value = T;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        self.0.new_tree(runner)
    }
}

/// Boxes a concrete strategy, keeping its trees `Send`.
#[derive(Debug)]
struct Erase<S>(S);

impl<S> Strategy for Erase<S>
where
    S: Strategy,
    S::Tree: Send + 'static,
{
    type Tree = SendTree<S::Value>;
    type Value = S::Value;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        Ok(Box::new(self.0.new_tree(runner)?))
    }
}

fn send_boxed<S>(s: S) -> SendBoxed<S::Value>
where
    S: Strategy + Send + Sync + 'static,
    S::Tree: Send + 'static,
{
    SendBoxed(Arc::new(Erase(s)))
}

/// The strategy of drafts for an API, or `None` when there is nothing to attack.
pub fn strategy(
    api: &Api,
    model: &ResourceModel,
    cast: &Cast,
    max_steps: usize,
) -> Option<SendBoxed<Draft>> {
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
    let step: SendBoxed<Move> = if producers == 0 {
        send_boxed(attack)
    } else {
        send_boxed(prop_oneof![
            1 => (any::<bool>(), 0..producers)
                .prop_map(|(by_victim, producer)| Move::Create { by_victim, producer }),
            2 => attack,
        ])
    };
    Some(send_boxed(
        (
            0..pairs,
            proptest::collection::vec(step, 1..=max_steps.max(1)),
        )
            .prop_map(|(pair, moves)| Draft { pair, moves }),
    ))
}
