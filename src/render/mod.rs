//! Render stage: decode one representative frame of an instance and turn it into a thumbnail
//! the way a radiologist's viewer would display it (Modality LUT, VOI window, MONOCHROME1,
//! colour models, palette). An image that cannot be drawn becomes a labelled placeholder; the
//! package never fails because of a thumbnail.
//!
//! Reading is bounded: the data set is walked element by element up to Pixel Data without
//! reading values, and only the bytes (or fragments) of the one frame drawn are read. (A
//! Deflated data set is inflated as it is walked, never held in memory, up to 1 GiB.)
//!
//! Drawn: native (implicit/explicit LE, explicit BE, deflated, encapsulated uncompressed), RLE
//! Lossless, JPEG Baseline, Extended (8 and 12-bit), Lossless (process 14, SV1), JPEG-LS lossless
//! and near-lossless, JPEG 2000 (lossless, lossy, Part 2 and HTJ2K as far as openjp2 reads
//! them); MONOCHROME1/2, RGB, YBR_FULL, YBR_FULL_422, YBR_PARTIAL_422/420, YBR_RCT/ICT,
//! PALETTE COLOR (8/16-bit, segmented); Bits Allocated 1, 8, 16, 32, signed or not.
//!
//! Not drawn (a [`RenderError`] says so): MPEG-2/4, HEVC and JPEG XL transfer syntaxes, float
//! pixel data, JPEG-LS mapping tables, restart intervals and point transforms, CMYK JPEG,
//! JPEG 2000 with subsampled components. Overlays are not drawn; Presentation LUT Shape
//! INVERSE inverts the grey output.

// The decoders index pixel buffers in tight loops, with the bounds established when the buffers
// are sized; turning every access into a checked one would cost speed for no gain in safety,
// because each render call is isolated (`series::draw` catches a panic and draws a tile instead).
#![allow(clippy::indexing_slicing)]

mod attrs;
mod codec;
mod font;
mod jpegls;
mod lut;
pub mod series;
mod source;

use std::borrow::Cow;
use std::path::Path;

use image::RgbImage;

pub use codec::supports_transfer_syntax;
pub use lut::VoiFunction;

/// A file to draw, and what the scan found in it (where its data set, image attributes and
/// pixel data lie): render reads those places and walks nothing again.
#[derive(Debug, Clone, Copy)]
pub struct RenderSource<'a> {
    pub path: &'a Path,
    pub object: &'a crate::scan::Object,
}

/// How big a thumbnail, and of which frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// The long side of the result is at most this (images are never enlarged).
    pub max_side: u32,
    /// Zero-based frame; `None` draws the middle frame.
    pub frame: Option<u32>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            max_side: 256,
            frame: None,
        }
    }
}

/// Why an image could not be drawn, in words for the report and the placeholder.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("unsupported transfer syntax {0}")]
    UnsupportedTransferSyntax(String),
    #[error("unsupported image: {0}")]
    Unsupported(String),
    #[error("no pixel data")]
    MissingPixelData,
    #[error("pixel data is cut short")]
    Truncated,
    #[error("corrupt image data: {0}")]
    Corrupt(String),
    #[error("image too large to draw: {0}")]
    TooLarge(String),
    /// Reading failed; `context` names what was being read ("file", "pixel data", …).
    #[error("cannot read the {context}: {source}")]
    Io {
        context: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl RenderError {
    /// For `map_err`: an I/O error while reading `context`.
    fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> Self {
        move |source| RenderError::Io { context, source }
    }
}

/// The VOI transformation that was applied to a grey-scale image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Voi {
    /// First Window Center/Width of the file.
    FileWindow {
        center: f64,
        width: f64,
        function: VoiFunction,
    },
    /// The file's VOI LUT Sequence.
    FileLut,
    /// Chosen from the pixel values (percentiles), applied as a LINEAR window.
    Auto { center: f64, width: f64 },
    /// Colour images have no VOI.
    None,
}

