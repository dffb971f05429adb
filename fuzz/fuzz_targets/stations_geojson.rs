#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| doorstep_tests::fuzzing::stations_geojson(data));
