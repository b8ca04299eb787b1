//! The `zip` crate opening an archive and streaming every entry (capped), directly: finds bugs
//! in the crate underneath the verify path.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::{Cursor, Read};

fuzz_target!(|data: &[u8]| {
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(data)) else {
        return;
    };
    for i in 0..archive.len().min(256) {
        let Ok(entry) = archive.by_index(i) else {
            continue;
        };
        let _ = entry.enclosed_name();
        let mut sink = std::io::sink();
        let _ = std::io::copy(&mut entry.take(1 << 24), &mut sink);
    }
});
