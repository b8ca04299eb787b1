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

/// For each source file and each PATIENT record of a DICOMDIR: its Specific Character Set as
/// written, the raw bytes of Patient Name (padding trimmed) and pydicom's decoding of it.
const SPELLINGS: &str = r#"
import sys, json, pydicom
def as_bytes(v):
    if isinstance(v, bytes):
        return v
    if hasattr(v, "original_string"):  # a PersonName already decoded
        return v.original_string
    return None
def spelling(ds):
    raw = ds.get_item("PatientName")
    raw = (as_bytes(raw.value) or b"").rstrip(b" \0") if raw is not None else b""
    cs = ds.get_item("SpecificCharacterSet")
    cs = cs.value if cs is not None and cs.value else ""
    if isinstance(cs, bytes):
        cs = cs.decode("ascii")
    elif not isinstance(cs, str):
        cs = "\\".join(cs)
    cs = cs.rstrip(" \0")
    return {"charset": cs, "raw": raw.hex(), "name": str(ds.PatientName)}
out = {"sources": {f: spelling(pydicom.dcmread(f)) for f in sys.argv[2:]}, "records": []}
for rec in pydicom.dcmread(sys.argv[1]).DirectoryRecordSequence:
    if rec.DirectoryRecordType == "PATIENT":
        out["records"].append(spelling(rec))
print(json.dumps(out))
"#;

/// One package of all the charset files: MANIFEST.JSN and INDEX.HTM name each patient as
/// pydicom does, and the DICOMDIR keeps each source's Specific Character Set and bytes (PS3.3
/// F.2: a record carries its own), so pydicom reads the same names from it and dcmdump reads it.
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
    let dump = run_tool("dcmdump", &["+sd", "DICOMDIR"], &p.tree);
    assert_eq!(dump.code, Some(0), "{}", dump.describe());
    let mut args = vec!["-c", SPELLINGS, "DICOMDIR"];
    args.extend(names.keys().map(String::as_str));
    let py = run_tool("python3", &args, &p.tree);
    assert_eq!(py.code, Some(0), "{}", py.describe());
    let spellings: serde_json::Value = serde_json::from_str(&py.stdout).unwrap();
    let records = spellings["records"].as_array().unwrap();
    let mut kept_source_set = 0;
    for (file, name) in &names {
        assert!(
            in_manifest.contains(name),
            "{file}: {name:?} not in MANIFEST.JSN {in_manifest:?}"
        );
        assert!(
            index.contains(name.as_str()),
            "{file}: {name:?} not in INDEX.HTM"
        );
        let source = &spellings["sources"][file];
        assert!(
            records.iter().any(|r| r["name"] == source["name"]),
            "{file}: pydicom reads {name:?} from the source but not from the DICOMDIR's records {records:?}"
        );
        let raw = hex::decode(source["raw"].as_str().unwrap()).unwrap();
        let non_ascii = raw.iter().any(|&b| b >= 0x80 || b == 0x1B);
        let charset = source["charset"].as_str().unwrap();
        if non_ascii && !charset.is_empty() && charset != "ISO_IR 192" {
            kept_source_set += 1;
            // Files of one patient (same name and ID) share a record, which keeps the spelling
            // of one of them.
            let same_patient: Vec<&serde_json::Value> = spellings["sources"]
                .as_object()
                .unwrap()
                .values()
                .filter(|s| s["name"] == source["name"])
                .collect();
            assert!(
                records.iter().any(|r| r["name"] == source["name"]
                    && same_patient
                        .iter()
                        .any(|s| r["charset"] == s["charset"] && r["raw"] == s["raw"])),
                "{file}: its PATIENT record keeps neither its Specific Character Set {charset:?} and bytes nor another file's of that patient; records: {records:?}"
            );
        }
    }
    assert!(
        kept_source_set >= 8,
        "only {kept_source_set} charset files had non-UTF-8 names to keep"
    );
}
