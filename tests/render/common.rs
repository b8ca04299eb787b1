//! Shared by the render tests: where the real test files are, and what the scan stage finds in
//! a file (render draws from that).
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

/// What the scan finds in a file (where its data set, image attributes and pixel data lie),
/// the way `pack` hands it to render; or why the scan cannot read the file. Files that name
/// no study or series are read too: render draws whatever the scan can read.
pub fn scanned(path: &Path) -> Result<dicompack::scan::Object, String> {
    use dicompack::scan::{Content, inspect_file};
    match inspect_file(path) {
        Ok(Content::Object(o) | Content::Directory(o)) => Ok(*o),
        Ok(Content::NotDicom(what)) => Err(what.to_string()),
        Err(e) => Err(format!("{} ({e})", e.code())),
    }
}
