//! Find the pixel data of one instance without reading it: walk the top-level data set element
//! by element (skipping values), keep the bytes before Pixel Data for attribute parsing, and
//! record where the native pixel bytes or the encapsulated fragments are. Only the fragments of
//! the requested frame are read later.

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};

use super::RenderError;

/// Attributes before Pixel Data larger than this are not a thumbnail's business.
const MAX_HEADER: u64 = 64 << 20;
/// A deflated data set may inflate to at most this (it is inflated as it is read, never held).
const MAX_INFLATED: u64 = 1 << 30;
const MAX_FRAGMENTS: usize = 1 << 20;
const MAX_DEPTH: u32 = 32;
const UNDEFINED: u32 = 0xFFFF_FFFF;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Encoding {
    ImplicitLe,
    ExplicitLe,
    ExplicitBe,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Fragment {
    /// Where the fragment's bytes start in the source.
    pub offset: u64,
    pub len: u32,
    /// Offset of the fragment's item header from the first item after the Basic Offset Table,
    /// the unit the Basic Offset Table counts in.
    pub item_offset: u64,
}

#[derive(Debug)]
pub(crate) enum PixelLoc {
    /// `swap16`: an OW value in big endian, whose bytes are swapped in each 16-bit word.
    Native { offset: u64, len: u64, swap16: bool },
    Encapsulated {
        bot: Vec<u32>,
        fragments: Vec<Fragment>,
    },
}

enum Data {
    File(BufReader<File>),
    Mem(Cursor<Vec<u8>>),
    Inflate(Box<Inflater>),
}

impl Read for Data {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Data::File(f) => f.read(buf),
            Data::Mem(m) => m.read(buf),
            Data::Inflate(i) => i.read(buf),
        }
    }
}

impl Seek for Data {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            Data::File(f) => f.seek(pos),
            Data::Mem(m) => m.seek(pos),
            Data::Inflate(i) => i.seek(pos),
        }
    }
}

/// A deflated data set, inflated as it is read so that a few hundred bytes inflating to a
/// gigabyte cost time, not memory: a seek forward inflates and discards, a seek backward starts
/// again from the beginning of the compressed stream (locating seeks back once or twice).
struct Inflater {
    dec: flate2::read::DeflateDecoder<Box<Data>>,
    /// Where the compressed stream starts in the source.
    start: u64,
    /// Inflated bytes read so far.
    pos: u64,
}

impl Inflater {
    fn new(mut src: Data, start: u64) -> io::Result<Self> {
        src.seek(SeekFrom::Start(start))?;
        Ok(Inflater {
            dec: flate2::read::DeflateDecoder::new(Box::new(src)),
            start,
            pos: 0,
        })
    }

    fn restart(&mut self) -> io::Result<()> {
        // `reset` hands back the source and clears the decoder's state and input buffer
        let placeholder = Box::new(Data::Mem(Cursor::new(Vec::new())));
        let mut src = self.dec.reset(placeholder);
        src.seek(SeekFrom::Start(self.start))?;
        self.dec.reset(src);
        self.pos = 0;
        Ok(())
    }
}

impl Read for Inflater {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.dec.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Inflater {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(t) => Some(t),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(_) => None,
        }
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        if target < self.pos {
            self.restart()?;
        }
        let want = target - self.pos;
        if io::copy(&mut (&mut *self).take(want), &mut io::sink())? < want {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(self.pos)
    }
}

/// An instance opened for rendering: attribute bytes, and a handle to read pixel bytes from.
pub(crate) struct Located {
    /// The data set bytes before Pixel Data, encoded as `encoding`.
    pub header: Vec<u8>,
    pub encoding: Encoding,
    pub pixel: Option<PixelLoc>,
    data: Data,
    data_len: u64,
}

