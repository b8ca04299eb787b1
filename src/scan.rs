//! Scan stage: one candidate file → an [`Instance`], a directory file, or a reason it is not used.
//!
//! A file is read front to back, once. The first bytes are kept (growing only as far as the
//! header needs, with a hard cap), checked by the byte layer ([`crate::dicom`]), and only then parsed by
//! dicom-object, up to Pixel Data. The pixel data is checked for completeness. Nothing is ever
//! allocated from a length the file claims.
//!
//! Two passes ([`Pass`]): `Whole` reads and hashes every byte (verify, the copy into a package,
//! `scan --read-all`); `Header` reads the header and seeks past pixel payloads, checking only
//! the fragment structure, so that cataloguing a disc costs a few kilobytes per file and the
//! package writer's copy is the one pass that reads and hashes the bulk.

use crate::checksum::Digest;
use crate::dicom::{
    self, Detected, Encoding, Layout, Malformed, PixelDataCheck, PixelKind, PixelLocation,
    PixelValue, SourceFormat, TransferSyntax, Walk, Walked,
};
use crate::discover::{NotOpened, Special, Unwalkable};
use crate::platform::{self, Opened};
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The header is first looked for in this many bytes, then in more as needed. A whole pass
/// reads everything anyway, so it starts with a large read; a header pass reads what real
/// headers need (a few kilobytes), rarely more.
const HEAD_START_WHOLE: usize = 256 * 1024;
const HEAD_START_HEADER: usize = 32 * 1024;
/// No header may be larger than this (real ones are kilobytes; a few carry large private data).
pub const HEAD_MAX: usize = 64 * 1024 * 1024;
/// Inflated deflate-encoded datasets are cut off here before their header must have ended.
const INFLATE_MAX: u64 = HEAD_MAX as u64;

pub use dicom_dictionary_std::uids::MEDIA_STORAGE_DIRECTORY_STORAGE as MEDIA_STORAGE_DIRECTORY;

/// Patient-level attributes (PS3.3 C.7.1.1). Text is trimmed; absent is "".
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct PatientAttrs {
    pub patient_name: String,
    pub patient_id: String,
    pub issuer_of_patient_id: String,
    pub patient_birth_date: String,
    pub patient_sex: String,
}

/// Study-level attributes (PS3.3 C.7.2.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct StudyAttrs {
    pub study_instance_uid: String,
    pub study_date: String,
    pub study_time: String,
    pub study_description: String,
    pub study_id: String,
    pub accession_number: String,
}

/// Series-level attributes (PS3.3 C.7.3.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct SeriesAttrs {
    pub series_instance_uid: String,
    pub series_number: Option<i32>,
    pub series_description: String,
    pub modality: String,
    pub body_part_examined: String,
}

/// The attributes the catalog, the DICOMDIR and the pages need.
///
/// The patient, study and series levels are shared: a series of 2,000 slices repeats them
/// 2,000 times, and [`Interner`] makes those one copy, so that the catalog of 100,000 instances
/// costs a few hundred bytes per instance. Serialized flat, as one object.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Attributes {
    #[serde(flatten)]
    pub patient: Arc<PatientAttrs>,
    #[serde(flatten)]
    pub study: Arc<StudyAttrs>,
    #[serde(flatten)]
    pub series: Arc<SeriesAttrs>,
    pub sop_class_uid: Arc<str>,
    pub sop_instance_uid: String,
    pub instance_number: Option<i32>,
    pub number_of_frames: u32,
    pub rows: Option<u16>,
    pub columns: Option<u16>,
    pub has_pixel_data: bool,
    /// For a structured report or key object: the keys its directory record carries.
    #[serde(skip)]
    pub document: Option<Box<DocumentKeys>>,
    /// The source's own spelling of its non-ASCII text, where it is not UTF-8: the DICOMDIR
    /// keeps it (PS3.3 F.2: each record carries its own Specific Character Set).
    #[serde(skip)]
    pub source_text: Option<Arc<SourceText>>,
}

/// An object's Specific Character Set (0008,0005) as written, and the bytes of its text values
/// of [`CHARSET_TEXT`] that are not plain ASCII. Kept only for objects that wrote such text in
/// a set other than ISO_IR 192: for them the decoded `String`s are right for people, and these
/// bytes are right for a receiver's system, which may predate UTF-8 and read the disc as it was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceText {
    /// The value as written, terms joined by `\` (an empty first term kept).
    pub charset: String,
    pub values: Vec<(Tag, Vec<u8>)>,
}

impl SourceText {
    /// The bytes of `tag`'s value as the source wrote them, padding trimmed.
    pub fn get(&self, tag: Tag) -> Option<&[u8]> {
        self.values
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, v)| v.as_slice())
    }

    fn of(raw: &RawText) -> Option<Arc<SourceText>> {
        let charset = raw.charset.join("\\");
        if charset.trim().is_empty() || raw.charset == ["ISO_IR 192"] {
            return None;
        }
        // ESC starts an ISO 2022 escape sequence even among 7-bit bytes.
        let plain = |v: &[u8]| v.iter().all(|&b| b < 0x80 && b != 0x1B);
        let values: Vec<(Tag, Vec<u8>)> = raw
            .values
            .iter()
            .filter(|(_, v)| !plain(v))
            .map(|(t, v)| {
                let end = v
                    .iter()
                    .rposition(|&b| b != b' ' && b != 0)
                    .map_or(0, |i| i + 1);
                (*t, v.get(..end).unwrap_or_default().to_vec())
            })
            .collect();
        (!values.is_empty()).then(|| Arc::new(SourceText { charset, values }))
    }
}

/// The keys a non-image object's directory record carries beyond those every instance record
/// has (PS3.3 F.5: SR DOCUMENT, KEY OBJECT DOC, RT DOSE / STRUCTURE SET / PLAN / TREAT RECORD,
/// WAVEFORM, PRESENTATION, ENCAP DOC), as the object gives them. Text is trimmed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentKeys {
    /// Top-level text values, by tag (those of [`crate::dicomdir::RECORD_KEY_TAGS`] present).
    pub values: Vec<(Tag, String)>,
    /// The latest Verification DateTime of its Verifying Observer Sequence (0040,A073).
    pub verification_datetime: String,
    /// The document's title, the first item of Concept Name Code Sequence (0040,A043).
    pub concept_name: Option<Code>,
}

