//! `dicompack pack` on the sample disc: the package is self-consistent, every DICOM file of the
//! disc is in it (byte for byte), the headerless file gets a proper Part 10 header over the very
//! same dataset bytes, and junk stays out. Needs only the binary.

mod support;
use std::collections::BTreeSet;
use std::fs;
use std::sync::OnceLock;
use support::*;

fn packed() -> &'static Packed {
    static P: OnceLock<Packed> = OnceLock::new();
    P.get_or_init(|| pack("cli_pack_sample", &[&sample_disc()], &[]))
}

fn disc_source(i: &Instance, p: &Packed) -> String {
    let src = resolve(&i.source_path, &p.cwd).expect("source exists");
    let disc = sample_disc().canonicalize().unwrap();
    rel_string(src.strip_prefix(&disc).unwrap_or_else(|_| panic!("source {} not on the disc", src.display())))
}

#[test]
fn pack_sample_disc_exits_0_and_is_self_consistent() {
    let p = packed();
    assert_eq!(p.run.code, 0, "pack of the sample disc should exit 0:\n{}", p.run.describe());
    let _ = p.run.json(); // --json: one JSON document on stdout
    check_package_self_consistent(p);
}

#[test]
fn every_disc_image_is_packed_once_and_junk_is_not() {
    let p = packed();
    let instances = manifest_instances(&p.manifest);
    let sources: Vec<String> = instances.iter().map(|i| disc_source(i, p)).collect();
    let unique: BTreeSet<String> = sources.iter().cloned().collect();
    assert_eq!(unique.len(), sources.len(), "a source file packed twice: {sources:?}");
    assert_eq!(unique, disc_dicom_files(), "packed sources vs DICOM files on the disc");
    assert_eq!(instances.len(), DISC_INSTANCES);
    let text = p.run.all_text();
    for junk in DISC_JUNK {
        assert!(text.contains(junk), "{junk} not listed as ignored by pack:\n{}", p.run.describe());
    }
    let files = files_under(&p.tree);
    assert!(!files.iter().any(|f| f.to_uppercase().contains("VIEWER") || f.to_uppercase().contains("AUTORUN")),
        "junk made it into the package: {files:?}");
}

#[test]
fn part10_files_are_copied_byte_for_byte() {
    let p = packed();
    let mut checked = 0;
    for i in manifest_instances(&p.manifest) {
        if disc_source(&i, p) == DISC_HEADERLESS {
            continue;
        }
        let src = fs::read(resolve(&i.source_path, &p.cwd).unwrap()).unwrap();
        let out = fs::read(p.tree.join(&i.path)).unwrap();
        assert!(src == out, "{} is not a byte-for-byte copy of {}", i.path, i.source_path);
        assert_eq!(i.sha256, i.source_sha256, "{}: identical bytes, different checksums recorded", i.path);
        checked += 1;
    }
    assert_eq!(checked, DISC_INSTANCES - 1);
}

#[test]
fn headerless_file_gets_a_part10_header_over_the_same_dataset() {
    let p = packed();
    let inst = manifest_instances(&p.manifest)
        .into_iter()
        .find(|i| disc_source(i, p) == DISC_HEADERLESS)
        .expect("the headerless file is not in the package");
    let source = fs::read(sample_disc().join(DISC_HEADERLESS)).unwrap();
    let out = fs::read(p.tree.join(&inst.path)).unwrap();
    let (meta, start) = split_part10(&out);
    assert!(out[start..] == source[..], "dataset bytes differ from the headerless source");
    assert_eq!(ui(&meta[&(2, 0x10)]), "1.2.840.10008.1.2", "transfer syntax must be Implicit VR LE");
    assert_eq!(ui(&meta[&(2, 2)]), "1.2.840.10008.5.1.4.1.1.4", "Media Storage SOP Class (MR Image Storage)");
    assert_eq!(ui(&meta[&(2, 3)]), inst.sop_instance_uid, "Media Storage SOP Instance UID");
    assert_eq!(meta[&(2, 1)], vec![0u8, 1], "File Meta Information Version");
    assert!(meta.contains_key(&(2, 0x12)), "no Implementation Class UID");
    // Both checksums recorded: the source's and the package file's.
    assert_eq!(inst.source_sha256, sha256_hex(&source));
    assert_eq!(inst.sha256, sha256_hex(&out));
}

#[test]
fn pack_is_reproducible_with_source_date_epoch() {
    let mut zips = Vec::new();
    for n in 0..2 {
        let dir = scratch(&format!("cli_pack_repro_{n}"));
        let zip = dir.join("OUT.ZIP");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dicompack"))
            .args(["pack", sample_disc().to_str().unwrap(), "-o", zip.to_str().unwrap()])
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .current_dir(&dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        zips.push(fs::read(&zip).unwrap());
    }
    assert!(zips[0] == zips[1], "two packs with the same SOURCE_DATE_EPOCH differ");
}

#[test]
fn pack_missing_input_is_a_usage_error_and_writes_nothing() {
    let dir = scratch("cli_pack_missing_input");
    let zip = dir.join("OUT.ZIP");
    let run = dicompack(&["pack", "/nonexistent/dicompack-no-such-disc", "-o", zip.to_str().unwrap()], &dir);
    assert_eq!(run.code, 2, "{}", run.describe());
    assert!(files_under(&dir).is_empty(), "something was written: {:?}", files_under(&dir));
}
