//! Reading a disc image: the files an ISO 9660 image holds, and where their bytes lie.
//!
//! By hand, like the writer (`package::iso`): all verify needs is the directory tree of the
//! Primary Volume Descriptor, and every claim in it (a folder's extent and length, a file's)
//! is checked against the image's real size before anything is read or allocated. Folders are
//! read once each (a folder listed twice, or a loop, is a malformed image), at most
//! [`MAX_DEPTH`] deep. Rock Ridge and Joliet names are not read: a package's names are ISO
//! 9660 Level 1 names already.

use super::Problem;
use std::collections::{BTreeSet, VecDeque};
use std::fs::File;

const SECTOR: u64 = 2048;
/// ISO 9660 allows 8 levels; a little more is read, to report what is wrong rather than stop.
const MAX_DEPTH: usize = 16;
/// A folder's records larger than this are no package's.
const MAX_FOLDER: u64 = 64 * 1024 * 1024;
/// All folders' records together, the same.
const MAX_FOLDERS_TOTAL: u64 = 512 * 1024 * 1024;
/// Volume descriptors read before giving up on finding the primary one.
const MAX_DESCRIPTORS: u64 = 64;

/// One file of the image.
pub(super) struct IsoFile {
    pub name: String,
    pub start: u64,
    pub size: u64,
}

/// Whether the file holds an ISO 9660 volume (by content: `CD001` at sector 16).
pub(super) fn is_image(file: &File) -> bool {
    let mut magic = [0u8; 5];
    crate::platform::read_exact_at(file, &mut magic, 16 * SECTOR + 1).is_ok() && &magic == b"CD001"
}

fn malformed(reason: &'static str) -> Problem {
    Problem::ImageMalformed { reason }
}

/// Lists the files of the image, with what is wrong with its structure.
pub(super) fn list(file: &File, problems: &mut Vec<Problem>, max_entries: usize) -> Vec<IsoFile> {
    match walk(file, problems, max_entries) {
        Ok(files) => files,
        Err(p) => {
            problems.push(p);
            Vec::new()
        }
    }
}

