//! Writer ↔ reader round trips, and the reader against hostile bytes.

use super::*;

const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
const SR: &str = "1.2.840.10008.5.1.4.1.1.88.22";
const HANGING: &str = "1.2.840.10008.5.1.4.38.1";
use crate::dicom::syntax::EXPLICIT_VR_LITTLE_ENDIAN as EXPLICIT;
use dicom_dictionary_std::uids::JPEG2000_LOSSLESS as JPEG2000;

fn instance(path: &[&str], class: &str, uid: &str, number: i32) -> DirInstance {
    DirInstance {
        file_id: FileId::new(path).unwrap(),
        sop_class_uid: class.into(),
        sop_instance_uid: uid.into(),
        transfer_syntax_uid: EXPLICIT.into(),
        instance_number: Some(number),
        document: None,
    }
}

fn sample() -> FileSet {
    let series = |uid: &str, modality: &str, instances| DirSeries {
        series_instance_uid: uid.into(),
        modality: modality.into(),
        series_number: Some(1),
        series_description: "Axial 5mm".into(),
        instances,
        source_text: None,
    };
    let mut ct2 = instance(&["DICOM", "P1", "S1", "R1", "I2"], CT, "1.2.3.1.1.1.2", 2);
    ct2.transfer_syntax_uid = JPEG2000.into();
    FileSet {
        file_set_id: "DICOMPACK".into(),
        patients: vec![
            DirPatient {
                patient_id: "PID-1".into(),
                patient_name: "Doe^Jane".into(),
                birth_date: "19700101".into(),
                sex: "F".into(),
                source_text: None,
                studies: vec![DirStudy {
                    study_instance_uid: "1.2.3.1".into(),
                    study_date: "20240102".into(),
                    study_time: "101500".into(),
                    study_description: "CT Chest".into(),
                    study_id: "42".into(),
                    accession_number: "A1".into(),
                    source_text: None,
                    series: vec![
                        series(
                            "1.2.3.1.1",
                            "CT",
                            vec![
                                instance(
                                    &["DICOM", "P1", "S1", "R1", "I1"],
                                    CT,
                                    "1.2.3.1.1.1.1",
                                    1,
                                ),
                                ct2,
                            ],
                        ),
                        series(
                            "1.2.3.1.2",
                            "SR",
                            vec![instance(
                                &["DICOM", "P1", "S1", "R2", "I1"],
                                SR,
                                "1.2.3.1.2.1",
                                1,
                            )],
                        ),
                    ],
                }],
            },
            DirPatient {
                patient_id: "Ünïcødé-ID".into(),
                patient_name: "Müller^Jürgen=ミュラー^ユルゲン".into(),
                studies: vec![
                    DirStudy {
                        study_instance_uid: "1.2.4.1".into(),
                        study_description: "Étude ".repeat(20), // 140 bytes: cut to 64
                        series: vec![series(
                            "1.2.4.1.1",
                            "MR",
                            vec![instance(
                                &["DICOM", "P2", "S1", "R1", "I1"],
                                "1.2.840.10008.5.1.4.1.1.4",
                                "1.2.4.1.1.1",
                                1,
                            )],
                        )],
                        ..DirStudy::default()
                    },
                    DirStudy {
                        study_instance_uid: "1.2.4.2".into(),
                        series: vec![series(
                            "1.2.4.2.1",
                            "OT",
                            vec![instance(
                                &["DICOM", "P2", "S2", "R1", "I1"],
                                HANGING,
                                "1.2.4.2.1.1",
                                1,
                            )],
                        )],
                        ..DirStudy::default()
                    },
                ],
                ..DirPatient::default()
            },
        ],
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// Byte positions of every Directory Record item (our writer: explicit lengths, ASCII values).
fn items(bytes: &[u8]) -> Vec<usize> {
    find(bytes, &[0xFE, 0xFF, 0x00, 0xE0])
}

fn put_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Value positions of (0004,1400) next and (0004,1420) lower in the record at `item`.
fn next_at(item: usize) -> usize {
    item + 8 + 8
}
fn lower_at(item: usize) -> usize {
    item + 8 + 12 + 10 + 8
}
fn root_first_at(bytes: &[u8]) -> usize {
    find(bytes, &[0x04, 0x00, 0x00, 0x12, b'U', b'L', 4, 0])[0] + 8
}

fn uids(d: &DicomDir) -> Vec<Option<String>> {
    d.records
        .iter()
        .map(|r| r.sop_instance_uid.clone())
        .collect()
}

#[test]
fn round_trip_gives_back_every_file_and_uid_in_order() {
    let fs = sample();
    let bytes = write(&fs).unwrap();
    assert_eq!(&bytes[128..132], b"DICM");
    let d = read(&bytes).unwrap();
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert_eq!(d.file_set_id, "DICOMPACK");

    // Hanging protocols are lifted to the root, after the patients.
    let mut want = Vec::new();
    let mut hanging = Vec::new();
    for p in &fs.patients {
        for st in &p.studies {
            for se in &st.series {
                for i in &se.instances {
                    let rec = DirRecord {
                        record_type: record_type_for_sop_class(&i.sop_class_uid).into(),
                        file_id: Some(i.file_id.components().map(str::to_string).collect()),
                        sop_class_uid: Some(i.sop_class_uid.to_string()),
                        sop_instance_uid: Some(i.sop_instance_uid.clone()),
                        transfer_syntax_uid: Some(i.transfer_syntax_uid.to_string()),
                        patient_id: Some(p.patient_id.clone()),
                        study_instance_uid: Some(st.study_instance_uid.clone()),
                        series_instance_uid: Some(se.series_instance_uid.clone()),
                    };
                    if &*i.sop_class_uid == HANGING {
                        hanging.push(DirRecord {
                            patient_id: None,
                            study_instance_uid: None,
                            series_instance_uid: None,
                            ..rec
                        });
                    } else {
                        want.push(rec);
                    }
                }
            }
        }
    }
    want.extend(hanging);
    assert_eq!(d.records, want);
    assert_eq!(d.records[2].record_type, "SR DOCUMENT");
    assert_eq!(d.records[4].record_type, "HANGING PROTOCOL");
    assert_eq!(d.records[1].transfer_syntax_uid.as_deref(), Some(JPEG2000));
}

#[test]
fn offsets_point_at_item_tags_counted_from_the_preamble() {
    let bytes = write(&sample()).unwrap();
    let at = root_first_at(&bytes);
    let first = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    assert_eq!(&bytes[first..first + 4], &[0xFE, 0xFF, 0x00, 0xE0]);
    assert_eq!(first, items(&bytes)[0]);
    // Patient 1's next record is patient 2, and its lower-level entity is the study right after.
    let its = items(&bytes);
    let next = u32::from_le_bytes(
        bytes[next_at(first)..next_at(first) + 4]
            .try_into()
            .unwrap(),
    ) as usize;
    let lower = u32::from_le_bytes(
        bytes[lower_at(first)..lower_at(first) + 4]
            .try_into()
            .unwrap(),
    ) as usize;
    assert_eq!(lower, its[1]);
    assert!(its.contains(&next) && next > lower);
    assert_eq!(&bytes[next + 8 + 34 + 8..next + 8 + 34 + 8 + 7], b"PATIENT");
    // Every length is even.
    assert_eq!(bytes.len() % 2, 0);
}

#[test]
fn same_input_gives_identical_bytes_and_other_input_another_uid() {
    let a = write(&sample()).unwrap();
    let b = write(&sample()).unwrap();
    assert_eq!(a, b);
    let mut other = sample();
    other.patients[0].studies[0].series[0].instances[0].sop_instance_uid = "1.2.3.9".into();
    let c = write(&other).unwrap();
    let uid_of = |bytes: &[u8]| {
        let at = find(bytes, b"2.25.")[0];
        bytes[at..at + 30].to_vec()
    };
    assert_ne!(uid_of(&a), uid_of(&c));
    assert!(find(&a, IMPLEMENTATION_CLASS_UID.as_bytes()).len() == 1);
    assert!(find(&a, IMPLEMENTATION_VERSION_NAME.as_bytes()).len() == 1);
}

#[test]
fn non_ascii_values_are_utf8_with_iso_ir_192() {
    let bytes = write(&sample()).unwrap();
    assert_eq!(
        find(&bytes, b"ISO_IR 192").len(),
        2,
        "patient 2 and its long-description study"
    );
    assert_eq!(
        find(&bytes, "Müller^Jürgen=ミュラー^ユルゲン".as_bytes()).len(),
        1
    );
    // The 140-byte description is cut to at most 64 bytes without splitting a character.
    let at = find(&bytes, "Étude".as_bytes())[0];
    let len = u16::from_le_bytes([bytes[at - 2], bytes[at - 1]]) as usize;
    assert!(len <= 64 && len.is_multiple_of(2), "{len}");
    assert!(std::str::from_utf8(&bytes[at..at + len]).is_ok());
    let d = read(&bytes).unwrap();
    assert_eq!(d.records[3].patient_id.as_deref(), Some("Ünïcødé-ID"));
}

#[test]
fn empty_file_set_is_a_valid_directory() {
    let bytes = write(&FileSet {
        file_set_id: "EMPTY".into(),
        patients: vec![],
    })
    .unwrap();
    assert_eq!(
        u32::from_le_bytes(bytes[root_first_at(&bytes)..][..4].try_into().unwrap()),
        0
    );
    let d = read(&bytes).unwrap();
    assert!(d.records.is_empty() && d.warnings.is_empty(), "{d:?}");
}

#[test]
fn writer_rejects_what_would_point_nowhere() {
    // (A file ID that would point nowhere, such as `DICOM/..`, cannot be built: see
    // `layout::FileId::new`.)
    let mut fs = sample();
    fs.patients[0].studies[0].series[0].instances[0].sop_instance_uid = " ".into();
    assert!(
        write(&fs)
            .unwrap_err()
            .to_string()
            .contains("SOP Instance UID")
    );
}

// ---- hostile inputs ----

#[test]
fn offset_loop_falls_back_to_sequence_order() {
    let good = write(&sample()).unwrap();
    let want = uids(&read(&good).unwrap());
    let mut bytes = good.clone();
    let its = items(&bytes);
    // The last CT image's "next" points back to its patient.
    put_u32(&mut bytes, next_at(its[4]), its[0] as u32);
    let d = read(&bytes).unwrap();
    assert!(
        d.warnings.iter().any(|w| w.contains("loop")),
        "{:?}",
        d.warnings
    );
    assert_eq!(uids(&d), want);
}

#[test]
fn self_reference_is_caught() {
    let mut bytes = write(&sample()).unwrap();
    let its = items(&bytes);
    put_u32(&mut bytes, lower_at(its[2]), its[2] as u32); // a series that contains itself
    let d = read(&bytes).unwrap();
    assert!(
        d.warnings.iter().any(|w| w.contains("loop")),
        "{:?}",
        d.warnings
    );
    assert_eq!(d.records.len(), 5);
    assert_eq!(
        d.records[0].series_instance_uid.as_deref(),
        Some("1.2.3.1.1")
    );
}

#[test]
fn out_of_range_offsets_fall_back_with_a_warning() {
    let good = write(&sample()).unwrap();
    let want = read(&good).unwrap().records;
    for patch in [0u32, 7, 0xFFFF_FFF0, good.len() as u32] {
        let mut bytes = good.clone();
        let at = root_first_at(&bytes);
        put_u32(&mut bytes, at, patch);
        let d = read(&bytes).unwrap();
        assert_eq!(d.warnings.len(), 1, "{patch}: {:?}", d.warnings);
        assert!(d.warnings[0].contains("sequence"), "{:?}", d.warnings);
        // Sequence order gives the same answer as the offsets, except that the root-level
        // hanging protocol now sits under the last series seen.
        assert_eq!(d.records[..4], want[..4]);
        assert_eq!(d.records[4].sop_instance_uid, want[4].sop_instance_uid);
    }
    let mut bytes = good.clone();
    let its = items(&bytes);
    put_u32(&mut bytes, next_at(its[3]), 0x7FFF_FFFF);
    let d = read(&bytes).unwrap();
    assert!(
        d.warnings[0].contains("no record starts"),
        "{:?}",
        d.warnings
    );
    assert_eq!(uids(&d), uids(&read(&good).unwrap()));
}

#[test]
fn truncated_buffers_never_panic_and_keep_what_was_read() {
    let good = write(&sample()).unwrap();
    let its = items(&good);
    for cut in 0..good.len() {
        let r = read(&good[..cut]);
        if cut < its[0] {
            assert!(r.is_err(), "cut at {cut}");
        } else if let Ok(d) = r {
            assert!(!d.warnings.is_empty(), "cut at {cut} went unnoticed");
            assert!(d.records.len() <= 5);
        }
    }
    // Cut in the middle of the MR image record: the three before it are kept.
    let d = read(&good[..its[10] + 20]).unwrap();
    assert_eq!(d.records.len(), 3);
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("more than the file has left")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn giant_lengths_are_refused_not_allocated() {
    let good = write(&sample()).unwrap();
    // Directory Record Sequence length.
    let mut bytes = good.clone();
    let sq = find(&bytes, &[0x04, 0x00, 0x20, 0x12, b'S', b'Q'])[0];
    put_u32(&mut bytes, sq + 8, 0xFFFF_FFF0);
    let d = read(&bytes).unwrap();
    assert_eq!(d.records.len(), 5);
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("more than the file has left"))
    );
    // An item length.
    let mut bytes = good.clone();
    let its = items(&bytes);
    put_u32(&mut bytes, its[3] + 4, 0xFFFF_FFF0);
    let d = read(&bytes).unwrap();
    assert!(d.records.len() < 5);
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("more than its sequence has left")),
        "{:?}",
        d.warnings
    );
    // A file meta element length.
    let mut bytes = good.clone();
    let ts = find(&bytes, &[0x02, 0x00, 0x10, 0x00, b'U', b'I'])[0];
    bytes[ts + 6] = 0xFF;
    bytes[ts + 7] = 0xFF;
    assert!(matches!(read(&bytes), Err(DicomDirError::Truncated(_))));
    // The whole file.
    let huge = vec![0u8; MAX_DICOMDIR_BYTES + 1]; // zeroed pages: not really touched
    assert!(matches!(read(&huge), Err(DicomDirError::TooLarge { .. })));
}

