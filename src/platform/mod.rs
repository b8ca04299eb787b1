//! What the operating system decides, behind one small interface, so that the stages stay
//! portable: no other module of the library names an OS or calls one directly.
//!
//! The interface, the same on every OS:
//!
//! - [`open_regular`], [`open_source`]: open a source file for reading without ever blocking
//!   (a FIFO or a device must not hang a run), and only if it is a regular file.
//! - [`read_at`]: a positioned read, so that several threads share one handle.
//! - [`special`]: what a directory entry is that the walk must never open.
//! - [`quiet_broken_pipe`]: stop quietly when the reader of our output goes away (`| head`).
//! - [`input_path`]: an input as the user meant it (`D:` is the disc in drive D).
//! - [`volume_label`]: the label of the disc an input lies on, as provenance.
//! - [`removable_media`]: the optical discs and removable drives there are now, for a drive list
//!   (a local web page, a front end). Small and stable: a `Vec<Medium>`, each a path to read
//!   from, a label and a kind; serializable as JSON.
//! - [`open_in_browser`], [`documents_dir`]: what a local page needs to show itself and to
//!   offer a place to save that a patient will find again.
//! - [`NAME_RULES`] and [`portable`]: which names this OS's file systems cannot hold or cannot
//!   tell apart, as pure functions tested on every OS.
//!
//! The halves: `unix` (Linux, macOS, the other Unixes) and `windows`; the mount tables are read
//! by `linux` and `macos`. What an OS lacks (a volume label on a BSD) is `None` or empty, never
//! an error.

use std::fs::{File, FileType};
use std::io;
use std::path::{Path, PathBuf};

pub mod portable;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(unix)]
mod unix;
#[cfg(windows)]
mod windows;

#[cfg(unix)]
use unix as os;
#[cfg(windows)]
use windows as os;

pub use portable::NameRules;

/// The naming rules of this OS's usual file systems: Windows' on Windows; case-insensitive on
/// macOS (APFS and HFS+ as formatted by default); neither elsewhere, where names are bytes.
pub const NAME_RULES: NameRules = if cfg!(windows) {
    NameRules::WINDOWS
} else if cfg!(target_os = "macos") {
    NameRules::CASE_INSENSITIVE
} else {
    NameRules::POSIX
};

/// A file opened for reading, or the news that the path is not a regular file.
pub enum Opened {
    File { file: File, len: u64 },
    NotRegular,
}

/// Opens `path` for reading without blocking (a FIFO or a device must never hang the run) and
/// says whether it is a regular file.
pub fn open_regular(path: &Path) -> io::Result<Opened> {
    let file = os::open_nonblocking(path)?;
    let meta = file.metadata()?;
    Ok(if meta.is_file() {
        Opened::File {
            len: meta.len(),
            file,
        }
    } else {
        Opened::NotRegular
    })
}

/// Opens a source file already scanned (for copying, hashing, drawing): the same rules, and a
/// path that is no longer a regular file is an error.
pub fn open_source(path: &Path) -> io::Result<File> {
    match open_regular(path)? {
        Opened::File { file, .. } => Ok(file),
        Opened::NotRegular => Err(io::Error::other("not a regular file")),
    }
}

/// Reads into `buf` from `offset` of `file`, without using or needing the file's own position
/// (Unix `pread`; Windows `seek_read`, which moves the position: nothing of ours relies on it).
pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    os::read_at(file, buf, offset)
}

/// Fills `buf` from `offset` of `file` (see [`read_at`]); `UnexpectedEof` when the file ends first.
pub fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match os::read_at(file, buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = buf.get_mut(n..).unwrap_or_default();
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes all of `buf` at `offset` of `file`, without using the file's position (Unix
/// `pwrite`; Windows `seek_write`).
pub fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match os::write_at(file, buf, offset) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf = buf.get(n..).unwrap_or_default();
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A directory entry that is neither a regular file, a folder nor a link, and is never opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    Fifo,
    Device,
    Socket,
    /// Something else the OS has (a Windows reparse point that is no link, …).
    Other,
}

