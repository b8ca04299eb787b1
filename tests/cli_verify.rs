//! `dicompack verify` must catch tampering: each tampered package is built from a good package of
//! the sample disc, as a ZIP and as an extracted folder, and must give exit 1 and a `FAILED:`
//! verdict naming the damaged file. The untouched package (and one rewritten by our own ZIP code
//! without changes, the control for the harness) must give exit 0 and `OK:`. Needs only the binary.

use crate::util::*;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

type Entries = Vec<(String, Vec<u8>)>;

fn good() -> &'static Packed {
    static P: OnceLock<Packed> = OnceLock::new();
    P.get_or_init(|| {
        let p = pack("cli_verify_good", &[&sample_disc()], &[]);
        assert!(
            matches!(p.run.code, Some(0) | Some(3)),
            "pack failed:\n{}",
            p.run.describe()
        );
        p
    })
}

fn entries() -> Entries {
    read_zip(&good().zip)
}

/// The largest DICOM file in the package (the CT): the file we damage.
fn target(e: &Entries) -> String {
    e.iter()
        .filter(|(n, _)| n.starts_with("DICOM/"))
        .max_by_key(|(_, d)| d.len())
        .unwrap()
        .0
        .clone()
}

fn write_folder(dir: &Path, e: &Entries) {
    for (name, data) in e {
        let p = dir.join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, data).unwrap();
    }
}

fn verify(pkg: &Path) -> Run {
    dicompack(&["verify", pkg.to_str().unwrap()], pkg.parent().unwrap())
}

fn verdicts(run: &Run) -> (bool, bool) {
    let ok = run.stdout.lines().any(|l| l.starts_with("OK:"));
    let failed = run.stdout.lines().any(|l| l.starts_with("FAILED:"));
    (ok, failed)
}

fn assert_ok(pkg: &Path) {
    let run = verify(pkg);
    let (ok, failed) = verdicts(&run);
    assert!(
        run.code == Some(0) && ok && !failed,
        "verify {} should pass:\n{}",
        pkg.display(),
        run.describe()
    );
}

fn assert_failed(pkg: &Path, mentions: &[&str]) {
    let run = verify(pkg);
    let (ok, failed) = verdicts(&run);
    assert!(
        run.code == Some(1) && failed && !ok,
        "verify {} should fail with exit 1 and FAILED:\n{}",
        pkg.display(),
        run.describe()
    );
    for m in mentions {
        assert!(
            run.all_text().contains(m),
            "verify {} does not name {m}:\n{}",
            pkg.display(),
            run.describe()
        );
    }
}

/// `(code, file)` of every problem `verify --json` reports, in order.
fn problem_codes(pkg: &Path) -> Vec<(String, String)> {
    let run = dicompack(
        &["verify", pkg.to_str().unwrap(), "--json"],
        pkg.parent().unwrap(),
    );
    assert_eq!(run.code, Some(1), "{}", run.describe());
    let v = run.json();
    assert_eq!(v["ok"], Value::Bool(false), "{}", run.describe());
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert!(p["message"].is_string(), "{p}");
            let file = p["file"].as_str().unwrap_or_default().to_string();
            (p["code"].as_str().unwrap().to_string(), file)
        })
        .collect()
}

/// Verify names each of `found` (`(code, file)`) among its problems, and the text names the files.
fn assert_found(pkg: &Path, found: &[(&str, &str)]) {
    let files: Vec<&str> = found.iter().map(|(_, f)| *f).collect();
    assert_failed(pkg, &files);
    let got = problem_codes(pkg);
    for (code, file) in found {
        assert!(
            got.iter().any(|(c, f)| c == code && f == file),
            "verify {} does not report {code} for {file}: {got:?}",
            pkg.display()
        );
    }
}

/// Build the tampered package both as a ZIP and as a folder, and check both fail, finding
/// each of `found` (`(code, file)`).
fn tampered(name: &str, found: &[(&str, &str)], f: impl Fn(&mut Entries)) {
    let mut e = entries();
    f(&mut e);
    let dir = scratch(&format!("cli_verify_{name}"));
    let zip = dir.join("PKG.ZIP");
    write_zip(&zip, &e);
    assert_found(&zip, found);
    let folder = dir.join("PKG");
    write_folder(&folder, &e);
    assert_found(&folder, found);
}

