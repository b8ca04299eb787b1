//! One frame of pixel data → samples: native (any endianness, 1/8/16/32 bits, planar 0/1,
//! YBR_FULL_422), RLE Lossless, JPEG (baseline, extended 8/12-bit, lossless), JPEG-LS and
//! JPEG 2000. Only the fragments of the requested frame are read from the file.

use super::RenderError;
use super::attrs::ImageAttrs;
use super::jpegls;
use super::source::{Encoding, Fragment, Located, PixelLoc};

/// No frame may have more pixels than this (5.8k × 5.8k; the largest mammograms have about
/// 28 M). Drawing keeps a few full-size copies of a frame (decoder output, stored values as f32,
/// RGB): pack peaks near 300 MB drawing one this size, whatever a header claims.
pub(crate) const MAX_PIXELS: u64 = 1 << 25;

/// How many pixels a decoder may produce for this image: its declared size with room for
/// padding (a code stream may be a little larger than Rows × Columns), never over MAX_PIXELS.
/// Checked against the code stream's own header before a decoder sizes anything from it.
fn budget(a: &ImageAttrs) -> u64 {
    (u64::from(a.rows) * u64::from(a.cols) * 2).min(MAX_PIXELS)
}

/// The most components a code stream may have to be drawn (we draw 1 or 3; 4 is refused with
/// a reason after decoding, e.g. CMYK).
const MAX_COMPONENTS: u64 = 4;

fn too_large(what: &str, w: u64, h: u64) -> RenderError {
    RenderError::TooLarge(format!("{what} of {w}x{h}"))
}

pub(crate) enum Samples {
    /// One stored value per pixel (bit-masked, sign-extended), before any LUT.
    Stored(Vec<f32>),
    /// Three samples per pixel, interleaved, `bits` significant bits each, in `rgb` or still
    /// in the photometric interpretation's colour space.
    Color {
        data: Vec<u16>,
        bits: u16,
        rgb: bool,
    },
}

pub(crate) struct Decoded {
    pub rows: u32,
    pub cols: u32,
    pub samples: Samples,
    /// Which decoder produced the samples, for the record.
    pub decoder: &'static str,
}

impl Decoded {
    /// Every pixel the same value (an empty segment, a blank frame).
    pub fn is_flat(&self) -> bool {
        match &self.samples {
            Samples::Stored(v) => v.windows(2).all(|w| w[0] == w[1]),
            Samples::Color { data, .. } => data
                .chunks_exact(3)
                .zip(data.chunks_exact(3).skip(1))
                .all(|(p, q)| p == q),
        }
    }
}

pub(crate) fn ts_name(uid: &str) -> String {
    crate::dicom::syntax::describe(uid)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Native,
    EncapsulatedNative,
    Rle,
    Jpeg,
    JpegLs,
    J2k,
}

/// How pixel data of the syntax `uid` is decoded, when it can be; an unknown UID, which the
/// byte layer reads as explicit VR little endian, cannot be drawn.
fn kind_of(uid: &str) -> Option<Kind> {
    use crate::dicom::Codec;
    if !crate::dicom::syntax::is_known(uid) {
        return None;
    }
    let ts = crate::dicom::TransferSyntax::of(uid);
    Some(match ts.codec {
        Codec::Native => Kind::Native,
        Codec::EncapsulatedNative => Kind::EncapsulatedNative,
        Codec::Rle => Kind::Rle,
        Codec::Jpeg => Kind::Jpeg,
        Codec::JpegLs => Kind::JpegLs,
        Codec::Jpeg2000 => Kind::J2k,
        Codec::Other => return None,
    })
}

/// Whether a transfer syntax can be drawn at all.
pub fn supports_transfer_syntax(uid: &str) -> bool {
    kind_of(uid.trim_end_matches('\0').trim()).is_some()
}

pub(crate) fn decode_frame(
    loc: &mut Located,
    a: &ImageAttrs,
    ts_uid: &str,
    frame: u32,
    max_side: u32,
) -> Result<Decoded, RenderError> {
    let kind =
        kind_of(ts_uid).ok_or_else(|| RenderError::UnsupportedTransferSyntax(ts_name(ts_uid)))?;
    let pixel = loc.pixel.take().ok_or(RenderError::MissingPixelData)?;
    if u64::from(a.rows) * u64::from(a.cols) > MAX_PIXELS {
        return Err(too_large("image", a.cols.into(), a.rows.into()));
    }
    match (kind, pixel) {
        (
            Kind::Native,
            PixelLoc::Native {
                offset,
                len,
                swap16,
            },
        ) => {
            let (start, bytes, bit_offset) = native_frame_span(a, frame, len)?;
            if swap16 && a.bits_allocated == 8 {
                // 8-bit samples in a big-endian OW value: bytes are swapped in each word
                let aligned = start & !1;
                let end = ((start + bytes).div_ceil(2) * 2).min(len);
                let mut data = loc.read_at(offset + aligned, end - aligned)?;
                for pair in data.chunks_exact_mut(2) {
                    pair.swap(0, 1);
                }
                let skip = (start - aligned) as usize;
                let data = data
                    .get(skip..skip + bytes as usize)
                    .ok_or(RenderError::Truncated)?;
                return native(a, data, bit_offset, false);
            }
            let data = loc.read_at(offset + start, bytes)?;
            native(a, &data, bit_offset, loc.encoding == Encoding::ExplicitBe)
        }
        (Kind::Native, PixelLoc::Encapsulated { .. }) => Err(RenderError::Corrupt(
            "encapsulated pixel data in a native transfer syntax".into(),
        )),
        (_, PixelLoc::Native { .. }) => Err(RenderError::Corrupt(format!(
            "native pixel data in compressed transfer syntax {}",
            ts_name(ts_uid)
        ))),
        (kind, PixelLoc::Encapsulated { bot, fragments }) => {
            let data = frame_bytes(loc, a, kind, &bot, &fragments, frame)?;
            match kind {
                Kind::EncapsulatedNative => {
                    let (_, bytes, _) = native_frame_span(a, 0, data.len() as u64)?;
                    native(a, data.get(..bytes as usize).unwrap_or(&data), 0, false)
                }
                Kind::Rle => rle(a, &data),
                Kind::Jpeg => jpeg(a, &data, max_side),
                Kind::JpegLs => jls(a, &data),
                Kind::J2k => j2k(a, &data, max_side),
                Kind::Native => unreachable_native(),
            }
        }
    }
}

