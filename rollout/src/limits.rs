//! Every limit of the distribution tools, in one place (`format-spec/ROLLOUT.md`, "Limits").

/// Shares are counted in basis points: 10,000 is the whole fleet.
pub const SHARE_SCALE: u32 = 10_000;
/// Waves one track of a plan may have.
pub const MAX_WAVES: usize = 16;
/// Cohorts (tracks besides the default one) a plan may have.
pub const MAX_COHORTS: usize = 16;
/// Bytes of a cohort name.
pub const MAX_NAME_LEN: usize = 64;
/// Bytes of a rollout plan file.
pub const MAX_PLAN_SIZE: u64 = 64 * 1024;
/// Bytes of one health report.
pub const MAX_REPORT_SIZE: u64 = 1024 * 1024;
/// Health reports read from one directory; more is refused rather than read without bound.
pub const MAX_REPORTS: usize = 1_000_000;
/// Load records one health report keeps (the most recent ones).
pub const MAX_LOAD_RECORDS: usize = 16;
/// Rules a health report lists matches for.
pub const MAX_REPORTED_RULES: usize = 65_536;
/// Sensors a gate failure names (the others are counted).
pub const MAX_NAMED_SENSORS: usize = 10;
/// Bytes of a gates file.
pub const MAX_GATES_SIZE: u64 = 64 * 1024;
