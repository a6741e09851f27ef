//! What the machine allows one process: open files and local ports.

use crate::LoadError;

/// File descriptors kept beside the sockets (HTTP pool, runtime, stdio).
const SPARE_FDS: u64 = 64;

/// Raises the soft open-file limit to the hard one; returns the limit in force.
#[cfg(unix)]
pub fn raise_fd_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every platform
    Some(limit.rlim_cur as u64)
}

#[cfg(not(unix))]
pub fn raise_fd_limit() -> Option<u64> {
    None
}

/// Raises the limit and refuses a run that cannot have `sockets` open at once.
pub fn ensure_fd_limit(sockets: usize) -> Result<(), LoadError> {
    let needed = sockets as u64 + SPARE_FDS;
    match raise_fd_limit() {
        Some(limit) if limit < needed => Err(LoadError::new(format!(
            "the open-file limit is {limit} (hard limit included) but this run needs about {needed}: \
             raise it before starting, e.g. `ulimit -Hn {n}; ulimit -n {n}` as root, or LimitNOFILE={n} \
             in a systemd unit (the target node needs as many)",
            n = needed.next_power_of_two()
        ))),
        _ => Ok(()),
    }
}

/// The local port range for outgoing connections (Linux), e.g. 32768–60999.
fn local_port_range() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut parts = text.split_whitespace().map(|p| p.parse::<u64>().ok());
    let (low, high) = (parts.next()??, parts.next()??);
    Some(high.saturating_sub(low) + 1)
}

/// Refuses a run that needs more connections to one node than the local ports
/// of the source addresses allow.
pub fn ensure_ports(sockets_per_node: usize, source_ips: usize) -> Result<(), LoadError> {
    let Some(ports) = local_port_range() else {
        return Ok(());
    };
    let available = ports * source_ips.max(1) as u64;
    if sockets_per_node as u64 > available {
        return Err(LoadError::new(format!(
            "{sockets_per_node} sockets to one node need more than the {ports} local ports of \
             {} source address(es): give more with --source-ips 127.0.0.1,127.0.0.2,… \
             (every 127.x address is local), or widen net.ipv4.ip_local_port_range",
            source_ips.max(1)
        )));
    }
    Ok(())
}
