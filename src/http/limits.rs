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
    /// Logins per (IP, email): guessing one account's password.
    pub logins: DefaultKeyedRateLimiter<(IpAddr, String)>,
    /// Logins per IP, whatever the email: a flood of password hashes.
    pub login_ips: DefaultKeyedRateLimiter<IpAddr>,
    pub sockets: DefaultKeyedRateLimiter<IpAddr>,
}

/// Each limit a minute, as configured.
#[derive(Debug, Clone, Copy)]
pub struct PerMinute {
    pub tickets: u32,
    pub logins: u32,
    pub login_ips: u32,
    pub sockets: u32,
}

impl RateLimiters {
    pub fn new(limits: PerMinute) -> Self {
        let per_minute = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        RateLimiters {
            tickets: RateLimiter::keyed(per_minute(limits.tickets)),
            logins: RateLimiter::keyed(per_minute(limits.logins)),
            login_ips: RateLimiter::keyed(per_minute(limits.login_ips)),
            sockets: RateLimiter::keyed(per_minute(limits.sockets)),
        }
    }

    /// Forgets keys idle long enough to be full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.tickets.retain_recent();
        self.logins.retain_recent();
        self.login_ips.retain_recent();
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
