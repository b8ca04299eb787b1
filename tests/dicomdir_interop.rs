//! The DICOMDIR writer and reader against tools we did not write: DCMTK (`dcmdump`, `dcmmkdir`,
//! `dciodvfy` when present) and pydicom's `FileSet`, on real files from the pydicom wheel
//! (`tools/fetch-test-files` puts them in `.cache/pydicom/test_files`).
//!
//! A missing tool or missing test files skip a test loudly; with `DICOMPACK_REQUIRE_INTEROP=1`
//! they fail it instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;
use dicompack::dicomdir::{
    self, DicomDirError, DirInstance, DirPatient, DirSeries, DirStudy, FileSet,
};
use dicompack::layout::FileId;

use crate::util::*;

/// The pydicom test files, or None after logging the skip of `check`.
fn test_files(check: &str) -> Option<PathBuf> {
    interop(check, &[Need::PydicomFiles]).then(pydicom_files)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `dcmdump +sd`: must succeed with no error or warning lines.
fn dcmdump_clean(path: &Path) -> String {
    let o = Command::new("dcmdump")
        .arg("+sd")
        .arg(path)
        .output()
        .expect("run dcmdump");
    let out = text(&o);
    assert!(
        o.status.success(),
        "dcmdump failed on {}:\n{out}",
        path.display()
    );
    let bad: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("E:") || l.starts_with("W:"))
        .collect();
    assert!(
        bad.is_empty(),
        "dcmdump complains about {}:\n{}",
        path.display(),
        bad.join("\n")
    );
    out
}

/// The value of every `(gggg,eeee)` line in a dcmdump listing, in order.
fn dcmdump_values(dump: &str, tag: &str) -> Vec<String> {
    dump.lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with(tag))
        .filter_map(|l| Some(l.split_once('[')?.1.split_once(']')?.0.to_string()))
        .collect()
}

/// What pydicom's FileSet makes of a DICOMDIR: one JSON object per instance, in its order.
/// With `load`, every referenced file is opened and its SOP Instance UID compared.
const PYDICOM_LIST: &str = r#"
import sys, json, warnings, pydicom
from pydicom.fileset import FileSet
if sys.argv[2] == "strict":
    warnings.simplefilter("error")
def v(inst, kw):
    try:
        val = inst[kw].value
    except KeyError:
        return None
    return None if val is None or val == "" else str(val) if not isinstance(val, (list, pydicom.multival.MultiValue)) else [str(x) for x in val]
fs = FileSet(pydicom.dcmread(sys.argv[1]))
out = []
for inst in fs:
    fid = v(inst, "ReferencedFileID")
    uid = v(inst, "ReferencedSOPInstanceUIDInFile")
    if sys.argv[2] == "strict":
        ds = inst.load()
        if ds.SOPInstanceUID != uid:
            sys.exit(f"{inst.path}: SOPInstanceUID {ds.SOPInstanceUID} != directory's {uid}")
    out.append({"type": inst.node.record_type, "file_id": [fid] if isinstance(fid, str) else fid, "uid": uid,
                "patient_id": v(inst, "PatientID"), "study": v(inst, "StudyInstanceUID"),
                "series": v(inst, "SeriesInstanceUID")})
print(json.dumps(out))
"#;

/// Equal lists, or a short message naming the first difference.
fn assert_same<T: PartialEq + std::fmt::Debug>(got: &[T], want: &[T], what: &str) {
    if let Some(i) = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i)) {
        panic!(
            "{what}: {} records vs {} expected; first difference at #{i}:\n got  {:?}\n want {:?}",
            got.len(),
            want.len(),
            got.get(i),
            want.get(i)
        );
    }
}

#[derive(Debug, PartialEq)]
struct Listed {
    record_type: String,
    file_id: Option<Vec<String>>,
    uid: Option<String>,
    patient_id: Option<String>,
    study: Option<String>,
    series: Option<String>,
}

