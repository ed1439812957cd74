//! The bounded worker pool behind `http-get-many` and `tcp-probe-many`: a rule hands over a
//! batch of hundreds of targets and the host works through it with a fixed number of threads
//! (16 by default, as the original's thread pool), answering in the order it was asked. A
//! run over hundreds of domains thus takes seconds instead of hundreds of timeouts in a row.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Applies `f` to every item with at most `workers` threads; results keep the items' order.
pub(super) fn map_bounded<T, R, F>(items: &[T], workers: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let workers = workers.min(items.len());
    if workers <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            break mine;
                        };
                        mine.push((i, f(item)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            // A panic in host code is a bug; let it surface as one rather than as lost answers.
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn answers_in_order_and_runs_concurrently() {
        let items: Vec<u64> = (0..32).collect();
        let (now, max) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let out = super::map_bounded(&items, 16, |i| {
            let running = now.fetch_add(1, Ordering::SeqCst) + 1;
            max.fetch_max(running, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(100));
            now.fetch_sub(1, Ordering::SeqCst);
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        let max = max.load(Ordering::SeqCst);
        assert!((2..=16).contains(&max), "{max} calls ran at once");
    }
}
