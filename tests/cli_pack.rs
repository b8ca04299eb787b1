//! `dicompack pack` on the sample disc: the package is self-consistent, every DICOM file of the
//! disc is in it (byte for byte), the headerless file gets a proper Part 10 header over the very
//! same dataset bytes, and junk stays out. Needs only the binary.

use crate::util::*;
use std::collections::BTreeSet;
use std::fs;
use std::sync::OnceLock;

fn packed() -> &'static Packed {
    static P: OnceLock<Packed> = OnceLock::new();
    P.get_or_init(|| pack("cli_pack_sample", &[&sample_disc()], &[]))
}

fn disc_source(i: &Instance, p: &Packed) -> String {
    let src = resolve(&i.source_path, &p.cwd).expect("source exists");
    let disc = sample_disc().canonicalize().unwrap();
    rel_string(
        src.strip_prefix(&disc)
            .unwrap_or_else(|_| panic!("source {} not on the disc", src.display())),
    )
}

#[test]
fn pack_sample_disc_exits_0_and_is_self_consistent() {
    let p = packed();
    assert_eq!(
        p.run.code,
        Some(0),
        "pack of the sample disc should exit 0:\n{}",
        p.run.describe()
    );
    let _ = p.run.json(); // --json: one JSON document on stdout
    check_package_self_consistent(p);
}

#[test]
fn every_disc_image_is_packed_once_and_junk_is_not() {
    let p = packed();
    let instances = manifest_instances(&p.manifest);
    let sources: Vec<String> = instances.iter().map(|i| disc_source(i, p)).collect();
    let unique: BTreeSet<String> = sources.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        sources.len(),
        "a source file packed twice: {sources:?}"
    );
    assert_eq!(
        unique,
        disc_dicom_files(),
        "packed sources vs DICOM files on the disc"
    );
    assert_eq!(instances.len(), DISC_INSTANCES);
    let text = p.run.all_text();
    for junk in DISC_JUNK {
        assert!(
            text.contains(junk),
            "{junk} not listed as ignored by pack:\n{}",
            p.run.describe()
        );
    }
    let files = files_under(&p.tree);
    assert!(
        !files
            .iter()
            .any(|f| f.to_uppercase().contains("VIEWER") || f.to_uppercase().contains("AUTORUN")),
        "junk made it into the package: {files:?}"
    );
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
        assert!(
            src == out,
            "{} is not a byte-for-byte copy of {}",
            i.path,
            i.source_path
        );
        assert_eq!(
            i.sha256, i.source_sha256,
            "{}: identical bytes, different checksums recorded",
            i.path
        );
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
    assert!(
        out[start..] == source[..],
        "dataset bytes differ from the headerless source"
    );
    assert_eq!(
        ui(&meta[&(2, 0x10)]),
        "1.2.840.10008.1.2",
        "transfer syntax must be Implicit VR LE"
    );
    assert_eq!(
        ui(&meta[&(2, 2)]),
        "1.2.840.10008.5.1.4.1.1.4",
        "Media Storage SOP Class (MR Image Storage)"
    );
    assert_eq!(
        ui(&meta[&(2, 3)]),
        inst.sop_instance_uid,
        "Media Storage SOP Instance UID"
    );
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
            // Same command line both times (relative -o): the manifest records the options used.
            .args(["pack", sample_disc().to_str().unwrap(), "-o", "OUT.ZIP"])
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .current_dir(&dir)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        zips.push(fs::read(&zip).unwrap());
    }
    assert!(
        zips[0] == zips[1],
        "two packs with the same SOURCE_DATE_EPOCH differ"
    );
}

