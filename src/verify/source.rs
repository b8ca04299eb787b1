//! Reading a package: a ZIP archive or an extracted folder, listed with every structural
//! problem found on the way, then read entry by entry.

use crate::scan;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};

/// More entries than this is no package of ours.
const MAX_ENTRIES: usize = 2_000_000;
/// How an overlap between two ZIP entries is reported.
pub(super) const OVERLAP: &str = "overlap in the ZIP (a ZIP-bomb trick)";

/// One file of a package, as the source lists it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub size: u64,
    index: usize,
}

/// A package to read: a ZIP archive or an extracted folder. Both give the same view.
pub enum Package {
    Zip(Box<zip::ZipArchive<Box<dyn ReadSeek>>>),
    Folder(PathBuf),
}

pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

impl Package {
    pub fn open(path: &Path) -> Result<Package, String> {
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if meta.is_dir() {
            return Ok(Package::Folder(path.to_path_buf()));
        }
        let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Package::from_reader(Box::new(io::BufReader::new(file)))
    }

    pub fn from_reader(r: Box<dyn ReadSeek>) -> Result<Package, String> {
        zip::ZipArchive::new(r)
            .map(|z| Package::Zip(Box::new(z)))
            .map_err(|e| format!("not a readable ZIP archive ({e})"))
    }

    /// Lists the files, with every structural problem found on the way.
    pub fn entries(&mut self, problems: &mut Vec<String>) -> Vec<Entry> {
        match self {
            Package::Zip(z) => zip_entries(z, problems),
            Package::Folder(root) => folder_entries(root, problems),
        }
    }

    /// Opens one entry for streaming.
    pub fn open_entry(&mut self, entry: &Entry) -> Result<Box<dyn Read + '_>, String> {
        match self {
            Package::Zip(z) => z
                .by_index(entry.index)
                .map(|f| Box::new(f) as Box<dyn Read>)
                .map_err(|e| format!("{}: cannot be read from the ZIP ({e})", entry.name)),
            Package::Folder(root) => {
                let path = root.join(&entry.name);
                scan::open_source(&path)
                    .map(|f| Box::new(io::BufReader::new(f)) as Box<dyn Read>)
                    .map_err(|e| format!("{}: cannot be read ({e})", entry.name))
            }
        }
    }
}

/// Whether a name from a package is safe to create under a folder: relative, no `..`, no
/// drive letters or backslashes, nothing empty.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains(['\\', '\0', ':'])
        && name
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

fn zip_entries(
    z: &mut zip::ZipArchive<Box<dyn ReadSeek>>,
    problems: &mut Vec<String>,
) -> Vec<Entry> {
    if z.len() > MAX_ENTRIES {
        problems.push(format!(
            "the ZIP claims {} entries, far more than any package",
            z.len()
        ));
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut spans = Vec::new();
    for index in 0..z.len() {
        let f = match z.by_index_raw(index) {
            Ok(f) => f,
            Err(e) => {
                problems.push(format!("entry {index} of the ZIP is unreadable ({e})"));
                continue;
            }
        };
        let name = String::from_utf8_lossy(f.name_raw()).into_owned();
        if f.is_dir() {
            continue;
        }
        if !is_safe_name(&name) {
            problems.push(format!(
                "{name:?}: unsafe file name (absolute, `..`, drive or backslash)"
            ));
            continue;
        }
        if f.is_symlink() {
            problems.push(format!(
                "{name}: a symbolic link, which a package never holds"
            ));
            continue;
        }
        if f.encrypted() {
            problems.push(format!("{name}: encrypted, which a package never is"));
            continue;
        }
        let (start, end) = (
            f.header_start(),
            f.data_start()
                .unwrap_or(f.header_start())
                .saturating_add(f.compressed_size()),
        );
        spans.push((start, end, name.clone()));
        out.push(Entry {
            name,
            size: f.size(),
            index,
        });
    }
    spans.sort();
    for pair in spans.windows(2) {
        if let [a, b] = pair
            && b.0 < a.1
        {
            problems.push(format!("{} and {} {OVERLAP}", a.2, b.2));
        }
    }
    let mut seen = BTreeSet::new();
    for e in &out {
        if !seen.insert(e.name.clone()) {
            problems.push(format!("{}: appears more than once in the ZIP", e.name));
        }
    }
    out
}

fn folder_entries(root: &Path, problems: &mut Vec<String>) -> Vec<Entry> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(format!("cannot read the folder: {e}"));
                continue;
            }
        };
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let name = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if !entry.file_type().is_file() {
            problems.push(format!("{name}: not a regular file (link or special file)"));
            continue;
        }
        let size = entry.metadata().map(|m| m.len()).unwrap_or_default();
        out.push(Entry {
            name,
            size,
            index: out.len(),
        });
        if out.len() > MAX_ENTRIES {
            problems.push("the folder holds far more files than any package".into());
            break;
        }
    }
    out
}
