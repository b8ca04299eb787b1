//! Every series of every public collection the tests fetch (tools/fetch-collections, and
//! pydicom's own test files, tools/fetch-test-files) gets a preview that looks like the image,
//! as pydicom draws it (tests/util/collection_ref.py: Modality LUT, the first VOI window or LUT
//! or none, MONOCHROME1 inverted, colour and palette to RGB). These are files nobody tuned the
//! renderer for.
//!
//! The measure is the issue's: Spearman rank correlation of luminance at 64×64, at least
//! [`FAITHFUL`]. Ranks make it blind to the window (our automatic window against pydicom's
//! none is a monotonic difference) and to JPEG noise, and sharp to what matters: an image all
//! white, thresholded, inverted, the wrong frame or scrambled bits. The pipeline is the real
//! one: survey → catalog → `render::series::render_each`, which says which instance and frame
//! each preview shows, and the reference draws that same frame.
//!
//! The preview must show the image and frame the rule picks, as pydicom reads the
//! files (series of up to 8 instances). A series pydicom finds pixels in must get a preview; a series it cannot decode is counted
//! and not compared. The catalog keeps one file per SOP Instance UID; the other files of a
//! collection that share one (the same image in several transfer syntaxes) are each drawn as
//! a series of their own. A reference picture that is one flat grey at 64×64 has no ranks to
//! compare: our preview must then be flat too. The rest must be faithful or stand in
//! [`NOT_COMPARED`] with the reason.
//!
//! Needs: python3 with pydicom 3, numpy, Pillow, pylibjpeg (+ libjpeg, openjpeg), and the
//! fetched collections.

use crate::util::*;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use dicompack::render::series::{Outcome, SeriesRender, render_each};
use dicompack::scan::{Pass, Reason};
use serde_json::Value;

/// The threshold for a faithful preview.
const FAITHFUL: f64 = 0.8;

/// Colour images have no window on either side, so their luminance can be compared level for
/// level: a mean difference this small at 64×64 is the same picture (JPEG at quality 85 moves
/// a level or two). It decides where ranks cannot: a field of one colour with a few specks
/// (`ExplVR_BigEnd.dcm`, `SC_rgb_jpeg_dcmd.dcm`) ranks JPEG noise against ties.
const COLOUR_MAD: f64 = 4.0;

/// Series (by the file the preview shows, as `collection/path`) whose comparison says nothing,
/// each with the reason. Nothing is here to make the test pass.
const NOT_COMPARED: &[(&str, &str)] = &[];

/// The collections: (name, folder).
fn collections() -> Vec<(String, PathBuf)> {
    let mut all = Vec::new();
    let root = repo().join(".cache/collections");
    if let Ok(rd) = std::fs::read_dir(&root) {
        let mut dirs: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for d in dirs {
            let name = d.file_name().unwrap().to_string_lossy().into_owned();
            all.push((name, d));
        }
    }
    if pydicom_files().join("CT_small.dcm").is_file() {
        all.push(("pydicom".into(), pydicom_files()));
    }
    all
}

struct Job {
    /// the file and frame the preview shows
    drawn: Option<(String, u32)>,
    key: String,
    collection: String,
    outcome: Outcome,
    /// `collection/path` of the file shown
    shown: Option<String>,
    decoder_hint: String,
}

impl Job {
    fn drawn_is(&self, path: &str, frame: Option<u64>) -> bool {
        self.drawn
            .as_ref()
            .is_some_and(|(p, f)| p == path && frame == Some(u64::from(*f)))
    }
}

