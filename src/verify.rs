//! Verify stage: a package (ZIP or extracted folder) → one verdict, the receiver's view.
//!
//! Trusts nothing it is handed: every checksum is recomputed, every file listed must be there
//! and every file there must be listed, the DICOMDIR must reference exactly the DICOM files
//! present with the UIDs each file itself carries, and every DICOM file must parse. ZIP tricks
//! (unsafe names, links, encryption, overlapping entries) are refused. Each entry is streamed
//! once, in bounded memory; entries are checked on every core at once (hashing is the cost),
//! and the verdict is the same whichever thread checked what.

mod source;

use crate::checksum::{self, Digest};
use crate::dicomdir;
use crate::scan::{self, Content};
use serde::Serialize;
use source::OVERLAP;
pub use source::{Entry, Package, Reader, is_safe_name};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Small control files (checksum list, DICOMDIR, manifest) are read whole up to this size.
const CONTROL_MAX: u64 = 512 * 1024 * 1024;

pub const CHECKSUMS: &str = "SHA256.TXT";
pub const DICOMDIR: &str = "DICOMDIR";
pub const MANIFEST: &str = "MANIFEST.JSN";

#[derive(Debug, Clone, Default, Serialize)]
pub struct Verdict {
    pub ok: bool,
    pub problems: Vec<String>,
    pub patients: usize,
    pub studies: usize,
    pub series: usize,
    pub instances: usize,
    pub files: usize,
    /// SHA-256 of SHA256.TXT, when there is one.
    pub fingerprint: Option<Digest>,
}

impl Verdict {
    /// The one line a person reads.
    pub fn headline(&self) -> String {
        if self.ok {
            format!(
                "OK: {} {}, {} series, {} {}, fingerprint {}",
                group_thousands(self.studies),
                plural(self.studies, "study", "studies"),
                group_thousands(self.series),
                group_thousands(self.instances),
                plural(self.instances, "image", "images"),
                self.fingerprint.map(|d| d.to_string()).unwrap_or_default()
            )
        } else {
            format!(
                "FAILED: {} {} found",
                self.problems.len(),
                plural(self.problems.len(), "problem", "problems")
            )
        }
    }
}