/// What `ft` is when it is none of a regular file, a folder or a link; `None` when it is one.
pub fn special(ft: &FileType) -> Option<Special> {
    if ft.is_file() || ft.is_dir() || ft.is_symlink() {
        None
    } else {
        Some(os::special(ft))
    }
}

/// Like every Unix filter: when the reader of our output goes away (`| head`), stop quietly
/// instead of failing on the next write. Call once, first thing in `main`, before any thread
/// starts. On Windows there is no such signal: the write fails and is reported like any other.
pub fn quiet_broken_pipe() {
    os::quiet_broken_pipe();
}

/// An input path as the user meant it. On Windows a bare drive `D:` means the current folder of
/// drive D, which for a disc just put in is its root but could be anywhere: it is taken as
/// `D:\`, the disc itself. Elsewhere the path is as given.
pub fn input_path(input: &Path) -> PathBuf {
    #[cfg(windows)]
    if let Some(root) = input.to_str().and_then(portable::bare_drive_root) {
        return PathBuf::from(root);
    }
    input.to_path_buf()
}

/// The volume label of the disc an input lies on, when it is on an optical disc (or a mounted
/// disc image) whose label can be read. Recorded in the manifest as provenance. Linux: the ISO
/// 9660 volume descriptor of the device; Windows: `GetVolumeInformationW` of a CD-ROM drive;
/// macOS: the `/Volumes` name of a `cd9660`/`udf` mount.
pub fn volume_label(input: &Path) -> Option<String> {
    #[cfg(target_os = "linux")]
    return linux::volume_label(input);
    #[cfg(target_os = "macos")]
    return macos::volume_label(input);
    #[cfg(windows)]
    return windows::volume_label(input);
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    {
        let _ = input;
        None
    }
}

/// A disc or a removable drive there is now, with something to read on it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Medium {
    /// Where its files are: a mount point (`/media/cdrom`, `/Volumes/ST_ELSEWHERE`) or a drive's
    /// root (`D:\`). Give it to `scan` or `pack` as an input.
    pub path: PathBuf,
    /// The volume label, when it has a readable one.
    pub label: Option<String>,
    pub kind: MediumKind,
}

/// What sort of medium a [`Medium`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediumKind {
    /// A CD, DVD or Blu-ray, or a disc image mounted as one.
    Optical,
    /// A USB stick, a memory card, a drive the OS calls removable.
    Removable,
}

/// The optical discs and removable drives mounted now, sorted by path; a drive with nothing in
/// it is not listed. Quick (no medium is read beyond its label) and never fails: what cannot be
/// asked is left out. Linux: the mount table, optical by file system (`iso9660`, `udf`),
/// removable by the kernel's flag or USB; Windows: `GetLogicalDrives` and `GetDriveTypeW`;
/// macOS: `getmntinfo`, optical by `f_fstypename`, removable a FAT or exFAT volume under
/// `/Volumes`.
pub fn removable_media() -> Vec<Medium> {
    #[cfg(target_os = "linux")]
    let mut media = linux::removable_media();
    #[cfg(target_os = "macos")]
    let mut media = macos::removable_media();
    #[cfg(windows)]
    let mut media = windows::removable_media();
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    let mut media: Vec<Medium> = Vec::new();
    media.sort_by(|a, b| a.path.cmp(&b.path));
    media
}

/// Opens `url` in the user's web browser: Windows `ShellExecuteW`, macOS `open`, elsewhere
/// `xdg-open`. Returns once the request is handed over (the browser may still be starting);
/// an error when it could not be.
pub fn open_in_browser(url: &str) -> io::Result<()> {
    os::open_in_browser(url)
}

/// The user's Documents folder, where a patient expects a saved file: on Windows the known
/// folder (wherever OneDrive or an administrator moved it), on macOS `~/Documents`, elsewhere
/// the XDG documents folder (`~/.config/user-dirs.dirs`) or `~/Documents`. `None` when the
/// folder does not exist.
pub fn documents_dir() -> Option<PathBuf> {
    os::documents_dir().filter(|d| d.is_dir())
}
