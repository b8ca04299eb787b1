//! Element headers: the one place where a tag, a VR and a length are read from bytes, and the
//! one table of what each VR's encoding looks like (PS3.5 §7.1).
//!
//! Everything above (the walker, the File Meta reader, the pixel data checks, the DICOMDIR
//! reader) reads headers through [`read_header`], so they cannot disagree on what a header is.

use dicom_core::Tag;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::header::VR;
use dicom_dictionary_std::StandardDataDictionary;
use std::fmt;

pub const ITEM: Tag = Tag(0xFFFE, 0xE000);
pub const ITEM_END: Tag = Tag(0xFFFE, 0xE00D);
pub const SEQUENCE_END: Tag = Tag(0xFFFE, 0xE0DD);
/// The length field's value for "undefined length".
pub const UNDEFINED: u32 = 0xFFFF_FFFF;

/// How a data set's elements are encoded. Deflate is a property of the transfer syntax around
/// the bytes (see [`super::TransferSyntax`]), not of the elements, so it is not here; and there
/// is no implicit VR big endian, because the standard has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    ImplicitLe,
    ExplicitLe,
    ExplicitBe,
}

impl Encoding {
    pub fn is_explicit(self) -> bool {
        self != Encoding::ImplicitLe
    }

    pub fn is_little_endian(self) -> bool {
        self != Encoding::ExplicitBe
    }

    /// The other VR encoding in the same byte order, where one exists: a writer that declares
    /// one VR encoding and writes the other is a known fault.
    pub fn other_vr(self) -> Option<Encoding> {
        match self {
            Encoding::ImplicitLe => Some(Encoding::ExplicitLe),
            Encoding::ExplicitLe => Some(Encoding::ImplicitLe),
            Encoding::ExplicitBe => None,
        }
    }
}

/// What to make of explicit-VR bytes that are not a VR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadVr {
    /// An error: the stream's encoding is not what it claims (the scan's rule).
    Refuse,
    /// Read that one element as implicit VR: some DICOMDIR writers mix them in.
    ReadAsImplicit,
}

/// One element header as it appears in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub tag: Tag,
    /// `None` for implicit VR and for item / delimiter tags.
    pub vr: Option<VR>,
    /// `None` for undefined length.
    pub len: Option<u32>,
    /// Bytes taken by the header itself.
    pub header_len: usize,
}

impl Header {
    /// Where the value starts, for a header read at `pos`.
    pub fn value_start(&self, pos: usize) -> usize {
        pos + self.header_len
    }
}

/// Explicit-VR bytes that name no VR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidVr {
    pub tag: Tag,
    pub bytes: [u8; 2],
}

impl fmt::Display for InvalidVr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "element ({:04X},{:04X}) has no valid value representation",
            self.tag.group(),
            self.tag.element()
        )
    }
}

/// A 16-bit integer at `pos`, or `None` past the end.
pub fn u16_at(buf: &[u8], pos: usize, le: bool) -> Option<u16> {
    let b: [u8; 2] = buf.get(pos..pos.checked_add(2)?)?.try_into().ok()?;
    Some(if le {
        u16::from_le_bytes(b)
    } else {
        u16::from_be_bytes(b)
    })
}

/// A 32-bit integer at `pos`, or `None` past the end.
pub fn u32_at(buf: &[u8], pos: usize, le: bool) -> Option<u32> {
    let b: [u8; 4] = buf.get(pos..pos.checked_add(4)?)?.try_into().ok()?;
    Some(if le {
        u32::from_le_bytes(b)
    } else {
        u32::from_be_bytes(b)
    })
}

/// VRs whose explicit encoding has a 2-byte reserved field and a 4-byte length (PS3.5 7.1.2).
pub fn has_long_length(vr: VR) -> bool {
    matches!(
        vr,
        VR::OB
            | VR::OD
            | VR::OF
            | VR::OL
            | VR::OV
            | VR::OW
            | VR::SQ
            | VR::SV
            | VR::UC
            | VR::UN
            | VR::UR
            | VR::UT
            | VR::UV
    )
}

/// Size of one value of a fixed-size binary VR (1 for everything else).
pub fn binary_unit(vr: VR) -> u32 {
    match vr {
        VR::US | VR::SS | VR::OW => 2,
        VR::UL | VR::SL | VR::FL | VR::AT | VR::OL | VR::OF => 4,
        VR::FD | VR::OD | VR::SV | VR::UV | VR::OV => 8,
        _ => 1,
    }
}

