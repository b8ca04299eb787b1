//! What a stream is, by content: a PS3.10 file (with or without its preamble), a bare data set
//! as old discs carry, or not DICOM; and the File Meta group of a PS3.10 file.

use super::Malformed;
use super::element::{BadVr, Encoding, read_header, u16_at, u32_at};
use super::uid_text;

/// A File Meta group larger than this is refused (real ones are a few hundred bytes).
const MAX_META_LEN: usize = 1 << 20;

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
    let explicit = dicom_core::VR::from_binary(vr_bytes).is_some();
    let little = u16_at(head, 0, true)? == 0x0008 && u16_at(head, 2, true)? <= 0x0100;
    // Big endian exists only with explicit VR (PS3.5 A.3, retired but still on old discs).
    let big = explicit && u16_at(head, 0, false)? == 0x0008 && u16_at(head, 2, false)? <= 0x0100;
    let encoding = match (little, big, explicit) {
        (true, _, true) => Encoding::ExplicitLe,
        (true, _, false) => Encoding::ImplicitLe,
        (false, true, _) => Encoding::ExplicitBe,
        _ => return None,
    };
    // The first element must fit in the stream: junk that happens to start with 08 00 rarely does.
    match read_header(head, 0, encoding, BadVr::Refuse)? {
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
        let Some(header) = read_header(head, pos, Encoding::ExplicitLe, BadVr::Refuse) else {
            if seen_any && pos >= head.len() {
                // The file holds a meta group and nothing else.
                break;
            }
            return Err(Malformed::Truncated {
                offset: pos as u64,
                what: "file meta group".into(),
            });
        };
        let header = header.map_err(|e| Malformed::BadMeta(e.to_string()))?;
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
