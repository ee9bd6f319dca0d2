//! What evaluating through the C ABI costs against the Rust call, on the same content and
//! events: SigmaHQ's 3,141 rules (`../shared/sigma/rules`, compiled against
//! `sigma/manifests/sigmahq.toml`) and a stream of Windows process-creation events.
//!
//! - `rust`: `Sensor::evaluate` on a prepared field array;
//! - `c_abi`: `dcf_sensor_evaluate` on `dcf_value` arrays pointing at the same text, with a
//!   match callback, as a C sensor calls it (the Rust call reaches the same `extern "C"`
//!   symbol a C program links);
//! - `memcpy_event_text`: copying the events' text once, the floor of touching the bytes.
//!
//! And what a restart costs with the content store: `store/open` restores the persisted
//! SigmaHQ content (`dcf_sensor_open_store`: read the state and the file, verify, bind,
//! compile), against `store/new_and_load`, the same content handed to a new sensor
//! (`dcf_sensor_new` + `dcf_sensor_load`), measured in the same run.
//!
//! `cargo bench -p dcf-capi --bench abi`.

// A benchmark: a broken setup may panic, and measurements are indexed and counted directly.
// It calls the C ABI as C does, through raw pointers.
#![allow(unsafe_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::ffi::c_void;
use std::hint::black_box;
use std::path::PathBuf;

use ::dcf_sensor::{Channels, Event, LoaderConfig, Scratch, Sensor, SensorInterface, Value};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dcf::{
    DCF_ANY_CHANNEL, DCF_VALUE_ABSENT, DCF_VALUE_STRING, dcf_event, dcf_match, dcf_result,
    dcf_scratch, dcf_scratch_new, dcf_sensor, dcf_sensor_config, dcf_sensor_evaluate,
    dcf_sensor_load, dcf_sensor_new, dcf_status, dcf_value,
};
use dcf_parser::FieldType;
use dcf_sigma::{ImportOptions, compile_paths};

const NOW: u64 = 1_780_000_000;

/// (Image, CommandLine, ParentImage, User): what a Windows fleet runs, and a few attacks.
const PROCESSES: &[(&str, &str, &str, &str)] = &[
    (
        "C:\\Windows\\System32\\svchost.exe",
        "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
        "C:\\Windows\\System32\\services.exe",
        "NT AUTHORITY\\SYSTEM",
    ),
    (
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer --lang=en-US --renderer-client-id=7",
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        "CORP\\alice",
    ),
    (
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
        "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE\" /recycle",
        "C:\\Windows\\explorer.exe",
        "CORP\\bob",
    ),
    (
        "C:\\Windows\\System32\\conhost.exe",
        "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1",
        "C:\\Windows\\System32\\cmd.exe",
        "CORP\\alice",
    ),
    (
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "powershell.exe -NoProfile -ExecutionPolicy Bypass -EncodedCommand SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA=",
        "C:\\Windows\\System32\\cmd.exe",
        "CORP\\mallory",
    ),
    (
        "C:\\Windows\\System32\\rundll32.exe",
        "rundll32.exe C:\\Users\\Public\\payload.dll,DllRegisterServer",
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
        "CORP\\mallory",
    ),
    (
        "C:\\Windows\\System32\\msiexec.exe",
        "C:\\Windows\\system32\\msiexec.exe /V",
        "C:\\Windows\\System32\\services.exe",
        "NT AUTHORITY\\SYSTEM",
    ),
    (
        "C:\\Windows\\System32\\taskhostw.exe",
        "taskhostw.exe {222A245B-E637-4AE9-A93F-A59CA119A75E}",
        "C:\\Windows\\System32\\svchost.exe",
        "CORP\\bob",
    ),
];

struct Setup {
    manifest: String,
    interface: SensorInterface,
    signed: Vec<u8>,
    public: [u8; 32],
}

fn setup() -> Setup {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifest = std::fs::read_to_string(repo.join("sigma/manifests/sigmahq.toml")).unwrap();
    let interface = dcf_validator::manifest::from_toml(&manifest).unwrap();
    let (mut content, _) = compile_paths(
        &[repo.join("../shared/sigma/rules")],
        std::slice::from_ref(&interface),
        &ImportOptions::default(),
    )
    .expect("SigmaHQ compiles");
    let key = ed25519_dalek::SigningKey::from_bytes(&[0x5a; 32]);
    let signed = dcf_validator::keys::sign_content(&mut content, &key).unwrap();
    Setup {
        manifest,
        interface,
        signed,
        public: key.verifying_key().to_bytes(),
    }
}

