//! The random sample of buckets, prefixes and keys a run visits, as the original drew it:
//! `k = min(max(1, visit_max − depth), max(1, n × visit_probability))` of `n` items (at least
//! one, fewer the deeper the prefix), never more than `n`. The generator is SplitMix64 seeded
//! from the config's `seed`, so a test or an operator reproducing a run gets the same sample;
//! without one the seed comes from the run's window, so successive runs visit different keys.

/// A small, fast, seedable generator (SplitMix64); statistical quality is ample for sampling.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator with this seed.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0), by the multiply-shift method.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// The seed of a run without a configured one: both ends of the window, mixed.
pub fn window_seed(since_ms: u64, until_ms: u64) -> u64 {
    SplitMix64::new(since_ms.rotate_left(32) ^ until_ms).next_u64()
}

/// Draws samples with the config's probability and maximum.
#[derive(Debug, Clone)]
pub struct Sampler {
    rng: SplitMix64,
    probability: f64,
    max: u64,
}

impl Sampler {
    /// A sampler with a seed, `visit_probability` and `visit_max`.
    pub fn new(seed: u64, probability: f64, max: u64) -> Sampler {
        Sampler {
            rng: SplitMix64::new(seed),
            probability,
            max,
        }
    }

    /// How many of `n` items to visit at prefix depth `depth` (the number of `/` in it).
    pub fn size(&self, n: usize, depth: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let by_depth = self.max.saturating_sub(depth as u64).max(1) as f64;
        let by_share = (n as f64 * self.probability).max(1.0);
        (by_depth.min(by_share) as usize).min(n)
    }

    /// A random sample of `population` of [`Sampler::size`], in the population's order.
    pub fn sample<T: Clone>(&mut self, population: &[T], depth: usize) -> Vec<T> {
        let k = self.size(population.len(), depth);
        let mut indices: Vec<usize> = (0..population.len()).collect();
        // A partial Fisher–Yates shuffle: the first k places are a uniform sample.
        for i in 0..k {
            let j = i + self.rng.below(indices.len() - i);
            indices.swap(i, j);
        }
        let mut chosen = indices[..k].to_vec();
        chosen.sort_unstable();
        chosen.into_iter().map(|i| population[i].clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_originals_formula() {
        let s = Sampler::new(1, 0.1, 5);
        assert_eq!(s.size(0, 0), 0);
        assert_eq!(s.size(3, 0), 1, "at least one");
        assert_eq!(s.size(30, 0), 3, "a tenth");
        assert_eq!(s.size(1000, 0), 5, "at most visit_max");
        assert_eq!(s.size(1000, 3), 2, "fewer per level");
        assert_eq!(s.size(1000, 9), 1, "never none");
        assert_eq!(
            Sampler::new(1, 30.0, 5).size(3, 0),
            3,
            "never more than there are"
        );
    }

    #[test]
    fn a_seed_gives_the_same_sample_and_samples_are_distinct_and_ordered() {
        let population: Vec<u32> = (0..100).collect();
        let draw = |seed| Sampler::new(seed, 0.1, 5).sample(&population, 0);
        let a = draw(42);
        assert_eq!(a, draw(42));
        assert_eq!(a.len(), 5);
        assert!(a.windows(2).all(|w| w[0] < w[1]), "{a:?}");
        assert_ne!(a, draw(43));
    }

    #[test]
    fn every_item_can_be_drawn() {
        let population: Vec<u32> = (0..10).collect();
        let mut seen = [false; 10];
        let mut s = Sampler::new(7, 0.1, 5);
        for _ in 0..200 {
            for i in s.sample(&population, 0) {
                seen[i as usize] = true;
            }
        }
        assert!(seen.iter().all(|&s| s), "{seen:?}");
    }

    #[test]
    fn successive_windows_give_different_seeds() {
        let hour = 3_600_000;
        assert_ne!(window_seed(0, hour), window_seed(hour, 2 * hour));
        assert_eq!(window_seed(hour, 2 * hour), window_seed(hour, 2 * hour));
    }
}
