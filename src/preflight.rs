//! Byte-level walk of a DICOM stream, before any parser sees it.
//!
//! Real discs carry files with bogus lengths, and dicom-object reserves whatever a length claims
//! (a 674-byte file can ask for gigabytes). So every file is first walked here, by hand: decide
//! the format by content (Part 10 with or without preamble, or a bare dataset as old discs
//! carry), read the File Meta group, and check every element, sequence and item length against
//! the bytes that are really there, with a nesting limit. Only a stream that passes is handed to
//! dicom-object, and only the bytes up to Pixel Data.

use dicom_core::Tag;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::header::VR;
use dicom_dictionary_std::StandardDataDictionary;
use std::fmt;

/// Sequences nested deeper than this are refused: real objects stay far below it, and a
/// crafted file with thousands of levels must not exhaust the stack.
pub const MAX_DEPTH: usize = 64;

/// A File Meta group larger than this is refused (real ones are a few hundred bytes).
const MAX_META_LEN: usize = 1 << 20;

pub const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";
pub const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
pub const EXPLICIT_VR_BE: &str = "1.2.840.10008.1.2.2";
pub const DEFLATED_EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1.99";

const ITEM: Tag = Tag(0xFFFE, 0xE000);
const ITEM_END: Tag = Tag(0xFFFE, 0xE00D);
const SEQUENCE_END: Tag = Tag(0xFFFE, 0xE0DD);
const UNDEFINED: u32 = 0xFFFF_FFFF;

/// How a file presents its dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    /// PS3.10 file: 128-byte preamble, `DICM`, File Meta group.
    Part10,
    /// `DICM` and File Meta group, but no preamble (some old writers).
    Part10NoPreamble,
    /// A bare dataset with no preamble and no meta, as on old discs.
    Headerless,
}

/// The byte encoding of a dataset, as far as walking it is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    pub explicit_vr: bool,
    pub little_endian: bool,
    pub deflated: bool,
}

impl Encoding {
    pub const IMPLICIT_LE: Encoding = Encoding {
        explicit_vr: false,
        little_endian: true,
        deflated: false,
    };
    pub const EXPLICIT_LE: Encoding = Encoding {
        explicit_vr: true,
        little_endian: true,
        deflated: false,
    };

    /// The encoding a transfer syntax implies; every syntax not listed here encodes its
    /// dataset in explicit VR little endian (PS3.5 §10).
    pub fn for_transfer_syntax(uid: &str) -> Encoding {
        match uid {
            IMPLICIT_VR_LE => Encoding::IMPLICIT_LE,
            EXPLICIT_VR_BE => Encoding {
                explicit_vr: true,
                little_endian: false,
                deflated: false,
            },
            DEFLATED_EXPLICIT_VR_LE | "1.2.840.10008.1.2.8.1" => Encoding {
                explicit_vr: true,
                little_endian: true,
                deflated: true,
            },
            _ => Encoding::EXPLICIT_LE,
        }
    }
}

/// The File Meta Information that matters to us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    pub transfer_syntax_uid: String,
    pub media_storage_sop_class_uid: String,
    pub media_storage_sop_instance_uid: String,
    pub implementation_class_uid: String,
}

/// What the first bytes of a stream say it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detected {
    /// A Part 10 file: meta read, dataset starts at `dataset_start`.
    Part10 {
        format: SourceFormat,
        meta: Meta,
        dataset_start: usize,
    },
    /// A bare dataset in the encoding the first element shows.
    Headerless { encoding: Encoding },
    /// Not DICOM by content.
    NotDicom,
}

/// Why a stream that claims to be DICOM cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    /// The stream ends before an element, sequence or item it announces.
    Truncated { offset: u64, what: String },
    /// A length points past the end of the file, or is otherwise impossible.
    BadLength { offset: u64, what: String },
    /// Sequences nested deeper than [`MAX_DEPTH`].
    TooDeep { offset: u64 },
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
            Malformed::BadMeta(why) => write!(f, "broken file header: {why}"),
        }
    }
}

/// One element header as it appears in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementHeader {
    pub tag: Tag,
    /// `None` for implicit VR and for item / delimiter tags.
    pub vr: Option<VR>,
    /// `None` for undefined length.
    pub len: Option<u32>,
    /// Bytes taken by the header itself.
    pub header_len: usize,
}

