//! Discover stage: input paths (folders, a disc's mount point, single files, a DICOMDIR) →
//! the regular files worth scanning, in a stable order.
//!
//! What a file is gets decided later, by content; here we only refuse what must never be
//! opened (FIFOs, devices, sockets), do not follow links out of the inputs or around in loops,
//! and remember every folder we could not read, since a lost folder may be lost images.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use walkdir::WalkDir;

/// What the walk found.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Regular files to scan, sorted, each once.
    pub candidates: Vec<PathBuf>,
    /// Paths not scanned on purpose (special files, links leading out of the inputs).
    pub ignored: Vec<(PathBuf, NotOpened)>,
    /// Paths that could not be walked: their content is unknown.
    pub unreadable: Vec<(PathBuf, Unwalkable)>,
    /// The folders walked, spelled as the candidates' paths begin (a DICOMDIR input stands for
    /// its folder): the bounds a directory file's references may be resolved within.
    pub roots: Vec<PathBuf>,
}

/// What kind of thing a link is that is not followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Link {
    #[error("a link that leads nowhere (broken or looping)")]
    Broken,
    #[error("a link pointing outside the input: not followed")]
    Outside,
    #[error("a link to a folder: not followed (the folder is read where it is)")]
    ToFolder,
    #[error("a link to something that is not a regular file")]
    ToSpecial,
}

/// What kind of special file is never opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Special {
    #[error("a named pipe (FIFO), not a file")]
    Fifo,
    #[error("a device, not a file")]
    Device,
    #[error("a socket, not a file")]
    Socket,
    #[error("not a regular file")]
    Other,
}

/// A path the walk does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotOpened {
    #[error("{0}")]
    Special(Special),
    #[error("{0}")]
    Link(Link),
}

/// Why a folder could not be walked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unwalkable {
    #[error("folder cannot be read: permission denied")]
    PermissionDenied,
    #[error("disappeared while the disc was being read")]
    Vanished,
    #[error("cannot be read: {0}")]
    Other(Arc<walkdir::Error>),
}

/// An input that cannot be used at all (the whole run stops: exit 2).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: no such file or folder")]
    Missing { path: PathBuf },
    #[error("{path}: cannot be read: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Walks every input. A DICOMDIR given as input stands for the folder that holds it.
pub fn discover(inputs: &[PathBuf]) -> Result<Discovery, InputError> {
    let mut roots = Vec::new();
    for input in inputs {
        let meta = fs::metadata(input).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => InputError::Missing {
                path: input.clone(),
            },
            _ => InputError::Unreadable {
                path: input.clone(),
                source: e,
            },
        })?;
        let canonical = fs::canonicalize(input).map_err(|e| InputError::Unreadable {
            path: input.clone(),
            source: e,
        })?;
        let is_dicomdir = input
            .file_name()
            .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case("DICOMDIR"));
        if meta.is_file() && is_dicomdir {
            let parent = canonical
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or(canonical);
            roots.push((
                input.parent().map(Path::to_path_buf).unwrap_or_default(),
                parent,
            ));
        } else {
            roots.push((input.clone(), canonical));
        }
    }

    let canonical_roots: Vec<PathBuf> = roots.iter().map(|(_, c)| c.clone()).collect();
    let mut seen = BTreeSet::new();
    let mut found = Discovery::default();
    for (shown, canonical) in &roots {
        walk_root(shown, canonical, &canonical_roots, &mut seen, &mut found);
    }
    found.roots = roots.into_iter().map(|(shown, _)| shown).collect();
    found.candidates.sort();
    found.ignored.sort_by(|a, b| a.0.cmp(&b.0));
    found.unreadable.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

