//! macOS: the mounted file systems from `getfsstat` and `statfs`. A disc is a `cd9660`, `udf`
//! or `cddafs` mount; a USB stick or a memory card is a FAT or exFAT volume under `/Volumes`
//! (telling removable drives apart exactly takes IOKit, a framework this crate does not link;
//! an external APFS or HFS+ drive is therefore not listed). A volume's label is the name Finder
//! shows, which macOS gives its folder in `/Volumes`.

use super::{Medium, MediumKind};
use std::ffi::{CString, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub(super) fn volume_label(input: &Path) -> Option<String> {
    let st = statfs_of(input)?;
    let fstype = text(&st.f_fstypename);
    if !is_optical(&fstype) {
        return None;
    }
    label_of(Path::new(&text(&st.f_mntonname)))
}

pub(super) fn removable_media() -> Vec<Medium> {
    mounted()
        .iter()
        .filter_map(|st| {
            let fstype = text(&st.f_fstypename);
            let point = PathBuf::from(text(&st.f_mntonname));
            let local = st.f_flags & (libc::MNT_LOCAL as u32) != 0;
            let hidden = st.f_flags & (libc::MNT_DONTBROWSE as u32) != 0;
            let kind = if is_optical(&fstype) {
                MediumKind::Optical
            } else if local
                && !hidden
                && point.starts_with("/Volumes")
                && matches!(fstype.as_str(), "msdos" | "exfat")
            {
                MediumKind::Removable
            } else {
                return None;
            };
            Some(Medium {
                label: label_of(&point),
                path: point,
                kind,
            })
        })
        .collect()
}

fn is_optical(fstype: &str) -> bool {
    matches!(fstype, "cd9660" | "udf" | "cddafs")
}

/// `/Volumes/NAME` → `NAME`.
fn label_of(point: &Path) -> Option<String> {
    let name = point.strip_prefix("/Volumes").ok()?;
    let label = name.to_str()?;
    (!label.is_empty() && !label.contains('/')).then(|| label.to_string())
}

fn statfs_of(path: &Path) -> Option<libc::statfs> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st = zeroed_statfs();
    // SAFETY: `c` is NUL-terminated; `st` is a statfs to write into.
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    (rc == 0).then_some(st)
}

/// Every mounted file system. `getfsstat` into our own buffer rather than `getmntinfo`, whose
/// buffer is shared by the whole process (a web page may ask from several threads).
fn mounted() -> Vec<libc::statfs> {
    // SAFETY: a null buffer asks only for the count.
    let count = unsafe { libc::getfsstat(std::ptr::null_mut(), 0, libc::MNT_NOWAIT) };
    let Ok(count) = usize::try_from(count) else {
        return Vec::new();
    };
    // Room for a few mounted meanwhile; the call never writes more than the size given.
    let room = count.saturating_add(8).min(4096);
    let mut buf = vec![zeroed_statfs(); room];
    let bytes = room.saturating_mul(std::mem::size_of::<libc::statfs>());
    let Ok(bytes) = libc::c_int::try_from(bytes) else {
        return Vec::new();
    };
    // SAFETY: `buf` holds `room` statfs, `bytes` says so; the call returns how many it wrote.
    let written = unsafe { libc::getfsstat(buf.as_mut_ptr(), bytes, libc::MNT_NOWAIT) };
    let Ok(written) = usize::try_from(written) else {
        return Vec::new();
    };
    buf.truncate(written);
    buf
}

fn zeroed_statfs() -> libc::statfs {
    // SAFETY: a statfs is integers and arrays of them, for which all zeros is a value.
    unsafe { std::mem::zeroed() }
}

/// A NUL-terminated field of a statfs, as text.
fn text(chars: &[c_char]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}