/// A 16-bit integer at `pos`, or `None` past the end (also used by the DICOMDIR reader).
pub(crate) fn u16_at(buf: &[u8], pos: usize, le: bool) -> Option<u16> {
    let b: [u8; 2] = buf.get(pos..pos.checked_add(2)?)?.try_into().ok()?;
    Some(if le {
        u16::from_le_bytes(b)
    } else {
        u16::from_be_bytes(b)
    })
}

/// A 32-bit integer at `pos`, or `None` past the end.
pub(crate) fn u32_at(buf: &[u8], pos: usize, le: bool) -> Option<u32> {
    let b: [u8; 4] = buf.get(pos..pos.checked_add(4)?)?.try_into().ok()?;
    Some(if le {
        u32::from_le_bytes(b)
    } else {
        u32::from_be_bytes(b)
    })
}

/// VRs whose explicit encoding has a 2-byte reserved field and a 4-byte length (PS3.5 7.1.2).
fn has_long_length(vr: VR) -> bool {
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

/// Reads the element header at `pos`, or `None` when the buffer ends inside it.
/// An explicit-VR header whose VR bytes are not a VR is reported as `Err`.
pub fn read_element_header(
    buf: &[u8],
    pos: usize,
    enc: Encoding,
) -> Option<Result<ElementHeader, String>> {
    let le = enc.little_endian;
    let tag = Tag(u16_at(buf, pos, le)?, u16_at(buf, pos + 2, le)?);
    if tag.group() == 0xFFFE {
        let len = u32_at(buf, pos + 4, le)?;
        return Some(Ok(ElementHeader {
            tag,
            vr: None,
            len: (len != UNDEFINED).then_some(len),
            header_len: 8,
        }));
    }
    if !enc.explicit_vr {
        let len = u32_at(buf, pos + 4, le)?;
        return Some(Ok(ElementHeader {
            tag,
            vr: None,
            len: (len != UNDEFINED).then_some(len),
            header_len: 8,
        }));
    }
    let vr_bytes: [u8; 2] = buf.get(pos + 4..pos + 6)?.try_into().ok()?;
    let Some(vr) = VR::from_binary(vr_bytes) else {
        return Some(Err(format!(
            "element ({:04X},{:04X}) has no valid value representation",
            tag.group(),
            tag.element()
        )));
    };
    if has_long_length(vr) {
        let len = u32_at(buf, pos + 8, le)?;
        Some(Ok(ElementHeader {
            tag,
            vr: Some(vr),
            len: (len != UNDEFINED).then_some(len),
            header_len: 12,
        }))
    } else {
        let len = u16_at(buf, pos + 6, le)?;
        Some(Ok(ElementHeader {
            tag,
            vr: Some(vr),
            len: Some(u32::from(len)),
            header_len: 8,
        }))
    }
}

/// Decides by content what a stream is, reading the File Meta group when there is one.
/// `head` is the start of the stream (a few hundred bytes suffice unless the meta is large).
pub fn detect(head: &[u8]) -> Result<Detected, Malformed> {
    if head.get(128..132) == Some(b"DICM") {
        let (meta, end) = read_meta(head, 132)?;
        return Ok(Detected::Part10 {
            format: SourceFormat::Part10,
            meta,
            dataset_start: end,
        });
    }
    if head.get(0..4) == Some(b"DICM") {
        let (meta, end) = read_meta(head, 4)?;
        return Ok(Detected::Part10 {
            format: SourceFormat::Part10NoPreamble,
            meta,
            dataset_start: end,
        });
    }
    // A meta group with neither preamble nor magic: written by a few old tools.
    if head.get(0..2) == Some(&[0x02, 0x00]) && head.get(4..6) == Some(b"UL") {
        let (meta, end) = read_meta(head, 0)?;
        return Ok(Detected::Part10 {
            format: SourceFormat::Part10NoPreamble,
            meta,
            dataset_start: end,
        });
    }
    Ok(
        detect_headerless(head).map_or(Detected::NotDicom, |encoding| Detected::Headerless {
            encoding,
        }),
    )
}

/// A bare dataset starts with an element of group 0008 (the identifying group every object
/// has) with a small element number; its VR bytes tell explicit from implicit VR.
fn detect_headerless(head: &[u8]) -> Option<Encoding> {
    let vr_bytes: [u8; 2] = head.get(4..6)?.try_into().ok()?;
    let explicit = VR::from_binary(vr_bytes).is_some();
    let little = u16_at(head, 0, true)? == 0x0008 && u16_at(head, 2, true)? <= 0x0100;
    // Big endian exists only with explicit VR (PS3.5 A.3, retired but still on old discs).
    let big = explicit && u16_at(head, 0, false)? == 0x0008 && u16_at(head, 2, false)? <= 0x0100;
    let encoding = match (little, big, explicit) {
        (true, _, true) => Encoding::EXPLICIT_LE,
        (true, _, false) => Encoding::IMPLICIT_LE,
        (false, true, _) => Encoding {
            explicit_vr: true,
            little_endian: false,
            deflated: false,
        },
        _ => return None,
    };
    // The first element must fit in the stream: junk that happens to start with 08 00 rarely does.
    match read_element_header(head, 0, encoding)? {
        Ok(h) => {
            let end = h.header_len + h.len? as usize;
            (end <= head.len() || head.len() >= 4096).then_some(encoding)
        }
        Err(_) => None,
    }
}

/// Reads the File Meta group (always explicit VR little endian) starting at `pos`.
fn read_meta(head: &[u8], pos: usize) -> Result<(Meta, usize), Malformed> {
    let mut meta = Meta::default();
    let mut pos = pos;
    let mut seen_any = false;
    loop {
        if pos > MAX_META_LEN {
            return Err(Malformed::BadMeta("file meta group is too large".into()));
        }
        // The meta group ends at the first element of another group, whatever its encoding.
        if u16_at(head, pos, true).is_some_and(|g| g != 0x0002) {
            break;
        }
        let Some(header) = read_element_header(head, pos, Encoding::EXPLICIT_LE) else {
            if seen_any && pos >= head.len() {
                // The file holds a meta group and nothing else.
                break;
            }
            return Err(Malformed::Truncated {
                offset: pos as u64,
                what: "file meta group".into(),
            });
        };
        let header = header.map_err(Malformed::BadMeta)?;
        seen_any = true;
        let len = header
            .len
            .ok_or_else(|| Malformed::BadMeta("file meta element with undefined length".into()))?
            as usize;
        let start = pos + header.header_len;
        let value = head
            .get(start..start + len)
            .ok_or_else(|| Malformed::Truncated {
                offset: pos as u64,
                what: format!("file meta element (0002,{:04X})", header.tag.element()),
            })?;
        let text = || uid_text(value);
        match header.tag.element() {
            // An inexact group length is common and harmless (the group ends where group 0002
            // ends); one that claims more than any meta group can hold is a broken header.
            0x0000 => {
                let claimed = u32_at(value, 0, true).unwrap_or(0);
                if claimed as usize > MAX_META_LEN {
                    return Err(Malformed::BadMeta(format!(
                        "the file meta group length claims {claimed} bytes"
                    )));
                }
            }
            0x0002 => meta.media_storage_sop_class_uid = text(),
            0x0003 => meta.media_storage_sop_instance_uid = text(),
            0x0010 => meta.transfer_syntax_uid = text(),
            0x0012 => meta.implementation_class_uid = text(),
            _ => {}
        }
        pos = start + len;
    }
    if !seen_any {
        return Err(Malformed::BadMeta("the file meta group is missing".into()));
    }
    if meta.transfer_syntax_uid.is_empty() {
        return Err(Malformed::BadMeta(
            "the file meta group names no transfer syntax".into(),
        ));
    }
    Ok((meta, pos))
}

/// A UI or CS value as text, without the NUL or space padding.
pub fn uid_text(value: &[u8]) -> String {
    String::from_utf8_lossy(value)
        .trim_end_matches(['\0', ' '])
        .trim_start()
        .to_string()
}

/// Where the header of a dataset ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// The dataset's top level reaches Pixel Data (or another 7FE0 element) at `offset`:
    /// everything before it is the header. `value_len` is `None` for encapsulated data.
    PixelData {
        offset: usize,
        header_len: usize,
        value_len: Option<u32>,
    },
    /// The whole dataset was walked; it has no pixel data.
    End,
    /// The walk needs bytes beyond the buffer given; call again with at least this many.
    NeedMore(usize),
}

