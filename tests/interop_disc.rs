//! The sample disc's package, checked by tools we did not write: DCMTK (dcmdump, dcmftest),
//! pydicom (FileSet over the DICOMDIR, and an independent read of the disc), sha256sum.
//! Skips loudly when a tool is missing, fails instead under DICOMPACK_REQUIRE_INTEROP=1.

use crate::util::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::sync::OnceLock;

fn packed() -> &'static Packed {
    static P: OnceLock<Packed> = OnceLock::new();
    P.get_or_init(|| {
        let p = pack("interop_disc", &[&sample_disc()], &[]);
        assert_eq!(
            p.run.code,
            Some(0),
            "pack of the sample disc should exit 0:\n{}",
            p.run.describe()
        );
        p
    })
}

fn set_of(files: &[Value], key: &str) -> BTreeSet<String> {
    files
        .iter()
        .filter_map(|f| f[key].as_str().map(str::to_string))
        .collect()
}

#[test]
fn sample_package_passes_dcmtk_pydicom_and_sha256sum() {
    if !interop(
        "sample_package_passes_dcmtk_pydicom_and_sha256sum",
        &[Need::Dcmtk, Need::Pydicom, Need::Sha256sum],
    ) {
        return;
    }
    let p = packed();
    check_package_self_consistent(p);
    check_with_all_validators(p);
}

#[test]
fn sample_package_holds_exactly_the_disc_instances_pydicom_sees() {
    if !interop(
        "sample_package_holds_exactly_the_disc_instances_pydicom_sees",
        &[Need::Pydicom],
    ) {
        return;
    }
    // pydicom reads every file of the disc on its own (force=True for the headerless one).
    let inv = pydicom_inventory(&sample_disc());
    let dicom: Vec<Value> = inv
        .into_iter()
        .filter(|f| f["sop_instance_uid"].is_string() && f["is_directory"] != Value::Bool(true))
        .collect();
    let expected = set_of(&dicom, "sop_instance_uid");
    assert_eq!(
        expected.len(),
        DISC_INSTANCES,
        "pydicom's view of the disc changed: {dicom:#?}"
    );
    let got: BTreeSet<String> = manifest_instances(&packed().manifest)
        .into_iter()
        .map(|i| i.sop_instance_uid)
        .collect();
    assert_eq!(
        got, expected,
        "package UIDs (left) vs pydicom's reading of the disc (right)"
    );
}

#[test]
fn headerless_file_passes_dcmftest_after_packing() {
    if !interop(
        "headerless_file_passes_dcmftest_after_packing",
        &[Need::Dcmtk],
    ) {
        return;
    }
    // The source fails dcmftest (no Part 10 header) ...
    let src = run_tool("dcmftest", &[DISC_HEADERLESS], &sample_disc());
    assert!(
        src.stdout.contains(&format!("no: {DISC_HEADERLESS}")),
        "source should fail dcmftest:\n{}",
        src.describe()
    );
    // ... and its packed copy passes.
    let p = packed();
    let disc = sample_disc().canonicalize().unwrap();
    let inst = manifest_instances(&p.manifest)
        .into_iter()
        .find(|i| {
            resolve(&i.source_path, &p.cwd).as_deref() == Some(disc.join(DISC_HEADERLESS).as_path())
        })
        .expect("headerless file not packed");
    let out = run_tool("dcmftest", &[&inst.path], &p.tree);
    assert!(
        out.stdout.contains(&format!("yes: {}", inst.path)),
        "{}",
        out.describe()
    );
    let (_, start) = split_part10(&fs::read(p.tree.join(&inst.path)).unwrap());
    assert!(
        fs::read(p.tree.join(&inst.path)).unwrap()[start..]
            == fs::read(disc.join(DISC_HEADERLESS)).unwrap()[..]
    );
}

#[test]
fn scan_json_matches_pydicom_reading_of_the_disc() {
    if !interop(
        "scan_json_matches_pydicom_reading_of_the_disc",
        &[Need::Pydicom],
    ) {
        return;
    }
    let inv: Vec<Value> = pydicom_inventory(&sample_disc())
        .into_iter()
        .filter(|f| f["sop_instance_uid"].is_string() && f["is_directory"] != Value::Bool(true))
        .collect();
    let run = dicompack(
        &["scan", sample_disc().to_str().unwrap(), "--json"],
        &repo(),
    );
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let text = run.stdout.clone();
    for key in [
        "study_instance_uid",
        "series_instance_uid",
        "sop_instance_uid",
    ] {
        for uid in set_of(&inv, key) {
            assert!(
                text.contains(&format!("\"{uid}\"")),
                "scan --json lacks {key} {uid}"
            );
        }
    }
}

#[test]
fn harness_validators_accept_a_dcmtk_fileset_and_reject_broken_ones() {
    // Proves the validators above can fail: a DCMTK-made file-set passes them, and the same
    // file-set with a file removed, or with a headerless file, does not.
    if !interop(
        "harness_validators_accept_a_dcmtk_fileset_and_reject_broken_ones",
        &[Need::Dcmtk, Need::Pydicom, Need::Sha256sum],
    ) {
        return;
    }
    let dir = scratch("interop_harness_control");
    let mut n = 0;
    for f in disc_dicom_files() {
        if f == DISC_HEADERLESS {
            continue;
        }
        n += 1;
        let dest = dir.join(format!("DICOM/IM{n:06}"));
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::copy(sample_disc().join(&f), dest).unwrap();
    }
    let mk = run_tool(
        "dcmmkdir",
        &["--quiet", "+r", "-Nxc", "+D", "DICOMDIR", "DICOM"],
        &dir,
    );
    assert_eq!(mk.code, Some(0), "{}", mk.describe());
    let mut sums = String::new();
    for f in files_under(&dir) {
        sums.push_str(&format!("{}  {}\n", sha256_file(&dir.join(&f)), f));
    }
    fs::write(dir.join("SHA256.TXT"), sums).unwrap();
    check_with_dcmtk(&dir);
    check_with_sha256sum(&dir);
    let report = check_with_pydicom_fileset(&dir);
    assert_eq!(report["instances"].as_array().unwrap().len(), n);

    // Broken 1: a referenced file removed -> FileSet check and sha256sum fail.
    fs::rename(dir.join("DICOM/IM000001"), dir.join("IM000001.BAK")).unwrap();
    assert!(
        std::panic::catch_unwind(|| check_with_pydicom_fileset(&dir)).is_err(),
        "FileSet check missed a missing file"
    );
    assert!(
        std::panic::catch_unwind(|| check_with_sha256sum(&dir)).is_err(),
        "sha256sum missed a missing file"
    );
    fs::rename(dir.join("IM000001.BAK"), dir.join("DICOM/IM000001")).unwrap();
    // Broken 2: a headerless file under DICOM/ -> dcmftest rejects it, FileSet finds it unreferenced.
    fs::copy(
        sample_disc().join(DISC_HEADERLESS),
        dir.join("DICOM/HEADLESS"),
    )
    .unwrap();
    assert!(
        std::panic::catch_unwind(|| check_with_dcmtk(&dir)).is_err(),
        "dcmftest missed a headerless file"
    );
    assert!(
        std::panic::catch_unwind(|| check_with_pydicom_fileset(&dir)).is_err(),
        "FileSet missed an unreferenced file"
    );
}