pub fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// `1204` → `1,204`.
pub fn group_thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Reads an entry whole, for the small control files.
fn read_small(reader: &mut Reader, entry: &Entry) -> Result<Vec<u8>, String> {
    if entry.size > CONTROL_MAX {
        return Err(format!("{}: too large ({} bytes)", entry.name, entry.size));
    }
    let mut r = reader.open(entry)?;
    // Sized from the entry's claim, within reason (a claim is not yet a fact): a DICOMDIR of
    // 100,000 records is 25 MB, and growing a Vec to that would hold a third more.
    let mut buf = Vec::with_capacity(entry.size.min(64 * 1024 * 1024) as usize);
    r.by_ref()
        .take(CONTROL_MAX + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{}: cannot be read ({e})", entry.name))?;
    Ok(buf)
}

/// What one DICOM file of the package says about itself.
/// Interned (see [`scan::Interner`]): 100,000 files of one series share one copy of their
/// patient, study and series attributes.
struct FileFacts {
    attrs: scan::Attributes,
    transfer_syntax_uid: Arc<str>,
}

/// Verifies the package at `path` (ZIP or folder).
pub fn verify_path(path: &Path) -> Verdict {
    match Package::open(path) {
        Ok(mut pkg) => verify_package(&mut pkg),
        Err(e) => failed(e),
    }
}

/// Verifies a ZIP held in memory (a fuzzing and testing entry point).
pub fn verify_zip_bytes(bytes: &[u8]) -> Verdict {
    match Package::from_bytes(Arc::from(bytes)) {
        Ok(mut pkg) => verify_package(&mut pkg),
        Err(e) => failed(e),
    }
}

fn failed(problem: String) -> Verdict {
    Verdict {
        ok: false,
        problems: vec![problem],
        ..Verdict::default()
    }
}

pub fn verify_package(pkg: &mut Package) -> Verdict {
    let mut problems = Vec::new();
    let entries = pkg.entries(&mut problems);
    if problems.iter().any(|p| p.contains(OVERLAP)) {
        // Overlapping entries are a bomb's construction: the verdict is already FAILED, and
        // inflating them would only spend time.
        return Verdict {
            ok: false,
            files: entries.len(),
            problems,
            ..Verdict::default()
        };
    }
    let by_name: BTreeMap<&str, &Entry> = entries.iter().map(|e| (e.name.as_str(), e)).collect();

    // The checksum list first: it says what must be there.
    let (listed, fingerprint) = match by_name.get(CHECKSUMS) {
        None => {
            problems.push(format!("{CHECKSUMS} is missing: nothing to check against"));
            (BTreeMap::new(), None)
        }
        Some(e) => match read_small(&mut pkg.reader(), e) {
            Err(p) => {
                problems.push(p);
                (BTreeMap::new(), None)
            }
            Ok(bytes) => {
                let fingerprint = Digest::of(&bytes);
                let text = String::from_utf8_lossy(&bytes);
                match checksum::parse_list(&text) {
                    Ok(list) => {
                        let mut map = BTreeMap::new();
                        for (name, digest) in list {
                            if map.insert(name.clone(), digest).is_some() {
                                problems.push(format!("{name}: listed twice in {CHECKSUMS}"));
                            }
                        }
                        (map, Some(fingerprint))
                    }
                    Err(e) => {
                        problems.push(format!("{CHECKSUMS}: {e}"));
                        (BTreeMap::new(), Some(fingerprint))
                    }
                }
            }
        },
    };

    for required in [MANIFEST, README] {
        if !by_name.contains_key(required) {
            problems.push(format!("{required} is missing"));
        }
    }
    let checks = check_entries(pkg, &entries, &listed);
    let mut facts: BTreeMap<&str, FileFacts> = BTreeMap::new();
    let mut dicomdir_bytes = None;
    for (entry, check) in entries.iter().zip(checks) {
        problems.extend(check.problems);
        if let Some(f) = check.facts {
            facts.insert(entry.name.as_str(), f);
        }
        if check.dicomdir.is_some() {
            dicomdir_bytes = check.dicomdir;
        }
    }
    for name in listed.keys() {
        if !by_name.contains_key(name.as_str()) {
            problems.push(format!("{name}: listed in {CHECKSUMS} but missing"));
        }
    }

    match dicomdir_bytes {
        None if !by_name.contains_key(DICOMDIR) => {
            problems.push("DICOMDIR is missing: viewers cannot find the images".into())
        }
        None => {}
        Some(bytes) => check_dicomdir(&bytes, &facts, &mut problems),
    }

    let studies: BTreeSet<&str> = facts
        .values()
        .map(|f| f.attrs.study.study_instance_uid.as_str())
        .collect();
    let series: BTreeSet<&str> = facts
        .values()
        .map(|f| f.attrs.series.series_instance_uid.as_str())
        .collect();
    let patients: BTreeSet<(&str, &str)> = facts
        .values()
        .map(|f| {
            let p = &f.attrs.patient;
            (p.patient_id.as_str(), p.issuer_of_patient_id.as_str())
        })
        .collect();
    Verdict {
        ok: problems.is_empty(),
        problems,
        patients: patients.len(),
        studies: studies.len(),
        series: series.len(),
        instances: facts.len(),
        files: entries.len(),
        fingerprint,
    }
}

pub const README: &str = "README.TXT";

/// The names a package of ours can hold.
fn belongs_in_package(name: &str) -> bool {
    matches!(name, DICOMDIR | CHECKSUMS | MANIFEST | README | "INDEX.HTM")
        || name.starts_with("DICOM/")
        || name.starts_with("IHE_PDI/")
}

/// Checks every entry, on every thread of the pool: each thread takes the next entry not yet
/// taken and reads it through its own [`Reader`]. What each found comes back in entry order.
fn check_entries(
    pkg: &Package,
    entries: &[Entry],
    listed: &BTreeMap<String, Digest>,
) -> Vec<EntryCheck> {
    let next = AtomicUsize::new(0);
    let interner = scan::Interner::default();
    let mut checked: Vec<(usize, EntryCheck)> = rayon::broadcast(|_| {
        let mut reader = pkg.reader();
        let mut checked = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(entry) = entries.get(i) else {
                break;
            };
            checked.push((i, check_entry(&mut reader, entry, listed, &interner)));
        }
        checked
    })
    .into_iter()
    .flatten()
    .collect();
    checked.sort_unstable_by_key(|(i, _)| *i);
    checked.into_iter().map(|(_, check)| check).collect()
}