fn unreachable_native() -> Result<Decoded, RenderError> {
    Err(RenderError::Corrupt(
        "native pixel data handled above".into(),
    ))
}

/// Byte range of one native frame: (start, length, bit offset within the first byte).
fn native_frame_span(
    a: &ImageAttrs,
    frame: u32,
    available: u64,
) -> Result<(u64, u64, u8), RenderError> {
    let px = u64::from(a.rows) * u64::from(a.cols);
    let frame = u64::from(frame);
    let (start, bytes, bit) = if a.bits_allocated == 1 {
        let bits = px * u64::from(a.spp);
        let first_bit = bits * frame;
        let last_bit = first_bit + bits;
        (
            first_bit / 8,
            last_bit.div_ceil(8) - first_bit / 8,
            (first_bit % 8) as u8,
        )
    } else {
        let per_pixel = if is_422(a) {
            // two luma and one pair of chroma samples for every two pixels
            2 * u64::from(a.bits_allocated / 8)
        } else {
            u64::from(a.spp) * u64::from(a.bits_allocated / 8)
        };
        let len = px * per_pixel;
        (len * frame, len, 0)
    };
    if start + bytes > available {
        return Err(if frame == 0 {
            RenderError::Truncated
        } else {
            RenderError::Corrupt(format!(
                "frame {} is past the end of the pixel data",
                frame + 1
            ))
        });
    }
    Ok((start, bytes, bit))
}

fn is_422(a: &ImageAttrs) -> bool {
    a.spp == 3 && matches!(a.photometric.as_str(), "YBR_FULL_422" | "YBR_PARTIAL_422")
}

/// Turn a raw pixel cell into the stored value (High Bit, Bits Stored, sign).
#[inline]
pub(crate) fn stored(raw: u32, bits_stored: u16, shift: u16, signed: bool) -> f32 {
    let bs = u32::from(bits_stored.clamp(1, 32));
    let v = raw >> u32::from(shift.min(31));
    let v = if bs >= 32 { v } else { v & ((1u32 << bs) - 1) };
    if signed && bs < 32 && v & (1u32 << (bs - 1)) != 0 {
        (i64::from(v) - (1i64 << bs)) as f32
    } else if signed && bs == 32 {
        v as i32 as f32
    } else {
        v as f32
    }
}

fn native(
    a: &ImageAttrs,
    data: &[u8],
    bit_offset: u8,
    big_endian: bool,
) -> Result<Decoded, RenderError> {
    let px = a.rows as usize * a.cols as usize;
    let spp = a.spp as usize;
    let n = px * spp;
    let shift = a.high_bit + 1 - a.bits_stored;
    // Cells are read straight from the bytes: a copy of the frame as u32 would be the largest
    // buffer of all (16-bit RGB at the pixel budget peaked at 800 MB with one).
    let cells = match a.bits_allocated {
        1 => n,
        8 => data.len(),
        16 => data.len() / 2,
        _ => data.len() / 4,
    };
    let cell = |i: usize| -> u32 {
        let word = |w: &[u8]| match (w, big_endian) {
            (&[a, b], false) => u32::from(u16::from_le_bytes([a, b])),
            (&[a, b], true) => u32::from(u16::from_be_bytes([a, b])),
            (&[a, b, c, d], false) => u32::from_le_bytes([a, b, c, d]),
            (&[a, b, c, d], true) => u32::from_be_bytes([a, b, c, d]),
            _ => 0,
        };
        match a.bits_allocated {
            1 => {
                let bit = i + bit_offset as usize;
                data.get(bit / 8)
                    .map_or(0, |b| u32::from((b >> (bit % 8)) & 1))
            }
            8 => data.get(i).map_or(0, |&b| u32::from(b)),
            16 => data.get(2 * i..2 * i + 2).map_or(0, word),
            _ => data.get(4 * i..4 * i + 4).map_or(0, word),
        }
    };
    if spp == 1 {
        if cells < px {
            return Err(RenderError::Truncated);
        }
        let vals = (0..px)
            .map(|i| stored(cell(i), a.bits_stored, shift, a.signed))
            .collect();
        return Ok(Decoded {
            rows: a.rows,
            cols: a.cols,
            samples: Samples::Stored(vals),
            decoder: "native",
        });
    }
    let bits = a.bits_stored.min(16);
    let narrow = |r: u32| -> u16 {
        let v = (r >> shift.min(31))
            & if a.bits_stored >= 32 {
                u32::MAX
            } else {
                (1u32 << a.bits_stored) - 1
            };
        if a.bits_stored > 16 {
            (v >> (a.bits_stored - 16)) as u16
        } else {
            v as u16
        }
    };
    let mut out = vec![0u16; n];
    if is_422(a) {
        // Y0 Y1 Cb Cr for each pair of pixels along a row
        let cols = a.cols as usize;
        let pairs_per_row = cols.div_ceil(2);
        for y in 0..a.rows as usize {
            for p in 0..pairs_per_row {
                let base = (y * pairs_per_row + p) * 4;
                if base + 3 >= cells {
                    return Err(RenderError::Truncated);
                }
                let (y0, y1, cb, cr) = (cell(base), cell(base + 1), cell(base + 2), cell(base + 3));
                for (k, yy) in [y0, y1].into_iter().enumerate() {
                    let x = 2 * p + k;
                    if x < cols {
                        let o = (y * cols + x) * 3;
                        out[o] = narrow(yy);
                        out[o + 1] = narrow(cb);
                        out[o + 2] = narrow(cr);
                    }
                }
            }
        }
    } else if a.planar == 1 {
        if cells < n {
            return Err(RenderError::Truncated);
        }
        for s in 0..spp {
            for i in 0..px {
                out[i * spp + s] = narrow(cell(s * px + i));
            }
        }
    } else {
        if cells < n {
            return Err(RenderError::Truncated);
        }
        for (i, o) in out.iter_mut().enumerate() {
            *o = narrow(cell(i));
        }
    }
    Ok(Decoded {
        rows: a.rows,
        cols: a.cols,
        samples: Samples::Color {
            data: out,
            bits,
            rgb: false,
        },
        decoder: "native",
    })
}

