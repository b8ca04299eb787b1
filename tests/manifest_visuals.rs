//! MANIFEST.JSN names, for each series, what a person sees of it (issue 12): its preview, the
//! page that shows it, the page of every image, its reports. A receiving system need not guess
//! from page order.

use crate::util::*;

use std::collections::BTreeMap;

/// Packs the sample disc with `options`; returns the package's files and its manifest.
fn pack(case: &str, options: &[&str]) -> (BTreeMap<String, Vec<u8>>, serde_json::Value) {
    let dir = scratch(case);
    let out = dir.join("out.zip");
    let disc = sample_disc();
    let mut args = vec!["pack", disc.to_str().unwrap(), "-o", out.to_str().unwrap()];
    args.extend_from_slice(options);
    let run = dicompack(&args, &dir);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let files: BTreeMap<String, Vec<u8>> = read_zip(&out).into_iter().collect();
    let manifest = serde_json::from_slice(&files["MANIFEST.JSN"]).unwrap();
    (files, manifest)
}

#[test]
fn each_series_names_its_preview_and_its_page() {
    for thumbnails in ["series", "all"] {
        let (files, manifest) = pack(
            &format!("manifest-visuals-{thumbnails}"),
            &["--thumbnails", thumbnails],
        );
        let mut seen = 0;
        for p in manifest["patients"].as_array().unwrap() {
            for st in p["studies"].as_array().unwrap() {
                for se in st["series"].as_array().unwrap() {
                    let v = &se["visual"];
                    let preview = v["preview"].as_str().unwrap_or_else(|| panic!("{se}"));
                    let page = v["page"].as_str().unwrap_or_else(|| panic!("{se}"));
                    assert!(files.contains_key(preview), "{preview} not in the package");
                    let html = String::from_utf8_lossy(&files[page]);
                    // pages link relative to IHE_PDI/
                    let rel = preview.trim_start_matches("IHE_PDI/");
                    assert!(html.contains(rel), "{page} does not show {rel}");
                    // --thumbnails all draws every instance (a labelled tile for what is not
                    // an image), so every series has its page of images; otherwise none does.
                    match (thumbnails, v["images_page"].as_str()) {
                        ("all", Some(images)) => assert!(files.contains_key(images), "{images}"),
                        ("all", None) => panic!("no page of images: {se}"),
                        (_, Some(images)) => {
                            panic!("a page of images without --thumbnails all: {images}")
                        }
                        (_, None) => {}
                    }
                    for d in v["documents"].as_array().into_iter().flatten() {
                        assert!(files.contains_key(d.as_str().unwrap()), "{d}");
                    }
                    seen += 1;
                }
            }
        }
        assert!(seen > 1, "no series in the manifest");
    }
    // Without pages there is nothing to name.
    let (_, manifest) = pack("manifest-visuals-none", &["--no-thumbnails"]);
    let text = manifest.to_string();
    assert!(!text.contains("\"visual\""), "{text}");
}