/// The VR the dictionary gives a tag, when it gives exactly one (implicit VR streams).
pub fn dictionary_vr(tag: Tag) -> Option<VR> {
    match StandardDataDictionary.by_tag(tag)?.vr() {
        VirtualVr::Exact(vr) => Some(vr),
        _ => None,
    }
}

/// Reads the element header at `pos`, or `None` when the buffer ends inside it. Item and
/// delimiter tags always have the 8-byte form.
pub fn read_header(
    buf: &[u8],
    pos: usize,
    enc: Encoding,
    bad_vr: BadVr,
) -> Option<Result<Header, InvalidVr>> {
    let le = enc.is_little_endian();
    let tag = Tag(u16_at(buf, pos, le)?, u16_at(buf, pos + 2, le)?);
    let short_form = |vr| {
        let len = u32_at(buf, pos + 4, le)?;
        Some(Ok(Header {
            tag,
            vr,
            len: (len != UNDEFINED).then_some(len),
            header_len: 8,
        }))
    };
    if tag.group() == 0xFFFE || !enc.is_explicit() {
        return short_form(None);
    }
    let vr_bytes: [u8; 2] = buf.get(pos + 4..pos + 6)?.try_into().ok()?;
    let Some(vr) = VR::from_binary(vr_bytes) else {
        return match bad_vr {
            BadVr::Refuse => Some(Err(InvalidVr {
                tag,
                bytes: vr_bytes,
            })),
            BadVr::ReadAsImplicit => short_form(None),
        };
    };
    if has_long_length(vr) {
        let len = u32_at(buf, pos + 8, le)?;
        Some(Ok(Header {
            tag,
            vr: Some(vr),
            len: (len != UNDEFINED).then_some(len),
            header_len: 12,
        }))
    } else {
        let len = u16_at(buf, pos + 6, le)?;
        Some(Ok(Header {
            tag,
            vr: Some(vr),
            len: Some(u32::from(len)),
            header_len: 8,
        }))
    }
}

/// Whether the bytes at `pos` look like an explicit VR (two upper-case letters): how DCMTK and
/// pydicom guess the encoding of a stream that does not say.
pub fn looks_explicit(buf: &[u8], pos: usize) -> bool {
    matches!(buf.get(pos + 4..pos + 6), Some([a, b]) if a.is_ascii_uppercase() && b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_three_header_forms() {
        // explicit short: (0010,0010) PN len 4
        let b = [0x10, 0, 0x10, 0, b'P', b'N', 4, 0];
        let h = read_header(&b, 0, Encoding::ExplicitLe, BadVr::Refuse)
            .unwrap()
            .unwrap();
        assert_eq!((h.vr, h.len, h.header_len), (Some(VR::PN), Some(4), 8));
        // explicit long, undefined: (0008,1140) SQ
        let b = [8, 0, 0x40, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];
        let h = read_header(&b, 0, Encoding::ExplicitLe, BadVr::Refuse)
            .unwrap()
            .unwrap();
        assert_eq!((h.vr, h.len, h.header_len), (Some(VR::SQ), None, 12));
        // an item in explicit VR has no VR
        let b = [0xFE, 0xFF, 0, 0xE0, 8, 0, 0, 0];
        let h = read_header(&b, 0, Encoding::ExplicitLe, BadVr::Refuse)
            .unwrap()
            .unwrap();
        assert_eq!((h.tag, h.vr, h.len), (ITEM, None, Some(8)));
        // cut short
        assert!(read_header(&b[..6], 0, Encoding::ImplicitLe, BadVr::Refuse).is_none());
    }

    #[test]
    fn bad_vr_is_refused_or_read_as_implicit() {
        let b = [0x10, 0, 0x10, 0, 4, 0, 0, 0];
        assert!(matches!(
            read_header(&b, 0, Encoding::ExplicitLe, BadVr::Refuse),
            Some(Err(InvalidVr { .. }))
        ));
        let h = read_header(&b, 0, Encoding::ExplicitLe, BadVr::ReadAsImplicit)
            .unwrap()
            .unwrap();
        assert_eq!((h.vr, h.len), (None, Some(4)));
    }
}
