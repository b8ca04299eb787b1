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

/// Mounted discs and removable media, as the OS lists them ([`crate::platform::removable_media`]:
/// the mount table on Linux, the drive letters on Windows, /Volumes on macOS). Labels: the
/// volume label, else the mount point's name.
fn drives() -> Vec<Place> {
    crate::platform::removable_media()
        .into_iter()
        .map(|m| {
            let path = m.path.display().to_string();
            let label = m
                .label
                .or_else(|| m.path.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| path.clone());
            Place {
                label,
                path,
                kind: match m.kind {
                    crate::platform::MediumKind::Optical => "disc",
                    crate::platform::MediumKind::Removable => "removable",
                },
            }
        })
        .collect()
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
