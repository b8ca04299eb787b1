//! Every input the fuzzers ever found (fuzz/regressions/<target>/*, committed) replayed through the
//! real binary under the same memory bound and timeout as the hostile corpus: `scan` for
//! `scan_bytes` / `upstream_dicom_object` findings, `verify` and `extract` for `verify_zip` /
//! `upstream_zip` findings, `pack` (which draws a preview) for `render_bytes` findings. See
//! fuzz/README.md.

use crate::util::*;

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
        let out = Bounded::new(
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
            if let Err(e) = out.try_json() {
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
        let out = Bounded::new(
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
        let ex = Bounded::new(
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

/// `render_bytes` findings through `pack`, which draws the input's preview. Each is a few bytes
/// that claim far more (a huge frame, a deflate bomb), so what it costs must stay near what it
/// holds: peak RSS under 160 MiB, measured with GNU time, where the 1 GiB bound alone would let a
/// refused 1 GiB request pass. `pack` turns a panic in a decoder into a tile, so a panic shows
/// only on stderr: that fails too.
#[test]
fn hostile_fuzz_regressions_render() {
    const BUDGET_KIB: u64 = 160 * 1024;
    let time = interop(
        "hostile_fuzz_regressions_render: peak RSS",
        &[Need::GnuTime],
    );
    let mut failures = Vec::new();
    for input in inputs("render_bytes") {
        let tmp = tempfile::tempdir().expect("tempdir");
        let disc = tmp.path().join("disc");
        std::fs::create_dir(&disc).expect("mkdir");
        std::fs::copy(&input, disc.join("INPUT.DCM")).expect("copy");
        let package = tmp.path().join("out.zip");
        let rss = tmp.path().join("rss.txt");
        let mut run = Bounded::new(
            tmp.path(),
            &[
                "pack",
                disc.to_str().expect("utf-8"),
                "-o",
                package.to_str().expect("utf-8"),
                "--json",
            ],
        );
        if time {
            run.rss_file = Some(rss.clone());
        }
        let out = run.go();
        let mut f = out.process_failures();
        if out.stderr.contains("panicked") {
            f.push(format!("a panic (caught by pack): {}", tail(&out.stderr)));
        }
        if f.is_empty() {
            if !matches!(out.code, Some(0) | Some(3)) {
                f.push(format!(
                    "exit {:?}, expected 0 or 3; stderr: {}",
                    out.code,
                    tail(&out.stderr)
                ));
            }
            match out.try_json() {
                // an input the scan no longer accepts never reaches the renderer: it tests nothing
                Ok(v) if v["summary"]["instances"].as_u64() != Some(1) => {
                    f.push("the scan does not accept it, so nothing was drawn".into())
                }
                Ok(_) => {}
                Err(e) => f.push(e),
            }
        }
        if time {
            match peak_rss_kib(&rss) {
                Some(k) if k > BUDGET_KIB => f.push(format!(
                    "peak RSS {} MiB for a {}-byte input (budget 160 MiB)",
                    k / 1024,
                    std::fs::metadata(&input).map(|m| m.len()).unwrap_or(0)
                )),
                Some(_) => {}
                None => f.push("no peak RSS from GNU time".into()),
            }
        }
        failures.extend(f.into_iter().map(|x| format!("{}: {x}", input.display())));
    }
    report("fuzz regression (render)", &failures);
}
