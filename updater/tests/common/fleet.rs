//! A simulated fleet (`ROLLOUT.md`, ROLLOUT-8): thousands of real sensors (the dcf loader and
//! interpreter, each with its own TUF updater and datastore) polling a repository served on
//! 127.0.0.1, evaluating field traffic and writing health reports, while the release owner's
//! automatic job runs `dcf rollout advance` over those reports. Time is simulated (the plan's
//! clock); every loop is bounded by the schedule it is given.

use std::collections::BTreeMap;
use std::path::PathBuf;

use dcf_events::value::{OwnedValue, borrow_values};
use dcf_rollout::gates::Gates;
use dcf_rollout::plan::Plan;
use dcf_rollout::repo::{Expiries, RepoPaths};
use dcf_rollout::report::read_reports;
use dcf_rollout::rollout::{self, Decision};
use dcf_sensor::{Event, Scratch, Sensor};
use dcf_test_support::StaticServer;
use dcf_updater::{Health, Outcome, PooledTransport, Slot, Updater, UpdaterConfig};
use futures_util::StreamExt as _;

use super::*;

/// A sensor of the fleet.
pub struct SimSensor {
    /// Its device id.
    pub device: String,
    /// Its build (`"7.11"` or `"7.12"`).
    pub build: &'static str,
    sensor: Sensor,
    updater: Updater,
    health: Health,
    cursor: usize,
    /// Every sequence it fetched (loaded or refused), with when.
    pub fetched: BTreeMap<u64, u64>,
}

/// Field traffic for one build: events as its interface delivers them.
type Traffic = Vec<(u32, Vec<OwnedValue>)>;

/// The fleet, its repository and the release owner's side.
pub struct Fleet {
    /// The sensors.
    pub sensors: Vec<SimSensor>,
    /// The repository.
    pub paths: RepoPaths,
    server: StaticServer,
    reports: PathBuf,
    state: PathBuf,
    traffic: [Traffic; 2],
    events_per_tick: usize,
    runtimes: Vec<tokio::runtime::Runtime>,
    chunk: usize,
    /// The gates the automatic job applies.
    pub gates: Gates,
}

/// What one tick did across the fleet.
#[derive(Debug, Default)]
pub struct Tick {
    /// Sensors that took a content, by sequence.
    pub updated: BTreeMap<u64, usize>,
    /// Sensors that refused one, by (sequence, code).
    pub refused: BTreeMap<(u64, String), usize>,
    /// Cycles that failed before the loader (E61xx), by code.
    pub failed: BTreeMap<String, usize>,
}

/// The field traffic: the bundled benign events, plus one kind the benign set lacks (a
/// backup agent under Program Files that runs `cmd.exe` for its jobs, one event in 20).
fn field_traffic(build: &str) -> Traffic {
    let text = std::fs::read_to_string(dcf_test_support::repo_root().join("examples/benign.jsonl"))
        .unwrap();
    let mut events = dcf_events::test_events::parse_events(&text).unwrap();
    let agent = dcf_events::test_events::parse_events(
        r#"{"template": "process_creation", "fields": {"image": "C:\\Windows\\System32\\cmd.exe", "command_line": "cmd.exe /c C:\\ProgramData\\Agent\\job.bat", "parent_image": "C:\\Program Files\\Backup Agent\\agent.exe", "user": "NT AUTHORITY\\SYSTEM", "pid": 7001, "parent_pid": 7000}}"#,
    )
    .unwrap();
    let interface = manifest(build);
    let mut out = Vec::new();
    let mut push = |e: &dcf_events::test_events::TestEvent| {
        let t = dcf_events::test_events::resolve_template(&interface, &e.template).unwrap();
        let (values, _) = dcf_events::test_events::field_array(t, e).unwrap();
        out.push((t.id, values));
    };
    for (i, e) in events.drain(..).enumerate() {
        push(&e);
        if i % 19 == 18 {
            push(&agent[0]);
        }
    }
    out
}

