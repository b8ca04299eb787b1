//! Extract stage: a verified package → a folder, safely.
//!
//! The package is verified first and refused if anything is wrong. Files are then written
//! into a hidden folder beside the destination and the folder is renamed into place when
//! complete, so an interrupted extraction never looks finished. Every name is checked again
//! (relative, no `..`, no drive letters or backslashes; on Windows and macOS also against what
//! their disks cannot hold or tell apart, `platform::portable`), links in the destination are never
//! followed, nothing existing is overwritten unless asked, and every file is checked against
//! its listed checksum as it is written (the package could change after it was verified).

use crate::checksum::{self, Digest};
use crate::package::names::CHECKSUMS;
use crate::passphrase::Passphrase;
use crate::platform;
use crate::verify::{self, Package, Problem, Reader, Verdict};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("the package did not pass verification; nothing was extracted")]
    NotVerified(Box<Verdict>),
    #[error("{0} exists and is not empty; choose an empty folder or use --force to write into it")]
    NotEmpty(PathBuf),
    #[error("{0} is in the way (a link or a file where a folder belongs); nothing was overwritten")]
    InTheWay(PathBuf),
    #[error("{0} already exists; use --force to replace it")]
    Exists(PathBuf),
    #[error("{0}: unsafe name in the package")]
    Unsafe(String),
    /// A name this computer's file system cannot create as it is (a device name Windows
    /// reserves, a trailing dot, names differing only in case): checked before anything is
    /// written, since renaming it would break the DICOMDIR and checksums that name it.
    #[error(
        "{name}: this computer cannot create a file of that name ({why}); nothing was extracted"
    )]
    CannotHold {
        name: String,
        why: platform::portable::Unportable,
    },
    #[error("{0}: changed since it was verified")]
    Changed(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    /// What verify would find, found again while extracting (the package changed since).
    #[error(transparent)]
    Package(Problem),
}

fn io_err(context: impl std::fmt::Display) -> impl FnOnce(io::Error) -> ExtractError {
    let context = context.to_string();
    move |source| ExtractError::Io { context, source }
}

/// What was extracted.
#[derive(Debug)]
pub struct Extracted {
    pub verdict: Verdict,
    pub files: usize,
    pub dest: PathBuf,
}

/// Verifies `package`, then extracts it into `dest`.
pub fn extract(package: &Path, dest: &Path, force: bool) -> Result<Extracted, ExtractError> {
    extract_with(package, dest, force, None)
}

/// [`extract`], with the passphrase of an encrypted package.
pub fn extract_with(
    package: &Path,
    dest: &Path,
    force: bool,
    passphrase: Option<&Passphrase>,
) -> Result<Extracted, ExtractError> {
    let verdict = verify::verify_path_with(package, passphrase);
    if !verdict.ok {
        return Err(ExtractError::NotVerified(Box::new(verdict)));
    }
    let mut pkg = Package::open_with(package, passphrase.map(Passphrase::as_str))
        .map_err(ExtractError::Package)?;
    let mut problems = Vec::new();
    let entries = pkg.entries(&mut problems);
    if let Some(p) = problems.into_iter().next() {
        return Err(ExtractError::Package(p));
    }
    if let Some((name, why)) = platform::portable::first_unholdable(
        entries.iter().map(|e| e.name.as_str()),
        platform::NAME_RULES,
    ) {
        return Err(ExtractError::CannotHold { name, why });
    }
    let mut reader = pkg.reader();
    let listed = listed_digests(&mut reader, &entries)?;

    let fresh = match fs::symlink_metadata(dest) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => true,
        Err(e) => return Err(io_err(dest.display())(e)),
        Ok(m) if m.file_type().is_symlink() || !m.is_dir() => {
            return Err(ExtractError::InTheWay(dest.to_path_buf()));
        }
        Ok(_) => {
            let empty = fs::read_dir(dest)
                .map_err(io_err(dest.display()))?
                .next()
                .is_none();
            if !empty && !force {
                return Err(ExtractError::NotEmpty(dest.to_path_buf()));
            }
            empty
        }
    };

    let count = if fresh {
        // Build the whole tree in a hidden sibling, then move it into place in one rename.
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(io_err(parent.display()))?;
        let staging = tempfile::Builder::new()
            .prefix(".dicompack-")
            .suffix(".partial")
            .tempdir_in(&parent)
            .map_err(io_err(parent.display()))?;
        let n = write_entries(&mut reader, &entries, &listed, staging.path(), false)?;
        let staged = staging.keep();
        if let Err(e) = fs::rename(&staged, dest) {
            let _ = fs::remove_dir_all(&staged);
            return Err(io_err(dest.display())(e));
        }
        n
    } else {
        write_entries(&mut reader, &entries, &listed, dest, force)?
    };
    Ok(Extracted {
        verdict,
        files: count,
        dest: dest.to_path_buf(),
    })
}

