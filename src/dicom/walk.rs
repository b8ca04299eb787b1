//! The capped element walker: the one walk of a data set, used by the scan (to validate a file
//! and find where its header ends), by render (to validate the few bytes it parses) and by the
//! DICOMDIR reader (to step over elements it does not read).
//!
//! Every element, sequence and item length is checked against the bytes really there, nesting
//! is limited to [`MAX_DEPTH`], and nothing is allocated from a length the stream claims.

use super::Malformed;
use super::element::{
    BadVr, Encoding, Header, ITEM, ITEM_END, SEQUENCE_END, binary_unit, dictionary_vr, read_header,
};
use dicom_core::Tag;
use dicom_core::header::VR;
use std::ops::Range;

const PIXEL_DATA: Tag = dicom_dictionary_std::tags::PIXEL_DATA;
const ENCAPSULATED_DOCUMENT: Tag = dicom_dictionary_std::tags::ENCAPSULATED_DOCUMENT;

/// Sequences nested deeper than this are refused: real objects stay far below it, and a
/// crafted file with thousands of levels must not exhaust the stack.
pub const MAX_DEPTH: usize = 64;

/// Where the walk of a data set stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// The top level reaches a pixel data element (Pixel Data, Float or Double Float Pixel
    /// Data) at `offset`: everything before it is the header of the object.
    PixelData { offset: usize, header: Header },
    /// The whole data set was walked; it has no pixel data.
    End,
    /// The walk needs bytes beyond the buffer given; call again with at least this many.
    NeedMore(usize),
}

/// What a walk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walked {
    pub walk: Walk,
    /// Top-level elements that dicom-object cannot read: explicit-VR `UN` elements of
    /// undefined length (a sequence whose VR the writer did not know, PS3.5 6.2.2).
    /// dicom-object tries to allocate 4 GiB for them, so a caller leaves them out of the bytes
    /// it parses; the file itself is not changed.
    pub unparseable: Vec<Range<usize>>,
    /// Top-level elements render reads ([`super::is_image_element`]), adjacent ones merged.
    pub image_elements: Vec<Range<usize>>,
    /// The value of a top-level Encapsulated Document (0042,0011): a PDF or CDA report.
    pub document: Option<Range<usize>>,
}

/// Walks the data set in `buf[start..]`, checking every length against `stream_len` (the full
/// length of the stream, which may be more than `buf` holds) and nesting against [`MAX_DEPTH`].
/// Stops at the top-level pixel data element.
pub fn walk(buf: &[u8], start: usize, enc: Encoding, stream_len: u64) -> Result<Walked, Malformed> {
    let mut walker = Walker {
        buf,
        enc,
        bad_vr: BadVr::Refuse,
        stream_len,
        unparseable: Vec::new(),
        image_elements: Vec::new(),
        document: None,
    };
    let walk = walker.dataset(start, None, 0)?;
    Ok(Walked {
        walk,
        unparseable: walker.unparseable,
        image_elements: walker.image_elements,
        document: walker.document,
    })
}

/// Where the element whose header is at `pos` ends, all of it (nested sequences included)
/// inside `buf`, `depth` levels down: for readers that step over what they do not read.
pub fn element_end(
    buf: &[u8],
    pos: usize,
    enc: Encoding,
    bad_vr: BadVr,
    depth: usize,
) -> Result<usize, Malformed> {
    let mut walker = Walker {
        buf,
        enc,
        bad_vr,
        stream_len: buf.len() as u64,
        unparseable: Vec::new(),
        image_elements: Vec::new(),
        document: None,
    };
    let Some(h) = walker.header(pos)? else {
        return Err(Malformed::Truncated {
            offset: pos as u64,
            what: "element header".into(),
        });
    };
    match walker.element(pos, h, depth)? {
        Step::At(end) => Ok(end),
        Step::Stop(_) => Err(Malformed::Truncated {
            offset: pos as u64,
            what: "element".into(),
        }),
    }
}