impl Located {
    /// Read `len` bytes at `offset`, refusing to go past the end of the source.
    pub fn read_at(&mut self, offset: u64, len: u64) -> Result<Vec<u8>, RenderError> {
        let end = offset.checked_add(len).ok_or(RenderError::Truncated)?;
        if end > self.data_len {
            return Err(RenderError::Truncated);
        }
        let len = usize::try_from(len).map_err(|_| RenderError::TooLarge("pixel data".into()))?;
        let mut buf = vec![0u8; len];
        self.data
            .seek(SeekFrom::Start(offset))
            .map_err(RenderError::io("pixel data"))?;
        self.data
            .read_exact(&mut buf)
            .map_err(RenderError::io("pixel data"))?;
        Ok(buf)
    }

    pub fn data_len(&self) -> u64 {
        self.data_len
    }
}

pub(crate) fn encoding_of(ts_uid: &str) -> Encoding {
    match ts_uid {
        "1.2.840.10008.1.2" => Encoding::ImplicitLe,
        "1.2.840.10008.1.2.2" => Encoding::ExplicitBe,
        _ => Encoding::ExplicitLe,
    }
}

pub(crate) fn is_deflated(ts_uid: &str) -> bool {
    matches!(ts_uid, "1.2.840.10008.1.2.1.99" | "1.2.840.10008.1.2.8.1")
}

/// Open `path`, starting the data set at `offset`, and locate its pixel data.
pub(crate) fn locate(
    path: &std::path::Path,
    offset: u64,
    ts_uid: &str,
) -> Result<Located, RenderError> {
    let file = File::open(path).map_err(RenderError::io("file"))?;
    let file_len = file.metadata().map_err(RenderError::io("file"))?.len();
    let reader = Data::File(BufReader::with_capacity(64 * 1024, file));
    locate_in(reader, file_len, offset, ts_uid)
}

/// [`locate`] over the bytes of a whole file already in memory.
pub(crate) fn locate_bytes(
    bytes: Vec<u8>,
    offset: u64,
    ts_uid: &str,
) -> Result<Located, RenderError> {
    let len = bytes.len() as u64;
    locate_in(Data::Mem(Cursor::new(bytes)), len, offset, ts_uid)
}

fn locate_in(
    reader: Data,
    file_len: u64,
    offset: u64,
    ts_uid: &str,
) -> Result<Located, RenderError> {
    if offset > file_len {
        return Err(RenderError::Truncated);
    }
    let (mut data, start, data_len, encoding) = if is_deflated(ts_uid) {
        // One pass to learn the inflated length, which every bound below is checked against.
        let mut inflater =
            Inflater::new(reader, offset).map_err(RenderError::io("deflated data set"))?;
        let len = io::copy(&mut (&mut inflater).take(MAX_INFLATED + 1), &mut io::sink())
            .map_err(|e| RenderError::Corrupt(format!("deflated data set: {e}")))?;
        if len > MAX_INFLATED {
            return Err(RenderError::TooLarge("inflated data set over 1 GiB".into()));
        }
        inflater
            .restart()
            .map_err(RenderError::io("deflated data set"))?;
        (
            Data::Inflate(Box::new(inflater)),
            0,
            len,
            Encoding::ExplicitLe,
        )
    } else {
        (reader, offset, file_len, encoding_of(ts_uid))
    };
    data.seek(SeekFrom::Start(start))
        .map_err(RenderError::io("data set"))?;
    let encoding = sniff_implicit(&mut data, start, encoding)?;
    let mut walker = Walker {
        r: &mut data,
        pos: start,
        end: data_len,
        enc: encoding,
        kept: Vec::new(),
    };
    let pixel = walker.top_level()?;
    let kept = std::mem::take(&mut walker.kept);
    let header_len: u64 = kept.iter().map(|(a, b)| b - a).sum();
    if header_len > MAX_HEADER {
        return Err(RenderError::TooLarge("image attributes over 64 MiB".into()));
    }
    // Only the elements the renderer reads are kept (SOP Class, Modality, group 0028): private
    // blobs and odd sequences elsewhere are neither read nor parsed.
    let mut header = Vec::with_capacity(header_len as usize);
    for (a, b) in kept {
        data.seek(SeekFrom::Start(a))
            .map_err(RenderError::io("image attributes"))?;
        let at = header.len();
        header.resize(at + (b - a) as usize, 0);
        data.read_exact(&mut header[at..])
            .map_err(RenderError::io("image attributes"))?;
    }
    Ok(Located {
        header,
        encoding,
        pixel,
        data,
        data_len,
    })
}

