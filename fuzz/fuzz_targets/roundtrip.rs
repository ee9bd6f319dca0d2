//! Fuzz target `roundtrip`: structure-aware generation of valid contents
//! (`dcf_fuzz::generate`), encoded, parsed and compared (`dcf_fuzz::roundtrip_target`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| dcf_fuzz::roundtrip_target(data));