/// The bytes of one frame of encapsulated pixel data, reading only its fragments.
fn frame_bytes(
    loc: &mut Located,
    a: &ImageAttrs,
    kind: Kind,
    bot: &[u32],
    fragments: &[Fragment],
    frame: u32,
) -> Result<Vec<u8>, RenderError> {
    if fragments.is_empty() {
        return Err(RenderError::MissingPixelData);
    }
    let f = frame as usize;
    let frames = a.frames as usize;
    let chosen: Vec<Fragment> = if frames <= 1 {
        fragments.to_vec()
    } else if bot.len() == frames {
        let start = u64::from(bot[f.min(bot.len() - 1)]);
        let end = bot.get(f + 1).map(|&e| u64::from(e)).unwrap_or(u64::MAX);
        fragments
            .iter()
            .filter(|fr| fr.item_offset >= start && fr.item_offset < end)
            .copied()
            .collect()
    } else if fragments.len() == frames {
        vec![fragments[f.min(fragments.len() - 1)]]
    } else if kind == Kind::Rle {
        return Err(RenderError::Corrupt(
            "RLE frames do not match the fragments".into(),
        ));
    } else {
        // No usable offset table: a frame starts at a fragment that starts a code stream.
        let mut starts = Vec::new();
        for (i, fr) in fragments.iter().enumerate() {
            let head = loc.read_at(fr.offset, u64::from(fr.len.min(12)))?;
            let is_start = head.starts_with(&[0xFF, 0xD8])
                || head.starts_with(&[0xFF, 0x4F, 0xFF, 0x51])
                || head.starts_with(&[0, 0, 0, 0x0C, b'j', b'P']);
            if is_start {
                starts.push(i);
            }
        }
        let first = *starts.get(f).ok_or_else(|| {
            RenderError::Corrupt(format!("frame {} not found among the fragments", f + 1))
        })?;
        let last = starts.get(f + 1).copied().unwrap_or(fragments.len());
        fragments[first..last].to_vec()
    };
    if chosen.is_empty() {
        return Err(RenderError::Corrupt(format!(
            "frame {} has no fragments",
            f + 1
        )));
    }
    let total: u64 = chosen.iter().map(|fr| u64::from(fr.len)).sum();
    if total > loc.data_len() {
        return Err(RenderError::Truncated);
    }
    // A compressed frame is not much larger than its pixels (noise in a quality-100 JPEG comes
    // near twice): more is the other frames of a file without Number of Frames, or a gigabyte
    // of real bytes claiming to be one frame. Decoders stop at the end of their frame.
    let raw = u64::from(a.rows) * u64::from(a.cols) * u64::from(a.spp);
    let total = total.min(raw * u64::from(a.bits_allocated.div_ceil(8)) * 4 + (1 << 20));
    let mut out = Vec::with_capacity(total as usize);
    for fr in chosen {
        let want = u64::from(fr.len).min(total - out.len() as u64);
        if want == 0 {
            break;
        }
        out.extend_from_slice(&loc.read_at(fr.offset, want)?);
    }
    Ok(out)
}