impl DocumentKeys {
    /// The value of `tag`, or "".
    pub fn value(&self, tag: Tag) -> &str {
        self.values
            .iter()
            .find(|(t, _)| *t == tag)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// A coded concept (PS3.3 8.8): what a Concept Name Code Sequence item says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Code {
    pub value: String,
    pub scheme: String,
    pub meaning: String,
}

/// Makes equal shared values one allocation, across the threads of a scan.
#[derive(Default)]
pub struct Interner {
    patients: Mutex<HashSet<Arc<PatientAttrs>>>,
    studies: Mutex<HashSet<Arc<StudyAttrs>>>,
    series: Mutex<HashSet<Arc<SeriesAttrs>>>,
    strings: Mutex<HashSet<Arc<str>>>,
}

impl Interner {
    /// Replaces the shared parts of `o` by the copy already held, or keeps them as that copy.
    pub fn intern(&self, o: &mut Object) {
        fn one<T: Eq + std::hash::Hash + ?Sized>(set: &Mutex<HashSet<Arc<T>>>, v: &mut Arc<T>) {
            // A poisoned lock only means another thread panicked mid-insert; the set is
            // still a valid set.
            let mut set = set.lock().unwrap_or_else(|e| e.into_inner());
            match set.get(v) {
                Some(held) => *v = Arc::clone(held),
                None => {
                    set.insert(Arc::clone(v));
                }
            }
        }
        one(&self.patients, &mut o.attrs.patient);
        one(&self.studies, &mut o.attrs.study);
        one(&self.series, &mut o.attrs.series);
        one(&self.strings, &mut o.attrs.sop_class_uid);
        one(&self.strings, &mut o.transfer_syntax_uid);
    }
}

/// A usable DICOM object, as found in one stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Object {
    pub size: u64,
    /// Of every byte: present when the whole stream was read ([`Pass::Whole`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Digest>,
    pub format: SourceFormat,
    /// Where the dataset starts in the stream (0 for headerless data).
    pub dataset_offset: u64,
    pub transfer_syntax_uid: Arc<str>,
    pub attrs: Attributes,
    /// Things worth knowing that do not stop the object from being used.
    pub warnings: Vec<String>,
    /// Where its pixel data and image attributes lie, for render.
    #[serde(skip)]
    pub layout: Layout,
}

/// What a stream holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Object(Box<Object>),
    /// A Media Storage Directory (a DICOMDIR, or a secondary one such as Philips' DIRFILE).
    Directory(Box<Object>),
    /// Not DICOM by content.
    NotDicom(NotDicom),
}

/// What a file that is not DICOM probably is, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotDicom {
    #[error("empty file")]
    Empty,
    #[error("a program (viewer software), not an image")]
    Program,
    #[error("a PDF document, not a DICOM file")]
    Pdf,
    #[error("a Windows data file (such as Thumbs.db), not an image")]
    WindowsData,
    #[error("an ordinary picture, not a DICOM file")]
    Picture,
    #[error("a ZIP archive (not opened)")]
    Zip,
    #[error("a web page or XML file, not an image")]
    WebPage,
    #[error("a disc autorun file")]
    Autorun,
    #[error("a text file, not an image")]
    Text,
    #[error("not a DICOM file")]
    Other,
}

/// Why a stream that is (or claims to be) DICOM cannot be used. Cloned into the reasons a
/// survey keeps, so an I/O error is shared, not copied.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ScanError {
    #[error("{0}")]
    Malformed(Malformed),
    /// dicom-object refused bytes the walk accepted (its message).
    #[error("the header could not be read: {0}")]
    Parse(String),
    #[error("the header could not be read: deflated data is corrupt: {0}")]
    DeflateCorrupt(String),
    #[error("read error after {offset} bytes: {source}")]
    Io {
        offset: u64,
        #[source]
        source: Arc<io::Error>,
    },
    #[error("deflated file larger than dicompack reads")]
    DeflatedTooLarge,
    #[error("its compressed header is too large")]
    InflatedHeaderTooLarge,
    #[error("its header is larger than {} MiB, more than dicompack reads", HEAD_MAX >> 20)]
    HeaderTooLarge,
    #[error("it ends after {read} bytes, before its header is complete")]
    EndsInHeader { read: u64 },
    #[error("it grew while being read (expected {expected} bytes)")]
    Grew { expected: u64 },
    #[error("only {read} of its {len} bytes could be read (changed or cut while reading)")]
    Shrank { read: u64, len: u64 },
    #[error("its header names a transfer syntax that is not a valid UID")]
    InvalidTransferSyntax,
    #[error(
        "it uses transfer syntax {0}, which is unknown (private or invalid), so its data cannot be read safely"
    )]
    UnknownTransferSyntax(String),
    #[error(
        "its header declares transfer syntax {uid} ({} VR), but the data is written in {} VR",
        vr_name(*declared),
        vr_name(*written)
    )]
    VrMismatch {
        uid: String,
        declared: Encoding,
        written: Encoding,
    },
    #[error("it has no SOP Instance UID, so it cannot be identified")]
    NoSopInstanceUid,
    #[error("its {0} is longer than the 64 characters DICOM allows")]
    UidTooLong(&'static str),
    #[error("it names no study or no series (Study/Series Instance UID missing)")]
    NoStudyOrSeries,
    #[error(
        "it does not say what kind of object it is (no SOP Class UID, in its data set or its file header)"
    )]
    NoSopClassUid,
}

fn vr_name(e: Encoding) -> &'static str {
    if e.is_explicit() {
        "explicit"
    } else {
        "implicit"
    }
}

impl From<Malformed> for ScanError {
    fn from(m: Malformed) -> Self {
        ScanError::Malformed(m)
    }
}