/// Walks the dataset in `buf[start..]`, checking every length against `stream_len` (the full
/// length of the stream, which may be more than `buf` holds) and nesting against [`MAX_DEPTH`].
/// Stops at the top-level Pixel Data element.
pub fn walk(buf: &[u8], start: usize, enc: Encoding, stream_len: u64) -> Result<Walk, Malformed> {
    walk_noting_unparseable(buf, start, enc, stream_len).map(|(w, _)| w)
}

/// As [`walk`], and also returns the byte ranges of top-level elements that dicom-object
/// cannot read: explicit-VR `UN` elements of undefined length (a sequence whose VR the writer
/// did not know, PS3.5 6.2.2). dicom-object tries to allocate 4 GiB for them, so the caller
/// leaves them out of the bytes it parses; the file itself is not changed.
pub fn walk_noting_unparseable(
    buf: &[u8],
    start: usize,
    enc: Encoding,
    stream_len: u64,
) -> Result<(Walk, Vec<std::ops::Range<usize>>), Malformed> {
    let mut walker = Walker {
        buf,
        enc,
        stream_len,
        unparseable: Vec::new(),
    };
    let w = walker.dataset(start, None, 0)?;
    Ok((w, walker.unparseable))
}

struct Walker<'a> {
    buf: &'a [u8],
    enc: Encoding,
    stream_len: u64,
    unparseable: Vec<std::ops::Range<usize>>,
}