/// What was drawn, for the report and for tests against other renderers.
#[derive(Debug, Clone)]
pub struct RenderInfo {
    pub rows: u32,
    pub cols: u32,
    pub frames: u32,
    pub frame: u32,
    pub photometric: String,
    pub voi: Voi,
    pub decoder: &'static str,
}

/// Draw one frame of an instance as an 8-bit RGB thumbnail.
pub fn render(src: &RenderSource, opts: &RenderOptions) -> Result<RgbImage, RenderError> {
    render_with_info(src, opts).map(|(img, _)| img)
}

/// [`render`], also saying which frame, decoder and window were used.
pub fn render_with_info(
    src: &RenderSource,
    opts: &RenderOptions,
) -> Result<(RgbImage, RenderInfo), RenderError> {
    let ts = supported_ts(&src.object.transfer_syntax_uid)?;
    let loc = source::locate(src.path, src.object)?;
    render_located(loc, ts, opts)
}

/// [`render_with_info`] on the bytes of a whole file already in memory (the fuzzing entry
/// point), with what `scan` found in them.
pub fn render_bytes(
    bytes: &[u8],
    object: &crate::scan::Object,
    opts: &RenderOptions,
) -> Result<(RgbImage, RenderInfo), RenderError> {
    let ts = supported_ts(&object.transfer_syntax_uid)?;
    let loc = source::locate_bytes(bytes.to_vec(), object)?;
    render_located(loc, ts, opts)
}

/// What an image is, in plain words, for the tile and the report that say it could not be
/// drawn: its compression, bit depth and size ("JPEG 2000, 16-bit signed grey, 1416x1420"),
/// as far as its attributes can be read.
pub fn describe_image(src: &RenderSource) -> String {
    use crate::dicom::Codec;
    let uid = src.object.transfer_syntax_uid.trim_end_matches('\0').trim();
    let ts = crate::dicom::TransferSyntax::of(uid);
    let codec = match ts.codec {
        Codec::Native | Codec::EncapsulatedNative => "uncompressed".to_string(),
        Codec::Rle => "RLE".to_string(),
        Codec::Jpeg => match uid {
            "1.2.840.10008.1.2.4.57" | "1.2.840.10008.1.2.4.70" => "JPEG Lossless".to_string(),
            _ => "JPEG".to_string(),
        },
        Codec::JpegLs => "JPEG-LS".to_string(),
        Codec::Jpeg2000 => "JPEG 2000".to_string(),
        Codec::Other => {
            use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
            dicom_transfer_syntax_registry::TransferSyntaxRegistry
                .get(uid)
                .map_or_else(
                    || format!("transfer syntax {uid}"),
                    |t| t.name().to_string(),
                )
        }
    };
    let attrs = source::locate(src.path, src.object)
        .and_then(|loc| attrs::parse_header(&loc.header, loc.encoding))
        .and_then(|h| attrs::image_attrs(&h));
    match attrs {
        Ok(a) => {
            let colour = match (a.spp, a.photometric.as_str()) {
                (_, "PALETTE COLOR") => "palette colour",
                (3, _) => "colour",
                _ => "grey",
            };
            let sign = if a.signed { " signed" } else { "" };
            let frames = if a.frames > 1 {
                format!(", {} frames", a.frames)
            } else {
                String::new()
            };
            format!(
                "{codec}, {}-bit{sign} {colour}, {}x{}{frames}",
                a.bits_stored, a.cols, a.rows
            )
        }
        Err(_) => codec,
    }
}

fn supported_ts(uid: &str) -> Result<&str, RenderError> {
    let ts = uid.trim_end_matches('\0').trim();
    if !supports_transfer_syntax(ts) {
        return Err(RenderError::UnsupportedTransferSyntax(
            crate::dicom::syntax::describe(ts),
        ));
    }
    Ok(ts)
}

