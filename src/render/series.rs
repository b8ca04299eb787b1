//! One thumbnail per series, in parallel: the representative instance is the middle one by
//! Instance Number (the catalog's order), and within it the middle frame. Objects without
//! pixels get a labelled tile naming what they are; an image that cannot be drawn gets a tile
//! saying why. Encapsulated PDF reports are taken out whole so they travel readable.

use super::{
    RenderOptions, RenderSource, describe_non_image, encode_jpeg, placeholder, render_with_info,
};
use crate::catalog::{Catalog, Series};
use crate::scan::Instance;
use rayon::prelude::*;
use std::io::{Read, Seek, SeekFrom};

pub const ENCAPSULATED_PDF: &str = "1.2.840.10008.5.1.4.1.1.104.1";
/// Encapsulated documents larger than this are not taken out (the DICOM file still travels).
const DOCUMENT_MAX: u64 = 256 * 1024 * 1024;
const JPEG_QUALITY: u8 = 85;

/// What a series' JPEG shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A real preview of its representative image.
    Preview,
    /// A labelled tile: the series holds no pixels; `what` it is instead (a report, …).
    NotAnImage { what: String },
    /// A tile saying why: the representative image could not be drawn.
    Failed { reason: String },
}

impl Outcome {
    /// For a tile, why there is no real preview, in plain words.
    pub fn note(&self) -> Option<String> {
        match self {
            Outcome::Preview => None,
            Outcome::NotAnImage { what } => Some(format!("{what} (no pixels to show)")),
            Outcome::Failed { reason } => Some(reason.clone()),
        }
    }
}

/// What the render stage made for one series.
#[derive(Debug, Clone)]
pub struct SeriesRender {
    pub series_uid: String,
    pub jpeg: Vec<u8>,
    pub outcome: Outcome,
    /// Encapsulated PDF documents of the series, as PDF bytes.
    pub documents: Vec<Vec<u8>>,
    /// The file and zero-based frame the preview shows, or tried to show when it `Failed`
    /// (`None`: the series holds no image).
    pub drawn: Option<Drawn>,
}

/// Which image of a series its preview shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drawn {
    pub path: std::path::PathBuf,
    pub frame: u32,
}

/// Renders every series of the catalog on all cores, handing each result to `each` as soon
/// as it is made (so a caller can spool it instead of holding them all).
pub fn render_each(
    catalog: &Catalog,
    max_side: u32,
    each: &(dyn Fn(&Series, SeriesRender) + Sync),
) {
    let series: Vec<&Series> = catalog.series().map(|(_, _, s)| s).collect();
    series
        .par_iter()
        .for_each(|s| each(s, render_one(s, max_side)));
}

fn render_one(series: &Series, max_side: u32) -> SeriesRender {
    let documents = series
        .instances
        .iter()
        .filter(|i| &*i.object.attrs.sop_class_uid == ENCAPSULATED_PDF)
        .filter_map(|i| encapsulated_document(i).ok())
        .collect();
    let mut drawn = None;
    let (jpeg, outcome) = match representative(series) {
        Some(inst) => match draw(inst, max_side) {
            Ok((img, frame)) => {
                drawn = Some(Drawn {
                    path: inst.source.clone(),
                    frame,
                });
                (encode_jpeg(&img, JPEG_QUALITY), Outcome::Preview)
            }
            Err(e) => {
                drawn = Some(Drawn {
                    path: inst.source.clone(),
                    frame: inst.object.attrs.number_of_frames.max(1) / 2,
                });
                let reason = failure(inst, &e);
                let tile = placeholder("No preview", &reason, max_side);
                (encode_jpeg(&tile, JPEG_QUALITY), Outcome::Failed { reason })
            }
        },
        None => {
            let first = series.instances.first();
            let what = first
                .and_then(|i| describe_non_image(&i.object.attrs.sop_class_uid))
                .unwrap_or("Not an image");
            let tile = placeholder(what, &series.modality, max_side);
            let what = what.to_string();
            (
                encode_jpeg(&tile, JPEG_QUALITY),
                Outcome::NotAnImage { what },
            )
        }
    };
    SeriesRender {
        series_uid: series.uid.clone(),
        jpeg,
        outcome,
        documents,
        drawn,
    }
}

