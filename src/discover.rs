//! Discover stage: input paths (folders, a disc's mount point, single files, a DICOMDIR) →
//! the regular files worth scanning, in a stable order.
//!
//! What a file is gets decided later, by content; here we only refuse what must never be
//! opened (FIFOs, devices, sockets), do not follow links out of the inputs or around in loops,
//! and remember every folder we could not read, since a lost folder may be lost images.

use crate::platform;
use std::collections::BTreeSet;
use std::fs;
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

impl From<platform::Special> for Special {
    fn from(s: platform::Special) -> Special {
        match s {
            platform::Special::Fifo => Special::Fifo,
            platform::Special::Device => Special::Device,
            platform::Special::Socket => Special::Socket,
            platform::Special::Other => Special::Other,
        }
    }
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
        let input = &platform::input_path(input);
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
        match platform::special(&ft) {
            Some(special) => ignore(found, NotOpened::Special(special.into())),
            None => {
                let key = canonical_root.join(path.strip_prefix(shown).unwrap_or(&path));
                if seen.insert(key) {
                    found.candidates.push(path);
                }
            }
        }
    }
}

// The walk's rules need what only a Unix makes: links, a FIFO.
#[cfg(all(test, unix))]
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
