//! Linux: the mount table (`/proc/self/mountinfo`), the block devices' flags in `/sys`, the
//! labels udev lists in `/dev/disk/by-label` and, for a disc, its ISO 9660 volume descriptor.

use super::{Medium, MediumKind};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The volume label of the disc an input lives on, when it is mounted from an ISO 9660 device
/// we can read (a CD or DVD, or a loop-mounted image).
pub(super) fn volume_label(input: &Path) -> Option<String> {
    let canonical = fs::canonicalize(input).ok()?;
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").ok()?;
    let (fstype, device) = mount_of(&mountinfo, &canonical)?;
    if fstype != "iso9660" {
        return None;
    }
    iso9660_device_label(Path::new(&device))
}

/// Mounted discs (by file system) and removable drives (by the kernel's removable flag, a USB
/// or SD-card device), one entry per device.
pub(super) fn removable_media() -> Vec<Medium> {
    let Ok(mountinfo) = fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    media_from(&mountinfo, is_removable_device, |m| {
        by_label(Path::new(&m.source)).or_else(|| {
            (m.fstype == "iso9660")
                .then(|| iso9660_device_label(Path::new(&m.source)))
                .flatten()
        })
    })
}

/// The media in a mount table, given how to tell a removable device and read a label.
fn media_from(
    mountinfo: &str,
    is_removable: impl Fn(&str) -> bool,
    label: impl Fn(&Mount) -> Option<String>,
) -> Vec<Medium> {
    let mut devices = BTreeSet::new();
    let mut out = Vec::new();
    for m in mounts(mountinfo) {
        let kind = if matches!(m.fstype.as_str(), "iso9660" | "udf") {
            MediumKind::Optical
        } else if is_removable(&m.device) {
            MediumKind::Removable
        } else {
            continue;
        };
        // The same device mounted twice (a bind mount) is one medium: the first mount listed.
        if !devices.insert(m.device.clone()) {
            continue;
        }
        out.push(Medium {
            label: label(&m),
            path: PathBuf::from(&m.point),
            kind,
        });
    }
    out
}

/// One line of /proc/self/mountinfo, the fields we use.
struct Mount {
    /// `major:minor` of the device.
    device: String,
    point: String,
    fstype: String,
    source: String,
}

