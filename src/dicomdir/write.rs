//! The DICOMDIR writer: a PS3.10 file holding a Basic Directory (PS3.3 F.3), Explicit VR Little
//! Endian, with explicit-length sequence and items (as DCMTK's `dcmmkdir` writes them).
//!
//! Two passes: records are first encoded without their three link elements — which are fixed-size
//! UL/US values, so every record's size is known — then laid out to learn each record's offset,
//! then encoded for good with the links filled in.

use sha2::{Digest, Sha256};

use super::sop::{is_root_level_record, record_type_for_sop_class};
use super::{DicomDirError, FileSet, MEDIA_STORAGE_DIRECTORY_SOP_CLASS};
use crate::scan::SourceText;

/// Implementation Class UID (0002,0012) of files written by dicompack: a UUID-derived `2.25` UID
/// chosen once, never to change.
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.136583202448670316546406943826262495804";
/// Implementation Version Name (0002,0013): at most 16 characters.
pub const IMPLEMENTATION_VERSION_NAME: &str = "DICOMPACK_0_1";

use crate::dicom::syntax::EXPLICIT_VR_LITTLE_ENDIAN as EXPLICIT_VR_LE;
use dicom_core::Tag;
use dicom_dictionary_std::tags;
const PREAMBLE_LEN: usize = 128;
/// Size of the three link elements at the start of every record: (0004,1400) UL, (0004,1410) US,
/// (0004,1420) UL.
const LINKS_LEN: usize = 12 + 10 + 12;

/// Encode `fs` as the bytes of a complete DICOMDIR file. The same input always gives the same
/// bytes: the Media Storage SOP Instance UID is derived from the content.
///
/// Instances whose SOP Class belongs at the root (hanging protocols, color palettes, implant
/// templates) are lifted out of their series into the root directory; patients, studies and
/// series left without any record below them are left out.
pub fn write(fs: &FileSet) -> Result<Vec<u8>, DicomDirError> {
    let layout = Layout::new(fs)?;
    let mut out = Vec::with_capacity(layout.len());
    // Writing to a Vec cannot fail.
    let _ = layout.write_to(&mut out);
    Ok(out)
}

/// A DICOMDIR laid out (every record's offset known) but not yet encoded: [`Layout::write_to`]
/// encodes it record by record, so a directory of 100,000 instances (25 MB) goes to its
/// destination without being held whole.
pub struct Layout<'a> {
    flat: Vec<FlatRecord<'a>>,
    offsets: Vec<u32>,
    head: Vec<u8>,
    /// Bytes of the whole file.
    end: usize,
}

