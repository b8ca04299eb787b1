//! Which Directory Record Type references an instance of a given SOP Class (PS3.3 Table F.4-1 and
//! the record definitions of F.5), cross-checked against pydicom 3.0's `fileset.py` mapping; and
//! the keys each non-image record type carries.

use dicom_core::Tag;
use dicom_dictionary_std::tags;

/// Directory Record Type (0004,1430) for an instance of SOP Class `uid`.
///
/// Image storage and anything unknown give `IMAGE`, as in pydicom and DCMTK. A few types
/// (`HANGING PROTOCOL`, `PALETTE`, `IMPLANT…`) belong directly in the root directory, not under a
/// series: see [`is_root_level_record`].
pub fn record_type_for_sop_class(uid: &str) -> &'static str {
    let uid = uid.trim_end_matches(['\0', ' ']);
    if let Some(found) = EXACT.iter().find(|(u, _)| *u == uid) {
        return found.1;
    }
    const STORAGE: &str = "1.2.840.10008.5.1.4.1.1.";
    if let Some(rest) = uid.strip_prefix(STORAGE) {
        // Families whose members keep being added to the standard.
        if rest.starts_with("88.") {
            return "SR DOCUMENT"; // 88.59 (Key Object Selection) is caught by EXACT above
        }
        if rest.starts_with("11.") {
            return "PRESENTATION";
        }
        if rest.starts_with("9.") {
            return "WAVEFORM";
        }
        if rest.starts_with("104.") {
            return "ENCAP DOC"; // PDF, CDA, STL, OBJ, MTL
        }
        if rest.starts_with("78.") {
            return "MEASUREMENT"; // 78.6 (Spectacle Prescription Report) is in EXACT
        }
        // RT Second Generation (PS3.3 A.86: modalities RTINTENT, RTSEGANN, RTRAD).
        if let Some(n) = rest
            .strip_prefix("481.")
            .and_then(|n| n.parse::<u32>().ok())
            && (10..=21).contains(&n)
        {
            return "RADIOTHERAPY";
        }
    }
    "IMAGE"
}

/// True for record types that Table F.4-1 places directly in the root directory entity, beside
/// PATIENT records rather than under a SERIES.
pub fn is_root_level_record(record_type: &str) -> bool {
    matches!(
        record_type,
        "HANGING PROTOCOL" | "PALETTE" | "IMPLANT" | "IMPLANT ASSY" | "IMPLANT GROUP"
    )
}

const EXACT: &[(&str, &str)] = &[
    // Root level (single-level records).
    ("1.2.840.10008.5.1.4.38.1", "HANGING PROTOCOL"),
    ("1.2.840.10008.5.1.4.39.1", "PALETTE"),
    ("1.2.840.10008.5.1.4.43.1", "IMPLANT"),
    ("1.2.840.10008.5.1.4.44.1", "IMPLANT ASSY"),
    ("1.2.840.10008.5.1.4.45.1", "IMPLANT GROUP"),
    // Under a series.
    ("1.2.840.10008.5.1.4.1.1.481.2", "RT DOSE"),
    ("1.2.840.10008.5.1.4.1.1.481.3", "RT STRUCTURE SET"),
    ("1.2.840.10008.5.1.4.1.1.481.4", "RT TREAT RECORD"), // RT Beams Treatment Record
    ("1.2.840.10008.5.1.4.1.1.481.5", "RT PLAN"),
    ("1.2.840.10008.5.1.4.1.1.481.6", "RT TREAT RECORD"), // RT Brachy Treatment Record
    ("1.2.840.10008.5.1.4.1.1.481.7", "RT TREAT RECORD"), // RT Treatment Summary Record
    ("1.2.840.10008.5.1.4.1.1.481.8", "RT PLAN"),         // RT Ion Plan
    ("1.2.840.10008.5.1.4.1.1.481.9", "RT TREAT RECORD"), // RT Ion Beams Treatment Record
    ("1.2.840.10008.5.1.4.34.7", "PLAN"),                 // RT Beams Delivery Instruction
    ("1.2.840.10008.5.1.4.34.10", "PLAN"), // RT Brachy Application Setup Delivery Instruction
    ("1.2.840.10008.5.1.4.1.1.131", "PRESENTATION"), // Basic Structured Display
    ("1.2.840.10008.5.1.4.1.1.88.59", "KEY OBJECT DOC"),
    ("1.2.840.10008.5.1.4.1.1.78.6", "SR DOCUMENT"), // Spectacle Prescription Report
    ("1.2.840.10008.5.1.4.1.1.79.1", "SR DOCUMENT"), // Macular Grid Thickness and Volume Report
    ("1.2.840.10008.5.1.4.1.1.80.1", "MEASUREMENT"), // Ophthalmic Visual Field Static Perimetry
    ("1.2.840.10008.5.1.4.1.1.4.2", "SPECTROSCOPY"), // MR Spectroscopy
    ("1.2.840.10008.5.1.4.1.1.66", "RAW DATA"),
    ("1.2.840.10008.5.1.4.1.1.66.1", "REGISTRATION"), // Spatial Registration
    ("1.2.840.10008.5.1.4.1.1.66.2", "FIDUCIAL"),     // Spatial Fiducials
    ("1.2.840.10008.5.1.4.1.1.66.3", "REGISTRATION"), // Deformable Spatial Registration
    ("1.2.840.10008.5.1.4.1.1.66.5", "SURFACE"),      // Surface Segmentation
    ("1.2.840.10008.5.1.4.1.1.66.6", "TRACT"),        // Tractography Results
    ("1.2.840.10008.5.1.4.1.1.67", "VALUE MAP"),      // Real World Value Mapping
    ("1.2.840.10008.5.1.4.1.1.68.1", "SURFACE SCAN"), // Surface Scan Mesh
    ("1.2.840.10008.5.1.4.1.1.68.2", "SURFACE SCAN"), // Surface Scan Point Cloud
    ("1.2.840.10008.5.1.4.1.1.77.1.5.3", "STEREOMETRIC"),
    ("1.2.840.10008.5.1.4.1.1.90.1", "ASSESSMENT"), // Content Assessment Results
    // Microscopy Bulk Simple Annotations. The standard's record type since 2021 is ANNOTATION
    // (F.5.47), but pydicom 3.0.2's FileSet refuses a whole DICOMDIR that holds one (KeyError on
    // the record type) and dicom3tools 2022 calls it an unrecognized value: a receiver's script
    // or validator would reject every study for the sake of one annotation object. A PRIVATE
    // record (F.5.x, valid under a SERIES) whose Private Record UID is the SOP Class UID
    // references the same file and is read by all of them; README.md says so.
    ("1.2.840.10008.5.1.4.1.1.91.1", PRIVATE),
];

