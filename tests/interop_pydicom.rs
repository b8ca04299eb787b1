//! Pack the whole set of pydicom's ~180 real test files (many patients, many scanners and
//! toolkits, some deliberately broken) and check the package with outside tools, and that every
//! input file is accounted for, cross-checked with pydicom's own reading of each file.
//!
//! What we expect, and why:
//! * A file pydicom reads without `force=` and without warnings, that has SOP, Study and Series
//!   Instance UIDs and is not a directory object (DICOMDIR): its SOP Instance UID is in the package. If no other
//!   file shares its UID, the package holds *that* file (source sha256 = the file's sha256).
//!   If several files share the UID with identical bytes, one copy is packed. If they differ
//!   (pydicom's set has many: MR_small in 9 transfer syntaxes with one UID), dicompack may keep one
//!   or refuse all, but each file left out is listed with a reason.
//! * Directory objects (dicomdirtests/DICOMDIR*) are never packed as instances.
//! * Every other input file (junk, headerless, broken) is either packed or listed with a reason.
//! * Exit 0 or 3 (some DICOM input skipped); 3 if and only if a file that is DICOM (per pydicom,
//!   with a UID) was left out for a reason other than being a duplicate of a packed file — we
//!   only check the "if" direction loosely: exit 0 with such a file skipped is a failure.

use crate::util::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;

const NEEDS: &[Need] = &[
    Need::Dcmtk,
    Need::Pydicom,
    Need::PydicomFiles,
    Need::Sha256sum,
];

fn packed() -> &'static Packed {
    static P: OnceLock<Packed> = OnceLock::new();
    P.get_or_init(|| {
        pack(
            "interop_pydicom_set",
            &[&pydicom_files()],
            &["--allow-multiple-patients"],
        )
    })
}