impl<'a> Layout<'a> {
    pub fn new(fs: &'a FileSet) -> Result<Layout<'a>, DicomDirError> {
        validate(fs)?;
        let roots = build_tree(fs);

        // Pass 1: flatten in pre-order (each parent before its children, as dcmmkdir does),
        // with the links still as indices, and each record's size.
        let mut flat: Vec<FlatRecord> = Vec::new();
        let root_indices = flatten(roots, &mut flat);

        let instance_uid = media_storage_instance_uid(fs);
        let meta = file_meta(&instance_uid);
        let file_set_id = element(0x0004, 0x1130, b"CS", &one(&fs.file_set_id, 16));
        // Everything before the first item: meta, File-set ID, two root offsets (UL),
        // consistency flag (US), and the sequence header (explicit VR SQ: 12 bytes).
        let first_item = PREAMBLE_LEN + 4 + meta.len() + file_set_id.len() + 12 + 12 + 10 + 12;

        let too_large = || DicomDirError::InvalidInput("the directory would exceed 4 GiB".into());
        let mut offsets = Vec::with_capacity(flat.len());
        let mut pos = first_item;
        for r in &flat {
            offsets.push(u32::try_from(pos).map_err(|_| too_large())?);
            pos += 8 + LINKS_LEN + r.len;
        }
        let offset_of = |i: Option<usize>| i.and_then(|i| offsets.get(i).copied()).unwrap_or(0);
        let seq_len = u32::try_from(pos - first_item).map_err(|_| too_large())?;

        let mut head = Vec::with_capacity(first_item);
        head.resize(PREAMBLE_LEN, 0);
        head.extend_from_slice(b"DICM");
        head.extend(meta);
        head.extend(file_set_id);
        let first = offset_of(root_indices.first().copied());
        let last = offset_of(root_indices.last().copied());
        head.extend(element(0x0004, 0x1200, b"UL", &first.to_le_bytes()));
        head.extend(element(0x0004, 0x1202, b"UL", &last.to_le_bytes()));
        head.extend(element(0x0004, 0x1212, b"US", &0u16.to_le_bytes()));
        put_tag(&mut head, 0x0004, 0x1220);
        head.extend_from_slice(b"SQ\0\0");
        head.extend_from_slice(&seq_len.to_le_bytes());
        debug_assert_eq!(head.len(), first_item);
        Ok(Layout {
            flat,
            offsets,
            head,
            end: pos,
        })
    }

    /// Bytes of the whole file.
    pub fn len(&self) -> usize {
        self.end
    }

    pub fn is_empty(&self) -> bool {
        self.end == 0
    }

    /// Pass 2: encode, with the links filled in.
    pub fn write_to(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let offset_of =
            |i: Option<usize>| i.and_then(|i| self.offsets.get(i).copied()).unwrap_or(0);
        w.write_all(&self.head)?;
        let mut item = Vec::new();
        for r in &self.flat {
            let body = r.body.encode();
            debug_assert_eq!(body.len(), r.len);
            // Sizes were checked against 4 GiB when laid out.
            let item_len = (LINKS_LEN + body.len()) as u32;
            item.clear();
            put_tag(&mut item, 0xFFFE, 0xE000);
            item.extend_from_slice(&item_len.to_le_bytes());
            item.extend(element(
                0x0004,
                0x1400,
                b"UL",
                &offset_of(r.next).to_le_bytes(),
            ));
            item.extend(element(0x0004, 0x1410, b"US", &0xFFFFu16.to_le_bytes()));
            item.extend(element(
                0x0004,
                0x1420,
                b"UL",
                &offset_of(r.lower).to_le_bytes(),
            ));
            item.extend_from_slice(&body);
            w.write_all(&item)?;
        }
        Ok(())
    }
}

/// Reject what would make a DICOMDIR that points nowhere: empty UIDs and File IDs that are not
/// PS3.10 §8.2 / PS3.12 file IDs (1 to 8 components of 1 to 8 characters A–Z 0–9 _).
fn validate(fs: &FileSet) -> Result<(), DicomDirError> {
    let bad = |what: String| Err(DicomDirError::InvalidInput(what));
    for p in &fs.patients {
        for st in &p.studies {
            if clean_uid(&st.study_instance_uid).is_empty() {
                return bad(format!(
                    "a study of patient '{}' has no Study Instance UID",
                    p.patient_id
                ));
            }
            for se in &st.series {
                if clean_uid(&se.series_instance_uid).is_empty() {
                    return bad(format!(
                        "a series of study {} has no Series Instance UID",
                        st.study_instance_uid
                    ));
                }
                for i in &se.instances {
                    for (what, uid) in [
                        ("SOP Instance UID", i.sop_instance_uid.as_str()),
                        ("SOP Class UID", &i.sop_class_uid),
                        ("Transfer Syntax UID", &i.transfer_syntax_uid),
                    ] {
                        let uid = clean_uid(uid);
                        if uid.is_empty() || uid.len() > 64 {
                            return bad(format!(
                                "file {} has an empty or over-long {what}",
                                i.file_id.joined('\\')
                            ));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// What a record says, encoded only when needed (twice: once for its size, once for good).
#[derive(Clone, Copy)]
enum Body<'a> {
    Patient(&'a super::DirPatient),
    Study(&'a super::DirStudy),
    Series(&'a super::DirSeries),
    Instance(&'static str, &'a super::DirInstance),
}

impl Body<'_> {
    fn encode(self) -> Vec<u8> {
        match self {
            Body::Patient(p) => patient_body(p),
            Body::Study(s) => study_body(s),
            Body::Series(s) => series_body(s),
            Body::Instance(record_type, i) => instance_body(record_type, i),
        }
    }
}

struct Node<'a> {
    body: Body<'a>,
    children: Vec<Node<'a>>,
}

struct FlatRecord<'a> {
    body: Body<'a>,
    len: usize,
    next: Option<usize>,
    lower: Option<usize>,
}

fn build_tree(fs: &FileSet) -> Vec<Node<'_>> {
    let mut root_level = Vec::new();
    let mut patients = Vec::new();
    for p in &fs.patients {
        let mut studies = Vec::new();
        for st in &p.studies {
            let mut series = Vec::new();
            for se in &st.series {
                let mut leaves = Vec::new();
                for i in &se.instances {
                    let record_type = record_type_for_sop_class(&i.sop_class_uid);
                    let node = Node {
                        body: Body::Instance(record_type, i),
                        children: Vec::new(),
                    };
                    if is_root_level_record(record_type) {
                        root_level.push(node);
                    } else {
                        leaves.push(node);
                    }
                }
                if !leaves.is_empty() {
                    series.push(Node {
                        body: Body::Series(se),
                        children: leaves,
                    });
                }
            }
            if !series.is_empty() {
                studies.push(Node {
                    body: Body::Study(st),
                    children: series,
                });
            }
        }
        if !studies.is_empty() {
            patients.push(Node {
                body: Body::Patient(p),
                children: studies,
            });
        }
    }
    patients.extend(root_level);
    patients
}

/// Append `nodes` (one directory entity) to `flat` in pre-order; returns their indices.
fn flatten<'a>(nodes: Vec<Node<'a>>, flat: &mut Vec<FlatRecord<'a>>) -> Vec<usize> {
    let mut indices = Vec::with_capacity(nodes.len());
    for node in nodes {
        let me = flat.len();
        flat.push(FlatRecord {
            body: node.body,
            len: node.body.encode().len(),
            next: None,
            lower: None,
        });
        let children = flatten(node.children, flat);
        if let Some(r) = flat.get_mut(me) {
            r.lower = children.first().copied();
        }
        if let Some(&prev) = indices.last()
            && let Some(r) = flat.get_mut::<usize>(prev)
        {
            r.next = Some(me);
        }
        indices.push(me);
    }
    indices
}

/// Specific Character Set key, needed when any value of the record is not plain ASCII.
fn charset(values: &[&str]) -> Vec<u8> {
    if values.iter().all(|v| v.is_ascii()) {
        Vec::new()
    } else {
        element(0x0008, 0x0005, b"CS", &text("ISO_IR 192", 16, b' '))
    }
}

/// How one patient, study or series record spells its text: in its source's Specific Character
/// Set with the source's own bytes when the source gave every non-ASCII value of the record
/// (ISO 2022 escape sequences included, which no re-encoding would reproduce byte for byte), else
/// in UTF-8 (ISO_IR 192) as [`charset`] decides.
struct Spelling<'a> {
    source: Option<&'a SourceText>,
}

impl<'a> Spelling<'a> {
    fn new(source: Option<&'a SourceText>, values: &[(Tag, &str)]) -> Self {
        let non_ascii: Vec<Tag> = values
            .iter()
            .filter(|(_, v)| !v.is_ascii())
            .map(|(t, _)| *t)
            .collect();
        let source = source
            .filter(|s| !non_ascii.is_empty() && non_ascii.iter().all(|t| s.get(*t).is_some()));
        Spelling { source }
    }

    /// (0008,0005) for the record, or nothing when all its text is ASCII.
    fn charset(&self, values: &[&str]) -> Vec<u8> {
        match self.source {
            Some(s) => element(0x0008, 0x0005, b"CS", &text(&s.charset, 16 * 8 + 7, b' ')),
            None => charset(values),
        }
    }

    /// The source's bytes of `tag`, padded to even length; `None` to spell the value ourselves.
    fn bytes(&self, tag: Tag) -> Option<Vec<u8>> {
        let mut v = self.source?.get(tag)?.to_vec();
        if v.len() % 2 == 1 {
            v.push(b' ');
        }
        Some(v)
    }
}

fn record_type(t: &str) -> Vec<u8> {
    element(0x0004, 0x1430, b"CS", &text(t, 16, b' '))
}

fn patient_body(p: &super::DirPatient) -> Vec<u8> {
    let mut b = record_type("PATIENT");
    let spelling = Spelling::new(
        p.source_text.as_deref(),
        &[
            (tags::PATIENT_NAME, &p.patient_name),
            (tags::PATIENT_ID, &p.patient_id),
        ],
    );
    b.extend(spelling.charset(&[&p.patient_name, &p.patient_id]));
    let name = spelling
        .bytes(tags::PATIENT_NAME)
        .unwrap_or_else(|| person_name(&p.patient_name));
    b.extend(element(0x0010, 0x0010, b"PN", &name));
    let id = spelling
        .bytes(tags::PATIENT_ID)
        .unwrap_or_else(|| one(&p.patient_id, 64));
    b.extend(element(0x0010, 0x0020, b"LO", &id));
    b.extend(element(0x0010, 0x0030, b"DA", &date(&p.birth_date)));
    b.extend(element(0x0010, 0x0040, b"CS", &one(&p.sex, 16)));
    b
}

fn study_body(s: &super::DirStudy) -> Vec<u8> {
    let mut b = record_type("STUDY");
    let spelling = Spelling::new(
        s.source_text.as_deref(),
        &[
            (tags::STUDY_DESCRIPTION, &s.study_description),
            (tags::STUDY_ID, &s.study_id),
            (tags::ACCESSION_NUMBER, &s.accession_number),
        ],
    );
    b.extend(spelling.charset(&[&s.study_description, &s.study_id, &s.accession_number]));
    let spelled = |tag, value: &str, max| spelling.bytes(tag).unwrap_or_else(|| one(value, max));
    b.extend(element(0x0008, 0x0020, b"DA", &date(&s.study_date)));
    b.extend(element(0x0008, 0x0030, b"TM", &time(&s.study_time)));
    b.extend(element(
        0x0008,
        0x0050,
        b"SH",
        &spelled(tags::ACCESSION_NUMBER, &s.accession_number, 16),
    ));
    b.extend(element(
        0x0008,
        0x1030,
        b"LO",
        &spelled(tags::STUDY_DESCRIPTION, &s.study_description, 64),
    ));
    b.extend(element(0x0020, 0x000D, b"UI", &uid(&s.study_instance_uid)));
    b.extend(element(
        0x0020,
        0x0010,
        b"SH",
        &spelled(tags::STUDY_ID, &s.study_id, 16),
    ));
    b
}

fn series_body(s: &super::DirSeries) -> Vec<u8> {
    let mut b = record_type("SERIES");
    let spelling = Spelling::new(
        s.source_text.as_deref(),
        &[(tags::SERIES_DESCRIPTION, &s.series_description)],
    );
    b.extend(spelling.charset(&[&s.series_description, &s.modality]));
    b.extend(element(0x0008, 0x0060, b"CS", &one(&s.modality, 16)));
    if !s.series_description.trim().is_empty() {
        let description = spelling
            .bytes(tags::SERIES_DESCRIPTION)
            .unwrap_or_else(|| one(&s.series_description, 64));
        b.extend(element(0x0008, 0x103E, b"LO", &description));
    }
    b.extend(element(0x0020, 0x000E, b"UI", &uid(&s.series_instance_uid)));
    b.extend(element(0x0020, 0x0011, b"IS", &integer(s.series_number)));
    b
}

fn instance_body(record_type_value: &str, i: &super::DirInstance) -> Vec<u8> {
    let mut b = record_type(record_type_value);
    if record_type_value == super::sop::PRIVATE {
        b.extend(element(0x0004, 0x1432, b"UI", &uid(&i.sop_class_uid)));
    }
    b.extend(element(
        0x0004,
        0x1500,
        b"CS",
        &text(&i.file_id.joined('\\'), 8 * 9, b' '),
    ));
    b.extend(element(0x0004, 0x1510, b"UI", &uid(&i.sop_class_uid)));
    b.extend(element(0x0004, 0x1511, b"UI", &uid(&i.sop_instance_uid)));
    b.extend(element(0x0004, 0x1512, b"UI", &uid(&i.transfer_syntax_uid)));
    // The rest in ascending tag order, as a data set must be.
    let mut rest: Vec<(Tag, Vec<u8>)> = vec![(
        tags::INSTANCE_NUMBER,
        element(0x0020, 0x0013, b"IS", &integer(i.instance_number)),
    )];
    if let Some(d) = i.document.as_deref() {
        rest.extend(document_keys(record_type_value, d));
    }
    rest.sort_by_key(|(t, _)| *t);
    for (_, e) in rest {
        b.extend(e);
    }
    b
}

/// The keys of a non-image record (PS3.3 F.5) from what the object gave: its text keys (a
/// Type 2 one present even when empty; a Type 1 one the object lacks is left out rather than
/// made up), Verification DateTime for a verified SR, and Concept Name Code Sequence.
fn document_keys(record_type_value: &str, d: &crate::scan::DocumentKeys) -> Vec<(Tag, Vec<u8>)> {
    let mut out = Vec::new();
    let mut texts = Vec::new();
    for k in super::record_keys(record_type_value) {
        let value = d.value(k.tag);
        if value.is_empty() && k.required {
            continue;
        }
        texts.push(value);
        let bytes = match k.vr {
            b"DA" => date(value),
            b"TM" => time(value),
            b"PN" => person_name(value),
            _ => one(value, k.max),
        };
        out.push((k.tag, element(k.tag.group(), k.tag.element(), k.vr, &bytes)));
    }
    if record_type_value == "SR DOCUMENT" && !d.verification_datetime.is_empty() {
        out.push((
            tags::VERIFICATION_DATE_TIME,
            element(0x0040, 0xA030, b"DT", &one(&d.verification_datetime, 26)),
        ));
    }
    if let Some(required) = super::concept_name_key(record_type_value) {
        let mut seq = Vec::new();
        if let Some(c) = &d.concept_name {
            texts.push(&c.meaning);
            let mut item = element(0x0008, 0x0100, b"SH", &one(&c.value, 16));
            item.extend(element(0x0008, 0x0102, b"SH", &one(&c.scheme, 16)));
            item.extend(element(0x0008, 0x0104, b"LO", &one(&c.meaning, 64)));
            put_tag(&mut seq, 0xFFFE, 0xE000);
            // An item of three short text values: far below 4 GiB.
            seq.extend_from_slice(&(item.len() as u32).to_le_bytes());
            seq.extend(item);
        }
        if !seq.is_empty() || !required {
            out.push((
                tags::CONCEPT_NAME_CODE_SEQUENCE,
                element(0x0040, 0xA043, b"SQ", &seq),
            ));
        }
    }
    let charset = charset(&texts);
    if !charset.is_empty() {
        out.push((tags::SPECIFIC_CHARACTER_SET, charset));
    }
    out
}

fn file_meta(instance_uid: &str) -> Vec<u8> {
    let mut body = element(0x0002, 0x0001, b"OB", &[0x00, 0x01]);
    body.extend(element(
        0x0002,
        0x0002,
        b"UI",
        &uid(MEDIA_STORAGE_DIRECTORY_SOP_CLASS),
    ));
    body.extend(element(0x0002, 0x0003, b"UI", &uid(instance_uid)));
    body.extend(element(0x0002, 0x0010, b"UI", &uid(EXPLICIT_VR_LE)));
    body.extend(element(
        0x0002,
        0x0012,
        b"UI",
        &uid(IMPLEMENTATION_CLASS_UID),
    ));
    body.extend(element(
        0x0002,
        0x0013,
        b"SH",
        &text(IMPLEMENTATION_VERSION_NAME, 16, b' '),
    ));
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX); // a few hundred bytes
    let mut meta = element(0x0002, 0x0000, b"UL", &len.to_le_bytes());
    meta.extend(body);
    meta
}

/// `2.25.` + the first 128 bits of a SHA-256 over every value the directory holds, shaped as a
/// version-8 (custom) UUID as ITU-T X.667 expects of `2.25` UIDs.
fn media_storage_instance_uid(fs: &FileSet) -> String {
    let mut h = Sha256::new();
    let mut put = |s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    put("dicompack DICOMDIR 1");
    put(&fs.file_set_id);
    for p in &fs.patients {
        for s in [&p.patient_id, &p.patient_name, &p.birth_date, &p.sex] {
            put(s);
        }
        for st in &p.studies {
            for s in [
                &st.study_instance_uid,
                &st.study_date,
                &st.study_time,
                &st.study_description,
                &st.study_id,
                &st.accession_number,
            ] {
                put(s);
            }
            for se in &st.series {
                for s in [
                    &se.series_instance_uid,
                    &se.modality,
                    &se.series_description,
                ] {
                    put(s);
                }
                put(&format!("{:?}", se.series_number));
                for i in &se.instances {
                    put(&i.file_id.joined('\\'));
                    for s in [
                        &*i.sop_class_uid,
                        &i.sop_instance_uid,
                        &i.transfer_syntax_uid,
                    ] {
                        put(s);
                    }
                    put(&format!("{:?}", i.instance_number));
                }
            }
        }
    }
    let digest = h.finalize();
    let mut first = [0u8; 16];
    for (dst, src) in first.iter_mut().zip(digest.iter()) {
        *dst = *src;
    }
    let mut n = u128::from_be_bytes(first);
    n = (n & !(0xF << 76)) | (0x8 << 76); // version 8
    n = (n & !(0b11 << 62)) | (0b10 << 62); // RFC 4122 variant
    format!("2.25.{n}")
}

// ---- encoding of one element and of values -------------------------------------------------

fn put_tag(out: &mut Vec<u8>, group: u16, elem: u16) {
    out.extend_from_slice(&group.to_le_bytes());
    out.extend_from_slice(&elem.to_le_bytes());
}

/// One Explicit VR Little Endian element; `value` is already padded to even length.
fn element(group: u16, elem: u16, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + value.len());
    put_tag(&mut out, group, elem);
    out.extend_from_slice(vr);
    if matches!(vr, b"OB" | b"SQ" | b"UN" | b"UT") {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    } else {
        // Every short-VR value we write is capped far below 64 KiB.
        out.extend_from_slice(&(value.len().min(0xFFFF) as u16).to_le_bytes());
    }
    out.extend_from_slice(value);
    out
}

/// A string value: control characters and the value separator `\` (except in the multi-valued
/// File ID, which is validated separately) replaced, cut to `max` bytes on a character boundary,
/// trailing spaces dropped, padded to even length.
fn text(s: &str, max: usize, pad: u8) -> Vec<u8> {
    let cleaned: String = s
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut cut = cleaned.len().min(max);
    while !cleaned.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = cleaned
        .get(..cut)
        .unwrap_or("")
        .trim_end()
        .as_bytes()
        .to_vec();
    if out.len() % 2 == 1 {
        out.push(pad);
    }
    out
}

/// Single-valued text must not contain the value separator.
fn single(s: &str) -> String {
    s.replace('\\', "/")
}

fn one(s: &str, max: usize) -> Vec<u8> {
    text(&single(s), max, b' ')
}

fn person_name(s: &str) -> Vec<u8> {
    // PN: at most 64 characters per component group (alphabetic=ideographic=phonetic).
    let groups: Vec<String> = single(s)
        .split('=')
        .take(3)
        .map(|g| {
            String::from_utf8_lossy(&text(g, 64, b' '))
                .trim_end()
                .to_string()
        })
        .collect();
    text(&groups.join("="), 3 * 64 + 2, b' ')
}

fn clean_uid(s: &str) -> &str {
    s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
}

fn uid(s: &str) -> Vec<u8> {
    text(clean_uid(s), 64, b'\0')
}

/// DA: `YYYYMMDD`; the old ACR-NEMA `YYYY.MM.DD` is converted; anything else is left empty.
fn date(s: &str) -> Vec<u8> {
    let digits: String = s.trim().chars().filter(|c| *c != '.').collect();
    if digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.into_bytes()
    } else {
        Vec::new()
    }
}

/// TM: `HHMMSS.FFFFFF` or a prefix of it; anything else is left empty.
fn time(s: &str) -> Vec<u8> {
    let s = s.trim();
    let ok = !s.is_empty()
        && s.len() <= 14
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b':');
    if ok {
        text(&s.replace(':', ""), 14, b' ')
    } else {
        Vec::new()
    }
}

