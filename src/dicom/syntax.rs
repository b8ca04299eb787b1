//! Transfer syntaxes: what a UID means for the bytes (element encoding, deflate, how pixel data
//! is compressed). The one place that names transfer-syntax UIDs; all of them come from
//! `dicom_dictionary_std::uids`, so none is spelled by hand.

// Explicit VR Big Endian is retired, and dicom-rs marks its UID deprecated; old discs still
// carry it, so it is read.
#![allow(deprecated)]

use super::element::Encoding;
use dicom_dictionary_std::uids;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

pub use uids::{
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
};

/// How the pixel data of a transfer syntax is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// Native (uncompressed) pixel data in the element's value.
    Native,
    /// Uncompressed frames in encapsulated fragments (PS3.5 A.4.11).
    EncapsulatedNative,
    Rle,
    /// JPEG baseline, extended and lossless (ISO 10918).
    Jpeg,
    JpegLs,
    /// JPEG 2000, Part 2 multi-component and HTJ2K.
    Jpeg2000,
    /// Another encapsulated syntax (MPEG, HEVC, JPEG XL, deflated frames, JPIP, private).
    Other,
}

impl Codec {
    /// Whether the pixel data is already compressed, so compressing the file again gains
    /// nothing (a deflated data set counts: it is compressed).
    pub fn is_compressed(self) -> bool {
        !matches!(self, Codec::Native | Codec::EncapsulatedNative)
    }
}

/// What a transfer syntax UID says about the bytes it governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransferSyntax {
    /// How the data set's elements are encoded (after inflating, when `deflated`).
    pub encoding: Encoding,
    /// The data set after the File Meta group is one deflate stream (PS3.5 A.5).
    pub deflated: bool,
    pub codec: Codec,
}

impl TransferSyntax {
    /// The meaning of `uid` (trailing padding ignored). Every syntax not listed here encodes its
    /// data set in explicit VR little endian (PS3.5 §10) with encapsulated pixel data.
    pub fn of(uid: &str) -> TransferSyntax {
        let uid = uid.trim_end_matches(['\0', ' ']);
        let (encoding, deflated, codec) = match uid {
            uids::IMPLICIT_VR_LITTLE_ENDIAN => (Encoding::ImplicitLe, false, Codec::Native),
            uids::EXPLICIT_VR_LITTLE_ENDIAN => (Encoding::ExplicitLe, false, Codec::Native),
            uids::EXPLICIT_VR_BIG_ENDIAN => (Encoding::ExplicitBe, false, Codec::Native),
            uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN => (Encoding::ExplicitLe, true, Codec::Native),
            uids::ENCAPSULATED_UNCOMPRESSED_EXPLICIT_VR_LITTLE_ENDIAN => {
                (Encoding::ExplicitLe, false, Codec::EncapsulatedNative)
            }
            uids::RLE_LOSSLESS => (Encoding::ExplicitLe, false, Codec::Rle),
            uids::JPEG_BASELINE8_BIT
            | uids::JPEG_EXTENDED12_BIT
            | uids::JPEG_LOSSLESS
            | uids::JPEG_LOSSLESS_SV1 => (Encoding::ExplicitLe, false, Codec::Jpeg),
            uids::JPEGLS_LOSSLESS | uids::JPEGLS_NEAR_LOSSLESS => {
                (Encoding::ExplicitLe, false, Codec::JpegLs)
            }
            uids::JPEG2000_LOSSLESS
            | uids::JPEG2000
            | uids::JPEG2000MC_LOSSLESS
            | uids::JPEG2000MC
            | uids::HTJ2K_LOSSLESS
            | uids::HTJ2K_LOSSLESS_RPCL
            | uids::HTJ2K => (Encoding::ExplicitLe, false, Codec::Jpeg2000),
            _ => (Encoding::ExplicitLe, false, Codec::Other),
        };
        TransferSyntax {
            encoding,
            deflated,
            codec,
        }
    }

    /// The transfer syntax a bare data set (no File Meta) is read as, from its encoding.
    pub fn uid_for_encoding(encoding: Encoding) -> &'static str {
        match encoding {
            Encoding::ImplicitLe => uids::IMPLICIT_VR_LITTLE_ENDIAN,
            Encoding::ExplicitLe => uids::EXPLICIT_VR_LITTLE_ENDIAN,
            Encoding::ExplicitBe => uids::EXPLICIT_VR_BIG_ENDIAN,
        }
    }

    /// Whether the file's bytes are compressed already (pixel codec or deflated data set).
    pub fn is_compressed(&self) -> bool {
        self.deflated || self.codec.is_compressed()
    }
}

/// Whether dicom-rs's registry knows `uid` as a transfer syntax.
pub fn is_known(uid: &str) -> bool {
    TransferSyntaxRegistry.get(uid).is_some()
}

/// A transfer syntax as people read it: its name and UID, or the UID alone when unknown.
pub fn describe(uid: &str) -> String {
    TransferSyntaxRegistry
        .get(uid)
        .map(|ts| format!("{} ({uid})", ts.name()))
        .unwrap_or_else(|| uid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_syntaxes_discs_carry() {
        let implicit = TransferSyntax::of("1.2.840.10008.1.2\0");
        assert_eq!(implicit.encoding, Encoding::ImplicitLe);
        assert!(!implicit.is_compressed());
        let deflated = TransferSyntax::of(DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN);
        assert!(deflated.deflated && deflated.is_compressed());
        // Deflated Image Frame Compression deflates frames, not the data set.
        let frames = TransferSyntax::of(uids::DEFLATED_IMAGE_FRAME_COMPRESSION);
        assert!(!frames.deflated);
        assert_eq!(frames.codec, Codec::Other);
        assert_eq!(
            TransferSyntax::of(uids::JPEG_LOSSLESS_SV1).codec,
            Codec::Jpeg
        );
        assert_eq!(
            TransferSyntax::of(uids::EXPLICIT_VR_BIG_ENDIAN).encoding,
            Encoding::ExplicitBe
        );
    }
}
