//! Bounded parallelism with scoped threads: the registry round trips of one pipeline stage run
//! at the same time, and results come back in input order.

use std::sync::atomic::{AtomicUsize, Ordering};

/// How many requests one stage keeps in flight at most: enough for the twelve blob mounts of a
/// six-platform push to go out together, few enough to be polite to a registry.
pub const MAX_IN_FLIGHT: usize = 16;

/// Apply `f` to every item on up to `limit` threads; results in the order of `items`.
pub fn map<T: Sync, R: Send>(items: &[T], limit: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let workers = limit.clamp(1, items.len());
    let mut slots: Vec<Option<R>> = items.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(index) else { break };
                        done.push((index, f(item)));
                    }
                    done
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(done) => {
                    for (index, result) in done {
                        slots[index] = Some(result);
                    }
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    slots.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_input_order() {
        let items: Vec<u32> = (0..50).collect();
        let out = super::map(&items, 8, |n| {
            std::thread::sleep(std::time::Duration::from_micros(u64::from(50 - n)));
            n * 2
        });
        assert_eq!(out, items.iter().map(|n| n * 2).collect::<Vec<_>>());
    }
}
