//! What verify finds wrong with a package, one variant per kind of finding.
//!
//! Decisions (stop early on a ZIP-bomb construction, what extract refuses) match on the
//! variant, never on the words. A person reads the plain-words [`Display`](std::fmt::Display);
//! a program reads the stable [`Problem::code`], which `--json` shows with the file concerned
//! and the same words.

use crate::dicomdir::DicomDirError;
use crate::layout::FileIdError;
use crate::package::names::{CHECKSUMS, DICOM_FOLDER, DICOMDIR, PAGES_FOLDER};
use crate::scan::ScanError;
use serde::ser::{Serialize, SerializeStruct, Serializer};
use std::{fmt, io, path::PathBuf};

/// One thing wrong with a package.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    // The package as a whole.
    #[error("{}: {source}", path.display())]
    CannotOpen {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("not a readable ZIP archive ({0})")]
    NotAZip(#[source] zip::result::ZipError),
    #[error("the ZIP claims {claimed} entries, far more than any package")]
    TooManyEntries { claimed: usize },
    #[error("the folder holds far more files than any package")]
    TooManyFiles,
    #[error("cannot read the folder: {0}")]
    FolderUnreadable(#[source] walkdir::Error),
    #[error("not a readable disc image: {reason}")]
    ImageMalformed { reason: &'static str },
    #[error(
        "the package is encrypted: give its passphrase (--passphrase-file FILE or DICOMPACK_PASSPHRASE)"
    )]
    PassphraseNeeded,
    #[error("wrong passphrase: the package cannot be opened with it")]
    WrongPassphrase,

    // ZIP and folder structure, entry by entry.
    #[error("entry {index} of the ZIP is unreadable ({source})")]
    EntryUnreadable {
        index: usize,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("{file:?}: unsafe file name (absolute, `..`, drive or backslash)")]
    UnsafeName { file: String },
    #[error("{file}: a symbolic link, which a package never holds")]
    Link { file: String },
    #[error("{file}: not a regular file (link or special file)")]
    NotRegularFile { file: String },
    #[error("{file}: encrypted with the old ZIP scheme, which a package never is")]
    Encrypted { file: String },
    /// Two entries share bytes: a ZIP bomb's construction.
    #[error("{file} and {other} overlap in the ZIP (a ZIP-bomb trick)")]
    Overlap { file: String, other: String },
    #[error("{file}: appears more than once in the ZIP")]
    DuplicateEntry { file: String },
    /// The ZIP's central directory names one file twice; the zip reader keeps one of them, so
    /// which name is not known here. Extracting would give one of two different files.
    #[error("the ZIP holds two entries under one name: which one a tool extracts is a guess")]
    DuplicateNames,

    // Reading an entry.
    #[error("{file}: {source}")]
    Unreadable {
        file: String,
        #[source]
        source: ReadError,
    },
    /// A control file (checksum list, DICOMDIR) larger than any package of ours holds.
    #[error("{file}: too large ({size} bytes)")]
    TooLarge { file: String, size: u64 },

    // The checksum list.
    #[error("{CHECKSUMS} is missing: nothing to check against")]
    ChecksumsMissing,
    #[error("{CHECKSUMS}: {0}")]
    ChecksumsMalformed(#[source] crate::checksum::BadLine),
    #[error("{file}: listed twice in {CHECKSUMS}")]
    ListedTwice { file: String },
    #[error("{file}: listed in {CHECKSUMS} but missing")]
    ListedButMissing { file: String },
    #[error("{file}: present but not listed in {CHECKSUMS}")]
    NotListed { file: String },
    #[error("{file}: checksum does not match (the file was changed or damaged)")]
    ChecksumMismatch { file: String },
    /// A ZIP can lie about sizes; an entry must hold exactly what its header declares.
    #[error("{file}: its declared size is {declared} bytes, but it holds {actual}")]
    SizeMismatch {
        file: String,
        declared: u64,
        actual: u64,
    },

    // What a package holds.
    #[error("{file} is missing")]
    RequiredMissing { file: &'static str },
    #[error(
        "{file}: not a file a package holds (only {DICOMDIR}, {DICOM_FOLDER}/, {PAGES_FOLDER}/ and the four text files)"
    )]
    NotAPackageFile { file: String },

    // The DICOM files.
    #[error("{file}: not a valid DICOM file ID (8 uppercase characters per level)")]
    InvalidFileId {
        file: String,
        #[source]
        source: FileIdError,
    },
    #[error("{file}: lacks a proper DICOM file header")]
    NoFileHeader { file: String },
    #[error("{file}: a directory file where an image belongs")]
    DirectoryAsImage { file: String },
    #[error("{file}: not a DICOM file ({kind})")]
    NotDicom {
        file: String,
        kind: crate::scan::NotDicom,
    },
    #[error("{file}: does not parse: {source}")]
    DoesNotParse {
        file: String,
        #[source]
        source: ScanError,
    },

    // The DICOMDIR against the files.
    #[error("{DICOMDIR} is missing: viewers cannot find the images")]
    DicomdirMissing,
    #[error("{DICOMDIR} does not parse: {0}")]
    DicomdirDoesNotParse(#[source] DicomDirError),
    #[error("{DICOMDIR} references {file} twice")]
    DicomdirReferencesTwice { file: String },
    #[error("{DICOMDIR} references {file}, which is not in the package (or does not parse)")]
    DicomdirDangling { file: String },
    #[error("{file}: {DICOMDIR} says {attribute} {dicomdir}, the file says {actual}")]
    DicomdirDisagrees {
        file: String,
        attribute: Uid,
        dicomdir: String,
        actual: String,
    },
    #[error("{file}: in the package but not in the {DICOMDIR}")]
    NotInDicomdir { file: String },
}

/// Why one entry could not be read through.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot be read from the ZIP ({0})")]
    Zip(#[source] zip::result::ZipError),
    #[error("cannot be read ({0})")]
    Io(#[source] io::Error),
}

/// The UIDs a DICOMDIR record repeats from the file it references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uid {
    SopInstance,
    SopClass,
    TransferSyntax,
    Study,
    Series,
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Uid::SopInstance => "SOP Instance UID",
            Uid::SopClass => "SOP Class UID",
            Uid::TransferSyntax => "Transfer Syntax UID",
            Uid::Study => "Study Instance UID",
            Uid::Series => "Series Instance UID",
        })
    }
}

