//! DICOMDIR (PS3.3 Annex F Basic Directory, PS3.10 §7 file-sets): reading and writing.
//!
//! Written by hand: dicom-rs has no DICOMDIR support, and a DICOMDIR needs what a generic data-set
//! writer does not give: the byte position of every Directory Record, which other records point at
//! through fixed 4-byte offsets. The reader serves two callers: `discover` (a disc's DICOMDIR as a
//! hint to cross-check, never the only truth) and `verify` (the package's own DICOMDIR must
//! reference exactly the files present, with matching UIDs). The writer builds the package's
//! DICOMDIR from plain values handed over by `package`.
//!
//! Offsets — (0004,1200), (0004,1202), (0004,1400), (0004,1420) — count bytes from the first byte
//! of the file, preamble and `DICM` included (PS3.3 F.3.2.2: "starting with the first byte of the
//! File Meta Information", note 1: "This offset includes the File Preamble and the DICM Prefix"),
//! and point at the Item tag (FFFE,E000) of the record. DCMTK's `dcmmkdir` output agrees.

use crate::layout::FileId;
use std::sync::Arc;

mod read;
mod sop;
#[cfg(test)]
mod tests;
mod write;

pub use read::{DicomDir, DirRecord, MAX_DICOMDIR_BYTES, read};
pub use sop::{
    RECORD_KEY_TAGS, RecordKey, concept_name_key, is_root_level_record, record_keys,
    record_type_for_sop_class,
};
pub use write::{IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, Layout, write};

/// Media Storage Directory Storage: the SOP Class of every DICOMDIR.
pub const MEDIA_STORAGE_DIRECTORY_SOP_CLASS: &str = "1.2.840.10008.1.3.10";

/// Everything that can go wrong reading or writing a DICOMDIR, in plain words.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DicomDirError {
    #[error("the DICOMDIR is {size} bytes, more than the {max} bytes we accept")]
    TooLarge { size: u64, max: u64 },
    #[error("not a DICOM Part 10 file: no 'DICM' after the 128-byte preamble")]
    NotPart10,
    #[error("the DICOMDIR is cut short: {0}")]
    Truncated(String),
    #[error("the DICOMDIR is malformed: {0}")]
    Malformed(String),
    #[error(
        "the DICOMDIR uses transfer syntax {0}, which we cannot read (only little endian is supported)"
    )]
    UnsupportedTransferSyntax(String),
    #[error("cannot write the DICOMDIR: {0}")]
    InvalidInput(String),
}

/// What the writer needs to know about one file-set, already in display order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileSet {
    /// File-set ID (0004,1130): up to 16 characters of A–Z 0–9 _ and space.
    pub file_set_id: String,
    pub patients: Vec<DirPatient>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DirPatient {
    pub patient_id: String,
    pub patient_name: String,
    pub birth_date: String,
    pub sex: String,
    /// The source's spelling of this record's non-ASCII text, when one of its objects gave
    /// exactly these values in a set other than UTF-8 (the writer then keeps that set).
    pub source_text: Option<Arc<crate::scan::SourceText>>,
    pub studies: Vec<DirStudy>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DirStudy {
    pub study_instance_uid: String,
    pub study_date: String,
    pub study_time: String,
    pub study_description: String,
    pub study_id: String,
    pub accession_number: String,
    /// The source's spelling of this record's non-ASCII text, when one of its objects gave
    /// exactly these values in a set other than UTF-8 (the writer then keeps that set).
    pub source_text: Option<Arc<crate::scan::SourceText>>,
    pub series: Vec<DirSeries>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DirSeries {
    pub series_instance_uid: String,
    pub modality: String,
    pub series_number: Option<i32>,
    pub series_description: String,
    /// The source's spelling of this record's non-ASCII text, when one of its objects gave
    /// exactly these values in a set other than UTF-8 (the writer then keeps that set).
    pub source_text: Option<Arc<crate::scan::SourceText>>,
    pub instances: Vec<DirInstance>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DirInstance {
    /// Referenced File ID (0004,1500), e.g. `DICOM/P0000001/…/I0000001`: valid by construction.
    pub file_id: FileId,
    pub sop_class_uid: Arc<str>,
    pub sop_instance_uid: String,
    pub transfer_syntax_uid: Arc<str>,
    pub instance_number: Option<i32>,
    /// An SR or key object's record keys (Content Date and Time, flags, its title's code).
    pub document: Option<Box<crate::scan::DocumentKeys>>,
}
