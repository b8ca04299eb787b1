//! `dicompack verify` and `dicompack extract` on hostile packages: testdata/hostile/package/*.zip
//! (made by tools/make-hostile-corpus; outcomes in expected.json and EXPECTED.md) and a 1 GiB
//! zip bomb made at test time. Verify must say FAILED (exit 1) in bounded memory; extract must
//! refuse and write nothing outside its folder. Each test reports every failing case at once.

use crate::util::*;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// What verify must find: a problem with one of these codes or, where no code is right today
/// (expected.json's `code_note` says why), one of these words somewhere in its output.
enum Finding<'a> {
    CodeAny(&'a [String]),
    WordsAny(&'a [String]),
}

/// verify --json, verify (human), extract, extract --force: all the checks for one package.
fn check_package(
    pkg: &Path,
    finding: Finding,
    forbid_abs: &[String],
    timeout: Duration,
) -> Vec<String> {
    let mut f = Vec::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let pkg_copy = root.join("PKG.ZIP");
    std::fs::copy(pkg, &pkg_copy).expect("copy package");
    let pkg_s = pkg_copy.to_str().expect("utf-8");

    // verify --json
    let out = Bounded::new(root, &["verify", pkg_s, "--json"])
        .timeout(timeout)
        .go();
    let pf = out.process_failures();
    let mut all_output = String::new();
    if pf.is_empty() {
        if out.code != Some(1) {
            f.push(format!(
                "verify --json: exit {:?}, expected 1; stderr: {}",
                out.code,
                tail(&out.stderr)
            ));
        }
        match out.try_json() {
            Err(e) => f.push(format!("verify --json: {e}")),
            Ok(v) => {
                f.extend(problem_shape(&v).map(|x| format!("verify --json: {x}")));
                if let Finding::CodeAny(code_any) = finding {
                    let codes: Vec<&str> = v["problems"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p["code"].as_str())
                        .collect();
                    if !codes.iter().any(|c| code_any.iter().any(|a| a == c)) {
                        let mut found = codes.clone();
                        found.sort_unstable();
                        found.dedup();
                        f.push(format!(
                            "verify --json: no problem with a code of {code_any:?} (does it name the real problem?); found {found:?}"
                        ));
                    }
                }
            }
        }
        all_output.push_str(&out.all_output_lower());
    } else {
        f.extend(pf.into_iter().map(|x| format!("verify --json: {x}")));
    }

    // verify, for people
    let out = Bounded::new(root, &["verify", pkg_s]).timeout(timeout).go();
    let pf = out.process_failures();
    if pf.is_empty() {
        if out.code != Some(1) {
            f.push(format!(
                "verify: exit {:?}, expected 1; stderr: {}",
                out.code,
                tail(&out.stderr)
            ));
        }
        if !format!("{}{}", out.stdout, out.stderr).contains("FAILED:") {
            f.push(format!(
                "verify: no `FAILED:` in the output: {}",
                tail(&format!("{}{}", out.stdout, out.stderr))
            ));
        }
        all_output.push_str(&out.all_output_lower());
    } else {
        f.extend(pf.into_iter().map(|x| format!("verify: {x}")));
    }
    if let Finding::WordsAny(words) = finding
        && !all_output.is_empty()
        && !mentions_any(&all_output, words)
    {
        f.push(format!(
            "verify output names none of {words:?} (does it name the real problem?): {}",
            truncate(&all_output.replace('\n', " | "), 400)
        ));
    }

    // extract, then extract --force into a folder that already exists
    for force in [false, true] {
        let label = if force { "extract --force" } else { "extract" };
        for p in forbid_abs {
            let _ = std::fs::remove_file(p);
        }
        let cwd = root.join("cwd");
        let outdir = root.join("out");
        let _ = std::fs::remove_dir_all(&outdir);
        std::fs::create_dir_all(&cwd).expect("mkdir cwd");
        let sentinel = root.join("SENTINEL.TXT");
        std::fs::write(&sentinel, b"sentinel: must stay exactly like this\n").expect("sentinel");
        if force {
            std::fs::create_dir_all(&outdir).expect("mkdir out");
        }
        let before = names(root);
        let mut args = vec!["extract", pkg_s, outdir.to_str().expect("utf-8")];
        if force {
            args.push("--force");
        }
        let out = Bounded::new(&cwd, &args).timeout(timeout).go();
        f.extend(
            out.process_failures()
                .into_iter()
                .map(|x| format!("{label}: {x}")),
        );
        if !out.timed_out && out.code == Some(0) {
            f.push(format!("{label}: exit 0, expected a refusal"));
        }
        if std::fs::read(&sentinel).ok().as_deref()
            != Some(&b"sentinel: must stay exactly like this\n"[..])
        {
            f.push(format!(
                "{label}: the sentinel file NEXT TO the extraction folder was changed or removed"
            ));
        }
        let after: Vec<String> = names(root).into_iter().filter(|n| n != "out").collect();
        let before: Vec<String> = before.into_iter().filter(|n| n != "out").collect();
        if after != before {
            f.push(format!("{label}: the folder around DIR changed: before {before:?}, after {after:?} — WROTE OUTSIDE DIR"));
        }
        let cwd_names = names(&cwd);
        if !cwd_names.is_empty() {
            f.push(format!(
                "{label}: files appeared in the working directory: {cwd_names:?}"
            ));
        }
        for p in forbid_abs {
            if std::fs::symlink_metadata(p).is_ok() {
                f.push(format!(
                    "{label}: {p} was created — WROTE TO AN ABSOLUTE PATH FROM THE ARCHIVE"
                ));
                let _ = std::fs::remove_file(p);
            }
        }
        for link in symlinks_under(&outdir) {
            f.push(format!("{label}: left a symbolic link inside DIR: {link}"));
        }
    }
    f
}

/// Every problem is `{"code": "snake_case", "file": "…" or null, "message": "…"}`, and there is
/// at least one.
fn problem_shape(verdict: &Value) -> Option<String> {
    let Some(problems) = verdict["problems"].as_array().filter(|p| !p.is_empty()) else {
        return Some(format!("no problems listed: {verdict}"));
    };
    problems.iter().find_map(|p| {
        let code_ok = p["code"].as_str().is_some_and(is_code);
        let file_ok = p["file"].is_string() || p["file"].is_null();
        let message_ok = p["message"].as_str().is_some_and(|m| !m.is_empty());
        (!(code_ok && file_ok && message_ok)).then(|| format!("a problem of the wrong shape: {p}"))
    })
}

fn symlinks_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in rd.flatten() {
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_symlink() {
            found.push(format!(
                "{} -> {:?}",
                e.path().display(),
                std::fs::read_link(e.path()).ok()
            ));
        } else if ft.is_dir() {
            found.extend(symlinks_under(&e.path()));
        }
    }
    found
}

