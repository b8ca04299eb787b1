//! The DICOMDIR reader: a small raw walker over the Directory Record Sequence that keeps each
//! record's byte position, then the hierarchy rebuilt from the offsets, as DCMTK and pydicom do.
//!
//! It reads DICOMDIRs written by many products, so it is forgiving where it can be (inconsistent
//! offsets fall back to sequence order, a truncated sequence keeps the records read so far) and
//! says so in `warnings`. It is also hostile-input safe: every length is checked against the
//! buffer, nesting is capped, offset chains are walked with a visited set, and the only
//! allocations grow with the records actually present in the input.

use crate::dicom::{self, BadVr, Encoding, Malformed, TransferSyntax, syntax, u16_at};
use dicom_core::header::VR;
use std::collections::HashMap;

use super::{DicomDirError, MEDIA_STORAGE_DIRECTORY_SOP_CLASS};

/// DICOMDIRs larger than this are refused (real ones are a few MiB at most).
pub const MAX_DICOMDIR_BYTES: usize = 512 * 1024 * 1024;
/// Warnings beyond this many are counted, not listed.
const MAX_WARNINGS: usize = 200;
const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: (u16, u16) = (0xFFFE, 0xE000);
const ITEM_END: (u16, u16) = (0xFFFE, 0xE00D);
const SEQ_END: (u16, u16) = (0xFFFE, 0xE0DD);

/// A DICOMDIR as its readers need it: the records that reference files, flattened in directory
/// order, each with the keys of its ancestors.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct DicomDir {
    pub file_set_id: String,
    pub records: Vec<DirRecord>,
    /// Everything odd that did not stop the reading, in plain words.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct DirRecord {
    /// Directory Record Type (0004,1430), e.g. `IMAGE`, `SR DOCUMENT`, `PRIVATE`.
    pub record_type: String,
    /// Referenced File ID (0004,1500) components exactly as stored (trimmed of padding); unsafe
    /// components (`..`, empty, absolute-looking) are returned too, with a warning.
    pub file_id: Option<Vec<String>>,
    pub sop_class_uid: Option<String>,
    pub sop_instance_uid: Option<String>,
    pub transfer_syntax_uid: Option<String>,
    pub patient_id: Option<String>,
    pub study_instance_uid: Option<String>,
    pub series_instance_uid: Option<String>,
}

/// Read a DICOMDIR (or a secondary directory file such as Philips' `DIRFILE`) from its bytes.
///
/// Fails only when the bytes are not a Part 10 file, the transfer syntax is not little endian,
/// or there is no Directory Record Sequence to read; everything else becomes a warning.
pub fn read(bytes: &[u8]) -> Result<DicomDir, DicomDirError> {
    if bytes.len() > MAX_DICOMDIR_BYTES {
        return Err(DicomDirError::TooLarge {
            size: bytes.len() as u64,
            max: MAX_DICOMDIR_BYTES as u64,
        });
    }
    if bytes.get(128..132) != Some(b"DICM".as_slice()) {
        return Err(DicomDirError::NotPart10);
    }
    let mut w = Warnings::default();
    let b = bytes;
    let (syntax, mut pos) = read_meta(b, &mut w)?;

    // The Basic Directory data set.
    let mut file_set_id = String::new();
    let mut root_first = None;
    let mut raw = Vec::new();
    let mut found_sequence = false;
    while pos < b.len() {
        let h = match header(b, pos, syntax) {
            Ok(h) => h,
            Err(e) if found_sequence => {
                w.push(format!("stopped reading after the record sequence: {e}"));
                break;
            }
            Err(e) => return Err(e),
        };
        w.check_vr(&h, syntax);
        if h.tag == (0x0004, 0x1220) {
            found_sequence = true;
            match read_records(b, &h, syntax, &mut raw, &mut w) {
                Ok(end) => pos = end,
                Err(e) => {
                    w.push(format!(
                        "{e}; kept the {} records read before that",
                        raw.len()
                    ));
                    break;
                }
            }
            continue;
        }
        if h.len != UNDEFINED {
            let value = value_of(b, &h).ok_or_else(|| {
                DicomDirError::Truncated(format!("element {} runs past the end", tag_name(h.tag)))
            })?;
            match h.tag {
                (0x0004, 0x1130) => file_set_id = text(value),
                (0x0004, 0x1200) => root_first = u32_value(value),
                _ => {}
            }
        }
        pos = match skip_element(b, &h, syntax, 0) {
            Ok(p) => p,
            Err(e) if found_sequence => {
                w.push(format!("stopped reading after the record sequence: {e}"));
                break;
            }
            Err(e) => return Err(e),
        };
    }
    if !found_sequence {
        return Err(DicomDirError::Malformed(
            "no Directory Record Sequence (0004,1220): this is not a DICOM directory".into(),
        ));
    }

    let records = flatten(raw, root_first, &mut w);
    Ok(DicomDir {
        file_set_id,
        records,
        warnings: w.finish(),
    })
}