impl Fleet {
    /// A fleet of `n` sensors (one in `legacy_every` of build 7.11, the rest 7.12), each
    /// evaluating `events_per_tick` events per tick, against a new repository.
    pub fn new(name: &str, n: usize, legacy_every: usize, events_per_tick: usize) -> Fleet {
        let paths = new_repo(name);
        let server = StaticServer::start(&paths.dir).unwrap();
        // Ten thousand datastores and reports: in memory where the system has a tmpfs (the
        // sensors' own disks, simulated), else beside the repository.
        let shm = std::path::Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.join(format!("dcf-fleet-{}-{name}", std::process::id()))
        } else {
            paths.dir.parent().unwrap().join("fleet")
        };
        let _ = std::fs::remove_dir_all(&base);
        let reports = base.join("reports");
        std::fs::create_dir_all(&reports).unwrap();
        let root = std::fs::read(paths.root()).unwrap();
        // The sensors run in lanes, one per core: each lane a runtime that lives as long as
        // the fleet and an HTTP client whose connections belong to that runtime.
        let lanes = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, 4);
        let chunk = n.div_ceil(lanes).max(1);
        let transports: Vec<PooledTransport> = (0..lanes)
            .map(|_| PooledTransport::new(std::time::Duration::from_secs(30)).unwrap())
            .collect();
        let runtimes = (0..lanes)
            .map(|_| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
            })
            .collect();
        let metadata: url::Url = server.url("metadata/").parse().unwrap();
        let targets: url::Url = server.url("targets/").parse().unwrap();
        let sensors = (0..n)
            .map(|i| {
                let build = if i % legacy_every == 0 {
                    "7.11"
                } else {
                    "7.12"
                };
                let device = format!("sensor-{i:05}");
                let config = UpdaterConfig::new(
                    root.clone(),
                    metadata.clone(),
                    targets.clone(),
                    base.join("state").join(&device),
                    &device,
                    CHANNEL,
                );
                SimSensor {
                    health: Health::new(&device, &format!("{build}.0"), CHANNEL),
                    updater: Updater::with_transport(config, transports[i / chunk].clone())
                        .unwrap(),
                    sensor: sensor(build),
                    build,
                    device,
                    cursor: i,
                    fetched: BTreeMap::new(),
                }
            })
            .collect();
        Fleet {
            sensors,
            paths,
            server,
            reports,
            state: base,
            traffic: [field_traffic("7.11"), field_traffic("7.12")],
            events_per_tick,
            runtimes,
            chunk,
            gates: Gates::default(),
        }
    }

    /// Publishes `bytes` with `plan` at simulated time `t`.
    pub fn publish(&self, bytes: &[u8], plan: Plan, t: u64) {
        rollout::publish(&self.paths, bytes, plan, t, &Expiries::default()).unwrap();
    }

    /// One tick at simulated time `t`: every sensor runs an update cycle, evaluates its
    /// events and writes its health report.
    pub fn tick(&mut self, t: u64) -> Tick {
        let traffic = &self.traffic;
        let per_tick = self.events_per_tick;
        let reports = &self.reports;
        // A thread per lane: the cycles are independent, and most of their time is
        // verification work that one thread would serialise.
        let runtimes = &self.runtimes;
        let outcomes: Vec<Result<Outcome, dcf_updater::UpdateError>> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = self
                    .sensors
                    .chunks_mut(self.chunk)
                    .zip(runtimes)
                    .map(|(sensors, runtime)| {
                        scope.spawn(move || {
                            runtime.block_on(async {
                                futures_util::stream::iter(sensors.iter_mut())
                                    .map(|s| s.cycle(t, traffic, per_tick, reports))
                                    .buffer_unordered(32)
                                    .collect::<Vec<_>>()
                                    .await
                            })
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap())
                    .collect()
            });
        let mut tick = Tick::default();
        let mut first_failure = None;
        for o in outcomes {
            match o {
                Ok(Outcome::Updated { sequence }) => {
                    *tick.updated.entry(sequence).or_default() += 1
                }
                Ok(Outcome::Refused { sequence, code, .. }) => {
                    *tick.refused.entry((sequence, code)).or_default() += 1;
                }
                Ok(Outcome::Current { .. }) => {}
                Err(e) => {
                    *tick.failed.entry(e.code.as_str().to_string()).or_default() += 1;
                    first_failure.get_or_insert(e);
                }
            }
        }
        // No cycle of a healthy repository on a loopback server fails.
        assert!(first_failure.is_none(), "{first_failure:?} {tick:?}");
        tick
    }

    /// The release owner's automatic job at simulated time `t`: `dcf rollout advance` over
    /// the reports.
    pub fn advance(&self, t: u64) -> Decision {
        let reports = read_reports(&self.reports).unwrap();
        assert!(reports.unreadable.is_empty(), "{:?}", reports.unreadable);
        rollout::advance(
            &self.paths,
            CHANNEL,
            &reports.reports,
            &self.gates,
            t,
            &Expiries::default(),
        )
        .unwrap()
        .0
    }

    /// How many sensors hold each sequence.
    pub fn holding(&self) -> BTreeMap<u64, usize> {
        let mut out = BTreeMap::new();
        for s in &self.sensors {
            *out.entry(s.sensor.current_sequence()).or_default() += 1;
        }
        out
    }

    /// Sensors that fetched sequence `sequence` (loaded or refused it).
    pub fn exposed_to(&self, sequence: u64) -> usize {
        self.sensors
            .iter()
            .filter(|s| s.fetched.contains_key(&sequence))
            .count()
    }

    /// HTTP requests the repository served.
    pub fn requests(&self) -> u64 {
        self.server.requests()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // Ten thousand datastores: leave no scratch behind.
        let _ = std::fs::remove_dir_all(&self.state);
        if let Some(base) = self.paths.dir.parent() {
            let _ = std::fs::remove_dir_all(base);
        }
    }
}