/// The previews of one collection, written out for the judge, and the judge's job lines.
fn render_collection(name: &str, dir: &Path, out: &Path, jobs: &mut Vec<Job>, lines: &mut String) {
    let survey = |input: &Path| {
        dicompack::survey::survey(&[input.to_path_buf()], Pass::Header, &|_| {}, &|_| {})
            .expect("surveying a collection")
    };
    let surveyed = survey(dir);
    // The catalog keeps one file per SOP Instance UID: collections hold the same image in
    // several transfer syntaxes under one UID, and each of those is a series of its own here.
    let mut catalogs = vec![surveyed.catalog];
    for u in &surveyed.skipped {
        if let Reason::Conflict { .. } = u.reason {
            catalogs.push(survey(&u.path).catalog);
        }
    }
    let made: Mutex<Vec<(String, Vec<String>, SeriesRender)>> = Mutex::new(Vec::new());
    for catalog in &catalogs {
        render_each(catalog, 256, &|s, r| {
            let files = s
                .instances
                .iter()
                .map(|i| i.source.display().to_string())
                .collect();
            made.lock().unwrap().push((s.uid.clone(), files, r));
        });
    }
    let rel = |p: &Path| {
        format!(
            "{name}/{}",
            p.strip_prefix(dir).unwrap_or(p).to_string_lossy()
        )
    };
    let mut made = made.into_inner().unwrap();
    made.sort_by(|a, b| a.1.cmp(&b.1));
    for (i, (uid, files, r)) in made.into_iter().enumerate() {
        let jpeg = out.join(format!("{name}-{i}.jpg"));
        std::fs::write(&jpeg, &r.jpeg).unwrap();
        let first = files.first().map(|f| rel(Path::new(f))).unwrap_or(uid);
        let key = r
            .drawn
            .as_ref()
            .map(|d| rel(&d.path))
            .unwrap_or(first.clone());
        let (chosen, frame) = match &r.drawn {
            Some(d) => (d.path.display().to_string(), d.frame),
            None => ("-".to_string(), 0),
        };
        lines.push_str(&format!(
            "{key}\t{}\t{chosen}\t{frame}\t{}\n",
            jpeg.display(),
            files.join("|")
        ));
        let shown = r.drawn.as_ref().map(|d| rel(&d.path));
        jobs.push(Job {
            drawn: r
                .drawn
                .as_ref()
                .map(|d| (d.path.display().to_string(), d.frame)),
            key,
            collection: name.to_string(),
            outcome: r.outcome,
            shown,
            decoder_hint: first,
        });
    }
}

fn judge(lines: &str) -> BTreeMap<String, Value> {
    let mut child = Command::new("python3")
        .arg(support_script("collection_ref.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut stdin = child.stdin.take().unwrap();
    let input = lines.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "collection_ref.py failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a JSON line from collection_ref.py");
            (v["key"].as_str().unwrap_or_default().to_string(), v)
        })
        .collect()
}

