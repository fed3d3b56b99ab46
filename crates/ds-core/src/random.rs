//! The injected random source: the core never reaches for a global RNG, so tests can script it.

/// Uniform 32-bit random numbers. Implement it over the browser's `crypto.getRandomValues` or use
/// [`XorShift32`] with a seed.
pub trait RandomSource {
    fn next_u32(&mut self) -> u32;
}

/// A small deterministic generator (Marsaglia xorshift32). Good enough for back-off jitter, which
/// only needs to spread reconnecting clients apart.
#[derive(Debug, Clone)]
pub struct XorShift32 {
    state: u32,
}

impl XorShift32 {
    /// A zero seed would make xorshift emit zeros forever, so it is replaced by a fixed constant.
    pub fn new(seed: u32) -> Self {
        XorShift32 { state: if seed == 0 { 0x9E37_79B9 } else { seed } }
    }
}

impl RandomSource for XorShift32 {
    fn next_u32(&mut self) -> u32 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.state = x;
        x
    }
}

impl<F: FnMut() -> u32> RandomSource for F {
    fn next_u32(&mut self) -> u32 {
        self()
    }
}

/// Uniform integer in `[low, high]` (inclusive) from one draw; the modulo bias is irrelevant for
/// jitter of a few thousand milliseconds.
pub(crate) fn uniform_inclusive(random: &mut dyn RandomSource, low: u64, high: u64) -> u64 {
    if high <= low {
        return low;
    }
    low + u64::from(random.next_u32()) % (high - low + 1)
}