impl SimSensor {
    /// One tick of this sensor: an update cycle, its events, its report.
    async fn cycle(
        &mut self,
        t: u64,
        traffic: &[Traffic; 2],
        per_tick: usize,
        reports: &std::path::Path,
    ) -> Result<Outcome, dcf_updater::UpdateError> {
        let outcome = self
            .updater
            .check(Slot::Sensor(&self.sensor), &mut self.health, t)
            .await;
        if let Ok(Outcome::Updated { sequence } | Outcome::Refused { sequence, .. }) = &outcome {
            self.fetched.entry(*sequence).or_insert(t);
        }
        self.evaluate(&traffic[usize::from(self.build == "7.12")], per_tick);
        std::fs::write(
            reports.join(format!("{}.json", self.device)),
            self.health.report(t).to_json(),
        )
        .unwrap();
        outcome
    }

    fn evaluate(&mut self, traffic: &Traffic, n: usize) {
        let mut scratch = Scratch::new();
        let mut out = Vec::new();
        for _ in 0..n {
            let (template, values) = &traffic[self.cursor % traffic.len()];
            self.cursor = self.cursor.wrapping_add(7);
            let fields = borrow_values(values);
            let event = Event {
                template: *template,
                fields: &fields,
            };
            out.clear();
            let start = std::time::Instant::now();
            let result = self.sensor.evaluate(&event, &mut scratch, &mut out);
            let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            let steps = scratch.steps();
            match &result {
                Ok(ruleset) => self
                    .health
                    .record_evaluation(ruleset, Ok(&out), steps, nanos),
                Err(e) => {
                    if let Some(ruleset) = self.sensor.active() {
                        self.health
                            .record_evaluation(&ruleset, Err(e), steps, nanos);
                    }
                }
            }
        }
    }
}

/// A rule the field never triggers (the good update adds it).
const QUIET_RULE: &str = r#"
rules:
  - id: 0f4e8c2a-7b1d-4e6f-9a3c-2d5b8e1f4a70
    title: Certutil downloads a file
    author: dcf detection engineering
    template: process_creation
    severity: high
    action: detect
    condition:
      and:
        - field: image
          ends_with: '\certutil.exe'
        - field: command_line
          contains: ['-urlcache', '/urlcache']
"#;

/// A rule reading a field only build 7.12 supplies: Channel File 291's failure when the gate
/// checks the 7.12 manifest alone and the content still targets 7.11.
const FIELD_21_RULE: &str = r#"
rules:
  - id: 9b7e2d14-3c5a-4f8e-b1d6-7a0c4e9f2b35
    title: Named pipe client impersonated at delegate level
    author: dcf detection engineering
    template: named_pipe_ipc
    severity: high
    action: detect
    condition:
      field: impersonation_level
      equals: delegate
"#;

/// A block rule that the backup agent of the field (one event in 20) triggers.
const NOISY_RULE: &str = r#"
rules:
  - id: 2a6d9f3b-8e1c-4b7a-9d5e-6c3f0a8b1e94
    title: Command shell started by a program under Program Files
    author: dcf detection engineering
    template: process_creation
    severity: high
    action: block
    condition:
      and:
        - field: image
          ends_with: '\cmd.exe'
        - field: parent_image
          starts_with: 'C:\Program Files\'
"#;