/// RLE Lossless (PS3.5 Annex G): one segment per byte of each sample, most significant first.
fn rle(a: &ImageAttrs, data: &[u8]) -> Result<Decoded, RenderError> {
    let px = a.rows as usize * a.cols as usize;
    let bytes_per = (a.bits_allocated as usize).div_ceil(8);
    let spp = a.spp as usize;
    let head = |i: usize| -> Option<u32> {
        data.get(i * 4..i * 4 + 4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
    };
    let nseg = head(0).ok_or(RenderError::Truncated)? as usize;
    if nseg != bytes_per * spp || nseg > 15 || a.bits_allocated == 1 {
        return Err(RenderError::Corrupt(format!(
            "RLE has {nseg} segments, expected {}",
            bytes_per * spp
        )));
    }
    let mut raw = vec![0u32; px * spp];
    for s in 0..nseg {
        let start = head(1 + s).ok_or(RenderError::Truncated)? as usize;
        let end = if s + 1 < nseg {
            head(2 + s).ok_or(RenderError::Truncated)? as usize
        } else {
            data.len()
        };
        let seg = data
            .get(start..end.min(data.len()).max(start))
            .ok_or(RenderError::Truncated)?;
        let plane = unpack_bits(seg, px);
        let sample = s / bytes_per;
        let shift = 8 * (bytes_per - 1 - s % bytes_per);
        for (i, &b) in plane.iter().enumerate() {
            raw[i * spp + sample] |= u32::from(b) << shift;
        }
    }
    let shift = a.high_bit + 1 - a.bits_stored;
    if spp == 1 {
        let vals = raw
            .iter()
            .map(|&r| stored(r, a.bits_stored, shift, a.signed))
            .collect();
        return Ok(Decoded {
            rows: a.rows,
            cols: a.cols,
            samples: Samples::Stored(vals),
            decoder: "rle",
        });
    }
    let bits = a.bits_stored.min(16);
    let down = a.bits_stored.saturating_sub(16);
    let data = raw.iter().map(|&r| ((r >> shift) >> down) as u16).collect();
    Ok(Decoded {
        rows: a.rows,
        cols: a.cols,
        samples: Samples::Color {
            data,
            bits,
            rgb: false,
        },
        decoder: "rle",
    })
}

/// PackBits, stopping at `want` bytes; a short segment is padded with zeros.
fn unpack_bits(seg: &[u8], want: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(want);
    let mut i = 0;
    while i < seg.len() && out.len() < want {
        let n = seg[i] as i8;
        i += 1;
        if n >= 0 {
            let len = n as usize + 1;
            let end = (i + len).min(seg.len());
            out.extend_from_slice(&seg[i..end]);
            i = end;
        } else if n != -128 {
            let len = (1 - n as isize) as usize;
            if let Some(&b) = seg.get(i) {
                out.extend(std::iter::repeat_n(b, len));
            }
            i += 1;
        }
    }
    out.resize(want, 0);
    out
}

/// What a JPEG stream's frame header (SOFn) says.
#[derive(Debug, PartialEq, Eq)]
struct JpegFrame {
    marker: u8,
    precision: u8,
    height: u16,
    width: u16,
    components: u8,
}

/// The first frame header of a JPEG stream.
fn jpeg_sof(data: &[u8]) -> Option<JpegFrame> {
    let mut i = 2usize;
    if !data.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    while i + 4 <= data.len() {
        if data[i] != 0xFF {
            return None;
        }
        let m = data[i + 1];
        if m == 0xFF {
            i += 1;
            continue;
        }
        let len = u16::from_be_bytes([data[i + 2], data[i + 3]]) as usize;
        if (0xC0..=0xCF).contains(&m) && !matches!(m, 0xC4 | 0xC8 | 0xCC) {
            let f = data.get(i + 4..i + 10)?;
            return Some(JpegFrame {
                marker: m,
                precision: f[0],
                height: u16::from_be_bytes([f[1], f[2]]),
                width: u16::from_be_bytes([f[3], f[4]]),
                components: f[5],
            });
        }
        if m == 0xDA {
            return None;
        }
        i += 2 + len;
    }
    None
}

/// More scans than any encoder writes (progressive scripts have 6–10): both JPEG decoders walk
/// every block of the frame in each scan, so 30-byte scans that end at once made a 150 KB file
/// take 20 s (jpeg-decoder 0.3.2 has no limit; libjpeg-turbo-rs allows 8192).
const MAX_JPEG_SCANS: usize = 256;

/// How many scans (SOS markers) a JPEG stream has: its segments skipped by their lengths, its
/// entropy-coded data searched for the next marker.
fn jpeg_scans(data: &[u8]) -> usize {
    let mut scans = 0;
    let mut i = 2;
    while let Some(&[b, m]) = data.get(i..i + 2) {
        if b != 0xFF {
            i += 1;
            continue;
        }
        match m {
            0xFF => i += 1,                      // fill byte
            0x00 | 0x01 | 0xD0..=0xD7 => i += 2, // stuffed zero, TEM, RSTn: no length
            0xD9 => break,                       // end of image
            _ => {
                let Some(&[hi, lo]) = data.get(i + 2..i + 4) else {
                    break;
                };
                if m == 0xDA {
                    scans += 1;
                }
                i += 2 + usize::from(u16::from_be_bytes([hi, lo]));
            }
        }
    }
    scans
}

fn jpeg(a: &ImageAttrs, data: &[u8], max_side: u32) -> Result<Decoded, RenderError> {
    let frame = jpeg_sof(data)
        .ok_or_else(|| RenderError::Corrupt("JPEG stream without a frame header".into()))?;
    // The decoders size their planes from the frame header before the data shows whether it
    // is there: a few bytes may claim 65535 × 65535.
    let (fw, fh) = (u64::from(frame.width), u64::from(frame.height));
    if fw * fh > budget(a) || u64::from(frame.components) > MAX_COMPONENTS {
        return Err(too_large("JPEG frame", fw, fh));
    }
    let scans = jpeg_scans(data);
    if scans > MAX_JPEG_SCANS {
        return Err(RenderError::Unsupported(format!("JPEG with {scans} scans")));
    }
    let (precision, sof) = (frame.precision, frame.marker);
    let ybr = a.photometric.starts_with("YBR");
    if precision > 8 && sof != 0xC3 && sof != 0xC7 {
        // 12-bit DCT (JPEG Extended, process 4): jpeg-decoder refuses it.
        // max_memory counts its planes and result, two bytes a sample each
        let limits = libjpeg_turbo_rs::DecodeLimits {
            max_pixels: budget(a),
            max_memory: Some(budget(a) * MAX_COMPONENTS * 6 + (1 << 20)),
            ..Default::default()
        };
        let img = libjpeg_turbo_rs::precision::decompress_12bit_with_limits(data, &limits)
            .map_err(|e| RenderError::Corrupt(format!("12-bit JPEG: {e}")))?;
        let (w, h) = (img.width as u32, img.height as u32);
        if u64::from(w) * u64::from(h) > budget(a) {
            return Err(too_large("JPEG frame", w.into(), h.into()));
        }
        let samples = if img.num_components == 1 {
            Samples::Stored(
                img.data
                    .iter()
                    .map(|&v| stored(v.max(0) as u32, a.bits_stored.min(12), 0, a.signed))
                    .collect(),
            )
        } else if img.num_components == 3 {
            Samples::Color {
                data: img.data.iter().map(|&v| v.clamp(0, 4095) as u16).collect(),
                bits: 12,
                rgb: true,
            }
        } else {
            return Err(RenderError::Unsupported(format!(
                "12-bit JPEG with {} components",
                img.num_components
            )));
        };
        return Ok(Decoded {
            rows: h,
            cols: w,
            samples,
            decoder: "libjpeg-turbo-rs (12-bit)",
        });
    }
    // jpeg-decoder 0.3.2 computes `(mcu_y + 1) * 8` in u16 (decoder.rs:1025): past row 65528
    // that overflows, a panic where overflow is checked (it wraps harmlessly in release).
    if frame.height > 65528 {
        return Err(RenderError::Unsupported(format!(
            "JPEG frame {fh} rows high (at most 65528)"
        )));
    }
    let mut dec = jpeg_decoder::Decoder::new(data);
    // 16-bit samples (lossless) are two bytes
    dec.set_max_decoding_buffer_size(
        usize::try_from(budget(a) * MAX_COMPONENTS * 2).unwrap_or(usize::MAX),
    );
    if a.spp == 3 {
        // PS3.5 8.2.1: the photometric interpretation says whether the stream is YCbCr
        dec.set_color_transform(if ybr {
            jpeg_decoder::ColorTransform::YCbCr
        } else {
            jpeg_decoder::ColorTransform::RGB
        });
    }
    // DCT scaling: a DCT-based stream decodes at 1/2, 1/4 or 1/8 size for a fraction of the
    // work, still at least as large as the thumbnail. (Lossless streams have no DCT.)
    let (rows, cols) = (a.rows, a.cols);
    if matches!(sof, 0xC0..=0xC2) && max_side > 0 && rows.max(cols) >= 2 * max_side {
        let (w, h) = if cols >= rows {
            (max_side, (rows * max_side).div_ceil(cols.max(1)))
        } else {
            ((cols * max_side).div_ceil(rows.max(1)), max_side)
        };
        dec.scale(w.min(65535) as u16, h.min(65535) as u16)
            .map_err(|e| RenderError::Corrupt(format!("JPEG: {e}")))?;
    }
    let pixels = dec
        .decode()
        .map_err(|e| RenderError::Corrupt(format!("JPEG: {e}")))?;
    let info = dec
        .info()
        .ok_or_else(|| RenderError::Corrupt("JPEG without a frame header".into()))?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let n = w as usize * h as usize;
    let samples = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => Samples::Stored(
            pixels
                .iter()
                .take(n)
                .map(|&v| stored(u32::from(v), a.bits_stored.min(8), 0, a.signed))
                .collect(),
        ),
        jpeg_decoder::PixelFormat::L16 => Samples::Stored(
            pixels
                .chunks_exact(2)
                .take(n)
                .map(|c| {
                    stored(
                        // jpeg-decoder writes 16-bit samples in native byte order (not big
                        // endian as its PixelFormat docs say)
                        u32::from(u16::from_ne_bytes([c[0], c[1]])),
                        a.bits_stored,
                        0,
                        a.signed,
                    )
                })
                .collect(),
        ),
        jpeg_decoder::PixelFormat::RGB24 => Samples::Color {
            data: pixels.iter().take(n * 3).map(|&v| u16::from(v)).collect(),
            bits: 8,
            rgb: true,
        },
        jpeg_decoder::PixelFormat::CMYK32 => {
            return Err(RenderError::Unsupported("CMYK JPEG".into()));
        }
    };
    let len = match &samples {
        Samples::Stored(v) => v.len(),
        Samples::Color { data, .. } => data.len() / 3,
    };
    if len < n {
        return Err(RenderError::Corrupt(
            "JPEG decoded fewer pixels than its header says".into(),
        ));
    }
    let decoder = if sof == 0xC3 {
        "jpeg-decoder (lossless)"
    } else {
        "jpeg-decoder"
    };
    Ok(Decoded {
        rows: h,
        cols: w,
        samples,
        decoder,
    })
}

