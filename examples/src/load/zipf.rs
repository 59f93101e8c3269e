//! Zipf-distributed choice of items: item `k` (from 0) is drawn with probability
//! proportional to `1 / (k + 1)^alpha`. Alpha 0 is uniform; alpha 1.5 puts about 38% of
//! draws on the first item.

use super::rng::Rng;

/// A sampler over `n` items.
#[derive(Clone, Debug)]
pub struct Zipf {
    n: u64,
    /// Cumulative probabilities; empty for the uniform case.
    cdf: Vec<f64>,
}

impl Zipf {
    /// A sampler over `n` items with exponent `alpha` (0: uniform).
    pub fn new(n: u64, alpha: f64) -> Zipf {
        assert!(n > 0, "at least one item");
        assert!(alpha >= 0.0, "alpha must not be negative");
        if alpha == 0.0 {
            return Zipf { n, cdf: Vec::new() };
        }
        let mut cdf = Vec::with_capacity(n as usize);
        let mut sum = 0.0;
        for k in 1..=n {
            sum += 1.0 / (k as f64).powf(alpha);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        Zipf { n, cdf }
    }

    /// One draw, in `0..n`.
    pub fn sample(&self, rng: &mut Rng) -> u64 {
        if self.cdf.is_empty() {
            return rng.below(self.n);
        }
        let u = rng.next_f64();
        (self.cdf.partition_point(|&c| c <= u) as u64).min(self.n - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_matches_the_exponent() {
        let z = Zipf::new(100_000, 1.5);
        let mut rng = Rng::new(1);
        let draws = 200_000;
        let first = (0..draws).filter(|_| z.sample(&mut rng) == 0).count();
        let share = first as f64 / draws as f64;
        assert!(
            (0.36..0.40).contains(&share),
            "first item drawn {share:.3} of the time"
        );
        let u = Zipf::new(10, 0.0);
        assert!((0..1000).all(|_| u.sample(&mut rng) < 10));
    }
}
