//! What kind of medium the input lives on, and so how it wants to be read.
//!
//! A local SSD answers many readers at once and does not care about order: the fast path reads
//! in parallel. An optical drive has one head that loses ~100 ms each time it jumps and delivers
//! 4–22 MB/s to a reader that goes straight on; a USB stick or a network share loses less per
//! jump but still pays for every request. On those, every byte is read once, one file at a time,
//! in the order the files lie on the medium ([`crate::read_plan`]).
//!
//! The decision is made from what the kernel says about the file system (`statfs`: iso9660,
//! udf, nfs, cifs/smb, fuse) and about the block device under it (`/sys/dev/block/M:m`:
//! `queue/rotational`, `removable`), and can be overridden (`--medium fast|slow`).

use std::path::Path;

/// How a medium wants to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Medium {
    /// Many readers at once, any order (local SSD, RAM).
    Fast,
    /// One head or one slow link: each byte once, in disc order, one file at a time.
    Slow,
}

/// What the user asked for: decide from the medium, or a fixed choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MediumChoice {
    #[default]
    Auto,
    Fast,
    Slow,
}

impl MediumChoice {
    /// Every value, with its name and a line of help, in the order to offer them.
    pub const ALL: &'static [(MediumChoice, &'static str, &'static str)] = &[
        (
            MediumChoice::Auto,
            "auto",
            "Decide from the drive the input is on (default)",
        ),
        (
            MediumChoice::Fast,
            "fast",
            "Read in parallel, as on a local SSD",
        ),
        (
            MediumChoice::Slow,
            "slow",
            "Read each byte once, in disc order (CD, DVD, USB stick, network share)",
        ),
    ];

    pub fn name(self) -> &'static str {
        match self {
            MediumChoice::Auto => "auto",
            MediumChoice::Fast => "fast",
            MediumChoice::Slow => "slow",
        }
    }
}

impl std::str::FromStr for MediumChoice {
    type Err = crate::package::UnknownName;
    fn from_str(s: &str) -> Result<MediumChoice, Self::Err> {
        MediumChoice::ALL
            .iter()
            .find(|(_, n, _)| *n == s)
            .map(|(c, _, _)| *c)
            .ok_or(crate::package::UnknownName {
                given: s.to_string(),
                names: &["auto", "fast", "slow"],
            })
    }
}

impl std::fmt::Display for MediumChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a medium was judged the way it was: for the record, and for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// `--medium` said so.
    Asked,
    /// The file system is one of discs (iso9660, udf).
    DiscFileSystem,
    /// A network file system (nfs, cifs, smb).
    NetworkFileSystem,
    /// A FUSE file system: a user-space view whose cost per request is unknown (sshfs, a
    /// phone, an emulated drive); read it carefully.
    UserSpaceFileSystem,
    /// The block device says it is rotational (a hard disk, an optical drive).
    Rotational,
    /// The block device says it is removable (a USB stick, a card reader).
    Removable,
    /// Nothing says it is slow.
    NothingSlow,
    /// The medium could not be examined; the fast path is the one that always works.
    Unknown,
}

/// The medium of the inputs and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judged {
    pub medium: Medium,
    pub evidence: Evidence,
}

/// Decides how to read `inputs`: slow as soon as one of them is on a slow medium.
pub fn judge(inputs: &[std::path::PathBuf], choice: MediumChoice) -> Judged {
    match choice {
        MediumChoice::Fast => Judged {
            medium: Medium::Fast,
            evidence: Evidence::Asked,
        },
        MediumChoice::Slow => Judged {
            medium: Medium::Slow,
            evidence: Evidence::Asked,
        },
        MediumChoice::Auto => {
            let mut best = Judged {
                medium: Medium::Fast,
                evidence: Evidence::Unknown,
            };
            for input in inputs {
                let j = detect(input);
                if j.medium == Medium::Slow {
                    return j;
                }
                if j.evidence == Evidence::NothingSlow {
                    best = j;
                }
            }
            best
        }
    }
}

/// File-system magic numbers from `statfs(2)` (linux/magic.h).
const ISO9660: i64 = 0x9660;
const UDF: i64 = 0x1501_3346;
const NFS: i64 = 0x6969;
const CIFS: i64 = 0xFF53_4D42_u32 as i64;
const SMB2: i64 = 0xFE53_4D42_u32 as i64;
const SMB: i64 = 0x517B;
const FUSE: i64 = 0x6573_5546;

/// What the file-system type alone says.
fn by_fs_type(magic: i64) -> Option<Evidence> {
    match magic {
        ISO9660 | UDF => Some(Evidence::DiscFileSystem),
        NFS | CIFS | SMB2 | SMB => Some(Evidence::NetworkFileSystem),
        FUSE => Some(Evidence::UserSpaceFileSystem),
        _ => None,
    }
}