/// Inside the walker: the position after a construct, or an early stop.
enum Step {
    At(usize),
    Stop(Walk),
}

impl Walker<'_> {
    /// Walks elements until `end` (defined length), an item delimiter (undefined length,
    /// nested), or the end of the stream (top level).
    fn dataset(
        &mut self,
        mut pos: usize,
        end: Option<usize>,
        depth: usize,
    ) -> Result<Walk, Malformed> {
        loop {
            if let Some(end) = end {
                if pos >= end {
                    return Ok(Walk::End);
                }
            } else if depth == 0 && pos as u64 >= self.stream_len {
                return Ok(Walk::End);
            }
            let header = match self.header(pos)? {
                Some(h) => h,
                None => return self.need(pos + 12),
            };
            if header.tag == ITEM_END && depth > 0 && end.is_none() {
                return Ok(Walk::End);
            }
            if depth == 0 && header.tag.group() == 0x7FE0 {
                return Ok(Walk::PixelData {
                    offset: pos,
                    header_len: header.header_len,
                    value_len: header.len,
                });
            }
            match self.element(pos, header, depth)? {
                Step::At(next) => pos = next,
                Step::Stop(w) => return Ok(w),
            }
        }
    }

    fn header(&self, pos: usize) -> Result<Option<ElementHeader>, Malformed> {
        match read_element_header(self.buf, pos, self.enc) {
            None => {
                if (pos as u64) + 8 > self.stream_len {
                    Err(Malformed::Truncated {
                        offset: pos as u64,
                        what: "element header".into(),
                    })
                } else {
                    Ok(None)
                }
            }
            Some(Ok(h)) => Ok(Some(h)),
            Some(Err(why)) => Err(Malformed::BadLength {
                offset: pos as u64,
                what: why,
            }),
        }
    }

    /// Where a value of `len` bytes starting at `start` ends, if that is within `limit` (the
    /// stream, or the enclosing sequence); otherwise the error naming what claimed it.
    fn end_within(
        &self,
        at: usize,
        start: usize,
        len: u32,
        limit: u64,
        what: &dyn Fn() -> String,
    ) -> Result<u64, Malformed> {
        let end = start as u64 + u64::from(len);
        if end > limit {
            return Err(Malformed::BadLength {
                offset: at as u64,
                what: format!(
                    "{} claims {len} bytes, but only {} remain",
                    what(),
                    limit.saturating_sub(start as u64)
                ),
            });
        }
        Ok(end)
    }

    fn need(&self, upto: usize) -> Result<Walk, Malformed> {
        if upto as u64 > self.stream_len {
            return Err(Malformed::Truncated {
                offset: self.buf.len() as u64,
                what: "dataset".into(),
            });
        }
        Ok(Walk::NeedMore(upto.max(self.buf.len() + 1)))
    }

    fn element(&mut self, pos: usize, h: ElementHeader, depth: usize) -> Result<Step, Malformed> {
        let tag = h.tag;
        let value_start = pos + h.header_len;
        let is_sequence = match h.vr {
            Some(VR::SQ) => true,
            // Undefined-length UN holds a sequence in implicit VR (PS3.5 6.2.2).
            Some(VR::UN) => h.len.is_none(),
            Some(_) => false,
            None => h.len.is_none() || implicit_vr_is_sequence(tag),
        };
        let what = || format!("element ({:04X},{:04X})", tag.group(), tag.element());
        if tag.group() == 0xFFFE {
            return Err(Malformed::BadLength {
                offset: pos as u64,
                what: format!(
                    "unexpected item tag ({:04X},{:04X})",
                    tag.group(),
                    tag.element()
                ),
            });
        }
        if !is_sequence {
            let vr = h.vr.or_else(|| implicit_vr(tag));
            if let (Some(vr), Some(len)) = (vr, h.len) {
                let unit = binary_unit(vr);
                if unit > 1 && len % unit != 0 {
                    // dicom-object reads whole values and loses its place in the stream on
                    // such an element, then trusts whatever it reads next as a length.
                    return Err(Malformed::BadLength {
                        offset: pos as u64,
                        what: format!(
                            "{} has a length of {len} bytes, not a whole number of {vr:?} values",
                            what()
                        ),
                    });
                }
            }
            let Some(len) = h.len else {
                return Err(Malformed::BadLength {
                    offset: pos as u64,
                    what: format!("{} has undefined length", what()),
                });
            };
            let end = self.end_within(pos, value_start, len, self.stream_len, &what)?;
            if end > self.buf.len() as u64 {
                return Ok(Step::Stop(self.need(end as usize)?));
            }
            return Ok(Step::At(end as usize));
        }
        if depth + 1 > MAX_DEPTH {
            return Err(Malformed::TooDeep { offset: pos as u64 });
        }
        // A UN sequence, and any sequence in implicit VR, is itself encoded in implicit VR LE.
        let saved = self.enc;
        let undefined_un = h.vr == Some(VR::UN) && h.len.is_none();
        if undefined_un && depth > 0 {
            return Err(Malformed::BadLength {
                offset: pos as u64,
                what: format!("{} is a sequence of unknown type nested in another", what()),
            });
        }
        if h.vr == Some(VR::UN) {
            self.enc = Encoding::IMPLICIT_LE;
        }
        let result = self.sequence(value_start, h.len, depth + 1, &what);
        self.enc = saved;
        if let (true, Ok(Step::At(end))) = (undefined_un, &result) {
            self.unparseable.push(pos..*end);
        }
        result
    }

    fn sequence(
        &mut self,
        start: usize,
        len: Option<u32>,
        depth: usize,
        what: &dyn Fn() -> String,
    ) -> Result<Step, Malformed> {
        let end = match len {
            Some(len) => {
                let seq = || format!("sequence {}", what());
                Some(self.end_within(start, start, len, self.stream_len, &seq)? as usize)
            }
            None => None,
        };
        let mut pos = start;
        loop {
            if let Some(end) = end
                && pos >= end
            {
                return Ok(Step::At(end));
            }
            let Some(item) = self.header(pos)? else {
                return Ok(Step::Stop(self.need(pos + 8)?));
            };
            match item.tag {
                SEQUENCE_END if end.is_none() => return Ok(Step::At(pos + 8)),
                ITEM => {}
                other => {
                    return Err(Malformed::BadLength {
                        offset: pos as u64,
                        what: format!(
                            "sequence {} holds ({:04X},{:04X}) where an item belongs",
                            what(),
                            other.group(),
                            other.element()
                        ),
                    });
                }
            }
            let item_start = pos + 8;
            match item.len {
                Some(len) => {
                    let limit = end.map_or(self.stream_len, |e| e as u64);
                    let item = || format!("an item of sequence {}", what());
                    let item_end = self.end_within(pos, item_start, len, limit, &item)?;
                    match self.dataset(item_start, Some(item_end as usize), depth)? {
                        Walk::End => pos = item_end as usize,
                        other => return Ok(Step::Stop(other)),
                    }
                }
                None => {
                    // Undefined-length item: walk to its delimiter, then step over it.
                    let after = self.item_until_delimiter(item_start, depth)?;
                    match after {
                        Step::At(p) => pos = p,
                        stop => return Ok(stop),
                    }
                }
            }
        }
    }

    fn item_until_delimiter(&mut self, mut pos: usize, depth: usize) -> Result<Step, Malformed> {
        loop {
            let Some(h) = self.header(pos)? else {
                return Ok(Step::Stop(self.need(pos + 12)?));
            };
            if h.tag == ITEM_END {
                return Ok(Step::At(pos + 8));
            }
            match self.element(pos, h, depth)? {
                Step::At(next) => pos = next,
                stop => return Ok(stop),
            }
        }
    }
}

