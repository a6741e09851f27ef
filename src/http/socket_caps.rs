//! Caps on the visitor sockets open at once, per ticket and per client IP,
//! checked before the upgrade (over a cap: 429 with the error body). Each
//! admitted socket holds a [`SocketSlot`] for its whole life, released when the
//! slot drops: when the socket's task ends, however it ends, or with the upgrade
//! when it never completes. The counts are exact and forget a key at zero.
//!
//! Agents' sockets (a supporter's chat, the dashboard feed) are not counted: they
//! are authenticated, an office of agents behind one NAT shares an IP, and a
//! visitor filling a ticket's cap must not lock its agent out. Each node counts
//! its own sockets: behind a load balancer, a client whose sockets land on N
//! nodes may hold up to N times a cap.

use crate::error::ApiError;
use crate::metrics::metrics;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The `Retry-After` of a refusal: a socket slot frees when another socket of
/// the client closes, which no clock predicts.
pub const SOCKET_CAP_RETRY_AFTER: Duration = Duration::from_secs(5);

pub struct SocketCaps {
    per_ticket: usize,
    per_ip: usize,
    /// Open visitor sockets by ticket and by IP, under one lock so that a
    /// socket is counted in both or in neither.
    open: Mutex<OpenSockets>,
}

#[derive(Default)]
struct OpenSockets {
    by_ticket: HashMap<i64, usize>,
    by_ip: HashMap<IpAddr, usize>,
}

/// One visitor socket's place in the counts, given back on drop.
pub struct SocketSlot {
    caps: Arc<SocketCaps>,
    ticket_id: i64,
    ip: IpAddr,
}

impl SocketCaps {
    pub fn new(per_ticket: u32, per_ip: u32) -> Self {
        SocketCaps {
            per_ticket: per_ticket as usize,
            per_ip: per_ip as usize,
            open: Mutex::default(),
        }
    }

    /// A slot for a visitor socket on `ticket_id` from `ip`, or 429 when either
    /// already has its cap of open sockets (counted in
    /// `livesupport_rate_limited_total{limit="socket_ticket"|"socket_ip"}`).
    pub fn admit(self: &Arc<Self>, ticket_id: i64, ip: IpAddr) -> Result<SocketSlot, ApiError> {
        let mut open = self.lock();
        let full = if count(&open.by_ticket, &ticket_id) >= self.per_ticket {
            Some("socket_ticket")
        } else if count(&open.by_ip, &ip) >= self.per_ip {
            Some("socket_ip")
        } else {
            None
        };
        if let Some(limit) = full {
            metrics().rate_limited.with_label_values(&[limit]).inc();
            return Err(ApiError::RateLimited {
                retry_after: SOCKET_CAP_RETRY_AFTER,
            });
        }
        *open.by_ticket.entry(ticket_id).or_default() += 1;
        *open.by_ip.entry(ip).or_default() += 1;
        Ok(SocketSlot {
            caps: self.clone(),
            ticket_id,
            ip,
        })
    }

    /// The counts stay consistent even if a holder panicked: every change to
    /// them is one statement.
    fn lock(&self) -> MutexGuard<'_, OpenSockets> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = self.caps.lock();
        release(&mut open.by_ticket, self.ticket_id);
        release(&mut open.by_ip, self.ip);
    }
}

fn count<K: Hash + Eq>(counts: &HashMap<K, usize>, key: &K) -> usize {
    counts.get(key).copied().unwrap_or(0)
}

/// One socket fewer for `key`; a key at zero is forgotten.
fn release<K: Hash + Eq>(counts: &mut HashMap<K, usize>, key: K) {
    if let Entry::Occupied(mut entry) = counts.entry(key) {
        *entry.get_mut() -= 1;
        if *entry.get() == 0 {
            entry.remove();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7));
    const OTHER_IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 8));

    /// Open visitor sockets on `ticket_id` and from `ip`.
    fn open(caps: &SocketCaps, ticket_id: i64, ip: IpAddr) -> (usize, usize) {
        let open = caps.lock();
        (count(&open.by_ticket, &ticket_id), count(&open.by_ip, &ip))
    }

    #[test]
    fn a_ticket_holds_its_cap_of_sockets_and_a_dropped_slot_frees_one() {
        let caps = Arc::new(SocketCaps::new(2, 100));
        let first = caps.admit(1, IP).unwrap();
        let _second = caps.admit(1, OTHER_IP).unwrap();
        assert!(caps.admit(1, IP).is_err(), "the ticket is full");
        assert!(caps.admit(2, IP).is_ok(), "another ticket is not");
        drop(first);
        assert!(caps.admit(1, IP).is_ok(), "a closed socket frees its slot");
    }

    #[test]
    fn an_ip_holds_its_cap_of_sockets_on_every_ticket_together() {
        let caps = Arc::new(SocketCaps::new(100, 2));
        let slots = [caps.admit(1, IP).unwrap(), caps.admit(2, IP).unwrap()];
        assert!(caps.admit(3, IP).is_err(), "the IP is full");
        assert_eq!(open(&caps, 3, IP), (0, 2), "a refusal counts nothing");
        assert!(caps.admit(3, OTHER_IP).is_ok(), "another IP is not");
        drop(slots);
        assert_eq!(open(&caps, 1, IP), (0, 0));
        let open = caps.lock();
        assert!(
            open.by_ip.is_empty() && open.by_ticket.is_empty(),
            "keys at zero are forgotten"
        );
    }
}
