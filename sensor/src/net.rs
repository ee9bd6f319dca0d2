//! CIDR operands.

use crate::prelude::*;

use core::net::IpAddr;

/// An address block: an address and a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl core::fmt::Display for Net {
    /// `addr/prefix`, the form [`Net::parse`] reads.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Net {
    /// Parses a CIDR operand as the spec defines it (`SPEC.md` CIDR, `LOADER.md` LOAD-10,
    /// `DIAGNOSTICS.md` VAL-OPD-4): an IPv4 or IPv6 address, optionally `/` and a decimal
    /// prefix length of at most 32 or 128 (one to three ASCII digits, no sign), and no address
    /// bit set beyond the prefix. The one CIDR rule: the loader, the validator and the Sigma
    /// importer all call this. Says why when it refuses.
    pub fn parse(text: &str) -> Result<Net, String> {
        let net = Net::parse_network(text)?;
        if net.host_bits_set() {
            return Err(format!(
                "the address has bits set beyond the /{} prefix; write the network address",
                net.prefix
            ));
        }
        Ok(net)
    }

    /// Parses a CIDR operand as [`Net::parse`] does, but accepts address bits beyond the
    /// prefix, which do not change which addresses the block holds (Sigma's `cidr` modifier
    /// ignores them). The importer writes such an operand as [`Net`]'s `Display`, the network
    /// address, so that the content holds what [`Net::parse`] accepts.
    pub fn parse_network(text: &str) -> Result<Net, String> {
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{addr}` is not an IPv4 or IPv6 address"))?;
        let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match len {
            None => max,
            Some(l) => {
                if l.is_empty() || l.len() > 3 || !l.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("prefix length `{l}` is not a number"));
                }
                let n: u8 = l
                    .parse()
                    .map_err(|_| format!("prefix length `{l}` is not a number"))?;
                if n > max {
                    return Err(format!("prefix length {n} is longer than {max}"));
                }
                n
            }
        };
        Ok(Net { addr, prefix })
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The address bits beyond the prefix, as a mask over the address as a `u128`.
    fn host_mask(&self) -> u128 {
        let max: u32 = if self.addr.is_ipv4() { 32 } else { 128 };
        let host_bits = max.saturating_sub(u32::from(self.prefix));
        1u128
            .checked_shl(host_bits)
            .map_or(u128::MAX, |v| v.wrapping_sub(1))
    }

    /// The address as a `u128` (an IPv4 address in the low 32 bits).
    fn bits(&self) -> u128 {
        match self.addr {
            IpAddr::V4(a) => u128::from(u32::from(a)),
            IpAddr::V6(a) => u128::from(a),
        }
    }

    /// Whether the address has a bit set beyond the prefix.
    pub fn host_bits_set(&self) -> bool {
        self.bits() & self.host_mask() != 0
    }

    /// The same block with the address bits beyond the prefix cleared.
    pub fn network(&self) -> Net {
        let bits = self.bits() & !self.host_mask();
        let addr = match self.addr {
            IpAddr::V4(_) => IpAddr::V4(u32::try_from(bits).unwrap_or(0).into()),
            IpAddr::V6(_) => IpAddr::V6(bits.into()),
        };
        Net {
            addr,
            prefix: self.prefix,
        }
    }

    /// Whether `ip` lies in the block. IPv4-mapped IPv6 addresses match IPv4 blocks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V4(net), IpAddr::V6(ip)) => ip
                .to_ipv4_mapped()
                .is_some_and(|ip| prefix_eq(&net.octets(), &ip.octets(), self.prefix)),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a.get(..full) != b.get(..full) {
        return false;
    }
    if rest == 0 {
        return true;
    }
    // The top `rest` bits.
    let mask = !(0xffu8 >> rest);
    match (a.get(full), b.get(full)) {
        (Some(x), Some(y)) => x & mask == y & mask,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_contain_what_they_should() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let n = Net::parse("10.0.0.0/8").unwrap();
        assert!(n.contains(ip("10.255.1.2")) && !n.contains(ip("11.0.0.1")));
        assert!(n.contains(ip("::ffff:10.1.2.3")));
        let n = Net::parse_network("192.168.1.77/20").unwrap();
        assert!(n.contains(ip("192.168.15.255")) && !n.contains(ip("192.168.16.0")));
        assert!(Net::parse("192.168.1.77/20").is_err());
        assert_eq!(n.network().to_string(), "192.168.0.0/20");
        assert_eq!(Net::parse(&n.network().to_string()), Ok(n.network()));
        let n = Net::parse("fe80::/10").unwrap();
        assert!(
            n.contains(ip("fe80::1")) && n.contains(ip("febf::1")) && !n.contains(ip("fec0::1"))
        );
        assert!(
            Net::parse("203.0.113.7")
                .unwrap()
                .contains(ip("203.0.113.7"))
        );
        assert!(Net::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in [
            "10.0.0.0/33",
            "10.0.0/8",
            "x",
            "10.0.0.0/",
            "::/129",
            "",
            "10.0.0.0/+8",
            "10.0.0.0/0008",
            "fe80::1/10",
        ] {
            assert!(Net::parse(bad).is_err(), "{bad}");
        }
    }
}
