//! Caps on open connections: one for the node, one per client address, and a
//! small reserve beyond the node's cap on which only health checks are answered.
//!
//! A connection is admitted when it is accepted, before a byte is read, and
//! holds its [`Permit`] until it closes, a WebSocket's until the socket closes.
//! The per-address cap counts the peer's address (an IPv6 peer by its /64, which
//! one host usually holds whole); peers inside `TRUSTED_PROXIES` (the load
//! balancer, whose connections carry many clients) are under the node's cap only.

use crate::config::Cidr;
use crate::metrics::metrics;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};

/// Connections beyond the node's cap on which `/healthz`, `/readyz` and
/// `/metrics` are still answered, so that a capped node is not restarted by
/// its liveness probe nor blind to its monitoring.
pub const HEALTH_RESERVE: usize = 32;

/// The node's cap when `MAX_CONNECTIONS` is unset: 20,000 idle sockets are about
/// 200 MiB (docs/PERFORMANCE.md), within a 512 MiB pod.
pub const DEFAULT_MAX_CONNECTIONS: usize = 20_000;

/// Descriptors left for everything but client connections: the database pool,
/// Redis, the SQLite and log files, the listener, and the health reserve's.
const DESCRIPTORS_KEPT: usize = 256 + HEALTH_RESERVE;

/// Why a connection was refused: the `reason` label of
/// `livesupport_http_connections_refused_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The node's cap: its health reserve was full too, or a request on a
    /// reserve connection was not a health check.
    Global,
    /// The client address's cap.
    PerIp,
}

impl Refusal {
    pub fn label(self) -> &'static str {
        match self {
            Refusal::Global => "global",
            Refusal::PerIp => "per_ip",
        }
    }

    /// Counts one refusal in the metrics.
    pub fn count(self) {
        metrics()
            .http_connections_refused
            .with_label_values(&[self.label()])
            .inc();
    }
}

/// What an accepted connection may do.
pub enum Admission {
    /// Everything.
    Full(Permit),
    /// Health checks only: the node is at its cap, the reserve had room.
    HealthOnly(Permit),
    Refused(Refusal),
}

/// The caps of one node and the connections counted against them.
pub struct ConnectionCaps {
    max_connections: usize,
    max_per_ip: usize,
    /// The load balancer's networks, exempt from the per-address cap.
    trusted_proxies: Vec<Cidr>,
    open: Mutex<OpenConnections>,
}

#[derive(Default)]
struct OpenConnections {
    full: usize,
    health_only: usize,
    /// Open connections by client address; absent means none.
    by_ip: HashMap<IpAddr, usize>,
}

impl ConnectionCaps {
    pub fn new(max_connections: usize, max_per_ip: usize, trusted_proxies: Vec<Cidr>) -> Arc<Self> {
        Arc::new(ConnectionCaps {
            max_connections,
            max_per_ip,
            trusted_proxies,
            open: Mutex::default(),
        })
    }

    /// Admits a connection from `peer`, or says why not.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Admission {
        let address = (!self.is_trusted(peer)).then(|| address_key(peer));
        let mut open = self.lock();
        if let Some(address) = address
            && open.by_ip.get(&address).copied().unwrap_or(0) >= self.max_per_ip
        {
            return Admission::Refused(Refusal::PerIp);
        }
        let health_only = if open.full < self.max_connections {
            open.full += 1;
            false
        } else if open.health_only < HEALTH_RESERVE {
            open.health_only += 1;
            true
        } else {
            return Admission::Refused(Refusal::Global);
        };
        if let Some(address) = address {
            *open.by_ip.entry(address).or_default() += 1;
        }
        metrics().http_connections_open.inc();
        let permit = Permit {
            caps: self.clone(),
            address,
            health_only,
        };
        if health_only {
            Admission::HealthOnly(permit)
        } else {
            Admission::Full(permit)
        }
    }

    fn is_trusted(&self, peer: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(peer))
    }

    fn lock(&self) -> MutexGuard<'_, OpenConnections> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One open connection's place under the caps, given back on drop.
pub struct Permit {
    caps: Arc<ConnectionCaps>,
    /// The address it counts against; `None` for a trusted proxy.
    address: Option<IpAddr>,
    health_only: bool,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.caps.lock();
        if self.health_only {
            open.health_only -= 1;
        } else {
            open.full -= 1;
        }
        if let Some(address) = self.address
            && let Some(count) = open.by_ip.get_mut(&address)
        {
            *count -= 1;
            if *count == 0 {
                open.by_ip.remove(&address);
            }
        }
        metrics().http_connections_open.dec();
    }
}

