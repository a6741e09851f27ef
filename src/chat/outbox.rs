//! What the email outbox and the webhook outbox share: the wait before an
//! attempt that follows a failed one.

use std::time::Duration;

/// The longest wait between two attempts.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);

/// How long to wait after failed attempt `attempts` (1 = the first): `base`,
/// doubling with each attempt, at most [`MAX_RETRY_DELAY`].
pub fn retry_delay(base: Duration, attempts: i64) -> chrono::Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(20);
    let delay = base.saturating_mul(1 << doublings).min(MAX_RETRY_DELAY);
    chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_up_to_an_hour() {
        let base = Duration::from_secs(30);
        assert_eq!(retry_delay(base, 1), chrono::Duration::seconds(30));
        assert_eq!(retry_delay(base, 3), chrono::Duration::seconds(120));
        assert_eq!(retry_delay(base, 40), chrono::Duration::hours(1));
        assert_eq!(retry_delay(base, i64::MAX), chrono::Duration::hours(1));
    }
}