/// What checking one entry found.
#[derive(Default)]
struct EntryCheck {
    problems: Vec<String>,
    facts: Option<FileFacts>,
    dicomdir: Option<Vec<u8>>,
}

/// Checks one entry on its own: where it may be, that it reads through to the bytes listed in
/// the checksum list, and for a DICOM file what it says about itself.
fn check_entry(
    reader: &mut Reader,
    entry: &Entry,
    listed: &BTreeMap<String, Digest>,
    interner: &scan::Interner,
) -> EntryCheck {
    let mut check = EntryCheck::default();
    let problems = &mut check.problems;
    if !belongs_in_package(&entry.name) {
        problems.push(format!(
            "{}: not a file a package holds (only DICOMDIR, DICOM/, IHE_PDI/ and the four text files)",
            entry.name
        ));
    }
    if entry.name == CHECKSUMS {
        return check;
    }
    let digest = if entry.name == DICOMDIR {
        match read_small(reader, entry) {
            Ok(bytes) => {
                check_size(entry, bytes.len() as u64, problems);
                let d = Digest::of(&bytes);
                check.dicomdir = Some(bytes);
                Some(d)
            }
            Err(p) => {
                problems.push(p);
                None
            }
        }
    } else if entry.name.starts_with("DICOM/") {
        let (digest, facts) = check_dicom_file(reader, entry, interner, problems);
        check.facts = facts;
        digest
    } else {
        match reader.open(entry).and_then(|r| {
            Digest::of_reader(r).map_err(|e| format!("{}: cannot be read ({e})", entry.name))
        }) {
            Ok((d, total)) => {
                check_size(entry, total, problems);
                Some(d)
            }
            Err(p) => {
                problems.push(p);
                None
            }
        }
    };
    match (listed.get(&entry.name), digest) {
        (None, _) => problems.push(format!(
            "{}: present but not listed in {CHECKSUMS}",
            entry.name
        )),
        (Some(want), Some(got)) if *want != got => problems.push(format!(
            "{}: checksum does not match (the file was changed or damaged)",
            entry.name
        )),
        _ => {}
    }
    check
}

/// An entry must hold exactly the bytes its header declares (a ZIP can lie about sizes).
fn check_size(entry: &Entry, actual: u64, problems: &mut Vec<String>) {
    if actual != entry.size {
        problems.push(format!(
            "{}: its declared size is {} bytes, but it holds {actual}",
            entry.name, entry.size
        ));
    }
}

