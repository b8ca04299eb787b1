//! Reading a package: a ZIP archive or an extracted folder, listed once and then read by any
//! number of threads at the same time, each through its own [`Reader`].
//!
//! ZIP entries that are stored or deflated (all a package of ours holds) are decoded here rather
//! than by the zip crate, for memory: the zip crate builds a fresh inflate state for every entry,
//! and zlib-rs allocates that state with 64-byte alignment. glibc before 2.38 cannot reuse memory
//! freed from aligned allocations for the next one (its bug 14581), so the heap grew by about
//! 35 KB per deflated entry, without bound. A [`Reader`] keeps one inflate state for all the
//! entries it reads. The same checks are kept: the CRC-32 and the declared size, with the zip
//! crate's own messages. Anything else (another method, encryption) goes to the zip crate.

use super::{Problem, ReadError, iso};
use flate2::bufread::DeflateDecoder;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// More entries than this is no package of ours.
const MAX_ENTRIES: usize = 2_000_000;
/// Compressed bytes are read from the package in pieces of this size: the zip crate's (the
/// default of `BufReader`), because the piece decides how far a corrupt stream gets before
/// the error, and that offset is in the problem reported.
const INPUT_BUFFER: usize = 8 * 1024;

/// One file of a package, as the source lists it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub size: u64,
    index: usize,
    /// Where a disc image's file starts.
    start: u64,
}

/// A package to read: a ZIP archive or an extracted folder. Both give the same view. Listing
/// needs the package to itself; reading can be shared between threads, one [`Reader`] each.
pub struct Package {
    source: Source,
    /// For encrypted entries.
    passphrase: Option<Arc<str>>,
}

enum Source {
    Zip {
        archive: Box<zip::ZipArchive<ZipBytes>>,
        bytes: ZipBytes,
    },
    Folder(PathBuf),
    /// An ISO 9660 disc image, read with positioned reads like a ZIP file.
    Image(Arc<File>),
}

impl Package {
    /// Opens a package that is not encrypted (or to find that it is).
    pub fn open(path: &Path) -> Result<Package, Problem> {
        Package::open_with(path, None)
    }

    /// Opens a package; `passphrase` opens encrypted entries. A ZIP, a disc image or a folder,
    /// told apart by content.
    pub fn open_with(path: &Path, passphrase: Option<&str>) -> Result<Package, Problem> {
        let mut pkg = Package::open_any(path)?;
        pkg.passphrase = passphrase.map(Arc::from);
        Ok(pkg)
    }

    fn open_any(path: &Path) -> Result<Package, Problem> {
        let cannot_open = |source| Problem::CannotOpen {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(cannot_open)?;
        if meta.is_dir() {
            return Ok(Package {
                source: Source::Folder(path.to_path_buf()),
                passphrase: None,
            });
        }
        let file = File::open(path).map_err(cannot_open)?;
        if iso::is_image(&file) {
            return Ok(Package {
                source: Source::Image(Arc::new(file)),
                passphrase: None,
            });
        }
        Package::zip(ZipBytes::File {
            file: Arc::new(file),
            pos: 0,
        })
    }

    /// A ZIP held in memory.
    pub fn from_bytes(bytes: Arc<[u8]>) -> Result<Package, Problem> {
        Package::zip(ZipBytes::Memory(io::Cursor::new(bytes)))
    }

    fn zip(bytes: ZipBytes) -> Result<Package, Problem> {
        zip::ZipArchive::new(bytes.clone())
            .map(|archive| Package {
                source: Source::Zip {
                    archive: Box::new(archive),
                    bytes,
                },
                passphrase: None,
            })
            .map_err(Problem::NotAZip)
    }

    /// Lists the files, with every structural problem found on the way.
    pub fn entries(&mut self, problems: &mut Vec<Problem>) -> Vec<Entry> {
        match &mut self.source {
            Source::Zip { archive, .. } => {
                zip_entries(archive, problems, self.passphrase.is_some())
            }
            Source::Folder(root) => folder_entries(root, problems),
            Source::Image(file) => iso::list(file, problems, MAX_ENTRIES)
                .into_iter()
                .enumerate()
                .map(|(index, f)| Entry {
                    name: f.name,
                    size: f.size,
                    index,
                    start: f.start,
                })
                .collect(),
        }
    }

    /// Whether this package is a disc image.
    pub fn is_image(&self) -> bool {
        matches!(self.source, Source::Image(_))
    }

    /// A reader of entries for one thread. Readers are independent: each keeps its own position
    /// in the package and its own decoding state.
    pub fn reader(&self) -> Reader {
        let source = match &self.source {
            Source::Zip { archive, bytes } => ReaderSource::Zip {
                archive: archive.clone(),
                bytes: bytes.clone(),
            },
            Source::Folder(root) => ReaderSource::Folder(root.clone()),
            Source::Image(file) => ReaderSource::Image(file.clone()),
        };
        Reader {
            source,
            inflate: None,
            passphrase: self.passphrase.clone(),
        }
    }
}

/// The bytes of a ZIP package. Clones share the bytes but not the position, so every thread
/// can read its own part: a file is read with positioned reads (`pread`) on the one handle
/// opened, so every thread reads the very file that was listed, even if the path is replaced
/// meanwhile.
#[derive(Clone)]
enum ZipBytes {
    File { file: Arc<File>, pos: u64 },
    Memory(io::Cursor<Arc<[u8]>>),
}

impl Read for ZipBytes {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ZipBytes::File { file, pos } => {
                let n = crate::platform::read_at(file, buf, *pos)?;
                *pos = pos.saturating_add(n as u64);
                Ok(n)
            }
            ZipBytes::Memory(c) => c.read(buf),
        }
    }
}

