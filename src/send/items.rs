//! What `send` sends: one [`Item`] per DICOM instance, from a verified package or from a
//! surveyed disc or folder, and a [`Loader`] per worker thread that reads an item's bytes.
//!
//! A package's instances are known from its DICOMDIR (verify has checked that every record
//! agrees with the file it references), so nothing is read twice before sending; each file is
//! then read once, when it is sent, and checked against the package's checksum list on the way,
//! since the package could change between the verification and the send.

use crate::catalog::Catalog;
use crate::checksum::{self, Digest};
use crate::dicom::meta::{self, Detected};
use crate::dicomdir;
use crate::package::names::{self, CHECKSUMS, DICOMDIR};
use crate::scan::{self, Content};
use crate::verify::{self, Entry, Package, Reader, Verdict};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A file larger than this is not sent (it would be held whole in memory): 4 GiB, the most a
/// DICOM element can hold.
pub const MAX_INSTANCE_BYTES: u64 = u32::MAX as u64;
/// The control files read whole (checksum list, DICOMDIR) may be at most this large.
const CONTROL_MAX: u64 = dicomdir::MAX_DICOMDIR_BYTES as u64;

/// One instance to send.
#[derive(Debug, Clone)]
pub struct Item {
    /// Where it is: the package's file name, or the source file's path.
    pub file: String,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    /// The transfer syntax its data set is encoded in.
    pub transfer_syntax_uid: String,
    /// The patient it belongs to (Patient ID as the file has it; "" when absent).
    pub patient_id: String,
    pub size: u64,
    at: At,
}

#[derive(Debug, Clone)]
enum At {
    /// An entry of the package, with the digest its checksum list gives.
    Entry {
        index: usize,
        digest: Option<Digest>,
    },
    /// A file of a disc or folder; the data set starts at `dataset_offset`.
    File { path: PathBuf, dataset_offset: u64 },
}

/// An instance's bytes, read whole.
pub struct Loaded {
    /// The file as it is: preamble and File Meta group (when it has them) and the data set.
    pub bytes: Vec<u8>,
    /// Where the data set starts in `bytes` (0 for a bare data set).
    pub dataset_start: usize,
}

impl Loaded {
    pub fn dataset(&self) -> &[u8] {
        self.bytes.get(self.dataset_start..).unwrap_or_default()
    }

    /// Everything before the data set (preamble, `DICM`, File Meta group), empty for a bare one.
    pub fn head(&self) -> &[u8] {
        self.bytes.get(..self.dataset_start).unwrap_or_default()
    }
}

/// Why an item's bytes could not be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum LoadError {
    #[error("cannot read the file: {0}")]
    Unreadable(String),
    #[error("the file changed since it was checked")]
    Changed,
    #[error("the file is {0} bytes, more than can be sent")]
    TooLarge(u64),
}

/// The instances of one source and how to read them.
pub struct Source {
    pub items: Vec<Item>,
    package: Option<(Package, Vec<Entry>)>,
}

/// Why a package cannot be sent.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// Verification failed: nothing is sent.
    #[error("the package did not pass verification; nothing was sent")]
    NotVerified(Box<Verdict>),
    #[error("the package changed since it was verified: {0}")]
    Changed(String),
}

impl Source {
    /// A package (ZIP or folder): verified first, refused if anything is wrong.
    pub fn package(path: &Path) -> Result<(Source, Verdict), PackageError> {
        let verdict = verify::verify_path(path);
        if !verdict.ok {
            return Err(PackageError::NotVerified(Box::new(verdict)));
        }
        let changed = |what: String| PackageError::Changed(what);
        let mut pkg = Package::open(path).map_err(|p| changed(p.to_string()))?;
        let mut problems = Vec::new();
        let entries = pkg.entries(&mut problems);
        if let Some(p) = problems.first() {
            return Err(changed(p.to_string()));
        }
        let mut reader = pkg.reader();
        let by_name: BTreeMap<&str, usize> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.as_str(), i))
            .collect();
        let read_control = |reader: &mut Reader, name: &str| -> Result<Vec<u8>, PackageError> {
            let entry = by_name
                .get(name)
                .and_then(|&i| entries.get(i))
                .ok_or_else(|| changed(format!("{name} is gone")))?;
            read_entry(reader, entry, CONTROL_MAX).map_err(|e| changed(format!("{name}: {e}")))
        };
        let list = read_control(&mut reader, CHECKSUMS)?;
        let listed: BTreeMap<String, Digest> =
            checksum::parse_list(&String::from_utf8_lossy(&list))
                .map_err(|e| changed(e.to_string()))?
                .into_iter()
                .collect();
        let dir = dicomdir::read(&read_control(&mut reader, DICOMDIR)?)
            .map_err(|e| changed(e.to_string()))?;
        let mut items = Vec::new();
        for rec in &dir.records {
            let Some(components) = &rec.file_id else {
                continue;
            };
            let name = components.join("/");
            let Some((index, entry)) = by_name
                .get(name.as_str())
                .and_then(|&i| entries.get(i).map(|e| (i, e)))
            else {
                return Err(changed(format!("{name} is gone")));
            };
            if !names::in_dicom_folder(&name) {
                continue;
            }
            let digest = listed.get(&name).copied();
            let mut item = Item {
                file: name,
                sop_class_uid: rec.sop_class_uid.clone().unwrap_or_default(),
                sop_instance_uid: rec.sop_instance_uid.clone().unwrap_or_default(),
                transfer_syntax_uid: rec.transfer_syntax_uid.clone().unwrap_or_default(),
                patient_id: rec.patient_id.clone().unwrap_or_default(),
                size: entry.size,
                at: At::Entry { index, digest },
            };
            if item.sop_class_uid.is_empty()
                || item.sop_instance_uid.is_empty()
                || item.transfer_syntax_uid.is_empty()
            {
                // A DICOMDIR of another writer may leave these keys out: the file says.
                fill_from_file(&mut reader, entry, &mut item)?;
            }
            items.push(item);
        }
        Ok((
            Source {
                items,
                package: Some((pkg, entries)),
            },
            verdict,
        ))
    }

    /// The instances of a surveyed (and selected) catalog.
    pub fn catalog(catalog: &Catalog) -> Source {
        let items = catalog
            .instances()
            .map(|i| {
                let o = &i.object;
                Item {
                    file: i.source.display().to_string(),
                    sop_class_uid: o.attrs.sop_class_uid.to_string(),
                    sop_instance_uid: o.attrs.sop_instance_uid.clone(),
                    transfer_syntax_uid: o.transfer_syntax_uid.to_string(),
                    patient_id: o.attrs.patient.patient_id.clone(),
                    size: o.size,
                    at: At::File {
                        path: i.source.clone(),
                        dataset_offset: o.dataset_offset,
                    },
                }
            })
            .collect();
        Source {
            items,
            package: None,
        }
    }

    /// A reader of items for one thread.
    pub fn loader(&self) -> Loader<'_> {
        Loader {
            package: self
                .package
                .as_ref()
                .map(|(pkg, entries)| (pkg.reader(), entries.as_slice())),
        }
    }
}

