//! What the operating system decides, behind one small interface, so that the stages stay
//! portable: today, how a source file is opened. (The Windows port, issue 18, adds its half here:
//! positional reads, special files, volume labels, removable media.)

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// A file opened for reading, or the news that the path is not a regular file.
pub enum Opened {
    File { file: File, len: u64 },
    NotRegular,
}

/// Opens `path` for reading without blocking (a FIFO or a device must never hang the run) and
/// says whether it is a regular file.
pub fn open_regular(path: &Path) -> io::Result<Opened> {
    let file = open_nonblocking(path)?;
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

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).open(path)
}
