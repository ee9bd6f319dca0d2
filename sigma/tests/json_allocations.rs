//! Reading flat JSON events allocates nothing once the buffers have grown: strings with and
//! without escapes, `\u` escapes, integers, booleans, null and names that need mapping. Nested
//! objects, arrays and non-integer numbers are read by serde_json and may allocate; they are
//! left out. The counting allocator counts only on the thread that asked it to (a thread-local
//! counter): the test harness's own threads allocate at times of their own choosing, and
//! counting them made the verdict depend on scheduling.

// A test: a failure may panic, and fixtures are indexed and counted directly; the
// allocation counter is a `GlobalAlloc` wrapper, which is `unsafe` to implement.
#![allow(
    unsafe_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use dcf_events::flat_json::JsonBuffers;

struct Counting;

thread_local! {
    /// Allocations made by this thread while it counts; `None` while it does not count.
    /// Const-initialised, so reading it never allocates (no lazy initialisation).
    static ALLOCATIONS: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Counts one allocation if the calling thread is counting. `try_with` because the
/// allocator may run while a thread's locals are being destroyed.
fn count_one() {
    let _ = ALLOCATIONS.try_with(|count| {
        if let Some(n) = count.get() {
            count.set(Some(n + 1));
        }
    });
}

/// The allocations `f` makes on the calling thread.
fn allocations_of(f: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|count| count.set(Some(0)));
    f();
    ALLOCATIONS.with(|count| count.replace(None)).unwrap_or(0)
}

// SAFETY: forwards every call to the system allocator with the caller's arguments; it only
// counts allocations.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller's contract for `layout` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (through `alloc` above).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: as for `dealloc`, and `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

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
