//! The campaign's concurrency: one slot per request in flight, handed out by priority instead
//! of first come, first served.
//!
//! Many more scenarios run than there are slots (each holds one only while a request of its is
//! out), so requests queue. A plain FIFO queue makes every step of a long chain wait behind the
//! whole crowd, and the phase then waits for its longest chain. Here a waiting request of a
//! scenario holding a tenant's webhook lock goes first (every scenario on that tenant waits for
//! it), then the request of the scenario that started earliest: scenarios finish in about the
//! order they started, as they did when each held a slot throughout, while a slot one of them
//! leaves idle between two requests goes to the next.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::oneshot;

/// Who is asking for a slot: the lower the key, the sooner it is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Priority {
    /// Not holding a lock others wait for (`false` goes first).
    ordinary: bool,
    /// When the scenario (or the chain of executions it is part of) started.
    ticket: u64,
}

impl Priority {
    /// The priority of a scenario, or chain of executions, that took `ticket`; `locked` when it
    /// holds a lock other scenarios wait for.
    pub fn new(ticket: u64, locked: bool) -> Priority {
        Priority {
            ordinary: !locked,
            ticket,
        }
    }

    /// Whether the scenario holds a lock other scenarios wait for.
    pub fn locked(&self) -> bool {
        !self.ordinary
    }
}

struct Waiter {
    priority: Priority,
    /// Arrival order among equal priorities.
    arrival: u64,
    wake: oneshot::Sender<()>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        (self.priority, self.arrival) == (other.priority, other.arrival)
    }
}
impl Eq for Waiter {}
impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiter {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // The heap pops its greatest: the lowest priority key, then the earliest arrival.
        Reverse((self.priority, self.arrival)).cmp(&Reverse((other.priority, other.arrival)))
    }
}

#[derive(Default)]
struct State {
    free: usize,
    waiting: BinaryHeap<Waiter>,
    arrivals: u64,
}

/// A fixed number of slots, each waiting request served by [`Priority`].
pub struct Slots {
    state: Mutex<State>,
    tickets: AtomicU64,
}

/// A slot held; given back when dropped.
pub struct Slot<'a> {
    slots: &'a Slots,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.slots.release();
    }
}

/// A request waiting for its slot. Dropped before it got one (a cancelled wait), it leaves the
/// queue; dropped just after one was handed to it, it gives the slot back.
struct Waiting<'a> {
    slots: &'a Slots,
    wake: Option<oneshot::Receiver<()>>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Some(mut wake) = self.wake.take() {
            wake.close();
            if wake.try_recv().is_ok() {
                self.slots.release();
            }
        }
    }
}

impl Slots {
    /// `n` slots (at least one).
    pub fn new(n: usize) -> Slots {
        Slots {
            state: Mutex::new(State {
                free: n.max(1),
                ..State::default()
            }),
            tickets: AtomicU64::new(0),
        }
    }

    /// A ticket for a scenario or chain of executions starting now: later tickets wait longer.
    pub fn ticket(&self) -> u64 {
        self.tickets.fetch_add(1, Ordering::Relaxed)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a free slot, served before every waiting request of a higher key.
    pub async fn acquire(&self, priority: Priority) -> Slot<'_> {
        loop {
            let wake = {
                let mut state = self.state();
                if state.free > 0 {
                    state.free -= 1;
                    return Slot { slots: self };
                }
                let (tx, rx) = oneshot::channel();
                state.arrivals += 1;
                let arrival = state.arrivals;
                state.waiting.push(Waiter {
                    priority,
                    arrival,
                    wake: tx,
                });
                rx
            };
            let mut waiting = Waiting {
                slots: self,
                wake: Some(wake),
            };
            let handed = match waiting.wake.as_mut() {
                Some(wake) => wake.await.is_ok(),
                None => false,
            };
            waiting.wake = None;
            if handed {
                return Slot { slots: self };
            }
            // The sender went without a slot (it cannot, short of a bug): queue again.
        }
    }

    /// Hands a freed slot to the first waiting request that is still waiting, else keeps it.
    fn release(&self) {
        let mut state = self.state();
        while let Some(w) = state.waiting.pop() {
            if w.wake.send(()).is_ok() {
                return;
            }
        }
        state.free += 1;
    }

    /// Slots free right now (for tests).
    #[cfg(test)]
    fn free(&self) -> usize {
        self.state().free
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::sync::Arc;

    #[tokio::test]
    async fn serves_locked_first_then_earliest_ticket() {
        let slots = Arc::new(Slots::new(1));
        let held = slots.acquire(Priority::new(0, false)).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // Arrive in the order 5, 3, locked 9, 4.
        for (ticket, locked) in [(5, false), (3, false), (9, true), (4, false)] {
            let (slots, order) = (slots.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _slot = slots.acquire(Priority::new(ticket, locked)).await;
                order.lock().unwrap().push(ticket);
                tokio::task::yield_now().await;
            }));
            // Let each one queue before the next arrives.
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
        }
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![9, 3, 4, 5]);
        assert_eq!(slots.free(), 1);
    }

    #[tokio::test]
    async fn never_more_in_flight_than_slots() {
        let slots = Arc::new(Slots::new(3));
        let inside = Arc::new(AtomicU64::new(0));
        let most = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for i in 0..40u64 {
            let (slots, inside, most) = (slots.clone(), inside.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                let _slot = slots.acquire(Priority::new(i % 7, i % 5 == 0)).await;
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 3);
        assert_eq!(slots.free(), 3);
    }

    #[tokio::test]
    async fn a_cancelled_wait_loses_no_slot() {
        let slots = Slots::new(1);
        let held = slots.acquire(Priority::new(0, false)).await;
        {
            // Queued, then dropped before any slot was free.
            let waiting = slots.acquire(Priority::new(1, false));
            let timed = tokio::time::timeout(std::time::Duration::from_millis(5), waiting).await;
            assert!(timed.is_err());
        }
        drop(held);
        assert_eq!(slots.free(), 1);
        // Dropped right after a slot was handed to it: the slot comes back.
        let held = slots.acquire(Priority::new(0, false)).await;
        let mut waiting = Box::pin(slots.acquire(Priority::new(1, false)));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        drop(held);
        drop(waiting);
        assert_eq!(slots.free(), 1);
        let _again = slots.acquire(Priority::new(2, false)).await;
        assert_eq!(slots.free(), 0);
    }
}