/// In implicit VR the dictionary says which elements are sequences.
fn implicit_vr_is_sequence(tag: Tag) -> bool {
    implicit_vr(tag) == Some(VR::SQ)
}

/// The VR the dictionary gives a tag, when it gives exactly one.
fn implicit_vr(tag: Tag) -> Option<VR> {
    match StandardDataDictionary.by_tag(tag)?.vr() {
        VirtualVr::Exact(vr) => Some(vr),
        _ => None,
    }
}

/// Size of one value of a fixed-size binary VR (1 for everything else).
fn binary_unit(vr: VR) -> u32 {
    match vr {
        VR::US | VR::SS | VR::OW => 2,
        VR::UL | VR::SL | VR::FL | VR::AT | VR::OL | VR::OF => 4,
        VR::FD | VR::OD | VR::SV | VR::UV | VR::OV => 8,
        _ => 1,
    }
}

/// Checks, as the bytes stream past, that the Pixel Data element is complete: a defined length
/// is all there, and encapsulated fragments run to their sequence delimiter. Single pass, no
/// buffering: the scan feeds it whatever follows the header while hashing.
#[derive(Debug, Clone)]
pub struct PixelDataCheck {
    state: PixelState,
    little_endian: bool,
    /// Bytes of a partial item header carried between chunks.
    pending: Vec<u8>,
    offset: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PixelState {
    /// Skipping this many more bytes of native pixel data or of a fragment.
    Skip { left: u64, then_items: bool },
    /// Expecting an item header (encapsulated data).
    ItemHeader,
    /// Done: the element is complete; whatever follows is not checked.
    Complete,
}

impl PixelDataCheck {
    /// Starts after the Pixel Data element header, at stream offset `offset`.
    pub fn new(value_len: Option<u32>, little_endian: bool, offset: u64) -> Self {
        let state = match value_len {
            Some(len) => PixelState::Skip {
                left: u64::from(len),
                then_items: false,
            },
            None => PixelState::ItemHeader,
        };
        PixelDataCheck {
            state,
            little_endian,
            pending: Vec::new(),
            offset,
        }
    }

