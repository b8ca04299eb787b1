//! The Windows half: plain opens (nothing in a folder listing blocks when opened; the device
//! names Windows reserves are refused before opening), `seek_read`, no SIGPIPE, and the drives
//! from `GetLogicalDrives`, `GetDriveTypeW` and `GetVolumeInformationW`, the browser by
//! `ShellExecuteW`, the Documents folder by `SHGetKnownFolderPath`, all through `windows-sys`.

use super::{Medium, MediumKind, Special, portable};
use std::ffi::OsStr;
use std::ffi::OsString;
use std::fs::{File, FileType, OpenOptions};
use std::io;
use std::os::windows::ffi::{OsStrExt, OsStringExt};
use std::os::windows::fs::FileExt;
use std::path::{Path, PathBuf};
use windows_sys::Win32::Storage::FileSystem::{
    GetDriveTypeW, GetLogicalDrives, GetVolumeInformationW, GetVolumePathNameW,
};
use windows_sys::Win32::System::Com::CoTaskMemFree;
use windows_sys::Win32::System::Diagnostics::Debug::{
    SEM_FAILCRITICALERRORS, SEM_NOOPENFILEERRORBOX, SetThreadErrorMode,
};
use windows_sys::Win32::System::WindowsProgramming::{DRIVE_CDROM, DRIVE_REMOVABLE};
use windows_sys::Win32::UI::Shell::{FOLDERID_Documents, SHGetKnownFolderPath, ShellExecuteW};
use windows_sys::Win32::UI::WindowsAndMessaging::SW_SHOWNORMAL;

/// Opening a file cannot hang on Windows the way a Unix FIFO does (named pipes live apart, in
/// `\\.\pipe\`). A name Windows reserves (`CON`, `COM1`…) opens a device, the console even, and
/// reading that would wait for a person: such a path is never opened.
pub(super) fn open_nonblocking(path: &Path) -> io::Result<File> {
    if path
        .file_name()
        .and_then(OsStr::to_str)
        .is_some_and(portable::is_reserved)
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a device name Windows reserves, not a file",
        ));
    }
    OpenOptions::new().read(true).open(path)
}

pub(super) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.seek_read(buf, offset)
}

pub(super) fn write_at(file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    file.seek_write(buf, offset)
}

/// A folder listing on Windows holds files, folders and links (reparse points); anything else
/// is some other reparse point, not to be opened.
pub(super) fn special(_ft: &FileType) -> Special {
    Special::Other
}

/// Windows has no SIGPIPE: a write to a closed pipe fails, and the failure is reported.
pub(super) fn quiet_broken_pipe() {}

pub(super) fn volume_label(input: &Path) -> Option<String> {
    let root = volume_root(input)?;
    // SAFETY: `root` is a NUL-terminated UTF-16 string.
    if unsafe { GetDriveTypeW(root.as_ptr()) } != DRIVE_CDROM {
        return None;
    }
    label(&root).ok().flatten()
}

pub(super) fn removable_media() -> Vec<Medium> {
    // SAFETY: no arguments; a bit mask of the drive letters in use.
    let drives = unsafe { GetLogicalDrives() };
    (b'A'..=b'Z')
        .zip(0u32..)
        .filter(|(_, bit)| drives & (1 << bit) != 0)
        .filter_map(|(letter, _)| {
            let path = format!("{}:\\", char::from(letter));
            let root = wide(OsStr::new(&path));
            // SAFETY: `root` is a NUL-terminated UTF-16 string.
            let kind = match unsafe { GetDriveTypeW(root.as_ptr()) } {
                DRIVE_CDROM => MediumKind::Optical,
                DRIVE_REMOVABLE => MediumKind::Removable,
                _ => return None,
            };
            // A drive with nothing in it cannot say its label: it is not listed.
            let label = label(&root).ok()?;
            Some(Medium {
                path: PathBuf::from(path),
                label,
                kind,
            })
        })
        .collect()
}

