//! The attributes that decide how an image is drawn, parsed from the bytes before Pixel Data.

use dicom_core::{PrimitiveValue, Tag};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::RenderError;
use super::lut::{Lut, Palette, VoiFunction};
use super::source::Encoding;

/// Everything the renderer needs to know about an image, checked for sanity.
#[derive(Debug, Clone)]
pub(crate) struct ImageAttrs {
    pub sop_class_uid: String,
    pub modality: String,
    pub rows: u32,
    pub cols: u32,
    pub spp: u16,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub high_bit: u16,
    pub signed: bool,
    pub planar: u16,
    pub photometric: String,
    pub frames: u32,
    pub slope: f64,
    pub intercept: f64,
    pub modality_lut: Option<Lut>,
    pub window: Option<(f64, f64)>,
    pub voi_function: VoiFunction,
    pub voi_lut: Option<Lut>,
    /// Pixel Padding Value and optional Range Limit, as stored values.
    pub padding: Option<(i64, Option<i64>)>,
    pub palette: Option<Palette>,
    /// Pixel Aspect Ratio (vertical, horizontal).
    pub aspect: Option<(f64, f64)>,
    /// Presentation LUT Shape (2050,0020) INVERSE: the grey output is inverted.
    pub presentation_inverse: bool,
}

pub(crate) struct Header {
    pub obj: InMemDicomObject,
}

/// Parses the image elements, which [`super::source`] has walked.
pub(crate) fn parse_header(bytes: &[u8], enc: Encoding) -> Result<Header, RenderError> {
    let obj = crate::dicom::read_dataset(bytes, enc)
        .map_err(|e| RenderError::Corrupt(format!("attributes do not parse: {e}")))?;
    Ok(Header { obj })
}

fn int(obj: &InMemDicomObject, tag: Tag) -> Option<i64> {
    obj.get(tag).and_then(|e| e.to_int::<i64>().ok())
}

fn float(obj: &InMemDicomObject, tag: Tag) -> Option<f64> {
    obj.get(tag)
        .and_then(|e| e.to_float64().ok())
        .filter(|v| v.is_finite())
}

fn string(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| {
            s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
                .to_string()
        })
        .unwrap_or_default()
}

fn first_float(obj: &InMemDicomObject, tag: Tag) -> Option<f64> {
    obj.get(tag)
        .and_then(|e| e.to_multi_float64().ok())
        .and_then(|v| v.first().copied())
        .filter(|v| v.is_finite())
}

pub(crate) fn sop_class(h: &Header) -> String {
    string(&h.obj, tags::SOP_CLASS_UID)
}

/// A LUT descriptor's three values; entries 0 mean 65536, and the first mapped value is read
/// as signed when the pixel data is signed (the VR may be US or SS).
fn descriptor(obj: &InMemDicomObject, tag: Tag, signed: bool) -> Option<(usize, i64, u16)> {
    let v = obj.get(tag)?.to_multi_int::<i64>().ok()?;
    if v.len() < 3 {
        return None;
    }
    let entries = if v[0] == 0 {
        65536
    } else {
        (v[0] & 0xFFFF) as usize
    };
    let mut first = v[1];
    if signed && (0x8000..=0xFFFF).contains(&first) {
        first -= 0x10000;
    } else if !signed && first < 0 {
        first += 0x10000;
    }
    let bits = u16::try_from(v[2]).ok()?;
    Some((entries, first, bits))
}

/// LUT data as 16-bit words or bytes, unpacked to one value per entry.
fn lut_data(obj: &InMemDicomObject, tag: Tag, entries: usize, bits: u16) -> Option<Vec<u16>> {
    let elem = obj.get(tag)?;
    let prim = elem.value().primitive()?;
    let data: Vec<u16> = match prim {
        PrimitiveValue::U16(v) => {
            if bits == 8 && v.len() * 2 == entries {
                // two 8-bit entries packed in each word, low byte first
                v.iter().flat_map(|w| [w & 0xFF, w >> 8]).collect()
            } else {
                v.to_vec()
            }
        }
        PrimitiveValue::I16(v) => v.iter().map(|&x| x as u16).collect(),
        PrimitiveValue::U8(v) => {
            if v.len() == entries || bits <= 8 && v.len() < entries * 2 {
                v.iter().map(|&b| u16::from(b)).collect()
            } else {
                v.chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect()
            }
        }
        _ => return None,
    };
    Some(data)
}

fn lut_in(item: &InMemDicomObject, desc_tag: Tag, data_tag: Tag, signed: bool) -> Option<Lut> {
    let (entries, first, bits) = descriptor(item, desc_tag, signed)?;
    let data = lut_data(item, data_tag, entries, bits)?;
    if data.is_empty() {
        return None;
    }
    Some(Lut {
        first,
        bits: bits.clamp(1, 16),
        data,
    })
}

fn first_item(obj: &InMemDicomObject, tag: Tag) -> Option<&InMemDicomObject> {
    obj.get(tag)?.items()?.first()
}