fn fill_from_file(reader: &mut Reader, entry: &Entry, item: &mut Item) -> Result<(), PackageError> {
    let changed = |what: String| PackageError::Changed(format!("{}: {what}", entry.name));
    let stream = reader.open(entry).map_err(|p| changed(p.to_string()))?;
    match scan::scan_reader(stream, entry.size) {
        Ok(Content::Object(o)) => {
            item.sop_class_uid = o.attrs.sop_class_uid.to_string();
            item.sop_instance_uid = o.attrs.sop_instance_uid.clone();
            item.transfer_syntax_uid = o.transfer_syntax_uid.to_string();
            item.patient_id = o.attrs.patient.patient_id.clone();
            Ok(())
        }
        Ok(_) => Err(changed("not a DICOM image".into())),
        Err(e) => Err(changed(e.to_string())),
    }
}

/// Reads an entry whole, refusing one larger than `max`.
fn read_entry(reader: &mut Reader, entry: &Entry, max: u64) -> Result<Vec<u8>, LoadError> {
    if entry.size > max {
        return Err(LoadError::TooLarge(entry.size));
    }
    let r = reader
        .open(entry)
        .map_err(|p| LoadError::Unreadable(p.to_string()))?;
    read_bounded(r, entry.size)
}

/// Reads a stream that should hold `size` bytes; more or fewer is a changed file.
fn read_bounded(r: impl Read, size: u64) -> Result<Vec<u8>, LoadError> {
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    r.take(size.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| LoadError::Unreadable(e.to_string()))?;
    if bytes.len() as u64 != size {
        return Err(LoadError::Changed);
    }
    Ok(bytes)
}

/// Reads items for one thread.
pub struct Loader<'a> {
    package: Option<(Reader, &'a [Entry])>,
}

impl Loader<'_> {
    pub fn load(&mut self, item: &Item) -> Result<Loaded, LoadError> {
        if item.size > MAX_INSTANCE_BYTES {
            return Err(LoadError::TooLarge(item.size));
        }
        match (&item.at, &mut self.package) {
            (At::Entry { index, digest }, Some((reader, entries))) => {
                let entry = entries.get(*index).ok_or(LoadError::Changed)?;
                let bytes = read_entry(reader, entry, MAX_INSTANCE_BYTES)?;
                if digest.is_some_and(|d| d != Digest::of(&bytes)) {
                    return Err(LoadError::Changed);
                }
                let dataset_start = match meta::detect(&bytes) {
                    Ok(Detected::Part10 { dataset_start, .. }) => dataset_start,
                    Ok(_) => 0,
                    Err(_) => return Err(LoadError::Changed),
                };
                Ok(Loaded {
                    bytes,
                    dataset_start,
                })
            }
            (
                At::File {
                    path,
                    dataset_offset,
                },
                _,
            ) => {
                let f = crate::platform::open_source(path)
                    .map_err(|e| LoadError::Unreadable(e.to_string()))?;
                let bytes = read_bounded(std::io::BufReader::new(f), item.size)?;
                let dataset_start =
                    usize::try_from(*dataset_offset).map_err(|_| LoadError::Changed)?;
                if dataset_start > bytes.len() {
                    return Err(LoadError::Changed);
                }
                Ok(Loaded {
                    bytes,
                    dataset_start,
                })
            }
            (At::Entry { .. }, None) => Err(LoadError::Changed),
        }
    }
}

#[cfg(test)]
impl Item {
    /// An item for unit tests that never reads it.
    pub fn for_test(
        sop_class_uid: &str,
        sop_instance_uid: &str,
        transfer_syntax_uid: &str,
    ) -> Item {
        Item {
            file: format!("test/{sop_instance_uid}"),
            sop_class_uid: sop_class_uid.into(),
            sop_instance_uid: sop_instance_uid.into(),
            transfer_syntax_uid: transfer_syntax_uid.into(),
            patient_id: String::new(),
            size: 0,
            at: At::File {
                path: PathBuf::new(),
                dataset_offset: 0,
            },
        }
    }
}