#[test]
fn every_collection_series_preview_is_faithful() {
    let check = "every_collection_series_preview_is_faithful";
    if !interop(check, &[Need::PydicomCodecs]) {
        return;
    }
    let all = collections();
    let missing = (!repo().join(".cache/collections").is_dir())
        .then(|| "no .cache/collections: run tools/fetch-collections".to_string());
    if !interop_when(&format!("{check} (collections)"), missing) {
        return;
    }
    let out = scratch("render_collections");
    let mut jobs = Vec::new();
    let mut lines = String::new();
    for (name, dir) in &all {
        render_collection(name, dir, &out, &mut jobs, &mut lines);
    }
    std::fs::write(out.join("jobs.tsv"), &lines).unwrap();
    let verdicts = judge(&lines);

    let listed: BTreeMap<&str, &str> = NOT_COMPARED.iter().copied().collect();
    let mut failures = Vec::new();
    let mut table = String::new();
    // per collection: (image series, decodable, faithful)
    let mut counts: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut seen_listed = Vec::new();
    for job in &jobs {
        let Some(v) = verdicts.get(&job.key) else {
            failures.push(format!("{}: no verdict from the judge", job.key));
            continue;
        };
        let images = v["images"].as_u64().unwrap_or(0);
        let c = counts.entry(job.collection.clone()).or_default();
        if images == 0 {
            // no instance with pixels: a labelled tile, never a drawn picture
            if job.shown.is_some() && job.outcome == Outcome::Preview {
                failures.push(format!(
                    "{}: pydicom finds no pixels, yet a preview was drawn",
                    job.key
                ));
            }
            continue;
        }
        c.0 += 1;
        let Some(shown) = &job.shown else {
            failures.push(format!(
                "{}: {images} image(s) in the series, but the tile says {:?}",
                job.decoder_hint, job.outcome
            ));
            continue;
        };
        // the rule, as pydicom reads the files (series of up to 8 instances)
        if let Some(want) = v["expected_path"].as_str() {
            let frame = v["expected_frame"].as_u64();
            if !job.drawn_is(want, frame) {
                failures.push(format!(
                    "{shown}: the rule picks {want} frame {frame:?} (pydicom's reading)"
                ));
            }
        }
        if v["chosen_is_image"] == Value::Bool(false) {
            failures.push(format!(
                "{shown}: the preview instance has no pixels for pydicom"
            ));
        }
        if v["decodable"] != Value::Bool(true) {
            table.push_str(&format!(
                "{shown:<70} not decodable by pydicom: {}\n",
                v["error"].as_str().unwrap_or("?")
            ));
            continue;
        }
        c.1 += 1;
        let rho = v["spearman"].as_f64();
        let ours_flat = v["ours_constant"] == Value::Bool(true);
        let ref_flat = v["ref_constant"] == Value::Bool(true);
        let mad = v["mad"].as_f64().unwrap_or(f64::INFINITY);
        let colour = v["colour"] == Value::Bool(true);
        let faithful = match (&job.outcome, rho) {
            (Outcome::Preview, Some(r)) => r >= FAITHFUL || colour && mad <= COLOUR_MAD,
            (Outcome::Preview, None) => ref_flat && ours_flat,
            _ => false,
        };
        let shown_rho = rho.map_or("flat".to_string(), |r| format!("{r:.3}"));
        let shown_rho = if colour {
            format!("{shown_rho} MAD {mad:.1}")
        } else {
            shown_rho
        };
        let note = match &job.outcome {
            Outcome::Failed { reason } => format!("  no preview: {reason}"),
            _ => String::new(),
        };
        if faithful {
            c.2 += 1;
        }
        let verdict = if faithful {
            ""
        } else if let Some(why) = listed.get(shown.as_str()) {
            seen_listed.push(shown.clone());
            c.2 += 0;
            table.push_str(&format!("{shown:<70} {shown_rho:>12}  listed: {why}\n"));
            continue;
        } else {
            failures.push(format!("{shown}: Spearman {shown_rho}{note}"));
            "  <-- not faithful"
        };
        table.push_str(&format!("{shown:<70} {shown_rho:>12}{verdict}{note}\n"));
    }
    for (file, _) in NOT_COMPARED {
        if !seen_listed.iter().any(|s| s == file) {
            failures.push(format!(
                "{file}: listed in NOT_COMPARED but faithful or not seen"
            ));
        }
    }
    let mut summary = String::new();
    let (mut ti, mut td, mut tf) = (0, 0, 0);
    for (name, (i, d, f)) in &counts {
        summary.push_str(&format!(
            "{name:<14} image series {i:>4}  decodable by pydicom {d:>4}  faithful {f:>4}\n"
        ));
        ti += i;
        td += d;
        tf += f;
    }
    summary.push_str(&format!(
        "{:<14} image series {ti:>4}  decodable by pydicom {td:>4}  faithful {tf:>4} ({:.1}%)\n",
        "all",
        100.0 * tf as f64 / td.max(1) as f64
    ));
    // straight to stderr: the numbers are the point of this test, passing or not
    let _ = writeln!(std::io::stderr(), "{table}\n{summary}");
    let _ = std::fs::write(out.join("summary.txt"), format!("{table}\n{summary}"));
    assert!(td > 0, "no decodable image series in the collections");
    assert!(
        failures.is_empty(),
        "{} series fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
