//! The bytes of a data set as a seekable stream: the file itself, or for the Deflated Explicit
//! VR Little Endian syntax the data set inflated as it is read, never held, so that a few
//! hundred bytes inflating to a gigabyte cost time, not memory. Positions are those of
//! [`super::Layout`].

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};

/// Where the bytes of a stored object come from.
pub enum Source {
    File(BufReader<File>),
    Mem(Cursor<Vec<u8>>),
}

impl Source {
    pub fn file(f: File) -> Source {
        Source::File(BufReader::with_capacity(64 * 1024, f))
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::File(f) => f.read(buf),
            Source::Mem(m) => m.read(buf),
        }
    }
}

impl Seek for Source {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            Source::File(f) => f.seek(pos),
            Source::Mem(m) => m.seek(pos),
        }
    }
}

/// A deflated data set, inflated as it is read: a seek forward inflates and discards, a seek
/// backward starts again from the beginning of the compressed stream.
pub struct Inflater {
    dec: flate2::read::DeflateDecoder<Source>,
    /// Where the compressed stream starts in the source.
    start: u64,
    /// Inflated bytes read so far.
    pos: u64,
}

impl Inflater {
    pub fn new(mut src: Source, start: u64) -> io::Result<Self> {
        src.seek(SeekFrom::Start(start))?;
        Ok(Inflater {
            dec: flate2::read::DeflateDecoder::new(src),
            start,
            pos: 0,
        })
    }

    fn restart(&mut self) -> io::Result<()> {
        // `reset` hands back the source and clears the decoder's state and input buffer
        let mut src = self.dec.reset(Source::Mem(Cursor::new(Vec::new())));
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

/// The data set stream of one object, and its length.
pub enum DatasetStream {
    Raw(Source),
    Inflated(Box<Inflater>),
}

/// Why a data set stream cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the deflated data set is corrupt: {0}")]
    Corrupt(#[source] io::Error),
    #[error("the deflated data set inflates to more than {max} bytes")]
    TooLarge { max: u64 },
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl DatasetStream {
    /// Opens the data set of `src` (whose length is `len`) that starts at `offset`; a deflated
    /// one is inflated once to learn its length (at most `max_inflated`), which every bound
    /// is checked against. Returns the stream and its length.
    pub fn open(
        src: Source,
        len: u64,
        offset: u64,
        deflated: bool,
        max_inflated: u64,
    ) -> Result<(DatasetStream, u64), OpenError> {
        if !deflated {
            return Ok((DatasetStream::Raw(src), len));
        }
        let mut inflater = Inflater::new(src, offset)?;
        let inflated = io::copy(&mut (&mut inflater).take(max_inflated + 1), &mut io::sink())
            .map_err(OpenError::Corrupt)?;
        if inflated > max_inflated {
            return Err(OpenError::TooLarge { max: max_inflated });
        }
        inflater.restart()?;
        Ok((DatasetStream::Inflated(Box::new(inflater)), inflated))
    }
}

impl Read for DatasetStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            DatasetStream::Raw(s) => s.read(buf),
            DatasetStream::Inflated(i) => i.read(buf),
        }
    }
}

impl Seek for DatasetStream {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            DatasetStream::Raw(s) => s.seek(pos),
            DatasetStream::Inflated(i) => i.seek(pos),
        }
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
        let mut inf = Inflater::new(Source::Mem(Cursor::new(src)), 6).unwrap();
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