/// Draws the middle frame of one scanned instance; says which frame.
fn draw(inst: &Instance, max_side: u32) -> Result<(image::RgbImage, u32), super::RenderError> {
    let src = RenderSource {
        path: inst.bytes_path(),
        object: &inst.object,
    };
    let opts = RenderOptions {
        max_side,
        frame: None,
    };
    // A decoder bug on a crafted image must cost one preview, never the package.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        render_with_info(&src, &opts).map(|(img, info)| (img, info.frame))
    }))
    .unwrap_or_else(|_| {
        Err(super::RenderError::Corrupt(
            "the image data could not be decoded (internal decoder error)".into(),
        ))
    })
}

/// Why an image could not be drawn, in words for the tile and `pack`'s list: what the image is
/// (compression, bit depth, size), then what went wrong.
fn failure(inst: &Instance, e: &super::RenderError) -> String {
    let src = RenderSource {
        path: &inst.source,
        object: &inst.object,
    };
    let what =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| super::describe_image(&src)))
            .unwrap_or_else(|_| "this image".into());
    match e {
        // the description names the compression already
        super::RenderError::UnsupportedTransferSyntax(_) => {
            format!("{what}: this compression cannot be drawn here")
        }
        _ => format!("{what}: could not be drawn: {e}"),
    }
}

/// The middle instance that has pixel data, in Instance Number order.
fn representative(series: &Series) -> Option<&Instance> {
    let images: Vec<&Instance> = series
        .instances
        .iter()
        .filter(|i| i.object.attrs.has_pixel_data)
        .collect();
    images.get(images.len() / 2).copied()
}

/// Reads the Encapsulated Document (0042,0011) of a PDF object.
fn encapsulated_document(inst: &Instance) -> Result<Vec<u8>, String> {
    let o = &inst.object;
    if crate::dicom::TransferSyntax::of(&o.transfer_syntax_uid).deflated {
        return Err("deflated documents are not taken out".into());
    }
    // Where the scan found the document's bytes: read them, nothing else.
    let range = o
        .layout
        .document
        .clone()
        .ok_or("no encapsulated document")?;
    let len = range.end.saturating_sub(range.start);
    if len > DOCUMENT_MAX || range.end > o.size {
        return Err("document too large".into());
    }
    let mut f = crate::platform::open_source(inst.bytes_path()).map_err(|e| e.to_string())?;
    f.seek(SeekFrom::Start(range.start))
        .map_err(|e| e.to_string())?;
    let mut pdf = vec![0u8; len as usize];
    f.read_exact(&mut pdf).map_err(|e| e.to_string())?;
    // The value is padded to even length with a NUL after %%EOF.
    if pdf.last() == Some(&0) {
        pdf.pop();
    }
    Ok(pdf)
}

/// A preview of every instance of a series, in catalog order (for `--thumbnails all`);
/// an instance that cannot be drawn gets a tile that says why.
pub fn render_instances(series: &Series, max_side: u32) -> Vec<Vec<u8>> {
    series
        .instances
        .par_iter()
        .map(|inst| {
            let img = if inst.object.attrs.has_pixel_data {
                draw(inst, max_side)
                    .map(|(img, _)| img)
                    .unwrap_or_else(|e| placeholder("No preview", &failure(inst, &e), max_side))
            } else {
                let what =
                    describe_non_image(&inst.object.attrs.sop_class_uid).unwrap_or("Not an image");
                placeholder(what, "", max_side)
            };
            encode_jpeg(&img, JPEG_QUALITY)
        })
        .collect()
}
