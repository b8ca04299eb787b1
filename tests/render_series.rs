//! Which image a series' preview shows, judged by pydicom (tests/util/collection_ref.py works
//! out what the rule picks from its own reading of the files, and draws it): the middle image by
//! Instance Number among the instances that have pixels, when the middle instance is a report;
//! the first non-empty frame of a segmentation whose 1-bit frames do not start on byte
//! boundaries; the middle frame of a cine. The series are made at test time from real pixel
//! data by tests/util/make_series.py.

use crate::util::*;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use dicompack::render::series::{Outcome, render_each};
use dicompack::scan::Pass;
use serde_json::Value;

#[test]
fn the_preview_shows_the_image_and_frame_the_rule_picks() {
    if !interop(
        "the_preview_shows_the_image_and_frame_the_rule_picks",
        &[Need::PydicomFiles, Need::PydicomCodecs],
    ) {
        return;
    }
    let dir = scratch("render_series");
    let made = make_series(&dir);

    let mut lines = String::new();
    let mut expect = Vec::new();
    for case in ["mixed", "seg", "cine"] {
        let surveyed =
            dicompack::survey::survey(&[made.join(case)], Pass::Header, &|_| {}, &|_| {}).unwrap();
        assert!(
            surveyed.skipped.is_empty(),
            "{case}: {:?}",
            surveyed.skipped
        );
        let got = Mutex::new(Vec::new());
        render_each(&surveyed.catalog, 256, &|s, r| {
            let files: Vec<String> = s
                .instances
                .iter()
                .map(|i| i.source.display().to_string())
                .collect();
            got.lock().unwrap().push((files, r));
        });
        let got = got.into_inner().unwrap();
        assert_eq!(got.len(), 1, "{case}: one series");
        let (files, r) = &got[0];
        assert_eq!(r.outcome, Outcome::Preview, "{case}");
        let drawn = r.drawn.clone().expect("a drawn image");
        let jpeg = dir.join(format!("{case}.jpg"));
        std::fs::write(&jpeg, &r.jpeg).unwrap();
        lines.push_str(&format!(
            "{case}\t{}\t{}\t{}\t{}\n",
            jpeg.display(),
            drawn.path.display(),
            drawn.frame,
            files.join("|")
        ));
        expect.push((case, drawn));
    }

    let mut child = Command::new("python3")
        .arg(support_script("collection_ref.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let verdicts: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut failures = Vec::new();
    for ((case, drawn), v) in expect.iter().zip(&verdicts) {
        assert_eq!(v["key"], *case);
        let want_path = PathBuf::from(v["expected_path"].as_str().unwrap_or_default());
        let want_frame = v["expected_frame"].as_u64();
        let rho = v["spearman"].as_f64().unwrap_or(0.0);
        eprintln!(
            "{case}: drew {} frame {}, pydicom's rule picks {} frame {want_frame:?}; Spearman {rho:.3}",
            drawn.path.display(),
            drawn.frame,
            want_path.display()
        );
        if drawn.path != want_path || Some(u64::from(drawn.frame)) != want_frame {
            failures.push(format!(
                "{case}: drew {} frame {}, the rule picks {} frame {want_frame:?}",
                drawn.path.display(),
                drawn.frame,
                want_path.display()
            ));
        }
        // the measure (a binary mask ranks with many ties: 0.89 for an exact match)
        if rho < 0.8 {
            failures.push(format!("{case}: Spearman {rho:.3} against pydicom"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// An image no decoder here can draw: its tile says so, and `pack` lists the series with the
/// reason in plain words: the compression, the bit depth, the size.
#[test]
fn pack_lists_why_a_preview_could_not_be_drawn() {
    if !interop(
        "pack_lists_why_a_preview_could_not_be_drawn",
        &[Need::PydicomFiles, Need::Pydicom],
    ) {
        return;
    }
    let dir = scratch("render_series_undrawable");
    let made = make_series(&dir);
    let input = made.join("undrawable");
    let zip = dir.join("out.zip");
    let run = dicompack(
        &[
            "pack",
            input.to_str().unwrap(),
            "-o",
            zip.to_str().unwrap(),
            "--json",
        ],
        &dir,
    );
    let json = run.json();
    let failures = json["render_failures"].as_array().expect("render_failures");
    assert_eq!(failures.len(), 1, "{}", run.describe());
    let line = failures[0].as_str().unwrap();
    for words in ["MPEG-4", "8-bit grey", "64x64", "cannot be drawn"] {
        assert!(line.contains(words), "{words:?} not in {line:?}");
    }
    let zip2 = dir.join("out2.zip");
    let text = dicompack(
        &[
            "pack",
            input.to_str().unwrap(),
            "-o",
            zip2.to_str().unwrap(),
        ],
        &dir,
    );
    assert!(
        text.all_text().contains(line),
        "the text report lists it: {}",
        text.describe()
    );
}

/// `make_series.py`: the test series made from pydicom's files, in `dir/made`.
fn make_series(dir: &std::path::Path) -> std::path::PathBuf {
    let made = dir.join("made");
    let o = Command::new("python3")
        .arg(support_script("make_series.py"))
        .arg(pydicom_files())
        .arg(&made)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    made
}