/// What the scenarios measured.
#[derive(Debug)]
pub struct Figures {
    /// Sensors in the fleet, and how many of build 7.11.
    pub sensors: usize,
    /// Of which build 7.11 (staged on their own in the good rollout).
    pub legacy: usize,
    /// Sensors in the first wave (position below 1 %).
    pub first_wave: usize,
    /// Good rollout: simulated hours from publishing until every sensor ran it.
    pub good_hours_to_full: u64,
    /// Good rollout: sensors running it before the second wave opened.
    pub good_exposed_before_wave_2: usize,
    /// Missing-field content: sensors that fetched it (loaded or refused).
    pub field_exposed: usize,
    /// Missing-field content: sensors of build 7.11 that refused it (E3102).
    pub field_refusals: usize,
    /// Missing-field content: simulated hours from publishing to the automatic halt.
    pub field_hours_to_halt: u64,
    /// Missing-field content: the gates that halted it.
    pub field_halt_codes: Vec<String>,
    /// Noisy block rule: sensors that ran it.
    pub noisy_exposed: usize,
    /// Noisy block rule: simulated hours from publishing to the automatic halt.
    pub noisy_hours_to_halt: u64,
    /// Noisy block rule: the gates that halted it.
    pub noisy_halt_codes: Vec<String>,
    /// Update cycles run in all, and the HTTP requests the repository served.
    pub cycles: u64,
    /// HTTP requests served.
    pub requests: u64,
    /// Wall-clock seconds for everything.
    pub seconds: f64,
}

fn halted_codes(d: &Decision) -> Vec<String> {
    match d {
        Decision::Halted { failures } => failures
            .iter()
            .map(|f| f.code.as_str().to_string())
            .collect(),
        other => panic!("expected a halt, got {other:?}"),
    }
}

/// Simulated hours from publishing sequence `sequence` to its halt, as the signed metadata
/// records them.
fn hours_to_halt(fleet: &Fleet, sequence: u64) -> u64 {
    let contents =
        dcf_rollout::repo::contents(&dcf_rollout::repo::load(&fleet.paths).unwrap()).unwrap();
    let meta = &contents
        .iter()
        .find(|(_, m)| m.sequence == sequence)
        .unwrap()
        .1;
    (meta.halted.as_ref().unwrap().at - meta.published_at) / 3_600
}

/// The automatic job's answer to a halt: roll back to the last good content.
fn roll_back(fleet: &Fleet, t: u64) -> u64 {
    let (_, meta) = rollout::rollback(
        &fleet.paths,
        CHANNEL,
        &release_key(),
        "halted by a health gate",
        t,
        &Expiries::default(),
        &|_| Ok(()),
    )
    .unwrap();
    meta.sequence
}