impl ScanError {
    /// A stable name for the kind of failure, for `--json` and for programs.
    pub fn code(&self) -> &'static str {
        match self {
            ScanError::Malformed(Malformed::Truncated { .. }) => "truncated",
            ScanError::Malformed(Malformed::BadLength { .. }) => "bad_length",
            ScanError::Malformed(Malformed::TooDeep { .. }) => "too_deep",
            ScanError::Malformed(Malformed::InvalidVr { .. }) => "invalid_vr",
            ScanError::Malformed(Malformed::BadMeta(_)) => "bad_file_header",
            ScanError::Parse(_) => "unparseable",
            ScanError::DeflateCorrupt(_) => "deflate_corrupt",
            ScanError::Io { .. } => "read_error",
            ScanError::DeflatedTooLarge | ScanError::InflatedHeaderTooLarge => "deflated_too_large",
            ScanError::HeaderTooLarge => "header_too_large",
            ScanError::EndsInHeader { .. } => "truncated",
            ScanError::Grew { .. } | ScanError::Shrank { .. } => "changed_while_read",
            ScanError::InvalidTransferSyntax => "invalid_transfer_syntax",
            ScanError::UnknownTransferSyntax(_) => "unknown_transfer_syntax",
            ScanError::VrMismatch { .. } => "vr_mismatch",
            ScanError::NoSopInstanceUid => "no_sop_instance_uid",
            ScanError::UidTooLong(_) => "uid_too_long",
            ScanError::NoStudyOrSeries => "no_study_or_series",
            ScanError::NoSopClassUid => "no_sop_class_uid",
        }
    }

    fn io(offset: u64, source: io::Error) -> ScanError {
        ScanError::Io {
            offset,
            source: Arc::new(source),
        }
    }
}

/// A scanned candidate file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instance {
    pub source: PathBuf,
    #[serde(flatten)]
    pub object: Object,
    /// Where the same bytes can be read again without going back to a slow medium (its copy
    /// in the read plan's spool, [`crate::read_plan::Spool`]); `None`: at `source`.
    #[serde(skip)]
    pub read_from: Option<PathBuf>,
}

impl Instance {
    /// Where to read this instance's bytes again: the spool's copy, or the source.
    pub fn bytes_path(&self) -> &Path {
        self.read_from.as_deref().unwrap_or(&self.source)
    }
}

/// Why a file or folder is not used. Code decides on the variant (and `--json` carries its
/// [`Reason::code`]); the sentence is for people.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Reason {
    /// Not DICOM by content: expected on discs (viewers, autorun files), not an error.
    #[error("{0}")]
    NotDicom(NotDicom),
    /// A path the walk does not open: a special file, or a link it does not follow.
    #[error("{0}")]
    NotOpened(NotOpened),
    /// A folder that could not be walked: its content is unknown.
    #[error("{0}")]
    Folder(Unwalkable),
    #[error(
        "a DICOM directory file (DICOMDIR): read as a table of contents; the package gets its own"
    )]
    DirectoryFile,
    #[error("an identical copy of {}; included once", kept.display())]
    IdenticalCopy { kept: PathBuf },
    /// DICOM, or claiming to be, that cannot be used.
    #[error("{0}")]
    Unusable(ScanError),
    #[error("it disappeared before it could be read")]
    Vanished,
    #[error("permission denied: it cannot be read")]
    PermissionDenied,
    #[error("it cannot be opened: {0}")]
    CannotOpen(Arc<io::Error>),
    #[error(
        "conflict: {} holds the same image (SOP Instance UID {uid}) with different content; only that one is used",
        kept.display()
    )]
    Conflict { kept: PathBuf, uid: String },
    #[error("listed in the DICOMDIR but missing from the disc")]
    MissingFromDisc,
    #[error("it changed while being read")]
    Changed,
    #[error("it cannot be read to the end: {0}")]
    CannotReadToEnd(Arc<io::Error>),
    /// The run was stopped (Ctrl-C) before this file was copied.
    #[error("stopped")]
    Stopped,
    #[error("it can no longer be read: {0}")]
    NoLongerReadable(Arc<io::Error>),
    #[error("read error while copying: {0}")]
    CopyReadError(Arc<io::Error>),
    /// The full read for the package found another object than the survey did, or none.
    #[error("it changed after it was scanned; left out rather than packed unchecked{}", .0.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    ChangedSinceScan(Option<ScanError>),
    #[error("it changed while being copied; left out rather than packed unchecked")]
    ChangedWhileCopied,
    #[error("it could not be compressed: {0}")]
    NotCompressed(Arc<io::Error>),
    /// A file without a DICOM file header gets one made for it; this one could not be made.
    #[error("a DICOM file header could not be made for it: {0}")]
    NoFileHeader(String),
}

impl Reason {
    /// A stable name for the reason, for `--json` and for programs.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::NotDicom(_) => "not_dicom",
            Reason::NotOpened(NotOpened::Special(_)) => "special_file",
            Reason::NotOpened(NotOpened::Link(_)) => "link_not_followed",
            Reason::Folder(Unwalkable::PermissionDenied) => "permission_denied",
            Reason::Folder(Unwalkable::Vanished) => "vanished",
            Reason::Folder(Unwalkable::Other(_)) => "cannot_open",
            Reason::DirectoryFile => "directory_file",
            Reason::IdenticalCopy { .. } => "identical_copy",
            Reason::Unusable(e) => e.code(),
            Reason::Vanished => "vanished",
            Reason::PermissionDenied => "permission_denied",
            Reason::CannotOpen(_) => "cannot_open",
            Reason::Conflict { .. } => "conflicting_copy",
            Reason::MissingFromDisc => "missing_from_disc",
            Reason::Changed => "changed_while_read",
            Reason::CannotReadToEnd(_) => "read_error",
            Reason::Stopped => "stopped",
            Reason::NoLongerReadable(_) => "cannot_open",
            Reason::CopyReadError(_) => "read_error",
            Reason::ChangedSinceScan(_) | Reason::ChangedWhileCopied => "changed_since_scan",
            Reason::NotCompressed(_) => "not_compressed",
            Reason::NoFileHeader(_) => "file_header_not_made",
        }
    }

    /// Why a file could not be opened.
    pub fn open_failed(e: io::Error) -> Reason {
        match e.kind() {
            io::ErrorKind::NotFound => Reason::Vanished,
            io::ErrorKind::PermissionDenied => Reason::PermissionDenied,
            _ => Reason::CannotOpen(Arc::new(e)),
        }
    }
}