fn render_located(
    mut loc: source::Located,
    ts: &str,
    opts: &RenderOptions,
) -> Result<(RgbImage, RenderInfo), RenderError> {
    let header = attrs::parse_header(&loc.header, loc.encoding)?;
    if loc.pixel.is_none() {
        let class = attrs::sop_class(&header);
        return Err(match describe_non_image(&class) {
            Some(what) => RenderError::Unsupported(format!("{what}: no pixel data")),
            None => RenderError::MissingPixelData,
        });
    }
    let a = attrs::image_attrs(&header)?;
    let max_side = opts.max_side.max(1);
    let (frame, decoded) = match opts.frame {
        Some(f) => {
            let f = f.min(a.frames - 1);
            (f, codec::decode_frame(&mut loc, &a, ts, f, max_side)?)
        }
        None => telling_frame(&mut loc, &a, ts, max_side)?,
    };
    let (rgb, voi) = to_rgb(&a, &decoded)?;
    let info = RenderInfo {
        rows: decoded.rows,
        cols: decoded.cols,
        frames: a.frames,
        frame,
        photometric: a.photometric.clone(),
        voi,
        decoder: decoded.decoder,
    };
    let img = RgbImage::from_raw(decoded.cols, decoded.rows, rgb)
        .ok_or_else(|| RenderError::Corrupt("decoded size does not match".into()))?;
    // a reduced-resolution decode (JPEG 2000) has the aspect of the original
    let img = fit(img, max_side, a.aspect);
    Ok((img, info))
}

/// Frames tried, at most, for one that is not a single flat value.
const FRAME_TRIES: u32 = 32;

/// SOP Class of segmentations: their frames are one segment each, mostly empty.
const SEGMENTATION: &str = "1.2.840.10008.5.1.4.1.1.66.4";

/// A frame that shows something: the middle frame of a cine or a volume, the first frame of a
/// segmentation (a SEG's frames are ordered by segment, then position, and many are empty);
/// when that frame is one flat value, the next that is not (up to [`FRAME_TRIES`] frames, so a
/// long empty multi-frame costs a bounded number of decodes). All flat: the first one decoded.
fn telling_frame(
    loc: &mut source::Located,
    a: &attrs::ImageAttrs,
    ts: &str,
    max_side: u32,
) -> Result<(u32, codec::Decoded), RenderError> {
    let n = a.frames.max(1);
    let start = if a.sop_class_uid == SEGMENTATION {
        0
    } else {
        n / 2
    };
    let pixel = loc.pixel.clone();
    let mut first = None;
    for f in (start..n).chain(0..start).take(FRAME_TRIES as usize) {
        loc.pixel.clone_from(&pixel);
        let d = match codec::decode_frame(loc, a, ts, f, max_side) {
            Ok(d) => d,
            // the chosen frame must draw; a later one that fails is passed over
            Err(e) if first.is_none() => return Err(e),
            Err(_) => continue,
        };
        if !d.is_flat() {
            return Ok((f, d));
        }
        if first.is_none() {
            first = Some((f, d));
        }
    }
    first.ok_or(RenderError::MissingPixelData)
}

/// Scale to at most `max_side` on the long side, never enlarging, honouring Pixel Aspect Ratio.
fn fit(img: RgbImage, max_side: u32, aspect: Option<(f64, f64)>) -> RgbImage {
    let (w, h) = img.dimensions();
    let (vert, horiz) = aspect.unwrap_or((1.0, 1.0));
    let ratio = (vert / horiz).clamp(0.1, 10.0);
    let (mut dw, mut dh) = (w as f64, h as f64 * ratio);
    let long = dw.max(dh);
    if long > max_side as f64 {
        let s = max_side as f64 / long;
        dw *= s;
        dh *= s;
    }
    let (dw, dh) = ((dw.round() as u32).max(1), (dh.round() as u32).max(1));
    if (dw, dh) == (w, h) {
        return img;
    }
    // Average k×k blocks first while the image stays at least twice the target: a large CR
    // then costs a box filter instead of a 40-tap Catmull-Rom kernel per pixel.
    let k = (w / dw).min(h / dh) / 2;
    let img = if k >= 2 { box_shrink(&img, k) } else { img };
    image::imageops::resize(&img, dw, dh, image::imageops::FilterType::CatmullRom)
}