fn integer(n: Option<i32>) -> Vec<u8> {
    n.map(|n| text(&n.to_string(), 12, b' '))
        .unwrap_or_default()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    #[test]
    fn values_are_padded_and_capped() {
        assert_eq!(text("CT", 16, b' '), b"CT");
        assert_eq!(text("MR1", 16, b' '), b"MR1 ");
        assert_eq!(uid("1.2.3"), b"1.2.3\0");
        assert_eq!(uid(" 1.2.3\0 "), b"1.2.3\0");
        assert_eq!(text(&"x".repeat(80), 64, b' ').len(), 64);
        // 'é' is two bytes in UTF-8: a cut at 64 bytes would split the last one.
        let long = "é".repeat(40);
        let cut = text(&long, 64, b' ');
        assert!(cut.len() <= 64 && cut.len().is_multiple_of(2));
        assert!(std::str::from_utf8(&cut).is_ok());
        let odd = format!("a{}", "é".repeat(40)); // 81 bytes
        let cut = text(&odd, 64, b' ');
        assert_eq!(cut.len(), 64); // "a" + 31 × "é" = 63 bytes, padded with one space
        assert_eq!(cut.last(), Some(&b' '));
        assert!(std::str::from_utf8(&cut).is_ok());
        assert_eq!(date("2001.01.31"), b"20010131");
        assert_eq!(date("yesterday"), b"");
        assert_eq!(time("10:20:30"), b"102030");
        assert_eq!(integer(Some(-7)), b"-7");
        assert_eq!(integer(None), b"");
        assert_eq!(person_name("Doe\\Jane"), b"Doe/Jane");
    }

    #[test]
    fn media_storage_uid_is_a_valid_2_25_uid() {
        let u = media_storage_instance_uid(&FileSet::default());
        assert!(u.starts_with("2.25.") && u.len() <= 64, "{u}");
        assert!(!u["2.25.".len()..].starts_with('0'));
        assert!(u["2.25.".len()..].bytes().all(|b| b.is_ascii_digit()));
    }
}
