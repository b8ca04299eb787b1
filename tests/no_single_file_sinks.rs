//! No single input can abort a package (issue 12): whatever one file lacks costs that file at
//! most. Each case puts one crafted file beside the sample disc's images and packs: the package
//! is made, verifies, holds every other image, and lists the crafted file with its code.

use crate::util::*;

use std::fs;
use std::path::Path;

/// The data set of a PS3.10 file alone (no preamble, no meta), as old discs carry it.
fn headerless(file: &Path) -> Vec<u8> {
    let data = fs::read(file).unwrap();
    let (_, start) = split_part10(&data);
    data[start..].to_vec()
}

/// Where the first explicit-VR little-endian element `tag` with VR `vr` starts.
fn find(data: &[u8], tag: (u16, u16), vr: &[u8; 2]) -> usize {
    let mut want = Vec::new();
    want.extend_from_slice(&tag.0.to_le_bytes());
    want.extend_from_slice(&tag.1.to_le_bytes());
    want.extend_from_slice(vr);
    data.windows(6)
        .position(|w| w == want.as_slice())
        .unwrap_or_else(|| panic!("no {tag:04X?} {} element", String::from_utf8_lossy(vr)))
}

/// Gives the first explicit-VR little-endian element `from` (with VR `vr`) the tag `to`.
fn retag(data: &mut [u8], from: (u16, u16), to: (u16, u16), vr: &[u8; 2]) {
    let at = find(data, from, vr);
    data[at..at + 2].copy_from_slice(&to.0.to_le_bytes());
    data[at + 2..at + 4].copy_from_slice(&to.1.to_le_bytes());
}

/// Takes out the first explicit-VR little-endian element `tag` (short form, with VR `vr`).
fn remove(data: &mut Vec<u8>, tag: (u16, u16), vr: &[u8; 2]) {
    let at = find(data, tag, vr);
    let len = u16::from_le_bytes([data[at + 6], data[at + 7]]) as usize;
    data.drain(at..at + 8 + len);
}

/// Packs the sample disc with `extra` added as `name`; returns the pack JSON after checking
/// that a package was made (exit 3: something was left out), that it verifies, and that it
/// holds every image of the sample disc.
fn pack_with(case: &str, name: &str, extra: &[u8]) -> serde_json::Value {
    let dir = scratch(case);
    let disc = dir.join("disc");
    copy_dir(&sample_disc(), &disc);
    let clean = dicompack(&["scan", disc.to_str().unwrap(), "--json"], &dir).json();
    let images = clean["summary"]["instances"].as_u64().unwrap();
    fs::write(disc.join("DICOM").join(name), extra).unwrap();
    let out = dir.join("out.zip");
    let run = dicompack(
        &[
            "pack",
            disc.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--json",
        ],
        &dir,
    );
    assert_eq!(run.code, Some(3), "{}", run.describe());
    let doc = run.json();
    assert_eq!(
        doc["summary"]["instances"].as_u64(),
        Some(images),
        "{}",
        run.describe()
    );
    let verify = dicompack(&["verify", out.to_str().unwrap()], &dir);
    assert_eq!(verify.code, Some(0), "{}", verify.describe());
    doc
}

/// The code the pack JSON gives the skipped file whose path ends in `name`.
fn skipped_code(doc: &serde_json::Value, name: &str) -> String {
    let skipped = doc["skipped"].as_array().expect("a skipped list");
    let entry = skipped
        .iter()
        .find(|s| s["path"].as_str().is_some_and(|p| p.ends_with(name)))
        .unwrap_or_else(|| panic!("{name} is not among the skipped: {skipped:?}"));
    assert!(
        entry["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{entry}"
    );
    entry["code"].as_str().unwrap().to_string()
}

#[test]
fn a_file_that_names_no_sop_class_costs_that_file_only() {
    // Headerless (so no file header holds a Media Storage SOP Class either), and its SOP Class
    // UID element renamed to (0008,0017): nothing says what kind of object it is.
    let mut ds = headerless(&sample_disc().join("DICOM/ST000000/SE000001/IM000000"));
    retag(&mut ds, (0x0008, 0x0016), (0x0008, 0x0017), b"UI");
    let doc = pack_with("no-sop-class", "NOCLASS", &ds);
    assert_eq!(skipped_code(&doc, "NOCLASS"), "no_sop_class_uid");
}

#[test]
fn a_file_that_names_no_series_costs_that_file_only() {
    let mut ds = fs::read(sample_disc().join("DICOM/ST000000/SE000001/IM000000")).unwrap();
    retag(&mut ds, (0x0020, 0x000E), (0x0020, 0x000F), b"UI");
    let doc = pack_with("no-series", "NOSERIES", &ds);
    assert_eq!(skipped_code(&doc, "NOSERIES"), "no_study_or_series");
}

/// A file without Study ID, Series Number, Instance Number and Modality (Type 1 keys of the
/// DICOMDIR's records) is packed; the DICOMDIR gets them filled as `dcmmkdir +I` fills them,
/// and MANIFEST.JSN lists each filled value.
#[test]
fn missing_type1_keys_are_filled_and_recorded() {
    let mut data = fs::read(sample_disc().join("DICOM/ST000000/SE000001/IM000000")).unwrap();
    for (tag, vr) in [
        ((0x0008, 0x0060), b"CS"),
        ((0x0020, 0x0010), b"SH"),
        ((0x0020, 0x0011), b"IS"),
        ((0x0020, 0x0013), b"IS"),
    ] {
        remove(&mut data, tag, vr);
    }
    let dir = scratch("type1-filled");
    let disc = dir.join("disc");
    fs::create_dir_all(&disc).unwrap();
    fs::write(disc.join("IM1"), &data).unwrap();
    let out = dir.join("out.zip");
    let run = dicompack(
        &["pack", disc.to_str().unwrap(), "-o", out.to_str().unwrap()],
        &dir,
    );
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let files: std::collections::BTreeMap<String, Vec<u8>> = read_zip(&out).into_iter().collect();
    let manifest: serde_json::Value = serde_json::from_slice(&files["MANIFEST.JSN"]).unwrap();
    let mut filled: Vec<(String, String, String)> = manifest["filled"]
        .as_array()
        .unwrap_or_else(|| panic!("no filled list: {manifest}"))
        .iter()
        .map(|f| {
            (
                f["record"].as_str().unwrap().to_string(),
                f["attribute"].as_str().unwrap().to_string(),
                f["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    filled.sort();
    let want = |r: &str, a: &str, v: &str| (r.to_string(), a.to_string(), v.to_string());
    assert_eq!(
        filled,
        vec![
            want("IMAGE", "InstanceNumber", "1"),
            want("SERIES", "Modality", "OT"),
            want("SERIES", "SeriesNumber", "1"),
            want("STUDY", "StudyID", "1"),
        ]
    );
    // DCMTK reads the same values from the DICOMDIR.
    if !interop("type1_keys_in_the_dicomdir", &[Need::Dcmtk]) {
        return;
    }
    let dicomdir = dir.join("DICOMDIR");
    fs::write(&dicomdir, &files["DICOMDIR"]).unwrap();
    let dump = run_tool("dcmdump", &[dicomdir.to_str().unwrap()], &dir);
    assert_eq!(dump.code, Some(0), "{}", dump.describe());
    for line in [
        "(0020,0010) SH [1]",
        "(0020,0011) IS [1]",
        "(0020,0013) IS [1]",
        "(0008,0060) CS [OT]",
    ] {
        assert!(
            dump.stdout.contains(line),
            "{line} not in:\n{}",
            dump.stdout
        );
    }
}