impl Problem {
    /// A stable name for the kind of problem, for programs (`--json`): it does not change when
    /// the words do.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::CannotOpen { .. } => "cannot_open",
            Problem::NotAZip(_) => "not_a_zip",
            Problem::TooManyEntries { .. } => "too_many_entries",
            Problem::TooManyFiles => "too_many_files",
            Problem::FolderUnreadable(_) => "folder_unreadable",
            Problem::ImageMalformed { .. } => "image_malformed",
            Problem::PassphraseNeeded => "passphrase_needed",
            Problem::WrongPassphrase => "wrong_passphrase",
            Problem::EntryUnreadable { .. } => "entry_unreadable",
            Problem::UnsafeName { .. } => "unsafe_name",
            Problem::Link { .. } => "link",
            Problem::NotRegularFile { .. } => "not_a_regular_file",
            Problem::Encrypted { .. } => "encrypted",
            Problem::Overlap { .. } => "overlapping_entries",
            Problem::DuplicateEntry { .. } | Problem::DuplicateNames => "duplicate_entry",
            Problem::Unreadable { .. } => "unreadable",
            Problem::TooLarge { .. } => "too_large",
            Problem::ChecksumsMissing => "checksum_list_missing",
            Problem::ChecksumsMalformed(_) => "checksum_list_malformed",
            Problem::ListedTwice { .. } => "listed_twice",
            Problem::ListedButMissing { .. } => "listed_but_missing",
            Problem::NotListed { .. } => "not_listed",
            Problem::ChecksumMismatch { .. } => "checksum_mismatch",
            Problem::SizeMismatch { .. } => "size_mismatch",
            Problem::RequiredMissing { .. } => "required_file_missing",
            Problem::NotAPackageFile { .. } => "not_a_package_file",
            Problem::InvalidFileId { .. } => "invalid_file_id",
            Problem::NoFileHeader { .. } => "no_file_header",
            Problem::DirectoryAsImage { .. } => "directory_as_image",
            Problem::NotDicom { .. } => "not_dicom",
            Problem::DoesNotParse { .. } => "does_not_parse",
            Problem::DicomdirMissing => "dicomdir_missing",
            Problem::DicomdirDoesNotParse(_) => "dicomdir_does_not_parse",
            Problem::DicomdirReferencesTwice { .. } => "dicomdir_references_twice",
            Problem::DicomdirDangling { .. } => "dicomdir_references_missing_file",
            Problem::DicomdirDisagrees { .. } => "dicomdir_disagrees",
            Problem::NotInDicomdir { .. } => "not_in_dicomdir",
        }
    }

    /// The package file the problem is about, when it is about one.
    pub fn file(&self) -> Option<&str> {
        match self {
            Problem::CannotOpen { .. }
            | Problem::NotAZip(_)
            | Problem::TooManyEntries { .. }
            | Problem::TooManyFiles
            | Problem::FolderUnreadable(_)
            | Problem::ImageMalformed { .. }
            | Problem::PassphraseNeeded
            | Problem::WrongPassphrase
            | Problem::EntryUnreadable { .. }
            | Problem::DuplicateNames => None,
            Problem::UnsafeName { file }
            | Problem::Link { file }
            | Problem::NotRegularFile { file }
            | Problem::Encrypted { file }
            | Problem::Overlap { file, .. }
            | Problem::DuplicateEntry { file }
            | Problem::Unreadable { file, .. }
            | Problem::TooLarge { file, .. }
            | Problem::ListedTwice { file }
            | Problem::ListedButMissing { file }
            | Problem::NotListed { file }
            | Problem::ChecksumMismatch { file }
            | Problem::SizeMismatch { file, .. }
            | Problem::NotAPackageFile { file }
            | Problem::InvalidFileId { file, .. }
            | Problem::NoFileHeader { file }
            | Problem::DirectoryAsImage { file }
            | Problem::NotDicom { file, .. }
            | Problem::DoesNotParse { file, .. }
            | Problem::DicomdirReferencesTwice { file }
            | Problem::DicomdirDangling { file }
            | Problem::DicomdirDisagrees { file, .. }
            | Problem::NotInDicomdir { file } => Some(file),
            Problem::RequiredMissing { file } => Some(file),
            Problem::ChecksumsMissing | Problem::ChecksumsMalformed(_) => Some(CHECKSUMS),
            Problem::DicomdirMissing | Problem::DicomdirDoesNotParse(_) => Some(DICOMDIR),
        }
    }
}

