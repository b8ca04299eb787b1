//! The byte layer's walk over hand-made streams: detection, lengths, nesting, pixel data.

use super::element::{UNDEFINED, has_long_length};
use super::syntax::EXPLICIT_VR_LITTLE_ENDIAN as EXPLICIT_VR_LE;
use super::*;
use dicom_core::header::VR;

fn explicit(tag: (u16, u16), vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&tag.0.to_le_bytes());
    v.extend_from_slice(&tag.1.to_le_bytes());
    v.extend_from_slice(vr);
    if has_long_length(VR::from_binary(*vr).unwrap()) {
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&(value.len() as u32).to_le_bytes());
    } else {
        v.extend_from_slice(&(value.len() as u16).to_le_bytes());
    }
    v.extend_from_slice(value);
    v
}

fn implicit(tag: (u16, u16), len: u32, value: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&tag.0.to_le_bytes());
    v.extend_from_slice(&tag.1.to_le_bytes());
    v.extend_from_slice(&len.to_le_bytes());
    v.extend_from_slice(value);
    v
}

fn part10(ts: &str, dataset: &[u8]) -> Vec<u8> {
    let mut ts = ts.as_bytes().to_vec();
    if ts.len() % 2 == 1 {
        ts.push(0);
    }
    let meta_body = explicit((2, 0x10), b"UI", &ts);
    let mut f = vec![0u8; 128];
    f.extend_from_slice(b"DICM");
    f.extend(explicit(
        (2, 0),
        b"UL",
        &(meta_body.len() as u32).to_le_bytes(),
    ));
    f.extend(meta_body);
    f.extend_from_slice(dataset);
    f
}

#[test]
fn detects_part10_and_finds_pixel_data() {
    let mut ds = explicit((8, 0x16), b"UI", b"1.2\0");
    ds.extend(explicit((0x7FE0, 0x10), b"OW", &[0; 8]));
    let f = part10(EXPLICIT_VR_LE, &ds);
    let Detected::Part10 {
        meta,
        dataset_start,
        format,
    } = detect(&f).unwrap()
    else {
        panic!("not part 10")
    };
    assert_eq!(format, SourceFormat::Part10);
    assert_eq!(meta.transfer_syntax_uid, EXPLICIT_VR_LE);
    let w = walk(&f, dataset_start, Encoding::ExplicitLe, f.len() as u64).unwrap();
    let Walk::PixelData { offset, header } = w.walk else {
        panic!("no pixel data: {w:?}")
    };
    assert_eq!(offset, dataset_start + 12);
    assert_eq!((header.header_len, header.len), (12, Some(8)));
    assert_eq!(header.vr, Some(VR::OW));
    // SOP Class UID is one of the elements render reads, and its range is handed on
    assert_eq!(w.image_elements, vec![dataset_start..dataset_start + 12]);
}

#[test]
fn refuses_a_length_beyond_the_file() {
    // The 674-byte file that makes dicom-object reserve gigabytes: one huge length.
    let mut ds = explicit((8, 0x16), b"UI", b"1.2\0");
    let mut bogus = explicit((0x10, 0x10), b"UT", b"x");
    bogus[8..12].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    ds.extend(bogus);
    let f = part10(EXPLICIT_VR_LE, &ds);
    let Detected::Part10 { dataset_start, .. } = detect(&f).unwrap() else {
        panic!()
    };
    let err = walk(&f, dataset_start, Encoding::ExplicitLe, f.len() as u64).unwrap_err();
    assert!(matches!(err, Malformed::BadLength { .. }), "{err:?}");
}

#[test]
fn refuses_deep_nesting_and_unclosed_sequences() {
    let mut ds = Vec::new();
    for _ in 0..5000 {
        ds.extend(implicit((0x0040, 0xA730), UNDEFINED, &[]));
        ds.extend(implicit((0xFFFE, 0xE000), UNDEFINED, &[]));
    }
    let err = walk(&ds, 0, Encoding::ImplicitLe, ds.len() as u64).unwrap_err();
    assert!(matches!(err, Malformed::TooDeep { .. }), "{err:?}");

    let unclosed = implicit((0x0040, 0xA730), UNDEFINED, &[]);
    let err = walk(&unclosed, 0, Encoding::ImplicitLe, unclosed.len() as u64).unwrap_err();
    assert!(matches!(err, Malformed::Truncated { .. }), "{err:?}");
}