    /// Feeds the next bytes of the stream.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<(), Malformed> {
        while !chunk.is_empty() {
            match self.state {
                PixelState::Complete => return Ok(()),
                PixelState::Skip { left, .. } => {
                    let n = (chunk.len() as u64).min(left);
                    chunk = chunk.get(n as usize..).unwrap_or_default();
                    self.skip(n);
                }
                PixelState::ItemHeader => {
                    let need = 8 - self.pending.len();
                    let n = need.min(chunk.len());
                    self.pending
                        .extend_from_slice(chunk.get(..n).unwrap_or_default());
                    chunk = chunk.get(n..).unwrap_or_default();
                    if self.pending.len() < 8 {
                        continue;
                    }
                    let le = self.little_endian;
                    let p = &self.pending;
                    let tag = Tag(u16_at(p, 0, le).unwrap_or(0), u16_at(p, 2, le).unwrap_or(0));
                    let len = u32_at(p, 4, le).unwrap_or(0);
                    self.pending.clear();
                    let at = self.offset;
                    self.offset += 8;
                    self.state = match tag {
                        ITEM if len != UNDEFINED => PixelState::Skip {
                            left: u64::from(len),
                            then_items: true,
                        },
                        SEQUENCE_END => PixelState::Complete,
                        _ => {
                            return Err(Malformed::BadLength {
                                offset: at,
                                what: format!(
                                    "compressed pixel data holds ({:04X},{:04X}) where a fragment belongs",
                                    tag.group(),
                                    tag.element()
                                ),
                            });
                        }
                    };
                }
            }
        }
        Ok(())
    }