/// How many bits of a JPEG-LS grey sample count: Bits Stored, unless the code stream is wider
/// and the image unsigned. Encoders write a 16-bit stream for "14 bits in 16" PET and the like
/// with values over 2^14; masking them to Bits Stored wraps the brightest parts to black (a
/// thresholded blob), while pydicom shows them as they are. (DCMTK masks; pydicom masks JPEG
/// Lossless too, so that codec keeps Bits Stored. Signed values are sign-extended from Bits
/// Stored either way: a 16-bit stream of sign-extended 14-bit values reads the same.)
fn coded_bits(a: &ImageAttrs, precision: u8) -> u16 {
    if a.signed {
        a.bits_stored
    } else {
        a.bits_stored
            .max(u16::from(precision))
            .min(a.bits_allocated.max(a.bits_stored))
    }
}

fn jls(a: &ImageAttrs, data: &[u8]) -> Result<Decoded, RenderError> {
    let img = jpegls::decode(data, budget(a))?;
    let bits = coded_bits(a, img.precision);
    let samples = match img.components {
        1 => Samples::Stored(
            img.samples
                .iter()
                .map(|&v| stored(u32::from(v), bits, 0, a.signed))
                .collect(),
        ),
        3 => Samples::Color {
            data: img.samples,
            bits: u16::from(img.precision),
            rgb: a.photometric == "RGB",
        },
        n => {
            return Err(RenderError::Unsupported(format!(
                "JPEG-LS with {n} components"
            )));
        }
    };
    Ok(Decoded {
        rows: img.height,
        cols: img.width,
        samples,
        decoder: "jpeg-ls (built in)",
    })
}