/// The File Meta group (always Explicit VR Little Endian): how the directory is encoded, and
/// where its data set starts.
fn read_meta(b: &[u8], w: &mut Warnings) -> Result<(Encoding, usize), DicomDirError> {
    // File Meta Information: group 0002, always Explicit VR Little Endian.
    let mut pos = 132;
    let mut transfer_syntax = None;
    let mut sop_class = None;
    while u16_at(b, pos, true) == Some(0x0002) {
        let h = header(b, pos, Encoding::ExplicitLe)?;
        let value = value_of(b, &h).ok_or_else(|| {
            DicomDirError::Truncated(format!("file meta element at byte {pos} runs past the end"))
        })?;
        match h.tag {
            (0x0002, 0x0002) => sop_class = Some(text(value)),
            (0x0002, 0x0010) => transfer_syntax = Some(text(value)),
            _ => {}
        }
        pos = h.value_start + value.len();
    }
    if pos == 132 {
        return Err(DicomDirError::Malformed(
            "no file meta information after 'DICM'".into(),
        ));
    }
    if sop_class.as_deref() != Some(MEDIA_STORAGE_DIRECTORY_SOP_CLASS) {
        w.push(format!(
            "Media Storage SOP Class is {}, not Media Storage Directory Storage ({MEDIA_STORAGE_DIRECTORY_SOP_CLASS})",
            sop_class.as_deref().unwrap_or("missing")
        ));
    }
    let syntax = match transfer_syntax.as_deref() {
        Some(syntax::EXPLICIT_VR_LITTLE_ENDIAN) => Encoding::ExplicitLe,
        Some(syntax::IMPLICIT_VR_LITTLE_ENDIAN) => {
            w.push("the DICOMDIR is Implicit VR Little Endian; PS3.10 requires Explicit VR Little Endian".into());
            Encoding::ImplicitLe
        }
        Some(ts)
            if matches!(
                TransferSyntax::of(ts),
                TransferSyntax { deflated: true, .. }
                    | TransferSyntax {
                        encoding: Encoding::ExplicitBe,
                        ..
                    }
            ) =>
        {
            return Err(DicomDirError::UnsupportedTransferSyntax(ts.to_string()));
        }
        other => {
            let guess = guess_syntax(b, pos);
            w.push(format!(
                "unexpected transfer syntax {}; reading as {} VR Little Endian",
                other.unwrap_or("(missing)"),
                if guess.is_explicit() {
                    "Explicit"
                } else {
                    "Implicit"
                }
            ));
            guess
        }
    };
    Ok((syntax, pos))
}

/// The records in directory order (by their offsets, else by the sequence), each with the
/// keys of its ancestors.
fn flatten(mut raw: Vec<RawRecord>, root_first: Option<u32>, w: &mut Warnings) -> Vec<DirRecord> {
    let order = match by_offsets(&raw, root_first) {
        Ok(order) => order,
        Err(why) => {
            w.push(format!(
                "{why}; using the order of the records in the sequence instead"
            ));
            by_sequence(&raw)
        }
    };
    // Each record appears at most once in `order`, so its values are moved, not copied: a
    // DICOMDIR of 100,000 records is never held twice.
    order
        .into_iter()
        .filter_map(|(i, ctx)| raw.get_mut(i).map(|r| (std::mem::take(r), ctx)))
        // Records that reference a file, and leaf records of other types (a record without a
        // type or a file is debris, not a record).
        .filter(|(r, _)| {
            r.file_id.is_some()
                || (!matches!(r.record_type.as_str(), "" | "PATIENT" | "STUDY" | "SERIES")
                    && r.lower.unwrap_or(0) == 0)
        })
        .map(|(r, ctx)| {
            if let Some(id) = &r.file_id {
                check_file_id(id, r.offset, w);
            }
            DirRecord {
                record_type: r.record_type,
                file_id: r.file_id,
                sop_class_uid: r.sop_class_uid,
                sop_instance_uid: r.sop_instance_uid,
                transfer_syntax_uid: r.transfer_syntax_uid,
                patient_id: r.patient_id.or(ctx.patient_id),
                study_instance_uid: r.study_instance_uid.or(ctx.study_instance_uid),
                series_instance_uid: r.series_instance_uid.or(ctx.series_instance_uid),
            }
        })
        .collect()
}