fn pydicom_list(path: &Path, strict: bool) -> Vec<Listed> {
    let o = Command::new("python3")
        .args(["-c", PYDICOM_LIST])
        .arg(path)
        .arg(if strict { "strict" } else { "lenient" })
        .output()
        .expect("run python3");
    assert!(
        o.status.success(),
        "pydicom rejects {}:\n{}",
        path.display(),
        text(&o)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("pydicom output is JSON");
    let s = |v: &serde_json::Value| v.as_str().map(str::to_string);
    json.as_array()
        .expect("a list")
        .iter()
        .map(|r| Listed {
            record_type: s(&r["type"]).unwrap_or_default(),
            file_id: r["file_id"]
                .as_array()
                .map(|a| a.iter().filter_map(s).collect()),
            uid: s(&r["uid"]),
            patient_id: s(&r["patient_id"]),
            study: s(&r["study"]),
            series: s(&r["series"]),
        })
        .collect()
}

fn ours_listed(d: &dicomdir::DicomDir) -> Vec<Listed> {
    d.records
        .iter()
        .map(|r| Listed {
            record_type: r.record_type.clone(),
            file_id: r.file_id.clone(),
            uid: r.sop_instance_uid.clone(),
            patient_id: r.patient_id.clone(),
            study: r.study_instance_uid.clone(),
            series: r.series_instance_uid.clone(),
        })
        .collect()
}

/// Header values of one real file, read with dicom-object.
struct Source {
    patient: (String, String),
    study: DirStudy,
    series: DirSeries,
    instance: DirInstance,
    birth_date: String,
    sex: String,
}

fn read_source(path: &Path) -> Source {
    let obj = OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .expect("open test file");
    let get = |tag| {
        obj.element_opt(tag)
            .ok()
            .flatten()
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
            .unwrap_or_default()
    };
    let int = |tag| get(tag).trim().parse::<i32>().ok();
    let meta = obj.meta();
    let trim = |s: &str| s.trim_end_matches(['\0', ' ']).to_string();
    Source {
        patient: (get(tags::PATIENT_ID), get(tags::PATIENT_NAME)),
        birth_date: get(tags::PATIENT_BIRTH_DATE),
        sex: get(tags::PATIENT_SEX),
        study: DirStudy {
            study_instance_uid: get(tags::STUDY_INSTANCE_UID),
            study_date: get(tags::STUDY_DATE),
            study_time: get(tags::STUDY_TIME),
            study_description: get(tags::STUDY_DESCRIPTION),
            study_id: get(tags::STUDY_ID),
            accession_number: get(tags::ACCESSION_NUMBER),
            source_text: None,
            series: vec![],
        },
        series: DirSeries {
            series_instance_uid: get(tags::SERIES_INSTANCE_UID),
            modality: get(tags::MODALITY),
            series_number: int(tags::SERIES_NUMBER),
            series_description: get(tags::SERIES_DESCRIPTION),
            source_text: None,
            instances: vec![],
        },
        instance: DirInstance {
            file_id: FileId::new(["PENDING"]).unwrap(),
            // The data set's own UIDs, not the file meta's: in rtplan.dcm the two differ.
            sop_class_uid: Some(get(tags::SOP_CLASS_UID))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| trim(meta.media_storage_sop_class_uid()))
                .into(),
            sop_instance_uid: Some(get(tags::SOP_INSTANCE_UID))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| trim(meta.media_storage_sop_instance_uid())),
            transfer_syntax_uid: trim(meta.transfer_syntax()).into(),
            instance_number: int(tags::INSTANCE_NUMBER),
            document: None,
        },
    }
}

/// Copy `names` into `root/DICOM/Pn/Sn/Rn/In` and describe them as a FileSet.
fn build_file_set(src: &Path, names: &[&str], root: &Path) -> FileSet {
    let mut fs = FileSet {
        file_set_id: "DICOMPACK_TEST".into(),
        patients: vec![],
    };
    let mut seen: BTreeMap<String, usize> = BTreeMap::new(); // patient key → index
    for name in names {
        let s = read_source(&src.join(name));
        let key = format!("{}\u{1}{}", s.patient.0, s.patient.1);
        let pi = *seen.entry(key).or_insert_with(|| {
            fs.patients.push(DirPatient {
                patient_id: s.patient.0.clone(),
                patient_name: s.patient.1.clone(),
                birth_date: s.birth_date.clone(),
                sex: s.sex.clone(),
                source_text: None,
                studies: vec![],
            });
            fs.patients.len() - 1
        });
        let p = &mut fs.patients[pi];
        let si = match p
            .studies
            .iter()
            .position(|x| x.study_instance_uid == s.study.study_instance_uid)
        {
            Some(i) => i,
            None => {
                p.studies.push(s.study);
                p.studies.len() - 1
            }
        };
        let st = &mut p.studies[si];
        let ri = match st
            .series
            .iter()
            .position(|x| x.series_instance_uid == s.series.series_instance_uid)
        {
            Some(i) => i,
            None => {
                st.series.push(s.series);
                st.series.len() - 1
            }
        };
        let se = &mut st.series[ri];
        let file_id: Vec<String> = vec![
            "DICOM".into(),
            format!("P{}", pi + 1),
            format!("S{}", si + 1),
            format!("R{}", ri + 1),
            format!("I{}", se.instances.len() + 1),
        ];
        let dest = file_id.iter().fold(root.to_path_buf(), |p, c| p.join(c));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(src.join(name), &dest).unwrap();
        se.instances.push(DirInstance {
            file_id: FileId::new(&file_id).unwrap(),
            ..s.instance
        });
    }
    fs
}

