//! Reading flat JSON events allocates nothing once the buffers have grown: strings with and
//! without escapes, `\u` escapes, integers, booleans, null and names that need mapping. Nested
//! objects, arrays and non-integer numbers are read by serde_json and may allocate; they are
//! left out. Alone in its test binary: the counting allocator sees every thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use dcf_sigma::flat_json::JsonBuffers;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator with the caller's arguments; it only
// counts allocations.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract for `layout` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (through `alloc` above).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
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
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..1000 {
        for line in lines {
            let event = buffers.parse(line).expect("a valid line");
            fields += event.len();
        }
    }
    let allocated = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(allocated, 0, "{allocated} allocations over 3,000 events");
    assert_eq!(fields, 1001 * 17);
}
