//! The Unix half (Linux, macOS, the BSDs): `O_NONBLOCK` opens, `pread`, the file types a Unix
//! has, the SIGPIPE default, `open`/`xdg-open`, the Documents folder.

use super::Special;
use std::fs::{File, FileType, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

pub(super) fn write_at(file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    file.write_at(buf, offset)
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

pub(super) fn open_in_browser(url: &str) -> io::Result<()> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let mut child = Command::new(opener)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    // xdg-open may wait for the browser it starts (with no desktop, `$BROWSER`): reaped aside.
    std::thread::spawn(move || child.wait());
    Ok(())
}

pub(super) fn documents_dir() -> Option<PathBuf> {
    let home = PathBuf::from(std::env::var_os("HOME")?);
    if cfg!(not(target_os = "macos")) {
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".config"));
        let dirs = std::fs::read_to_string(config.join("user-dirs.dirs")).unwrap_or_default();
        if let Some(dir) = xdg_documents(&dirs, &home) {
            return Some(dir);
        }
    }
    Some(home.join("Documents"))
}

/// `XDG_DOCUMENTS_DIR` from the text of `user-dirs.dirs` (lines `XDG_DOCUMENTS_DIR="$HOME/Docs"`,
/// an absolute path or one under `$HOME`, as xdg-user-dirs writes them).
fn xdg_documents(dirs: &str, home: &Path) -> Option<PathBuf> {
    let value = dirs.lines().find_map(|l| {
        l.trim()
            .strip_prefix("XDG_DOCUMENTS_DIR=")
            .map(|v| v.trim().trim_matches('"'))
    })?;
    let dir = match value.strip_prefix("$HOME") {
        Some(rest) => home.join(rest.trim_start_matches('/')),
        None if value.starts_with('/') => PathBuf::from(value),
        None => return None,
    };
    // xdg-user-dirs sets a folder it does not want to `$HOME/` itself.
    (dir != home).then_some(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdg_documents_folder() {
        let home = Path::new("/home/jane");
        let dirs = "# written by xdg-user-dirs-update\nXDG_DESKTOP_DIR=\"$HOME/Desktop\"\n\
                    XDG_DOCUMENTS_DIR=\"$HOME/Dokumente\"\n";
        assert_eq!(
            xdg_documents(dirs, home),
            Some(PathBuf::from("/home/jane/Dokumente"))
        );
        assert_eq!(
            xdg_documents("XDG_DOCUMENTS_DIR=\"/srv/docs\"", home),
            Some(PathBuf::from("/srv/docs"))
        );
        assert_eq!(xdg_documents("XDG_DOCUMENTS_DIR=\"$HOME/\"", home), None);
        assert_eq!(xdg_documents("XDG_MUSIC_DIR=\"$HOME/M\"", home), None);
    }
}