/// The root of the volume `input` lies on (`D:\`, `\\server\share\`, a folder a volume is
/// mounted on), NUL-terminated UTF-16.
fn volume_root(input: &Path) -> Option<Vec<u16>> {
    let absolute = std::path::absolute(input).ok()?;
    let name = wide(absolute.as_os_str());
    let mut buf = vec![0u16; 1024];
    let len = u32::try_from(buf.len()).ok()?;
    // SAFETY: `name` is NUL-terminated; `buf` holds `len` UTF-16 units.
    if unsafe { GetVolumePathNameW(name.as_ptr(), buf.as_mut_ptr(), len) } != 0 {
        let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
        buf.truncate(end);
        buf.push(0);
        return Some(buf);
    }
    // A path too long for the call: its drive or share, read from the text.
    let root = portable::volume_root(absolute.to_str()?)?;
    Some(wide(OsStr::new(&root)))
}

/// The label of the volume at `root`: `Err` when there is no medium to ask (an empty drive),
/// `Ok(None)` when it has no label. Windows' "insert a disk" dialog is turned off meanwhile.
fn label(root: &[u16]) -> Result<Option<String>, ()> {
    let mut name = [0u16; 261];
    let quiet = SEM_FAILCRITICALERRORS | SEM_NOOPENFILEERRORBOX;
    let mut before = 0;
    // SAFETY: `before` receives the thread's mode, restored below.
    let set = unsafe { SetThreadErrorMode(quiet, &mut before) } != 0;
    // SAFETY: `root` is NUL-terminated; `name` holds the 261 units passed; the other outputs
    // are optional and not asked for.
    let ok = unsafe {
        GetVolumeInformationW(
            root.as_ptr(),
            name.as_mut_ptr(),
            261,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    } != 0;
    if set {
        // SAFETY: restores the mode read above; the old one is not asked for.
        unsafe { SetThreadErrorMode(before, std::ptr::null_mut()) };
    }
    if !ok {
        return Err(());
    }
    let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
    let text = String::from_utf16_lossy(name.get(..end).unwrap_or_default());
    let text = text.trim();
    Ok((!text.is_empty()).then(|| text.to_string()))
}

/// `s` as NUL-terminated UTF-16, the way the wide Windows calls take text.
fn wide(s: &OsStr) -> Vec<u16> {
    s.encode_wide().chain(std::iter::once(0)).collect()
}

pub(super) fn open_in_browser(url: &str) -> io::Result<()> {
    let url = wide(OsStr::new(url));
    let verb = wide(OsStr::new("open"));
    // SAFETY: `verb` and `url` are NUL-terminated; no window, parameters or folder are given.
    let done = unsafe {
        ShellExecuteW(
            std::ptr::null_mut(),
            verb.as_ptr(),
            url.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            SW_SHOWNORMAL,
        )
    };
    // Above 32 is success; the rest are old error codes, the thread's last error says which.
    if done as usize > 32 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

pub(super) fn documents_dir() -> Option<PathBuf> {
    let mut path: *mut u16 = std::ptr::null_mut();
    // SAFETY: a known folder's GUID, no flags, the current user; on return `path` is a
    // NUL-terminated string the shell allocated, freed below whatever the result.
    let result =
        unsafe { SHGetKnownFolderPath(&FOLDERID_Documents, 0, std::ptr::null_mut(), &mut path) };
    let dir = (result >= 0 && !path.is_null()).then(|| {
        // SAFETY: `path` is NUL-terminated: counted up to the NUL, then read that far.
        let units = unsafe {
            let mut len = 0;
            while *path.add(len) != 0 {
                len += 1;
            }
            std::slice::from_raw_parts(path, len)
        };
        PathBuf::from(OsString::from_wide(units))
    });
    // SAFETY: the shell's allocation (or null), freed once.
    unsafe { CoTaskMemFree(path.cast_const().cast()) };
    dir
}