/// A file that is not used, and why. Serialized as `path`, `code` and `reason` (the sentence).
#[derive(Debug, Clone)]
pub struct Unused {
    pub path: PathBuf,
    pub reason: Reason,
}

impl Serialize for Unused {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Unused", 3)?;
        // JSON is text: a path that is not UTF-8 is written as `Path::display` shows it.
        st.serialize_field("path", &self.path.to_string_lossy())?;
        st.serialize_field("code", self.reason.code())?;
        st.serialize_field("reason", &self.reason.to_string())?;
        st.end()
    }
}

/// The outcome for one candidate file.
#[derive(Debug, Clone)]
pub enum Scanned {
    Instance(Box<Instance>),
    Directory(Box<Instance>),
    /// Not DICOM (viewer programs, autorun files, pages): expected on discs, not an error.
    Ignored(Unused),
    /// DICOM (or claiming to be) but unusable: truncated, malformed, unreadable.
    Skipped(Unused),
}

/// How much of a file a scan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// The header, and the pixel data's structure by seeking: enough to catalog a file.
    Header,
    /// Every byte, hashed: finds unreadable sectors, and gives the file's SHA-256.
    Whole,
}

/// Scans bytes already in memory, reading every byte (a fuzzing and testing entry point).
pub fn scan_bytes(bytes: &[u8]) -> Result<Content, ScanError> {
    scan_reader(bytes, bytes.len() as u64)
}

/// Scans a stream of `len` bytes: hashes all of it, parses the header, checks completeness.
pub fn scan_reader(r: impl Read, len: u64) -> Result<Content, ScanError> {
    scan_source(
        Whole {
            reader: r,
            hasher: Sha256::new(),
        },
        len,
    )
}

/// Scans a seekable stream of `len` bytes, reading only the header and the item headers of
/// encapsulated pixel data. The object has no digest.
pub fn scan_header(r: impl Read + Seek, len: u64) -> Result<Content, ScanError> {
    scan_source(HeaderOnly { reader: r }, len)
}

fn scan_source<S: Source>(source: S, len: u64) -> Result<Content, ScanError> {
    read_source(source, len).and_then(identify)
}

/// Reads and checks a file as [`scan_header`] does, without asking that the object say which
/// instance, study and series it is: for drawing or inspecting a file the catalog would not
/// hold.
pub fn inspect_file(path: &Path) -> Result<Content, ScanError> {
    let file = platform::open_source(path).map_err(|e| ScanError::io(0, e))?;
    let len = file.metadata().map_err(|e| ScanError::io(0, e))?.len();
    read_source(HeaderOnly { reader: file }, len)
}

fn read_source<S: Source>(source: S, len: u64) -> Result<Content, ScanError> {
    let mut stream = Stream { source, read: 0 };
    let mut head = Vec::new();
    stream.fill(&mut head, S::HEAD_START.min(len as usize))?;
    let start = match detect_with_room(&mut stream, &mut head, len)? {
        Detected::NotDicom => {
            let kind = describe_not_dicom(&head);
            stream.finish(len, None)?;
            return Ok(Content::NotDicom(kind));
        }
        Detected::Part10 {
            format,
            meta,
            dataset_start,
        } => Start {
            format,
            ts: meta.transfer_syntax_uid,
            meta_sop_class: meta.media_storage_sop_class_uid,
            meta_sop_instance: meta.media_storage_sop_instance_uid,
            dataset_start,
        },
        Detected::Headerless { encoding } => Start {
            format: SourceFormat::Headerless,
            ts: TransferSyntax::uid_for_encoding(encoding).to_string(),
            meta_sop_class: String::new(),
            meta_sop_instance: String::new(),
            dataset_start: 0,
        },
    };
    check_transfer_syntax(&start.ts)?;
    let syntax = TransferSyntax::of(&start.ts);
    let mut warnings = Vec::new();
    let (obj, layout, raw) = if syntax.deflated {
        // Deflated data cannot be walked in place: read it all (bounded), inflate (bounded).
        stream.fill(&mut head, HEAD_MAX.min(len as usize))?;
        if (head.len() as u64) < len {
            return Err(ScanError::DeflatedTooLarge);
        }
        let inflated = inflate_bounded(head.get(start.dataset_start..).unwrap_or_default())?;
        let parsed = parse_header(&inflated, Encoding::ExplicitLe)?;
        stream.finish(len, None)?;
        parsed
    } else {
        read_in_place(
            &mut stream,
            &mut head,
            &start,
            syntax.encoding,
            len,
            &mut warnings,
        )?
    };
    Ok(content(stream, start, obj, layout, raw, warnings, len))
}

/// What the first bytes said: the format, the transfer syntax, the File Meta's identity.
struct Start {
    format: SourceFormat,
    ts: String,
    meta_sop_class: String,
    meta_sop_instance: String,
    dataset_start: usize,
}

