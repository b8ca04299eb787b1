//! A disc folder whose name is not valid UTF-8 (a Unix file name is bytes; an old disc or a
//! Latin-1 mount gives such names) is packed like any other: clap accepts the path, so nothing
//! after it may insist on UTF-8.

use crate::util::*;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::process::Command;

fn dicompack(args: &[&OsStr]) -> std::process::Output {
    Command::new(bin()).args(args).output().unwrap()
}

#[test]
fn scan_json_of_a_folder_named_in_invalid_utf8_works() {
    let dir = tempfile::tempdir().unwrap();
    let disc = dir.path().join(OsStr::from_bytes(b"disc-\xff"));
    copy_dir(&sample_disc(), &disc);
    let out = dicompack(&["scan".as_ref(), disc.as_os_str(), "--json".as_ref()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["summary"]["instances"].as_u64().unwrap() > 0);
}

#[test]
fn pack_of_a_folder_named_in_invalid_utf8_works_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let disc = dir.path().join(OsStr::from_bytes(b"disc-\xff"));
    copy_dir(&sample_disc(), &disc);
    // The package's own name is not UTF-8 either, and --json must still say where it is.
    let zip = dir.path().join(OsStr::from_bytes(b"OUT-\xfe.ZIP"));
    let out = dicompack(&[
        "pack".as_ref(),
        disc.as_os_str(),
        "-o".as_ref(),
        zip.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["package"].as_str().unwrap().ends_with(".ZIP"));
    let verify = dicompack(&["verify".as_ref(), zip.as_os_str()]);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}
