//! bytes of one candidate file → `Instance` or `Skip`, by both passes (every byte, and header
//! only with seeking). Must never panic, hang or allocate beyond libFuzzer's
//! `-malloc_limit_mb` (set by `fuzz/run-short`). The two passes must agree on what the file is.
#![no_main]
use dicompack::scan::{self, Content};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let whole = scan::scan_bytes(data);
    let header = scan::scan_header(std::io::Cursor::new(data), data.len() as u64);
    // A file the whole pass accepts, the header pass must accept as the same object (the
    // header pass may accept more: it does not read what lies past the pixel data).
    if let Ok(Content::Object(w)) = &whole {
        match &header {
            Ok(Content::Object(h)) => assert!(w.attrs == h.attrs && w.format == h.format),
            other => panic!("whole pass accepted, header pass gave {other:?}"),
        }
    }
});
