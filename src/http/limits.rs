//! The REST API's keyed rate limits (governor's GCRA, in memory per node).

use crate::error::ApiError;
use crate::metrics::metrics;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;

pub struct RateLimiters {
    pub tickets: DefaultKeyedRateLimiter<IpAddr>,
    pub logins: DefaultKeyedRateLimiter<(IpAddr, String)>,
    pub sockets: DefaultKeyedRateLimiter<IpAddr>,
}

impl RateLimiters {
    pub fn new(tickets_per_minute: u32, logins_per_minute: u32, sockets_per_minute: u32) -> Self {
        let per_minute = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        RateLimiters {
            tickets: RateLimiter::keyed(per_minute(tickets_per_minute)),
            logins: RateLimiter::keyed(per_minute(logins_per_minute)),
            sockets: RateLimiter::keyed(per_minute(sockets_per_minute)),
        }
    }

    /// Forgets keys idle long enough to be full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.tickets.retain_recent();
        self.logins.retain_recent();
        self.sockets.retain_recent();
    }
}

/// Takes one unit from `limiter` for `key`, or says how long to wait.
pub fn check_rate<K: Hash + Eq + Clone>(
    limit: &'static str,
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
) -> Result<(), ApiError> {
    limiter.check_key(key).map_err(|not_until| {
        metrics().rate_limited.with_label_values(&[limit]).inc();
        ApiError::RateLimited {
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
        }
    })
}