struct Walker<'a> {
    buf: &'a [u8],
    enc: Encoding,
    bad_vr: BadVr,
    stream_len: u64,
    unparseable: Vec<Range<usize>>,
    image_elements: Vec<Range<usize>>,
    document: Option<Range<usize>>,
}

/// Inside the walker: the position after a construct, or an early stop.
enum Step {
    At(usize),
    Stop(Walk),
}

fn tag_text(tag: Tag) -> String {
    format!("({:04X},{:04X})", tag.group(), tag.element())
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
            // (7FE0,0010) Pixel Data, (7FE0,0008) Float and (7FE0,0009) Double Float Pixel Data;
            // the group's length element (7FE0,0000) is an ordinary element.
            if depth == 0
                && header.tag.group() == 0x7FE0
                && matches!(header.tag.element(), 0x0008 | 0x0009 | 0x0010)
            {
                return Ok(Walk::PixelData {
                    offset: pos,
                    header,
                });
            }
            match self.element(pos, header, depth)? {
                Step::At(next) => {
                    if depth == 0 && header.tag == ENCAPSULATED_DOCUMENT {
                        self.document = Some(header.value_start(pos)..next);
                    }
                    if depth == 0 && super::is_image_element(header.tag) {
                        match self.image_elements.last_mut() {
                            Some(last) if last.end == pos => last.end = next,
                            _ => self.image_elements.push(pos..next),
                        }
                    }
                    pos = next;
                }
                Step::Stop(w) => return Ok(w),
            }
        }
    }

    fn header(&self, pos: usize) -> Result<Option<Header>, Malformed> {
        match read_header(self.buf, pos, self.enc, self.bad_vr) {
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
            Some(Err(bad)) => Err(Malformed::InvalidVr {
                offset: pos as u64,
                bad,
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

    fn element(&mut self, pos: usize, h: Header, depth: usize) -> Result<Step, Malformed> {
        let tag = h.tag;
        let value_start = pos + h.header_len;
        let is_sequence = match h.vr {
            Some(VR::SQ) => true,
            // Undefined-length UN holds a sequence in implicit VR (PS3.5 6.2.2).
            Some(VR::UN) => h.len.is_none(),
            Some(_) => false,
            None => h.len.is_none() || dictionary_vr(tag) == Some(VR::SQ),
        };
        let what = || format!("element {}", tag_text(tag));
        if tag.group() == 0xFFFE {
            return Err(Malformed::BadLength {
                offset: pos as u64,
                what: format!("unexpected item tag {}", tag_text(tag)),
            });
        }
        if tag == PIXEL_DATA && h.len.is_none() {
            // Encapsulated pixel data below the top level: an Icon Image Sequence item of a
            // compressed image (PS3.3 C.7.6.1.1.6) holds its own.
            return self.fragments(value_start);
        }
        if !is_sequence {
            let vr = h.vr.or_else(|| dictionary_vr(tag));
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
            self.enc = Encoding::ImplicitLe;
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
                            "sequence {} holds {} where an item belongs",
                            what(),
                            tag_text(other)
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

    /// Steps over the items of encapsulated pixel data (fragments: bytes, not data sets) to
    /// the sequence delimiter.
    fn fragments(&mut self, mut pos: usize) -> Result<Step, Malformed> {
        loop {
            let Some(item) = self.header(pos)? else {
                return Ok(Step::Stop(self.need(pos + 8)?));
            };
            match (item.tag, item.len) {
                (SEQUENCE_END, _) => return Ok(Step::At(pos + 8)),
                (ITEM, Some(len)) => {
                    let what = || "a pixel data fragment".to_string();
                    let end = self.end_within(pos, pos + 8, len, self.stream_len, &what)?;
                    if end > self.buf.len() as u64 {
                        return Ok(Step::Stop(self.need(end as usize)?));
                    }
                    pos = end as usize;
                }
                (other, _) => {
                    return Err(Malformed::BadLength {
                        offset: pos as u64,
                        what: format!(
                            "compressed pixel data holds {} where a fragment belongs",
                            tag_text(other)
                        ),
                    });
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
