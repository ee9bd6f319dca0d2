//! A sensor's stable position in its fleet (`ROLLOUT.md`, ROLLOUT-3).

use sha2::{Digest, Sha256};

use crate::limits::SHARE_SCALE;

/// The position of the sensor `device_id` among the sensors of `channel`, in basis points
/// (`0..10_000`): the first 8 bytes of SHA-256(`"dcf-rollout-position\0"`, channel as 4
/// big-endian bytes, device id) as a big-endian integer, modulo 10,000. A wave of share `s`
/// admits the sensors below `s`. The position depends on nothing but these, so it is the
/// same for every content of the channel: the first wave is the same canary sensors each
/// time, and a sensor's share never shrinks as waves open.
pub fn position(channel: u32, device_id: &str) -> u32 {
    let mut h = Sha256::new();
    h.update(b"dcf-rollout-position\0");
    h.update(channel.to_be_bytes());
    h.update(device_id.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // The remainder is below 10,000, so it fits.
    u32::try_from(u64::from_be_bytes(first) % u64::from(SHARE_SCALE)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_the_specs_formula() {
        // Computed independently (Python's hashlib) from ROLLOUT-3's definition.
        assert_eq!(position(291, "host-0"), 6222);
        assert_eq!(position(291, "host-1"), 7913);
        assert_eq!(position(291, "host-10"), 46);
        assert_eq!(position(291, "host-367"), 19);
    }

    #[test]
    fn positions_are_stable_and_spread() {
        assert_eq!(position(7, "sensor-1"), position(7, "sensor-1"));
        assert_ne!(position(7, "sensor-1"), position(8, "sensor-1"));
        // 10,000 ids: about 1 % below 100, about half below 5,000.
        let below = |share| {
            (0..10_000)
                .filter(|i| position(1, &format!("s{i}")) < share)
                .count()
        };
        let first = below(100);
        assert!((50..=150).contains(&first), "{first}");
        let half = below(5_000);
        assert!((4_700..=5_300).contains(&half), "{half}");
    }
}
