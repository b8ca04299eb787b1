//! Selection and identity safety (issue 5), through the real binary: what a selection packs is
//! checked in the manifest and with pydicom's FileSet over the DICOMDIR; identity variants are
//! crafted from the sample disc with pydicom, and each rule has a test that fails without it.

use crate::util::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Study Instance UIDs and modalities of the packed instances, from the manifest's tree.
fn packed_studies(manifest: &Value) -> BTreeSet<String> {
    manifest["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["study_instance_uid"].as_str().unwrap().to_string())
        .collect()
}

fn packed_modalities(manifest: &Value) -> BTreeSet<String> {
    manifest["patients"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["studies"].as_array().unwrap())
        .flat_map(|s| s["series"].as_array().unwrap())
        .filter(|se| se["instance_count"].as_u64().unwrap() > 0)
        .map(|se| se["modality"].as_str().unwrap().to_string())
        .collect()
}

/// Study UID of each study number, as `scan --json` prints them.
fn study_numbers(disc: &Path) -> Vec<(u64, String, String)> {
    let r = dicompack(&["scan", disc.to_str().unwrap(), "--json"], disc);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    doc["patients"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["studies"].as_array().unwrap())
        .map(|s| {
            (
                s["index"].as_u64().unwrap(),
                s["study_instance_uid"].as_str().unwrap().to_string(),
                s["date"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_study_typed_by_its_number_is_all_that_is_packed() {
    let disc = sample_disc();
    let studies = study_numbers(&disc);
    assert_eq!(studies.len(), 3, "the sample disc has three studies");
    let (_, wanted, _) = studies.iter().find(|(n, _, _)| *n == 2).unwrap().clone();
    let p = pack("select_study_2", &[&disc], &["--study", "2"]);
    assert_eq!(p.run.code, Some(0), "{}", p.run.describe());
    assert_eq!(
        packed_studies(&p.manifest),
        BTreeSet::from([wanted.clone()])
    );
    let left_out = p.manifest["left_out"].as_array().unwrap();
    assert_eq!(
        left_out.len(),
        2,
        "the two other studies are recorded as left out: {left_out:?}"
    );
    let index = std::fs::read_to_string(p.tree.join("INDEX.HTM")).unwrap();
    assert!(
        index.contains("Not included on purpose"),
        "the index page must say what was left out"
    );

    if interop(
        "a_study_typed_by_its_number_is_all_that_is_packed",
        &[Need::Pydicom],
    ) {
        let report = check_with_pydicom_fileset(&p.tree);
        let found: BTreeSet<String> = report["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["study_instance_uid"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            found,
            BTreeSet::from([wanted]),
            "pydicom's FileSet sees other studies"
        );
        assert_eq!(
            report["instances"].as_array().unwrap().len(),
            p.manifest["instances"].as_array().unwrap().len()
        );
    }
}

#[test]
fn modality_and_date_filters_select_what_they_say() {
    let disc = sample_disc();
    let mr = pack("select_mr", &[&disc], &["--modality", "MR"]);
    assert_eq!(
        packed_modalities(&mr.manifest),
        BTreeSet::from(["MR".to_string()])
    );

    let no_mr = pack("select_no_mr", &[&disc], &["--exclude-modality", "mr"]);
    let m = packed_modalities(&no_mr.manifest);
    assert!(!m.contains("MR") && !m.is_empty(), "{m:?}");

    let studies = study_numbers(&disc);
    let since = pack("select_since", &[&disc], &["--since", "2004-01-01"]);
    let expected: BTreeSet<String> = studies
        .iter()
        .filter(|(_, _, d)| d.as_str() >= "20040101")
        .map(|(_, uid, _)| uid.clone())
        .collect();
    assert_eq!(packed_studies(&since.manifest), expected);
    assert_eq!(expected.len(), 2, "two of the sample studies are from 2004");

    let until = pack("select_until", &[&disc], &["--until", "2003-12-31"]);
    assert_eq!(packed_studies(&until.manifest).len(), 1);
}

#[test]
fn a_selection_naming_nothing_real_is_refused_and_writes_nothing() {
    let disc = sample_disc();
    let dir = scratch("select_bad");
    for args in [
        vec!["--study", "9"],
        vec!["--series", "1.9"],
        vec!["--patient", "NOBODY"],
        vec!["--since", "last tuesday"],
    ] {
        let mut argv = vec!["pack", disc.to_str().unwrap(), "-o", "x.zip"];
        argv.extend(args.iter());
        let r = dicompack(&argv, &dir);
        assert_eq!(r.code, Some(2), "{args:?}: {}", r.describe());
        assert!(!dir.join("x.zip").exists(), "{args:?} wrote a package");
    }
}

#[test]
fn without_a_name_the_package_is_named_from_patient_and_dates_and_never_replaces_one() {
    let disc = sample_disc();
    let dir = scratch("select_default_name");
    let first = dicompack(&["pack", disc.to_str().unwrap()], &dir);
    assert_eq!(first.code, Some(0), "{}", first.describe());
    let second = dicompack(&["pack", disc.to_str().unwrap()], &dir);
    assert_eq!(second.code, Some(0), "{}", second.describe());
    let names: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let studies = study_numbers(&disc);
    let dates: BTreeSet<&str> = studies.iter().map(|(_, _, d)| d.as_str()).collect();
    let span = format!("{}-{}", dates.first().unwrap(), dates.last().unwrap());
    assert_eq!(
        names,
        BTreeSet::from([
            format!("DOE_JANE_{span}.zip"),
            format!("DOE_JANE_{span}_2.zip")
        ])
    );
    for n in &names {
        assert!(
            n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)),
            "{n}"
        );
    }
}

/// A copy of the sample disc where one file's identity attributes are changed with pydicom.
fn disc_with_variant(name: &str, assignments: &str) -> PathBuf {
    let dir = scratch(name).join("disc");
    copy_tree(&sample_disc(), &dir);
    let target = dir.join("DICOM/ST000001/SE000000/IM000000");
    let script = format!(
        "import pydicom\nds = pydicom.dcmread({t:?})\n{assignments}\nds.save_as({t:?})\n",
        t = target.display().to_string()
    );
    let r = run_tool("python3", &["-c", &script], &dir);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_map(Result::ok)
    {
        let target = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

#[test]
fn one_patient_id_with_two_birth_dates_is_two_people_until_a_person_says_otherwise() {
    if !interop("two_birth_dates", &[Need::Pydicom]) {
        return;
    }
    let disc = disc_with_variant("variant_birth", "ds.PatientBirthDate = '19600101'");
    let dir = scratch("variant_birth_out");
    let r = dicompack(&["pack", disc.to_str().unwrap(), "-o", "p.zip"], &dir);
    assert_eq!(
        r.code,
        Some(2),
        "a doubtful identity must stop the run: {}",
        r.describe()
    );
    assert!(!dir.join("p.zip").exists());
    assert!(
        r.stderr.contains("1958-03-12") && r.stderr.contains("1960-01-01"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("--allow-multiple-patients"),
        "{}",
        r.stderr
    );

    let p = pack(
        "variant_birth_allowed",
        &[&disc],
        &["--allow-multiple-patients"],
    );
    let identities = p.manifest["identities"].as_array().unwrap();
    assert_eq!(identities.len(), 2, "{identities:?}");
    let index = std::fs::read_to_string(p.tree.join("INDEX.HTM")).unwrap();
    assert!(
        index.contains("2 patient identities"),
        "the index page must show both identities"
    );
}

#[test]
fn a_name_spelled_two_ways_under_one_id_is_packed_and_flagged() {
    if !interop("two_spellings", &[Need::Pydicom]) {
        return;
    }
    let disc = disc_with_variant("variant_name", "ds.PatientName = 'Doe^Jane M'");
    let scan = dicompack(&["scan", disc.to_str().unwrap()], &disc);
    assert!(
        scan.stdout.contains("DOE^JANE / Doe^Jane M")
            || scan.stdout.contains("Doe^Jane M / DOE^JANE"),
        "scan must list the spellings side by side: {}",
        scan.stdout
    );
    let p = pack("variant_name_pack", &[&disc], &[]);
    assert_eq!(p.run.code, Some(0), "{}", p.run.describe());
    let warnings = p.manifest["warnings"].to_string();
    assert!(warnings.contains("different names"), "{warnings}");
}

#[test]
fn one_name_and_birth_date_under_two_ids_is_refused_by_default() {
    if !interop("two_ids", &[Need::Pydicom]) {
        return;
    }
    let disc = disc_with_variant(
        "variant_id",
        "ds.PatientID = 'OTHER-HOSP-77'\nds.IssuerOfPatientID = 'OTHER HOSPITAL'",
    );
    let scan = dicompack(&["scan", disc.to_str().unwrap()], &disc);
    assert!(
        scan.stdout.contains("same name and birth date"),
        "scan must flag one person under two IDs: {}",
        scan.stdout
    );
    let dir = scratch("variant_id_out");
    let r = dicompack(&["pack", disc.to_str().unwrap(), "-o", "p.zip"], &dir);
    assert_eq!(r.code, Some(2), "{}", r.describe());
    assert!(!dir.join("p.zip").exists());
    // Choosing one identity packs only that one.
    let p = pack("variant_id_chosen", &[&disc], &["--patient", "DPK100234"]);
    assert_eq!(p.run.code, Some(0), "{}", p.run.describe());
    let ids: BTreeSet<&str> = p.manifest["patients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["patient_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, BTreeSet::from(["DPK100234"]));
}

#[test]
fn a_series_missing_images_the_disc_lists_is_flagged_in_scan_manifest_and_pages() {
    let dir = scratch("incomplete_series").join("disc");
    copy_tree(&sample_disc(), &dir);
    std::fs::remove_file(dir.join("DICOM/ST000000/SE000001/IM000001")).unwrap();
    let scan = dicompack(&["scan", dir.to_str().unwrap(), "--json"], &dir);
    assert_eq!(scan.code, Some(3), "{}", scan.describe());
    let doc: Value = serde_json::from_str(&scan.stdout).unwrap();
    let flagged: Vec<u64> = doc["patients"][0]["studies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["series"].as_array().unwrap())
        .map(|se| se["missing_from_source"].as_u64().unwrap())
        .collect();
    assert_eq!(flagged.iter().sum::<u64>(), 1, "{flagged:?}");

    let p = pack("incomplete_series_pack", &[&dir], &[]);
    assert_eq!(p.run.code, Some(3), "{}", p.run.describe());
    let series: Vec<&Value> = p.manifest["patients"][0]["studies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["series"].as_array().unwrap())
        .filter(|se| se["missing_from_source"].as_u64() == Some(1))
        .collect();
    assert_eq!(series.len(), 1, "the manifest must flag the series");
    let pages: String = walkdir::WalkDir::new(p.tree.join("IHE_PDI"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "HTM"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(
        pages.contains("Incomplete at the source"),
        "the study page must flag it"
    );
}

/// Issue 3: an Encapsulated PDF report travels readable, as a .PDF beside its study's page.
#[test]
fn an_encapsulated_pdf_report_is_written_out_beside_its_study_page() {
    if !interop("encapsulated_pdf", &[Need::Pydicom]) {
        return;
    }
    let dir = scratch("encapsulated_pdf").join("disc");
    copy_tree(&sample_disc(), &dir);
    let pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
    std::fs::write(dir.join("report.pdf"), pdf).unwrap();
    // A real Encapsulated PDF Storage object, for the CT study's patient and study.
    let script = format!(
        "import pydicom\nfrom pydicom.dataset import Dataset, FileMetaDataset\nfrom pydicom.uid import generate_uid, ExplicitVRLittleEndian\n\
ct = pydicom.dcmread({ct:?})\nds = Dataset()\n\
for k in ['PatientName','PatientID','IssuerOfPatientID','PatientBirthDate','PatientSex','StudyInstanceUID','StudyDate','StudyTime','StudyID','AccessionNumber','StudyDescription']:\n    setattr(ds, k, getattr(ct, k, ''))\n\
ds.SOPClassUID = '1.2.840.10008.5.1.4.1.1.104.1'\nds.SOPInstanceUID = '2.25.4242'\nds.SeriesInstanceUID = '2.25.4243'\nds.Modality = 'DOC'\nds.SeriesNumber = 99\nds.InstanceNumber = 1\n\
ds.MIMETypeOfEncapsulatedDocument = 'application/pdf'\nds.EncapsulatedDocument = open({pdf:?}, 'rb').read()\n\
ds.file_meta = FileMetaDataset()\nds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID\nds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID\nds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian\n\
ds.save_as({out:?}, enforce_file_format=True)\n",
        ct = dir
            .join("DICOM/ST000001/SE000000/IM000000")
            .display()
            .to_string(),
        pdf = dir.join("report.pdf").display().to_string(),
        out = dir.join("DICOM/ST000001/REPORT").display().to_string(),
    );
    let r = run_tool("python3", &["-c", &script], &dir);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    std::fs::remove_file(dir.join("report.pdf")).unwrap();

    let p = pack("encapsulated_pdf_pack", &[&dir], &[]);
    assert_eq!(p.run.code, Some(0), "{}", p.run.describe());
    let pdfs: Vec<PathBuf> = walkdir::WalkDir::new(p.tree.join("IHE_PDI"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "PDF"))
        .map(|e| e.path().to_path_buf())
        .collect();
    assert_eq!(pdfs.len(), 1, "one PDF expected: {pdfs:?}");
    assert_eq!(
        std::fs::read(&pdfs[0]).unwrap(),
        pdf,
        "the PDF must come out byte for byte"
    );
    let name = pdfs[0].file_name().unwrap().to_string_lossy().into_owned();
    let pages: String = walkdir::WalkDir::new(p.tree.join("IHE_PDI"))
        .max_depth(1)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "HTM"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(pages.contains(&name), "a study page must link {name}");
    let listed = std::fs::read_to_string(p.tree.join("SHA256.TXT")).unwrap();
    assert!(listed.contains(&name), "SHA256.TXT must list the PDF");
}
