#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| doorstep_tests::fuzzing::server_push(data));
