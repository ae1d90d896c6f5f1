//! The write queue: writes that arrive while a batch commits wait together
//! and commit as the next batch, led by one of their writers.
//!
//! sled 0.34 commits each transaction under a global lock and its cost is
//! per key written, so writes that wait together commit together: the first
//! writer to find no commit running takes everything queued and commits it
//! through the backend's commit function (one transaction and one flush +
//! fsync for all of it); the others wait for their result. Each writer
//! waits on its own slot, so a finished batch wakes exactly its writers and
//! the next leader, not every waiting thread (measured: waking all 64
//! writers per batch spent a fifth of the CPU in context switches).
//!
//! The queue knows nothing of sled: it is generic over the queued write
//! (`Op`) and its result (`Out`).

use super::StoreError;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Where a write's result is left for its writer, and where the writer is
/// told to lead the next batch.
struct Slot<Out> {
    state: Mutex<SlotState<Out>>,
    ready: Condvar,
}

struct SlotState<Out> {
    result: Option<Result<Out, StoreError>>,
    lead: bool,
}

impl<Out> Slot<Out> {
    fn new() -> Self {
        Slot {
            state: Mutex::new(SlotState {
                result: None,
                lead: false,
            }),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SlotState<Out>> {
        // A slot holds one result and one flag; a panic elsewhere while
        // holding it cannot leave them half-written.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Leaves `result` for the writer, unless it has one already.
    fn answer(&self, result: Result<Out, StoreError>) {
        let mut state = self.lock();
        if state.result.is_none() {
            state.result = Some(result);
        }
        self.ready.notify_one();
    }
}

struct Queued<Op, Out> {
    ops: Vec<Op>,
    slots: Vec<Arc<Slot<Out>>>,
    /// A batch is committing (or the queue is held by [`WriteQueue::hold`]).
    leading: bool,
}

/// Queues writes and commits them in batches, one batch at a time.
pub struct WriteQueue<Op, Out> {
    queued: Mutex<Queued<Op, Out>>,
    /// Signalled when leadership is given up with nobody waiting.
    idle: Condvar,
}

impl<Op, Out> Default for WriteQueue<Op, Out> {
    fn default() -> Self {
        WriteQueue {
            queued: Mutex::new(Queued {
                ops: Vec::new(),
                slots: Vec::new(),
                leading: false,
            }),
            idle: Condvar::new(),
        }
    }
}

/// Commit leadership: while it exists no other batch commits. Dropping it
/// (also when unwinding from a panic) answers every write of its batch that
/// got no result and hands leadership to the oldest waiting writer, so
/// writers never wait forever.
pub struct Leadership<'a, Op, Out> {
    queue: &'a WriteQueue<Op, Out>,
    slots: Vec<Arc<Slot<Out>>>,
}

impl<Op, Out> Drop for Leadership<'_, Op, Out> {
    fn drop(&mut self) {
        for slot in &self.slots {
            // Does nothing to a slot that has its result already.
            slot.answer(Err(StoreError::io(
                "the commit failed unexpectedly; the write may not be stored: read the question again before retrying",
                std::io::Error::other("commit aborted"),
            )));
        }
        let mut q = self.queue.lock();
        match q.slots.first() {
            Some(next) => {
                next.lock().lead = true;
                next.ready.notify_one();
            }
            None => {
                q.leading = false;
                self.queue.idle.notify_all();
            }
        }
    }
}

impl<Op, Out> WriteQueue<Op, Out> {
    fn lock(&self) -> MutexGuard<'_, Queued<Op, Out>> {
        // The queue is two vectors pushed and taken whole, and a flag; it
        // stays consistent even if a writer panicked.
        self.queued.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `op` in the next batch and returns its result. `commit` gets
    /// every write of a batch and must return one result per write, in
    /// order; it is called by whichever writer leads that batch.
    pub fn run(
        &self,
        op: Op,
        commit: &dyn Fn(Vec<Op>) -> Vec<Result<Out, StoreError>>,
    ) -> Result<Out, StoreError> {
        let slot = Arc::new(Slot::new());
        {
            let mut q = self.lock();
            q.ops.push(op);
            q.slots.push(slot.clone());
            if !q.leading {
                q.leading = true;
                drop(q);
                return self.lead(&slot, commit);
            }
        }
        let mut state = slot.lock();
        loop {
            if let Some(result) = state.result.take() {
                return result;
            }
            if state.lead {
                state.lead = false;
                drop(state);
                return self.lead(&slot, commit);
            }
            state = slot.ready.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Commits everything queued (which includes the leader's own write) as
    /// one batch, then hands leadership on.
    fn lead(
        &self,
        own: &Slot<Out>,
        commit: &dyn Fn(Vec<Op>) -> Vec<Result<Out, StoreError>>,
    ) -> Result<Out, StoreError> {
        let (ops, slots) = {
            let mut q = self.lock();
            (std::mem::take(&mut q.ops), std::mem::take(&mut q.slots))
        };
        // Leadership is kept through the commit: writers arriving meanwhile
        // gather into the next, larger batch (measured: handing over before
        // the flush made batches smaller and throughput lower).
        let lead = Leadership { queue: self, slots };
        let results = commit(ops);
        for (slot, result) in lead.slots.iter().zip(results) {
            slot.answer(result);
        }
        drop(lead);
        own.lock().result.take().unwrap_or_else(|| {
            Err(StoreError::io(
                "the write was not part of the batch it led; read the question again before retrying",
                std::io::Error::other("lost write"),
            ))
        })
    }

    /// Holds every batch back until the returned guard is dropped: waits
    /// for the batch committing now, then keeps leadership. Writers queue
    /// meanwhile and commit as one batch afterwards.
    pub fn hold(&self) -> Leadership<'_, Op, Out> {
        let mut q = self.lock();
        while q.leading {
            q = self.idle.wait(q).unwrap_or_else(|p| p.into_inner());
        }
        q.leading = true;
        Leadership {
            queue: self,
            slots: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_writer_gets_its_own_result_and_concurrent_writers_share_batches() {
        let queue: WriteQueue<u32, u32> = WriteQueue::default();
        let batches = AtomicUsize::new(0);
        let commit = |ops: Vec<u32>| {
            batches.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(2));
            ops.into_iter().map(|n| Ok(n * 10)).collect()
        };
        std::thread::scope(|s| {
            for t in 0..8u32 {
                let (queue, commit) = (&queue, &commit);
                s.spawn(move || {
                    for i in 0..25u32 {
                        let n = t * 100 + i;
                        assert_eq!(queue.run(n, commit).unwrap(), n * 10);
                    }
                });
            }
        });
        let batches = batches.load(Ordering::SeqCst);
        assert!(
            batches < 200,
            "{batches} batches for 200 writes: none shared"
        );
    }

    #[test]
    fn a_refused_write_fails_alone() {
        let queue: WriteQueue<u32, u32> = WriteQueue::default();
        let commit = |ops: Vec<u32>| {
            ops.into_iter()
                .map(|n| {
                    if n == 3 {
                        Err(StoreError::Invalid("three".into()))
                    } else {
                        Ok(n)
                    }
                })
                .collect()
        };
        assert!(matches!(queue.run(3, &commit), Err(StoreError::Invalid(_))));
        assert_eq!(queue.run(4, &commit).unwrap(), 4);
    }

    #[test]
    fn a_commit_that_panics_answers_its_writers_and_frees_the_queue() {
        let queue: WriteQueue<u32, u32> = WriteQueue::default();
        let panicking = |_: Vec<u32>| -> Vec<Result<u32, StoreError>> { panic!("boom") };
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| queue.run(1, &panicking)));
        assert!(outcome.is_err());
        let fine = |ops: Vec<u32>| ops.into_iter().map(Ok).collect();
        assert_eq!(queue.run(2, &fine).unwrap(), 2);
    }

    #[test]
    fn a_hold_keeps_batches_back_until_it_is_dropped() {
        let queue: WriteQueue<u32, u32> = WriteQueue::default();
        let committed = AtomicUsize::new(0);
        let commit = |ops: Vec<u32>| {
            committed.fetch_add(ops.len(), Ordering::SeqCst);
            ops.into_iter().map(Ok).collect()
        };
        std::thread::scope(|s| {
            let hold = queue.hold();
            let (q, c) = (&queue, &commit);
            let writer = s.spawn(move || q.run(7, c).unwrap());
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert_eq!(committed.load(Ordering::SeqCst), 0);
            drop(hold);
            assert_eq!(writer.join().unwrap(), 7);
        });
        assert_eq!(committed.load(Ordering::SeqCst), 1);
    }
}
