//! Patient names under every Specific Character Set (issue 12 item 3): each of pydicom's
//! charset files (ISO 2022 code extensions, Japanese, Korean, Chinese, the ISO 8859 family)
//! shows in `scan --json` the same patient name as pydicom 3 decodes it.

use crate::util::*;
use std::process::Command;

const PY: &str = r#"
import glob, json, os, pydicom
d = os.path.join(os.path.dirname(pydicom.__file__), "data", "charset_files")
out = {}
for f in sorted(glob.glob(os.path.join(d, "*.dcm"))):
    ds = pydicom.dcmread(f)
    if "PatientName" in ds and str(ds.PatientName):
        out[f] = str(ds.PatientName)
print(json.dumps(out))
"#;

#[test]
fn scan_json_shows_the_names_pydicom_decodes() {
    if !interop("charset names vs pydicom", &[Need::Pydicom]) {
        return;
    }
    let out = Command::new("python3").args(["-c", PY]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        names.len() >= 13,
        "pydicom found {} charset files",
        names.len()
    );
    let mut wrong = Vec::new();
    for (file, expected) in &names {
        let run = dicompack(&["scan", "--json", file], &repo());
        let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let got = doc["patients"][0]["names"][0].as_str().unwrap_or_default();
        if got != expected {
            wrong.push(format!("{file}: {got:?}, pydicom {expected:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
