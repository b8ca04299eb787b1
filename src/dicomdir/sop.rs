//! Which Directory Record Type references an instance of a given SOP Class (PS3.3 Table F.4-1 and
//! the record definitions of F.5), cross-checked against pydicom 3.0's `fileset.py` mapping.

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
    ("1.2.840.10008.5.1.4.1.1.91.1", "ANNOTATION"), // Microscopy Bulk Simple Annotations
];

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
            ("1.2.840.10008.5.1.4.1.1.88.22\0", "SR DOCUMENT"), // padded value
        ];
        for (uid, want) in cases {
            assert_eq!(record_type_for_sop_class(uid), want, "{uid}");
        }
        assert!(is_root_level_record("HANGING PROTOCOL"));
        assert!(!is_root_level_record("SR DOCUMENT"));
    }
}
