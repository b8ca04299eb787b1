//! Verify stage: a package (ZIP or extracted folder) → one verdict, the receiver's view.
//!
//! Trusts nothing it is handed: every checksum is recomputed, every file listed must be there
//! and every file there must be listed, the DICOMDIR must reference exactly the DICOM files
//! present with the UIDs each file itself carries, and every DICOM file must parse. ZIP tricks
//! (unsafe names, links, encryption, overlapping entries) are refused. Each entry is streamed
//! once, in bounded memory; entries are checked on every core at once (hashing is the cost),
//! and the verdict is the same whichever thread checked what.

mod iso;
mod problem;
mod source;

use crate::checksum::{self, Digest};
use crate::dicomdir;
use crate::package::names::{self, CHECKSUMS, DICOMDIR, MANIFEST, README};
use crate::passphrase::Passphrase;
use crate::scan::{self, Content};
pub use problem::{Problem, ReadError, Uid};
use serde::Serialize;
pub use source::{Entry, Package, Reader, is_safe_name};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Small control files (checksum list, DICOMDIR, manifest) are read whole up to this size.
const CONTROL_MAX: u64 = 512 * 1024 * 1024;

#[derive(Debug, Default, Serialize)]
pub struct Verdict {
    /// No problem found: `problems` is empty.
    pub ok: bool,
    /// In package order, the same on every run.
    pub problems: Vec<Problem>,
    pub patients: usize,
    pub studies: usize,
    pub series: usize,
    pub instances: usize,
    pub files: usize,
    /// SHA-256 of SHA256.TXT, when there is one.
    pub fingerprint: Option<Digest>,
    /// Which volume of which set this is, as its manifest says (`verify` of every volume
    /// checks the set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<crate::volumes::VolumeEntry>,
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
fn read_small(reader: &mut Reader, entry: &Entry) -> Result<Vec<u8>, Problem> {
    if entry.size > CONTROL_MAX {
        return Err(Problem::TooLarge {
            file: entry.name.clone(),
            size: entry.size,
        });
    }
    let mut r = reader.open(entry)?;
    // Sized from the entry's claim, within reason (a claim is not yet a fact): a DICOMDIR of
    // 100,000 records is 25 MB, and growing a Vec to that would hold a third more.
    let mut buf = Vec::with_capacity(entry.size.min(64 * 1024 * 1024) as usize);
    r.by_ref()
        .take(CONTROL_MAX + 1)
        .read_to_end(&mut buf)
        .map_err(|e| unreadable(entry, e))?;
    Ok(buf)
}

/// The manifest's `volume`, streamed (the rest of the manifest is parsed and dropped).
fn read_volume(reader: &mut Reader, entry: &Entry) -> Option<crate::volumes::VolumeEntry> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(default)]
        volume: Option<crate::volumes::VolumeEntry>,
    }
    let r = reader.open(entry).ok()?;
    let head: Head = serde_json::from_reader(std::io::BufReader::new(r.take(CONTROL_MAX))).ok()?;
    head.volume
}

fn unreadable(entry: &Entry, e: std::io::Error) -> Problem {
    Problem::Unreadable {
        file: entry.name.clone(),
        source: ReadError::Io(e),
    }
}

/// What one DICOM file of the package says about itself.
/// Interned (see [`scan::Interner`]): 100,000 files of one series share one copy of their
/// patient, study and series attributes.
struct FileFacts {
    attrs: scan::Attributes,
    transfer_syntax_uid: Arc<str>,
}

/// Verifies the package at `path` (ZIP, disc image or folder).
pub fn verify_path(path: &Path) -> Verdict {
    verify_path_with(path, None)
}

