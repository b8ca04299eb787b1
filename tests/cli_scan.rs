//! `dicompack scan` on the sample disc (testdata/disc1, described in testdata/README.md).
//! Needs only the binary.

use crate::util::*;
use serde_json::Value;
use std::collections::BTreeSet;

/// Distinct string values of keys named like `key` (case and '_' ignored) anywhere in `doc`.
fn values_of(doc: &Value, key: &str) -> BTreeSet<String> {
    let norm = |s: &str| s.to_lowercase().replace('_', "");
    let want = norm(key);
    let mut out = BTreeSet::new();
    fn walk(v: &Value, want: &str, norm: &dyn Fn(&str) -> String, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if norm(k) == want
                        && let Value::String(s) = x
                    {
                        out.insert(s.clone());
                    }
                    walk(x, want, norm, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, want, norm, out)),
            _ => {}
        }
    }
    walk(doc, &want, &norm, &mut out);
    out
}

#[test]
fn scan_tree_names_patient_studies_and_series() {
    let disc = sample_disc();
    let run = dicompack(&["scan", disc.to_str().unwrap()], &repo());
    assert_eq!(
        run.code,
        Some(0),
        "scan of the sample disc should exit 0:\n{}",
        run.describe()
    );
    let out = run.stdout.to_uppercase();
    assert!(
        out.contains(DISC_PATIENT_ID),
        "patient ID missing from the tree:\n{}",
        run.stdout
    );
    assert!(
        out.contains("DOE") && out.contains("JANE"),
        "patient name missing:\n{}",
        run.stdout
    );
    for s in DISC_STUDIES.iter().chain(DISC_SERIES.iter()) {
        assert!(
            out.contains(s),
            "study/series {s:?} missing from the tree:\n{}",
            run.stdout
        );
    }
}

#[test]
fn scan_lists_junk_as_ignored() {
    let disc = sample_disc();
    let run = dicompack(&["scan", disc.to_str().unwrap()], &repo());
    assert_eq!(
        run.code,
        Some(0),
        "junk must not change the exit code:\n{}",
        run.describe()
    );
    let text = run.all_text();
    for junk in DISC_JUNK {
        assert!(
            text.contains(junk),
            "{junk} not listed as ignored:\n{}",
            run.describe()
        );
    }
    assert!(
        text.to_lowercase().contains("ignored"),
        "no 'ignored' list:\n{}",
        run.describe()
    );
}

#[test]
fn scan_reports_file_not_in_dicomdir() {
    // im000006.dcm is a valid image the disc's DICOMDIR does not reference: the cross-check
    // must say so (and the disc is still usable: exit 0).
    let disc = sample_disc();
    let run = dicompack(&["scan", disc.to_str().unwrap()], &repo());
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(
        run.all_text().contains("im000006.dcm"),
        "unreferenced file not reported:\n{}",
        run.describe()
    );
}

#[test]
fn scan_json_has_the_right_counts() {
    let disc = sample_disc();
    let run = dicompack(&["scan", disc.to_str().unwrap(), "--json"], &repo());
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let doc = run.json();
    assert_eq!(
        values_of(&doc, "patient_id"),
        BTreeSet::from([DISC_PATIENT_ID.to_string()]),
        "patients in JSON"
    );
    assert_eq!(
        values_of(&doc, "study_instance_uid").len(),
        3,
        "studies in JSON:\n{doc:#}"
    );
    assert_eq!(
        values_of(&doc, "series_instance_uid").len(),
        5,
        "series in JSON:\n{doc:#}"
    );
    assert_eq!(
        values_of(&doc, "sop_instance_uid").len(),
        DISC_INSTANCES,
        "instances in JSON:\n{doc:#}"
    );
    let ignored: BTreeSet<String> = path_reasons(&doc)
        .into_iter()
        .filter_map(|(p, _)| {
            std::path::Path::new(&p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .collect();
    for junk in DISC_JUNK {
        assert!(
            ignored.contains(junk),
            "{junk} not listed with a reason in scan --json: {ignored:?}"
        );
    }
}

#[test]
fn scan_missing_input_is_a_usage_error() {
    let run = dicompack(&["scan", "/nonexistent/dicompack-no-such-disc"], &repo());
    assert_eq!(run.code, Some(2), "{}", run.describe());
}

/// `scan` reads headers only (no digests); `scan --read-all` reads every byte and gives each
/// file's SHA-256, which must be the file's.
#[test]
fn scan_read_all_gives_each_files_sha256() {
    let disc = sample_disc();
    let header = dicompack(&["scan", disc.to_str().unwrap(), "--json"], &repo());
    assert!(
        values_of(&header.json(), "sha256").is_empty(),
        "a header-only scan has no digests"
    );
    let run = dicompack(
        &["scan", disc.to_str().unwrap(), "--json", "--read-all"],
        &repo(),
    );
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let doc = run.json();
    let mut checked = 0;
    for study in doc["patients"].as_array().unwrap() {
        for st in study["studies"].as_array().unwrap() {
            for se in st["series"].as_array().unwrap() {
                for i in se["instances"].as_array().unwrap() {
                    let path = resolve(i["path"].as_str().unwrap(), &repo()).unwrap();
                    assert_eq!(
                        i["sha256"].as_str(),
                        Some(sha256_file(&path).as_str()),
                        "{}",
                        path.display()
                    );
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, DISC_INSTANCES);
}
