//! Small random distributions the simulators need.
//!
//! Written out here rather than pulling in `rand_distr`: four short functions
//! are easier to audit than a dependency, and the exact algorithms are part
//! of what "same seed, same feed" promises.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The generator every simulator uses: portable and stable across platforms
/// and `rand` releases, so a seed names the same feed everywhere.
pub(crate) type SimRng = ChaCha8Rng;

/// A standard normal draw (Box-Muller).
pub(crate) fn normal(rng: &mut SimRng) -> f64 {
    // 1 - u keeps the logarithm's argument in (0, 1].
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A log-normal draw with the given median and shape: waiting times, contract
/// values and fire power all have the long right tail a mean would hide.
pub(crate) fn lognormal(rng: &mut SimRng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// A Poisson count with mean `lambda`: how many independent events (births,
/// incidents, transactions) fall in one round.
pub(crate) fn poisson(rng: &mut SimRng, lambda: f64) -> u32 {
    if lambda.is_nan() || lambda <= 0.0 {
        return 0;
    }
    if lambda > 30.0 {
        // Normal approximation; Knuth's product would underflow.
        let x = lambda + lambda.sqrt() * normal(rng);
        return x.round().max(0.0) as u32;
    }
    let limit = (-lambda).exp();
    let mut k = 0;
    let mut p: f64 = rng.random();
    while p > limit {
        k += 1;
        p *= rng.random::<f64>();
    }
    k
}

/// An index drawn with probability proportional to `weights`, given their
/// running totals (`cumulative`, last element = total).
pub(crate) fn pick_cumulative(rng: &mut SimRng, cumulative: &[f64]) -> usize {
    let total = cumulative.last().copied().unwrap_or(0.0);
    let x = rng.random::<f64>() * total;
    cumulative
        .partition_point(|&c| c <= x)
        .min(cumulative.len().saturating_sub(1))
}

/// Running totals of `weights`, for [`pick_cumulative`].
pub(crate) fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    weights
        .into_iter()
        .scan(0.0, |acc, w| {
            *acc += w;
            Some(*acc)
        })
        .collect()
}

/// One of `items` with probability proportional to its weight.
pub(crate) fn pick<T: Copy>(rng: &mut SimRng, items: &[(T, f64)]) -> T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random::<f64>() * total;
    for &(item, w) in items {
        if x < w {
            return item;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

/// One step of a mean-reverting (Ornstein-Uhlenbeck) walk around 0: after
/// `dt` seconds with correlation time `tau` seconds, `x` keeps
/// `exp(-dt / tau)` of itself and the rest is fresh noise, so the walk's
/// spread stays `sigma` whatever the step. Feeds built on it drift like
/// weather (slowly, from one report to the next) instead of jumping.
pub(crate) fn mean_reverting(rng: &mut SimRng, x: f64, dt: f64, tau: f64, sigma: f64) -> f64 {
    let keep = (-dt / tau).exp();
    x * keep + sigma * (1.0 - keep * keep).sqrt() * normal(rng)
}

/// Rounds to `digits` decimals, as agencies publish their readings.
pub(crate) fn round_to(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn poisson_and_lognormal_have_the_intended_centre() {
        let mut rng = SimRng::seed_from_u64(1);
        for lambda in [0.3, 4.0, 80.0] {
            let n = 20_000;
            let mean = (0..n)
                .map(|_| f64::from(poisson(&mut rng, lambda)))
                .sum::<f64>()
                / n as f64;
            assert!(
                (mean - lambda).abs() < lambda * 0.05 + 0.02,
                "{lambda}: {mean}"
            );
        }
        let mut v: Vec<f64> = (0..10_001)
            .map(|_| lognormal(&mut rng, 10.0, 0.8))
            .collect();
        v.sort_by(f64::total_cmp);
        assert!((v[5_000] - 10.0).abs() < 0.5, "median {}", v[5_000]);
        assert_eq!(poisson(&mut rng, 0.0), 0);
        assert_eq!(poisson(&mut rng, f64::NAN), 0);
    }

    #[test]
    fn weighted_picks_follow_their_weights() {
        let mut rng = SimRng::seed_from_u64(2);
        let c = cumulative([1.0, 0.0, 3.0]);
        let mut counts = [0; 3];
        for _ in 0..4_000 {
            counts[pick_cumulative(&mut rng, &c)] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!(counts[2] > counts[0] * 2, "{counts:?}");
    }
}
