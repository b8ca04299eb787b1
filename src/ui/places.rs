//! Where a person may want to read from or save to: the mounted discs and removable drives
//! (with their volume labels), the usual folders (Documents, Downloads, home), and the
//! folder picker's listing. The page never uploads gigabytes: it names a place here and the
//! server reads it where it is.

use serde::Serialize;
use std::path::{Path, PathBuf};

/// A place the page offers as one button.
#[derive(Debug, Clone, Serialize)]
pub struct Place {
    pub label: String,
    pub path: String,
    /// `disc`, `removable` or `folder`.
    pub kind: &'static str,
}

/// The mounted optical discs and removable media, then the usual folders.
pub fn places(home: Option<&Path>) -> (Vec<Place>, Vec<Place>) {
    let drives = drives();
    let mut folders = Vec::new();
    if let Some(home) = home {
        for (label, sub) in [
            ("Documents", "Documents"),
            ("Downloads", "Downloads"),
            ("Desktop", "Desktop"),
        ] {
            let p = home.join(sub);
            if p.is_dir() {
                folders.push(folder_place(label, &p));
            }
        }
        folders.push(folder_place("Home folder", home));
    }
    #[cfg(unix)]
    folders.push(folder_place("Whole computer", Path::new("/")));
    (drives, folders)
}

fn folder_place(label: &str, p: &Path) -> Place {
    Place {
        label: label.to_string(),
        path: p.display().to_string(),
        kind: "folder",
    }
}

/// The user's home folder, from the environment as every desktop program reads it.
pub fn home() -> Option<PathBuf> {
    let var = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
}

/// Where a package is saved unless the person chooses otherwise: Documents, else Downloads,
/// else home, else the current folder.
pub fn default_output(home: Option<&Path>) -> PathBuf {
    home.and_then(|h| {
        ["Documents", "Downloads"]
            .iter()
            .map(|s| h.join(s))
            .find(|p| p.is_dir())
            .or_else(|| Some(h.to_path_buf()))
    })
    .unwrap_or_else(|| PathBuf::from("."))
}

/// Mounted discs and removable media, from the mount table: ISO 9660 and UDF file systems
/// (CDs, DVDs, disc images), and whatever the desktop mounts under /media, /run/media or
/// /Volumes (USB sticks). Labels: the disc's volume label, else the mount point's name.
fn drives() -> Vec<Place> {
    let Ok(mountinfo) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return volumes_folder();
    };
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let Some(point) = left.split(' ').nth(4) else {
            continue;
        };
        let point = unescape_mount(point);
        let fstype = right.split(' ').next().unwrap_or("");
        let disc = matches!(fstype, "iso9660" | "udf");
        let removable = ["/media/", "/run/media/", "/mnt/"]
            .iter()
            .any(|p| point.starts_with(p));
        if !(disc || removable) {
            continue;
        }
        let path = PathBuf::from(&point);
        let label = crate::platform::volume_label(&path)
            .or_else(|| path.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| point.clone());
        out.push(Place {
            label,
            path: point,
            kind: if disc { "disc" } else { "removable" },
        });
    }
    out
}

/// macOS mounts every volume under /Volumes.
fn volumes_folder() -> Vec<Place> {
    let Ok(entries) = std::fs::read_dir("/Volumes") else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| Place {
            label: e.file_name().to_string_lossy().into_owned(),
            path: e.path().display().to_string(),
            kind: "removable",
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape_mount(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// One entry of the folder picker.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub name: String,
    pub path: String,
    /// For files: their size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// What the folder picker shows of one folder.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    pub path: String,
    pub parent: Option<String>,
    pub folders: Vec<Entry>,
    /// Packages (`.zip`), when the picker chooses a package.
    pub files: Vec<Entry>,
    /// More entries than the picker shows.
    pub truncated: bool,
}

/// A picker shows at most this many entries of one folder.
const MAX_ENTRIES: usize = 2000;

/// The sub-folders of `dir` (already resolved), and its `.zip` files when `zips`; hidden
/// entries left out, sorted by name.
pub fn list(dir: &Path, zips: bool) -> std::io::Result<Listing> {
    let mut folders = Vec::new();
    let mut files = Vec::new();
    let mut truncated = false;
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if folders.len() + files.len() >= MAX_ENTRIES {
            truncated = true;
            break;
        }
        let path = entry.path();
        // Follows links, as the person would when opening the folder.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        let e = Entry {
            name,
            path: path.display().to_string(),
            size: None,
        };
        if meta.is_dir() {
            folders.push(e);
        } else if zips
            && meta.is_file()
            && path
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("zip"))
        {
            files.push(Entry {
                size: Some(meta.len()),
                ..e
            });
        }
    }
    let key = |e: &Entry| e.name.to_lowercase();
    folders.sort_by_key(key);
    files.sort_by_key(key);
    Ok(Listing {
        path: dir.display().to_string(),
        parent: dir.parent().map(|p| p.display().to_string()),
        folders,
        files,
        truncated,
    })
}
