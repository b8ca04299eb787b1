//! Shared helpers for the integration tests: run the real binary, unpack and tamper with
//! packages, and call tools we did not write (DCMTK, pydicom, sha256sum).
//!
//! Interop tests call [`interop`] first: when a tool is missing they skip with a loud message,
//! unless `DICOMPACK_REQUIRE_INTEROP=1`, in which case they fail.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;
use sha2::{Digest, Sha256};

pub const REQUIRE_ENV: &str = "DICOMPACK_REQUIRE_INTEROP";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample_disc() -> PathBuf {
    repo().join("testdata/disc1")
}

/// pydicom's test files (tools/fetch-test-files); `DICOMPACK_PYDICOM_FILES` points elsewhere,
/// e.g. at a trimmed copy while investigating one failure.
pub fn pydicom_files() -> PathBuf {
    std::env::var_os("DICOMPACK_PYDICOM_FILES")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".cache/pydicom/test_files"))
}

pub fn support_script(name: &str) -> PathBuf {
    repo().join("tests/support").join(name)
}

/// A fresh, empty scratch folder under Cargo's per-target tmp dir (kept after the run so a
/// failure can be inspected).
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("dicompack-tests")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------------------------------------
// Running the binary

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all_text(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
    pub fn describe(&self) -> String {
        format!(
            "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn dicompack(args: &[&str], cwd: &Path) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_dicompack"))
        .args(args)
        .current_dir(cwd)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .expect("run dicompack");
    to_run(out)
}

fn to_run(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn run_tool(program: &str, args: &[&str], cwd: &Path) -> Run {
    let out = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    to_run(out)
}

// ---------------------------------------------------------------------------------------------
// Interop tools: present, or skip loudly, or fail under DICOMPACK_REQUIRE_INTEROP=1

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Dcmtk,
    Pydicom,
    PydicomFiles,
    Sha256sum,
}

fn tool_runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn available(need: Need) -> Result<(), String> {
    static CACHE: OnceLock<BTreeMap<String, Result<(), String>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| {
        let mut m = BTreeMap::new();
        // dcmftest has no --version; spawning it at all is enough.
        let dcmtk = ["dcmdump", "dcmftest", "dcmmkdir"]
            .iter()
            .all(|t| Command::new(t).output().is_ok());
        m.insert(
            "Dcmtk".into(),
            if dcmtk {
                Ok(())
            } else {
                Err("DCMTK (dcmdump, dcmftest, dcmmkdir) not found: apt-get install dcmtk".into())
            },
        );
        let py = tool_runs(
            "python3",
            &[
                "-c",
                "import sys, pydicom; sys.exit(0 if pydicom.__version__.startswith('3.') else 1)",
            ],
        );
        m.insert(
            "Pydicom".into(),
            if py {
                Ok(())
            } else {
                Err("python3 with pydicom 3 not found: pip install pydicom==3.0.2".into())
            },
        );
        let files = pydicom_files().join("CT_small.dcm").is_file();
        m.insert(
            "PydicomFiles".into(),
            if files {
                Ok(())
            } else {
                Err(format!(
                    "{} missing: run tools/fetch-test-files",
                    pydicom_files().display()
                ))
            },
        );
        let sha = tool_runs("sha256sum", &["--version"]);
        m.insert(
            "Sha256sum".into(),
            if sha {
                Ok(())
            } else {
                Err("sha256sum (coreutils) not found".into())
            },
        );
        m
    });
    cache[&format!("{need:?}")].clone()
}

/// True when every need is met. Otherwise: panic under DICOMPACK_REQUIRE_INTEROP=1, else print
/// a loud skip message and return false (the caller returns early).
pub fn interop(test: &str, needs: &[Need]) -> bool {
    let missing: Vec<String> = needs.iter().filter_map(|n| available(*n).err()).collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var(REQUIRE_ENV).as_deref() == Ok("1") {
        panic!("{test}: {REQUIRE_ENV}=1 but: {}", missing.join("; "));
    }
    // Straight to the process's stderr: libtest captures eprintln! of passing tests, and a skip
    // must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!!!! SKIPPED interop test `{test}`: {}\n!!!!!!!!!! (set {REQUIRE_ENV}=1 to make this a failure; .ci/run does)\n",
        missing.join("; ")
    );
    false
}