/// Verifies the package at `path`; `passphrase` opens an encrypted one.
pub fn verify_path_with(path: &Path, passphrase: Option<&Passphrase>) -> Verdict {
    match Package::open_with(path, passphrase.map(Passphrase::as_str)) {
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

fn failed(problem: Problem) -> Verdict {
    Verdict {
        ok: false,
        problems: vec![problem],
        ..Verdict::default()
    }
}

pub fn verify_package(pkg: &mut Package) -> Verdict {
    let mut problems = Vec::new();
    let entries = pkg.entries(&mut problems);
    if problems
        .iter()
        .any(|p| matches!(p, Problem::Overlap { .. }))
    {
        // Overlapping entries are a bomb's construction: the verdict is already FAILED, and
        // inflating them would only spend time.
        return Verdict {
            ok: false,
            files: entries.len(),
            problems,
            ..Verdict::default()
        };
    }
    if problems
        .iter()
        .any(|p| matches!(p, Problem::PassphraseNeeded))
    {
        // Nothing can be checked without it; every other finding would follow from that.
        return Verdict {
            files: entries.len(),
            ..failed(Problem::PassphraseNeeded)
        };
    }
    let by_name: BTreeMap<&str, &Entry> = entries.iter().map(|e| (e.name.as_str(), e)).collect();

    // The checksum list first: it says what must be there.
    let (listed, fingerprint) = match by_name.get(CHECKSUMS) {
        None => {
            problems.push(Problem::ChecksumsMissing);
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
                                problems.push(Problem::ListedTwice { file: name });
                            }
                        }
                        (map, Some(fingerprint))
                    }
                    Err(e) => {
                        problems.push(Problem::ChecksumsMalformed(e));
                        (BTreeMap::new(), Some(fingerprint))
                    }
                }
            }
        },
    };

    for required in [MANIFEST, README] {
        if !by_name.contains_key(required) {
            problems.push(Problem::RequiredMissing { file: required });
        }
    }
    if problems
        .iter()
        .any(|p| matches!(p, Problem::WrongPassphrase))
    {
        return failed(Problem::WrongPassphrase);
    }
    let checks = check_entries(pkg, &entries, &listed);
    if checks.iter().any(|c| {
        c.problems
            .iter()
            .any(|p| matches!(p, Problem::WrongPassphrase))
    }) {
        // Said once, as what it is: not a damaged package.
        return failed(Problem::WrongPassphrase);
    }
    let mut facts: BTreeMap<&str, FileFacts> = BTreeMap::new();
    let mut dicomdir_bytes = None;
    for (entry, check) in entries.iter().zip(checks) {
        problems.extend(check.problems);
        match check.kept {
            Kept::Nothing => {}
            Kept::Facts(f) => {
                facts.insert(entry.name.as_str(), f);
            }
            Kept::Dicomdir(bytes) => dicomdir_bytes = Some(bytes),
        }
    }
    for name in listed.keys() {
        if !by_name.contains_key(name.as_str()) {
            problems.push(Problem::ListedButMissing { file: name.clone() });
        }
    }

    match dicomdir_bytes {
        None if !by_name.contains_key(DICOMDIR) => problems.push(Problem::DicomdirMissing),
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
    let volume = by_name
        .get(MANIFEST)
        .and_then(|e| read_volume(&mut pkg.reader(), e));
    Verdict {
        volume,
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
    problems: Vec<Problem>,
    kept: Kept,
}

/// What an entry gave for the checks across entries: a DICOM file says what it is, the
/// DICOMDIR is kept whole to be read once every file is known.
#[derive(Default)]
enum Kept {
    #[default]
    Nothing,
    Facts(FileFacts),
    Dicomdir(Vec<u8>),
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
    if !names::belongs_in_package(&entry.name) {
        problems.push(Problem::NotAPackageFile {
            file: entry.name.clone(),
        });
    }
    if entry.name == CHECKSUMS {
        return check;
    }
    let digest = if entry.name == DICOMDIR {
        match read_small(reader, entry) {
            Ok(bytes) => {
                check_size(entry, bytes.len() as u64, problems);
                let d = Digest::of(&bytes);
                check.kept = Kept::Dicomdir(bytes);
                Some(d)
            }
            Err(p) => {
                problems.push(p);
                None
            }
        }
    } else if names::in_dicom_folder(&entry.name) {
        let (digest, facts) = check_dicom_file(reader, entry, interner, problems);
        if let Some(f) = facts {
            check.kept = Kept::Facts(f);
        }
        digest
    } else {
        match reader
            .open(entry)
            .and_then(|r| Digest::of_reader(r).map_err(|e| unreadable(entry, e)))
        {
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
        (None, _) => problems.push(Problem::NotListed {
            file: entry.name.clone(),
        }),
        (Some(want), Some(got)) if *want != got => problems.push(Problem::ChecksumMismatch {
            file: entry.name.clone(),
        }),
        _ => {}
    }
    check
}

/// An entry must hold exactly the bytes its header declares (a ZIP can lie about sizes).
fn check_size(entry: &Entry, actual: u64, problems: &mut Vec<Problem>) {
    if actual != entry.size {
        problems.push(Problem::SizeMismatch {
            file: entry.name.clone(),
            declared: entry.size,
            actual,
        });
    }
}

/// Streams one DICOM file: hash and parse in the same pass.
fn check_dicom_file(
    reader: &mut Reader,
    entry: &Entry,
    interner: &scan::Interner,
    problems: &mut Vec<Problem>,
) -> (Option<Digest>, Option<FileFacts>) {
    let file = || entry.name.clone();
    if let Err(source) = crate::layout::FileId::parse_path(&entry.name) {
        problems.push(Problem::InvalidFileId {
            file: file(),
            source,
        });
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
                problems.push(Problem::NoFileHeader { file: file() });
            }
            interner.intern(&mut o);
            let facts = FileFacts {
                attrs: o.attrs,
                transfer_syntax_uid: o.transfer_syntax_uid,
            };
            (o.sha256, Some(facts))
        }
        Ok(Content::Directory(o)) => {
            problems.push(Problem::DirectoryAsImage { file: file() });
            (o.sha256, None)
        }
        Ok(Content::NotDicom(kind)) => {
            problems.push(Problem::NotDicom { file: file(), kind });
            (None, None)
        }
        Err(e) => {
            problems.push(Problem::DoesNotParse {
                file: file(),
                source: e,
            });
            (None, None)
        }
    }
}

