//! bytes of one file → thumbnail or error, the way `pack` draws an instance: `scan` first (only
//! a scanned object with pixel data is ever drawn), then the renderer on the same bytes with the
//! offset and transfer syntax the scan found, or the labelled tile with the reason (text from the
//! input). No `catch_unwind` here (pack has one around each drawing): any panic is a finding, and
//! so is an allocation over `-malloc_limit_mb` or a hang. Not the JPEG encoding pack does last:
//! it only ever sees an image of at most 256 × 256 that we made, and cost a sixth of each run.
#![no_main]
use dicompack::render::{RenderOptions, placeholder, render_bytes};
use dicompack::scan::{Content, scan_bytes};
use libfuzzer_sys::fuzz_target;

const SIDE: u32 = dicompack::package::THUMBNAIL_SIDE;

fuzz_target!(|data: &[u8]| {
    let Ok(Content::Object(obj)) = scan_bytes(data) else {
        return;
    };
    if !obj.attrs.has_pixel_data {
        return;
    }
    let opts = RenderOptions {
        max_side: SIDE,
        frame: None,
    };
    if let Err(e) = render_bytes(data, &obj, &opts) {
        let _ = placeholder("No preview", &e.to_string(), SIDE);
    }
});