/// Streams one DICOM file: hash and parse in the same pass.
fn check_dicom_file(
    reader: &mut Reader,
    entry: &Entry,
    interner: &scan::Interner,
    problems: &mut Vec<String>,
) -> (Option<Digest>, Option<FileFacts>) {
    if crate::layout::FileId::parse_path(&entry.name).is_err() {
        problems.push(format!(
            "{}: not a valid DICOM file ID (8 uppercase characters per level)",
            entry.name
        ));
    }
    let stream = match reader.open(entry) {
        Ok(r) => r,
        Err(p) => {
            problems.push(p);
            return (None, None);
        }
    };
    match scan::scan_reader(stream, entry.size) {
        Ok(Content::Object(mut o)) => {
            if o.format != crate::dicom::SourceFormat::Part10 {
                problems.push(format!("{}: lacks a proper DICOM file header", entry.name));
            }
            interner.intern(&mut o);
            let facts = FileFacts {
                attrs: o.attrs,
                transfer_syntax_uid: o.transfer_syntax_uid,
            };
            (o.sha256, Some(facts))
        }
        Ok(Content::Directory(o)) => {
            problems.push(format!(
                "{}: a directory file where an image belongs",
                entry.name
            ));
            (o.sha256, None)
        }
        Ok(Content::NotDicom(kind)) => {
            problems.push(format!("{}: not a DICOM file ({kind})", entry.name));
            (None, None)
        }
        Err(e) => {
            problems.push(format!("{}: does not parse: {e}", entry.name));
            (None, None)
        }
    }
}

fn check_dicomdir(bytes: &[u8], facts: &BTreeMap<&str, FileFacts>, problems: &mut Vec<String>) {
    let dir = match dicomdir::read(bytes) {
        Ok(d) => d,
        Err(e) => {
            problems.push(format!("DICOMDIR does not parse: {e}"));
            return;
        }
    };
    // Names borrowed from `facts` where they can be (all of them, in a good package).
    let mut referenced: BTreeSet<&str> = BTreeSet::new();
    let mut referenced_elsewhere: BTreeSet<String> = BTreeSet::new();
    for rec in &dir.records {
        let Some(components) = &rec.file_id else {
            continue;
        };
        let name = components.join("/");
        let Some((&key, f)) = facts.get_key_value(name.as_str()) else {
            if !referenced_elsewhere.insert(name.clone()) {
                problems.push(format!("DICOMDIR references {name} twice"));
            }
            problems.push(format!(
                "DICOMDIR references {name}, which is not in the package (or does not parse)"
            ));
            continue;
        };
        if !referenced.insert(key) {
            problems.push(format!("DICOMDIR references {name} twice"));
        }
        let mut differs = |what: &str, dir_value: &Option<String>, file_value: &str| {
            if let Some(v) = dir_value
                && v != file_value
            {
                problems.push(format!(
                    "{name}: DICOMDIR says {what} {v}, the file says {file_value}"
                ));
            }
        };
        let a = &f.attrs;
        differs(
            "SOP Instance UID",
            &rec.sop_instance_uid,
            &a.sop_instance_uid,
        );
        differs("SOP Class UID", &rec.sop_class_uid, &a.sop_class_uid);
        differs(
            "Transfer Syntax UID",
            &rec.transfer_syntax_uid,
            &f.transfer_syntax_uid,
        );
        differs(
            "Study Instance UID",
            &rec.study_instance_uid,
            &a.study.study_instance_uid,
        );
        differs(
            "Series Instance UID",
            &rec.series_instance_uid,
            &a.series.series_instance_uid,
        );
    }
    for name in facts.keys() {
        if !referenced.contains(name) {
            problems.push(format!("{name}: in the package but not in the DICOMDIR"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_are_refused() {
        for bad in [
            "../x",
            "/etc/passwd",
            "C:\\x",
            "a\\b",
            "a//b",
            "a/./b",
            "",
            "x/..",
        ] {
            assert!(!is_safe_name(bad), "{bad}");
        }
        for good in ["DICOMDIR", "DICOM/P0000001/I0000001", "IHE_PDI/INDEX.HTM"] {
            assert!(is_safe_name(good), "{good}");
        }
        assert_eq!(group_thousands(1204), "1,204");
        assert_eq!(group_thousands(12), "12");
        assert_eq!(group_thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn garbage_is_a_failed_verdict() {
        let v = verify_zip_bytes(b"\x89PNG\r\n\x1a\n not a zip");
        assert!(!v.ok);
        assert!(v.headline().starts_with("FAILED"));
    }
}
