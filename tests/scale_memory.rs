//! Memory at scale (issue 6: "the catalog for 100,000 instances stays small"): what `scan`,
//! `pack` and `verify` keep per instance must be a small, fixed amount.
//!
//! One real 16×16 image of the sample disc is copied 400 and 4,000 times, each copy with its
//! own SOP Instance UID (patched in place, same length, in the file meta and the dataset), in
//! folders of 500 as discs hold them. Each command's peak RSS (GNU time) is measured at both
//! counts, and the growth per instance must stay under a budget. Measured when this test was
//! written: 1.1 KiB per instance for scan --json, 1.6 for pack, 2.5 for verify (at 100,000
//! instances: 113, 171 and 261 MB in all). The code before measured 4.2, 6.4 and 3.5, with pack
//! anywhere up to 30 from run to run (glibc's aligned allocations: see `dicompack::alloc`).

use crate::util::*;
use std::path::Path;
use std::time::Duration;

const FEW: usize = 400;
const MANY: usize = 4000;

fn make_copies(dir: &Path, count: usize) {
    let sample_path = repo().join("testdata/disc1/DICOM/ST000000/SE000002/IM000000");
    let sample = std::fs::read(&sample_path).expect("read the sample");
    let uid: &[u8] = b"2.25.59467685499271019145019199910558368322";
    let at: Vec<usize> = sample
        .windows(uid.len())
        .enumerate()
        .filter(|(_, w)| *w == uid)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        at.len(),
        2,
        "the sample's SOP Instance UID, in its file meta and its dataset"
    );
    for i in 0..count {
        let mut bytes = sample.clone();
        let digits = format!("{i:07}");
        for &a in &at {
            bytes[a + uid.len() - 7..a + uid.len()].copy_from_slice(digits.as_bytes());
        }
        let folder = dir.join(format!("SE{:04}", i / 500));
        std::fs::create_dir_all(&folder).expect("mkdir");
        std::fs::write(folder.join(format!("IM{i:06}")), bytes).expect("write a copy");
    }
}

/// Peak RSS in KiB of `dicompack ARGS`, which must exit with `code`.
fn peak(cwd: &Path, args: &[&str], code: i32, name: &str) -> u64 {
    let rss = cwd.join(format!("{name}.rss"));
    // This test is about memory: a debug build on a busy machine gets all the time it needs.
    let mut run = Bounded::new(cwd, args).timeout(Duration::from_secs(300));
    run.rss_file = Some(rss.clone());
    let out = run.go();
    assert!(
        out.process_failures().is_empty() && out.code == Some(code),
        "{name}: {:?}, exit {:?}: {}",
        out.process_failures(),
        out.code,
        tail(&out.stderr)
    );
    peak_rss_kib(&rss).expect("peak RSS from GNU time")
}

#[test]
fn memory_per_instance_stays_small() {
    if !interop("memory_per_instance_stays_small", &[Need::GnuTime]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let at = |count: usize| -> [u64; 3] {
        let input = tmp.path().join(format!("in{count}"));
        make_copies(&input, count);
        let input = input.to_str().expect("utf-8");
        let zip = tmp.path().join(format!("out{count}.zip"));
        let zip = zip.to_str().expect("utf-8");
        let scan = peak(tmp.path(), &["scan", input, "--json"], 0, "scan");
        let pack = peak(
            tmp.path(),
            &["pack", input, "-o", zip, "--no-thumbnails"],
            0,
            "pack",
        );
        let verify = peak(tmp.path(), &["verify", zip], 0, "verify");
        [scan, pack, verify]
    };
    let few = at(FEW);
    let many = at(MANY);
    let mut failures = Vec::new();
    for (i, (name, budget_kib)) in [("scan", 2.0), ("pack", 3.5), ("verify", 3.2)]
        .into_iter()
        .enumerate()
    {
        let per = many[i].saturating_sub(few[i]) as f64 / (MANY - FEW) as f64;
        eprintln!(
            "{name}: peak RSS {} KiB for {FEW} instances, {} KiB for {MANY}: {per:.2} KiB per instance (budget {budget_kib})",
            few[i], many[i]
        );
        if per > budget_kib {
            failures.push(format!(
                "{name} keeps {per:.2} KiB per instance (budget {budget_kib} KiB): {} KiB for {FEW}, {} KiB for {MANY}",
                few[i], many[i]
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