#[test]
fn detects_headerless_implicit_dataset() {
    let mut ds = implicit((8, 0x16), 4, b"1.2\0");
    ds.extend(implicit((0x10, 0x10), 4, b"DOE "));
    assert_eq!(
        detect(&ds).unwrap(),
        Detected::Headerless {
            encoding: Encoding::ImplicitLe
        }
    );
    assert_eq!(
        walk(&ds, 0, Encoding::ImplicitLe, ds.len() as u64)
            .unwrap()
            .walk,
        Walk::End
    );
    assert_eq!(
        detect(b"<html><body>viewer</body></html>").unwrap(),
        Detected::NotDicom
    );
}

#[test]
fn walks_nested_sequences_of_both_kinds() {
    let item = implicit((8, 0x1150), 4, b"1.2\0");
    let mut seq = implicit((8, 0x1140), UNDEFINED, &[]);
    seq.extend(implicit((0xFFFE, 0xE000), item.len() as u32, &item));
    seq.extend(implicit((0xFFFE, 0xE000), UNDEFINED, &item));
    seq.extend(implicit((0xFFFE, 0xE00D), 0, &[]));
    seq.extend(implicit((0xFFFE, 0xE0DD), 0, &[]));
    seq.extend(implicit((0x20, 0x13), 2, b"1 "));
    assert_eq!(
        walk(&seq, 0, Encoding::ImplicitLe, seq.len() as u64)
            .unwrap()
            .walk,
        Walk::End
    );
    // Given only part of it, the walker asks for more rather than failing.
    let short = &seq[..20];
    assert!(matches!(
        walk(short, 0, Encoding::ImplicitLe, seq.len() as u64)
            .unwrap()
            .walk,
        Walk::NeedMore(_)
    ));
}

#[test]
fn pixel_check_follows_fragments_across_chunks() {
    let mut px = implicit((0xFFFE, 0xE000), 0, &[]);
    px.extend(implicit((0xFFFE, 0xE000), 6, &[1, 2, 3, 4, 5, 6]));
    px.extend(implicit((0xFFFE, 0xE0DD), 0, &[]));
    let mut check = PixelDataCheck::new(None, 0);
    for chunk in px.chunks(3) {
        check.feed(chunk).unwrap();
    }
    check.finish().unwrap();
    let mut cut = PixelDataCheck::new(None, 0);
    cut.feed(&px[..px.len() - 4]).unwrap();
    assert!(cut.finish().is_err());
    let mut native = PixelDataCheck::new(Some(10), 0);
    native.feed(&[0; 9]).unwrap();
    assert!(native.finish().is_err());
}

#[test]
fn steps_over_an_icon_image_with_its_own_compressed_pixels() {
    // (0088,0200) Icon Image Sequence, one item holding encapsulated Pixel Data, then the
    // image's own Pixel Data: the walk stops at the top-level one only.
    let mut ds = implicit((0x0088, 0x0200), UNDEFINED, &[]);
    ds.extend(implicit((0xFFFE, 0xE000), UNDEFINED, &[]));
    ds.extend(implicit((0x0028, 0x0010), 2, &[4, 0]));
    ds.extend(implicit((0x7FE0, 0x0010), UNDEFINED, &[]));
    ds.extend(implicit((0xFFFE, 0xE000), 0, &[]));
    ds.extend(implicit((0xFFFE, 0xE000), 4, &[0xFF, 0xD8, 0xFF, 0xD9]));
    ds.extend(implicit((0xFFFE, 0xE0DD), 0, &[]));
    ds.extend(implicit((0xFFFE, 0xE00D), 0, &[]));
    ds.extend(implicit((0xFFFE, 0xE0DD), 0, &[]));
    let top = ds.len();
    ds.extend(implicit((0x7FE0, 0x0010), 4, &[1, 2, 3, 4]));
    let w = walk(&ds, 0, Encoding::ImplicitLe, ds.len() as u64).unwrap();
    let Walk::PixelData { offset, .. } = w.walk else {
        panic!("{w:?}")
    };
    assert_eq!(offset, top);
    // a fragment that runs past the end is refused
    let mut cut = ds[..top].to_vec();
    let at = cut.len() - 3 * 8 - 4 - 4; // the last fragment's length
    cut[at..at + 4].copy_from_slice(&400u32.to_le_bytes());
    let err = walk(&cut, 0, Encoding::ImplicitLe, cut.len() as u64).unwrap_err();
    assert!(matches!(err, Malformed::BadLength { .. }), "{err:?}");
    assert!(err.to_string().contains("fragment"), "{err}");
}