/// The record type of [`record_type_for_sop_class`] for classes that most readers of today do
/// not know by their own record type; its Private Record UID (0004,1432) is the SOP Class UID.
pub const PRIVATE: &str = "PRIVATE";

/// A key of a directory record type beyond those every instance record has: its tag, its VR,
/// its longest value, and whether the standard requires a value (Type 1) or only the element
/// (Type 2).
#[derive(Debug, Clone, Copy)]
pub struct RecordKey {
    pub tag: Tag,
    pub vr: &'static [u8; 2],
    pub max: usize,
    pub required: bool,
}

const fn key(tag: Tag, vr: &'static [u8; 2], max: usize, required: bool) -> RecordKey {
    RecordKey {
        tag,
        vr,
        max,
        required,
    }
}

/// Every tag a record key below may take its value from: what the scan keeps of a non-image
/// object.
pub const RECORD_KEY_TAGS: &[Tag] = &[
    tags::CONTENT_DATE,
    tags::CONTENT_TIME,
    tags::DOCUMENT_TITLE,
    tags::MIME_TYPE_OF_ENCAPSULATED_DOCUMENT,
    tags::CONTENT_LABEL,
    tags::CONTENT_DESCRIPTION,
    tags::PRESENTATION_CREATION_DATE,
    tags::PRESENTATION_CREATION_TIME,
    tags::CONTENT_CREATOR_NAME,
    tags::DOSE_SUMMATION_TYPE,
    tags::STRUCTURE_SET_LABEL,
    tags::STRUCTURE_SET_DATE,
    tags::STRUCTURE_SET_TIME,
    tags::TREATMENT_DATE,
    tags::TREATMENT_TIME,
    tags::RT_PLAN_LABEL,
    tags::RT_PLAN_DATE,
    tags::RT_PLAN_TIME,
    tags::COMPLETION_FLAG,
    tags::VERIFICATION_FLAG,
];

/// The text keys of a record type (PS3.3 F.5), in no particular order. Concept Name Code
/// Sequence and Verification DateTime are the writer's own (see `write::document_keys`).
pub fn record_keys(record_type: &str) -> &'static [RecordKey] {
    match record_type {
        "SR DOCUMENT" => SR_DOCUMENT,
        "KEY OBJECT DOC" | "WAVEFORM" => DATE_TIME_1,
        "ENCAP DOC" => ENCAP_DOC,
        "PRESENTATION" => PRESENTATION,
        "RT DOSE" => RT_DOSE,
        "RT STRUCTURE SET" => RT_STRUCTURE_SET,
        "RT PLAN" => RT_PLAN,
        "RT TREAT RECORD" => RT_TREAT_RECORD,
        _ => &[],
    }
}

