//! Fuzz target `validate`: see `dcf_fuzz::validate`. Content bytes, mutated coherently by the
//! custom mutator (digest repaired), with a manifest derived from them, through the validator
//! and the dry run.
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target, fuzzer_mutate};

fuzz_target!(|data: &[u8]| {
    dcf_fuzz::validate_target(data);
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    dcf_fuzz::mutate::mutate_in_place(data, size, max_size, seed, fuzzer_mutate)
});
