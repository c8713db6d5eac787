//! IP networks and the public/non-public classification of addresses: what a fetch of an
//! outside URL (the server's media by URL, the crawler) may connect to. A name that resolves to
//! a private, loopback, link-local or otherwise special address is refused unless the operator
//! allows that network (SSRF: a hostile page or redirect must not reach internal services).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IP network (address and prefix length), such as `10.0.0.0/8` or `::1/128`.
///
/// Parsed from `ADDRESS/PREFIX` or a bare `ADDRESS` (a single host: `/32` or `/128`). Host bits
/// below the prefix are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// Why a text is not an [`IpNet`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid IP network {input:?}: {reason}")]
pub struct IpNetParseError {
    input: String,
    reason: &'static str,
}

impl IpNet {
    /// A network from an address and a prefix length; `None` when the prefix is longer than the
    /// address (32 for IPv4, 128 for IPv6).
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        (prefix <= max_prefix(addr)).then_some(Self { addr, prefix })
    }

    /// The address as given.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies in this network. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is
    /// taken as the IPv4 address it maps to.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(
                u128::from(net.to_bits()),
                u128::from(ip.to_bits()),
                32,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(net.to_bits(), ip.to_bits(), 128, self.prefix)
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = IpNetParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| IpNetParseError {
            input: s.to_owned(),
            reason,
        };
        let text = s.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| err("not an IP address"))?;
        let prefix = match prefix {
            None => max_prefix(addr),
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse().map_err(|_| err("prefix length out of range"))?
            }
            Some(_) => return Err(err("prefix length is not a number")),
        };
        Self::new(addr, prefix).ok_or_else(|| err("prefix length out of range"))
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// Whether the top `prefix` bits of two `width`-bit numbers are equal.
fn prefix_eq(a: u128, b: u128, width: u32, prefix: u8) -> bool {
    let prefix = u32::from(prefix).min(width);
    if prefix == 0 {
        return true;
    }
    let shift = width - prefix;
    (a >> shift) == (b >> shift)
}

/// Whether `ip` is in `net/prefix` (IPv4).
fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u8) -> bool {
    prefix_eq(
        u128::from(ip.to_bits()),
        u128::from(Ipv4Addr::from(net).to_bits()),
        32,
        prefix,
    )
}

/// Whether `ip` is in `net/prefix` (IPv6).
fn in_v6(ip: Ipv6Addr, net: [u16; 8], prefix: u8) -> bool {
    prefix_eq(ip.to_bits(), Ipv6Addr::from(net).to_bits(), 128, prefix)
}

/// Whether `ip` is a public (globally routable unicast) address that may be fetched from.
///
/// Not public: for IPv4, `0.0.0.0/8`, `10.0.0.0/8`, `100.64.0.0/10` (CGNAT), `127.0.0.0/8`,
/// `169.254.0.0/16`, `172.16.0.0/12`, `192.0.0.0/24`, the documentation ranges `192.0.2.0/24`,
/// `198.51.100.0/24` and `203.0.113.0/24`, `192.88.99.0/24` (6to4 relay), `192.168.0.0/16`,
/// `198.18.0.0/15` (benchmarking), `224.0.0.0/4` (multicast) and `240.0.0.0/4` (reserved, with
/// the broadcast address). For IPv6, everything outside `2000::/3` (so `::`, `::1`, `fc00::/7`,
/// `fe80::/10`, `ff00::/8`, the IPv4-compatible `::/96`, `100::/64`…) except that the
/// IPv4-mapped `::ffff:0:0/96` and the NAT64 `64:ff9b::/96` forms are judged by the IPv4
/// address they embed; inside `2000::/3`, `2001::/23` (IETF assignments, Teredo and
/// benchmarking among them), `2001:db8::/32` and `3fff::/20` (documentation) are not public,
/// and 6to4 `2002::/16` is judged by its embedded IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const NOT_PUBLIC: &[([u8; 4], u8)] = &[
        ([0, 0, 0, 0], 8),
        ([10, 0, 0, 0], 8),
        ([100, 64, 0, 0], 10),
        ([127, 0, 0, 0], 8),
        ([169, 254, 0, 0], 16),
        ([172, 16, 0, 0], 12),
        ([192, 0, 0, 0], 24),
        ([192, 0, 2, 0], 24),
        ([192, 88, 99, 0], 24),
        ([192, 168, 0, 0], 16),
        ([198, 18, 0, 0], 15),
        ([198, 51, 100, 0], 24),
        ([203, 0, 113, 0], 24),
        ([224, 0, 0, 0], 4),
        ([240, 0, 0, 0], 4),
    ];
    !NOT_PUBLIC
        .iter()
        .any(|&(net, prefix)| in_v4(ip, net, prefix))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let bits = ip.to_bits();
    // IPv4-mapped ::ffff:a.b.c.d and NAT64 64:ff9b::a.b.c.d reach the embedded IPv4 address.
    if in_v6(ip, [0, 0, 0, 0, 0, 0xffff, 0, 0], 96)
        || in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96)
    {
        return is_public_v4(Ipv4Addr::from_bits(low_u32(bits)));
    }
    // Only the global unicast block is public.
    if !in_v6(ip, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3) {
        return false;
    }
    if in_v6(ip, [0x2001, 0, 0, 0, 0, 0, 0, 0], 23)
        || in_v6(ip, [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32)
        || in_v6(ip, [0x3fff, 0, 0, 0, 0, 0, 0, 0], 20)
    {
        return false;
    }
    // 6to4 2002:AABB:CCDD::/48 carries the IPv4 address AA.BB.CC.DD.
    if in_v6(ip, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16) {
        return is_public_v4(Ipv4Addr::from_bits(low_u32(bits >> 80)));
    }
    true
}