/// Recompute SHA256.TXT for the current entries: drop lines for files that are gone, fix sums.
fn refresh_sums(e: &mut Entries) {
    let text =
        String::from_utf8(e.iter().find(|(n, _)| n == "SHA256.TXT").unwrap().1.clone()).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let (_, name) = line.split_once("  ").unwrap();
        if let Some((_, data)) = e.iter().find(|(n, _)| n == name) {
            out.push_str(&format!("{}  {}\n", sha256_hex(data), name));
        }
    }
    e.iter_mut().find(|(n, _)| n == "SHA256.TXT").unwrap().1 = out.into_bytes();
}

fn edit_manifest(e: &mut Entries, f: impl Fn(&mut Value)) {
    let m = e.iter_mut().find(|(n, _)| n == "MANIFEST.JSN").unwrap();
    let mut v: Value = serde_json::from_slice(&m.1).unwrap();
    f(&mut v);
    m.1 = serde_json::to_vec_pretty(&v).unwrap();
}

#[test]
fn good_package_verifies_as_zip_and_folder() {
    let p = good();
    assert_ok(&p.zip);
    assert_ok(&p.tree);
    // Control: our own rewrite of the ZIP, unchanged, still passes, so the failures below come
    // from the tampering and not from how we write ZIPs.
    let dir = scratch("cli_verify_control");
    let zip = dir.join("PKG.ZIP");
    write_zip(&zip, &entries());
    assert_ok(&zip);
    let folder = dir.join("PKG");
    write_folder(&folder, &entries());
    assert_ok(&folder);
}

#[test]
fn catches_one_flipped_byte_in_a_dicom_file() {
    let t = target(&entries());
    tampered("flipped_byte", &[("checksum_mismatch", &t)], |e| {
        let d = &mut e.iter_mut().find(|(n, _)| *n == t).unwrap().1;
        let at = d.len() - 100; // inside the pixel data: the file still parses
        d[at] ^= 0x01;
    });
}

#[test]
fn catches_a_missing_file() {
    let t = target(&entries());
    tampered(
        "missing_file",
        &[
            ("listed_but_missing", &t),
            ("dicomdir_references_missing_file", &t),
        ],
        |e| e.retain(|(n, _)| *n != t),
    );
}

#[test]
fn catches_an_extra_file() {
    tampered(
        "extra_text",
        &[
            ("not_a_package_file", "EXTRA.TXT"),
            ("not_listed", "EXTRA.TXT"),
        ],
        |e| e.push(("EXTRA.TXT".into(), b"hello\n".to_vec())),
    );
    // A valid DICOM file, unlisted everywhere: only "no file is unlisted" catches it.
    let t = target(&entries());
    let extra = "DICOM/ZZEXTRA";
    tampered(
        "extra_dicom",
        &[("not_listed", extra), ("not_in_dicomdir", extra)],
        |e| {
            let copy = e.iter().find(|(n, _)| *n == t).unwrap().1.clone();
            e.push((extra.into(), copy));
        },
    );
}

#[test]
fn catches_a_renamed_file() {
    let t = target(&entries());
    let renamed = format!("{}/ZZZZZZZZ", t.rsplit_once('/').unwrap().0);
    let found = [
        ("listed_but_missing", t.as_str()),
        ("not_listed", renamed.as_str()),
        ("dicomdir_references_missing_file", t.as_str()),
        ("not_in_dicomdir", renamed.as_str()),
    ];
    tampered("renamed_file", &found, |e| {
        e.iter_mut().find(|(n, _)| *n == t).unwrap().0 = renamed.clone();
    });
}

#[test]
fn catches_a_truncated_zip() {
    let good = fs::read(&good().zip).unwrap();
    let dir = scratch("cli_verify_truncated");
    for (label, len) in [
        ("half", good.len() / 2),
        ("tail", good.len() - 30),
        ("head", 100),
    ] {
        let zip: PathBuf = dir.join(format!("{label}.ZIP"));
        fs::write(&zip, &good[..len]).unwrap();
        assert_failed(&zip, &[]);
    }
}

#[test]
fn catches_a_dicomdir_pointing_to_a_missing_file() {
    // Remove a DICOM file and every other trace of it (SHA256.TXT line, manifest entry), so the
    // checksums and the manifest agree: only the DICOMDIR still references it.
    let t = target(&entries());
    tampered(
        "dicomdir_dangling",
        &[("dicomdir_references_missing_file", &t)],
        |e| {
            e.retain(|(n, _)| *n != t);
            let t2 = t.clone();
            edit_manifest(e, move |m| {
                m["instances"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|i| i["path"].as_str() != Some(&t2));
            });
            refresh_sums(e);
        },
    );
}

