//! Render stage: decode one representative frame of an instance and turn it into a thumbnail
//! the way a radiologist's viewer would display it (Modality LUT, VOI window, MONOCHROME1,
//! colour models, palette). An image that cannot be drawn becomes a labelled placeholder; the
//! package never fails because of a thumbnail.

use std::path::Path;

/// Where the dataset of a source file starts and how it is encoded, as found by `scan`.
/// Headerless files (no preamble, no meta) have `dataset_offset == 0`.
#[derive(Debug, Clone, Copy)]
pub struct RenderSource<'a> {
    pub path: &'a Path,
    pub dataset_offset: u64,
    pub transfer_syntax_uid: &'a str,
}
