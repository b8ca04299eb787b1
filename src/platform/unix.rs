//! The Unix half (Linux, macOS, the BSDs): `O_NONBLOCK` opens, `pread`, the file types a Unix
//! has, the SIGPIPE default.

use super::Special;
use std::fs::{File, FileType, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// `O_NONBLOCK`: opening a FIFO with no writer, or some devices, would otherwise wait forever.
/// A regular file ignores the flag.
pub(super) fn open_nonblocking(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

pub(super) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.read_at(buf, offset)
}

pub(super) fn special(ft: &FileType) -> Special {
    if ft.is_fifo() {
        Special::Fifo
    } else if ft.is_block_device() || ft.is_char_device() {
        Special::Device
    } else if ft.is_socket() {
        Special::Socket
    } else {
        Special::Other
    }
}

pub(super) fn quiet_broken_pipe() {
    // SAFETY: restoring the default disposition of one signal; called before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