// ---- the raw walker ------------------------------------------------------------------------

struct Header {
    /// Where the header starts.
    pos: usize,
    tag: (u16, u16),
    /// None for item tags, implicit VR, or an explicit-VR element whose VR bytes are not a VR.
    vr: Option<VR>,
    len: u32,
    value_start: usize,
}

/// The element header at `pos`, read by the byte layer's one header parser; explicit-VR bytes
/// that are not a VR are read as implicit VR, as some DICOMDIR writers mix them in.
fn header(b: &[u8], pos: usize, syntax: Encoding) -> Result<Header, DicomDirError> {
    let cut = || DicomDirError::Truncated(format!("an element header at byte {pos} is incomplete"));
    let h = dicom::read_header(b, pos, syntax, BadVr::ReadAsImplicit)
        .ok_or_else(cut)?
        .map_err(|e| DicomDirError::Malformed(e.to_string()))?;
    Ok(Header {
        pos,
        tag: (h.tag.group(), h.tag.element()),
        vr: h.vr,
        len: h.len.unwrap_or(UNDEFINED),
        value_start: h.value_start(pos),
    })
}

/// The value bytes of a defined-length element, if they are all inside the buffer.
fn value_of<'a>(b: &'a [u8], h: &Header) -> Option<&'a [u8]> {
    if h.len == UNDEFINED {
        return None;
    }
    b.get(h.value_start..h.value_start.checked_add(h.len as usize)?)
}

fn end_of(b: &[u8], h: &Header) -> Result<usize, DicomDirError> {
    value_of(b, h)
        .map(|v| h.value_start + v.len())
        .ok_or_else(|| {
            DicomDirError::Truncated(format!(
                "element {} says it holds {} bytes, more than the file has left",
                tag_name(h.tag),
                h.len
            ))
        })
}

/// Position just after element `h`, whatever it holds, walked by the byte layer's walker
/// (nested lengths checked, nesting capped).
fn skip_element(
    b: &[u8],
    h: &Header,
    syntax: Encoding,
    depth: usize,
) -> Result<usize, DicomDirError> {
    if h.len != UNDEFINED {
        return end_of(b, h);
    }
    dicom::walk::element_end(b, h.pos, syntax, BadVr::ReadAsImplicit, depth).map_err(|e| match e {
        Malformed::Truncated { .. } => DicomDirError::Truncated(e.to_string()),
        _ => DicomDirError::Malformed(e.to_string()),
    })
}

/// One Directory Record as stored, with the byte position of its item tag.
#[derive(Default)]
struct RawRecord {
    offset: usize,
    next: Option<u32>,
    lower: Option<u32>,
    in_use: Option<u16>,
    record_type: String,
    file_id: Option<Vec<String>>,
    sop_class_uid: Option<String>,
    sop_instance_uid: Option<String>,
    transfer_syntax_uid: Option<String>,
    patient_id: Option<String>,
    study_instance_uid: Option<String>,
    series_instance_uid: Option<String>,
}