/// Mean of each k×k block (the last partial row/column of blocks is dropped).
fn box_shrink(img: &RgbImage, k: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let (nw, nh) = ((w / k).max(1) as usize, (h / k).max(1) as usize);
    let (k, w) = (k as usize, w as usize);
    let raw = img.as_raw();
    let area = (k * k) as u32;
    let mut out = Vec::with_capacity(nw * nh * 3);
    let mut acc = vec![0u32; nw * 3];
    for oy in 0..nh {
        acc.iter_mut().for_each(|a| *a = 0);
        for y in oy * k..(oy * k + k).min(h as usize) {
            let row = &raw[y * w * 3..(y + 1) * w * 3];
            for (ox, a) in acc.chunks_exact_mut(3).enumerate() {
                for px in row[ox * k * 3..(ox * k + k) * 3].chunks_exact(3) {
                    a[0] += u32::from(px[0]);
                    a[1] += u32::from(px[1]);
                    a[2] += u32::from(px[2]);
                }
            }
        }
        out.extend(acc.iter().map(|&a| ((a + area / 2) / area) as u8));
    }
    RgbImage::from_raw(nw as u32, nh as u32, out).unwrap_or_else(|| img.clone())
}

fn is_ct(a: &attrs::ImageAttrs) -> bool {
    a.modality == "CT" || a.sop_class_uid.starts_with("1.2.840.10008.5.1.4.1.1.2")
}

/// Decoded samples → interleaved 8-bit RGB, and the VOI used.
fn to_rgb(a: &attrs::ImageAttrs, d: &codec::Decoded) -> Result<(Vec<u8>, Voi), RenderError> {
    let n = d.rows as usize * d.cols as usize;
    match &d.samples {
        codec::Samples::Color { data, bits, rgb } => {
            if data.len() < n * 3 {
                return Err(RenderError::Truncated);
            }
            let down = bits.saturating_sub(8);
            let mut out: Vec<u8> = data[..n * 3]
                .iter()
                .map(|&v| (v >> down).min(255) as u8)
                .collect();
            if !rgb {
                match a.photometric.as_str() {
                    "YBR_FULL" | "YBR_FULL_422" => {
                        for p in out.chunks_exact_mut(3) {
                            p.copy_from_slice(&lut::ybr_to_rgb(p[0], p[1], p[2]));
                        }
                    }
                    "YBR_PARTIAL_422" | "YBR_PARTIAL_420" => {
                        for p in out.chunks_exact_mut(3) {
                            p.copy_from_slice(&ybr_partial_to_rgb(p[0], p[1], p[2]));
                        }
                    }
                    _ => {}
                }
            }
            Ok((out, Voi::None))
        }
        codec::Samples::Stored(vals) => {
            if vals.len() < n {
                return Err(RenderError::Truncated);
            }
            let vals = &vals[..n];
            if let Some(p) = &a.palette {
                let p = p.to_8bit();
                let mut out = Vec::with_capacity(n * 3);
                for &v in vals {
                    out.extend_from_slice(&p.rgb(v as f64));
                }
                return Ok((out, Voi::None));
            }
            let grey = grey(a, vals);
            let (g, voi) = grey;
            let mut out = Vec::with_capacity(n * 3);
            for v in g {
                out.extend_from_slice(&[v, v, v]);
            }
            Ok((out, voi))
        }
    }
}