/// The low 32 bits of `bits`.
fn low_u32(bits: u128) -> u32 {
    u32::try_from(bits & u128::from(u32::MAX)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifier() {
        let public = [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "172.15.255.255",
            "100.128.0.1",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700::1111",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ];
        let not_public = [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "198.19.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "::127.0.0.1",
            "::8.8.8.8",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "fc00::1",
            "fd12::1",
            "ff02::1",
            "100::1",
            "2001:db8::1",
            "2001::1",
            "2001:2::1",
            "3fff::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2002:a00:1::",
        ];
        for ip in public {
            assert!(is_public(ip.parse().expect(ip)), "{ip} should be public");
        }
        for ip in not_public {
            assert!(
                !is_public(ip.parse().expect(ip)),
                "{ip} should not be public"
            );
        }
    }

    #[test]
    fn ipnet_parsing() {
        let net: IpNet = "10.0.0.0/8".parse().expect("10/8");
        assert_eq!(net.prefix(), 8);
        assert!(net.contains("10.255.0.1".parse().expect("ip")));
        assert!(!net.contains("11.0.0.1".parse().expect("ip")));
        assert!(net.contains("::ffff:10.1.1.1".parse().expect("ip")));
        assert!(!net.contains("::1".parse().expect("ip")));
        assert_eq!(net.to_string(), "10.0.0.0/8");

        let net: IpNet = "::1/128".parse().expect("::1/128");
        assert!(net.contains("::1".parse().expect("ip")));
        assert!(!net.contains("::2".parse().expect("ip")));
        assert!(!net.contains("127.0.0.1".parse().expect("ip")));

        let net: IpNet = "127.0.0.1".parse().expect("bare");
        assert_eq!(net.prefix(), 32);
        assert!(net.contains("127.0.0.1".parse().expect("ip")));
        assert!(!net.contains("127.0.0.2".parse().expect("ip")));

        let net: IpNet = "fc00::/7".parse().expect("fc00::/7");
        assert!(net.contains("fdff::1".parse().expect("ip")));
        assert!(!net.contains("fe00::1".parse().expect("ip")));

        let net: IpNet = "::1".parse().expect("bare v6");
        assert_eq!(net.prefix(), 128);

        let all: IpNet = "0.0.0.0/0".parse().expect("/0");
        assert!(all.contains("1.2.3.4".parse().expect("ip")));
        assert!(!all.contains("::1".parse().expect("ip")));

        // Host bits below the prefix are ignored.
        let net: IpNet = "192.168.1.77/24".parse().expect("host bits");
        assert!(net.contains("192.168.1.1".parse().expect("ip")));

        for bad in [
            "10.0.0.0/33",
            "::/129",
            "x/8",
            "10.0.0.0/",
            "10.0.0.0/x",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "",
            "/8",
            "10.0.0/8",
            "fe80::1%eth0/64",
        ] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad:?} should not parse");
        }
        assert!(IpNet::new("::".parse().expect("ip"), 129).is_none());
    }
}