fn listed_digests(
    reader: &mut Reader,
    entries: &[verify::Entry],
) -> Result<BTreeMap<String, Digest>, ExtractError> {
    let entry = entries
        .iter()
        .find(|e| e.name == CHECKSUMS)
        .ok_or(ExtractError::Package(Problem::ChecksumsMissing))?;
    let mut text = String::new();
    reader
        .open(entry)
        .map_err(ExtractError::Package)?
        .take(512 * 1024 * 1024)
        .read_to_string(&mut text)
        .map_err(io_err(CHECKSUMS))?;
    let list = checksum::parse_list(&text)
        .map_err(|e| ExtractError::Package(Problem::ChecksumsMalformed(e)))?;
    Ok(list.into_iter().collect())
}

fn write_entries(
    package: &mut Reader,
    entries: &[verify::Entry],
    listed: &BTreeMap<String, Digest>,
    root: &Path,
    force: bool,
) -> Result<usize, ExtractError> {
    let mut count = 0;
    for entry in entries {
        if !verify::is_safe_name(&entry.name) {
            return Err(ExtractError::Unsafe(entry.name.clone()));
        }
        let parts: Vec<&str> = entry.name.split('/').collect();
        let Some((file_name, dirs)) = parts.split_last() else {
            return Err(ExtractError::Unsafe(entry.name.clone()));
        };
        let mut dir = root.to_path_buf();
        for d in dirs {
            dir.push(d);
            ensure_real_dir(&dir)?;
        }
        let target = dir.join(file_name);
        match fs::symlink_metadata(&target) {
            Ok(m) if m.file_type().is_symlink() || m.is_dir() => {
                return Err(ExtractError::InTheWay(target));
            }
            Ok(_) if !force => return Err(ExtractError::Exists(target)),
            _ => {}
        }
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io_err(dir.display()))?;
        let mut hasher = Sha256::new();
        let mut reader = package.open(entry).map_err(ExtractError::Package)?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(&entry.name)(e)),
            };
            let chunk = buf.get(..n).unwrap_or_default();
            hasher.update(chunk);
            tmp.write_all(chunk).map_err(io_err(target.display()))?;
        }
        drop(reader);
        let digest = Digest::from_hasher(hasher);
        if entry.name != CHECKSUMS && listed.get(&entry.name) != Some(&digest) {
            return Err(ExtractError::Changed(entry.name.clone()));
        }
        tmp.as_file().sync_all().map_err(io_err(target.display()))?;
        let persisted = if force {
            tmp.persist(&target).map_err(|e| e.error)
        } else {
            tmp.persist_noclobber(&target).map_err(|e| e.error)
        };
        persisted.map_err(io_err(target.display()))?;
        count += 1;
    }
    Ok(count)
}

/// Creates `dir` if missing; refuses anything there that is not a plain folder (a planted
/// link would lead the extraction elsewhere).
fn ensure_real_dir(dir: &Path) -> Result<(), ExtractError> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() && !m.file_type().is_symlink() => Ok(()),
        Ok(_) => Err(ExtractError::InTheWay(dir.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir(dir).map_err(io_err(dir.display()))
        }
        Err(e) => Err(io_err(dir.display())(e)),
    }
}