/// The address a peer is counted by: IPv4 (and IPv4-mapped IPv6) as is, IPv6 by
/// its /64, since a single host gets a whole /64 and could spread over it.
fn address_key(peer: IpAddr) -> IpAddr {
    match peer.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        v4 => v4,
    }
}

/// The node's cap: `configured`, else [`DEFAULT_MAX_CONNECTIONS`], but never
/// more than the open-files limit leaves for client connections, so that the
/// node never runs out of descriptors (it then could not even accept a health
/// check).
pub fn connection_cap(configured: Option<usize>, open_files_limit: Option<u64>) -> usize {
    let wanted = configured.unwrap_or(DEFAULT_MAX_CONNECTIONS);
    match open_files_limit {
        Some(limit) => {
            let budget = usize::try_from(limit)
                .unwrap_or(usize::MAX)
                .saturating_sub(DESCRIPTORS_KEPT)
                .max(1);
            wanted.min(budget)
        }
        None => wanted,
    }
}

/// The soft open-files limit (`RLIMIT_NOFILE`) of this process, read from
/// `/proc/self/limits`; `None` when unlimited or unknown (not Linux). Reading
/// the file keeps libc and `unsafe` out of the node.
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    soft_open_files(&limits)
}

fn soft_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_cap_stays_below_the_open_files_limit() {
        assert_eq!(connection_cap(None, None), DEFAULT_MAX_CONNECTIONS);
        assert_eq!(
            connection_cap(None, Some(1_048_576)),
            DEFAULT_MAX_CONNECTIONS
        );
        assert_eq!(connection_cap(None, Some(1024)), 1024 - DESCRIPTORS_KEPT);
        assert_eq!(
            connection_cap(Some(50_000), Some(20_000)),
            20_000 - DESCRIPTORS_KEPT
        );
        assert_eq!(connection_cap(Some(10), Some(1024)), 10);
        assert_eq!(connection_cap(None, Some(10)), 1);
    }

    #[test]
    fn the_soft_open_files_limit_is_read_from_proc_limits() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max processes             63459                63459                processes\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(soft_open_files(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(soft_open_files(unlimited), None);
    }

    #[test]
    fn ipv6_peers_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            address_key(ip("2001:db8::1")),
            address_key(ip("2001:db8::ffff:2"))
        );
        assert_ne!(
            address_key(ip("2001:db8::1")),
            address_key(ip("2001:db8:0:1::1"))
        );
        assert_eq!(address_key(ip("::ffff:10.0.0.1")), ip("10.0.0.1"));
    }

    #[test]
    fn over_the_cap_only_health_checks_then_nothing() {
        let caps = ConnectionCaps::new(1, 100, vec![]);
        let first = caps.admit(ip("10.0.0.1"));
        assert!(matches!(first, Admission::Full(_)));
        let reserve: Vec<_> = (0..HEALTH_RESERVE)
            .map(|_| caps.admit(ip("10.0.0.2")))
            .collect();
        assert!(
            reserve
                .iter()
                .all(|a| matches!(a, Admission::HealthOnly(_)))
        );
        assert!(matches!(
            caps.admit(ip("10.0.0.3")),
            Admission::Refused(Refusal::Global)
        ));
        drop(first);
        assert!(matches!(caps.admit(ip("10.0.0.3")), Admission::Full(_)));
    }

    #[test]
    fn one_address_is_capped_unless_it_is_a_trusted_proxy() {
        let caps = ConnectionCaps::new(100, 2, vec!["10.9.0.0/16".parse().unwrap()]);
        let held: Vec<_> = (0..2).map(|_| caps.admit(ip("10.0.0.1"))).collect();
        assert!(matches!(
            caps.admit(ip("10.0.0.1")),
            Admission::Refused(Refusal::PerIp)
        ));
        assert!(matches!(caps.admit(ip("10.0.0.2")), Admission::Full(_)));
        let proxied: Vec<_> = (0..5).map(|_| caps.admit(ip("10.9.1.1"))).collect();
        assert!(proxied.iter().all(|a| matches!(a, Admission::Full(_))));
        drop(held);
        assert!(matches!(caps.admit(ip("10.0.0.1")), Admission::Full(_)));
    }
}