#[test]
fn pack_missing_input_is_a_usage_error_and_writes_nothing() {
    let dir = scratch("cli_pack_missing_input");
    let zip = dir.join("OUT.ZIP");
    let run = dicompack(
        &[
            "pack",
            "/nonexistent/dicompack-no-such-disc",
            "-o",
            zip.to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        files_under(&dir).is_empty(),
        "something was written: {:?}",
        files_under(&dir)
    );
}

/// A copy of the sample disc in a scratch folder, to damage.
fn disc_copy(name: &str) -> std::path::PathBuf {
    let dir = scratch(name).join("disc");
    for f in files_under(&sample_disc()) {
        let dest = dir.join(&f);
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::copy(sample_disc().join(&f), dest).unwrap();
    }
    dir
}

#[test]
fn truncated_image_is_skipped_with_exit_3_and_the_rest_is_packed() {
    let disc = disc_copy("cli_pack_truncated");
    let victim = "DICOM/ST000001/SE000000/IM000000"; // the CT, 39 KB: cut inside its pixel data
    let data = fs::read(disc.join(victim)).unwrap();
    fs::write(disc.join(victim), &data[..data.len() * 2 / 3]).unwrap();
    let p = pack("cli_pack_truncated_out", &[&disc], &[]);
    assert_eq!(
        p.run.code,
        Some(3),
        "a truncated image must give exit 3:\n{}",
        p.run.describe()
    );
    check_package_self_consistent(&p);
    assert_eq!(manifest_instances(&p.manifest).len(), DISC_INSTANCES - 1);
    let victim_path = disc.join(victim).canonicalize().unwrap();
    let skipped: Vec<(String, String, String)> = p.manifest["skipped"]
        .as_array()
        .expect("MANIFEST.JSN: top-level \"skipped\" array")
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_string(),
                s["code"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Cut inside its pixel data: the file ends before the value its length announces.
    assert!(
        skipped
            .iter()
            .any(|(path, code, reason)| resolve(path, &p.cwd).as_deref()
                == Some(victim_path.as_path())
                && ["truncated", "bad_length"].contains(&code.as_str())
                && !reason.is_empty()),
        "the truncated file is not in MANIFEST.JSN \"skipped\" as truncated, with a reason: {skipped:?}"
    );
    let v = dicompack(&["verify", p.zip.to_str().unwrap()], &p.cwd);
    assert_eq!(
        v.code,
        Some(0),
        "the package made despite a skipped file must verify:\n{}",
        v.describe()
    );
}

#[test]
fn file_referenced_by_dicomdir_but_missing_gives_exit_3() {
    let disc = disc_copy("cli_pack_missing_ref");
    fs::remove_file(disc.join("DICOM/ST000000/SE000002/IM000003")).unwrap();
    let p = pack("cli_pack_missing_ref_out", &[&disc], &[]);
    assert_eq!(
        p.run.code,
        Some(3),
        "a file the DICOMDIR references but the disc lacks must give exit 3:\n{}",
        p.run.describe()
    );
    assert!(
        p.run.all_text().contains("IM000003"),
        "the missing file is not reported:\n{}",
        p.run.describe()
    );
    assert_eq!(manifest_instances(&p.manifest).len(), DISC_INSTANCES - 1);
}

#[test]
fn junk_only_input_makes_no_package() {
    let dir = scratch("cli_pack_junk_only");
    let disc = dir.join("disc");
    fs::create_dir_all(&disc).unwrap();
    for junk in DISC_JUNK {
        fs::copy(sample_disc().join(junk), disc.join(junk)).unwrap();
    }
    let zip = dir.join("OUT.ZIP");
    let run = dicompack(
        &["pack", disc.to_str().unwrap(), "-o", zip.to_str().unwrap()],
        &dir,
    );
    assert!(
        matches!(run.code, Some(1) | Some(2)),
        "no DICOM at all: no package can be made:\n{}",
        run.describe()
    );
    assert!(!zip.exists(), "a package was written from junk only");
    assert_eq!(
        files_under(&dir),
        files_under(&dir)
            .into_iter()
            .filter(|f| f.starts_with("disc/"))
            .collect(),
        "stray files left behind"
    );
}