fn check_dicomdir(bytes: &[u8], facts: &BTreeMap<&str, FileFacts>, problems: &mut Vec<Problem>) {
    let dir = match dicomdir::read(bytes) {
        Ok(d) => d,
        Err(e) => {
            problems.push(Problem::DicomdirDoesNotParse(e));
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
                problems.push(Problem::DicomdirReferencesTwice { file: name.clone() });
            }
            problems.push(Problem::DicomdirDangling { file: name });
            continue;
        };
        if !referenced.insert(key) {
            problems.push(Problem::DicomdirReferencesTwice { file: name.clone() });
        }
        let a = &f.attrs;
        for (attribute, dir_value, file_value) in [
            (
                Uid::SopInstance,
                &rec.sop_instance_uid,
                &*a.sop_instance_uid,
            ),
            (Uid::SopClass, &rec.sop_class_uid, &*a.sop_class_uid),
            (
                Uid::TransferSyntax,
                &rec.transfer_syntax_uid,
                &*f.transfer_syntax_uid,
            ),
            (
                Uid::Study,
                &rec.study_instance_uid,
                &*a.study.study_instance_uid,
            ),
            (
                Uid::Series,
                &rec.series_instance_uid,
                &*a.series.series_instance_uid,
            ),
        ] {
            if let Some(v) = dir_value
                && v != file_value
            {
                problems.push(Problem::DicomdirDisagrees {
                    file: name.clone(),
                    attribute,
                    dicomdir: v.clone(),
                    actual: file_value.to_string(),
                });
            }
        }
    }
    for name in facts.keys() {
        if !referenced.contains(name) {
            problems.push(Problem::NotInDicomdir {
                file: (*name).to_string(),
            });
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
        assert!(matches!(v.problems.as_slice(), [Problem::NotAZip(_)]));
        assert_eq!(v.headline(), "FAILED: 1 problem found");
    }

    #[test]
    fn overlapping_entries_stop_the_check() {
        // Nothing is inflated once entries overlap: no checksum or DICOM problem follows.
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/hostile/package/overlapping_bomb.zip");
        let v = verify_path(&path);
        assert!(!v.ok);
        assert!(v.files > 0);
        assert!(!v.problems.is_empty());
        assert!(
            v.problems
                .iter()
                .all(|p| matches!(p, Problem::Overlap { .. })),
            "{:?}",
            v.problems.first()
        );
    }
}