#[test]
fn catches_a_uid_changed_with_checksums_fixed() {
    // Change the SOP Instance UID inside one file (every copy: meta and dataset, same length) and
    // fix SHA256.TXT and the manifest's sha256/size: the file no longer matches the DICOMDIR.
    let e0 = entries();
    let t = target(&e0);
    let uid = manifest_instances(
        &serde_json::from_slice(&e0.iter().find(|(n, _)| n == "MANIFEST.JSN").unwrap().1).unwrap(),
    )
    .into_iter()
    .find(|i| i.path == t)
    .unwrap()
    .sop_instance_uid;
    let last = uid.as_bytes()[uid.len() - 1];
    let new_uid = format!(
        "{}{}",
        &uid[..uid.len() - 1],
        if last == b'1' { '2' } else { '1' }
    );
    tampered("uid_changed", &[("dicomdir_disagrees", &t)], |e| {
        let d = &mut e.iter_mut().find(|(n, _)| *n == t).unwrap().1;
        let mut count = 0;
        let mut i = 0;
        while let Some(pos) = d[i..].windows(uid.len()).position(|w| w == uid.as_bytes()) {
            d[i + pos..i + pos + uid.len()].copy_from_slice(new_uid.as_bytes());
            i += pos + uid.len();
            count += 1;
        }
        assert!(
            count >= 2,
            "expected the UID in the meta header and the dataset, found {count}"
        );
        let (sum, size) = (sha256_hex(d), d.len());
        let (t2, nu) = (t.clone(), new_uid.clone());
        edit_manifest(e, move |m| {
            for i in m["instances"].as_array_mut().unwrap() {
                if i["path"].as_str() == Some(&t2) {
                    i["sha256"] = sum.clone().into();
                    i["size"] = size.into();
                    i["sop_instance_uid"] = nu.clone().into();
                }
            }
        });
        refresh_sums(e);
    });
}

#[test]
fn problems_come_in_package_order_on_every_run() {
    // Entries are checked on several threads at once; what they find must still be reported in
    // the package's order, the same on every run. Every DICOM file gets a wrong listed checksum
    // (the files themselves are intact, so nothing else is found).
    let mut e = entries();
    let wrong = sha256_hex(b"not the file");
    let dicom: Vec<String> = e
        .iter()
        .map(|(n, _)| n.clone())
        .filter(|n| n.starts_with("DICOM/"))
        .collect();
    assert!(
        dicom.len() >= 10,
        "the sample package has {} DICOM files",
        dicom.len()
    );
    let sums = &mut e.iter_mut().find(|(n, _)| n == "SHA256.TXT").unwrap().1;
    let text = String::from_utf8(sums.clone()).unwrap();
    *sums = text
        .lines()
        .map(|line| {
            let (sum, name) = line.split_once("  ").unwrap();
            let sum = if name.starts_with("DICOM/") {
                &wrong
            } else {
                sum
            };
            format!("{sum}  {name}\n")
        })
        .collect::<String>()
        .into_bytes();
    let dir = scratch("cli_verify_order");
    let zip = dir.join("PKG.ZIP");
    write_zip(&zip, &e);
    let folder = dir.join("PKG");
    write_folder(&folder, &e);
    let mut walked = dicom.clone();
    walked.sort_by(|a, b| a.split('/').cmp(b.split('/')));
    for (pkg, order) in [(&zip, &dicom), (&folder, &walked)] {
        let expected: Vec<(String, String)> = order
            .iter()
            .map(|n| ("checksum_mismatch".to_string(), n.clone()))
            .collect();
        for _ in 0..5 {
            assert_eq!(problem_codes(pkg), expected, "verify {}", pkg.display());
        }
    }
}

#[test]
fn verify_missing_package_is_a_usage_error() {
    let run = dicompack(&["verify", "/nonexistent/dicompack-no-such.zip"], &repo());
    assert!(matches!(run.code, Some(1) | Some(2)), "{}", run.describe());
    assert!(
        !run.stdout.lines().any(|l| l.starts_with("OK:")),
        "{}",
        run.describe()
    );
}