impl Seek for ZipBytes {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        match self {
            ZipBytes::File { file, pos } => {
                let moved = match to {
                    SeekFrom::Start(n) => Some(n),
                    SeekFrom::End(d) => file.metadata()?.len().checked_add_signed(d),
                    SeekFrom::Current(d) => pos.checked_add_signed(d),
                };
                *pos = moved.ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "seek outside the file")
                })?;
                Ok(*pos)
            }
            ZipBytes::Memory(c) => c.seek(to),
        }
    }
}

/// Reads the entries of one package, one at a time, on one thread.
pub struct Reader {
    source: ReaderSource,
    /// Kept from one deflated entry to the next (see the module notes).
    inflate: Option<DeflateDecoder<BufReader<io::Take<ZipBytes>>>>,
    passphrase: Option<Arc<str>>,
}

enum ReaderSource {
    Zip {
        /// For finding the entries and for what the zip crate decodes.
        archive: Box<zip::ZipArchive<ZipBytes>>,
        /// For the entries decoded here.
        bytes: ZipBytes,
    },
    Folder(PathBuf),
    Image(Arc<File>),
}

impl Reader {
    /// Opens one entry for streaming.
    pub fn open(&mut self, entry: &Entry) -> Result<Box<dyn Read + '_>, Problem> {
        let opened = match &mut self.source {
            ReaderSource::Zip { archive, bytes } => {
                match open_zip_entry(
                    archive,
                    bytes,
                    &mut self.inflate,
                    entry,
                    self.passphrase.as_deref(),
                ) {
                    Err(zip::result::ZipError::InvalidPassword) => {
                        return Err(Problem::WrongPassphrase);
                    }
                    r => r.map_err(ReadError::Zip),
                }
            }
            ReaderSource::Image(file) => {
                let bytes = ZipBytes::File {
                    file: file.clone(),
                    pos: entry.start,
                };
                Ok(
                    Box::new(BufReader::with_capacity(256 * 1024, bytes.take(entry.size)))
                        as Box<dyn Read>,
                )
            }
            ReaderSource::Folder(root) => {
                let path = root.join(&entry.name);
                crate::platform::open_source(&path)
                    .map(|f| Box::new(io::BufReader::new(f)) as Box<dyn Read>)
                    .map_err(ReadError::Io)
            }
        };
        opened.map_err(|source| Problem::Unreadable {
            file: entry.name.clone(),
            source,
        })
    }
}

fn open_zip_entry<'r>(
    z: &'r mut zip::ZipArchive<ZipBytes>,
    bytes: &ZipBytes,
    inflate: &'r mut Option<DeflateDecoder<BufReader<io::Take<ZipBytes>>>>,
    entry: &Entry,
    passphrase: Option<&str>,
) -> zip::result::ZipResult<Box<dyn Read + 'r>> {
    // The raw view finds where the data starts (reading the local header) and what it is.
    let (start, compressed, method, crc32, size, encrypted) = {
        let f = z.by_index_raw(entry.index)?;
        (
            f.data_start(),
            f.compressed_size(),
            f.compression(),
            f.crc32(),
            f.size(),
            f.encrypted(),
        )
    };
    // The start is known once the local header has been read. Encrypted entries are refused when
    // listed; should one get here, the zip crate says what is wrong with it.
    let start = match (start, passphrase) {
        (Some(start), _) if !encrypted => start,
        // The zip crate decrypts, and checks each entry's authentication code at its end.
        (_, Some(p)) if encrypted => {
            return Ok(Box::new(z.by_index_decrypt(entry.index, p.as_bytes())?));
        }
        _ => return Ok(Box::new(z.by_index(entry.index)?)),
    };
    let mut data = bytes.clone();
    data.seek(SeekFrom::Start(start))?;
    let data = data.take(compressed);
    Ok(match method {
        zip::CompressionMethod::Stored => Box::new(Checked::new(data, crc32, size)),
        zip::CompressionMethod::Deflated => {
            let input = BufReader::with_capacity(INPUT_BUFFER, data);
            let decoder = match inflate {
                Some(d) => {
                    d.reset(input);
                    d
                }
                None => inflate.insert(DeflateDecoder::new(input)),
            };
            Box::new(Checked::new(decoder, crc32, size))
        }
        _ => Box::new(z.by_index(entry.index)?),
    })
}

