//! Visitor messages per ticket and per client IP, whatever socket or route they
//! come through, so that opening more sockets or reconnecting buys no budget
//! (governor's GCRA, keyed, in memory per node), and the keyed check every rate
//! limit of the service shares.
//!
//! Agents' messages count only against their connection's limit
//! (`realtime::reader`): they are authenticated, an office of agents shares one
//! IP, and a visitor flooding a ticket must not silence the agent answering it.
//!
//! Each node keeps its own counts: behind a load balancer without sticky
//! sessions, a client whose sockets land on N nodes may send up to N times a
//! limit. The alternative, a shared counter in Redis, would put a round trip in
//! front of every message and make sending depend on Redis, which is never the
//! record.

use crate::error::ApiError;
use crate::metrics::metrics;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::LazyLock;

/// The one clock of this node's rate limiters. Making one asks the CPU
/// whether its time-stamp counter can be used (`CPUID`, which a virtual
/// machine traps), so a limiter made per socket takes a clone of this one:
/// making three a socket took about a tenth of a node's CPU in a reconnect
/// storm.
static CLOCK: LazyLock<DefaultClock> = LazyLock::new(DefaultClock::default);

/// A clone of the rate limiters' clock (cheap), for a limiter made per socket.
pub fn clock() -> DefaultClock {
    CLOCK.clone()
}

/// A limit a minute, with a burst of as many (a quiet minute refills it all).
pub fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

/// Takes one unit from `limiter` for `key`, or says how long to wait; counts
/// a refusal in `livesupport_rate_limited_total{limit}`.
pub fn check_rate<K: Hash + Eq + Clone>(
    limit: &'static str,
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
) -> Result<(), ApiError> {
    limiter.check_key(key).map_err(|not_until| {
        metrics().rate_limited.with_label_values(&[limit]).inc();
        ApiError::RateLimited {
            retry_after: not_until.wait_time_from(limiter.clock().now()),
        }
    })
}

/// Visitor messages a minute, as configured.
#[derive(Debug, Clone, Copy)]
pub struct MessageRates {
    pub per_ticket: u32,
    pub per_ip: u32,
}

pub struct MessageLimits {
    /// Visitor messages per ticket, from every socket of the ticket together.
    per_ticket: DefaultKeyedRateLimiter<i64>,
    /// Visitor messages per client IP, on every ticket and route together.
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
}

impl MessageLimits {
    pub fn new(rates: MessageRates) -> Self {
        MessageLimits {
            per_ticket: RateLimiter::keyed(per_minute(rates.per_ticket)),
            per_ip: RateLimiter::keyed(per_minute(rates.per_ip)),
        }
    }

    /// Takes a visitor message on `ticket_id` from `ip` out of both budgets.
    pub fn check_message(&self, ticket_id: i64, ip: IpAddr) -> Result<(), ApiError> {
        check_rate("message_ticket", &self.per_ticket, &ticket_id)?;
        self.check_first_message(ip)
    }

    /// Takes a ticket's first message (sent with its creation) out of the IP's
    /// budget; the ticket is new, so it has its whole budget.
    pub fn check_first_message(&self, ip: IpAddr) -> Result<(), ApiError> {
        check_rate("message_ip", &self.per_ip, &ip)
    }

    /// Forgets keys idle long enough to be full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.per_ticket.retain_recent();
        self.per_ip.retain_recent();
    }
}
