//! Render cost per thumbnail (256 px), for the report. Not part of the normal run:
//! `cargo test --release --test tests render_timing -- --ignored --nocapture`
//! Inputs: real pydicom test files, plus a large CR, its JPEG 2000 twin and a 100-frame cine
//! made from real files by tests/util/make_timing.py (needs pydicom + pylibjpeg-openjpeg).

use crate::util::*;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use dicompack::render::{RenderOptions, RenderSource, encode_jpeg, render_with_info};

fn time(path: &Path) -> (f64, String) {
    let object = scanned(path).expect("the scan uses the file");
    let src = RenderSource {
        path,
        object: &object,
    };
    let opts = RenderOptions::default();
    let mut times = Vec::new();
    let mut what = String::new();
    for _ in 0..7 {
        let t = Instant::now();
        let (img, info) = render_with_info(&src, &opts).expect("render");
        let jpg = encode_jpeg(&img, 85);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        what = format!(
            "{}x{} {} frame {}/{} via {} -> {}x{}, {} B JPEG",
            info.cols,
            info.rows,
            info.photometric,
            info.frame + 1,
            info.frames,
            info.decoder,
            img.width(),
            img.height(),
            jpg.len()
        );
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], what)
}

#[test]
#[ignore]
fn render_cost() {
    if !interop("render_cost", &[Need::PydicomFiles]) {
        return;
    }
    let dir = pydicom_files();
    let tmp = tempfile::tempdir().unwrap();
    let made = Command::new("python3")
        .arg(support_script("make_timing.py"))
        .arg(&dir)
        .arg(tmp.path())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let mut files: Vec<(String, std::path::PathBuf)> = [
        "MR_small.dcm",
        "CT_small.dcm",
        "JPGExtended.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "examples_jpeg2k.dcm",
        "693_J2KI.dcm",
        "examples_ybr_color.dcm",
        "examples_palette.dcm",
    ]
    .iter()
    .map(|f| (f.to_string(), dir.join(f)))
    .collect();
    if made {
        for f in ["large_cr.dcm", "large_cr_j2k.dcm", "us_cine_100.dcm"] {
            files.push((format!("made/{f}"), tmp.path().join(f)));
        }
    } else {
        interop_when(
            "render_cost: large CR / cine",
            Some("make_timing.py failed (needs pydicom + pylibjpeg-openjpeg)".into()),
        );
    }
    for (name, path) in files {
        let (ms, what) = time(&path);
        eprintln!("{name:<34} {ms:>8.2} ms  {what}");
    }
}
