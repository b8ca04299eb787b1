//! Pixel data: the check that a Pixel Data element is complete (fed as the bytes stream past,
//! for the scan and the copy into a package), and the list of encapsulated fragments (for
//! render, which reads only the fragments of the frame it draws).

use super::Malformed;
use super::element::{BadVr, Encoding, ITEM, SEQUENCE_END, read_header};
use std::io::{self, Read, Seek, SeekFrom};

/// More fragments than this in one Pixel Data element are refused (a million frames).
pub const MAX_FRAGMENTS: usize = 1 << 20;

/// The item header (8 bytes) at the start of `b`: encapsulated items are always little endian.
fn item_header(b: &[u8]) -> Option<(dicom_core::Tag, Option<u32>)> {
    let h = read_header(b, 0, Encoding::ImplicitLe, BadVr::Refuse)?.ok()?;
    Some((h.tag, h.len))
}

/// Checks, as the bytes stream past, that the Pixel Data element is complete: a defined length
/// is all there, and encapsulated fragments run to their sequence delimiter. Single pass, no
/// buffering: the scan feeds it whatever follows the header while hashing.
#[derive(Debug, Clone)]
pub struct PixelDataCheck {
    state: PixelState,
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
    pub fn new(value_len: Option<u32>, offset: u64) -> Self {
        let state = match value_len {
            Some(len) => PixelState::Skip {
                left: u64::from(len),
                then_items: false,
            },
            None => PixelState::ItemHeader,
        };
        PixelDataCheck {
            state,
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
                    let (tag, len) =
                        item_header(&self.pending).unwrap_or((dicom_core::Tag(0, 0), None));
                    self.pending.clear();
                    let at = self.offset;
                    self.offset += 8;
                    self.state = match (tag, len) {
                        (ITEM, Some(len)) => PixelState::Skip {
                            left: u64::from(len),
                            then_items: true,
                        },
                        (SEQUENCE_END, _) => PixelState::Complete,
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

/// One fragment of encapsulated pixel data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// Where the fragment's bytes start in the stream.
    pub offset: u64,
    pub len: u32,
    /// Offset of the fragment's item header from the first item after the Basic Offset Table,
    /// the unit the Basic Offset Table counts in.
    pub item_offset: u64,
}

/// The Basic Offset Table and the fragments of an encapsulated Pixel Data value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fragments {
    pub offset_table: Vec<u32>,
    pub fragments: Vec<Fragment>,
}

/// Why the fragments of encapsulated pixel data cannot be listed.
#[derive(Debug, thiserror::Error)]
pub enum FragmentError {
    #[error("the pixel data ends before its first item")]
    Truncated,
    #[error("{0}")]
    Corrupt(&'static str),
    #[error("more than a million fragments")]
    TooMany,
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Lists the fragments of the encapsulated pixel data whose value starts at `value` in `r`,
/// a stream of `end` bytes, reading item headers only. A last fragment cut short keeps what is
/// there, and a missing sequence delimiter at the end of the stream is tolerated: drawing what
/// is there is render's job; the scan has already said whether the element is complete.
pub fn fragments(
    r: &mut (impl Read + Seek),
    value: u64,
    end: u64,
) -> Result<Fragments, FragmentError> {
    let mut pos = value;
    r.seek(SeekFrom::Start(pos))?;
    let Some((tag, len)) = read_item(r, &mut pos, end)? else {
        return Err(FragmentError::Truncated);
    };
    let (ITEM, Some(bot_len)) = (tag, len) else {
        return Err(FragmentError::Corrupt(
            "encapsulated pixel data without an offset table item",
        ));
    };
    if u64::from(bot_len) > end.saturating_sub(pos) || bot_len % 4 != 0 {
        return Err(FragmentError::Corrupt("basic offset table length"));
    }
    let mut table = vec![0u8; bot_len as usize];
    r.read_exact(&mut table).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => FragmentError::Truncated,
        _ => e.into(),
    })?;
    pos += u64::from(bot_len);
    let offset_table = table
        .chunks_exact(4)
        .map(|c| <[u8; 4]>::try_from(c).map_or(0, u32::from_le_bytes))
        .collect();
    let base = pos;
    let mut fragments = Vec::new();
    loop {
        let item_at = pos;
        let Some((tag, len)) = read_item(r, &mut pos, end)? else {
            break;
        };
        match (tag, len) {
            (SEQUENCE_END, _) => break,
            (ITEM, Some(len)) => {
                if fragments.len() >= MAX_FRAGMENTS {
                    return Err(FragmentError::TooMany);
                }
                let len = u64::from(len).min(end.saturating_sub(pos)) as u32;
                fragments.push(Fragment {
                    offset: pos,
                    len,
                    item_offset: item_at - base,
                });
                pos += u64::from(len);
                r.seek(SeekFrom::Start(pos))?;
            }
            _ => {
                return Err(FragmentError::Corrupt(
                    "unexpected element among pixel data fragments",
                ));
            }
        }
    }
    Ok(Fragments {
        offset_table,
        fragments,
    })
}

/// The next item header at `pos`, or `None` at the end of the stream.
fn read_item(
    r: &mut impl Read,
    pos: &mut u64,
    end: u64,
) -> Result<Option<(dicom_core::Tag, Option<u32>)>, FragmentError> {
    if end.saturating_sub(*pos) < 8 {
        return Ok(None);
    }
    let mut b = [0u8; 8];
    match r.read_exact(&mut b) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    *pos += 8;
    Ok(item_header(&b))
}
