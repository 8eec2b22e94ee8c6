//! Work spread over threads with deterministic results: each item's result in the order of
//! the items, and on failure the error of the first failed item in that order.
//!
//! Stage: release (pure apart from the threads; [`super::render`] hashes and uploads the
//! site's files with it).

use crate::error::JobError;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The cores to spread work that computes on (hashing).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `f` of every item, on up to `threads` threads; the results in the order of `items`.
/// After a failure no further item is started; the error returned is that of the first
/// failed item in the order of `items`.
pub fn in_parallel<T: Sync, R: Send>(
    threads: usize,
    items: &[T],
    f: impl Fn(&T) -> Result<R, JobError> + Sync,
) -> Result<Vec<R>, JobError> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let work = || {
        let mut done = Vec::new();
        while !failed.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            let result = f(item);
            if result.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            done.push((i, result));
        }
        done
    };
    let threads = threads.min(items.len()).max(1);
    let mut done: Vec<(usize, Result<R, JobError>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut done = work();
        for w in workers {
            match w.join() {
                Ok(d) => done.extend(d),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        done
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_order_of_the_items() {
        let items: Vec<u64> = (0..1000).collect();
        let squares = in_parallel(4, &items, |x| Ok(x * x)).unwrap();
        assert_eq!(squares, items.iter().map(|x| x * x).collect::<Vec<_>>());
        assert_eq!(
            in_parallel(4, &[] as &[u64], |x| Ok(*x)).unwrap(),
            Vec::<u64>::new()
        );
    }

    #[test]
    fn the_error_is_that_of_the_first_failed_item() {
        let items: Vec<u64> = (0..200).collect();
        for _ in 0..20 {
            let err = in_parallel(8, &items, |x| match x {
                37 | 38 | 150 => Err(JobError::Definition(format!("item {x}"))),
                x => Ok(*x),
            })
            .unwrap_err();
            assert_eq!(
                err.to_string(),
                JobError::Definition("item 37".into()).to_string()
            );
        }
    }
}
