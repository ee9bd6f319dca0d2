//! Reading flat JSON events allocates nothing once the buffers have grown: strings with and
//! without escapes, `\u` escapes, integers, booleans, null and names that need mapping. Nested
//! objects, arrays and non-integer numbers are read by serde_json and may allocate; they are
//! left out. The counting allocator counts only on the thread that asked it to (a thread-local
//! counter): the test harness's own threads allocate at times of their own choosing, and
//! counting them made the verdict depend on scheduling.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use dcf_events::flat_json::JsonBuffers;
use dcf_test_support::CountingAllocator;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator::new();

/// The allocations `f` makes on the calling thread.
fn allocations_of(f: impl FnOnce()) -> usize {
    CountingAllocator::thread_allocations_of(f)
}

#[test]
fn reading_an_event_allocates_nothing_once_warm() {
    let lines = [
        r#"{"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd.exe /c \"echo \u00e9t\u00e9\" > C:\\Temp\\x.txt", "ProcessId": 4242, "Big": 18446744073709551615, "Elevated": true, "Parent": null}"#,
        r#"{"EventID": 3, "Channel": "Microsoft-Windows-Sysmon/Operational", "DestinationIp": "10.1.2.3", "DestinationPort": 443, "Odd Name": "mapped", "2nd": "x", "Image": "C:\\Program Files\\App\\app.exe"}"#,
        r#"  {"Message": "line\nbreak\ttab \ud83d\ude00", "Count": -17}  "#,
    ];
    let mut buffers = JsonBuffers::new();
    let mut fields = 0;
    for line in lines {
        fields += buffers.parse(line).expect("a valid line").len();
    }
    let allocated = allocations_of(|| {
        for _ in 0..1000 {
            for line in lines {
                let event = buffers.parse(line).expect("a valid line");
                fields += event.len();
            }
        }
    });
    assert_eq!(allocated, 0, "{allocated} allocations over 3,000 events");
    assert_eq!(fields, 1001 * 17);
}

/// The counter is not blind: it sees an allocation on the measuring thread, and none made by
/// another thread meanwhile (which is what made the old, process-wide count flaky).
#[test]
fn the_counter_sees_this_thread_only() {
    let mine = allocations_of(|| drop(std::hint::black_box(vec![1u8; 64])));
    assert_eq!(mine, 1);
    // Spawning allocates on this thread (the thread's handle and result slot); the first
    // spawn also sets up what later ones reuse, so it is left out.
    std::thread::scope(|s| drop(s.spawn(|| ())));
    let spawn_only = allocations_of(|| std::thread::scope(|s| drop(s.spawn(|| ()))));
    let others = allocations_of(|| {
        std::thread::scope(|s| {
            s.spawn(|| {
                for _ in 0..100 {
                    drop(std::hint::black_box(vec![1u8; 64]));
                }
            });
        })
    });
    assert_eq!(
        others, spawn_only,
        "another thread's 100 allocations were counted"
    );
}
