//! Whether a sensor takes a content now (`ROLLOUT.md`, ROLLOUT-4): the one decision the
//! updater makes and `dcf rollout status` reports, defined here once.

use dcf_parser::SensorVersion;

use crate::plan::percent;
use crate::target::TargetMeta;

/// Where a sensor stands: what a sensor knows about itself when it looks at a content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SensorPlace {
    /// The channel it serves.
    pub channel: u32,
    /// Its build's version.
    pub version: SensorVersion,
    /// Its position in the fleet ([`crate::position`]).
    pub position: u32,
    /// The sequence it holds (its store's high-water mark): only a content above it is new.
    pub high_water: u64,
}

/// What a sensor does with one content target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Take it.
    Take,
    /// Another channel's content.
    OtherChannel,
    /// Not above what the sensor holds.
    NotNewer,
    /// Its rollout was halted.
    Halted,
    /// The share open to the sensor's track does not reach its position yet.
    NotYet {
        /// The sensor's track.
        track: String,
        /// The share open now, in basis points.
        open_bp: u32,
    },
}

impl core::fmt::Display for Admission {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Admission::Take => f.write_str("take it"),
            Admission::OtherChannel => f.write_str("another channel"),
            Admission::NotNewer => f.write_str("not newer than the content held"),
            Admission::Halted => f.write_str("rollout halted"),
            Admission::NotYet { track, open_bp } => {
                write!(f, "track `{track}` open to {} only", percent(*open_bp))
            }
        }
    }
}

/// Whether the sensor at `place` takes the content described by `meta` at `now`.
pub fn admission(meta: &TargetMeta, place: &SensorPlace, now: u64) -> Admission {
    if meta.channel != place.channel {
        return Admission::OtherChannel;
    }
    if meta.sequence <= place.high_water {
        return Admission::NotNewer;
    }
    if meta.halted.is_some() {
        return Admission::Halted;
    }
    let track = meta.plan.track_for(place.version);
    let open_bp = meta.plan.open_share(track, meta.approved_on(track), now);
    if place.position < open_bp {
        Admission::Take
    } else {
        Admission::NotYet {
            track: track.to_string(),
            open_bp,
        }
    }
}

/// Of the contents `metas`, the one the sensor takes now: the highest sequence it is
/// admitted to (a sensor that missed a wave skips straight to the newest it may have).
pub fn choose<'a, T>(
    metas: impl IntoIterator<Item = (T, &'a TargetMeta)>,
    place: &SensorPlace,
    now: u64,
) -> Option<(T, &'a TargetMeta)> {
    metas
        .into_iter()
        .filter(|(_, m)| admission(m, place, now) == Admission::Take)
        .max_by_key(|(_, m)| m.sequence)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::plan::{DEFAULT_TRACK, Plan};
    use crate::target::Halt;

    fn meta(sequence: u64, approved: u32) -> TargetMeta {
        TargetMeta {
            channel: 1,
            sequence,
            digest: String::new(),
            published_at: 0,
            plan: Plan::staged(1_000),
            approved: BTreeMap::from([(DEFAULT_TRACK.to_string(), approved)]),
            halted: None,
            rollback_of: None,
        }
    }

    fn place(position: u32, high_water: u64) -> SensorPlace {
        SensorPlace {
            channel: 1,
            version: SensorVersion {
                major: 2,
                minor: 0,
                patch: 0,
            },
            position,
            high_water,
        }
    }

    #[test]
    fn waves_admit_by_position_approval_and_time() {
        let m = meta(5, 1);
        assert_eq!(admission(&m, &place(99, 4), 1_000), Admission::Take);
        assert!(matches!(
            admission(&m, &place(100, 4), 1_000),
            Admission::NotYet { open_bp: 100, .. }
        ));
        // Before the start nothing is open; an approved wave whose time has not come is shut.
        assert!(matches!(
            admission(&m, &place(0, 4), 999),
            Admission::NotYet { open_bp: 0, .. }
        ));
        let m2 = meta(5, 2);
        assert!(matches!(
            admission(&m2, &place(500, 4), 1_000 + 3_600),
            Admission::NotYet { .. }
        ));
        assert_eq!(
            admission(&m2, &place(500, 4), 1_000 + 4 * 3_600),
            Admission::Take
        );
        assert_eq!(admission(&m, &place(0, 5), 1_000), Admission::NotNewer);
        let mut halted = m.clone();
        halted.halted = Some(Halt {
            at: 1,
            codes: vec![],
            reason: String::new(),
        });
        assert_eq!(admission(&halted, &place(0, 4), 1_000), Admission::Halted);
        let mut other = m;
        other.channel = 2;
        assert_eq!(
            admission(&other, &place(0, 4), 1_000),
            Admission::OtherChannel
        );
    }

    #[test]
    fn the_newest_admitted_content_is_chosen() {
        let (a, b) = (meta(5, 4), meta(6, 1));
        let all = [("a", &a), ("b", &b)];
        // Position 0 is in both first waves: the newer wins.
        assert_eq!(
            choose(all, &place(0, 4), 1_000 + 72 * 3_600).map(|c| c.0),
            Some("b")
        );
        // Position 5,000 has only the older one open.
        assert_eq!(
            choose(all, &place(5_000, 4), 1_000 + 72 * 3_600).map(|c| c.0),
            Some("a")
        );
        assert_eq!(
            choose(all, &place(5_000, 5), 1_000 + 72 * 3_600).map(|c| c.0),
            None
        );
    }
}