    /// How many of the next bytes are payload (native pixels or a fragment's data) that need
    /// not be looked at: a reader that can seek may pass over them and call [`Self::skip`].
    pub fn skippable(&self) -> u64 {
        match self.state {
            PixelState::Skip { left, .. } => left,
            _ => 0,
        }
    }

    /// Whether the element is complete (what follows is not checked).
    pub fn is_complete(&self) -> bool {
        self.state == PixelState::Complete
    }

    /// Notes that `n` payload bytes (at most [`Self::skippable`]) went by.
    pub fn skip(&mut self, n: u64) {
        if let PixelState::Skip { left, then_items } = self.state {
            let n = n.min(left);
            self.offset += n;
            let left = left - n;
            self.state = if left > 0 {
                PixelState::Skip { left, then_items }
            } else if then_items {
                PixelState::ItemHeader
            } else {
                PixelState::Complete
            };
        }
    }

    /// Called at the end of the stream.
    pub fn finish(&self) -> Result<(), Malformed> {
        match self.state {
            PixelState::Complete => Ok(()),
            _ => Err(Malformed::Truncated {
                offset: self.offset,
                what: "pixel data".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit(tag: (u16, u16), vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&tag.0.to_le_bytes());
        v.extend_from_slice(&tag.1.to_le_bytes());
        v.extend_from_slice(vr);
        if has_long_length(VR::from_binary(*vr).unwrap()) {
            v.extend_from_slice(&[0, 0]);
            v.extend_from_slice(&(value.len() as u32).to_le_bytes());
        } else {
            v.extend_from_slice(&(value.len() as u16).to_le_bytes());
        }
        v.extend_from_slice(value);
        v
    }

    fn implicit(tag: (u16, u16), len: u32, value: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&tag.0.to_le_bytes());
        v.extend_from_slice(&tag.1.to_le_bytes());
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(value);
        v
    }

    fn part10(ts: &str, dataset: &[u8]) -> Vec<u8> {
        let mut ts = ts.as_bytes().to_vec();
        if ts.len() % 2 == 1 {
            ts.push(0);
        }
        let meta_body = explicit((2, 0x10), b"UI", &ts);
        let mut f = vec![0u8; 128];
        f.extend_from_slice(b"DICM");
        f.extend(explicit(
            (2, 0),
            b"UL",
            &(meta_body.len() as u32).to_le_bytes(),
        ));
        f.extend(meta_body);
        f.extend_from_slice(dataset);
        f
    }

    #[test]
    fn detects_part10_and_finds_pixel_data() {
        let mut ds = explicit((8, 0x16), b"UI", b"1.2\0");
        ds.extend(explicit((0x7FE0, 0x10), b"OW", &[0; 8]));
        let f = part10(EXPLICIT_VR_LE, &ds);
        let Detected::Part10 {
            meta,
            dataset_start,
            format,
        } = detect(&f).unwrap()
        else {
            panic!("not part 10")
        };
        assert_eq!(format, SourceFormat::Part10);
        assert_eq!(meta.transfer_syntax_uid, EXPLICIT_VR_LE);
        let w = walk(&f, dataset_start, Encoding::EXPLICIT_LE, f.len() as u64).unwrap();
        assert_eq!(
            w,
            Walk::PixelData {
                offset: dataset_start + 12,
                header_len: 12,
                value_len: Some(8)
            }
        );
    }

    #[test]
    fn refuses_a_length_beyond_the_file() {
        // The 674-byte file that makes dicom-object reserve gigabytes: one huge length.
        let mut ds = explicit((8, 0x16), b"UI", b"1.2\0");
        let mut bogus = explicit((0x10, 0x10), b"UT", b"x");
        bogus[8..12].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        ds.extend(bogus);
        let f = part10(EXPLICIT_VR_LE, &ds);
        let Detected::Part10 { dataset_start, .. } = detect(&f).unwrap() else {
            panic!()
        };
        let err = walk(&f, dataset_start, Encoding::EXPLICIT_LE, f.len() as u64).unwrap_err();
        assert!(matches!(err, Malformed::BadLength { .. }), "{err:?}");
    }

    #[test]
    fn refuses_deep_nesting_and_unclosed_sequences() {
        let mut ds = Vec::new();
        for _ in 0..5000 {
            ds.extend(implicit((0x0040, 0xA730), UNDEFINED, &[]));
            ds.extend(implicit((0xFFFE, 0xE000), UNDEFINED, &[]));
        }
        let err = walk(&ds, 0, Encoding::IMPLICIT_LE, ds.len() as u64).unwrap_err();
        assert!(matches!(err, Malformed::TooDeep { .. }), "{err:?}");

        let unclosed = implicit((0x0040, 0xA730), UNDEFINED, &[]);
        let err = walk(&unclosed, 0, Encoding::IMPLICIT_LE, unclosed.len() as u64).unwrap_err();
        assert!(matches!(err, Malformed::Truncated { .. }), "{err:?}");
    }

    #[test]
    fn detects_headerless_implicit_dataset() {
        let mut ds = implicit((8, 0x16), 4, b"1.2\0");
        ds.extend(implicit((0x10, 0x10), 4, b"DOE "));
        assert_eq!(
            detect(&ds).unwrap(),
            Detected::Headerless {
                encoding: Encoding::IMPLICIT_LE
            }
        );
        assert_eq!(
            walk(&ds, 0, Encoding::IMPLICIT_LE, ds.len() as u64).unwrap(),
            Walk::End
        );
        assert_eq!(
            detect(b"<html><body>viewer</body></html>").unwrap(),
            Detected::NotDicom
        );
    }

    #[test]
    fn walks_nested_sequences_of_both_kinds() {
        let item = implicit((8, 0x1150), 4, b"1.2\0");
        let mut seq = implicit((8, 0x1140), UNDEFINED, &[]);
        seq.extend(implicit((0xFFFE, 0xE000), item.len() as u32, &item));
        seq.extend(implicit((0xFFFE, 0xE000), UNDEFINED, &item));
        seq.extend(implicit((0xFFFE, 0xE00D), 0, &[]));
        seq.extend(implicit((0xFFFE, 0xE0DD), 0, &[]));
        seq.extend(implicit((0x20, 0x13), 2, b"1 "));
        assert_eq!(
            walk(&seq, 0, Encoding::IMPLICIT_LE, seq.len() as u64).unwrap(),
            Walk::End
        );
        // Given only part of it, the walker asks for more rather than failing.
        let short = &seq[..20];
        assert!(matches!(
            walk(short, 0, Encoding::IMPLICIT_LE, seq.len() as u64).unwrap(),
            Walk::NeedMore(_)
        ));
    }

    #[test]
    fn pixel_check_follows_fragments_across_chunks() {
        let mut px = implicit((0xFFFE, 0xE000), 0, &[]);
        px.extend(implicit((0xFFFE, 0xE000), 6, &[1, 2, 3, 4, 5, 6]));
        px.extend(implicit((0xFFFE, 0xE0DD), 0, &[]));
        let mut check = PixelDataCheck::new(None, true, 0);
        for chunk in px.chunks(3) {
            check.feed(chunk).unwrap();
        }
        check.finish().unwrap();
        let mut cut = PixelDataCheck::new(None, true, 0);
        cut.feed(&px[..px.len() - 4]).unwrap();
        assert!(cut.finish().is_err());
        let mut native = PixelDataCheck::new(Some(10), true, 0);
        native.feed(&[0; 9]).unwrap();
        assert!(native.finish().is_err());
    }
}
