//! bytes of one candidate file → `Instance` or `Skip`. Must never panic, hang or allocate
//! beyond libFuzzer's `-malloc_limit_mb` (set by `fuzz/run-short`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dicompack::scan::scan_bytes(data);
});