/// The process-creation events, each as its template's field array of owned text.
fn events(setup: &Setup) -> (u32, Vec<Vec<Option<String>>>) {
    let template = setup
        .interface
        .template_named("windows.process_creation")
        .expect("the manifest has windows.process_creation");
    let mut events = Vec::new();
    for round in 0..32 {
        for (image, command_line, parent, user) in PROCESSES {
            let mut fields = vec![None; template.fields.len()];
            let named = [
                ("Image", image.to_string()),
                ("CommandLine", format!("{command_line} {round}")),
                ("ParentImage", parent.to_string()),
                ("User", user.to_string()),
                ("CurrentDirectory", "C:\\Windows\\system32\\".to_string()),
                ("IntegrityLevel", "Medium".to_string()),
            ];
            for (name, value) in named {
                if let Some(i) = template.field_index(name)
                    && template.fields[i].kind == FieldType::String
                {
                    fields[i] = Some(value);
                }
            }
            events.push(fields);
        }
    }
    (template.id, events)
}

unsafe extern "C" fn count_match(user: *mut c_void, m: *const dcf_match) {
    // SAFETY: `user` is the `usize` counter the bench passes; `m` is valid for the call.
    unsafe {
        *(user as *mut usize) += 1;
        black_box((*m).title_len);
    }
}