fn mounts(mountinfo: &str) -> impl Iterator<Item = Mount> + '_ {
    mountinfo.lines().filter_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let mut fields = left.split(' ');
        let device = fields.nth(2)?;
        let point = unescape_octal(fields.nth(1)?);
        let mut rest = right.split(' ');
        let (fstype, source) = (rest.next()?, rest.next()?);
        Some(Mount {
            device: device.to_string(),
            point,
            fstype: fstype.to_string(),
            source: unescape_octal(source),
        })
    })
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape_octal(field: &str) -> String {
    field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// The file-system type and source of the mount that holds `path` (the longest mount point
/// that is a prefix of it), from the text of /proc/self/mountinfo.
fn mount_of(mountinfo: &str, path: &Path) -> Option<(String, String)> {
    let mut best: Option<Mount> = None;
    for m in mounts(mountinfo) {
        if path.starts_with(&m.point) && best.as_ref().is_none_or(|b| m.point.len() > b.point.len())
        {
            best = Some(m);
        }
    }
    best.map(|m| (m.fstype, m.source))
}

/// Whether the block device `major:minor` is one the kernel calls removable, or sits on USB or
/// in an SD-card slot (USB drives often do not say they are removable).
fn is_removable_device(device: &str) -> bool {
    let Ok(dev) = fs::canonicalize(Path::new("/sys/dev/block").join(device)) else {
        return false;
    };
    // A partition's flags are on its disk, the folder above.
    let disk = if dev.join("partition").exists() {
        dev.parent().map(Path::to_path_buf).unwrap_or(dev)
    } else {
        dev
    };
    let read = |name: &str| fs::read_to_string(disk.join(name)).unwrap_or_default();
    read("removable").trim() == "1"
        || disk.to_string_lossy().contains("/usb")
        || read("device/type").trim() == "SD"
}

/// The label udev found for the device `source`, from the links in /dev/disk/by-label.
fn by_label(source: &Path) -> Option<String> {
    let device = fs::canonicalize(source).ok()?;
    fs::read_dir("/dev/disk/by-label")
        .ok()?
        .flatten()
        .find(|e| fs::canonicalize(e.path()).is_ok_and(|t| t == device))
        .map(|e| unescape_udev(&e.file_name().to_string_lossy()))
        .filter(|l| !l.trim().is_empty())
}

/// udev writes unsafe bytes of a label as `\xNN` (a space is `\x20`).
fn unescape_udev(name: &str) -> String {
    let mut bytes = Vec::with_capacity(name.len());
    let mut rest = name.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        let hex = tail
            .strip_prefix(b"x")
            .and_then(|t| t.get(..2))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(v) if b == b'\\' => {
                bytes.push(v);
                rest = tail.get(3..).unwrap_or_default();
            }
            _ => {
                bytes.push(b);
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The label in the Primary Volume Descriptor of an ISO 9660 device (sector 16).
fn iso9660_device_label(device: &Path) -> Option<String> {
    let mut descriptor = [0u8; 2048];
    let mut f = fs::File::open(device).ok()?;
    std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(16 * 2048)).ok()?;
    std::io::Read::read_exact(&mut f, &mut descriptor).ok()?;
    iso9660_label(&descriptor)
}

/// The Volume Identifier of an ISO 9660 Primary Volume Descriptor (ECMA-119 8.4).
fn iso9660_label(descriptor: &[u8]) -> Option<String> {
    if descriptor.first() != Some(&1) || descriptor.get(1..6) != Some(b"CD001") {
        return None;
    }
    let label = String::from_utf8_lossy(descriptor.get(40..72)?)
        .trim()
        .to_string();
    (!label.is_empty()).then_some(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_mount_and_reads_the_iso9660_label() {
        let info = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n\
                    40 22 11:0 / /media/cd\\040rom ro - iso9660 /dev/sr0 ro\n";
        assert_eq!(
            mount_of(info, Path::new("/media/cd rom/DICOM/IM1")),
            Some(("iso9660".into(), "/dev/sr0".into()))
        );
        assert_eq!(
            mount_of(info, Path::new("/home/x")),
            Some(("ext4".into(), "/dev/sda1".into()))
        );
        let devices: Vec<_> = mounts(info).map(|m| m.device).collect();
        assert_eq!(devices, ["8:1", "11:0"]);
        let mut pvd = vec![0u8; 2048];
        pvd[0] = 1;
        pvd[1..6].copy_from_slice(b"CD001");
        pvd[40..72].copy_from_slice(b"ST_ELSEWHERE_20240305           ");
        assert_eq!(
            iso9660_label(&pvd).as_deref(),
            Some("ST_ELSEWHERE_20240305")
        );
        pvd[1] = b'X';
        assert_eq!(iso9660_label(&pvd), None);
    }

    #[test]
    fn udev_label_escapes_are_undone() {
        assert_eq!(unescape_udev(r"MY\x20DISC"), "MY DISC");
        assert_eq!(unescape_udev(r"A\x2fB\"), "A/B\\");
        assert_eq!(unescape_udev(r"\xZZ"), r"\xZZ");
    }

    #[test]
    fn discs_by_file_system_drives_by_device_each_once() {
        let info = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n\
                    40 22 11:0 / /media/cd\\040rom ro - iso9660 /dev/sr0 ro\n\
                    41 22 7:0 / /mnt/image ro - udf /dev/loop0 ro\n\
                    42 22 8:17 / /media/STICK rw - vfat /dev/sdb1 rw\n\
                    43 22 8:17 / /srv/again rw - vfat /dev/sdb1 rw\n\
                    44 22 8:2 / /home rw - ext4 /dev/sda2 rw\n";
        let media = media_from(info, |dev| dev == "8:17", |m| Some(m.source.clone()));
        let got: Vec<_> = media
            .iter()
            .map(|m| {
                (
                    m.path.to_str().unwrap(),
                    m.kind,
                    m.label.as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("/media/cd rom", MediumKind::Optical, "/dev/sr0"),
                ("/mnt/image", MediumKind::Optical, "/dev/loop0"),
                ("/media/STICK", MediumKind::Removable, "/dev/sdb1"),
            ]
        );
    }

    #[test]
    fn the_media_of_this_machine_are_folders() {
        for m in removable_media() {
            assert!(m.path.is_dir(), "{m:?}");
        }
    }
}
