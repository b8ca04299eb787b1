//! Every input the fuzzers ever found (fuzz/regressions/<target>/*, committed) replayed through the
//! real binary under the same memory bound and timeout as the hostile corpus: `scan` for
//! `scan_bytes` / `upstream_dicom_object` findings, `verify` and `extract` for `verify_zip` /
//! `upstream_zip` findings. See fuzz/README.md.

mod hostile_support;

use hostile_support::*;

fn inputs(target: &str) -> Vec<std::path::PathBuf> {
    let dir = repo().join("fuzz/regressions").join(target);
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && !p
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn hostile_fuzz_regressions_scan() {
    let mut failures = Vec::new();
    for input in inputs("scan_bytes")
        .into_iter()
        .chain(inputs("upstream_dicom_object"))
    {
        let tmp = tempfile::tempdir().expect("tempdir");
        let disc = tmp.path().join("disc");
        std::fs::create_dir(&disc).expect("mkdir");
        std::fs::copy(&input, disc.join("INPUT.DCM")).expect("copy");
        let out = Run::new(
            tmp.path(),
            &["scan", disc.to_str().expect("utf-8"), "--json"],
        )
        .go();
        let mut f = out.process_failures();
        if f.is_empty() {
            if !matches!(out.code, Some(0) | Some(3)) {
                f.push(format!(
                    "exit {:?}, expected 0 or 3; stderr: {}",
                    out.code,
                    tail(&out.stderr)
                ));
            }
            if let Err(e) = out.json() {
                f.push(e);
            }
        }
        failures.extend(f.into_iter().map(|x| format!("{}: {x}", input.display())));
    }
    report("fuzz regression (scan)", &failures);
}

#[test]
fn hostile_fuzz_regressions_verify() {
    let mut failures = Vec::new();
    for input in inputs("verify_zip")
        .into_iter()
        .chain(inputs("upstream_zip"))
    {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = Run::new(
            tmp.path(),
            &["verify", input.to_str().expect("utf-8"), "--json"],
        )
        .go();
        let mut f = out.process_failures();
        if f.is_empty() && out.code != Some(1) {
            f.push(format!(
                "verify: exit {:?}, expected 1; stderr: {}",
                out.code,
                tail(&out.stderr)
            ));
        }
        let dest = tmp.path().join("out");
        let ex = Run::new(
            tmp.path(),
            &[
                "extract",
                input.to_str().expect("utf-8"),
                dest.to_str().expect("utf-8"),
            ],
        )
        .go();
        f.extend(
            ex.process_failures()
                .into_iter()
                .map(|x| format!("extract: {x}")),
        );
        if ex.code == Some(0) {
            f.push("extract: exit 0 on a fuzzer-found input".into());
        }
        let around: Vec<String> = names(tmp.path())
            .into_iter()
            .filter(|n| n != "out")
            .collect();
        if !around.is_empty() {
            f.push(format!("extract: wrote outside DIR: {around:?}"));
        }
        failures.extend(f.into_iter().map(|x| format!("{}: {x}", input.display())));
    }
    report("fuzz regression (verify)", &failures);
}
