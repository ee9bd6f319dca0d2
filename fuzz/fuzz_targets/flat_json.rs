//! Fuzz target `flat_json`: see `dcf_fuzz::flat_json`. Any bytes through the flat JSON event
//! reader, checked against serde_json; seeds are the example event lines (`fuzz/seeds.sh`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dcf_fuzz::flat_json_target(data);
});
