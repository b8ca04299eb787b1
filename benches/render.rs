//! Render time per image, by codec: every image file of the fetched collections
//! (`.cache/collections`, tools/fetch-collections) and pydicom's test files
//! (`.cache/pydicom/test_files`, tools/fetch-test-files) drawn as a 256-pixel preview and
//! encoded as JPEG, as `pack` does for one series. Prints, per codec, how many files and the
//! median and the total of each file's median over `ROUNDS` draws.
//!
//! `cargo bench --bench render` (harness-less: plain timing, a table on stdout). The machine is
//! shared and noisy: compare a before and an after from back-to-back runs, never across days.
//! `DICOMPACK_BENCH_ROUNDS` sets the rounds (default 5).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use dicompack::render::{RenderOptions, RenderSource, encode_jpeg, render_with_info};
use dicompack::scan::{Content, inspect_file};

fn files(root: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}

fn codec(uid: &str) -> &'static str {
    match uid.trim_end_matches('\0').trim() {
        "1.2.840.10008.1.2" | "1.2.840.10008.1.2.1" | "1.2.840.10008.1.2.2" => "native",
        "1.2.840.10008.1.2.1.99" => "deflated",
        "1.2.840.10008.1.2.5" => "rle",
        "1.2.840.10008.1.2.4.50" | "1.2.840.10008.1.2.4.51" => "jpeg-dct",
        "1.2.840.10008.1.2.4.57" | "1.2.840.10008.1.2.4.70" => "jpeg-lossless",
        "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81" => "jpeg-ls",
        "1.2.840.10008.1.2.4.90" | "1.2.840.10008.1.2.4.91" => "jpeg2000",
        _ => "other",
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache");
    let mut all = Vec::new();
    files(&root.join("collections"), &mut all);
    files(&root.join("pydicom/test_files"), &mut all);
    if all.is_empty() {
        eprintln!("no files under .cache: run tools/fetch-collections and tools/fetch-test-files");
        return;
    }
    let rounds: usize = std::env::var("DICOMPACK_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
        .max(1);
    let opts = RenderOptions::default();
    // codec -> each file's median time in ms
    let mut by_codec: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for path in &all {
        let Ok(Content::Object(object)) = inspect_file(path) else {
            continue;
        };
        if !object.attrs.has_pixel_data {
            continue;
        }
        let src = RenderSource {
            path,
            object: &object,
        };
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let t = Instant::now();
            let Ok((img, _)) = render_with_info(&src, &opts) else {
                break;
            };
            std::hint::black_box(encode_jpeg(&img, 85));
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        if times.len() == rounds {
            by_codec
                .entry(codec(&object.transfer_syntax_uid))
                .or_default()
                .push(median(&mut times));
        }
    }
    println!(
        "{:<14} {:>6} {:>12} {:>12}",
        "codec", "files", "median ms", "total ms"
    );
    for (codec, mut t) in by_codec {
        let total: f64 = t.iter().sum();
        println!(
            "{codec:<14} {:>6} {:>12.2} {:>12.1}",
            t.len(),
            median(&mut t),
            total
        );
    }
}
