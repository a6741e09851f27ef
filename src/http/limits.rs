//! The REST API's keyed rate limits (governor's GCRA, in memory per node).

pub use crate::chat::limits::check_rate;
use crate::chat::limits::per_minute;
use governor::{DefaultKeyedRateLimiter, RateLimiter};
use std::net::IpAddr;

pub struct RateLimiters {
    pub tickets: DefaultKeyedRateLimiter<IpAddr>,
    /// Logins per (IP, email): guessing one account's password.
    pub logins: DefaultKeyedRateLimiter<(IpAddr, String)>,
    /// Logins per IP, whatever the email: a flood of password hashes.
    pub login_ips: DefaultKeyedRateLimiter<IpAddr>,
    pub sockets: DefaultKeyedRateLimiter<IpAddr>,
    /// Uploads per ticket, visitors' and agents' together.
    pub uploads: DefaultKeyedRateLimiter<i64>,
    /// Visitor uploads per client IP.
    pub upload_ips: DefaultKeyedRateLimiter<IpAddr>,
}

/// Each limit a minute, as configured.
#[derive(Debug, Clone, Copy)]
pub struct PerMinute {
    pub tickets: u32,
    pub logins: u32,
    pub login_ips: u32,
    pub sockets: u32,
    pub uploads: u32,
    pub upload_ips: u32,
}

impl RateLimiters {
    pub fn new(limits: PerMinute) -> Self {
        RateLimiters {
            tickets: RateLimiter::keyed(per_minute(limits.tickets)),
            logins: RateLimiter::keyed(per_minute(limits.logins)),
            login_ips: RateLimiter::keyed(per_minute(limits.login_ips)),
            sockets: RateLimiter::keyed(per_minute(limits.sockets)),
            uploads: RateLimiter::keyed(per_minute(limits.uploads)),
            upload_ips: RateLimiter::keyed(per_minute(limits.upload_ips)),
        }
    }

    /// Forgets keys idle long enough to be full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.tickets.retain_recent();
        self.logins.retain_recent();
        self.login_ips.retain_recent();
        self.sockets.retain_recent();
        self.uploads.retain_recent();
        self.upload_ips.retain_recent();
    }
}