/// Walks and parses a data set that is not deflated, where it lies in the stream, and checks
/// that its pixel data is complete.
fn read_in_place<S: Source>(
    stream: &mut Stream<S>,
    head: &mut Vec<u8>,
    start: &Start,
    encoding: Encoding,
    len: u64,
    warnings: &mut Vec<String>,
) -> Result<(InMemDicomObject, Layout, RawText), ScanError> {
    let dataset_start = start.dataset_start;
    let walked = match walk_with_room(stream, head, dataset_start, encoding, len) {
        Ok(walked) => walked,
        // Some writers declare one VR encoding and use the other. Such a file cannot be
        // packed as it is (its header would lie to the receiver's viewer), and for an
        // encapsulated syntax it has no correct header at all: name the problem exactly.
        Err(first) if start.format != SourceFormat::Headerless => {
            if let Some(other) = encoding.other_vr()
                && walk_with_room(stream, head, dataset_start, other, len).is_ok()
            {
                return Err(ScanError::VrMismatch {
                    uid: start.ts.clone(),
                    declared: encoding,
                    written: other,
                });
            }
            return Err(first);
        }
        Err(first) => return Err(first),
    };
    let header_end = match walked.walk {
        Walk::PixelData { offset, .. } => offset,
        _ => head.len(),
    };
    let header = head.get(dataset_start..header_end).unwrap_or_default();
    let raw = raw_text(header, encoding);
    let obj = if walked.unparseable.is_empty() {
        read_dataset(header, encoding)?
    } else {
        warnings.push(format!(
            "{} element(s) of unknown type could not be read (left as they are in the file)",
            walked.unparseable.len()
        ));
        read_dataset(
            &excise(header, dataset_start, &walked.unparseable),
            encoding,
        )?
    };
    let layout = layout_of(&walked);
    let mut check = layout.pixel.map(|p| {
        let value_len = match p.stored {
            PixelValue::Native { len, .. } => Some(len),
            PixelValue::Encapsulated => None,
        };
        PixelDataCheck::new(value_len, p.value)
    });
    if let (Some(check), Some(p)) = (check.as_mut(), layout.pixel) {
        check.feed(head.get(p.value as usize..).unwrap_or_default())?;
    }
    stream.finish(len, check.as_mut())?;
    if let Some(check) = check {
        check.finish()?;
    }
    Ok((obj, layout, raw))
}

/// The object, or the directory, that a read stream holds.
fn content<S: Source>(
    stream: Stream<S>,
    start: Start,
    obj: InMemDicomObject,
    layout: Layout,
    raw: RawText,
    mut warnings: Vec<String>,
    len: u64,
) -> Content {
    let charset = dicom::charset::CharacterSet::new(&raw.charset);
    warnings.extend(charset.unknown().iter().map(ToString::to_string));
    let mut attrs = attributes(&obj, &charset, &raw);
    attrs.has_pixel_data = layout.pixel.is_some();
    let is_directory = start.meta_sop_class == MEDIA_STORAGE_DIRECTORY
        || obj.get(tags::DIRECTORY_RECORD_SEQUENCE).is_some();
    if !is_directory && attrs.sop_class_uid.is_empty() && !start.meta_sop_class.is_empty() {
        attrs.sop_class_uid = start.meta_sop_class.as_str().into();
        warnings.push("SOP Class UID missing from the dataset; taken from the file header".into());
    }
    if !is_directory {
        attrs.document = document_keys(&obj, &attrs.sop_class_uid);
    }
    let meta_instance = &start.meta_sop_instance;
    if !is_directory && !meta_instance.is_empty() && *meta_instance != attrs.sop_instance_uid {
        warnings.push(format!(
            "file header names SOP Instance UID {meta_instance}, the dataset {}",
            attrs.sop_instance_uid
        ));
    }
    let object = Box::new(Object {
        size: len,
        sha256: stream.source.digest(),
        format: start.format,
        dataset_offset: start.dataset_start as u64,
        transfer_syntax_uid: start.ts.into(),
        attrs,
        warnings,
        layout,
    });
    if is_directory {
        Content::Directory(object)
    } else {
        Content::Object(object)
    }
}

/// An object the catalog can hold must say which instance, study and series it is, in UIDs
/// DICOM allows.
fn identify(content: Content) -> Result<Content, ScanError> {
    let Content::Object(o) = &content else {
        return Ok(content);
    };
    let a = &o.attrs;
    if a.sop_instance_uid.is_empty() {
        return Err(ScanError::NoSopInstanceUid);
    }
    // A DICOMDIR record and a file header need the SOP Class UID (Type 1 in both).
    if a.sop_class_uid.is_empty() {
        return Err(ScanError::NoSopClassUid);
    }
    for (what, uid) in [
        ("SOP Instance UID", a.sop_instance_uid.as_str()),
        ("SOP Class UID", &a.sop_class_uid),
        ("Study Instance UID", &a.study.study_instance_uid),
        ("Series Instance UID", &a.series.series_instance_uid),
    ] {
        if uid.len() > 64 {
            return Err(ScanError::UidTooLong(what));
        }
    }
    if a.study.study_instance_uid.is_empty() || a.series.series_instance_uid.is_empty() {
        return Err(ScanError::NoStudyOrSeries);
    }
    Ok(content)
}

/// A transfer syntax must be a UID that the registry knows: anything else means the dataset's
/// encoding is a guess, and a guess is not packed.
fn check_transfer_syntax(ts: &str) -> Result<(), ScanError> {
    let valid =
        !ts.is_empty() && ts.len() <= 64 && ts.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if !valid {
        return Err(ScanError::InvalidTransferSyntax);
    }
    if !dicom::syntax::is_known(ts) {
        return Err(ScanError::UnknownTransferSyntax(ts.to_string()));
    }
    Ok(())
}

/// How a scan reads its stream (see [`Pass`]).
trait Source {
    /// How many bytes to read first.
    const HEAD_START: usize;
    /// Reads the next bytes of the header; 0 at the end.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Goes through the rest of the stream after the header (which ended at `at`), feeding
    /// the pixel data check.
    fn finish(
        &mut self,
        at: u64,
        len: u64,
        check: Option<&mut PixelDataCheck>,
    ) -> Result<(), ScanError>;
    /// SHA-256 of the stream, when every byte went by.
    fn digest(self) -> Option<Digest>;
}

/// Every byte is read and passes through the hasher exactly once.
struct Whole<R> {
    reader: R,
    hasher: Sha256,
}

impl<R: Read> Source for Whole<R> {
    const HEAD_START: usize = HEAD_START_WHOLE;

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.reader.read(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }

    fn finish(
        &mut self,
        mut at: u64,
        len: u64,
        mut check: Option<&mut PixelDataCheck>,
    ) -> Result<(), ScanError> {
        // Sized to what is left (most files were read whole with their header), plus a byte to
        // see a file that grew: a zeroed 256 KiB buffer per small file costs time, and memory
        // the allocator does not give back.
        let left = len.saturating_sub(at).min(256 * 1024) as usize;
        let mut buf = vec![0u8; left + 1];
        loop {
            let n = match self.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(ScanError::io(at, e));
                }
            };
            if let Some(check) = check.as_deref_mut() {
                check.feed(buf.get(..n).unwrap_or_default())?;
            }
            at += n as u64;
            if at > len {
                return Err(ScanError::Grew { expected: len });
            }
        }
        if at != len {
            return Err(ScanError::Shrank { read: at, len });
        }
        Ok(())
    }

    fn digest(self) -> Option<Digest> {
        Some(Digest::from_hasher(self.hasher))
    }
}