#[test]
fn every_single_byte_corruption_is_survived() {
    let good = write(&sample()).unwrap();
    for at in 0..good.len() {
        for v in [0x00, 0xFF, 0x80] {
            let mut bytes = good.clone();
            bytes[at] = v;
            let _ = read(&bytes); // must return, not panic or hang
        }
    }
}

#[test]
fn deep_nesting_is_refused() {
    // A record holding a private undefined-length sequence nested 1000 deep.
    let good = write(&sample()).unwrap();
    let its = items(&good);
    let mut bytes = good[..its[1]].to_vec();
    let mut nest = Vec::new();
    for _ in 0..1000 {
        nest.extend_from_slice(&[
            0x09, 0x00, 0x10, 0x10, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        nest.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    }
    bytes.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    bytes.extend_from_slice(&good[its[1] + 8..its[2]]); // the study record's elements
    bytes.extend(nest);
    let d = read(&bytes).unwrap();
    assert!(
        d.warnings.iter().any(|w| w.contains("nested more than")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn unknown_nested_sequences_inside_records_are_skipped() {
    // Insert an undefined-length private sequence holding one undefined-length item into the
    // first image record, and fix the lengths and offsets that follow.
    let fs = sample();
    let good = write(&fs).unwrap();
    let its = items(&good);
    let seq: &[u8] = &[
        0x29, 0x00, 0x10, 0x10, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF,
        0xFF, // (0029,1010) SQ undefined
        0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF, // item, undefined
        0x29, 0x00, 0x11, 0x10, b'L', b'O', 2, 0, b'X', b' ', // (0029,1011) LO "X"
        0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0, // item end
        0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0, // sequence end
    ];
    let end_of_image = its[4];
    let mut bytes = good[..end_of_image].to_vec();
    bytes.extend_from_slice(seq);
    bytes.extend_from_slice(&good[end_of_image..]);
    let grow = seq.len() as u32;
    let bump = |bytes: &mut Vec<u8>, at: usize| {
        let v = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        if v as usize >= end_of_image {
            put_u32(bytes, at, v + grow);
        }
    };
    let sq = find(&bytes, &[0x04, 0x00, 0x20, 0x12, b'S', b'Q'])[0];
    let l = u32::from_le_bytes(bytes[sq + 8..sq + 12].try_into().unwrap());
    put_u32(&mut bytes, sq + 8, l + grow);
    let l = u32::from_le_bytes(bytes[its[3] + 4..its[3] + 8].try_into().unwrap());
    put_u32(&mut bytes, its[3] + 4, l + grow);
    let at = root_first_at(&bytes);
    bump(&mut bytes, at);
    bump(&mut bytes, at + 12);
    for &i in &its {
        let i = if i >= end_of_image { i + seq.len() } else { i };
        bump(&mut bytes, next_at(i));
        bump(&mut bytes, lower_at(i));
    }
    let d = read(&bytes).unwrap();
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert_eq!(d.records, read(&good).unwrap().records);
}

#[test]
fn unsafe_file_ids_are_returned_and_flagged() {
    let mut fs = sample();
    fs.patients[0].studies[0].series[0].instances[0].file_id = FileId::new(["AA", "BB"]).unwrap();
    let mut bytes = write(&fs).unwrap();
    let at = find(&bytes, b"AA\\BB")[0];
    bytes[at..at + 2].copy_from_slice(b"..");
    let d = read(&bytes).unwrap();
    assert_eq!(
        d.records[0].file_id,
        Some(vec!["..".to_string(), "BB".to_string()])
    );
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("'..\\BB'") && w.contains("outside")),
        "{:?}",
        d.warnings
    );

    bytes[at..at + 3].copy_from_slice(b"\\A\\"); // "\A\BB": absolute-looking
    let d = read(&bytes).unwrap();
    assert_eq!(
        d.records[0].file_id,
        Some(vec!["".to_string(), "A".into(), "BB".into()])
    );
    assert!(
        d.warnings.iter().any(|w| w.contains("looks absolute")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn inactive_records_are_ignored() {
    let mut bytes = write(&sample()).unwrap();
    let its = items(&bytes);
    let flag = its[4] + 8 + 12 + 8; // (0004,1410) value of the second CT image
    bytes[flag..flag + 2].copy_from_slice(&[0, 0]);
    let d = read(&bytes).unwrap();
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert_eq!(d.records.len(), 4);
    assert!(!uids(&d).contains(&Some("1.2.3.1.1.1.2".into())));
}

#[test]
fn not_a_dicomdir_is_an_error() {
    assert!(matches!(read(b"hello"), Err(DicomDirError::NotPart10)));
    let mut bytes = vec![0u8; 132];
    bytes[128..].copy_from_slice(b"DICM");
    assert!(matches!(read(&bytes), Err(DicomDirError::Malformed(_))));
}