/// Walk the items of the Directory Record Sequence `seq`; returns the position after it.
/// On error, `out` keeps the records read so far.
fn read_records(
    b: &[u8],
    seq: &Header,
    syntax: Encoding,
    out: &mut Vec<RawRecord>,
    w: &mut Warnings,
) -> Result<usize, DicomDirError> {
    let seq_end = if seq.len == UNDEFINED {
        None
    } else {
        match seq.value_start.checked_add(seq.len as usize) {
            Some(end) if end <= b.len() => Some(end),
            _ => {
                w.push(format!(
                    "the Directory Record Sequence says it holds {} bytes, more than the file has left",
                    seq.len
                ));
                Some(b.len())
            }
        }
    };
    let mut pos = seq.value_start;
    loop {
        if seq_end.is_some_and(|end| pos >= end) {
            return Ok(pos);
        }
        let item = header(b, pos, syntax)?;
        match item.tag {
            SEQ_END => return Ok(item.value_start),
            ITEM => {}
            t => {
                return Err(DicomDirError::Malformed(format!(
                    "expected a Directory Record item at byte {pos}, found {}",
                    tag_name(t)
                )));
            }
        }
        // A defined item length that runs past the sequence or the file (pydicom's
        // DICOMDIR-nooffset has one, stale after elements were removed) is cut to what is there.
        let limit = seq_end.unwrap_or(b.len());
        let item_end = match item.value_start.checked_add(item.len as usize) {
            _ if item.len == UNDEFINED => None,
            Some(end) if end <= limit => Some(end),
            _ => {
                w.push(format!(
                    "the record at byte {pos} says it holds {} bytes, more than its sequence has left; read up to the end",
                    item.len
                ));
                Some(limit)
            }
        };
        let mut rec = RawRecord {
            offset: pos,
            ..RawRecord::default()
        };
        let mut p = item.value_start;
        loop {
            if item_end.is_some_and(|end| p >= end) {
                break;
            }
            let e = header(b, p, syntax)?;
            w.check_vr(&e, syntax);
            if e.tag == ITEM_END {
                p = e.value_start;
                break;
            }
            if e.vr == Some(VR::SQ) || e.len == UNDEFINED {
                p = skip_element(b, &e, syntax, 1)?;
                continue;
            }
            let value = value_of(b, &e).ok_or_else(|| {
                DicomDirError::Truncated(format!(
                    "element {} of the record at byte {pos} runs past the end",
                    tag_name(e.tag)
                ))
            })?;
            if value.len() % 2 == 1 {
                w.push_once(
                    "odd",
                    "some values have an odd length, which DICOM does not allow",
                );
            }
            match e.tag {
                (0x0004, 0x1400) => rec.next = u32_value(value),
                (0x0004, 0x1410) => rec.in_use = u16_value(value),
                (0x0004, 0x1420) => rec.lower = u32_value(value),
                (0x0004, 0x1430) => rec.record_type = text(value),
                (0x0004, 0x1500) => {
                    rec.file_id = Some(text(value).split('\\').map(clean).collect())
                }
                (0x0004, 0x1510) => rec.sop_class_uid = non_empty(value),
                (0x0004, 0x1511) => rec.sop_instance_uid = non_empty(value),
                (0x0004, 0x1512) => rec.transfer_syntax_uid = non_empty(value),
                (0x0010, 0x0020) => rec.patient_id = non_empty(value),
                (0x0020, 0x000D) => rec.study_instance_uid = non_empty(value),
                (0x0020, 0x000E) => rec.series_instance_uid = non_empty(value),
                _ => {}
            }
            p = e.value_start + value.len();
        }
        if item_end.is_some_and(|end| p > end) {
            w.push(format!(
                "the record at byte {pos} has elements that run past the end of its item"
            ));
        }
        out.push(rec);
        pos = item_end.unwrap_or(p);
    }
}

// ---- the hierarchy -------------------------------------------------------------------------

/// Keys inherited from the records above.
#[derive(Debug, Clone, Default)]
struct Context {
    patient_id: Option<String>,
    study_instance_uid: Option<String>,
    series_instance_uid: Option<String>,
}

impl Context {
    fn below(&self, r: &RawRecord) -> Context {
        Context {
            patient_id: r.patient_id.clone().or_else(|| self.patient_id.clone()),
            study_instance_uid: r
                .study_instance_uid
                .clone()
                .or_else(|| self.study_instance_uid.clone()),
            series_instance_uid: r
                .series_instance_uid
                .clone()
                .or_else(|| self.series_instance_uid.clone()),
        }
    }
}

/// Records in directory order (each parent, then its lower-level entity, then its next sibling),
/// following the offsets; `Err` says why the offsets cannot be trusted.
fn by_offsets(raw: &[RawRecord], root_first: Option<u32>) -> Result<Vec<(usize, Context)>, String> {
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    let index: HashMap<usize, usize> = raw.iter().enumerate().map(|(i, r)| (r.offset, i)).collect();
    let find = |offset: u32, what: &str| -> Result<usize, String> {
        index
            .get(&(offset as usize))
            .copied()
            .ok_or_else(|| format!("{what} points to byte {offset}, where no record starts"))
    };
    let root = match root_first {
        None | Some(0) => {
            return Err("the offset of the first root record (0004,1200) is missing".into());
        }
        Some(o) => find(o, "the offset of the first root record (0004,1200)")?,
    };
    let mut visited = vec![false; raw.len()];
    let mut order = Vec::new();
    let mut stack = vec![(root, Context::default())];
    while let Some((i, ctx)) = stack.pop() {
        let r = raw.get(i).ok_or("internal: bad record index")?;
        let seen = visited.get_mut(i).ok_or("internal: bad record index")?;
        if *seen {
            return Err(format!(
                "the offsets loop back to the record at byte {}",
                r.offset
            ));
        }
        *seen = true;
        if let Some(next) = r.next.filter(|&n| n != 0) {
            stack.push((
                find(
                    next,
                    &format!("the record at byte {}'s next-record offset", r.offset),
                )?,
                ctx.clone(),
            ));
        }
        if r.in_use == Some(0) {
            continue; // an inactive (deleted) record: it and everything below it are ignored
        }
        let below = ctx.below(r);
        if let Some(lower) = r.lower.filter(|&l| l != 0) {
            let what = format!("the record at byte {}'s lower-level offset", r.offset);
            stack.push((find(lower, &what)?, below.clone()));
        }
        order.push((i, ctx));
    }
    let lost = raw
        .iter()
        .zip(&visited)
        .filter(|(r, seen)| !**seen && r.file_id.is_some() && r.in_use != Some(0))
        .count();
    if lost > 0 {
        return Err(format!(
            "{lost} records that reference files cannot be reached through the offsets"
        ));
    }
    Ok(order)
}