/// The header is read; pixel payloads are seeked past, only item headers are read.
struct HeaderOnly<R> {
    reader: R,
}

impl<R: Read + Seek> Source for HeaderOnly<R> {
    const HEAD_START: usize = HEAD_START_HEADER;

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }

    fn finish(
        &mut self,
        mut at: u64,
        len: u64,
        check: Option<&mut PixelDataCheck>,
    ) -> Result<(), ScanError> {
        let Some(check) = check else {
            return Ok(());
        };
        let io_err = |at: u64| move |e: io::Error| ScanError::io(at, e);
        while !check.is_complete() && at < len {
            let skip = check.skippable().min(len - at);
            if skip > 0 {
                check.skip(skip);
                at += skip;
                continue;
            }
            // An item header (8 bytes, or what is left of a partial one).
            let mut item = [0u8; 8];
            self.reader.seek(SeekFrom::Start(at)).map_err(io_err(at))?;
            let n = self.reader.read(&mut item).map_err(io_err(at))?;
            if n == 0 {
                break;
            }
            check.feed(item.get(..n).unwrap_or_default())?;
            at += n as u64;
        }
        Ok(())
    }

    fn digest(self) -> Option<Digest> {
        None
    }
}

/// The stream being scanned.
struct Stream<S> {
    source: S,
    read: u64,
}

impl<S: Source> Stream<S> {
    /// Reads into `head` until it holds `upto` bytes or the stream ends.
    fn fill(&mut self, head: &mut Vec<u8>, upto: usize) -> Result<(), ScanError> {
        if head.len() >= upto {
            return Ok(());
        }
        let start = head.len();
        head.resize(upto, 0);
        let mut filled = start;
        while filled < upto {
            let slot = head.get_mut(filled..upto).unwrap_or_default();
            match self.source.read(slot) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(ScanError::io(self.read + (filled - start) as u64, e));
                }
            }
        }
        head.truncate(filled);
        self.read += (filled - start) as u64;
        if filled == start {
            // Asked for more and got nothing: the stream is shorter than it said.
            return Err(ScanError::EndsInHeader { read: self.read });
        }
        Ok(())
    }

    fn finish(&mut self, len: u64, check: Option<&mut PixelDataCheck>) -> Result<(), ScanError> {
        self.source.finish(self.read, len, check)
    }
}

/// Detects the format, reading more when a large meta group runs past the first bytes.
fn detect_with_room<S: Source>(
    stream: &mut Stream<S>,
    head: &mut Vec<u8>,
    len: u64,
) -> Result<Detected, ScanError> {
    loop {
        match dicom::detect(head) {
            Err(Malformed::Truncated { .. })
                if (head.len() as u64) < len && head.len() < HEAD_MAX =>
            {
                let more = (head.len() * 4)
                    .clamp(S::HEAD_START, HEAD_MAX)
                    .min(len as usize);
                stream.fill(head, more)?;
            }
            other => return Ok(other?),
        }
    }
}

/// Walks the header, growing `head` as the walk asks, never past [`HEAD_MAX`].
fn walk_with_room<S: Source>(
    stream: &mut Stream<S>,
    head: &mut Vec<u8>,
    dataset_start: usize,
    encoding: Encoding,
    len: u64,
) -> Result<Walked, ScanError> {
    loop {
        let walked = dicom::walk(head, dataset_start, encoding, len)?;
        match walked.walk {
            Walk::PixelData { .. } | Walk::End => return Ok(walked),
            Walk::NeedMore(n) => {
                if n > HEAD_MAX || head.len() >= HEAD_MAX {
                    return Err(ScanError::HeaderTooLarge);
                }
                let want = n.max(head.len() * 4).min(HEAD_MAX).min(len as usize);
                stream.fill(head, want)?;
            }
        }
    }
}

/// What the walk found that later stages need: where the pixel data lies and where the
/// elements render reads are (without those dicom-object cannot read).
fn layout_of(walked: &Walked) -> Layout {
    let pixel = match walked.walk {
        Walk::PixelData { offset, header } => Some(PixelLocation {
            kind: match header.tag.element() {
                0x0008 => PixelKind::Float,
                0x0009 => PixelKind::DoubleFloat,
                _ => PixelKind::Integer,
            },
            element: offset as u64,
            value: (offset + header.header_len) as u64,
            stored: match header.len {
                Some(len) => PixelValue::Native {
                    len,
                    words: header.vr == Some(dicom_core::VR::OW),
                },
                None => PixelValue::Encapsulated,
            },
        }),
        _ => None,
    };
    let image_elements = walked
        .image_elements
        .iter()
        .filter(|r| {
            !walked
                .unparseable
                .iter()
                .any(|u| u.start < r.end && r.start < u.end)
        })
        .map(|r| r.start as u64..r.end as u64)
        .collect();
    Layout {
        pixel,
        image_elements,
        document: walked
            .document
            .as_ref()
            .map(|r| r.start as u64..r.end as u64),
    }
}

