//! Deterministic random sub-streams and the few draws the generators need.
//!
//! Every file (and every outlet-day inside a CEMS file) gets its own ChaCha8 stream derived
//! from the seed, a tag and a path of numbers, so what is generated for one day or one outlet
//! never depends on what was generated before it or on any iteration order. Pure: no I/O,
//! no clock.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The random stream type used throughout the crate.
pub(crate) type Stream = ChaCha8Rng;

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fnv1a(tag: &str) -> u64 {
    tag.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// A stream for `(seed, tag, path...)`; equal inputs give equal streams on every platform.
pub(crate) fn stream(seed: u64, tag: &str, path: &[u64]) -> Stream {
    let mut h = splitmix(seed ^ fnv1a(tag));
    for &p in path {
        h = splitmix(h ^ splitmix(p));
    }
    ChaCha8Rng::seed_from_u64(h)
}

/// Uniform in `[lo, hi)`; `lo` when the range is empty.
pub(crate) fn uniform(rng: &mut Stream, lo: f64, hi: f64) -> f64 {
    if hi > lo {
        lo + (hi - lo) * rng.random::<f64>()
    } else {
        lo
    }
}

/// Log-uniform in `[lo, hi)` (sizes spanning orders of magnitude).
pub(crate) fn log_uniform(rng: &mut Stream, lo: f64, hi: f64) -> f64 {
    uniform(rng, lo.ln(), hi.ln()).exp()
}

/// A symmetric, roughly bell-shaped draw in `[-1, 1]` (mean of two uniforms, rescaled).
pub(crate) fn wobble(rng: &mut Stream) -> f64 {
    rng.random::<f64>() + rng.random::<f64>() - 1.0
}

/// True with probability `p` (no draw at all when `p <= 0`).
pub(crate) fn chance(rng: &mut Stream, p: f64) -> bool {
    p > 0.0 && (p >= 1.0 || rng.random::<f64>() < p)
}

/// An index drawn with the given weights (which need not sum to one).
pub(crate) fn weighted(rng: &mut Stream, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// One element of a non-empty slice, uniformly.
pub(crate) fn pick<T: Copy>(rng: &mut Stream, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// One element of `(item, weight)` pairs, by weight.
pub(crate) fn pick_weighted<T: Copy>(rng: &mut Stream, items: &[(T, f64)]) -> T {
    let weights: Vec<f64> = items.iter().map(|(_, w)| *w).collect();
    items[weighted(rng, &weights)].0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_inputs_give_same_stream_and_paths_separate_streams() {
        let a: u64 = stream(7, "cems", &[1, 2]).random();
        let b: u64 = stream(7, "cems", &[1, 2]).random();
        let c: u64 = stream(7, "cems", &[2, 1]).random();
        let d: u64 = stream(7, "sewage", &[1, 2]).random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn weighted_draw_respects_zero_weights() {
        let mut rng = stream(1, "w", &[]);
        for _ in 0..200 {
            assert_eq!(weighted(&mut rng, &[0.0, 1.0, 0.0]), 1);
        }
    }
}