const DATE_TIME_1: &[RecordKey] = &[
    key(tags::CONTENT_DATE, b"DA", 8, true),
    key(tags::CONTENT_TIME, b"TM", 16, true),
];
const SR_DOCUMENT: &[RecordKey] = &[
    key(tags::CONTENT_DATE, b"DA", 8, true),
    key(tags::CONTENT_TIME, b"TM", 16, true),
    key(tags::COMPLETION_FLAG, b"CS", 16, true),
    key(tags::VERIFICATION_FLAG, b"CS", 16, true),
];
const ENCAP_DOC: &[RecordKey] = &[
    key(tags::CONTENT_DATE, b"DA", 8, false),
    key(tags::CONTENT_TIME, b"TM", 16, false),
    key(tags::DOCUMENT_TITLE, b"ST", 1024, false),
    key(tags::MIME_TYPE_OF_ENCAPSULATED_DOCUMENT, b"LO", 64, true),
];
const PRESENTATION: &[RecordKey] = &[
    key(tags::CONTENT_LABEL, b"CS", 16, true),
    key(tags::CONTENT_DESCRIPTION, b"LO", 64, false),
    key(tags::PRESENTATION_CREATION_DATE, b"DA", 8, true),
    key(tags::PRESENTATION_CREATION_TIME, b"TM", 16, true),
    key(tags::CONTENT_CREATOR_NAME, b"PN", 64, false),
];
const RT_DOSE: &[RecordKey] = &[key(tags::DOSE_SUMMATION_TYPE, b"CS", 16, true)];
const RT_STRUCTURE_SET: &[RecordKey] = &[
    key(tags::STRUCTURE_SET_LABEL, b"SH", 16, true),
    key(tags::STRUCTURE_SET_DATE, b"DA", 8, false),
    key(tags::STRUCTURE_SET_TIME, b"TM", 16, false),
];
const RT_PLAN: &[RecordKey] = &[
    key(tags::RT_PLAN_LABEL, b"SH", 16, true),
    key(tags::RT_PLAN_DATE, b"DA", 8, false),
    key(tags::RT_PLAN_TIME, b"TM", 16, false),
];
const RT_TREAT_RECORD: &[RecordKey] = &[
    key(tags::TREATMENT_DATE, b"DA", 8, false),
    key(tags::TREATMENT_TIME, b"TM", 16, false),
];

/// Whether a record type carries Concept Name Code Sequence (0040,A043), and must give it a
/// value (PS3.3 F.5.21, F.5.22, F.5.27).
pub fn concept_name_key(record_type: &str) -> Option<bool> {
    match record_type {
        "SR DOCUMENT" | "KEY OBJECT DOC" => Some(true),
        "ENCAP DOC" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_and_unknown_classes_are_image_records() {
        assert_eq!(
            record_type_for_sop_class("1.2.840.10008.5.1.4.1.1.2"),
            "IMAGE"
        ); // CT
        assert_eq!(
            record_type_for_sop_class("1.2.840.10008.5.1.4.1.1.4"),
            "IMAGE"
        ); // MR
        assert_eq!(
            record_type_for_sop_class("1.2.840.10008.5.1.4.1.1.7"),
            "IMAGE"
        ); // SC
        assert_eq!(
            record_type_for_sop_class("1.2.840.10008.5.1.4.1.1.481.1"),
            "IMAGE"
        ); // RT Image
        assert_eq!(record_type_for_sop_class("1.2.3.4.5"), "IMAGE");
        assert_eq!(record_type_for_sop_class(""), "IMAGE");
    }

    #[test]
    fn non_image_classes_get_their_own_record_types() {
        let cases = [
            ("1.2.840.10008.5.1.4.1.1.88.11", "SR DOCUMENT"),
            ("1.2.840.10008.5.1.4.1.1.88.67", "SR DOCUMENT"),
            ("1.2.840.10008.5.1.4.1.1.88.59", "KEY OBJECT DOC"),
            ("1.2.840.10008.5.1.4.1.1.11.1", "PRESENTATION"),
            ("1.2.840.10008.5.1.4.1.1.104.1", "ENCAP DOC"),
            ("1.2.840.10008.5.1.4.1.1.481.2", "RT DOSE"),
            ("1.2.840.10008.5.1.4.1.1.481.3", "RT STRUCTURE SET"),
            ("1.2.840.10008.5.1.4.1.1.481.5", "RT PLAN"),
            ("1.2.840.10008.5.1.4.1.1.481.4", "RT TREAT RECORD"),
            ("1.2.840.10008.5.1.4.1.1.481.12", "RADIOTHERAPY"),
            ("1.2.840.10008.5.1.4.1.1.9.1.1", "WAVEFORM"),
            ("1.2.840.10008.5.1.4.1.1.4.2", "SPECTROSCOPY"),
            ("1.2.840.10008.5.1.4.1.1.66", "RAW DATA"),
            ("1.2.840.10008.5.1.4.1.1.66.1", "REGISTRATION"),
            ("1.2.840.10008.5.1.4.1.1.66.2", "FIDUCIAL"),
            ("1.2.840.10008.5.1.4.1.1.66.5", "SURFACE"),
            ("1.2.840.10008.5.1.4.1.1.78.1", "MEASUREMENT"),
            ("1.2.840.10008.5.1.4.34.7", "PLAN"),
            ("1.2.840.10008.5.1.4.38.1", "HANGING PROTOCOL"),
            ("1.2.840.10008.5.1.4.1.1.91.1", "PRIVATE"),
            ("1.2.840.10008.5.1.4.1.1.88.22\0", "SR DOCUMENT"), // padded value
        ];
        for (uid, want) in cases {
            assert_eq!(record_type_for_sop_class(uid), want, "{uid}");
        }
        assert!(is_root_level_record("HANGING PROTOCOL"));
        assert!(!is_root_level_record("SR DOCUMENT"));
    }
}