fn all_instances(fs: &FileSet) -> Vec<&DirInstance> {
    fs.patients
        .iter()
        .flat_map(|p| &p.studies)
        .flat_map(|s| &s.series)
        .flat_map(|s| &s.instances)
        .collect()
}

const REAL_FILES: &[&str] = &[
    "CT_small.dcm",
    "MR_small.dcm",
    "JPEG2000.dcm",
    "test-SR.dcm",
    "rtdose.dcm",
    "rtplan.dcm",
    "waveform_ecg.dcm",
    "MR_small_RLE.dcm", // same patient, study and series as MR_small: two images in one series
];

#[test]
fn our_dicomdir_is_accepted_by_dcmtk_and_pydicom() {
    let Some(src) = test_files("our_dicomdir_is_accepted_by_dcmtk_and_pydicom") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let fs = build_file_set(&src, REAL_FILES, tmp.path());
    let bytes = dicomdir::write(&fs).expect("write DICOMDIR");
    let path = tmp.path().join("DICOMDIR");
    std::fs::write(&path, &bytes).unwrap();
    let instances = all_instances(&fs);
    assert_eq!(instances.len(), REAL_FILES.len());

    // Our own reader, first.
    let d = dicomdir::read(&bytes).unwrap();
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    let want: Vec<(Vec<String>, String)> = instances
        .iter()
        .map(|i| {
            let id = i.file_id.components().map(str::to_string).collect();
            (id, i.sop_instance_uid.clone())
        })
        .collect();
    let got: Vec<(Vec<String>, String)> = d
        .records
        .iter()
        .map(|r| {
            (
                r.file_id.clone().unwrap(),
                r.sop_instance_uid.clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want);
    let types: Vec<&str> = d.records.iter().map(|r| r.record_type.as_str()).collect();
    for t in ["IMAGE", "SR DOCUMENT", "RT DOSE", "RT PLAN", "WAVEFORM"] {
        assert!(types.contains(&t), "no {t} record in {types:?}");
    }

    if interop(
        "our_dicomdir_is_accepted_by_dcmtk_and_pydicom: dcmdump",
        &[Need::Dcmtk],
    ) {
        let dump = dcmdump_clean(&path);
        let uids = dcmdump_values(&dump, "(0004,1511)");
        assert_eq!(uids, want.iter().map(|w| w.1.clone()).collect::<Vec<_>>());
        let ids = dcmdump_values(&dump, "(0004,1500)");
        assert_eq!(ids, want.iter().map(|w| w.0.join("\\")).collect::<Vec<_>>());
    }
    // dciodvfy judges the DICOMDIR of a whole package, where record keys the sources lack are
    // told from ours: `dicomdir_validator`. (Here the file-set is made by hand, without the keys
    // `pack` fills or takes from the objects.)
    if interop(
        "our_dicomdir_is_accepted_by_dcmtk_and_pydicom: pydicom",
        &[Need::Pydicom],
    ) {
        let listed = pydicom_list(&path, true);
        let got: Vec<(Vec<String>, String)> = listed
            .iter()
            .map(|l| (l.file_id.clone().unwrap(), l.uid.clone().unwrap()))
            .collect();
        assert_eq!(got, want, "pydicom sees other instances");
        assert_same(&ours_listed(&d), &listed, "our reader vs pydicom");
    }
}

#[test]
fn we_read_pydicoms_test_dicomdirs_as_pydicom_does() {
    let Some(src) = test_files("we_read_pydicoms_test_dicomdirs_as_pydicom_does") else {
        return;
    };
    let dir = src.join("dicomdirtests");
    let read = |name: &str| dicomdir::read(&std::fs::read(dir.join(name)).unwrap());
    let reference = read("DICOMDIR").unwrap();
    assert!(reference.warnings.is_empty(), "{:?}", reference.warnings);
    assert_eq!(reference.file_set_id, "PYDICOM_TEST");
    assert_eq!(reference.records.len(), 31);

    // Same content, other encodings and orders: the same records in the same order.
    for (name, warning) in [
        ("DICOMDIR-implicit", Some("Implicit VR")),
        ("DICOMDIR-reordered", None),
        // Elements were removed from the last record without fixing its item length.
        ("DICOMDIR-nooffset", Some("more than its sequence has left")),
    ] {
        let d = read(name).unwrap();
        assert_same(&d.records, &reference.records, name);
        match warning {
            Some(w) => assert!(
                d.warnings.len() == 1 && d.warnings[0].contains(w),
                "{name}: {:?}",
                d.warnings
            ),
            None => assert!(d.warnings.is_empty(), "{name}: {:?}", d.warnings),
        }
    }
    // Patient records with an invalid type (pydicom refuses this one): every file is still found.
    let d = read("DICOMDIR-nopatient").unwrap();
    let uids = |d: &dicomdir::DicomDir| {
        d.records
            .iter()
            .map(|r| r.sop_instance_uid.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(uids(&d), uids(&reference));
    let d = read("DICOMDIR-empty.dcm").unwrap();
    assert!(d.records.is_empty() && d.warnings.is_empty());
    assert!(matches!(
        read("DICOMDIR-bigEnd"),
        Err(DicomDirError::UnsupportedTransferSyntax(_))
    ));

    if interop(
        "we_read_pydicoms_test_dicomdirs_as_pydicom_does: pydicom",
        &[Need::Pydicom],
    ) {
        for name in [
            "DICOMDIR",
            "DICOMDIR-implicit",
            "DICOMDIR-reordered",
            "DICOMDIR-nooffset",
        ] {
            let d = read(name).unwrap();
            assert_same(
                &ours_listed(&d),
                &pydicom_list(&dir.join(name), false),
                name,
            );
        }
    }
}

#[test]
fn we_read_what_dcmmkdir_writes() {
    let Some(src) = test_files("we_read_what_dcmmkdir_writes") else {
        return;
    };
    if !interop("we_read_what_dcmmkdir_writes: dcmmkdir", &[Need::Dcmtk]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // dcmmkdir's DVD JPEG 2000 profile takes explicit little endian and JPEG 2000 files.
    let names = [
        "CT_small.dcm",
        "MR_small.dcm",
        "JPEG2000.dcm",
        "test-SR.dcm",
        "waveform_ecg.dcm",
    ];
    let fs = build_file_set(&src, &names, tmp.path());
    let o = Command::new("dcmmkdir")
        .current_dir(tmp.path())
        .args(["-Pd2", "+I", "+r", "+D", "DICOMDIR", "DICOM"])
        .output()
        .unwrap();
    assert!(o.status.success(), "dcmmkdir failed:\n{}", text(&o));
    let path = tmp.path().join("DICOMDIR");
    let d = dicomdir::read(&std::fs::read(&path).unwrap()).unwrap();
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);

    // Against dcmdump's listing of the same file: record order, file IDs, UIDs.
    if interop("we_read_what_dcmmkdir_writes: dcmdump", &[Need::Dcmtk]) {
        let dump = dcmdump_clean(&path);
        let ids: Vec<String> = d
            .records
            .iter()
            .map(|r| r.file_id.clone().unwrap().join("\\"))
            .collect();
        assert_eq!(ids, dcmdump_values(&dump, "(0004,1500)"));
        let uids: Vec<String> = d
            .records
            .iter()
            .map(|r| r.sop_instance_uid.clone().unwrap())
            .collect();
        assert_eq!(uids, dcmdump_values(&dump, "(0004,1511)"));
    }
    // Against what the files themselves say.
    let mut want: Vec<(String, String, String)> = all_instances(&fs)
        .iter()
        .map(|i| {
            (
                i.file_id.joined('\\'),
                i.sop_instance_uid.clone(),
                i.sop_class_uid.to_string(),
            )
        })
        .collect();
    let mut got: Vec<(String, String, String)> = d
        .records
        .iter()
        .map(|r| {
            (
                r.file_id.clone().unwrap().join("\\"),
                r.sop_instance_uid.clone().unwrap(),
                r.sop_class_uid.clone().unwrap(),
            )
        })
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    let types: Vec<&str> = d.records.iter().map(|r| r.record_type.as_str()).collect();
    assert!(
        types.contains(&"SR DOCUMENT") && types.contains(&"WAVEFORM"),
        "{types:?}"
    );
    // DCMTK and we agree on the record type of every class.
    for r in &d.records {
        assert_eq!(
            r.record_type,
            dicomdir::record_type_for_sop_class(r.sop_class_uid.as_deref().unwrap())
        );
    }
    if interop("we_read_what_dcmmkdir_writes: pydicom", &[Need::Pydicom]) {
        assert_same(
            &ours_listed(&d),
            &pydicom_list(&path, false),
            "our reader vs pydicom on dcmmkdir's DICOMDIR",
        );
    }
}

/// Makes a Microscopy Bulk Simple Annotations object beside CT_small (same patient and study,
/// its own series) with pydicom: no public collection we fetch holds one.
const MAKE_ANNOTATION: &str = r#"
import sys, pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import generate_uid, ExplicitVRLittleEndian
ct = pydicom.dcmread(sys.argv[1])
ds = Dataset()
for kw in ["PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID",
           "StudyDate", "StudyTime", "StudyID", "AccessionNumber", "ReferringPhysicianName"]:
    setattr(ds, kw, ct.get(kw, ""))
ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.91.1"
ds.SOPInstanceUID = generate_uid()
ds.SeriesInstanceUID = generate_uid()
ds.Modality = "ANN"
ds.SeriesNumber = 99
ds.InstanceNumber = 1
ds.ContentDate, ds.ContentTime, ds.ContentLabel = "20200101", "120000", "NUCLEI"
ds.AnnotationCoordinateType = "2D"
ds.file_meta = FileMetaDataset()
ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds.save_as(sys.argv[2], enforce_file_format=True)
print(ds.SOPInstanceUID)
"#;

/// An annotation object gets a PRIVATE record (Private Record UID = its SOP Class UID), not
/// the ANNOTATION record type that pydicom 3.0.2's FileSet and dicom3tools 2022 refuse (README):
/// every reader opens the DICOMDIR and finds the file.
#[test]
fn an_annotation_object_gets_a_record_every_reader_opens() {
    let check = "an_annotation_object_gets_a_record_every_reader_opens";
    if !interop(
        check,
        &[
            Need::Pydicom,
            Need::PydicomFiles,
            Need::Dcmtk,
            Need::Dicom3tools,
        ],
    ) {
        return;
    }
    let dir = scratch("annotation-record");
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::copy(pydicom_files().join("CT_small.dcm"), input.join("ct.dcm")).unwrap();
    let made = run_tool(
        "python3",
        &[
            "-c",
            MAKE_ANNOTATION,
            pydicom_files().join("CT_small.dcm").to_str().unwrap(),
            input.join("ann.dcm").to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(made.code, Some(0), "{}", made.describe());
    let annotation_uid = made.stdout.trim().to_string();
    let p = pack("annotation-record-pack", &[&input], &[]);
    assert_eq!(p.run.code, Some(0), "{}", p.run.describe());
    check_with_all_validators(&p); // pydicom's FileSet loads it and finds both files
    let dump = dcmdump_clean(&p.tree.join("DICOMDIR"));
    let types = dcmdump_values(&dump, "(0004,1430)");
    assert!(types.iter().any(|t| t == "PRIVATE"), "{types:?}");
    assert!(!types.iter().any(|t| t == "ANNOTATION"), "{types:?}");
    // dcmdump names a UID it knows (`=MicroscopyBulkSimpleAnnotationsStorage`).
    let private_uid: Vec<&str> = dump
        .lines()
        .filter(|l| l.trim_start().starts_with("(0004,1432)"))
        .collect();
    assert!(
        private_uid.len() == 1
            && (private_uid[0].contains("[1.2.840.10008.5.1.4.1.1.91.1]")
                || private_uid[0].contains("=MicroscopyBulkSimpleAnnotationsStorage")),
        "Private Record UID: {private_uid:?}"
    );
    assert!(
        dcmdump_values(&dump, "(0004,1511)").contains(&annotation_uid),
        "the PRIVATE record references the annotation object"
    );
    let errors = dciodvfy_dicomdir(&p);
    assert_eq!(errors.total, 0, "dciodvfy: {:?}", errors.ours);
}
