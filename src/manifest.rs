//! MANIFEST.JSN: the machine-readable record of a package — what is in it, where each file came
//! from (source path and checksum), the tree, what was left out and why, and every warning.
//! `verify` reads it only to cross-check; the truth is in the files and the DICOMDIR.

use crate::checksum::Digest;
use crate::dicom::SourceFormat;
use crate::scan::Unused;
use serde::{Deserialize, Serialize, Serializer};

pub const FORMAT: &str = "dicompack-manifest/1";

/// For `#[serde(serialize_with)]` on a path. JSON is text: a path that is not valid UTF-8 (a
/// file name from an old disc) is written as `Path::display` shows it, with U+FFFD for what is
/// not text, rather than failing the whole document (serde refuses such a `PathBuf`).
pub fn lossy_path<S: Serializer>(path: &std::path::Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

/// `I` is how the instances are held: a [`SeqOf`] when written (the writer makes each entry
/// as it is serialized, so 100,000 of them are never held whole).
#[derive(Debug, Clone, Serialize)]
pub struct Manifest<I = Vec<InstanceEntry>> {
    pub format: String,
    pub tool: Tool,
    /// RFC 3339, UTC; from SOURCE_DATE_EPOCH when set, so packages can be reproduced.
    pub created: String,
    pub options: Vec<String>,
    /// The inputs as given, with the disc's volume label when one could be read.
    pub sources: Vec<SourceInput>,
    pub summary: Summary,
    /// Every patient identity in the package (more than one only with --allow-multiple-patients).
    pub identities: Vec<String>,
    /// What the user's selection left out of the input, in plain words.
    pub left_out: Vec<String>,
    pub patients: Vec<PatientEntry>,
    pub instances: I,
    /// DICOM input that could not be used, with the reason.
    pub skipped: Vec<Unused>,
    /// Files that are not DICOM (viewer software, autorun files, …).
    pub ignored: Vec<Unused>,
    pub warnings: Vec<String>,
    /// DICOMDIR keys the standard requires (Type 1) that a source lacked, filled the way DCMTK's
    /// `dcmmkdir +I` fills them; never a patient's identity or a date.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filled: Vec<Filled>,
    /// Which volume of which set this package is, when the selection was split.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<crate::volumes::VolumeEntry>,
}

/// One value the DICOMDIR holds that no source file gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filled {
    /// The directory record: `STUDY`, `SERIES` or the instance's record type.
    pub record: String,
    /// The UID of what the record describes (Study, Series or SOP Instance UID).
    pub uid: String,
    /// The attribute's keyword, e.g. `StudyID`.
    pub attribute: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceInput {
    pub path: String,
    pub volume_label: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    pub fn this() -> Tool {
        Tool {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    pub patients: usize,
    pub studies: usize,
    pub series: usize,
    pub instances: usize,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PatientEntry {
    pub patient_id: String,
    pub issuer_of_patient_id: String,
    pub names: Vec<String>,
    pub birth_dates: Vec<String>,
    pub sex: String,
    pub studies: Vec<StudyEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudyEntry {
    pub study_instance_uid: String,
    pub date: String,
    pub time: String,
    pub description: String,
    pub accession_number: String,
    pub series: Vec<SeriesEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeriesEntry {
    pub series_instance_uid: String,
    pub number: Option<i32>,
    pub modality: String,
    pub description: String,
    pub body_part: String,
    pub instance_count: usize,
    pub frame_count: u64,
    pub missing_instance_numbers: Vec<i32>,
    /// Images the source disc's DICOMDIR lists for this series that were missing or unusable.
    pub missing_from_source: usize,
    /// What a person sees of this series, when the package has pages: its preview (or the
    /// labelled tile saying why there is none), the page that shows it, the page of every image
    /// (`--thumbnails all`), and the reports taken out of it (PDF).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visual: Option<SeriesVisualEntry>,
}

/// Package paths of what a person sees of a series.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeriesVisualEntry {
    pub preview: String,
    pub page: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images_page: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceEntry {
    /// Package path, `/`-separated (the DICOMDIR file ID).
    pub path: String,
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub transfer_syntax_uid: String,
    pub size: u64,
    pub sha256: Digest,
    pub source: SourceEntry,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceEntry {
    pub path: String,
    pub size: u64,
    pub sha256: Digest,
    /// `part10`, or what the file lacked (`part10_no_preamble`, `headerless`): then the
    /// package holds it with a correct header and its own checksum differs from this one.
    pub format: SourceFormat,
}

/// Serializes as a sequence what `F` yields, each item made only when its turn comes.
pub struct SeqOf<F>(pub F);

impl<F, I> Serialize for SeqOf<F>
where
    F: Fn() -> I,
    I: IntoIterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

impl<F> std::fmt::Debug for SeqOf<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeqOf(..)")
    }
}
