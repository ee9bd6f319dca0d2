//! One counting allocator for the tests and benchmarks that measure heap use: the parser's
//! zero-allocation check, the sensor's live heap of a loaded content, the Sigma engines' peak
//! memory and the flat JSON reader's allocation-free reading. A test binary installs it with
//! `#[global_allocator] static GLOBAL: CountingAllocator = CountingAllocator::new();`.
//!
//! It forwards every call to the system allocator unchanged and counts: allocations
//! (`alloc`, `alloc_zeroed`, `realloc`) for the process, bytes in use and their peak, and the
//! allocations of a thread that asked to count its own ([`CountingAllocator::thread_allocations_of`]),
//! so that a verdict never depends on what the harness's other threads do meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

thread_local! {
    /// Allocations made by this thread while it counts; `None` while it does not count.
    /// Const-initialised and without a destructor, so reading it never allocates.
    static THREAD_ALLOCATIONS: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The system allocator, counting what it is asked for.
#[derive(Debug)]
pub struct CountingAllocator {
    allocations: AtomicUsize,
    live: AtomicUsize,
    peak: AtomicUsize,
}

/// What a measured closure did to the heap ([`CountingAllocator::measure`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapUse {
    /// Bytes allocated by the closure and still held when it returned.
    pub held: usize,
    /// The most bytes in use while it ran, above those in use when it started.
    pub peak: usize,
}

impl CountingAllocator {
    /// An allocator that has counted nothing yet.
    pub const fn new() -> CountingAllocator {
        CountingAllocator {
            allocations: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Allocations (`alloc`, `alloc_zeroed`, `realloc`) made by the whole process so far.
    pub fn allocations(&self) -> usize {
        self.allocations.load(Ordering::SeqCst)
    }

    /// Bytes in use now.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Runs `f`; returns its result and what it did to the heap. The peak is process-wide:
    /// measure on a quiet process.
    pub fn measure<T>(&self, f: impl FnOnce() -> T) -> (T, HeapUse) {
        let base = self.live();
        self.peak.store(base, Ordering::SeqCst);
        let out = f();
        let held = self.live().saturating_sub(base);
        let peak = self.peak.load(Ordering::SeqCst).saturating_sub(base);
        (out, HeapUse { held, peak })
    }

    /// The allocations `f` makes on the calling thread (others are not counted).
    pub fn thread_allocations_of(f: impl FnOnce()) -> usize {
        THREAD_ALLOCATIONS.with(|count| count.set(Some(0)));
        f();
        THREAD_ALLOCATIONS
            .with(|count| count.replace(None))
            .unwrap_or(0)
    }

    fn counted(&self, grown: usize) {
        self.allocations.fetch_add(1, Ordering::Relaxed);
        let now = self.live.fetch_add(grown, Ordering::Relaxed) + grown;
        self.peak.fetch_max(now, Ordering::Relaxed);
        // `try_with`: the allocator may run while a thread's locals are being destroyed.
        let _ = THREAD_ALLOCATIONS.try_with(|count| {
            if let Some(n) = count.get() {
                count.set(Some(n + 1));
            }
        });
    }
}

impl Default for CountingAllocator {
    fn default() -> CountingAllocator {
        CountingAllocator::new()
    }
}

// Implementing `GlobalAlloc` is `unsafe`; this is the one implementation in the workspace.
// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so this
// allocator upholds exactly the contract `System` does; counting touches no allocated memory.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            self.counted(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            self.counted(layout.size());
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; `ptr` was allocated by `System` through this allocator
        // with `layout`, and `new_size` is the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            self.counted(new_size.saturating_sub(layout.size()));
            self.live
                .fetch_sub(layout.size().saturating_sub(new_size), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` was allocated by `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) };
        self.live.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}