/// Records in sequence order, each under the last PATIENT, STUDY and SERIES seen before it.
fn by_sequence(raw: &[RawRecord]) -> Vec<(usize, Context)> {
    let mut ctx = Context::default();
    let mut order = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        if r.in_use == Some(0) {
            continue;
        }
        match r.record_type.as_str() {
            "PATIENT" => ctx = Context::default().below(r),
            "STUDY" => {
                ctx.study_instance_uid = r.study_instance_uid.clone();
                ctx.series_instance_uid = None;
            }
            "SERIES" => ctx.series_instance_uid = r.series_instance_uid.clone(),
            _ => {}
        }
        order.push((i, ctx.clone()));
    }
    order
}

fn check_file_id(id: &[String], offset: usize, w: &mut Warnings) {
    let joined = id.join("\\");
    let problem = if id.iter().any(|c| c == ".." || c == ".") {
        Some("has a '.' or '..' component")
    } else if id.first().is_some_and(|c| c.is_empty() || c.contains(':')) {
        Some("looks absolute")
    } else if id.iter().any(|c| c.is_empty()) {
        Some("has an empty component")
    } else if id.iter().any(|c| c.contains(['/', '\0'])) {
        Some("has a component with '/' in it")
    } else {
        None
    };
    if let Some(p) = problem {
        w.push(format!("the record at byte {offset} has a Referenced File ID '{joined}' that {p}: it could point outside the file-set"));
    }
}

// ---- values --------------------------------------------------------------------------------

/// A text value without its padding. UTF-8 when it is valid UTF-8, else Latin-1 (ISO_IR 100,
/// the most common non-ASCII character set on discs).
fn text(v: &[u8]) -> String {
    let s = match std::str::from_utf8(v) {
        Ok(s) => s.to_string(),
        Err(_) => v.iter().map(|&c| char::from(c)).collect(),
    };
    clean(&s)
}

fn clean(s: &str) -> String {
    s.trim_matches(|c: char| c == '\0' || c == ' ').to_string()
}

fn non_empty(v: &[u8]) -> Option<String> {
    Some(text(v)).filter(|s| !s.is_empty())
}

fn u32_value(v: &[u8]) -> Option<u32> {
    match v {
        [a, b, c, d] => Some(u32::from_le_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

fn u16_value(v: &[u8]) -> Option<u16> {
    match v {
        [a, b] => Some(u16::from_le_bytes([*a, *b])),
        _ => None,
    }
}

fn tag_name((g, e): (u16, u16)) -> String {
    format!("({g:04X},{e:04X})")
}

fn guess_syntax(b: &[u8], pos: usize) -> Encoding {
    if dicom::element::looks_explicit(b, pos) {
        Encoding::ExplicitLe
    } else {
        Encoding::ImplicitLe
    }
}

#[derive(Default)]
struct Warnings {
    list: Vec<String>,
    dropped: usize,
    once: Vec<&'static str>,
}

impl Warnings {
    fn push(&mut self, msg: String) {
        if self.list.len() < MAX_WARNINGS {
            self.list.push(msg);
        } else {
            self.dropped += 1;
        }
    }

    fn push_once(&mut self, key: &'static str, msg: &str) {
        if !self.once.contains(&key) {
            self.once.push(key);
            self.push(msg.to_string());
        }
    }

    fn check_vr(&mut self, h: &Header, syntax: Encoding) {
        if syntax == Encoding::ExplicitLe && h.vr.is_none() && h.tag.0 != 0xFFFE {
            self.push_once(
                "vr",
                "some elements have no explicit VR although the transfer syntax says explicit VR",
            );
        }
    }

    fn finish(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.list
                .push(format!("… and {} more warnings", self.dropped));
        }
        self.list
    }
}