/// Some writers declare an explicit VR transfer syntax and write implicit VR anyway; like
/// DCMTK and pydicom, look at the first element to tell.
fn sniff_implicit(
    data: &mut Data,
    start: u64,
    declared: Encoding,
) -> Result<Encoding, RenderError> {
    if declared != Encoding::ExplicitLe {
        return Ok(declared);
    }
    let mut head = [0u8; 6];
    let got = data.read(&mut head).map_err(RenderError::io("data set"))?;
    data.seek(SeekFrom::Start(start))
        .map_err(RenderError::io("data set"))?;
    if got == 6 && !(head[4].is_ascii_uppercase() && head[5].is_ascii_uppercase()) {
        return Ok(Encoding::ImplicitLe);
    }
    Ok(declared)
}

struct Header {
    group: u16,
    element: u16,
    vr: Option<[u8; 2]>,
    len: u32,
}

struct Walker<'a, R> {
    r: &'a mut R,
    pos: u64,
    end: u64,
    enc: Encoding,
    /// Byte ranges of the top-level elements to parse as attributes.
    kept: Vec<(u64, u64)>,
}

fn wanted(group: u16, element: u16) -> bool {
    group == 0x0028 || (group, element) == (0x0008, 0x0016) || (group, element) == (0x0008, 0x0060)
}