#[test]
fn refuses_a_multi_patient_input_without_the_flag() {
    if !interop(
        "refuses_a_multi_patient_input_without_the_flag",
        &[Need::PydicomFiles],
    ) {
        return;
    }
    let dir = scratch("interop_pydicom_refuse");
    let zip = dir.join("OUT.ZIP");
    let run = dicompack(
        &[
            "pack",
            pydicom_files().to_str().unwrap(),
            "-o",
            zip.to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(
        run.code,
        Some(2),
        "mixed-patient input must be refused:\n{}",
        run.describe()
    );
    assert!(
        files_under(&dir).is_empty(),
        "refused pack left files behind: {:?}",
        files_under(&dir)
    );
    assert!(
        run.all_text().contains("--allow-multiple-patients"),
        "the refusal should say how to confirm:\n{}",
        run.describe()
    );
}

#[test]
fn pydicom_set_package_passes_all_validators() {
    if !interop("pydicom_set_package_passes_all_validators", NEEDS) {
        return;
    }
    let p = packed();
    assert!(
        matches!(p.run.code, Some(0) | Some(3)),
        "pack exit code:\n{}",
        p.run.describe()
    );
    check_package_self_consistent(p);
    check_with_all_validators(p);
}

#[test]
fn every_pydicom_file_is_accounted_for() {
    if !interop("every_pydicom_file_is_accounted_for", NEEDS) {
        return;
    }
    let p = packed();
    let root = pydicom_files().canonicalize().unwrap();
    let inv = pydicom_inventory(&root);
    let instances = manifest_instances(&p.manifest);

    // What the package holds, by canonical source path.
    let packed_sources: BTreeMap<PathBuf, &Instance> = instances
        .iter()
        .map(|i| {
            (
                resolve(&i.source_path, &p.cwd)
                    .unwrap_or_else(|| panic!("source {} missing", i.source_path)),
                i,
            )
        })
        .collect();
    let packed_uids: BTreeSet<&str> = instances
        .iter()
        .map(|i| i.sop_instance_uid.as_str())
        .collect();
    // What dicompack listed with a reason, in its --json output or the manifest.
    let mut reasons: BTreeMap<PathBuf, String> = BTreeMap::new();
    for doc in [&p.run.json(), &p.manifest] {
        for (path, reason) in path_reasons(doc) {
            if let Some(c) = resolve(&path, &p.cwd).or_else(|| resolve(&path, &root)) {
                assert!(!reason.trim().is_empty(), "{path}: empty reason");
                reasons.insert(c, reason);
            }
        }
    }

    let by_uid = {
        let mut m: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
        for f in &inv {
            if let Some(u) = f["sop_instance_uid"].as_str() {
                m.entry(u).or_default().push(f);
            }
        }
        m
    };

    let mut problems = Vec::new();
    let mut dicom_skipped = Vec::new();
    for f in &inv {
        let rel = f["path"].as_str().unwrap();
        let path = root.join(rel);
        let status = f["status"].as_str().unwrap();
        let uid = f["sop_instance_uid"].as_str();
        let is_dir = f["is_directory"] == Value::Bool(true);
        let in_pkg = packed_sources.get(&path);
        let reason = reasons.get(&path);

        if let Some(i) = in_pkg {
            if i.source_sha256 != f["sha256"].as_str().unwrap() {
                problems.push(format!(
                    "{rel}: source.sha256 in the manifest is not the file's"
                ));
            }
            if is_dir {
                problems.push(format!(
                    "{rel}: a directory object (DICOMDIR) was packed as an instance"
                ));
            }
            if let Some(u) = uid
                && status != "forced"
                && u != i.sop_instance_uid
            {
                problems.push(format!(
                    "{rel}: pydicom reads UID {u}, manifest says {}",
                    i.sop_instance_uid
                ));
            }
            continue;
        }
        if reason.is_none() {
            problems.push(format!(
                "{rel} ({status}): neither packed nor listed with a reason"
            ));
            continue;
        }
        if let (Some(u), false) = (uid, is_dir) {
            if status == "clean" {
                let group = &by_uid[u];
                // Without Study/Series Instance UIDs a file cannot be placed in a DICOMDIR
                // (STUDY and SERIES records need them), so skipping it is fair.
                let placeable =
                    f["study_instance_uid"].is_string() && f["series_instance_uid"].is_string();
                if group.len() == 1 && placeable {
                    problems.push(format!(
                        "{rel}: pydicom reads it cleanly and its UID is unique, yet it was skipped: {}",
                        reason.unwrap()
                    ));
                } else {
                    let distinct: BTreeSet<&str> = group
                        .iter()
                        .map(|g| g["sha256"].as_str().unwrap())
                        .collect();
                    if group.len() > 1 && distinct.len() == 1 && !packed_uids.contains(u) {
                        problems.push(format!("{rel}: identical copies of UID {u}, none packed"));
                    }
                }
            }
            let dup_of_packed = packed_uids.contains(u);
            if !dup_of_packed && status != "forced" {
                dicom_skipped.push(rel.to_string());
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} accounting problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    if !dicom_skipped.is_empty() {
        assert_eq!(
            p.run.code,
            Some(3),
            "DICOM input was skipped ({dicom_skipped:?}) but pack exited {:?}",
            p.run.code
        );
    }
    // Sanity: the set is what we think it is (guards against an empty or partial cache).
    assert!(
        inv.len() > 150,
        "only {} files in the pydicom set",
        inv.len()
    );
    let unique_clean = by_uid
        .values()
        .filter(|g| {
            g.len() == 1 && g[0]["status"] == "clean" && g[0]["is_directory"] != Value::Bool(true)
        })
        .filter(|g| {
            g[0]["study_instance_uid"].is_string() && g[0]["series_instance_uid"].is_string()
        })
        .count();
    assert!(
        instances.len() >= unique_clean,
        "{} instances packed, but {unique_clean} files have a unique UID and read cleanly",
        instances.len()
    );
}