fn walk_root(
    shown: &Path,
    canonical_root: &Path,
    roots: &[PathBuf],
    seen: &mut BTreeSet<PathBuf>,
    found: &mut Discovery,
) {
    // Links are never followed by the walk itself; file links are resolved below, one at a time.
    for entry in WalkDir::new(shown).follow_links(false).sort_by_file_name() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| shown.to_path_buf());
                let reason = match e.io_error().map(std::io::Error::kind) {
                    Some(std::io::ErrorKind::PermissionDenied) => Unwalkable::PermissionDenied,
                    Some(std::io::ErrorKind::NotFound) => Unwalkable::Vanished,
                    _ => Unwalkable::Other(Arc::new(e)),
                };
                found.unreadable.push((path, reason));
                continue;
            }
        };
        let path = entry.path().to_path_buf();
        let ft = entry.file_type();
        if ft.is_dir() {
            continue;
        }
        let ignore =
            |found: &mut Discovery, why: NotOpened| found.ignored.push((path.clone(), why));
        if ft.is_symlink() {
            match fs::canonicalize(&path) {
                Err(_) => ignore(found, NotOpened::Link(Link::Broken)),
                Ok(target) if !roots.iter().any(|r| target.starts_with(r)) => {
                    ignore(found, NotOpened::Link(Link::Outside))
                }
                Ok(target) => match fs::metadata(&target) {
                    Ok(m) if m.is_file() => {
                        if seen.insert(target) {
                            found.candidates.push(path);
                        }
                    }
                    Ok(m) if m.is_dir() => ignore(found, NotOpened::Link(Link::ToFolder)),
                    _ => ignore(found, NotOpened::Link(Link::ToSpecial)),
                },
            }
            continue;
        }
        if ft.is_fifo() {
            ignore(found, NotOpened::Special(Special::Fifo));
        } else if ft.is_block_device() || ft.is_char_device() {
            ignore(found, NotOpened::Special(Special::Device));
        } else if ft.is_socket() {
            ignore(found, NotOpened::Special(Special::Socket));
        } else if ft.is_file() {
            let key = canonical_root.join(path.strip_prefix(shown).unwrap_or(&path));
            if seen.insert(key) {
                found.candidates.push(path);
            }
        } else {
            ignore(found, NotOpened::Special(Special::Other));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_refuses_specials_and_outside_links() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("A/B")).unwrap();
        fs::write(root.join("A/B/IM1"), b"x").unwrap();
        fs::write(root.join("A/IM0"), b"x").unwrap();
        fs::write(outside.path().join("SECRET"), b"x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("SECRET"), root.join("out")).unwrap();
        std::os::unix::fs::symlink(root.join("loop"), root.join("loop")).unwrap();
        std::os::unix::fs::symlink(root.join("A/IM0"), root.join("again")).unwrap();
        let fifo = root.join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);

        let d = discover(&[root.to_path_buf(), root.join("A")]).unwrap();
        let names: Vec<_> = d
            .candidates
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["A/B/IM1", "A/IM0"],
            "each file once, links to inside files deduplicated"
        );
        let reasons: Vec<_> = d.ignored.iter().map(|(_, why)| why).collect();
        for want in [
            NotOpened::Link(Link::Outside),
            NotOpened::Link(Link::Broken),
            NotOpened::Special(Special::Fifo),
        ] {
            assert!(reasons.contains(&&want), "{want:?} not among {reasons:?}");
        }
        assert!(matches!(
            discover(&[root.join("nope")]),
            Err(InputError::Missing { .. })
        ));
    }
}

/// The volume label of the disc an input lives on, when it is mounted from an ISO 9660 device
/// we can read (a CD or DVD, or a loop-mounted image). Recorded in the manifest as provenance.
pub fn volume_label(input: &Path) -> Option<String> {
    let canonical = fs::canonicalize(input).ok()?;
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").ok()?;
    let (fstype, device) = mount_of(&mountinfo, &canonical)?;
    if fstype != "iso9660" {
        return None;
    }
    let mut descriptor = [0u8; 2048];
    let mut f = fs::File::open(device).ok()?;
    std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(16 * 2048)).ok()?;
    std::io::Read::read_exact(&mut f, &mut descriptor).ok()?;
    iso9660_label(&descriptor)
}

/// The file-system type and source of the mount that holds `path` (the longest mount point
/// that is a prefix of it), from the text of /proc/self/mountinfo.
fn mount_of(mountinfo: &str, path: &Path) -> Option<(String, String)> {
    let mut best: Option<(usize, String, String)> = None;
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let Some(point) = left.split(' ').nth(4) else {
            continue;
        };
        // mountinfo escapes space, tab, newline and backslash as octal.
        let point = point
            .replace("\\040", " ")
            .replace("\\011", "\t")
            .replace("\\012", "\n")
            .replace("\\134", "\\");
        let mut rest = right.split(' ');
        let (Some(fstype), Some(source)) = (rest.next(), rest.next()) else {
            continue;
        };
        if path.starts_with(&point) && best.as_ref().is_none_or(|b| point.len() > b.0) {
            best = Some((point.len(), fstype.to_string(), source.to_string()));
        }
    }
    best.map(|(_, t, s)| (t, s))
}

/// The Volume Identifier of an ISO 9660 Primary Volume Descriptor (ECMA-119 8.4).
fn iso9660_label(descriptor: &[u8]) -> Option<String> {
    if descriptor.first() != Some(&1) || descriptor.get(1..6) != Some(b"CD001") {
        return None;
    }
    let label = String::from_utf8_lossy(descriptor.get(40..72)?)
        .trim()
        .to_string();
    (!label.is_empty()).then_some(label)
}

#[cfg(test)]
mod provenance_tests {
    use super::*;

    #[test]
    fn finds_the_mount_and_reads_the_iso9660_label() {
        let info = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n\
                    40 22 11:0 / /media/cd\\040rom ro - iso9660 /dev/sr0 ro\n";
        assert_eq!(
            mount_of(info, Path::new("/media/cd rom/DICOM/IM1")),
            Some(("iso9660".into(), "/dev/sr0".into()))
        );
        assert_eq!(
            mount_of(info, Path::new("/home/x")),
            Some(("ext4".into(), "/dev/sda1".into()))
        );
        let mut pvd = vec![0u8; 2048];
        pvd[0] = 1;
        pvd[1..6].copy_from_slice(b"CD001");
        pvd[40..72].copy_from_slice(b"ST_ELSEWHERE_20240305           ");
        assert_eq!(
            iso9660_label(&pvd).as_deref(),
            Some("ST_ELSEWHERE_20240305")
        );
        pvd[1] = b'X';
        assert_eq!(iso9660_label(&pvd), None);
    }
}