/// A copy of `header` (which starts at stream offset `start`) without the given ranges.
fn excise(header: &[u8], start: usize, ranges: &[std::ops::Range<usize>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(header.len());
    let mut at = 0;
    for r in ranges {
        let (a, b) = (r.start.saturating_sub(start), r.end.saturating_sub(start));
        out.extend_from_slice(header.get(at..a).unwrap_or_default());
        at = b;
    }
    out.extend_from_slice(header.get(at..).unwrap_or_default());
    out
}

/// Parses an already-inflated dataset (walk + read), for deflated transfer syntaxes.
fn parse_header(
    bytes: &[u8],
    encoding: Encoding,
) -> Result<(InMemDicomObject, Layout, RawText), ScanError> {
    let walked = dicom::walk(bytes, 0, encoding, bytes.len() as u64)?;
    let end = match walked.walk {
        Walk::PixelData { offset, .. } => offset,
        Walk::End => bytes.len(),
        Walk::NeedMore(_) => {
            return Err(ScanError::InflatedHeaderTooLarge);
        }
    };
    let raw = raw_text(bytes.get(..end).unwrap_or_default(), encoding);
    let obj = if walked.unparseable.is_empty() {
        read_dataset(bytes.get(..end).unwrap_or_default(), encoding)?
    } else {
        read_dataset(
            &excise(bytes.get(..end).unwrap_or_default(), 0, &walked.unparseable),
            encoding,
        )?
    };
    Ok((obj, layout_of(&walked), raw))
}

fn inflate_bounded(deflated: &[u8]) -> Result<Vec<u8>, ScanError> {
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(deflated)
        .take(INFLATE_MAX)
        .read_to_end(&mut out)
        .map_err(|e| ScanError::DeflateCorrupt(e.to_string()))?;
    Ok(out)
}

/// Hands validated header bytes to dicom-object.
fn read_dataset(header: &[u8], encoding: Encoding) -> Result<InMemDicomObject, ScanError> {
    dicom::read_dataset(header, encoding).map_err(|e| ScanError::Parse(e.to_string()))
}

/// The raw bytes of the top-level text attributes whose characters depend on the Specific
/// Character Set, and that set's terms: dicom-object decodes text itself with the first term
/// only and no code extensions, so the scan decodes these bytes with [`dicom::charset`].
#[derive(Debug, Default)]
struct RawText {
    charset: Vec<String>,
    values: Vec<(Tag, Vec<u8>)>,
}

/// The text attributes read through [`dicom::charset`] (the others are ASCII by VR).
pub const CHARSET_TEXT: [Tag; 7] = [
    tags::ACCESSION_NUMBER,
    tags::STUDY_DESCRIPTION,
    tags::SERIES_DESCRIPTION,
    tags::PATIENT_NAME,
    tags::PATIENT_ID,
    tags::ISSUER_OF_PATIENT_ID,
    tags::STUDY_ID,
];

/// Steps over the top-level elements of `header` (already walked, so every length fits) up to
/// the last tag of [`CHARSET_TEXT`], keeping those values' bytes. A step that fails stops it:
/// the rest is then read through dicom-object, as before.
fn raw_text(header: &[u8], encoding: Encoding) -> RawText {
    let mut raw = RawText::default();
    let mut pos = 0;
    while let Some(Ok(h)) = dicom::read_header(header, pos, encoding, dicom::element::BadVr::Refuse)
    {
        if h.tag > tags::STUDY_ID {
            break;
        }
        let start = h.value_start(pos);
        let end = match h.len {
            Some(len) if h.vr != Some(dicom_core::VR::SQ) => start.saturating_add(len as usize),
            _ => match dicom::walk::element_end(
                header,
                pos,
                encoding,
                dicom::element::BadVr::Refuse,
                0,
            ) {
                Ok(end) => end,
                Err(_) => break,
            },
        };
        let Some(value) = header.get(start..end) else {
            break;
        };
        if h.tag == tags::SPECIFIC_CHARACTER_SET {
            raw.charset = String::from_utf8_lossy(value)
                .split('\\')
                .map(|t| {
                    t.trim_matches(|c: char| c == '\0' || c.is_whitespace())
                        .to_string()
                })
                .collect();
        } else if CHARSET_TEXT.contains(&h.tag) {
            raw.values.push((h.tag, value.to_vec()));
        }
        if end <= pos {
            break;
        }
        pos = end;
    }
    raw
}

fn text(obj: &InMemDicomObject, tag: Tag) -> String {
    let Some(e) = obj.get(tag) else {
        return String::new();
    };
    // A value written with VR UN (the writer did not know the VR) holds the text as raw bytes.
    let s = if e.vr() == dicom_core::VR::UN {
        e.to_bytes()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    } else {
        e.to_str().map(|s| s.into_owned()).unwrap_or_default()
    };
    trim(&s)
}

fn trim(s: &str) -> String {
    s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .to_string()
}

/// A text attribute whose characters depend on the Specific Character Set: its own bytes
/// decoded, or dicom-object's reading where the bytes were not found.
fn charset_text(
    obj: &InMemDicomObject,
    charset: &dicom::charset::CharacterSet,
    raw: &RawText,
    tag: Tag,
) -> String {
    let Some((_, bytes)) = raw.values.iter().find(|(t, _)| *t == tag) else {
        return text(obj, tag);
    };
    let vr = match obj.get(tag).map(|e| e.vr()) {
        Some(vr) if vr != dicom_core::VR::UN => vr,
        _ => dicom::element::dictionary_vr(tag).unwrap_or(dicom_core::VR::LO),
    };
    let s = trim(&charset.decode(bytes, vr));
    if vr == dicom_core::VR::PN {
        // Trailing empty component groups carry nothing (PS3.5 6.2.1); pydicom drops them too.
        s.trim_end_matches('=').to_string()
    } else {
        s
    }
}

fn int<T: std::str::FromStr>(obj: &InMemDicomObject, tag: Tag) -> Option<T> {
    let s = text(obj, tag);
    // IS values may carry several numbers; the first is the one that matters here.
    s.split('\\').next()?.trim().parse().ok()
}

fn binary_u16(obj: &InMemDicomObject, tag: Tag) -> Option<u16> {
    obj.get(tag).and_then(|e| e.to_int::<u16>().ok())
}

fn attributes(
    obj: &InMemDicomObject,
    charset: &dicom::charset::CharacterSet,
    raw: &RawText,
) -> Attributes {
    let t = |tag| charset_text(obj, charset, raw, tag);
    Attributes {
        patient: Arc::new(PatientAttrs {
            patient_name: t(tags::PATIENT_NAME),
            patient_id: t(tags::PATIENT_ID),
            issuer_of_patient_id: t(tags::ISSUER_OF_PATIENT_ID),
            patient_birth_date: text(obj, tags::PATIENT_BIRTH_DATE),
            patient_sex: text(obj, tags::PATIENT_SEX),
        }),
        study: Arc::new(StudyAttrs {
            study_instance_uid: text(obj, tags::STUDY_INSTANCE_UID),
            study_date: text(obj, tags::STUDY_DATE),
            study_time: text(obj, tags::STUDY_TIME),
            study_description: t(tags::STUDY_DESCRIPTION),
            study_id: t(tags::STUDY_ID),
            accession_number: t(tags::ACCESSION_NUMBER),
        }),
        series: Arc::new(SeriesAttrs {
            series_instance_uid: text(obj, tags::SERIES_INSTANCE_UID),
            series_number: int(obj, tags::SERIES_NUMBER),
            series_description: t(tags::SERIES_DESCRIPTION),
            modality: text(obj, tags::MODALITY),
            body_part_examined: text(obj, tags::BODY_PART_EXAMINED),
        }),
        sop_class_uid: text(obj, tags::SOP_CLASS_UID).into(),
        sop_instance_uid: text(obj, tags::SOP_INSTANCE_UID),
        instance_number: int(obj, tags::INSTANCE_NUMBER),
        number_of_frames: int(obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1),
        rows: binary_u16(obj, tags::ROWS),
        columns: binary_u16(obj, tags::COLUMNS),
        has_pixel_data: false,
        document: None,
        source_text: SourceText::of(raw),
    }
}

/// What a non-image object's directory record needs (see [`DocumentKeys`]); `None` for images.
fn document_keys(obj: &InMemDicomObject, sop_class_uid: &str) -> Option<Box<DocumentKeys>> {
    if crate::dicomdir::record_type_for_sop_class(sop_class_uid) == "IMAGE" {
        return None;
    }
    let values = crate::dicomdir::RECORD_KEY_TAGS
        .iter()
        .filter(|t| obj.get(**t).is_some())
        .map(|t| (*t, text(obj, *t)))
        .collect();
    let concept_name = obj
        .get(tags::CONCEPT_NAME_CODE_SEQUENCE)
        .and_then(|e| e.items())
        .and_then(|items| items.first())
        .map(|item| Code {
            value: text(item, tags::CODE_VALUE),
            scheme: text(item, tags::CODING_SCHEME_DESIGNATOR),
            meaning: text(item, tags::CODE_MEANING),
        });
    Some(Box::new(DocumentKeys {
        values,
        verification_datetime: obj
            .get(tags::VERIFYING_OBSERVER_SEQUENCE)
            .and_then(|e| e.items())
            .into_iter()
            .flatten()
            .map(|item| text(item, tags::VERIFICATION_DATE_TIME))
            .max()
            .unwrap_or_default(),
        concept_name,
    }))
}

/// Says in plain words what a non-DICOM file on a disc probably is.
fn describe_not_dicom(head: &[u8]) -> NotDicom {
    let starts = |sig: &[u8]| head.starts_with(sig);
    let lower: Vec<u8> = head.iter().take(512).map(u8::to_ascii_lowercase).collect();
    let contains = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    if head.is_empty() {
        NotDicom::Empty
    } else if starts(b"MZ") || starts(b"\x7fELF") || starts(&[0xCF, 0xFA, 0xED, 0xFE]) {
        NotDicom::Program
    } else if starts(b"%PDF") {
        NotDicom::Pdf
    } else if starts(&[0xD0, 0xCF, 0x11, 0xE0]) {
        NotDicom::WindowsData
    } else if starts(b"\x89PNG") || starts(&[0xFF, 0xD8, 0xFF]) || starts(b"GIF8") || starts(b"BM")
    {
        NotDicom::Picture
    } else if starts(b"PK\x03\x04") {
        NotDicom::Zip
    } else if contains(b"<html") || contains(b"<!doctype") || contains(b"<?xml") {
        NotDicom::WebPage
    } else if contains(b"[autorun]") {
        NotDicom::Autorun
    } else if head
        .iter()
        .take(512)
        .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        NotDicom::Text
    } else {
        NotDicom::Other
    }
}