fn walk(
    file: &File,
    problems: &mut Vec<Problem>,
    max_entries: usize,
) -> Result<Vec<IsoFile>, Problem> {
    let len = file
        .metadata()
        .map_err(|_| malformed("the image cannot be read"))?
        .len();
    let root = primary_root(file)?;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut total = 0u64;
    let mut queue = VecDeque::from([(root.0, root.1, String::new(), 0usize)]);
    while let Some((extent, size, prefix, depth)) = queue.pop_front() {
        if depth > MAX_DEPTH {
            return Err(malformed("folders nested deeper than any disc holds"));
        }
        if !seen.insert(extent) {
            return Err(malformed("a folder is listed twice (a loop)"));
        }
        let start = extent.saturating_mul(SECTOR);
        if size > MAX_FOLDER || start.saturating_add(size) > len {
            return Err(malformed("a folder lies past the end of the image"));
        }
        total += size;
        if total > MAX_FOLDERS_TOTAL {
            return Err(malformed("the folders are larger than any package's"));
        }
        let mut bytes = vec![0u8; size as usize];
        crate::platform::read_exact_at(file, &mut bytes, start)
            .map_err(|_| malformed("a folder cannot be read"))?;
        let mut at = 0usize;
        while at < bytes.len() {
            let rec_len = bytes.get(at).copied().unwrap_or(0) as usize;
            if rec_len == 0 {
                // The rest of the sector is padding.
                at = (at / SECTOR as usize + 1) * SECTOR as usize;
                continue;
            }
            let rec = bytes
                .get(at..at + rec_len)
                .filter(|r| r.len() >= 34)
                .ok_or_else(|| malformed("a directory record is cut short"))?;
            at += rec_len;
            let name_len = rec.get(32).copied().unwrap_or(0) as usize;
            let name = rec
                .get(33..33 + name_len)
                .ok_or_else(|| malformed("a directory record's name is cut short"))?;
            if name == [0] || name == [1] {
                continue;
            }
            let xa = u64::from(rec.get(1).copied().unwrap_or(0));
            let extent = le_u32(rec, 2);
            let data_len = le_u32(rec, 10);
            let flags = rec.get(25).copied().unwrap_or(0);
            let name = iso_name(name);
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if flags & 0x02 != 0 {
                queue.push_back((extent, data_len, path, depth + 1));
                continue;
            }
            if flags & 0x80 != 0 {
                problems.push(Problem::ImageMalformed {
                    reason: "a file is in several extents, which a package never is",
                });
                continue;
            }
            let data = (extent + xa).saturating_mul(SECTOR);
            if data.saturating_add(data_len) > len {
                return Err(malformed("a file lies past the end of the image"));
            }
            out.push(IsoFile {
                name: path,
                start: data,
                size: data_len,
            });
            if out.len() > max_entries {
                return Err(Problem::TooManyFiles);
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The root folder's extent and length, from the Primary Volume Descriptor.
fn primary_root(file: &File) -> Result<(u64, u64), Problem> {
    let mut d = vec![0u8; SECTOR as usize];
    for n in 16..16 + MAX_DESCRIPTORS {
        crate::platform::read_exact_at(file, &mut d, n * SECTOR)
            .map_err(|_| malformed("no primary volume descriptor"))?;
        if d.get(1..6) != Some(b"CD001") {
            break;
        }
        match d.first() {
            Some(1) => {
                if d.get(128..130) != Some(&[0x00, 0x08]) {
                    return Err(malformed("the logical block size is not 2048 bytes"));
                }
                let root = d.get(156..190).unwrap_or_default();
                return Ok((le_u32(root, 2), le_u32(root, 10)));
            }
            Some(255) => break,
            _ => {}
        }
    }
    Err(malformed("no primary volume descriptor"))
}

fn le_u32(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        v.copy_from_slice(s);
    }
    u64::from(u32::from_le_bytes(v))
}

/// `NAME.EXT;1` → `NAME.EXT`, `NAME.;1` → `NAME`: the name as on a mounted disc.
fn iso_name(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let s = s.split(';').next().unwrap_or_default();
    s.strip_suffix('.').unwrap_or(s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_version_and_empty_extension() {
        assert_eq!(iso_name(b"DICOMDIR.;1"), "DICOMDIR");
        assert_eq!(iso_name(b"README.TXT;1"), "README.TXT");
        assert_eq!(iso_name(b"DICOM"), "DICOM");
    }

    /// A record: extent, length, flags, name.
    fn rec(extent: u32, len: u32, flags: u8, name: &[u8]) -> Vec<u8> {
        let n = 33 + name.len() + (name.len() + 1) % 2;
        let mut r = vec![0u8; n];
        r[0] = n as u8;
        r[2..6].copy_from_slice(&extent.to_le_bytes());
        r[6..10].copy_from_slice(&extent.to_be_bytes());
        r[10..14].copy_from_slice(&len.to_le_bytes());
        r[14..18].copy_from_slice(&len.to_be_bytes());
        r[25] = flags;
        r[32] = name.len() as u8;
        r[33..33 + name.len()].copy_from_slice(name);
        r
    }

    /// An image whose root (sector 18) holds `records`.
    fn image(records: &[Vec<u8>]) -> tempfile::NamedTempFile {
        let mut bytes = vec![0u8; 20 * 2048];
        let pvd = &mut bytes[16 * 2048..17 * 2048];
        pvd[..7].copy_from_slice(b"\x01CD001\x01");
        pvd[128..132].copy_from_slice(&[0x00, 0x08, 0x08, 0x00]);
        pvd[156..190].copy_from_slice(&rec(18, 2048, 2, &[0]));
        bytes[17 * 2048..17 * 2048 + 7].copy_from_slice(b"\xffCD001\x01");
        let mut at = 18 * 2048;
        for r in records {
            bytes[at..at + r.len()].copy_from_slice(r);
            at += r.len();
        }
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), &bytes).unwrap();
        f
    }

    #[test]
    fn hostile_images_are_refused_without_reading_past_their_end() {
        let cases: [(&str, Vec<Vec<u8>>); 4] = [
            ("loop", vec![rec(18, 2048, 2, b"A")]),
            (
                "folder past the end",
                vec![rec(18, 2048, 2, b"A"), rec(1000, 2048, 2, b"B")],
            ),
            ("file past the end", vec![rec(19, 0xFFFF_FFF0, 0, b"F.;1")]),
            ("cut name", {
                let mut r = rec(19, 1, 0, b"X");
                r[32] = 100;
                vec![r]
            }),
        ];
        for (what, records) in cases {
            let f = image(&records);
            let file = File::open(f.path()).unwrap();
            assert!(is_image(&file), "{what}");
            let mut problems = Vec::new();
            list(&file, &mut problems, 100);
            assert!(
                matches!(problems.as_slice(), [Problem::ImageMalformed { .. }]),
                "{what}: {problems:?}"
            );
        }
        let f = image(&[rec(19, 5, 0, b"README.TXT;1")]);
        let mut problems = Vec::new();
        let files = list(&File::open(f.path()).unwrap(), &mut problems, 100);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(files.len(), 1);
        assert_eq!(
            (files[0].name.as_str(), files[0].start, files[0].size),
            ("README.TXT", 19 * 2048, 5)
        );
    }

    #[test]
    fn garbage_is_not_an_image() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.iso");
        std::fs::write(&p, vec![0u8; 40_000]).unwrap();
        let f = File::open(&p).unwrap();
        assert!(!is_image(&f));
        let mut problems = Vec::new();
        assert!(list(&f, &mut problems, 10).is_empty());
        assert!(matches!(
            problems.as_slice(),
            [Problem::ImageMalformed { .. }]
        ));
    }
}
