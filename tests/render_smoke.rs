//! Every real test file either renders or yields a RenderError; nothing panics. Files that are
//! images must render. Set DICOMPACK_RENDER_OUT=dir to keep the thumbnails as PNG for a look.

use crate::util::*;

use dicompack::render::{RenderOptions, RenderSource, placeholder, render_with_info};

/// Files of the pydicom set that are images and must render. (Not `SC_rgb_jpeg.dcm`: its header
/// declares explicit VR and its data is implicit VR, which the scan refuses to pack, so render,
/// which draws what the scan read, never sees it; see `the_scan_and_render_agree_on_a_lying_header`.)
const MUST_RENDER: &[&str] = &[
    "693_J2KI.dcm",
    "CT_small.dcm",
    "ExplVR_BigEnd.dcm",
    "GDCMJ2K_TextGBR.dcm",
    "J2K_pixelrep_mismatch.dcm",
    "JPEG-lossy.dcm",
    "JPEG2000.dcm",
    "JPEGLSNearLossless_08.dcm",
    "JPEGLSNearLossless_16.dcm",
    "JPGExtended.dcm",
    "MR_small.dcm",
    "MR_small_RLE.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_expb.dcm",
    "MR_small_implicit.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "MR_small_padded.dcm",
    "SC_jpeg_no_color_transform.dcm",
    "SC_jpeg_no_color_transform_2.dcm",
    "SC_rgb_dcmtk_+eb+cr.dcm",
    "SC_rgb_dcmtk_+eb+cy+n1.dcm",
    "SC_rgb_dcmtk_+eb+cy+n2.dcm",
    "SC_rgb_dcmtk_+eb+cy+np.dcm",
    "SC_rgb_dcmtk_+eb+cy+s2.dcm",
    "SC_rgb_dcmtk_+eb+cy+s4.dcm",
    "SC_rgb_gdcm_KY.dcm",
    "SC_rgb_jls_lossy_line.dcm",
    "SC_rgb_jls_lossy_sample.dcm",
    "SC_rgb_jpeg_app14_dcmd.dcm",
    "SC_rgb_jpeg_dcmd.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "SC_rgb_jpeg_gdcm.dcm",
    "SC_rgb_jpeg_lossy_gdcm.dcm",
    "SC_rgb_rle.dcm",
    "SC_rgb_rle_16bit.dcm",
    "SC_rgb_rle_16bit_2frame.dcm",
    "SC_rgb_rle_2frame.dcm",
    "SC_rgb_rle_32bit.dcm",
    "SC_rgb_rle_32bit_2frame.dcm",
    "SC_rgb_small_odd.dcm",
    "SC_rgb_small_odd_big_endian.dcm",
    "SC_rgb_small_odd_jpeg.dcm",
    "SC_ybr_full_422_uncompressed.dcm",
    "examples_jpeg2k.dcm",
    "examples_overlay.dcm",
    "examples_palette.dcm",
    "examples_rgb_color.dcm",
    "examples_ybr_color.dcm",
    "image_dfl.dcm",
    "liver_1frame.dcm",
    "liver_expb_1frame.dcm",
    "rtdose.dcm",
    "rtdose_1frame.dcm",
    "rtdose_expb.dcm",
    "rtdose_expb_1frame.dcm",
    "rtdose_rle.dcm",
    "rtdose_rle_1frame.dcm",
    "badVR.dcm",
];