/// Examines the medium one input lives on.
pub fn detect(input: &Path) -> Judged {
    detect_at(input, 0)
}

fn detect_at(input: &Path, depth: u32) -> Judged {
    let slow = |evidence| Judged {
        medium: Medium::Slow,
        evidence,
    };
    let Some(magic) = fs_magic(input) else {
        return Judged {
            medium: Medium::Fast,
            evidence: Evidence::Unknown,
        };
    };
    let device = block_device(input);
    // A disc image mounted through a loop device is as fast as the file behind it.
    if let Some(backing) = device.as_ref().and_then(|d| d.loop_backing.as_ref())
        && depth < 4
    {
        return detect_at(backing, depth + 1);
    }
    if let Some(e) = by_fs_type(magic) {
        return slow(e);
    }
    match device {
        Some(d) if d.removable => slow(Evidence::Removable),
        Some(d) if d.rotational && d.physical => slow(Evidence::Rotational),
        _ => Judged {
            medium: Medium::Fast,
            evidence: Evidence::NothingSlow,
        },
    }
}

#[cfg(target_os = "linux")]
fn fs_magic(path: &Path) -> Option<i64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: `statfs` writes into the zeroed struct we own; the path is NUL-terminated.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    #[allow(clippy::unnecessary_cast)] // f_type's width differs between targets
    (rc == 0).then_some(st.f_type as i64)
}

#[cfg(not(target_os = "linux"))]
fn fs_magic(_path: &Path) -> Option<i64> {
    None
}

/// What sysfs says about the block device that holds a path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DeviceTraits {
    rotational: bool,
    removable: bool,
    /// A disk the kernel drives itself (sd, sr, hd, mmcblk). Virtual disks (virtio `vd`, Xen
    /// `xvd`) report themselves rotational whatever is behind them, so their flag means
    /// nothing.
    physical: bool,
    /// For a loop device: the file it shows.
    loop_backing: Option<std::path::PathBuf>,
}

/// Linux's view of the disk under `path` (sysfs); other systems: not known.
#[cfg(not(target_os = "linux"))]
fn block_device(_path: &Path) -> Option<DeviceTraits> {
    None
}

#[cfg(target_os = "linux")]
fn block_device(path: &Path) -> Option<DeviceTraits> {
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata(path).ok()?.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let base = std::fs::canonicalize(format!("/sys/dev/block/{major}:{minor}")).ok()?;
    // A partition (sda1) has its queue and `removable` on the whole disk, its parent.
    let disk = if base.join("partition").exists() {
        base.parent()?.to_path_buf()
    } else {
        base.clone()
    };
    let flag = |name: &str| -> bool {
        std::fs::read_to_string(disk.join(name)).is_ok_and(|s| s.trim() == "1")
    };
    let name = disk.file_name()?.to_string_lossy().into_owned();
    let loop_backing = std::fs::read_to_string(disk.join("loop/backing_file"))
        .ok()
        .map(|s| std::path::PathBuf::from(s.trim_end_matches('\n')));
    Some(DeviceTraits {
        rotational: flag("queue/rotational"),
        removable: flag("removable"),
        physical: is_physical(&name),
        loop_backing,
    })
}

/// See [`DeviceTraits::physical`] (Linux's disk names; its test runs everywhere).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn is_physical(disk: &str) -> bool {
    ["sd", "sr", "hd", "mmcblk"]
        .iter()
        .any(|p| disk.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disc_network_and_fuse_file_systems_are_slow() {
        assert_eq!(by_fs_type(ISO9660), Some(Evidence::DiscFileSystem));
        assert_eq!(by_fs_type(UDF), Some(Evidence::DiscFileSystem));
        assert_eq!(by_fs_type(NFS), Some(Evidence::NetworkFileSystem));
        assert_eq!(by_fs_type(CIFS), Some(Evidence::NetworkFileSystem));
        assert_eq!(by_fs_type(FUSE), Some(Evidence::UserSpaceFileSystem));
        assert_eq!(by_fs_type(0xEF53), None, "ext4 says nothing by itself");
    }

    #[test]
    fn the_choice_overrides_and_parses() {
        let here = [std::path::PathBuf::from(".")];
        assert_eq!(judge(&here, MediumChoice::Slow).medium, Medium::Slow);
        assert_eq!(judge(&here, MediumChoice::Fast).medium, Medium::Fast);
        assert_eq!("slow".parse::<MediumChoice>(), Ok(MediumChoice::Slow));
        assert!("cd".parse::<MediumChoice>().is_err());
        // The real statfs of this folder answers (whatever the machine's disk is).
        assert!(fs_magic(Path::new(".")).is_some());
        assert_eq!(
            detect(Path::new("/nonexistent")).evidence,
            Evidence::Unknown
        );
        assert!(is_physical("sr0") && is_physical("sda") && !is_physical("vda"));
    }
}