/// Scans one file on disk. Opens without blocking (a FIFO must never hang the run), refuses
/// anything that is not a regular file, and turns every failure into a plain reason.
pub fn scan_file(path: &Path, pass: Pass) -> Scanned {
    let unused = |reason: Reason| Unused {
        path: path.to_path_buf(),
        reason,
    };
    let (file, len) = match platform::open_regular(path) {
        Ok(Opened::File { file, len }) => (file, len),
        Ok(Opened::NotRegular) => {
            return Scanned::Ignored(unused(Reason::NotOpened(NotOpened::Special(
                Special::Other,
            ))));
        }
        Err(e) => return Scanned::Skipped(unused(Reason::open_failed(e))),
    };
    let scanned = match pass {
        Pass::Whole => scan_reader(file, len),
        Pass::Header => scan_header(file, len),
    };
    outcome(path, scanned)
}

/// What the scan of the file at `path` comes to, as the survey sorts it.
pub fn outcome(path: &Path, scanned: Result<Content, ScanError>) -> Scanned {
    let unused = |reason: Reason| Unused {
        path: path.to_path_buf(),
        reason,
    };
    match scanned {
        Ok(Content::Object(object)) => Scanned::Instance(Box::new(Instance {
            source: path.to_path_buf(),
            object: *object,
            read_from: None,
        })),
        Ok(Content::Directory(object)) => Scanned::Directory(Box::new(Instance {
            source: path.to_path_buf(),
            object: *object,
            read_from: None,
        })),
        Ok(Content::NotDicom(kind)) => Scanned::Ignored(unused(Reason::NotDicom(kind))),
        Err(e) => Scanned::Skipped(unused(Reason::Unusable(e))),
    }
}

/// Scans files in parallel; `tick` is called once per file (for a progress bar).
/// The result keeps the order of `paths`.
pub fn scan_all(paths: &[PathBuf], pass: Pass, tick: &(dyn Fn(&Scanned) + Sync)) -> Vec<Scanned> {
    let interner = Interner::default();
    paths
        .par_iter()
        .map(|p| {
            let mut s = scan_file(p, pass);
            if let Scanned::Instance(i) | Scanned::Directory(i) = &mut s {
                interner.intern(&mut i.object);
            }
            tick(&s);
            s
        })
        .collect()
}