/// The grey-scale pipeline: Modality LUT, VOI (file window, file LUT or automatic), polarity.
fn grey(a: &attrs::ImageAttrs, stored: &[f32]) -> (Vec<u8>, Voi) {
    let modality: Cow<[f32]> = match &a.modality_lut {
        Some(l) => stored.iter().map(|&v| l.lookup(v as f64) as f32).collect(),
        None if a.slope == 1.0 && a.intercept == 0.0 => Cow::Borrowed(stored),
        None => stored
            .iter()
            .map(|&v| (v as f64 * a.slope + a.intercept) as f32)
            .collect(),
    };
    let mut voi = match (a.window, &a.voi_lut) {
        (Some((center, width)), _) => Voi::FileWindow {
            center,
            width,
            function: a.voi_function,
        },
        (None, Some(_)) => Voi::FileLut,
        (None, None) => Voi::Auto {
            center: 0.0,
            width: 1.0,
        },
    };
    if let Voi::Auto { .. } = voi {
        let (center, width) = if a.bits_allocated == 1 {
            (1.0, 2.0) // 0 black, 1 white
        } else {
            let padded = |s: f32| match a.padding {
                Some((p, Some(limit))) => {
                    let (lo, hi) = (p.min(limit) as f32, p.max(limit) as f32);
                    s >= lo && s <= hi
                }
                Some((p, None)) => s == p as f32,
                None => false,
            };
            let ct = is_ct(a);
            lut::auto_window(&modality, |i, m| {
                let air = ct && m < -900.0;
                !(padded(stored.get(i).copied().unwrap_or(0.0)) || air)
            })
        };
        voi = Voi::Auto { center, width };
    }
    // DICOM requires INVERSE with MONOCHROME1 (PS3.3 C.8.11.6.1.2): the two are one inversion.
    // (IDENTITY there contradicts the photometric interpretation, which wins, as in pydicom.)
    let invert = a.photometric == "MONOCHROME1" || a.presentation_inverse;
    let out = modality
        .iter()
        .map(|&m| {
            let y = match (voi, &a.voi_lut) {
                (
                    Voi::FileWindow {
                        center,
                        width,
                        function,
                    },
                    _,
                ) => lut::window(m as f64, center, width, function),
                (Voi::Auto { center, width }, _) => {
                    lut::window(m as f64, center, width, VoiFunction::Linear)
                }
                (_, Some(l)) => l.lookup(m as f64) as f64 * 255.0 / l.max_value(),
                _ => m as f64,
            };
            let y = y.round().clamp(0.0, 255.0) as u8;
            if invert { 255 - y } else { y }
        })
        .collect();
    (out, voi)
}

fn ybr_partial_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let (y, cb, cr) = (
        1.164_383 * (y as f32 - 16.0),
        cb as f32 - 128.0,
        cr as f32 - 128.0,
    );
    let c = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    [
        c(y + 1.596_027 * cr),
        c(y - 0.391_762 * cb - 0.812_968 * cr),
        c(y + 2.017_232 * cb),
    ]
}

/// A labelled tile for an object that has no picture, or an image that could not be drawn:
/// `title` large, `detail` wrapped below it. Square, `max_side` on a side (at least 64).
pub fn placeholder(title: &str, detail: &str, max_side: u32) -> RgbImage {
    let side = max_side.max(64);
    let mut img = RgbImage::from_pixel(side, side, image::Rgb([48, 52, 60]));
    // a border so the tile reads as a tile on any page colour
    for i in 0..side {
        for t in 0..2 {
            for (x, y) in [(i, t), (i, side - 1 - t), (t, i), (side - 1 - t, i)] {
                img.put_pixel(x, y, image::Rgb([120, 128, 140]));
            }
        }
    }
    let margin = side / 16 + 2;
    let usable = side - 2 * margin;
    let title_scale = (usable / (font::CELL_W * 12)).clamp(1, 3);
    let detail_scale = (usable / (font::CELL_W * 24)).clamp(1, 2);
    let mut y = margin;
    for line in font::wrap(title, (usable / (font::CELL_W * title_scale)) as usize) {
        font::draw_text(&mut img, margin, y, &line, title_scale, [240, 240, 240]);
        y += font::CELL_H * title_scale;
    }
    y += font::CELL_H * detail_scale;
    for line in font::wrap(detail, (usable / (font::CELL_W * detail_scale)) as usize) {
        if y + font::CELL_H * detail_scale > side - margin {
            break;
        }
        font::draw_text(&mut img, margin, y, &line, detail_scale, [200, 205, 215]);
        y += font::CELL_H * detail_scale;
    }
    img
}

