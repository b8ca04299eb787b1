//! dciodvfy (dicom3tools, an independent validator) over the DICOMDIR of a package of every
//! pydicom test file and the sample disc (issue 12): no error of our making. An error about an
//! element that a packed source itself lacks or leaves empty is the source's (we never invent
//! a date, a name or an ID); pydicom, not our scan, says which sources lack what.

use crate::util::*;

use std::collections::{BTreeMap, BTreeSet};

/// Prints each `Element|Module` error that no source behind a record of that module lacks.
const EXPLAIN: &str = r#"
import sys, json, pydicom
dicomdir, manifest, wanted = sys.argv[1], sys.argv[2], [w for w in sys.argv[3].split(',') if w]
sources = {i['path']: i['source']['path'] for i in json.load(open(manifest))['instances']}
by_type = {}
for rec in pydicom.dcmread(dicomdir).DirectoryRecordSequence:
    ref = rec.get('ReferencedFileID')
    if ref is None:
        continue
    path = '/'.join(ref) if not isinstance(ref, str) else ref
    by_type.setdefault(rec.DirectoryRecordType.replace(' ', '').upper(), []).append(sources[path])
alias = {'ENCAPSULATEDDOCUMENT': 'ENCAPDOC', 'KEYOBJECTDOCUMENT': 'KEYOBJECTDOC'}
levels = {'PATIENT', 'STUDY', 'SERIES'}
cache = {}
def lacks(src, key):
    ds = cache.get(src) or cache.setdefault(src, pydicom.dcmread(src, force=True))
    return not str(ds.get(key, '') or '').strip()
for w in wanted:
    key, module = w.split('|')
    m = module.replace('DirectoryRecord', '').upper()
    m = alias.get(m, m)
    if m in levels:
        candidates = [s for v in by_type.values() for s in v]
    else:
        candidates = by_type.get(m, [])
    if not any(lacks(s, key) for s in candidates):
        print(f'{key} in {module}')
"#;
use std::fs;

/// `(Element, Module)` of each dciodvfy error line, and the lines that are not of the
/// "Missing / Empty attribute" kind.
fn errors(report: &str) -> (BTreeSet<(String, String)>, Vec<String>) {
    let mut keyed = BTreeSet::new();
    let mut other = Vec::new();
    for line in report.lines().filter(|l| l.starts_with("Error")) {
        let field = |name: &str| {
            let start = line.find(&format!("{name}=<"))? + name.len() + 2;
            let end = line[start..].find('>')? + start;
            Some(line[start..end].to_string())
        };
        match (field("Element"), field("Module")) {
            (Some(e), Some(m)) if line.contains("attribute") => {
                keyed.insert((e, m));
            }
            _ => other.push(line.to_string()),
        }
    }
    (keyed, other)
}

#[test]
fn dciodvfy_finds_no_error_of_ours_in_the_dicomdir() {
    if !interop(
        "dciodvfy_finds_no_error_of_ours_in_the_dicomdir",
        &[Need::Dicom3tools, Need::Pydicom, Need::PydicomFiles],
    ) {
        return;
    }
    let dir = scratch("dicomdir-validator");
    let input = dir.join("in");
    copy_dir(&pydicom_files(), &input.join("pydicom"));
    copy_dir(&sample_disc(), &input.join("disc1"));
    let out = dir.join("out.zip");
    let run = dicompack(
        &[
            "pack",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--allow-multiple-patients",
            "--no-thumbnails",
        ],
        &dir,
    );
    assert!(matches!(run.code, Some(0 | 3)), "{}", run.describe());
    let files: BTreeMap<String, Vec<u8>> = read_zip(&out).into_iter().collect();
    let dicomdir = dir.join("DICOMDIR");
    fs::write(&dicomdir, &files["DICOMDIR"]).unwrap();
    let report = run_tool("dciodvfy", &[dicomdir.to_str().unwrap()], &dir);
    let text = format!("{}{}", report.stdout, report.stderr);
    let (keyed, other) = errors(&text);
    assert!(
        other.is_empty(),
        "dciodvfy errors of another kind:\n{}",
        other.join("\n")
    );

    // Which packed sources lack (or leave empty) each element dciodvfy names, among the
    // sources behind records of the module's type: pydicom reads our DICOMDIR and the sources.
    let manifest = dir.join("MANIFEST.JSN");
    fs::write(&manifest, &files["MANIFEST.JSN"]).unwrap();
    let wanted: Vec<String> = keyed.iter().map(|(e, m)| format!("{e}|{m}")).collect();
    let py = run_tool(
        "python3",
        &[
            "-c",
            EXPLAIN,
            dicomdir.to_str().unwrap(),
            manifest.to_str().unwrap(),
            &wanted.join(","),
        ],
        &dir,
    );
    assert_eq!(py.code, Some(0), "{}", py.describe());
    let ours: Vec<&str> = py.stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        ours.is_empty(),
        "dciodvfy errors no source explains:\n{}\n\nfull report:\n{text}",
        ours.join("\n")
    );
}
