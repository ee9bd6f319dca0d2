//! Fuzz target `compile_source`: see `dcf_fuzz::compile_source`. Any text through the dcf
//! source compiler and the Sigma importer; seeds are YAML rules (`fuzz/smoke.sh` copies them).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dcf_fuzz::compile_source_target(data);
});