/// Checks what an entry inflates to against its declared CRC-32 and size, as the zip crate does
/// (and with its messages): more bytes than declared fail at once, a wrong CRC at the end.
struct Checked<R> {
    inner: R,
    crc: crc32fast::Hasher,
    expected_crc: u32,
    declared_size: u64,
    read: u64,
}

impl<R> Checked<R> {
    fn new(inner: R, expected_crc: u32, declared_size: u64) -> Self {
        Checked {
            inner,
            crc: crc32fast::Hasher::new(),
            expected_crc,
            declared_size,
            read: 0,
        }
    }
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read = self.read.saturating_add(n as u64);
        if self.read > self.declared_size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "File is larger than its declared uncompressed size",
            ));
        }
        if n == 0 && !buf.is_empty() && self.crc.clone().finalize() != self.expected_crc {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "Invalid checksum",
            ));
        }
        self.crc.update(buf.get(..n).unwrap_or_default());
        Ok(n)
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

/// `passphrase`: whether encrypted entries can be opened.
fn zip_entries(
    z: &mut zip::ZipArchive<ZipBytes>,
    problems: &mut Vec<Problem>,
    passphrase: bool,
) -> Vec<Entry> {
    if z.len() > MAX_ENTRIES {
        problems.push(Problem::TooManyEntries { claimed: z.len() });
        return Vec::new();
    }
    // The reader keys entries by name, so a second entry of one name never shows below.
    if z.has_duplicate_names() {
        problems.push(Problem::DuplicateNames);
    }
    let mut out = Vec::new();
    let mut spans = Vec::new();
    for index in 0..z.len() {
        let f = match z.by_index_raw(index) {
            Ok(f) => f,
            Err(e) => {
                problems.push(Problem::EntryUnreadable { index, source: e });
                continue;
            }
        };
        let name = String::from_utf8_lossy(f.name_raw()).into_owned();
        if f.is_dir() {
            continue;
        }
        if !is_safe_name(&name) {
            problems.push(Problem::UnsafeName { file: name });
            continue;
        }
        if f.is_symlink() {
            problems.push(Problem::Link { file: name });
            continue;
        }
        let (start, end) = (
            f.header_start(),
            f.data_start()
                .unwrap_or(f.header_start())
                .saturating_add(f.compressed_size()),
        );
        let (encrypted, size) = (f.encrypted(), f.size());
        drop(f);
        if encrypted {
            // AES (a package of ours, encrypted) opens with its passphrase; the old PKWARE
            // scheme is broken and never ours.
            let aes = matches!(z.get_aes_verification_key_and_salt(index), Ok(Some(_)));
            if !aes {
                problems.push(Problem::Encrypted { file: name });
                continue;
            }
            if !passphrase {
                // Said once for the package: each entry would say the same.
                if !problems
                    .iter()
                    .any(|p| matches!(p, Problem::PassphraseNeeded))
                {
                    problems.push(Problem::PassphraseNeeded);
                }
                continue;
            }
        }
        spans.push((start, end, name.clone()));
        out.push(Entry {
            name,
            size,
            index,
            start: 0,
        });
    }
    spans.sort();
    for pair in spans.windows(2) {
        if let [a, b] = pair
            && b.0 < a.1
        {
            problems.push(Problem::Overlap {
                file: a.2.clone(),
                other: b.2.clone(),
            });
        }
    }
    let mut seen = BTreeSet::new();
    for e in &out {
        if !seen.insert(e.name.clone()) {
            problems.push(Problem::DuplicateEntry {
                file: e.name.clone(),
            });
        }
    }
    out
}

fn folder_entries(root: &Path, problems: &mut Vec<Problem>) -> Vec<Entry> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(Problem::FolderUnreadable(e));
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
            problems.push(Problem::NotRegularFile { file: name });
            continue;
        }
        let size = entry.metadata().map(|m| m.len()).unwrap_or_default();
        out.push(Entry {
            name,
            size,
            index: out.len(),
            start: 0,
        });
        if out.len() > MAX_ENTRIES {
            problems.push(Problem::TooManyFiles);
            break;
        }
    }
    out
}