/// Runs the three rollouts on a fleet of `n` sensors (a quarter of build 7.11), each
/// evaluating `events` events per tick, checking every promise on the way.
pub fn run_scenarios(n: usize, events: usize) -> Figures {
    let started = std::time::Instant::now();
    let hour = 3_600;
    let mut fleet = Fleet::new("fleet", n, 4, events);
    let mut cycles = 0u64;
    let first_wave: Vec<bool> = fleet
        .sensors
        .iter()
        .map(|s| dcf_rollout::position(CHANNEL, &s.device) < 100)
        .collect();
    let first_wave_count = first_wave.iter().filter(|f| **f).count();
    let legacy = fleet.sensors.iter().filter(|s| s.build == "7.11").count();
    let legacy_first = fleet
        .sensors
        .iter()
        .zip(&first_wave)
        .filter(|(s, f)| s.build == "7.11" && **f)
        .count();

    // The fleet runs sequence 1.
    let mut t = NOW;
    fleet.publish(&example(1), Plan::immediate(t), t);
    fleet.tick(t);
    cycles += n as u64;
    assert_eq!(fleet.holding(), BTreeMap::from([(1, n)]));

    // A good update, staged; build 7.11 on its own schedule.
    t += hour;
    let start = t;
    let mut plan = Plan::staged(start);
    plan.cohorts.push(dcf_rollout::plan::Cohort {
        name: "legacy".into(),
        sensor_min: dcf_parser::SensorVersion {
            major: 7,
            minor: 11,
            patch: 0,
        },
        sensor_max: dcf_parser::SensorVersion {
            major: 7,
            minor: 11,
            patch: u16::MAX,
        },
        waves: vec![
            dcf_rollout::plan::Wave {
                share_bp: 100,
                after_secs: 0,
            },
            dcf_rollout::plan::Wave {
                share_bp: 10_000,
                after_secs: 72 * hour,
            },
        ],
    });
    fleet.publish(
        &sign(compile(2, &[QUIET_RULE], &["7.11", "7.12"]), &release_key()),
        plan,
        t,
    );
    let mut good_hours_to_full = None;
    let mut good_exposed_before_wave_2 = 0;
    // The automatic job runs at each wave's time, on the reports of the tick before.
    for offset in [0u64, 4, 24, 72] {
        let now = start + offset * hour;
        if offset > 0 {
            let d = fleet.advance(now);
            assert!(
                !matches!(d, Decision::Halted { .. } | Decision::AlreadyHalted),
                "{d:?}"
            );
        }
        let tick = fleet.tick(now);
        cycles += n as u64;
        assert!(
            tick.failed.is_empty() && tick.refused.is_empty(),
            "{tick:?}"
        );
        let on_2 = |build: &str| {
            fleet
                .sensors
                .iter()
                .filter(|s| s.build == build && s.sensor.current_sequence() == 2)
                .count()
        };
        if offset == 0 {
            good_exposed_before_wave_2 = fleet.exposed_to(2);
            assert_eq!(good_exposed_before_wave_2, first_wave_count);
        }
        if offset == 24 {
            // The default track is at 50 %; build 7.11 still at its first 1 %.
            assert_eq!(on_2("7.11"), legacy_first);
            assert!(on_2("7.12") > (n - legacy) * 4 / 10, "{}", on_2("7.12"));
        }
        if offset == 72 {
            assert_eq!(on_2("7.11"), legacy);
        }
        if good_hours_to_full.is_none() && fleet.holding().get(&2) == Some(&n) {
            good_hours_to_full = Some(offset);
        }
    }
    let good_hours_to_full = good_hours_to_full.expect("the good content reached every sensor");

    // A content that build 7.11 cannot run: the gate checked the 7.12 manifest only.
    let start = start + 74 * hour;
    fleet.publish(
        &sign(
            compile(3, &[QUIET_RULE, FIELD_21_RULE], &["7.12"]),
            &release_key(),
        ),
        Plan::staged(start),
        start,
    );
    let tick = fleet.tick(start);
    cycles += n as u64;
    let field_refusals = tick
        .refused
        .get(&(3, "E3102".to_string()))
        .copied()
        .unwrap_or(0);
    assert!(field_refusals > 0, "{tick:?}");
    let d = fleet.advance(start + hour);
    let field_halt_codes = halted_codes(&d);
    assert!(field_halt_codes.contains(&"E6301".to_string()), "{d:?}");
    let field_hours_to_halt = hours_to_halt(&fleet, 3);
    let rolled = roll_back(&fleet, start + hour);
    fleet.tick(start + hour);
    cycles += n as u64;
    let field_exposed = fleet.exposed_to(3);
    assert_eq!(field_exposed, first_wave_count);
    assert_eq!(fleet.holding(), BTreeMap::from([(rolled, n)]));

    // A block rule far noisier in the field than on the benign set.
    let start = start + 2 * hour;
    fleet.publish(
        &sign(
            compile(rolled + 1, &[QUIET_RULE, NOISY_RULE], &["7.11", "7.12"]),
            &release_key(),
        ),
        Plan::staged(start),
        start,
    );
    fleet.tick(start);
    cycles += n as u64;
    let d = fleet.advance(start + hour);
    let noisy_halt_codes = halted_codes(&d);
    assert_eq!(noisy_halt_codes, ["E6304"], "{d:?}");
    let noisy_hours_to_halt = hours_to_halt(&fleet, rolled + 1);
    if let Decision::Halted { failures } = &d {
        assert!(
            failures[0].rules[0].contains("2a6d9f3b-8e1c-4b7a-9d5e-6c3f0a8b1e94"),
            "{failures:?}"
        );
    }
    let noisy_exposed = fleet.exposed_to(rolled + 1);
    assert_eq!(noisy_exposed, first_wave_count);
    let rolled_again = roll_back(&fleet, start + hour);
    fleet.tick(start + hour);
    cycles += n as u64;
    assert_eq!(fleet.holding(), BTreeMap::from([(rolled_again, n)]));

    Figures {
        sensors: n,
        legacy,
        first_wave: first_wave_count,
        good_hours_to_full,
        good_exposed_before_wave_2,
        field_exposed,
        field_refusals,
        field_hours_to_halt,
        field_halt_codes,
        noisy_exposed,
        noisy_hours_to_halt,
        noisy_halt_codes,
        cycles,
        requests: fleet.requests(),
        seconds: started.elapsed().as_secs_f64(),
    }
}