/// Baseline JPEG of an RGB image (4:2:0 is fine for a thumbnail).
pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100));
    if img.write_with_encoder(enc).is_err() {
        // writing to a Vec cannot fail for a valid image; an empty image has no JPEG
        out.clear();
    }
    out
}

/// What an object with no pixels is, by SOP Class, for its placeholder tile.
pub fn describe_non_image(sop_class_uid: &str) -> Option<&'static str> {
    let uid = sop_class_uid.trim_end_matches('\0').trim();
    Some(match uid {
        "1.2.840.10008.5.1.4.1.1.104.1" => "PDF document",
        "1.2.840.10008.5.1.4.1.1.104.2" => "CDA document",
        "1.2.840.10008.5.1.4.1.1.104.3" => "STL model",
        "1.2.840.10008.5.1.4.1.1.481.5" | "1.2.840.10008.5.1.4.1.1.481.8" => "RT plan",
        "1.2.840.10008.5.1.4.1.1.481.3" => "RT structure set",
        "1.2.840.10008.5.1.4.1.1.481.4" | "1.2.840.10008.5.1.4.1.1.481.9" => "RT treatment record",
        "1.2.840.10008.5.1.4.1.1.481.6" | "1.2.840.10008.5.1.4.1.1.481.7" => "RT treatment summary",
        "1.2.840.10008.5.1.4.1.1.66" => "Raw data",
        "1.2.840.10008.5.1.4.1.1.66.1" | "1.2.840.10008.5.1.4.1.1.66.3" => "Registration",
        "1.2.840.10008.5.1.4.1.1.66.2" => "Fiducials",
        "1.2.840.10008.5.1.4.1.1.66.5" => "Surface segmentation",
        "1.2.840.10008.5.1.4.1.1.11.1"
        | "1.2.840.10008.5.1.4.1.1.11.2"
        | "1.2.840.10008.5.1.4.1.1.11.3"
        | "1.2.840.10008.5.1.4.1.1.11.4"
        | "1.2.840.10008.5.1.4.1.1.11.5"
        | "1.2.840.10008.5.1.4.1.1.11.6"
        | "1.2.840.10008.5.1.4.1.1.11.7"
        | "1.2.840.10008.5.1.4.1.1.11.8"
        | "1.2.840.10008.5.1.4.1.1.11.9"
        | "1.2.840.10008.5.1.4.1.1.11.10"
        | "1.2.840.10008.5.1.4.1.1.11.11"
        | "1.2.840.10008.5.1.4.1.1.11.12" => "Presentation state",
        "1.2.840.10008.5.1.4.1.1.9.1.1"
        | "1.2.840.10008.5.1.4.1.1.9.1.2"
        | "1.2.840.10008.5.1.4.1.1.9.1.3"
        | "1.2.840.10008.5.1.4.1.1.9.2.1"
        | "1.2.840.10008.5.1.4.1.1.9.3.1"
        | "1.2.840.10008.5.1.4.1.1.9.4.1"
        | "1.2.840.10008.5.1.4.1.1.9.4.2"
        | "1.2.840.10008.5.1.4.1.1.9.5.1"
        | "1.2.840.10008.5.1.4.1.1.9.6.1"
        | "1.2.840.10008.5.1.4.1.1.9.7.1"
        | "1.2.840.10008.5.1.4.1.1.9.7.2"
        | "1.2.840.10008.5.1.4.1.1.9.7.3"
        | "1.2.840.10008.5.1.4.1.1.9.7.4"
        | "1.2.840.10008.5.1.4.1.1.9.8.1" => "Waveform",
        "1.2.840.10008.5.1.4.1.1.78.1"
        | "1.2.840.10008.5.1.4.1.1.78.2"
        | "1.2.840.10008.5.1.4.1.1.78.3"
        | "1.2.840.10008.5.1.4.1.1.78.4"
        | "1.2.840.10008.5.1.4.1.1.78.5"
        | "1.2.840.10008.5.1.4.1.1.78.6"
        | "1.2.840.10008.5.1.4.1.1.78.7"
        | "1.2.840.10008.5.1.4.1.1.78.8"
        | "1.2.840.10008.5.1.4.1.1.79.1"
        | "1.2.840.10008.5.1.4.1.1.80.1"
        | "1.2.840.10008.5.1.4.1.1.81.1"
        | "1.2.840.10008.5.1.4.1.1.82.1" => "Measurements",
        "1.2.840.10008.5.1.4.1.1.88.59" => "Key object selection",
        "1.2.840.10008.1.3.10" => "Media directory",
        _ if uid.starts_with("1.2.840.10008.5.1.4.1.1.88.") => "Structured report",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(photometric: &str) -> attrs::ImageAttrs {
        attrs::ImageAttrs {
            sop_class_uid: String::new(),
            modality: "OT".into(),
            rows: 1,
            cols: 4,
            spp: 1,
            bits_allocated: 16,
            bits_stored: 12,
            high_bit: 11,
            signed: false,
            planar: 0,
            photometric: photometric.into(),
            frames: 1,
            slope: 1.0,
            intercept: 0.0,
            modality_lut: None,
            window: Some((100.0, 101.0)),
            voi_function: VoiFunction::Linear,
            voi_lut: None,
            padding: None,
            palette: None,
            aspect: None,
            presentation_inverse: false,
        }
    }

    #[test]
    fn monochrome1_is_inverted() {
        let v = [0.0, 50.0, 100.0, 200.0];
        let (g2, _) = grey(&attrs("MONOCHROME2"), &v);
        let (g1, _) = grey(&attrs("MONOCHROME1"), &v);
        assert_eq!(g2[0], 0);
        assert_eq!(g2[3], 255);
        for (a, b) in g1.iter().zip(&g2) {
            assert_eq!(*a, 255 - b);
        }
        // center 100 width 101: 50 → 0 (edge), 100 → ((100-99.5)/100+0.5)*255 = 128.775
        assert_eq!(g2[2], 129);
    }

    #[test]
    fn rescale_then_window() {
        let mut a = attrs("MONOCHROME2");
        a.slope = 2.0;
        a.intercept = -1000.0;
        a.window = Some((0.0, 2.0 * 255.0 + 1.0));
        // stored 500 → 0 HU → middle grey; stored 0 → -1000 → black
        let (g, voi) = grey(&a, &[500.0, 0.0, 1000.0]);
        assert!(matches!(voi, Voi::FileWindow { .. }));
        assert_eq!(g, vec![128, 0, 255]);
    }

    #[test]
    fn modality_lut_sequence_wins_over_rescale() {
        let mut a = attrs("MONOCHROME2");
        a.slope = 100.0;
        a.modality_lut = Some(lut::Lut {
            first: 0,
            bits: 16,
            data: vec![0, 10, 20, 30],
        });
        a.window = Some((15.5, 31.0));
        let (g, _) = grey(&a, &[0.0, 3.0, 9.0]);
        assert_eq!(g[0], 0);
        assert_eq!(g[1], 255);
        assert_eq!(g[2], 255); // clamped to the last entry
    }

    #[test]
    fn auto_window_on_ct_ignores_padding_and_air() {
        let mut a = attrs("MONOCHROME2");
        a.window = None;
        a.modality = "CT".into();
        a.signed = true;
        a.intercept = -1024.0;
        a.padding = Some((-2000, None));
        // padding, air (-1000 HU), and soft tissue 0..=100 HU
        let mut v: Vec<f32> = Vec::new();
        for i in 0..3000 {
            v.push(match i % 3 {
                0 => -2000.0,
                1 => 24.0,                      // -1000 HU
                _ => 1024.0 + (i % 101) as f32, // 0..=100 HU
            });
        }
        let (g, voi) = grey(&a, &v);
        let Voi::Auto { center, width } = voi else {
            panic!("{voi:?}")
        };
        assert!(center > 40.0 && center < 60.0, "{center}");
        assert!(width < 120.0, "{width}");
        // tissue spans the grey range instead of being one grey blob
        let tissue: Vec<u8> = g.iter().skip(2).step_by(3).copied().collect();
        assert!(tissue.iter().max().unwrap() - tissue.iter().min().unwrap() > 200);
    }

    #[test]
    fn placeholder_has_text_and_the_requested_size() {
        let img = placeholder("PDF document", "unsupported transfer syntax 1.2.3", 256);
        assert_eq!(img.dimensions(), (256, 256));
        let bright = img.pixels().filter(|p| p.0[0] > 190).count();
        assert!(bright > 200, "{bright}");
        let tiny = placeholder("X", "", 10);
        assert_eq!(tiny.dimensions(), (64, 64));
    }

    #[test]
    fn jpeg_encoding_round_trips() {
        let img = RgbImage::from_pixel(8, 8, image::Rgb([10, 200, 30]));
        let jpg = encode_jpeg(&img, 90);
        assert!(jpg.starts_with(&[0xFF, 0xD8]));
        let back = image::load_from_memory(&jpg).unwrap().to_rgb8();
        assert_eq!(back.dimensions(), (8, 8));
    }

    #[test]
    fn non_image_objects_are_named() {
        assert_eq!(
            describe_non_image("1.2.840.10008.5.1.4.1.1.88.33"),
            Some("Structured report")
        );
        assert_eq!(
            describe_non_image("1.2.840.10008.5.1.4.1.1.104.1"),
            Some("PDF document")
        );
        assert_eq!(
            describe_non_image("1.2.840.10008.5.1.4.1.1.481.5"),
            Some("RT plan")
        );
        assert_eq!(
            describe_non_image("1.2.840.10008.5.1.4.1.1.11.1\0"),
            Some("Presentation state")
        );
        assert_eq!(describe_non_image("1.2.840.10008.5.1.4.1.1.2"), None);
    }

    #[test]
    fn box_shrink_averages_blocks() {
        let mut img = RgbImage::new(5, 4);
        for (x, y, p) in img.enumerate_pixels_mut() {
            *p = image::Rgb([(x * 10) as u8, (y * 10) as u8, 100]);
        }
        let s = box_shrink(&img, 2);
        assert_eq!(s.dimensions(), (2, 2));
        assert_eq!(s.get_pixel(0, 0).0, [5, 5, 100]);
        assert_eq!(s.get_pixel(1, 1).0, [25, 25, 100]);
        // a big image still ends at the requested size
        assert_eq!(
            fit(RgbImage::new(2904, 1800), 256, None).dimensions(),
            (256, 159)
        );
    }

    #[test]
    fn fit_keeps_aspect_and_never_enlarges() {
        let img = RgbImage::new(1024, 256);
        assert_eq!(fit(img.clone(), 256, None).dimensions(), (256, 64));
        assert_eq!(fit(RgbImage::new(64, 64), 256, None).dimensions(), (64, 64));
        // pixels twice as tall as wide
        assert_eq!(
            fit(RgbImage::new(100, 100), 256, Some((2.0, 1.0))).dimensions(),
            (100, 200)
        );
        assert_eq!(
            fit(RgbImage::new(300, 300), 256, Some((2.0, 1.0))).dimensions(),
            (128, 256)
        );
    }
}