#[test]
fn hostile_packages_corpus() {
    let exp = expected();
    let cases = exp["package"].as_array().expect("package cases");
    assert!(
        cases.len() >= 20,
        "expected.json lists only {} packages",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in cases {
        let name = case["case"].as_str().expect("case");
        let timeout = if name.contains("bomb") {
            BOMB_TIMEOUT
        } else {
            TIMEOUT
        };
        let (code_any, reason_any) = (strings(&case["code_any"]), strings(&case["reason_any"]));
        let finding = match (code_any.is_empty(), reason_any.is_empty()) {
            (false, _) => Finding::CodeAny(&code_any),
            (true, false) => Finding::WordsAny(&reason_any),
            (true, true) => {
                panic!("package/{name}: expected.json gives neither code_any nor reason_any")
            }
        };
        let f = check_package(
            &hostile().join("package").join(name),
            finding,
            &strings(&case["forbid_abs"]),
            timeout,
        );
        failures.extend(f.into_iter().map(|x| format!("package/{name}: {x}")));
        assert_eq!(case["verify_exit"], Value::from(1));
    }
    report("hostile package", &failures);
}

/// 1 GiB of zeros in one entry, deflated into about a megabyte, with an honest SHA256.TXT (so
/// only bounded reading or a ratio limit can refuse it). Made here, not committed: too big.
#[test]
fn hostile_packages_zip_bomb_1gib() {
    use sha2::{Digest, Sha256};
    use std::io::Write;
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("BOMB.ZIP");
    let file = std::fs::File::create(&path).expect("create");
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .last_modified_time(zip::DateTime::default());
    let name = "DICOM/P0000001/S0000001/S0000001/I0000001";
    zip.start_file(name, opts).expect("start");
    let chunk = vec![0u8; 1 << 20];
    let mut sha = Sha256::new();
    for _ in 0..1024 {
        zip.write_all(&chunk).expect("write");
        sha.update(&chunk);
    }
    let sums = format!("{}  {name}\n", hex::encode(sha.finalize()));
    zip.start_file("SHA256.TXT", opts).expect("start");
    zip.write_all(sums.as_bytes()).expect("write");
    zip.finish().expect("finish");
    let size = std::fs::metadata(&path).expect("stat").len();
    eprintln!("zip bomb: {size} bytes on disk for 1 GiB");
    assert!(size < 8 << 20, "the bomb should be small, is {size} bytes");
    // The entry's checksum is honest, so what verify must find is about the entry itself: 1 GiB
    // of zeros is no DICOM file (or, read no further than a limit, too large to be one).
    let codes: Vec<String> = ["not_dicom", "no_file_header", "does_not_parse", "too_large"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let f = check_package(&path, Finding::CodeAny(&codes), &[], BOMB_TIMEOUT);
    report(
        "zip bomb",
        &f.into_iter()
            .map(|x| format!("zip bomb 1 GiB: {x}"))
            .collect::<Vec<_>>(),
    );
}

/// Verify's memory must not grow with the number of entries, beyond the little it keeps about
/// each. It once grew by ~35 KB per deflated entry (a fresh inflate state each, allocated with
/// an alignment glibc before 2.38 does not reuse after free): 37 MB more for 1,500 entries than
/// for 150. Here: the sample CT with its pixel data replaced by 300,000 zeros (larger than the
/// first piece scan reads, and it deflates to almost nothing), 150 and 1,500 times.
#[test]
fn verify_memory_does_not_grow_with_entries() {
    use std::io::Write;
    if !interop("verify_memory_does_not_grow_with_entries", &[Need::GnuTime]) {
        return;
    }
    let sample = std::fs::read(repo().join("testdata/disc1/DICOM/ST000001/SE000000/IM000000"))
        .expect("read");
    // (7FE0,0010) OW, explicit VR little endian: tag, VR, 2 reserved bytes, 4-byte length.
    let pixel = sample
        .windows(6)
        .position(|w| w == b"\xe0\x7f\x10\x00OW")
        .expect("the sample has Pixel Data");
    let mut dicom = sample[..pixel + 8].to_vec();
    dicom.extend_from_slice(&300_000u32.to_le_bytes());
    dicom.resize(dicom.len() + 300_000, 0);

    let tmp = tempfile::tempdir().expect("tempdir");
    let peak_kib = |entries: usize| -> u64 {
        let path = tmp.path().join(format!("MANY{entries}.ZIP"));
        let file = std::fs::File::create(&path).expect("create");
        let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default());
        for i in 0..entries {
            zip.start_file(format!("DICOM/P0000001/S0000001/S0000001/I{i:07}"), opts)
                .expect("start");
            zip.write_all(&dicom).expect("write");
        }
        zip.finish().expect("finish");
        let rss = tmp.path().join(format!("rss{entries}.txt"));
        let mut run = Bounded::new(
            tmp.path(),
            &["verify", path.to_str().expect("utf-8"), "--json"],
        );
        run.rss_file = Some(rss.clone());
        run.timeout = BOMB_TIMEOUT;
        let out = run.go();
        assert!(
            out.process_failures().is_empty() && out.code == Some(1),
            "verify of {entries} entries: {:?}, exit {:?}: {}",
            out.process_failures(),
            out.code,
            tail(&out.stderr)
        );
        peak_rss_kib(&rss).expect("peak RSS from GNU time")
    };
    let (few, many) = (peak_kib(150), peak_kib(1500));
    // What verify keeps per entry (its findings, a few UIDs) is well under a kilobyte.
    let per_entry = many.saturating_sub(few) as f64 / 1350.0;
    eprintln!(
        "verify peak RSS: {few} KiB for 150 entries, {many} KiB for 1,500 ({per_entry:.1} KiB per entry)"
    );
    assert!(
        per_entry < 8.0,
        "verify's memory grows with the number of entries: {few} KiB for 150, {many} KiB for 1,500 ({per_entry:.1} KiB per entry)"
    );
}