fn bench(c: &mut Criterion) {
    let setup = setup();
    let (template, events) = events(&setup);

    let rust_sensor = Sensor::new(
        LoaderConfig::new(setup.interface.clone(), vec![setup.public], Channels::Any),
        0,
    )
    .unwrap();
    rust_sensor.load(&setup.signed, NOW).unwrap();

    let config = dcf_sensor_config {
        manifest: setup.manifest.as_ptr(),
        manifest_len: setup.manifest.len(),
        trusted_keys: setup.public.as_ptr(),
        trusted_key_count: 1,
        channel: 0,
        flags: DCF_ANY_CHANNEL,
        current_sequence: 0,
        max_size: 0,
    };
    let mut c_sensor: *mut dcf_sensor = std::ptr::null_mut();
    let mut c_scratch: *mut dcf_scratch = std::ptr::null_mut();
    let mut status = std::mem::MaybeUninit::<dcf_status>::uninit();
    // SAFETY: valid config, outputs and status on this stack.
    unsafe {
        assert_eq!(
            dcf_sensor_new(&config, &mut c_sensor, status.as_mut_ptr()),
            dcf_result::DCF_OK
        );
        assert_eq!(
            dcf_sensor_load(
                c_sensor,
                setup.signed.as_ptr(),
                setup.signed.len(),
                NOW,
                status.as_mut_ptr()
            ),
            dcf_result::DCF_OK
        );
        assert_eq!(
            dcf_scratch_new(&mut c_scratch, status.as_mut_ptr()),
            dcf_result::DCF_OK
        );
    }

    let rust_events: Vec<Vec<Value<'_>>> = events
        .iter()
        .map(|fields| {
            fields
                .iter()
                .map(|f| f.as_deref().map_or(Value::Null, Value::Str))
                .collect()
        })
        .collect();
    let c_events: Vec<Vec<dcf_value>> = events
        .iter()
        .map(|fields| {
            fields
                .iter()
                .map(|f| match f {
                    Some(text) => dcf_value {
                        kind: DCF_VALUE_STRING,
                        string: text.as_ptr(),
                        len: text.len(),
                        integer: 0,
                        ip: [0; 16],
                    },
                    None => dcf_value {
                        kind: DCF_VALUE_ABSENT,
                        string: std::ptr::null(),
                        len: 0,
                        integer: 0,
                        ip: [0; 16],
                    },
                })
                .collect()
        })
        .collect();

    // Both paths must find the same matches before their speed means anything.
    let mut scratch = Scratch::new();
    let mut out = Vec::new();
    let mut rust_matches = 0;
    for fields in &rust_events {
        out.clear();
        rust_sensor
            .evaluate(&Event { template, fields }, &mut scratch, &mut out)
            .unwrap();
        rust_matches += out.len();
    }
    let c_abi = |counter: &mut usize| {
        for fields in &c_events {
            let event = dcf_event {
                template_id: template,
                fields: fields.as_ptr(),
                field_count: fields.len(),
            };
            // SAFETY: live handles, an event whose arrays hold their lengths, a callback
            // that takes the counter.
            let result = unsafe {
                dcf_sensor_evaluate(
                    c_sensor,
                    c_scratch,
                    &event,
                    Some(count_match),
                    (counter as *mut usize).cast(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                )
            };
            assert_eq!(result, dcf_result::DCF_OK);
        }
    };
    let mut c_matches = 0;
    c_abi(&mut c_matches);
    assert_eq!(
        rust_matches, c_matches,
        "the two paths agree on the matches"
    );
    println!(
        "{} events, {} matches, SigmaHQ content {} bytes",
        events.len(),
        rust_matches,
        setup.signed.len()
    );

    let mut group = c.benchmark_group("abi/sigmahq_process_creation");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("rust", |b| {
        b.iter(|| {
            let mut matches = 0;
            for fields in &rust_events {
                out.clear();
                rust_sensor
                    .evaluate(&Event { template, fields }, &mut scratch, &mut out)
                    .unwrap();
                matches += out.len();
            }
            black_box(matches)
        })
    });
    group.bench_function("c_abi", |b| {
        b.iter(|| {
            let mut matches = 0;
            c_abi(&mut matches);
            black_box(matches)
        })
    });
    let text: Vec<u8> = events
        .iter()
        .flatten()
        .flatten()
        .flat_map(|s| s.bytes())
        .collect();
    let mut copy = vec![0u8; text.len()];
    group.bench_function("memcpy_event_text", |b| {
        b.iter(|| {
            copy.copy_from_slice(black_box(&text));
            black_box(&copy);
        })
    });
    group.finish();
    // SAFETY: handles from above, freed once.
    unsafe {
        dcf::dcf_scratch_free(c_scratch);
        dcf::dcf_sensor_free(c_sensor);
    }

    // The store: persist the content once, confirm it, then time restarts.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-store");
    let _ = std::fs::remove_dir_all(&dir);
    let dir_text = dir.to_str().unwrap().to_string();
    let open = || {
        let mut sensor: *mut dcf_sensor = std::ptr::null_mut();
        let mut report = std::mem::MaybeUninit::<dcf::dcf_start_report>::uninit();
        // SAFETY: valid config, directory text, outputs on this stack.
        let result = unsafe {
            dcf::dcf_sensor_open_store(
                &config,
                std::ptr::null(),
                dir_text.as_ptr(),
                dir_text.len(),
                NOW,
                &mut sensor,
                report.as_mut_ptr(),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(result, dcf_result::DCF_OK);
        // SAFETY: written on DCF_OK.
        (sensor, unsafe { report.assume_init() })
    };
    let (sensor, _) = open();
    // SAFETY: a live handle and the signed bytes.
    unsafe {
        assert_eq!(
            dcf_sensor_load(
                sensor,
                setup.signed.as_ptr(),
                setup.signed.len(),
                NOW,
                std::ptr::null_mut()
            ),
            dcf_result::DCF_OK
        );
        assert_eq!(
            dcf::dcf_sensor_confirm_healthy(sensor, std::ptr::null_mut()),
            dcf_result::DCF_OK
        );
        dcf::dcf_sensor_free(sensor);
    }
    let mut group = c.benchmark_group("store/sigmahq");
    group.sample_size(10);
    group.bench_function("open", |b| {
        b.iter(|| {
            let (sensor, report) = open();
            assert_eq!(report.restored_slot, dcf::DCF_SLOT_ACTIVE);
            // SAFETY: the handle just made, freed once.
            unsafe { dcf::dcf_sensor_free(sensor) };
        })
    });
    group.bench_function("new_and_load", |b| {
        b.iter(|| {
            let mut sensor: *mut dcf_sensor = std::ptr::null_mut();
            // SAFETY: valid config and bytes; the handle is freed once.
            unsafe {
                assert_eq!(
                    dcf_sensor_new(&config, &mut sensor, std::ptr::null_mut()),
                    dcf_result::DCF_OK
                );
                assert_eq!(
                    dcf_sensor_load(
                        sensor,
                        setup.signed.as_ptr(),
                        setup.signed.len(),
                        NOW,
                        std::ptr::null_mut()
                    ),
                    dcf_result::DCF_OK
                );
                dcf::dcf_sensor_free(sensor);
            }
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
