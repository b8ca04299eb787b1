//! The disc-image container: the package's file-set as an ISO 9660 image, ready to burn.
//!
//! The image is made from the very bytes the ZIP writer lays down, without a second copy: the
//! writer starts past the volume descriptors, stores every entry uncompressed with its data
//! aligned to a 2048-byte sector (the zip crate's alignment option), and when it is done this
//! module reads back where each entry's data lies, clears the ZIP's local headers (they sit in
//! sectors no file uses), and writes in place of the ZIP's central directory the ISO 9660
//! directories, path tables and, at sector 16, the Primary Volume Descriptor. The result is a
//! plain ISO 9660 Level 1 image: names already are 8.3 uppercase (IHE PDI), no Rock Ridge or
//! Joliet is needed, no autorun. Every time stamp is the package's own (`SOURCE_DATE_EPOCH`),
//! so the same input gives the same image.
//!
//! Written by hand, as the DICOMDIR is: the maintained crates (hadris-iso, the writer of
//! fstool) take the whole tree, contents included, before they write, so every file would be
//! held or read a second time; the copy into a package is the one pass over the sources
//! (ARCHITECTURE.md), and what ISO 9660 needs on top of it is a few hundred bytes per folder.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;

/// The logical sector and block size of a CD, DVD or BD file system.
pub const SECTOR: u64 = 2048;
/// Sectors before the first file: the system area (16, zero), the Primary Volume Descriptor
/// and the set terminator.
pub const FIRST_DATA_SECTOR: u64 = 18;
/// ISO 9660 without multi-extent files holds files below 4 GiB.
const MAX_FILE: u64 = u32::MAX as u64;

