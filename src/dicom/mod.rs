//! The DICOM byte layer, under every stage that touches DICOM bytes (scan, render, the DICOMDIR
//! reader, verify): one element-header parser, one capped walker with one nesting limit, one
//! VR table, one transfer-syntax type.
//!
//! Why by hand: real discs carry files with bogus lengths, and dicom-object reserves whatever a
//! length claims (a 674-byte file can ask for gigabytes). dicom-parser's stateful decoder and
//! dicom-object's readers trust each length they read and allocate for it; they have no cap
//! against the bytes really present, no nesting limit, and no way to stop at Pixel Data while
//! recording where it lies. So every stream is walked here first, lengths checked against the
//! stream's size, and only validated bytes are handed to dicom-object ([`read_dataset`]).
//!
//! The scan walks a file once and hands on what later stages need ([`Layout`]): where the data
//! set starts, where the pixel data lies, where the elements that decide how an image is drawn
//! are. Render reads just those bytes; nothing walks a file twice.

pub mod charset;
pub mod deflate;
pub mod element;
pub mod meta;
pub mod pixel;
pub mod syntax;
pub mod walk;

pub use element::{BadVr, Encoding, Header, InvalidVr, read_header, u16_at, u32_at};
pub use meta::{Detected, Meta, SourceFormat, detect};
pub use pixel::PixelDataCheck;
pub use syntax::{Codec, TransferSyntax};
pub use walk::{MAX_DEPTH, Walk, Walked, walk};

use dicom_object::InMemDicomObject;
use std::fmt;
use std::ops::Range;

/// Why a stream that claims to be DICOM cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    /// The stream ends before an element, sequence or item it announces.
    Truncated { offset: u64, what: String },
    /// A length points past the end of the file, or is otherwise impossible.
    BadLength { offset: u64, what: String },
    /// Sequences nested deeper than [`MAX_DEPTH`].
    TooDeep { offset: u64 },
    /// Explicit-VR bytes that name no value representation.
    InvalidVr { offset: u64, bad: InvalidVr },
    /// The File Meta group is unusable.
    BadMeta(String),
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::Truncated { offset, what } => {
                write!(
                    f,
                    "file is cut short: {what} at byte {offset} is incomplete"
                )
            }
            Malformed::BadLength { offset, what } => {
                write!(f, "impossible length: {what} at byte {offset}")
            }
            Malformed::TooDeep { offset } => write!(
                f,
                "sequences nested more than {MAX_DEPTH} deep at byte {offset}"
            ),
            Malformed::InvalidVr { offset, bad } => write!(f, "{bad} at byte {offset}"),
            Malformed::BadMeta(why) => write!(f, "broken file header: {why}"),
        }
    }
}

impl std::error::Error for Malformed {}

/// Which of the three pixel data elements (PS3.3 C.7.6.3) an image has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelKind {
    /// (7FE0,0010) Pixel Data: integers.
    Integer,
    /// (7FE0,0008) Float Pixel Data.
    Float,
    /// (7FE0,0009) Double Float Pixel Data.
    DoubleFloat,
}

/// How the pixel data value is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelValue {
    /// Native pixels, `len` bytes; `words` when the VR is OW (byte order matters).
    Native { len: u32, words: bool },
    /// Encapsulated fragments, undefined length.
    Encapsulated,
}

/// Where the pixel data lies in the data set stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelLocation {
    pub kind: PixelKind,
    /// Where the element's header starts: the header of the object ends here.
    pub element: u64,
    /// Where its value starts.
    pub value: u64,
    pub stored: PixelValue,
}

/// What a walk of one object found about its bytes, handed on so that no later stage walks the
/// file again.
///
/// Positions are in the data set stream: the file itself, or for a deflated transfer syntax the
/// inflated data set (which starts at 0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    pub pixel: Option<PixelLocation>,
    /// Byte ranges of the top-level elements that decide how an image is drawn (SOP Class,
    /// Modality, group 0028, Presentation LUT Shape), adjacent ranges merged: usually two or three.
    pub image_elements: Box<[Range<u64>]>,
    /// The value of the Encapsulated Document (0042,0011) of a PDF or CDA object.
    pub document: Option<Range<u64>>,
}

/// Whether a top-level element is one that render reads (see [`Layout::image_elements`]).
pub fn is_image_element(tag: dicom_core::Tag) -> bool {
    tag.group() == 0x0028
        || tag == dicom_dictionary_std::tags::SOP_CLASS_UID
        || tag == dicom_dictionary_std::tags::MODALITY
        || tag == dicom_dictionary_std::tags::PRESENTATION_LUT_SHAPE
}

/// Hands validated data set bytes to dicom-object. The bytes must have passed [`walk()`]: the
/// parser trusts every length it reads.
pub fn read_dataset(
    bytes: &[u8],
    encoding: Encoding,
) -> Result<InMemDicomObject, dicom_object::ReadError> {
    use dicom_transfer_syntax_registry::entries;
    let ts = match encoding {
        Encoding::ImplicitLe => entries::IMPLICIT_VR_LITTLE_ENDIAN.erased(),
        Encoding::ExplicitLe => entries::EXPLICIT_VR_LITTLE_ENDIAN.erased(),
        Encoding::ExplicitBe => entries::EXPLICIT_VR_BIG_ENDIAN.erased(),
    };
    InMemDicomObject::read_dataset_with_ts(bytes, &ts)
}

/// A UI or CS value as text, without the NUL or space padding.
pub fn uid_text(value: &[u8]) -> String {
    String::from_utf8_lossy(value)
        .trim_end_matches(['\0', ' '])
        .trim_start()
        .to_string()
}

#[cfg(test)]
mod tests;
