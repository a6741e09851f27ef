//! Group commit for what opening a socket reads and writes: concurrent
//! requests (for tickets, for session rows) are answered by one query for all
//! of them.
//!
//! A request goes out at once when a query slot is free (no timer, so a lone
//! socket waits for nothing); while every slot is busy, requests queue up, and
//! the next free slot takes all of them (up to `max_keys`) in one query. A
//! reconnect storm of thousands of sockets so costs a few dozen queries of a
//! thousand tickets instead of a query per socket, and never more than `slots`
//! of the store's connections at once. Requests for equal keys share one
//! answer: a request that must have its own (a row to insert) makes its key
//! unique.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// What a batch query answers: a value per key it found (a key it did not find
/// is answered `None`), or an error every request of the batch gets.
pub type Answer<K, V, E> = Result<HashMap<K, V>, E>;

/// Where one request's answer goes.
type Reply<V, E> = oneshot::Sender<Result<Option<V>, E>>;

type Request<K, V, E> = (K, Reply<V, E>);

/// A handle to a batcher; cheap to clone.
pub struct Batcher<K, V, E> {
    requests: mpsc::UnboundedSender<Request<K, V, E>>,
}

impl<K, V, E> std::fmt::Debug for Batcher<K, V, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

impl<K, V, E> Clone for Batcher<K, V, E> {
    fn clone(&self) -> Self {
        Batcher {
            requests: self.requests.clone(),
        }
    }
}

impl<K, V, E> Batcher<K, V, E>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + 'static,
    E: Clone + Send + 'static,
{
    /// Starts the batcher: `query` answers a batch of distinct keys; at most
    /// `slots` queries run at once, each of at most `max_keys` keys. It ends
    /// when every handle is dropped.
    pub fn start<F, Fut>(slots: usize, max_keys: usize, query: F) -> Self
    where
        F: Fn(Vec<K>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Answer<K, V, E>> + Send + 'static,
    {
        let (requests, mut rx) = mpsc::unbounded_channel::<Request<K, V, E>>();
        let query = Arc::new(query);
        let slots = Arc::new(Semaphore::new(slots.max(1)));
        let max_keys = max_keys.max(1);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                // Waiting here is what gathers the batch: requests queue up
                // while every slot is busy.
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let mut waiting: HashMap<K, Vec<Reply<V, E>>> = HashMap::new();
                waiting.entry(first.0).or_default().push(first.1);
                while waiting.len() < max_keys {
                    match rx.try_recv() {
                        Ok((key, reply)) => waiting.entry(key).or_default().push(reply),
                        Err(_) => break,
                    }
                }
                let query = query.clone();
                tokio::spawn(async move {
                    let keys: Vec<K> = waiting.keys().cloned().collect();
                    let answer = query(keys).await;
                    drop(slot);
                    for (key, replies) in waiting {
                        let value = match &answer {
                            Ok(found) => Ok(found.get(&key).cloned()),
                            Err(err) => Err(err.clone()),
                        };
                        for reply in replies {
                            let _ = reply.send(value.clone());
                        }
                    }
                });
            }
        });
        Batcher { requests }
    }

    /// The value of `key` (`None`: the query did not find it), read with
    /// whatever other keys are asked for meanwhile. `None` from a stopped
    /// batcher is told apart by the error: `Err(None)`.
    pub async fn get(&self, key: K) -> Result<Option<V>, Option<E>> {
        let (reply, answer) = oneshot::channel();
        self.requests.send((key, reply)).map_err(|_| None)?;
        match answer.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(Some(err)),
            Err(_) => Err(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tokio::sync::Notify;

    type Pending = std::pin::Pin<Box<dyn Future<Output = Answer<i64, i64, String>> + Send>>;

    /// A query that records each batch and, when `hold_first`, holds the first
    /// one until `gate` is notified.
    fn recording(
        batches: Arc<Mutex<Vec<Vec<i64>>>>,
        gate: Arc<Notify>,
        hold_first: bool,
    ) -> impl Fn(Vec<i64>) -> Pending + Send + Sync + 'static {
        move |mut keys: Vec<i64>| {
            keys.sort_unstable();
            let first = {
                let mut batches = batches.lock().unwrap();
                batches.push(keys.clone());
                batches.len() == 1
            };
            let gate = gate.clone();
            Box::pin(async move {
                if hold_first && first {
                    gate.notified().await;
                }
                Ok(keys
                    .into_iter()
                    .filter(|k| *k != 404)
                    .map(|k| (k, k * 10))
                    .collect())
            })
        }
    }

    #[tokio::test]
    async fn a_lone_request_is_answered_at_once() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let batcher = Batcher::start(1, 100, recording(batches.clone(), Arc::default(), false));
        assert_eq!(batcher.get(3).await, Ok(Some(30)));
        assert_eq!(batcher.get(404).await, Ok(None));
        assert_eq!(*batches.lock().unwrap(), vec![vec![3], vec![404]]);
    }

    #[tokio::test]
    async fn requests_made_while_the_slot_is_busy_share_one_query() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let gate = Arc::new(Notify::new());
        let batcher = Batcher::start(1, 100, recording(batches.clone(), gate.clone(), true));
        let first = tokio::spawn({
            let batcher = batcher.clone();
            async move { batcher.get(1).await }
        });
        // Wait until the first query is in flight, holding the only slot.
        while batches.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        let rest: Vec<_> = [2, 3, 3, 404]
            .into_iter()
            .map(|k| {
                let batcher = batcher.clone();
                tokio::spawn(async move { batcher.get(k).await })
            })
            .collect();
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
        assert_eq!(first.await.unwrap(), Ok(Some(10)));
        let answers: Vec<_> = futures_util::future::join_all(rest)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            answers,
            vec![Ok(Some(20)), Ok(Some(30)), Ok(Some(30)), Ok(None)]
        );
        assert_eq!(*batches.lock().unwrap(), vec![vec![1], vec![2, 3, 404]]);
    }

    #[tokio::test]
    async fn a_failed_query_fails_every_request_of_its_batch() {
        let batcher: Batcher<i64, i64, String> =
            Batcher::start(2, 10, |_keys| async { Err("down".to_owned()) });
        assert_eq!(batcher.get(1).await, Err(Some("down".to_owned())));
    }

    #[tokio::test]
    async fn batches_stay_within_max_keys() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let gate = Arc::new(Notify::new());
        let batcher = Batcher::start(1, 2, recording(batches.clone(), gate.clone(), true));
        let first = tokio::spawn({
            let batcher = batcher.clone();
            async move { batcher.get(0).await }
        });
        while batches.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        let rest: Vec<_> = (1..=5)
            .map(|k| {
                let batcher = batcher.clone();
                tokio::spawn(async move { batcher.get(k).await })
            })
            .collect();
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
        first.await.unwrap().unwrap();
        for task in rest {
            task.await.unwrap().unwrap();
        }
        let sizes: Vec<usize> = batches.lock().unwrap().iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![1, 2, 2, 1]);
    }
}