impl<R: Read + Seek> Walker<'_, R> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], RenderError> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                RenderError::Truncated
            } else {
                RenderError::io("data set")(e)
            }
        })?;
        self.pos += N as u64;
        Ok(b)
    }

    fn u16(&mut self, enc: Encoding) -> Result<u16, RenderError> {
        let b = self.bytes::<2>()?;
        Ok(match enc {
            Encoding::ExplicitBe => u16::from_be_bytes(b),
            _ => u16::from_le_bytes(b),
        })
    }

    fn u32(&mut self, enc: Encoding) -> Result<u32, RenderError> {
        let b = self.bytes::<4>()?;
        Ok(match enc {
            Encoding::ExplicitBe => u32::from_be_bytes(b),
            _ => u32::from_le_bytes(b),
        })
    }

    fn skip(&mut self, len: u64) -> Result<(), RenderError> {
        let target = self.pos.checked_add(len).ok_or(RenderError::Truncated)?;
        if target > self.end {
            return Err(RenderError::Truncated);
        }
        self.r
            .seek(SeekFrom::Start(target))
            .map_err(RenderError::io("data set"))?;
        self.pos = target;
        Ok(())
    }

    /// Next element header, or None at a clean end of data.
    fn header(&mut self, enc: Encoding) -> Result<Option<Header>, RenderError> {
        if self.pos >= self.end {
            return Ok(None);
        }
        if self.end - self.pos < 8 {
            // trailing padding shorter than an element header
            return Ok(None);
        }
        let group = self.u16(enc)?;
        let element = self.u16(enc)?;
        if group == 0xFFFE || enc == Encoding::ImplicitLe {
            let len = self.u32(enc)?;
            return Ok(Some(Header {
                group,
                element,
                vr: None,
                len,
            }));
        }
        let vr = self.bytes::<2>()?;
        const SHORT: [&[u8; 2]; 21] = [
            b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT",
            b"PN", b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US",
        ];
        const LONG: [&[u8; 2]; 13] = [
            b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT",
            b"UV",
        ];
        if !SHORT.contains(&&vr) && !LONG.contains(&&vr) {
            // other toolkits disagree on how to read an unknown VR: refuse rather than guess
            return Err(RenderError::Corrupt(format!(
                "unknown VR {:?} at ({group:04X},{element:04X})",
                String::from_utf8_lossy(&vr)
            )));
        }
        let len = match &vr {
            b"OB" | b"OD" | b"OF" | b"OL" | b"OV" | b"OW" | b"SQ" | b"SV" | b"UC" | b"UN"
            | b"UR" | b"UT" | b"UV" => {
                self.bytes::<2>()?;
                self.u32(enc)?
            }
            _ => u32::from(self.u16(enc)?),
        };
        Ok(Some(Header {
            group,
            element,
            vr: Some(vr),
            len,
        }))
    }

    /// Walk the top level up to Pixel Data. Returns where the attributes end and where the
    /// pixels are.
    fn top_level(&mut self) -> Result<Option<PixelLoc>, RenderError> {
        loop {
            let at = self.pos;
            let Some(h) = self.header(self.enc)? else {
                return Ok(None);
            };
            if (h.group, h.element) == (0x7FE0, 0x0010) {
                return self.pixel_data(&h).map(Some);
            }
            if h.group == 0x7FE0 && matches!(h.element, 0x0008 | 0x0009) {
                return Err(RenderError::Unsupported("float pixel data".into()));
            }
            if h.group > 0x7FE0 && h.group != 0xFFFE {
                // trailing padding or signatures after where pixels would be
                return Ok(None);
            }
            self.value(&h, self.enc, 0)?;
            if wanted(h.group, h.element) {
                self.kept.push((at, self.pos));
            }
        }
    }

    fn value(&mut self, h: &Header, enc: Encoding, depth: u32) -> Result<(), RenderError> {
        if depth > MAX_DEPTH {
            return Err(RenderError::Corrupt("sequences nested too deep".into()));
        }
        if h.len != UNDEFINED {
            if h.vr.as_ref() == Some(b"SQ") {
                // walk defined-length sequences too, so that every nested length is checked
                // before a parser allocates for it
                return self.bounded(u64::from(h.len), |w| w.sequence_items(enc, depth + 1));
            }
            return self.skip(u64::from(h.len));
        }
        // Undefined length: a sequence (SQ, or UN/implicit whose content is implicit VR LE).
        let inner = match h.vr {
            Some(vr) if &vr == b"UN" => Encoding::ImplicitLe,
            _ => enc,
        };
        self.sequence(inner, depth + 1)
    }

    /// Run `f` with the end of data moved to `len` bytes from here; `f` must consume them all.
    fn bounded(
        &mut self,
        len: u64,
        f: impl FnOnce(&mut Self) -> Result<(), RenderError>,
    ) -> Result<(), RenderError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.end)
            .ok_or(RenderError::Truncated)?;
        let saved = std::mem::replace(&mut self.end, end);
        let r = f(self);
        self.end = saved;
        r?;
        if self.pos != end {
            return Err(RenderError::Corrupt(
                "sequence length does not match its items".into(),
            ));
        }
        Ok(())
    }

    /// Items of a defined-length sequence, up to the (bounded) end.
    fn sequence_items(&mut self, enc: Encoding, depth: u32) -> Result<(), RenderError> {
        while self.pos < self.end {
            let Some(h) = self.header(enc)? else {
                return Err(RenderError::Truncated);
            };
            match (h.group, h.element) {
                (0xFFFE, 0xE000) if h.len == UNDEFINED => self.item(enc, depth + 1)?,
                (0xFFFE, 0xE000) => self.bounded(u64::from(h.len), |w| {
                    while w.pos < w.end {
                        let Some(h) = w.header(enc)? else {
                            return Err(RenderError::Truncated);
                        };
                        w.value(&h, enc, depth + 1)?;
                    }
                    Ok(())
                })?,
                _ => {
                    return Err(RenderError::Corrupt(
                        "unexpected element inside a sequence".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    fn sequence(&mut self, enc: Encoding, depth: u32) -> Result<(), RenderError> {
        loop {
            let Some(h) = self.header(enc)? else {
                return Err(RenderError::Truncated);
            };
            match (h.group, h.element) {
                (0xFFFE, 0xE0DD) => return Ok(()),
                (0xFFFE, 0xE000) if h.len == UNDEFINED => self.item(enc, depth + 1)?,
                (0xFFFE, 0xE000) => self.skip(u64::from(h.len))?,
                _ => {
                    return Err(RenderError::Corrupt(
                        "unexpected element inside a sequence".into(),
                    ));
                }
            }
        }
    }

    fn item(&mut self, enc: Encoding, depth: u32) -> Result<(), RenderError> {
        loop {
            let Some(h) = self.header(enc)? else {
                return Err(RenderError::Truncated);
            };
            if (h.group, h.element) == (0xFFFE, 0xE00D) {
                return Ok(());
            }
            self.value(&h, enc, depth)?;
        }
    }

    fn pixel_data(&mut self, h: &Header) -> Result<PixelLoc, RenderError> {
        if h.len != UNDEFINED {
            let offset = self.pos;
            // A pixel data element cut short keeps what is there; the frame check decides.
            let len = u64::from(h.len).min(self.end.saturating_sub(offset));
            let swap16 = self.enc == Encoding::ExplicitBe && h.vr.as_ref() == Some(b"OW");
            return Ok(PixelLoc::Native {
                offset,
                len,
                swap16,
            });
        }
        // Encapsulated: items are always little endian.
        let enc = Encoding::ExplicitLe;
        let Some(first) = self.header(enc)? else {
            return Err(RenderError::Truncated);
        };
        if (first.group, first.element) != (0xFFFE, 0xE000) || first.len == UNDEFINED {
            return Err(RenderError::Corrupt(
                "encapsulated pixel data without an offset table item".into(),
            ));
        }
        if u64::from(first.len) > self.end.saturating_sub(self.pos) || first.len % 4 != 0 {
            return Err(RenderError::Corrupt("basic offset table length".into()));
        }
        let mut bot = Vec::with_capacity((first.len / 4) as usize);
        for _ in 0..first.len / 4 {
            bot.push(self.u32(enc)?);
        }
        let base = self.pos;
        let mut fragments = Vec::new();
        loop {
            let item_at = self.pos;
            let h = match self.header(enc) {
                Ok(Some(h)) => h,
                // tolerate a missing sequence delimiter at the end of the file
                Ok(None) | Err(RenderError::Truncated) => break,
                Err(e) => return Err(e),
            };
            match (h.group, h.element) {
                (0xFFFE, 0xE0DD) => break,
                (0xFFFE, 0xE000) if h.len != UNDEFINED => {
                    if fragments.len() >= MAX_FRAGMENTS {
                        return Err(RenderError::TooLarge(
                            "more than a million fragments".into(),
                        ));
                    }
                    let len = u64::from(h.len).min(self.end.saturating_sub(self.pos)) as u32;
                    fragments.push(Fragment {
                        offset: self.pos,
                        len,
                        item_offset: item_at - base,
                    });
                    self.skip(u64::from(len))?;
                }
                _ => {
                    return Err(RenderError::Corrupt(
                        "unexpected element among pixel data fragments".into(),
                    ));
                }
            }
        }
        Ok(PixelLoc::Encapsulated { bot, fragments })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn inflater_seeks_both_ways_without_holding_the_data() {
        let plain: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&plain).unwrap();
        let mut src = b"prefix".to_vec();
        src.extend(enc.finish().unwrap());
        let mut inf = Inflater::new(Data::Mem(Cursor::new(src)), 6).unwrap();
        let at = |inf: &mut Inflater, offset: usize| {
            inf.seek(SeekFrom::Start(offset as u64)).unwrap();
            let mut b = [0u8; 5];
            inf.read_exact(&mut b).unwrap();
            assert_eq!(b, plain[offset..offset + 5], "at {offset}");
        };
        at(&mut inf, 250_000); // forward
        at(&mut inf, 10); // back: starts again
        at(&mut inf, 10);
        at(&mut inf, 299_995);
        assert_eq!(inf.seek(SeekFrom::Current(-5)).unwrap(), 299_995);
        let past = inf.seek(SeekFrom::Start(300_001)).unwrap_err();
        assert_eq!(past.kind(), io::ErrorKind::UnexpectedEof);
    }
}