#[derive(Debug, thiserror::Error)]
pub enum IsoError {
    #[error("{0}: larger than 4 GiB, which a disc image cannot hold as one file")]
    TooLarge(String),
    #[error("{0}: its data could not be placed on a sector boundary")]
    Unaligned(String),
    #[error("{0}: not a name a disc image can hold")]
    BadName(String),
    #[error("the image's own listing cannot be read back: {0}")]
    Listing(#[from] zip::result::ZipError),
    #[error("the image is larger than ISO 9660 can address")]
    TooManySectors,
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A file of the image: where its data starts (a sector) and how long it is.
struct Extent {
    sector: u32,
    size: u32,
}

/// A folder of the image, with what it holds by ISO name.
#[derive(Default)]
struct Folder {
    /// Sub-folders by name, with their index in `Tree::folders`.
    folders: BTreeMap<String, usize>,
    /// Files by ISO identifier (`NAME.EXT;1`).
    files: BTreeMap<(String, String), Extent>,
    parent: usize,
    name: String,
    /// Set when laid out.
    sector: u32,
    size: u32,
}

/// The folders in path-table order (breadth first, by name within a parent): the number a
/// path table gives a folder is its place here plus one.
struct Tree {
    folders: Vec<Folder>,
}

impl Tree {
    fn new() -> Tree {
        Tree {
            folders: vec![Folder::default()],
        }
    }

    fn add(&mut self, path: &str, extent: Extent) -> Result<(), IsoError> {
        let bad = || IsoError::BadName(path.to_string());
        let mut parts: Vec<&str> = path.split('/').collect();
        let file = parts.pop().ok_or_else(bad)?;
        let mut at = 0;
        for p in parts {
            if !is_d_name(p, 8) {
                return Err(bad());
            }
            let next = self.folders.len();
            let folder = self.folders.get_mut(at).ok_or_else(bad)?;
            at = match folder.folders.get(p) {
                Some(&i) => i,
                None => {
                    folder.folders.insert(p.to_string(), next);
                    self.folders.push(Folder {
                        parent: at,
                        name: p.to_string(),
                        ..Folder::default()
                    });
                    next
                }
            };
        }
        let (name, ext) = file.split_once('.').unwrap_or((file, ""));
        if !is_d_name(name, 8) || !(ext.is_empty() || is_d_name(ext, 3)) {
            return Err(bad());
        }
        let folder = self.folders.get_mut(at).ok_or_else(bad)?;
        folder
            .files
            .insert((name.to_string(), ext.to_string()), extent);
        Ok(())
    }

    /// Folder indexes in path-table order: by depth, then by parent's number, then by name.
    fn path_table_order(&self) -> Vec<usize> {
        let mut order = vec![0usize];
        let mut i = 0;
        while let Some(&f) = order.get(i) {
            if let Some(folder) = self.folders.get(f) {
                order.extend(folder.folders.values().copied());
            }
            i += 1;
        }
        order
    }
}

/// ISO 9660 d-characters (A–Z, 0–9, _), 1 to `max` of them.
fn is_d_name(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// A volume label from `words`: d-characters only, at most 32.
pub fn volume_label(words: &str) -> String {
    let label: String = words
        .chars()
        .map(|c| c.to_ascii_uppercase())
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(32)
        .collect();
    if label.is_empty() {
        "DICOMPACK".to_string()
    } else {
        label
    }
}

/// Turns the stored, sector-aligned ZIP in `file` (written from sector [`FIRST_DATA_SECTOR`]
/// on) into an ISO 9660 image labelled `label`. Returns the image's size in bytes.
pub fn finish_image(
    file: &File,
    label: &str,
    stamp: time::OffsetDateTime,
) -> Result<u64, IsoError> {
    let mut tree = Tree::new();
    let mut data_end = FIRST_DATA_SECTOR * SECTOR;
    let mut headers = Vec::new();
    {
        let reader = io::BufReader::new(file.try_clone()?);
        let mut zip = zip::ZipArchive::new(reader)?;
        data_end = data_end.max(zip.central_directory_start());
        for i in 0..zip.len() {
            let f = zip.by_index_raw(i)?;
            let name = f.name()?.into_owned();
            let size = f.size();
            let start = f
                .data_start()
                .ok_or_else(|| IsoError::Unaligned(name.clone()))?;
            if size > MAX_FILE {
                return Err(IsoError::TooLarge(name));
            }
            if start % SECTOR != 0 || f.compressed_size() != size {
                return Err(IsoError::Unaligned(name));
            }
            headers.push((f.header_start(), start));
            let sector = u32::try_from(start / SECTOR).map_err(|_| IsoError::TooManySectors)?;
            tree.add(
                &name,
                Extent {
                    sector,
                    size: size as u32,
                },
            )?;
        }
    }
    // The ZIP's local headers are no file's bytes: cleared, the unused sectors are zero as on
    // any disc image.
    for (from, to) in headers {
        let len = usize::try_from(to.saturating_sub(from)).unwrap_or(0);
        crate::platform::write_all_at(file, &vec![0u8; len], from)?;
    }

    let order = tree.path_table_order();
    let first_free = data_end.div_ceil(SECTOR);
    let (l_table, m_table, table_size) = {
        // Folder locations are not known yet; the size of the tables does not depend on them.
        let size = path_table(&tree, &order, false).len() as u64;
        let sectors = size.div_ceil(SECTOR);
        (first_free, first_free + sectors, size)
    };
    let mut next = first_free + 2 * table_size.div_ceil(SECTOR);
    for &f in &order {
        let size = folder_bytes(&tree, f).len() as u64;
        let folder = tree.folders.get_mut(f).ok_or(IsoError::TooManySectors)?;
        folder.sector = u32::try_from(next).map_err(|_| IsoError::TooManySectors)?;
        folder.size = size as u32;
        next += size.div_ceil(SECTOR);
    }
    let total = u32::try_from(next).map_err(|_| IsoError::TooManySectors)?;

    let date = RecordingDate::of(stamp);
    let mut at = l_table * SECTOR;
    crate::platform::write_all_at(file, &padded(path_table(&tree, &order, false)), at)?;
    at = m_table * SECTOR;
    crate::platform::write_all_at(file, &padded(path_table(&tree, &order, true)), at)?;
    for &f in &order {
        let bytes = padded(directory(&tree, f, &date));
        let sector = tree.folders.get(f).map_or(0, |d| d.sector);
        crate::platform::write_all_at(file, &bytes, u64::from(sector) * SECTOR)?;
    }
    let root = tree.folders.first().ok_or(IsoError::TooManySectors)?;
    let pvd = primary_descriptor(
        label,
        total,
        table_size as u32,
        (l_table as u32, m_table as u32),
        record(root.sector, root.size, true, &[0], &date),
        stamp,
    );
    crate::platform::write_all_at(file, &pvd, 16 * SECTOR)?;
    let mut terminator = vec![0u8; SECTOR as usize];
    terminator
        .get_mut(..7)
        .ok_or(IsoError::TooManySectors)?
        .copy_from_slice(b"\xffCD001\x01");
    crate::platform::write_all_at(file, &terminator, 17 * SECTOR)?;
    let size = u64::from(total) * SECTOR;
    file.set_len(size)?;
    Ok(size)
}

/// Pads to whole sectors.
fn padded(mut v: Vec<u8>) -> Vec<u8> {
    let len = (v.len() as u64).div_ceil(SECTOR).max(1) * SECTOR;
    v.resize(len as usize, 0);
    v
}

/// The 7-byte date of a directory record (ECMA-119 9.1.5), in UTC.
struct RecordingDate([u8; 7]);

impl RecordingDate {
    fn of(t: time::OffsetDateTime) -> RecordingDate {
        let t = t.to_offset(time::UtcOffset::UTC);
        let year = (t.year() - 1900).clamp(0, 255) as u8;
        RecordingDate([
            year,
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            0,
        ])
    }
}

fn both_u32(v: u32) -> [u8; 8] {
    let mut b = [0u8; 8];
    let (le, be) = b.split_at_mut(4);
    le.copy_from_slice(&v.to_le_bytes());
    be.copy_from_slice(&v.to_be_bytes());
    b
}

fn both_u16(v: u16) -> [u8; 4] {
    let mut b = [0u8; 4];
    let (le, be) = b.split_at_mut(2);
    le.copy_from_slice(&v.to_le_bytes());
    be.copy_from_slice(&v.to_be_bytes());
    b
}

/// One directory record (ECMA-119 9.1).
fn record(sector: u32, size: u32, folder: bool, name: &[u8], date: &RecordingDate) -> Vec<u8> {
    let len = 33 + name.len() + (name.len() + 1) % 2;
    let mut r = Vec::with_capacity(len);
    r.push(len as u8);
    r.push(0);
    r.extend_from_slice(&both_u32(sector));
    r.extend_from_slice(&both_u32(size));
    r.extend_from_slice(&date.0);
    r.push(if folder { 2 } else { 0 });
    r.extend_from_slice(&[0, 0]);
    r.extend_from_slice(&both_u16(1));
    r.push(name.len() as u8);
    r.extend_from_slice(name);
    r.resize(len, 0);
    r
}

/// The records of folder `f`: itself, its parent, then what it holds by identifier. A record
/// never crosses a sector boundary (ECMA-119 6.8.1.1).
fn directory(tree: &Tree, f: usize, date: &RecordingDate) -> Vec<u8> {
    let Some(folder) = tree.folders.get(f) else {
        return Vec::new();
    };
    let parent = tree.folders.get(folder.parent).unwrap_or(folder);
    let mut records = vec![
        record(folder.sector, folder.size, true, &[0], date),
        record(parent.sector, parent.size, true, &[1], date),
    ];
    // Folders and files in one order: by name, then extension (a folder has none).
    let mut children: Vec<((&str, &str), Vec<u8>)> = Vec::new();
    for (name, &i) in &folder.folders {
        let (sector, size) = tree.folders.get(i).map_or((0, 0), |d| (d.sector, d.size));
        children.push((
            (name.as_str(), ""),
            record(sector, size, true, name.as_bytes(), date),
        ));
    }
    for ((name, ext), e) in &folder.files {
        let id = format!("{name}.{ext};1");
        children.push((
            (name.as_str(), ext.as_str()),
            record(e.sector, e.size, false, id.as_bytes(), date),
        ));
    }
    children.sort_by(|a, b| a.0.cmp(&b.0));
    records.extend(children.into_iter().map(|(_, r)| r));
    let mut out = Vec::new();
    for r in records {
        let used = out.len() as u64 % SECTOR;
        if used + r.len() as u64 > SECTOR {
            out.resize(out.len() + (SECTOR - used) as usize, 0);
        }
        out.extend_from_slice(&r);
    }
    out
}

/// The size a folder's records take, whole sectors.
fn folder_bytes(tree: &Tree, f: usize) -> Vec<u8> {
    padded(directory(tree, f, &RecordingDate([0; 7])))
}

/// The path table (ECMA-119 9.4), little-endian (type L) or big-endian (type M).
fn path_table(tree: &Tree, order: &[usize], big_endian: bool) -> Vec<u8> {
    let number: BTreeMap<usize, u16> = order
        .iter()
        .enumerate()
        .map(|(n, &f)| (f, (n + 1).min(u16::MAX as usize) as u16))
        .collect();
    let mut out = Vec::new();
    for &f in order {
        let Some(folder) = tree.folders.get(f) else {
            continue;
        };
        let name: &[u8] = if f == 0 { &[0] } else { folder.name.as_bytes() };
        let parent = number.get(&folder.parent).copied().unwrap_or(1);
        out.push(name.len() as u8);
        out.push(0);
        if big_endian {
            out.extend_from_slice(&folder.sector.to_be_bytes());
            out.extend_from_slice(&parent.to_be_bytes());
        } else {
            out.extend_from_slice(&folder.sector.to_le_bytes());
            out.extend_from_slice(&parent.to_le_bytes());
        }
        out.extend_from_slice(name);
        if name.len() % 2 == 1 {
            out.push(0);
        }
    }
    out
}

/// `YYYYMMDDHHMMSScc` and the offset from GMT (ECMA-119 8.4.26.1).
fn dec_datetime(t: time::OffsetDateTime) -> [u8; 17] {
    let t = t.to_offset(time::UtcOffset::UTC);
    let text = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}00",
        t.year().clamp(0, 9999),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let mut b = [0u8; 17];
    for (d, s) in b.iter_mut().zip(text.bytes()) {
        *d = s;
    }
    b
}

fn put(pvd: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(slot) = pvd.get_mut(at..at + bytes.len()) {
        slot.copy_from_slice(bytes);
    }
}

/// A text field padded with spaces.
fn text(s: &str, len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = s.bytes().take(len).collect();
    v.resize(len, b' ');
    v
}

fn primary_descriptor(
    label: &str,
    sectors: u32,
    table_size: u32,
    (l_table, m_table): (u32, u32),
    root: Vec<u8>,
    stamp: time::OffsetDateTime,
) -> Vec<u8> {
    let mut d = vec![0u8; SECTOR as usize];
    put(&mut d, 0, b"\x01CD001\x01");
    put(&mut d, 8, &text("", 32));
    put(&mut d, 40, &text(label, 32));
    put(&mut d, 80, &both_u32(sectors));
    put(&mut d, 120, &both_u16(1));
    put(&mut d, 124, &both_u16(1));
    put(&mut d, 128, &both_u16(SECTOR as u16));
    put(&mut d, 132, &both_u32(table_size));
    put(&mut d, 140, &l_table.to_le_bytes());
    put(&mut d, 148, &m_table.to_be_bytes());
    put(&mut d, 156, &root);
    put(&mut d, 190, &text(label, 128));
    put(&mut d, 318, &text("", 128));
    put(&mut d, 446, &text("", 128));
    put(
        &mut d,
        574,
        &text(&format!("DICOMPACK {}", env!("CARGO_PKG_VERSION")), 128),
    );
    put(&mut d, 702, &text("", 37 * 3));
    let now = dec_datetime(stamp);
    let unset = *b"0000000000000000\0";
    put(&mut d, 813, &now);
    put(&mut d, 830, &now);
    put(&mut d, 847, &unset);
    put(&mut d, 864, &unset);
    put(&mut d, 881, &[1]);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_d_characters() {
        assert_eq!(volume_label("dicom 2024-01-02"), "DICOM_2024_01_02");
        assert_eq!(volume_label(""), "DICOMPACK");
        assert_eq!(volume_label(&"X".repeat(40)).len(), 32);
    }

    #[test]
    fn records_never_cross_a_sector() {
        let mut tree = Tree::new();
        for i in 0..200 {
            tree.add(
                &format!("DICOM/I{i:07}"),
                Extent {
                    sector: 20,
                    size: 1,
                },
            )
            .unwrap();
        }
        let date = RecordingDate([0; 7]);
        let bytes = directory(&tree, 1, &date);
        let mut at = 0;
        while at < bytes.len() {
            let len = bytes[at] as usize;
            if len == 0 {
                at = (at / 2048 + 1) * 2048;
                continue;
            }
            assert_eq!(at / 2048, (at + len - 1) / 2048, "record at {at}");
            at += len;
        }
        assert!(bytes.len() > 2048);
    }

    #[test]
    fn names_outside_level_1_are_refused() {
        let mut tree = Tree::new();
        let e = || Extent {
            sector: 20,
            size: 1,
        };
        assert!(tree.add("README.TXT", e()).is_ok());
        assert!(tree.add("readme.txt", e()).is_err());
        assert!(tree.add("TOOLONGNAME", e()).is_err());
        assert!(tree.add("A.HTML", e()).is_err());
    }
}
