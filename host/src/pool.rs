//! The host's one worker pool, behind every "a few at a time" of a run: EDDA prefetches,
//! rule evaluations, accounts, and the batches a rule hands over (`fetch-many`,
//! `http-get-many`, `tcp-probe-many`). At most `workers` threads work through the items,
//! results come back in the items' order, and one panic policy holds everywhere: a task that
//! panics (a bug in the host) becomes an error naming what it was doing, for that item alone,
//! never a silently missing result and never the end of the other items. Workers log within
//! the caller's span.

use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Applies `f` to every item with at most `workers` threads (one: in the caller's thread);
/// results keep the items' order. A panic in `f` is `Err("panicked while <what(item)>: …")`.
pub(crate) fn map<T, R>(
    items: &[T],
    workers: usize,
    what: impl Fn(&T) -> String + Sync,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<Result<R, String>>
where
    T: Sync,
    R: Send,
{
    let one = |item: &T| {
        std::panic::catch_unwind(AssertUnwindSafe(|| f(item))).map_err(|payload| {
            let why = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            tracing::error!("panicked while {}: {why}", what(item));
            format!("panicked while {}: {why}", what(item))
        })
    };
    let workers = workers.clamp(1, items.len().max(1));
    if workers == 1 {
        return items.iter().map(one).collect();
    }
    // The caller's span (a run's account) follows the work into the workers, so their logs
    // say whom they are for.
    let span = tracing::Span::current();
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<R, String>>>> =
        items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let _entered = span.enter();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = one(item);
                    *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                }
            });
        }
    });
    slots
        .into_iter()
        .zip(items)
        .map(|(slot, item)| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or_else(|| Err(format!("{} was never run", what(item))))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn answers_in_order_and_runs_concurrently() {
        let items: Vec<u64> = (0..32).collect();
        let (now, max) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let out = super::map(
            &items,
            16,
            |i| format!("item {i}"),
            |i| {
                let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(running, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(100));
                now.fetch_sub(1, Ordering::SeqCst);
                i * 2
            },
        );
        let doubled: Vec<Result<u64, String>> = items.iter().map(|i| Ok(i * 2)).collect();
        assert_eq!(out, doubled);
        let max = max.load(Ordering::SeqCst);
        assert!((2..=16).contains(&max), "{max} calls ran at once");
    }

    #[test]
    fn a_panic_fails_its_item_alone_naming_what_it_was_doing() {
        for workers in [1, 4] {
            let out = super::map(
                &[1, 2, 3],
                workers,
                |i| format!("fetching query {i}"),
                |i| {
                    assert!(*i != 2, "boom");
                    *i
                },
            );
            assert_eq!(out[0], Ok(1));
            assert_eq!(out[2], Ok(3));
            let err = out[1].clone().unwrap_err();
            assert!(
                err.starts_with("panicked while fetching query 2: boom"),
                "{err}"
            );
        }
    }
}