pub(crate) fn image_attrs(h: &Header) -> Result<ImageAttrs, RenderError> {
    let obj = &h.obj;
    let need = |tag: Tag, name: &str| {
        int(obj, tag).ok_or_else(|| RenderError::Unsupported(format!("no {name}")))
    };
    let rows = need(tags::ROWS, "Rows")?;
    let cols = need(tags::COLUMNS, "Columns")?;
    let bits_allocated = need(tags::BITS_ALLOCATED, "Bits Allocated")?;
    let spp = int(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    let bits_stored = int(obj, tags::BITS_STORED).unwrap_or(bits_allocated);
    // any of these may be an IS string holding i64::MIN: no arithmetic before the checks below
    let high_bit = int(obj, tags::HIGH_BIT).unwrap_or_else(|| bits_stored.saturating_sub(1));
    let signed = int(obj, tags::PIXEL_REPRESENTATION).unwrap_or(0) == 1;
    let planar = int(obj, tags::PLANAR_CONFIGURATION).unwrap_or(0);
    let frames = number_of_frames(obj);

    check_geometry(
        rows,
        cols,
        bits_allocated,
        bits_stored,
        high_bit,
        spp,
        frames,
    )?;
    let mut photometric = string(obj, tags::PHOTOMETRIC_INTERPRETATION).to_ascii_uppercase();
    if photometric.is_empty() {
        photometric = if spp == 3 {
            "RGB".into()
        } else {
            "MONOCHROME2".into()
        };
    }

    let slope = float(obj, tags::RESCALE_SLOPE)
        .filter(|s| *s != 0.0)
        .unwrap_or(1.0);
    let intercept = float(obj, tags::RESCALE_INTERCEPT).unwrap_or(0.0);
    let modality_lut = first_item(obj, tags::MODALITY_LUT_SEQUENCE)
        .and_then(|it| lut_in(it, tags::LUT_DESCRIPTOR, tags::LUT_DATA, signed));
    let (window, voi_function, voi_lut) = voi(obj, signed, intercept);
    let padding =
        int(obj, tags::PIXEL_PADDING_VALUE).map(|v| (v, int(obj, tags::PIXEL_PADDING_RANGE_LIMIT)));
    let padding = padding.map(|(v, l)| {
        (
            fix_sign(v, signed, bits_stored),
            l.map(|l| fix_sign(l, signed, bits_stored)),
        )
    });

    let palette = if photometric == "PALETTE COLOR" {
        Some(palette(obj)?)
    } else {
        None
    };
    let aspect = obj
        .get(tags::PIXEL_ASPECT_RATIO)
        .and_then(|e| e.to_multi_float64().ok())
        .filter(|v| v.len() == 2 && v.iter().all(|x| x.is_finite() && *x > 0.0))
        .map(|v| (v[0], v[1]));

    Ok(ImageAttrs {
        sop_class_uid: string(obj, tags::SOP_CLASS_UID),
        modality: string(obj, tags::MODALITY),
        rows: rows as u32,
        cols: cols as u32,
        spp: spp as u16,
        bits_allocated: bits_allocated as u16,
        bits_stored: bits_stored as u16,
        high_bit: high_bit as u16,
        signed,
        planar: planar as u16,
        photometric,
        frames: frames as u32,
        slope,
        intercept,
        modality_lut,
        window,
        voi_function,
        voi_lut,
        padding,
        palette,
        aspect,
        presentation_inverse: string(obj, tags::PRESENTATION_LUT_SHAPE)
            .eq_ignore_ascii_case("INVERSE"),
    })
}

/// Number of Frames; "1A" and the like are read by their leading digits, as other toolkits do.
fn number_of_frames(obj: &InMemDicomObject) -> i64 {
    match obj.get(tags::NUMBER_OF_FRAMES) {
        None => 1,
        Some(e) => match e.to_int::<i64>() {
            Ok(n) => n,
            Err(_) => {
                // "1A" and the like: read the leading digits like other toolkits do
                let s = e.to_str().map(|s| s.to_string()).unwrap_or_default();
                let digits: String = s
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                digits.parse().unwrap_or(1)
            }
        },
    }
    .max(1)
}

/// The geometry an image must have to be drawn at all.
fn check_geometry(
    rows: i64,
    cols: i64,
    bits_allocated: i64,
    bits_stored: i64,
    high_bit: i64,
    spp: i64,
    frames: i64,
) -> Result<(), RenderError> {
    if !(1..=65535).contains(&rows) || !(1..=65535).contains(&cols) {
        return Err(RenderError::Unsupported(format!(
            "image size {cols}x{rows}"
        )));
    }
    if !matches!(bits_allocated, 1 | 8 | 16 | 32) {
        return Err(RenderError::Unsupported(format!(
            "Bits Allocated {bits_allocated}"
        )));
    }
    if bits_stored < 1
        || bits_stored > bits_allocated
        || high_bit < bits_stored - 1
        || high_bit >= bits_allocated
    {
        return Err(RenderError::Unsupported(format!(
            "Bits Stored {bits_stored} / High Bit {high_bit} with Bits Allocated {bits_allocated}"
        )));
    }
    if !matches!(spp, 1 | 3) {
        return Err(RenderError::Unsupported(format!("Samples per Pixel {spp}")));
    }
    if frames > 1_000_000 {
        return Err(RenderError::Unsupported(format!(
            "Number of Frames {frames}"
        )));
    }
    Ok(())
}

/// The first VOI window, the VOI LUT Function, and the VOI LUT (whose input is the modality
/// output: its first value is signed when that can be negative).
fn voi(
    obj: &InMemDicomObject,
    signed: bool,
    intercept: f64,
) -> (Option<(f64, f64)>, VoiFunction, Option<Lut>) {
    let window = match (
        first_float(obj, tags::WINDOW_CENTER),
        first_float(obj, tags::WINDOW_WIDTH),
    ) {
        (Some(c), Some(w)) if w > 0.0 => Some((c, w)),
        _ => None,
    };
    let voi_function = match string(obj, tags::VOILUT_FUNCTION)
        .to_ascii_uppercase()
        .as_str()
    {
        "LINEAR_EXACT" => VoiFunction::LinearExact,
        "SIGMOID" => VoiFunction::Sigmoid,
        _ => VoiFunction::Linear,
    };
    // VOI LUT input is the modality output: its first value is signed when that can be negative
    let voi_lut = first_item(obj, tags::VOILUT_SEQUENCE).and_then(|it| {
        lut_in(
            it,
            tags::LUT_DESCRIPTOR,
            tags::LUT_DATA,
            signed || intercept < 0.0,
        )
    });
    (window, voi_function, voi_lut)
}

/// US/SS attributes may come back with the wrong sign for the pixel representation.
fn fix_sign(v: i64, signed: bool, bits: i64) -> i64 {
    if signed && (0x8000..=0xFFFF).contains(&v) && bits <= 16 {
        v - 0x10000
    } else {
        v
    }
}

fn palette(obj: &InMemDicomObject) -> Result<Palette, RenderError> {
    let descs = [
        tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
        tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
        tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
    ];
    let datas = [
        tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    ];
    let segmented = [
        tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        tags::SEGMENTED_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        tags::SEGMENTED_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    ];
    let signed = int(obj, tags::PIXEL_REPRESENTATION).unwrap_or(0) == 1;
    let mut luts = Vec::with_capacity(3);
    for i in 0..3 {
        let (entries, first, bits) = descriptor(obj, descs[i], signed).ok_or_else(|| {
            RenderError::Unsupported("PALETTE COLOR without a palette descriptor".into())
        })?;
        let data = if let Some(d) = lut_data(obj, datas[i], entries, bits) {
            d
        } else if let Some(seg) = segmented_words(obj, segmented[i], bits) {
            super::lut::expand_segmented(&seg, entries, if bits == 8 { 8 } else { 16 })?
        } else {
            return Err(RenderError::Unsupported(
                "PALETTE COLOR without palette data".into(),
            ));
        };
        if data.is_empty() {
            return Err(RenderError::Unsupported("empty palette".into()));
        }
        luts.push(Lut {
            first,
            bits: bits.clamp(1, 16),
            data,
        });
    }
    let mut it = luts.into_iter();
    match (it.next(), it.next(), it.next()) {
        (Some(r), Some(g), Some(b)) => Ok(Palette { r, g, b }),
        _ => Err(RenderError::Unsupported("incomplete palette".into())),
    }
}

/// Segmented palette data: 16-bit words, or bytes when the entries are 8-bit (as pydicom and
/// DCMTK read them).
fn segmented_words(obj: &InMemDicomObject, tag: Tag, bits: u16) -> Option<Vec<u16>> {
    let prim = obj.get(tag)?.value().primitive()?;
    let words: Vec<u16> = match prim {
        PrimitiveValue::U16(v) if bits == 8 => v.iter().flat_map(|w| [w & 0xFF, w >> 8]).collect(),
        PrimitiveValue::U16(v) => v.to_vec(),
        PrimitiveValue::I16(v) => v.iter().map(|&x| x as u16).collect(),
        PrimitiveValue::U8(v) if bits == 8 => v.iter().map(|&b| u16::from(b)).collect(),
        PrimitiveValue::U8(v) => v
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect(),
        _ => return None,
    };
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, VR};

    #[test]
    fn extreme_integers_are_refused_not_overflowed() {
        for (bits_allocated, bits_stored) in
            [("8", "-9223372036854775808"), ("-9223372036854775808", "")]
        {
            let mut obj = InMemDicomObject::new_empty();
            obj.put(DataElement::new(
                tags::ROWS,
                VR::US,
                PrimitiveValue::from(4u16),
            ));
            obj.put(DataElement::new(
                tags::COLUMNS,
                VR::US,
                PrimitiveValue::from(4u16),
            ));
            obj.put(DataElement::new(
                tags::BITS_ALLOCATED,
                VR::IS,
                PrimitiveValue::from(bits_allocated),
            ));
            if !bits_stored.is_empty() {
                obj.put(DataElement::new(
                    tags::BITS_STORED,
                    VR::IS,
                    PrimitiveValue::from(bits_stored),
                ));
            }
            let r = image_attrs(&Header { obj });
            assert!(matches!(r, Err(RenderError::Unsupported(_))), "{r:?}");
        }
    }
}
