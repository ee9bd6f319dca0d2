//! Fuzz target `load_and_eval`: see `dcf_fuzz::load_and_eval_target`. The custom mutator edits structures
//! coherently and repairs the digest (`dcf_fuzz::mutate`).
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target, fuzzer_mutate};

fuzz_target!(|data: &[u8]| {
    dcf_fuzz::load_and_eval_target(data);
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    dcf_fuzz::mutate::mutate_in_place(data, size, max_size, seed, fuzzer_mutate)
});