fn j2k(a: &ImageAttrs, data: &[u8], max_side: u32) -> Result<Decoded, RenderError> {
    // openjpeg allocates what the code stream's SIZ marker says: check that first.
    let siz = j2k_siz(data).ok_or_else(|| {
        RenderError::Corrupt("JPEG 2000 data without a code stream header".into())
    })?;
    let (sw, sh) = (u64::from(siz.width), u64::from(siz.height));
    if sw * sh > budget(a) || u64::from(siz.components) > MAX_COMPONENTS {
        return Err(RenderError::Corrupt(format!(
            "JPEG 2000 code stream says {sw}x{sh}x{}, larger than the image",
            siz.components
        )));
    }
    // openjp2 0.6.1 sets up every tile (about 10 KB each) as soon as it reads SIZ, up to 65535
    // of them: 1×1 tiles make a 255×255 image cost 630 MB. No encoder tiles below 64×64.
    let tiles = siz
        .tiles
        .ok_or_else(|| RenderError::Corrupt("JPEG 2000 tile size 0".into()))?;
    if tiles > sw.div_ceil(64).max(1) * sh.div_ceil(64).max(1) {
        return Err(RenderError::Unsupported(format!(
            "JPEG 2000 code stream with tiles smaller than 64x64 ({tiles} tiles for {sw}x{sh})"
        )));
    }
    // openjp2 0.6.1 sets up every code block of every resolution however far it reduces: a
    // 200-byte 5792x5792 code stream costs 860 MB with 4x4 blocks, 220 MB with 8x8, 60 MB with
    // 16x16 (and 4096x4096 with 4x4 blocks 19 s). Encoders use 32x32 or 64x64.
    if let Some(log2) = j2k_codestream(data).and_then(|cs| j2k_min_code_block(cs, siz.components))
        && log2 < 8
    {
        return Err(RenderError::Unsupported(format!(
            "JPEG 2000 code blocks of {} pixels (at least 256)",
            1u32 << log2
        )));
    }
    // Decode at a reduced resolution when the thumbnail is much smaller than the image.
    let mut reduce = 0u32;
    while reduce < 5 && (a.rows.max(a.cols) >> (reduce + 1)) >= max_side.max(1) {
        reduce += 1;
    }
    let decode =
        |r: u32| jpeg2k::Image::from_bytes_with(data, jpeg2k::DecodeParameters::new().reduce(r));
    let full = || decode(0).map_err(|e| RenderError::Corrupt(format!("JPEG 2000: {e}")));
    let img = match decode(reduce) {
        // An unsigned stream in a signed image (or the reverse) is read by reinterpreting
        // each value's bits; the low band averages values before that, which smears wrapped
        // ones into nonsense. Such a stream needs its full resolution.
        Ok(img)
            if reduce > 0
                && img
                    .components()
                    .first()
                    .is_some_and(|c| c.is_signed() != a.signed) =>
        {
            full()?
        }
        Ok(img) => img,
        Err(_) if reduce > 0 => full()?,
        Err(e) => return Err(RenderError::Corrupt(format!("JPEG 2000: {e}"))),
    };
    let comps = img.components();
    let first = comps
        .first()
        .ok_or_else(|| RenderError::Corrupt("JPEG 2000 without components".into()))?;
    let (w, h) = (first.width(), first.height());
    let n = w as usize * h as usize;
    if u64::from(w) * u64::from(h) > budget(a) || n == 0 {
        return Err(too_large("JPEG 2000 frame", w.into(), h.into()));
    }
    let to_stored = |c: &jpeg2k::ImageComponent| -> Vec<f32> {
        let signed_stream = c.is_signed();
        c.data()
            .iter()
            .take(n)
            .map(|&v| {
                if signed_stream {
                    v as f32
                } else if a.signed && v >= 0 && (v as u64) < (1u64 << a.bits_stored) {
                    // unsigned stream in a signed image (J2K_pixelrep_mismatch): Bits Stored rules
                    stored(v as u32, a.bits_stored, 0, true)
                } else {
                    v as f32
                }
            })
            .collect()
    };
    let samples = if comps.len() == 1 || a.spp == 1 {
        Samples::Stored(to_stored(first))
    } else if comps.len() >= 3 {
        if comps[..3].iter().any(|c| c.width() != w || c.height() != h) {
            return Err(RenderError::Unsupported(
                "JPEG 2000 with subsampled components".into(),
            ));
        }
        let prec = comps[..3]
            .iter()
            .map(|c| c.precision())
            .max()
            .unwrap_or(8)
            .clamp(1, 16) as u16;
        let mut data = vec![0u16; n * 3];
        for (ci, c) in comps[..3].iter().enumerate() {
            for (i, &v) in c.data().iter().take(n).enumerate() {
                data[i * 3 + ci] = v.clamp(0, i32::from(u16::MAX)) as u16;
            }
        }
        // openjpeg undoes the multi-component transform itself (YBR_RCT / YBR_ICT)
        let rgb = !matches!(a.photometric.as_str(), "YBR_FULL" | "YBR_FULL_422");
        Samples::Color {
            data,
            bits: prec,
            rgb,
        }
    } else {
        return Err(RenderError::Unsupported(format!(
            "JPEG 2000 with {} components",
            comps.len()
        )));
    };
    if let Samples::Stored(v) = &samples
        && v.len() < n
    {
        return Err(RenderError::Corrupt(
            "JPEG 2000 component shorter than the image".into(),
        ));
    }
    Ok(Decoded {
        rows: h,
        cols: w,
        samples,
        decoder: "openjp2",
    })
}

