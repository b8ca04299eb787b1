//! bytes of a package (a ZIP) → verdict. Must never panic, hang or allocate beyond the limit,
//! whatever the archive claims about its sizes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dicompack::verify::verify_zip_bytes(data);
});
