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

/// pydicom's charset files and the patient name pydicom decodes from each.
fn pydicom_names() -> std::collections::BTreeMap<String, String> {
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
    names
}

#[test]
fn scan_json_shows_the_names_pydicom_decodes() {
    if !interop("charset names vs pydicom", &[Need::Pydicom]) {
        return;
    }
    let names = pydicom_names();
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

/// One package of all the charset files: MANIFEST.JSN and INDEX.HTM name each patient as
/// pydicom does, and the DICOMDIR (decoded text written as ISO_IR 192, UTF-8) reads back the
/// same names in DCMTK's dcmdump.
#[test]
fn package_manifest_pages_and_dicomdir_show_the_names_pydicom_decodes() {
    if !interop(
        "charset names in a package vs pydicom and dcmdump",
        &[Need::Pydicom, Need::Dcmtk],
    ) {
        return;
    }
    let names = pydicom_names();
    let inputs: Vec<&std::path::Path> = names.keys().map(std::path::Path::new).collect();
    let p = pack("charset-names", &inputs, &["--allow-multiple-patients"]);
    let in_manifest: Vec<String> = p.manifest["patients"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|pt| pt["names"].as_array().unwrap().iter())
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    let index = std::fs::read_to_string(p.tree.join("INDEX.HTM")).unwrap();
    let dump = run_tool("dcmdump", &["+U8", "DICOMDIR"], &p.tree);
    assert_eq!(dump.code, Some(0), "{}", dump.stderr);
    for (file, name) in &names {
        assert!(
            in_manifest.contains(name),
            "{file}: {name:?} not in MANIFEST.JSN {in_manifest:?}"
        );
        assert!(
            index.contains(name.as_str()),
            "{file}: {name:?} not in INDEX.HTM"
        );
        assert!(
            dump.stdout.contains(&format!("PN [{name}]")),
            "{file}: {name:?} not in the DICOMDIR"
        );
    }
    assert!(dump.stdout.contains("(0008,0005) CS [ISO_IR 192]"));
}