/// What a JPEG 2000 code stream's SIZ marker says.
/// The smallest code block any coding style marker (COD, COC) of the main header or of a
/// tile-part header asks for, as log2 of its area: the marker segments walked, tile-parts
/// skipped by their Psot lengths. `None`: the walk went wrong (openjpeg will say why).
fn j2k_min_code_block(cs: &[u8], components: u16) -> Option<u8> {
    let mut smallest = u8::MAX;
    // the exponents are stored minus 2 each
    let block = |x: u8, y: u8| x.saturating_add(y).saturating_add(4);
    let mut i = 2; // after SOC
    let mut tile_part_end = None;
    while let Some(&[ff, m]) = cs.get(i..i + 2) {
        if ff != 0xFF {
            return None;
        }
        match m {
            0xD9 => break, // end of code stream
            0x93 => {
                // start of data: on to the next tile-part (Psot 0: the last, to the end)
                match tile_part_end.take() {
                    Some(end) if end > i => i = end,
                    _ => break,
                }
                continue;
            }
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes(cs.get(i + 2..i + 4)?.try_into().ok()?));
        let seg = cs.get(i + 4..i + 2 + len)?;
        match m {
            0x90 => {
                let psot = u32::from_be_bytes(seg.get(4..8)?.try_into().ok()?);
                tile_part_end = (psot > 0).then(|| i + psot as usize);
            }
            0x52 => smallest = smallest.min(block(*seg.get(6)?, *seg.get(7)?)),
            0x53 => {
                let at = if components < 257 { 1 } else { 2 };
                smallest = smallest.min(block(*seg.get(at + 2)?, *seg.get(at + 3)?));
            }
            _ => {}
        }
        i += 2 + len;
    }
    Some(smallest)
}

#[derive(Debug, PartialEq, Eq)]
struct J2kSize {
    width: u32,
    height: u32,
    components: u16,
    /// How many tiles, counted as openjpeg counts them (`None`: a zero tile size).
    tiles: Option<u64>,
}

const J2K_CODESTREAM: [u8; 4] = [0xFF, 0x4F, 0xFF, 0x51];
const JP2_SIGNATURE: [u8; 12] = [
    0, 0, 0, 0x0C, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A,
];

/// The code stream openjpeg will decode: a bare code stream, or the first Contiguous Codestream
/// box of a JP2 file (found the way openjpeg finds it, box by box), so that no other bytes can
/// stand in for its headers.
fn j2k_codestream(data: &[u8]) -> Option<&[u8]> {
    let cs = if data.starts_with(&J2K_CODESTREAM) {
        data
    } else if data.starts_with(&JP2_SIGNATURE) {
        let mut at = 0usize;
        loop {
            let head = data.get(at..at + 8)?;
            let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            let (start, end) = match len {
                0 => (at + 8, data.len()),
                1 => {
                    let x = data.get(at + 8..at + 16)?;
                    let xl = u64::from_be_bytes([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]]);
                    (at + 16, at.checked_add(usize::try_from(xl).ok()?)?)
                }
                2..=7 => return None,
                n => (at + 8, at.checked_add(n as usize)?),
            };
            if &head[4..8] == b"jp2c" {
                break data.get(start..end.min(data.len()))?;
            }
            if end <= at || end >= data.len() {
                return None;
            }
            at = end;
        }
    } else {
        return None;
    };
    cs.starts_with(&J2K_CODESTREAM).then_some(cs)
}

