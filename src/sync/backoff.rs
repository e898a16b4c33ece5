//! Waiting between reconnect attempts: doubling from one second to five minutes, with
//! jitter so a team's clients do not all knock at once after a server restart.

use std::time::Duration;

const FIRST: Duration = Duration::from_secs(1);
const LONGEST: Duration = Duration::from_secs(300);

/// The wait before attempt `failures + 1`.
pub fn delay(failures: u32) -> Duration {
    let exponential = FIRST.saturating_mul(1u32 << failures.min(16));
    let capped = exponential.min(LONGEST);
    // Between half and all of the capped delay.
    capped.mul_f64(0.5 + fastrand::f64() * 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_stays_bounded() {
        for failures in 0..40 {
            let d = delay(failures);
            let ceiling = FIRST.saturating_mul(1u32 << failures.min(16)).min(LONGEST);
            assert!(d <= ceiling && d >= ceiling / 2, "{failures}: {d:?}");
        }
        assert!(delay(0) <= Duration::from_secs(1));
        assert!(delay(30) >= Duration::from_secs(150));
    }
}
