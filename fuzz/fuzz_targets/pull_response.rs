#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| doorstep_tests::fuzzing::pull_response(data));