/// The SIZ marker of the code stream openjpeg will decode.
fn j2k_siz(data: &[u8]) -> Option<J2kSize> {
    let siz = j2k_codestream(data)?.get(4..42)?;
    let be32 = |i: usize| u32::from_be_bytes([siz[i], siz[i + 1], siz[i + 2], siz[i + 3]]);
    let (x, y, xo, yo) = (be32(4), be32(8), be32(12), be32(16));
    let (tw, th, txo, tyo) = (be32(20), be32(24), be32(28), be32(32));
    let across = |end: u32, origin: u32, size: u32| {
        (size > 0).then(|| u64::from(end.saturating_sub(origin)).div_ceil(u64::from(size)))
    };
    Some(J2kSize {
        width: x.saturating_sub(xo),
        height: y.saturating_sub(yo),
        components: u16::from_be_bytes([siz[36], siz[37]]),
        tiles: across(x, txo, tw)
            .zip(across(y, tyo, th))
            .map(|(a, b)| a * b),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_mask_and_sign_extend() {
        // 12 bits stored in 16, high bit 11, signed: 0x0FFF is -1, 0x0800 is -2048
        assert_eq!(stored(0x0FFF, 12, 0, true), -1.0);
        assert_eq!(stored(0x0800, 12, 0, true), -2048.0);
        assert_eq!(stored(0x07FF, 12, 0, true), 2047.0);
        // garbage above the high bit (overlay bits) is masked off
        assert_eq!(stored(0xF123, 12, 0, false), 0x123 as f32);
        // high bit 15 with 12 bits stored: the value sits in the top bits
        assert_eq!(stored(0xABC0, 12, 4, false), 0xABC as f32);
        assert_eq!(stored(0xFFFF_FFFF, 32, 0, true), -1.0);
        assert_eq!(stored(0xFFFF_FFFF, 32, 0, false), 4_294_967_295.0);
    }

    #[test]
    fn packbits() {
        // literal run of 3, replicate 'x' 4 times, no-op, literal 1
        let seg = [2u8, b'a', b'b', b'c', (-3i8) as u8, b'x', 0x80, 0, b'z'];
        assert_eq!(unpack_bits(&seg, 8), b"abcxxxxz".to_vec());
        // truncated and over-long input never panics and yields exactly `want` bytes
        assert_eq!(unpack_bits(&[127], 5), vec![0; 5]);
        assert_eq!(unpack_bits(&[(-127i8) as u8, 7], 3), vec![7, 7, 7]);
    }

    /// SOC + SIZ of a one-component code stream.
    fn code_stream(w: u32, h: u32, tile: u32) -> Vec<u8> {
        let mut s = vec![0xFF, 0x4F, 0xFF, 0x51, 0, 41, 0, 0];
        for v in [w, h, 0, 0, tile, tile, 0, 0] {
            s.extend_from_slice(&v.to_be_bytes());
        }
        s.extend_from_slice(&[0, 1, 7, 1, 1]);
        s
    }

    fn jp2_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn j2k_siz_is_read_where_openjpeg_reads_it() {
        let siz = |w, h, c, t| J2kSize {
            width: w,
            height: h,
            components: c,
            tiles: t,
        };
        assert_eq!(
            j2k_siz(&code_stream(512, 300, 256)),
            Some(siz(512, 300, 1, Some(4)))
        );
        assert_eq!(
            j2k_siz(&code_stream(255, 255, 1)),
            Some(siz(255, 255, 1, Some(65025)))
        );
        assert_eq!(j2k_siz(&code_stream(8, 8, 0)), Some(siz(8, 8, 1, None)));
        // JP2: the first Contiguous Codestream box, however far in; a SIZ-looking run of
        // bytes in an earlier box does not count
        let mut jp2 = JP2_SIGNATURE.to_vec();
        jp2.extend(jp2_box(b"ftyp", b"jp2 \0\0\0\0jp2 "));
        let mut decoy = vec![b' '; 8000];
        decoy.extend(code_stream(16, 16, 16));
        jp2.extend(jp2_box(b"xml ", &decoy));
        jp2.extend(jp2_box(b"jp2c", &code_stream(60000, 60000, 60000)));
        assert_eq!(j2k_siz(&jp2), Some(siz(60000, 60000, 1, Some(1))));
        // anything else is not a code stream openjpeg would decode
        let mut junk = vec![0u8; 16];
        junk.extend(code_stream(16, 16, 16));
        assert_eq!(j2k_siz(&junk), None);
        assert_eq!(j2k_siz(&jp2[..40]), None);
    }

    #[test]
    fn j2k_code_blocks_are_read_from_main_and_tile_part_headers() {
        let seg = |m: u8, payload: &[u8]| {
            let mut v = vec![0xFF, m];
            v.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
            v.extend_from_slice(payload);
            v
        };
        // COD: 3 layers, 64x64 blocks (exponents 4 + 4 stored)
        let cod = seg(0x52, &[0, 0, 0, 3, 0, 5, 4, 4, 0, 0]);
        let mut cs = code_stream(64, 64, 64);
        cs.extend(&cod);
        let mut tile_part = seg(0x90, &[0, 0, 0, 0, 0, 0, 0, 1]);
        // a tile-part COC for component 0 asking for 4x8 blocks, then data holding 0xFF52
        tile_part.extend(seg(0x53, &[0, 0, 5, 0, 1, 0, 0]));
        tile_part.extend([0xFF, 0x93, 0xFF, 0x52, 0, 0]);
        let psot = tile_part.len() as u32;
        tile_part[6..10].copy_from_slice(&psot.to_be_bytes());
        cs.extend(&tile_part);
        cs.extend([0xFF, 0xD9]);
        assert_eq!(j2k_min_code_block(&cs, 1), Some(5));
        let mut main_only = code_stream(64, 64, 64);
        main_only.extend(&cod);
        main_only.extend([0xFF, 0xD9]);
        assert_eq!(j2k_min_code_block(&main_only, 1), Some(12));
    }

    #[test]
    fn jpeg_scans_are_counted_past_entropy_data() {
        let sos = [0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0];
        // entropy data with a stuffed zero, a restart marker and fill bytes
        let data = [0x12, 0xFF, 0x00, 0xDA, 0xFF, 0xD0, 0x34, 0xFF, 0xFF];
        let mut s = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 6, 0xFF, 0xDA, 0, 0]; // APP0 holding FFDA
        for _ in 0..300 {
            s.extend_from_slice(&sos);
            s.extend_from_slice(&data);
        }
        assert_eq!(jpeg_scans(&s), 300);
        s.extend_from_slice(&[0xFF, 0xD9]);
        s.extend_from_slice(&sos);
        assert_eq!(jpeg_scans(&s), 300);
        assert_eq!(jpeg_scans(&s[..14]), 1);
    }

    #[test]
    fn jpeg_sof_precision() {
        let mut s = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC1, 0, 11, 12];
        s.extend_from_slice(&[0; 10]);
        assert_eq!(
            jpeg_sof(&s),
            Some(JpegFrame {
                marker: 0xC1,
                precision: 12,
                height: 0,
                width: 0,
                components: 0
            })
        );
        assert_eq!(jpeg_sof(&[0xFF, 0xD8, 0xFF]), None);
        let s = [
            0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0xFF, 0xFF, 0xFF, 0xFF, 3, 1, 0x11, 0,
        ];
        assert_eq!(
            jpeg_sof(&s),
            Some(JpegFrame {
                marker: 0xC0,
                precision: 8,
                height: 65535,
                width: 65535,
                components: 3
            })
        );
        assert_eq!(jpeg_sof(b"not a jpeg"), None);
    }
}