/// `{"code": "checksum_mismatch", "file": "DICOM/…", "message": "<the words>"}`; `file` is
/// null when the problem is about the package as a whole.
impl Serialize for Problem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Problem", 3)?;
        o.serialize_field("code", self.code())?;
        o.serialize_field("file", &self.file())?;
        o.serialize_field("message", &self.to_string())?;
        o.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> String {
        name.to_string()
    }

    #[test]
    fn words_for_people_and_a_code_for_programs() {
        let f = "DICOM/P0000001/I0000001";
        let cases = [
            (
                Problem::ChecksumMismatch { file: file(f) },
                "checksum_mismatch",
                "DICOM/P0000001/I0000001: checksum does not match (the file was changed or damaged)",
            ),
            (
                Problem::ChecksumsMissing,
                "checksum_list_missing",
                "SHA256.TXT is missing: nothing to check against",
            ),
            (
                Problem::UnsafeName { file: file("../x") },
                "unsafe_name",
                "\"../x\": unsafe file name (absolute, `..`, drive or backslash)",
            ),
            (
                Problem::Overlap {
                    file: file("A"),
                    other: file("B"),
                },
                "overlapping_entries",
                "A and B overlap in the ZIP (a ZIP-bomb trick)",
            ),
            (
                Problem::SizeMismatch {
                    file: file(f),
                    declared: 10,
                    actual: 12,
                },
                "size_mismatch",
                "DICOM/P0000001/I0000001: its declared size is 10 bytes, but it holds 12",
            ),
            (
                Problem::NotAPackageFile {
                    file: file("EXTRA.TXT"),
                },
                "not_a_package_file",
                "EXTRA.TXT: not a file a package holds (only DICOMDIR, DICOM/, IHE_PDI/ and the four text files)",
            ),
            (
                Problem::RequiredMissing { file: "README.TXT" },
                "required_file_missing",
                "README.TXT is missing",
            ),
            (
                Problem::DicomdirDisagrees {
                    file: file(f),
                    attribute: Uid::SopInstance,
                    dicomdir: "1.2".into(),
                    actual: "1.3".into(),
                },
                "dicomdir_disagrees",
                "DICOM/P0000001/I0000001: DICOMDIR says SOP Instance UID 1.2, the file says 1.3",
            ),
            (
                Problem::NotInDicomdir { file: file(f) },
                "not_in_dicomdir",
                "DICOM/P0000001/I0000001: in the package but not in the DICOMDIR",
            ),
            (
                Problem::Unreadable {
                    file: file(f),
                    source: ReadError::Io(io::Error::other("boom")),
                },
                "unreadable",
                "DICOM/P0000001/I0000001: cannot be read (boom)",
            ),
        ];
        for (problem, code, words) in cases {
            assert_eq!(problem.code(), code);
            assert_eq!(problem.to_string(), words);
            let json = serde_json::to_value(&problem).unwrap();
            assert_eq!(json["code"], code);
            assert_eq!(json["message"], words);
        }
    }

    #[test]
    fn json_names_the_file_or_none() {
        let json = serde_json::to_value(Problem::ChecksumMismatch {
            file: file("DICOM/A"),
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "code": "checksum_mismatch",
                "file": "DICOM/A",
                "message": "DICOM/A: checksum does not match (the file was changed or damaged)",
            })
        );
        let json = serde_json::to_value(Problem::TooManyFiles).unwrap();
        assert!(json["file"].is_null());
        let json = serde_json::to_value(Problem::DicomdirMissing).unwrap();
        assert_eq!(json["file"], "DICOMDIR");
    }
}