// ---------------------------------------------------------------------------------------------
// Files, checksums, ZIPs

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn sha256_file(path: &Path) -> String {
    sha256_hex(&fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())))
}

/// Every regular file under `root`, as '/'-separated relative paths.
pub fn files_under(root: &Path) -> BTreeSet<String> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| rel_string(e.path().strip_prefix(root).unwrap()))
        .collect()
}

pub fn rel_string(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Entries of a ZIP as (name, bytes), in archive order. Directory entries are dropped.
pub fn read_zip(zip: &Path) -> Vec<(String, Vec<u8>)> {
    let file = fs::File::open(zip).unwrap();
    let mut archive = zip::ZipArchive::new(file)
        .unwrap_or_else(|e| panic!("{} is not a ZIP: {e}", zip.display()));
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        if entry.is_dir() {
            continue;
        }
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|e| panic!("bad entry name: {e}"));
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.push((name, data));
    }
    out
}

/// Write entries as a new ZIP (deflated). Used to build tampered packages from a good one.
pub fn write_zip(zip: &Path, entries: &[(String, Vec<u8>)]) {
    let file = fs::File::create(zip).unwrap();
    let mut w = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap();
}

/// Unpack a ZIP into `dest`, refusing absolute or `..` names (a package must not contain them).
pub fn extract_zip(zip: &Path, dest: &Path) {
    for (name, data) in read_zip(zip) {
        let rel = Path::new(&name);
        assert!(
            rel.components().all(|c| matches!(c, Component::Normal(_))),
            "unsafe entry name in package: {name:?}"
        );
        let path = dest.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, data).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// A packed package

pub struct Packed {
    pub zip: PathBuf,
    /// The same package, extracted by us (not by dicompack).
    pub tree: PathBuf,
    pub run: Run,
    pub cwd: PathBuf,
    pub manifest: Value,
}

/// `dicompack pack INPUTS -o <scratch>/OUT.ZIP --json EXTRA...`, then extract the ZIP.
/// Panics if no ZIP was written.
pub fn pack(name: &str, inputs: &[&Path], extra: &[&str]) -> Packed {
    let dir = scratch(name);
    let zip = dir.join("OUT.ZIP");
    let mut args: Vec<String> = vec!["pack".into()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend(["-o".into(), zip.display().to_string(), "--json".into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = dicompack(&argv, &dir);
    assert!(
        zip.is_file(),
        "pack wrote no package at {}:\n{}",
        zip.display(),
        run.describe()
    );
    let tree = dir.join("tree");
    extract_zip(&zip, &tree);
    let manifest_text = fs::read_to_string(tree.join("MANIFEST.JSN"))
        .unwrap_or_else(|e| panic!("package has no readable MANIFEST.JSN: {e}"));
    let manifest: Value = serde_json::from_str(&manifest_text)
        .unwrap_or_else(|e| panic!("MANIFEST.JSN is not JSON: {e}"));
    Packed {
        zip,
        tree,
        run,
        cwd: dir,
        manifest,
    }
}

pub struct Instance {
    pub path: String,
    pub sop_instance_uid: String,
    pub sha256: String,
    pub size: u64,
    pub source_path: String,
    pub source_sha256: String,
}

/// The manifest's `instances`, with the fields the contract promises (panics if one is missing).
pub fn manifest_instances(manifest: &Value) -> Vec<Instance> {
    let list = manifest["instances"]
        .as_array()
        .expect("MANIFEST.JSN: top-level \"instances\" array");
    list.iter()
        .map(|i| {
            let s = |v: &Value, what: &str| {
                v.as_str()
                    .unwrap_or_else(|| panic!("MANIFEST.JSN instance lacks string {what}: {i}"))
                    .to_string()
            };
            Instance {
                path: s(&i["path"], "path"),
                sop_instance_uid: s(&i["sop_instance_uid"], "sop_instance_uid"),
                sha256: s(&i["sha256"], "sha256").to_lowercase(),
                size: i["size"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("MANIFEST.JSN instance lacks size: {i}")),
                source_path: s(&i["source"]["path"], "source.path"),
                source_sha256: s(&i["source"]["sha256"], "source.sha256").to_lowercase(),
            }
        })
        .collect()
}

/// Every `{"path": …, "reason": …}` object anywhere in a JSON document (skipped, ignored, …).
pub fn path_reasons(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                if let (Some(Value::String(p)), Some(Value::String(r))) =
                    (m.get("path"), m.get("reason"))
                {
                    out.push((p.clone(), r.clone()));
                }
                m.values().for_each(|x| walk(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(doc, &mut out);
    out
}

/// A path as dicompack reported it (absolute, or relative to its cwd) → canonical path.
pub fn resolve(reported: &str, cwd: &Path) -> Option<PathBuf> {
    let p = Path::new(reported);
    let p = if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    };
    p.canonicalize().ok()
}

/// Checks every package must pass, with no outside tools: SHA256.TXT covers exactly every file
/// but itself with the right sums; the manifest's instances exist with the right size and sum;
/// names are uppercase PS3.10 file IDs; the manifest's sources exist with the recorded sums.
pub fn check_package_self_consistent(p: &Packed) {
    let files = files_under(&p.tree);
    for required in ["DICOMDIR", "README.TXT", "SHA256.TXT", "MANIFEST.JSN"] {
        assert!(
            files.contains(required),
            "package lacks {required}; it has {files:?}"
        );
    }
    // SHA256.TXT, parsed by us.
    let sums = fs::read_to_string(p.tree.join("SHA256.TXT")).unwrap();
    let mut listed = BTreeMap::new();
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let (sum, name) = line
            .split_once("  ")
            .or_else(|| line.split_once(" *"))
            .unwrap_or_else(|| panic!("SHA256.TXT line not in `sha256sum -c` format: {line:?}"));
        assert_eq!(sum.len(), 64, "bad checksum in SHA256.TXT line {line:?}");
        assert!(
            listed
                .insert(name.to_string(), sum.to_lowercase())
                .is_none(),
            "{name} listed twice"
        );
    }
    let expected: BTreeSet<String> = files
        .iter()
        .filter(|f| *f != "SHA256.TXT")
        .cloned()
        .collect();
    let got: BTreeSet<String> = listed.keys().cloned().collect();
    assert_eq!(
        got, expected,
        "SHA256.TXT must list every file in the package but itself"
    );
    for (name, sum) in &listed {
        assert_eq!(
            &sha256_file(&p.tree.join(name)),
            sum,
            "SHA256.TXT is wrong for {name}"
        );
    }
    // File IDs.
    for f in &files {
        if let Some(rest) = f.strip_prefix("DICOM/") {
            for comp in rest.split('/') {
                assert!(
                    !comp.is_empty()
                        && comp.len() <= 8
                        && comp
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                    "{f}: component {comp:?} is not a PS3.10 file ID (≤ 8 of A-Z 0-9 _)"
                );
            }
            assert!(f.split('/').count() <= 8, "{f}: more than 8 levels");
        }
    }
    // Manifest instances.
    let instances = manifest_instances(&p.manifest);
    let dicom_files: BTreeSet<String> = files
        .iter()
        .filter(|f| f.starts_with("DICOM/"))
        .cloned()
        .collect();
    let in_manifest: BTreeSet<String> = instances.iter().map(|i| i.path.clone()).collect();
    assert_eq!(
        in_manifest.len(),
        instances.len(),
        "MANIFEST.JSN lists a package path twice"
    );
    assert_eq!(
        in_manifest, dicom_files,
        "MANIFEST.JSN instances must be exactly the files under DICOM/"
    );
    let uids: BTreeSet<&str> = instances
        .iter()
        .map(|i| i.sop_instance_uid.as_str())
        .collect();
    assert_eq!(
        uids.len(),
        instances.len(),
        "two package files carry the same SOP Instance UID"
    );
    for i in &instances {
        let full = p.tree.join(&i.path);
        let data = fs::read(&full).unwrap();
        assert_eq!(
            data.len() as u64,
            i.size,
            "{}: size in MANIFEST.JSN",
            i.path
        );
        assert_eq!(
            sha256_hex(&data),
            i.sha256,
            "{}: sha256 in MANIFEST.JSN",
            i.path
        );
        assert_eq!(&data[128..132], b"DICM", "{}: not a Part 10 file", i.path);
        let src = resolve(&i.source_path, &p.cwd).unwrap_or_else(|| {
            panic!("{}: source path {:?} does not exist", i.path, i.source_path)
        });
        assert_eq!(
            sha256_file(&src),
            i.source_sha256,
            "{}: source.sha256 for {}",
            i.path,
            src.display()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Part 10 parsing, by hand (independent of dicom-rs)

/// Split a Part 10 file into (meta elements by tag, offset where the dataset starts).
/// Panics when the file is not preamble + DICM + explicit VR LE group 0002.
pub fn split_part10(data: &[u8]) -> (BTreeMap<(u16, u16), Vec<u8>>, usize) {
    assert!(
        data.len() > 132 && &data[128..132] == b"DICM",
        "no preamble + DICM"
    );
    let mut pos = 132;
    let mut meta = BTreeMap::new();
    while pos + 8 <= data.len() {
        let group = u16::from_le_bytes([data[pos], data[pos + 1]]);
        if group != 0x0002 {
            break;
        }
        let elem = u16::from_le_bytes([data[pos + 2], data[pos + 3]]);
        let vr = &data[pos + 4..pos + 6];
        let (len, header) = if matches!(
            vr,
            b"OB"
                | b"OW"
                | b"OF"
                | b"SQ"
                | b"UT"
                | b"UN"
                | b"UC"
                | b"UR"
                | b"OD"
                | b"OL"
                | b"OV"
                | b"SV"
                | b"UV"
        ) {
            (
                u32::from_le_bytes(data[pos + 8..pos + 12].try_into().unwrap()) as usize,
                12,
            )
        } else {
            (
                u16::from_le_bytes([data[pos + 6], data[pos + 7]]) as usize,
                8,
            )
        };
        let start = pos + header;
        assert!(
            start + len <= data.len(),
            "meta element ({group:04x},{elem:04x}) overruns the file"
        );
        meta.insert((group, elem), data[start..start + len].to_vec());
        pos = start + len;
    }
    let glen = meta.get(&(2, 0)).expect("no (0002,0000) group length");
    let glen = u32::from_le_bytes(glen[..4].try_into().unwrap()) as usize;
    assert_eq!(
        132 + 12 + glen,
        pos,
        "(0002,0000) group length does not match the meta elements"
    );
    (meta, pos)
}

pub fn ui(value: &[u8]) -> String {
    String::from_utf8_lossy(value)
        .trim_end_matches(['\0', ' '])
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// The sample disc's known content (see testdata/README.md)

pub const DISC_PATIENT_ID: &str = "DPK100234";
pub const DISC_PATIENT_NAME: &str = "DOE^JANE";
pub const DISC_STUDIES: [&str; 3] = [
    "MR BRAIN AND MRA WO CONTRAST",
    "CT CHEST W CONTRAST",
    "NM BONE SCAN WHOLE BODY",
];
pub const DISC_SERIES: [&str; 5] = [
    "FAST LOCALIZER",
    "T/S/C RF FAST PILOT",
    "MRA COW PROJECTIONS",
    "CHEST 5MM AXIAL W CONTRAST",
    "WHOLE BODY ANT POST",
];
pub const DISC_INSTANCES: usize = 13;
pub const DISC_JUNK: [&str; 4] = ["AUTORUN.INF", "VIEWER.EXE", "INDEX.HTM", "Thumbs.db"];
pub const DISC_HEADERLESS: &str = "DICOM/ST000000/SE000000/IM000000";

/// The sample disc's DICOM files (everything but the junk and the DICOMDIR).
pub fn disc_dicom_files() -> BTreeSet<String> {
    files_under(&sample_disc())
        .into_iter()
        .filter(|f| f != "DICOMDIR" && !DISC_JUNK.contains(&f.as_str()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Validators we did not write

/// `dcmdump +sd DICOMDIR` must succeed without error or warning lines, and `dcmftest` must say
/// `yes` for the DICOMDIR and every file under DICOM/.
pub fn check_with_dcmtk(tree: &Path) {
    let dump = run_tool("dcmdump", &["+sd", "DICOMDIR"], tree);
    let text = dump.all_text();
    let bad: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("E:") || l.starts_with("W:") || l.starts_with("F:"))
        .collect();
    assert!(
        dump.code == 0 && bad.is_empty(),
        "dcmdump +sd DICOMDIR complains:\n{}\n{}",
        bad.join("\n"),
        dump.stderr
    );
    assert!(
        dump.stdout.contains("DirectoryRecordSequence"),
        "dcmdump finds no directory records"
    );
    let mut files: Vec<String> = files_under(tree)
        .into_iter()
        .filter(|f| f.starts_with("DICOM/"))
        .collect();
    files.push("DICOMDIR".into());
    for chunk in files.chunks(200) {
        let args: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let t = run_tool("dcmftest", &args, tree);
        for f in chunk {
            assert!(
                t.stdout.lines().any(|l| l == format!("yes: {f}")),
                "dcmftest does not accept {f}:\n{}",
                t.describe()
            );
        }
    }
}

/// `sha256sum -c --strict SHA256.TXT` in the extracted package.
pub fn check_with_sha256sum(tree: &Path) {
    let r = run_tool(
        "sha256sum",
        &["-c", "--strict", "--quiet", "SHA256.TXT"],
        tree,
    );
    assert_eq!(
        r.code,
        0,
        "sha256sum -c SHA256.TXT fails:\n{}",
        r.describe()
    );
}

/// pydicom's FileSet over the package's DICOMDIR (tests/support/fileset_check.py); returns its
/// report (instances found). Panics on any problem it lists.
pub fn check_with_pydicom_fileset(tree: &Path) -> Value {
    let r = run_tool(
        "python3",
        &[
            support_script("fileset_check.py").to_str().unwrap(),
            tree.to_str().unwrap(),
        ],
        tree,
    );
    let report: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| {
        panic!(
            "fileset_check.py output is not JSON ({e}):\n{}",
            r.describe()
        )
    });
    let problems = report["problems"].as_array().unwrap();
    assert!(
        r.code == 0 && problems.is_empty(),
        "pydicom FileSet finds problems:\n{:#}\n{}",
        report["problems"],
        r.stderr
    );
    report
}

/// Run every outside validator on an extracted package and check that pydicom's FileSet finds
/// exactly the manifest's instances (same paths, same SOP Instance UIDs).
pub fn check_with_all_validators(p: &Packed) {
    check_with_dcmtk(&p.tree);
    check_with_sha256sum(&p.tree);
    let report = check_with_pydicom_fileset(&p.tree);
    let from_fileset: BTreeMap<String, String> = report["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["path"].as_str().unwrap().to_string(),
                i["sop_instance_uid"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let from_manifest: BTreeMap<String, String> = manifest_instances(&p.manifest)
        .into_iter()
        .map(|i| (i.path, i.sop_instance_uid))
        .collect();
    assert_eq!(
        from_fileset, from_manifest,
        "pydicom FileSet (left) vs MANIFEST.JSN (right)"
    );

    // A file whose meta header names another SOP Instance UID than its dataset: acceptable only
    // when copied byte for byte from a source that already had it, and said in the manifest.
    let manifest_text = p.manifest.to_string();
    for m in report["meta_mismatches"].as_array().unwrap() {
        let path = m["path"].as_str().unwrap();
        let i = manifest_instances(&p.manifest)
            .into_iter()
            .find(|i| i.path == path)
            .unwrap();
        assert_eq!(
            i.sha256, i.source_sha256,
            "{path}: dicompack wrote a meta header naming SOP Instance UID {} for a dataset with {}",
            m["meta"], m["dataset"]
        );
        let name = Path::new(&i.source_path)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let meta_uid = m["meta"].as_str().unwrap();
        let warned = p.manifest.to_string().contains(&name) && manifest_text.contains(meta_uid);
        assert!(
            warned,
            "{path} (from {name}): meta/dataset SOP Instance UID mismatch copied without a warning in MANIFEST.JSN"
        );
        let _ = writeln!(
            std::io::stderr(),
            "note: {path} (from {name}) keeps its source's meta/dataset UID mismatch, with a warning"
        );
    }
}

/// tests/support/inventory.py over a folder: pydicom's independent view of every file.
pub fn pydicom_inventory(root: &Path) -> Vec<Value> {
    let r = run_tool(
        "python3",
        &[
            support_script("inventory.py").to_str().unwrap(),
            root.to_str().unwrap(),
        ],
        root,
    );
    assert_eq!(r.code, 0, "inventory.py failed:\n{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    v["files"].as_array().unwrap().clone()
}