#[test]
fn every_real_file_renders_or_says_why() {
    if !interop("every_real_file_renders_or_says_why", &[Need::PydicomFiles]) {
        return;
    }
    let dir = pydicom_files();
    let out = std::env::var_os("DICOMPACK_RENDER_OUT").map(std::path::PathBuf::from);
    let mut files: Vec<_> = walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            !matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("txt" | "json" | "dump" | "icc" | "gz")
            )
        })
        .collect();
    files.sort();
    let (mut drawn, mut refused) = (0, 0);
    let mut failures = Vec::new();
    for path in &files {
        let name = path.strip_prefix(&dir).unwrap().display().to_string();
        let object = match scanned(path) {
            Ok(o) => o,
            Err(why) => {
                refused += 1;
                eprintln!("none {name}: not used by the scan: {why}");
                if MUST_RENDER.contains(&name.as_str()) {
                    failures.push(format!("{name}: not used by the scan: {why}"));
                }
                continue;
            }
        };
        let src = RenderSource {
            path,
            object: &object,
        };
        let t = std::time::Instant::now();
        let result = render_with_info(&src, &RenderOptions::default());
        let ms = t.elapsed().as_millis();
        if ms > 200 {
            eprintln!("slow {name}: {ms} ms");
        }
        match result {
            Ok((img, info)) => {
                drawn += 1;
                assert!(img.width() <= 256 && img.height() <= 256 && img.width() > 0);
                eprintln!(
                    "ok   {name}: {}x{} frame {}/{} {} {:?} via {}",
                    info.cols,
                    info.rows,
                    info.frame + 1,
                    info.frames,
                    info.photometric,
                    info.voi,
                    info.decoder
                );
                if let Some(out) = &out {
                    std::fs::create_dir_all(out).unwrap();
                    img.save(out.join(format!("{}.png", name.replace('/', "_"))))
                        .unwrap();
                }
            }
            Err(e) => {
                refused += 1;
                eprintln!("none {name}: {e}");
                if MUST_RENDER.contains(&name.as_str()) {
                    failures.push(format!("{name}: {e}"));
                }
                if let Some(out) = &out {
                    std::fs::create_dir_all(out).unwrap();
                    placeholder("No picture", &e.to_string(), 256)
                        .save(out.join(format!("{}.png", name.replace('/', "_"))))
                        .unwrap();
                }
            }
        }
    }
    eprintln!("{drawn} drawn, {refused} without a picture");
    assert!(
        failures.is_empty(),
        "images that did not render:\n{}",
        failures.join("\n")
    );
}

/// Cut and corrupted copies of real files of every codec: an error or a picture, never a panic.
#[test]
fn damaged_files_never_panic() {
    if !interop("damaged_files_never_panic", &[Need::PydicomFiles]) {
        return;
    }
    let dir = pydicom_files();
    let tmp = tempfile::tempdir().unwrap();
    let files = [
        "MR_small.dcm",
        "MR_small_RLE.dcm",
        "SC_rgb_jpeg_dcmtk.dcm",
        "JPGExtended.dcm",
        "SC_rgb_jpeg_gdcm.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "SC_rgb_jls_lossy_sample.dcm",
        "MR_small_jp2klossless.dcm",
        "examples_palette.dcm",
        "image_dfl.dcm",
        "SC_ybr_full_422_uncompressed.dcm",
        "examples_ybr_color.dcm",
    ];
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for f in files {
        let path = dir.join(f);
        let bytes = std::fs::read(&path).unwrap();
        let object = scanned(&path).unwrap();
        let offset = object.dataset_offset;
        let mut variants: Vec<Vec<u8>> = Vec::new();
        for k in [1, 3, 5, 7] {
            variants.push(bytes[..bytes.len() * k / 8].to_vec());
        }
        for _ in 0..8 {
            let mut b = bytes.clone();
            for _ in 0..8 {
                let at = offset as usize + (next() as usize) % (b.len() - offset as usize);
                b[at] = next() as u8;
            }
            variants.push(b);
        }
        for (i, v) in variants.iter().enumerate() {
            let p = tmp.path().join(format!("{i}.dcm"));
            std::fs::write(&p, v).unwrap();
            // as scanned before the damage (the file changed since), and as scanned now
            let now = scanned(&p).ok();
            let t = std::time::Instant::now();
            let mut r = render_with_info(
                &RenderSource {
                    path: &p,
                    object: &object,
                },
                &RenderOptions::default(),
            );
            if let Some(now) = &now {
                r = render_with_info(
                    &RenderSource {
                        path: &p,
                        object: now,
                    },
                    &RenderOptions::default(),
                );
            }
            if t.elapsed().as_millis() > 300 {
                eprintln!(
                    "slow damaged {f} #{i}: {} ms {:?}",
                    t.elapsed().as_millis(),
                    r.err()
                );
            }
        }
    }
}

/// One policy for a header that lies about its VR encoding: the scan refuses the file, with a
/// code, so neither the package nor the preview ever uses it.
#[test]
fn the_scan_and_render_agree_on_a_lying_header() {
    if !interop(
        "the_scan_and_render_agree_on_a_lying_header",
        &[Need::PydicomFiles],
    ) {
        return;
    }
    let dir = pydicom_files();
    let why = scanned(&dir.join("SC_rgb_jpeg.dcm")).unwrap_err();
    assert!(why.starts_with("vr_mismatch"), "{why}");
}
