//! Open one scanned instance for drawing, without walking it again: the scan recorded where the
//! elements that decide how an image is drawn lie and where the pixel data is
//! ([`crate::dicom::Layout`]). Only those bytes are read (validated by the byte layer's walker
//! before dicom-object parses them, since the file may have changed since the scan), and later
//! only the bytes or fragments of the one frame drawn.

use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};

use super::RenderError;
use crate::dicom::deflate::{DatasetStream, OpenError, Source};
use crate::dicom::pixel::{self, FragmentError};
use crate::dicom::{self, PixelKind, PixelValue, TransferSyntax, Walk};
use crate::scan::Object;

pub(crate) use crate::dicom::Encoding;
pub(crate) use crate::dicom::pixel::Fragment;

/// Attributes before Pixel Data larger than this are not a thumbnail's business.
const MAX_HEADER: u64 = 64 << 20;
/// A deflated data set may inflate to at most this (it is inflated as it is read, never held).
const MAX_INFLATED: u64 = 1 << 30;

#[derive(Debug, Clone)]
pub(crate) enum PixelLoc {
    /// `swap16`: an OW value in big endian, whose bytes are swapped in each 16-bit word.
    Native { offset: u64, len: u64, swap16: bool },
    Encapsulated {
        bot: Vec<u32>,
        fragments: Vec<Fragment>,
    },
}

/// An instance opened for rendering: attribute bytes, and a handle to read pixel bytes from.
pub(crate) struct Located {
    /// The elements render reads (SOP Class, Modality, group 0028), encoded as `encoding`.
    pub header: Vec<u8>,
    pub encoding: Encoding,
    pub pixel: Option<PixelLoc>,
    data: DatasetStream,
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

/// Opens the file at `path`, which the scan found to hold `object`.
pub(crate) fn locate(path: &std::path::Path, object: &Object) -> Result<Located, RenderError> {
    let file = File::open(path).map_err(RenderError::io("file"))?;
    let file_len = file.metadata().map_err(RenderError::io("file"))?.len();
    locate_in(Source::file(file), file_len, object)
}

/// [`locate`] over the bytes of a whole file already in memory.
pub(crate) fn locate_bytes(bytes: Vec<u8>, object: &Object) -> Result<Located, RenderError> {
    let len = bytes.len() as u64;
    locate_in(Source::Mem(Cursor::new(bytes)), len, object)
}

fn locate_in(src: Source, file_len: u64, object: &Object) -> Result<Located, RenderError> {
    let offset = object.dataset_offset;
    if offset > file_len {
        return Err(RenderError::Truncated);
    }
    let syntax = TransferSyntax::of(&object.transfer_syntax_uid);
    let (mut data, data_len) =
        DatasetStream::open(src, file_len, offset, syntax.deflated, MAX_INFLATED).map_err(|e| {
            match e {
                OpenError::Corrupt(e) => RenderError::Corrupt(format!("deflated data set: {e}")),
                OpenError::TooLarge { .. } => {
                    RenderError::TooLarge("inflated data set over 1 GiB".into())
                }
                OpenError::Io(e) => RenderError::io("data set")(e),
            }
        })?;
    let encoding = syntax.encoding;
    let header = image_elements(&mut data, data_len, object, encoding)?;
    let pixel = match object.layout.pixel {
        None => None,
        Some(p) if p.kind != PixelKind::Integer => {
            return Err(RenderError::Unsupported("float pixel data".into()));
        }
        Some(p) => Some(match p.stored {
            PixelValue::Native { len, words } => PixelLoc::Native {
                offset: p.value,
                // A pixel data element cut short keeps what is there; the frame check decides.
                len: u64::from(len).min(data_len.saturating_sub(p.value)),
                swap16: encoding == Encoding::ExplicitBe && words,
            },
            PixelValue::Encapsulated => {
                let found =
                    pixel::fragments(&mut data, p.value, data_len).map_err(|e| match e {
                        FragmentError::Truncated => RenderError::Truncated,
                        FragmentError::Corrupt(why) => RenderError::Corrupt(why.into()),
                        FragmentError::TooMany => {
                            RenderError::TooLarge("more than a million fragments".into())
                        }
                        FragmentError::Io(e) => RenderError::io("pixel data")(e),
                    })?;
                PixelLoc::Encapsulated {
                    bot: found.offset_table,
                    fragments: found.fragments,
                }
            }
        }),
    };
    Ok(Located {
        header,
        encoding,
        pixel,
        data,
        data_len,
    })
}

/// Reads the image elements the scan located, and walks them before anything parses them.
fn image_elements(
    data: &mut DatasetStream,
    data_len: u64,
    object: &Object,
    encoding: Encoding,
) -> Result<Vec<u8>, RenderError> {
    let ranges = &object.layout.image_elements;
    let total: u64 = ranges.iter().map(|r| r.end.saturating_sub(r.start)).sum();
    if total > MAX_HEADER {
        return Err(RenderError::TooLarge("image attributes over 64 MiB".into()));
    }
    let mut header = Vec::with_capacity(total as usize);
    for r in ranges.iter() {
        if r.end > data_len || r.start > r.end {
            return Err(RenderError::Truncated);
        }
        data.seek(SeekFrom::Start(r.start))
            .map_err(RenderError::io("image attributes"))?;
        let at = header.len();
        header.resize(at + (r.end - r.start) as usize, 0);
        data.read_exact(header.get_mut(at..).unwrap_or_default())
            .map_err(RenderError::io("image attributes"))?;
    }
    match dicom::walk(&header, 0, encoding, header.len() as u64) {
        Ok(w) if w.walk == Walk::End => Ok(header),
        Ok(_) => Err(RenderError::Corrupt(
            "the image attributes changed since the disc was read".into(),
        )),
        Err(e) => Err(RenderError::Corrupt(format!("image attributes: {e}"))),
    }
}
