//! Trusted proxies: which peers may tell us the client's address in `X-Forwarded-For`.
//!
//! Behind a reverse proxy every request comes from the proxy's address, so per-address login
//! throttling and logs would see one client. Only peers named in `AIGIS_TRUSTED_PROXIES` are
//! believed; anyone else could write any address into the header.

use std::net::IpAddr;
use std::str::FromStr;

/// An address or a CIDR block (`10.0.0.0/8`, `::1`, `192.168.1.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedNet {
    network: IpAddr,
    prefix: u8,
}

impl TrustedNet {
    /// Whether `ip` is inside the block. IPv4-mapped IPv6 peers count as their IPv4 address.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(*ip, IpAddr::V4),
            v4 => *v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => masked(u32::from(net).into(), 32, self.prefix) == masked(u32::from(ip).into(), 32, self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => masked(u128::from(net), 128, self.prefix) == masked(u128::from(ip), 128, self.prefix),
            _ => false,
        }
    }
}

fn masked(bits: u128, width: u8, prefix: u8) -> u128 {
    let host_bits = u32::from(width - prefix);
    if host_bits >= 128 { 0 } else { bits >> host_bits }
}

impl FromStr for TrustedNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network: IpAddr = addr.trim().parse().map_err(|_| format!("`{s}` is not an IP address or CIDR block"))?;
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= width).ok_or_else(|| format!("`{s}` has a bad prefix length"))?,
            None => width,
        };
        Ok(Self { network, prefix })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn blocks_and_single_addresses() {
        let net: TrustedNet = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(&ip("10.1.200.3")));
        assert!(!net.contains(&ip("10.2.0.1")));
        assert!(net.contains(&ip("::ffff:10.1.0.9")), "IPv4-mapped peers match IPv4 blocks");
        let one: TrustedNet = "127.0.0.1".parse().unwrap();
        assert!(one.contains(&ip("127.0.0.1")) && !one.contains(&ip("127.0.0.2")));
        let all: TrustedNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(&ip("8.8.8.8")));
        let v6: TrustedNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains(&ip("fd12::1")) && !v6.contains(&ip("fe80::1")));
        for bad in ["10.0.0.0/33", "nope", "::/129", "1.2.3.4/x"] {
            assert!(bad.parse::<TrustedNet>().is_err(), "{bad}");
        }
    }
}
