//! Shared by the render tests: where the real test files are, and how to find a file's data set
//! offset and transfer syntax the way the scan stage will (Part 10 meta, or headerless).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn test_files() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/pydicom/test_files");
    if dir.is_dir() { Some(dir) } else { None }
}

/// Fail when interop is required, else say loudly that the test is skipped.
pub fn missing(what: &str) {
    if std::env::var("DICOMPACK_REQUIRE_INTEROP").as_deref() == Ok("1") {
        panic!("DICOMPACK_REQUIRE_INTEROP=1 but {what}");
    }
    eprintln!("\n*** SKIPPED: {what} ***\n");
}

/// (dataset offset, transfer syntax UID) of a file.
pub fn locate(path: &Path) -> (u64, String) {
    let bytes = std::fs::read(path).expect("read test file");
    if bytes.len() > 144 && &bytes[128..132] == b"DICM" {
        // (0002,0000) UL: tag 4, VR 2, length 2, value 4
        let group_len = u32::from_le_bytes([bytes[140], bytes[141], bytes[142], bytes[143]]) as u64;
        let meta_end = 144 + group_len;
        let meta = &bytes[132..meta_end as usize];
        let mut ts = String::from("1.2.840.10008.1.2.1");
        let mut i = 0;
        while i + 8 <= meta.len() {
            let elem = u16::from_le_bytes([meta[i + 2], meta[i + 3]]);
            let vr = &meta[i + 4..i + 6];
            let (len, hdr) = if matches!(vr, b"OB" | b"UN" | b"SQ" | b"UT" | b"OW") {
                (
                    u32::from_le_bytes([meta[i + 8], meta[i + 9], meta[i + 10], meta[i + 11]])
                        as usize,
                    12,
                )
            } else {
                (u16::from_le_bytes([meta[i + 6], meta[i + 7]]) as usize, 8)
            };
            if elem == 0x0010 {
                ts = String::from_utf8_lossy(&meta[i + hdr..i + hdr + len])
                    .trim_end_matches(['\0', ' '])
                    .to_string();
            }
            i += hdr + len;
        }
        (meta_end, ts)
    } else {
        // headerless: explicit VR if bytes 4..6 look like a VR
        let explicit =
            bytes.len() > 6 && bytes[4].is_ascii_uppercase() && bytes[5].is_ascii_uppercase();
        (
            0,
            if explicit {
                "1.2.840.10008.1.2.1"
            } else {
                "1.2.840.10008.1.2"
            }
            .to_string(),
        )
    }
}
