//! Read-plan stage: the candidate files and their medium → the order to read them in, and the
//! one reader that reads a slow medium that way.
//!
//! On a slow medium ([`crate::medium::Medium::Slow`]: an optical disc, a USB stick, a network
//! share) the head, or the link, is the limit: everything else must hide behind it. So every
//! byte is read once, one file at a time, in the order the files lie on the medium, by one
//! reader thread that never waits for the CPU; the bytes go to the workers (parse, hash) through
//! a bounded queue, and to a spool on the output's disk, from which the later stages (render,
//! the copy into the package) read them at local-disk speed: survey and copy are one trip to
//! the disc. The spool (a temporary folder beside the output, gone when dropped) is chosen over
//! hoping the page cache still holds the disc: a full DVD does not fit in the memory of the
//! laptops this runs on, and a FUSE view (`direct_io`) has no page cache at all.
//!
//! The order: where the file system tells where a file's bytes lie (FIEMAP: ext4, xfs, btrfs
//! on a USB stick or a hard disk), by that; otherwise (iso9660, udf, network shares), in
//! directory order, the files of a folder by name before its subfolders, depth first: the way
//! mastering tools (mkisofs, genisoimage) lay a disc out.
//!
//! What this does not do yet: deflate and render run after the reading, on the spool, at local
//! speed, not while the disc turns (the catalog, and so the package's names, are known only once
//! every file is read). On a CD that is a few seconds after minutes; on fast media and a busy CPU
//! it shows (`benches/drive.py`). The next step is to deflate each file into the spool as it is
//! read (a spool ZIP) and raw-copy the entries under their final names.
//!
//! A read error is retried a few times after a short pause (a drive often recovers a marginal
//! sector on a second try), then the file is given up with the error and the rest goes on.

use crate::cancel::Cancel;
use crate::discover::{NotOpened, Special};
use crate::platform::{self, Opened};
use crate::scan::{self, Interner, Reason, ScanError, Scanned, Unused};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Files up to this size are read whole and handed to a worker; a larger one is streamed through
/// the reader thread (hashed and parsed there: SHA-256 is many times faster than any slow
/// medium), so memory stays bounded whatever a file's size.
pub const WHOLE_MAX: u64 = 16 * 1024 * 1024;
/// Files read but not yet taken by a worker (each at most [`WHOLE_MAX`]).
pub const QUEUE: usize = 4;

/// How often, and after how long a pause, a failed read is tried again.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub pause: Duration,
}

impl Default for Retry {
    /// Three more tries, half a second apart: long enough for a drive to re-seek and slow
    /// down, short enough that a badly scratched file costs seconds, not minutes.
    fn default() -> Retry {
        Retry {
            attempts: 3,
            pause: Duration::from_millis(500),
        }
    }
}

/// One file of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Its index among the candidates.
    pub index: usize,
    pub len: u64,
}

/// The candidates in the order to read them, with their sizes (from `stat`: on a disc, the
/// directory records the walk already read). A file that cannot be stat'ed gets length 0; its
/// open will say what is wrong.
pub fn disc_order(candidates: &[PathBuf]) -> Vec<Step> {
    // Once one file has no known place the order is the directory order: ask no further (on a
    // disc or a FUSE view every question is a request to the drive).
    let mut placed = true;
    let mut steps: Vec<(Step, Option<u64>)> = candidates
        .iter()
        .enumerate()
        .map(|(index, p)| {
            let len = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            let physical = if len > 0 && placed {
                physical_offset(p)
            } else {
                None
            };
            placed &= len == 0 || physical.is_some();
            (Step { index, len }, physical)
        })
        .collect();
    // Physical order only when every file with bytes has a known place: a mix is no order.
    let all_known = steps.iter().all(|(s, at)| s.len == 0 || at.is_some());
    if all_known && steps.iter().any(|(_, at)| at.is_some()) {
        steps.sort_by_key(|(s, at)| (at.unwrap_or(0), s.index));
    } else {
        let keys: Vec<Vec<(bool, &std::ffi::OsStr)>> =
            candidates.iter().map(|p| directory_order_key(p)).collect();
        steps.sort_by(|(a, _), (b, _)| keys.get(a.index).cmp(&keys.get(b.index)));
    }
    steps.into_iter().map(|(s, _)| s).collect()
}

/// Sorts as a mastering tool lays out a tree: in each folder its files by name, then its
/// subfolders, depth first. Each component is keyed `(is a folder, name)`.
fn directory_order_key(path: &Path) -> Vec<(bool, &std::ffi::OsStr)> {
    let parts: Vec<&std::ffi::OsStr> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s),
            _ => None,
        })
        .collect();
    let last = parts.len().saturating_sub(1);
    parts
        .into_iter()
        .enumerate()
        .map(|(i, s)| (i != last, s))
        .collect()
}

/// Where a file's first byte lies on its device, when the file system says (FIEMAP).
#[cfg(target_os = "linux")]
fn physical_offset(path: &Path) -> Option<u64> {
    use std::os::fd::AsRawFd;
    // Written by hand: the ioctl is two structs and a number (linux/fiemap.h), and no kept crate
    // offers it without much more.
    #[repr(C)]
    #[derive(Default)]
    struct Extent {
        logical: u64,
        physical: u64,
        length: u64,
        reserved64: [u64; 2],
        flags: u32,
        reserved: [u32; 3],
    }
    #[repr(C)]
    #[derive(Default)]
    struct Fiemap {
        start: u64,
        length: u64,
        flags: u32,
        mapped_extents: u32,
        extent_count: u32,
        reserved: u32,
        extents: [Extent; 1],
    }
    const FS_IOC_FIEMAP: libc::c_ulong = 0xC020_660B;
    /// The extent's place is not known yet (delayed allocation), or its data is inline.
    const UNKNOWN: u32 = 0x0000_0002 | 0x0000_0004 | 0x0000_0200;
    let file = crate::platform::open_source(path).ok()?;
    let mut map = Fiemap {
        length: u64::MAX,
        extent_count: 1,
        ..Fiemap::default()
    };
    // SAFETY: the kernel writes at most `extent_count` (1) extents into the struct we own.
    let rc = unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            FS_IOC_FIEMAP as _,
            &mut map as *mut Fiemap,
        )
    };
    let [first] = &map.extents;
    (rc == 0 && map.mapped_extents >= 1 && first.flags & UNKNOWN == 0).then_some(first.physical)
}

#[cfg(not(target_os = "linux"))]
fn physical_offset(_path: &Path) -> Option<u64> {
    None
}

/// How far the reading of a slow medium got, for a progress display in the drive's terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub done: u64,
    pub total: u64,
    /// Bytes per second since the reading began.
    pub rate: f64,
}

impl Reading {
    /// Seconds left at the rate so far, once there is a rate.
    pub fn seconds_left(&self) -> Option<u64> {
        (self.rate > 0.0).then(|| (self.total.saturating_sub(self.done) as f64 / self.rate) as u64)
    }
}

impl std::fmt::Display for Reading {
    /// "Reading the disc: 120 of 690 MB, 7.4 MB/s, about 1 min 17 s left"
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mb = |b: u64| b.div_ceil(1_000_000);
        write!(
            f,
            "Reading the disc: {} of {} MB",
            mb(self.done).min(mb(self.total)),
            mb(self.total)
        )?;
        if let Some(left) = self.seconds_left().filter(|_| self.done > 0) {
            write!(f, ", {:.1} MB/s, about ", self.rate / 1e6)?;
            match left {
                0..60 => write!(f, "{left} s left"),
                60..3600 => write!(f, "{} min {} s left", left / 60, left % 60),
                _ => write!(f, "{} h {} min left", left / 3600, left % 3600 / 60),
            }?;
        }
        Ok(())
    }
}

/// Counts the bytes read and tells a display, at most a few times a second.
pub struct Meter<'a> {
    done: AtomicU64,
    total: u64,
    began: Instant,
    last_shown: AtomicU64,
    show: &'a (dyn Fn(Reading) + Sync),
}

impl<'a> Meter<'a> {
    pub fn new(total: u64, show: &'a (dyn Fn(Reading) + Sync)) -> Meter<'a> {
        Meter {
            done: AtomicU64::new(0),
            total,
            began: Instant::now(),
            last_shown: AtomicU64::new(0),
            show,
        }
    }

    fn add(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        let ms = self.began.elapsed().as_millis() as u64;
        let last = self.last_shown.load(Ordering::Relaxed);
        if (ms >= last + 200 || done >= self.total)
            && self
                .last_shown
                .compare_exchange(last, ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            (self.show)(self.reading());
        }
    }

    pub fn reading(&self) -> Reading {
        let done = self.done.load(Ordering::Relaxed);
        let secs = self.began.elapsed().as_secs_f64();
        Reading {
            done,
            total: self.total,
            rate: if secs > 0.0 { done as f64 / secs } else { 0.0 },
        }
    }
}

/// Reads one source at positions of its own (so a retry re-reads exactly what failed), trying a
/// failed read again as [`Retry`] says, counting what it reads on a [`Meter`].
pub struct Careful<'m> {
    file: File,
    pos: u64,
    retry: Retry,
    meter: &'m Meter<'m>,
    /// Where the bytes are copied as they are read (the spool), until writing there fails.
    tee: Option<File>,
    /// The spool file could not be written: the copy is incomplete and must not be used.
    pub tee_failed: bool,
}

impl<'m> Careful<'m> {
    pub fn new(file: File, retry: Retry, meter: &'m Meter<'m>, tee: Option<File>) -> Careful<'m> {
        Careful {
            file,
            pos: 0,
            retry,
            meter,
            tee,
            tee_failed: false,
        }
    }

    /// Reads the rest of the source, up to `limit` bytes, into `buf`.
    pub fn read_to_vec(&mut self, buf: &mut Vec<u8>, limit: u64) -> io::Result<()> {
        let mut chunk = vec![0u8; 256 * 1024];
        loop {
            let room = limit
                .saturating_sub(buf.len() as u64)
                .min(chunk.len() as u64) as usize;
            if room == 0 {
                return Ok(());
            }
            let n = self.read(chunk.get_mut(..room).unwrap_or_default())?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }

    /// Whether the tee holds every byte read (nothing failed on the way).
    pub fn into_tee(self) -> Option<File> {
        if self.tee_failed { None } else { self.tee }
    }
}

impl Read for Careful<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut tries = 0;
        let n = loop {
            match crate::platform::read_at(&self.file, buf, self.pos) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if tries < self.retry.attempts => {
                    tries += 1;
                    let _ = e;
                    std::thread::sleep(self.retry.pause);
                }
                Err(e) => return Err(e),
            }
        };
        self.pos += n as u64;
        self.meter.add(n as u64);
        let got = buf.get(..n).unwrap_or_default();
        if let Some(t) = self.tee.as_mut()
            && !self.tee_failed
            && t.write_all(got).is_err()
        {
            self.tee_failed = true;
        }
        Ok(n)
    }
}

/// The folder the bytes of a slow medium are copied to as they are read, so that nothing
/// after the survey goes back to the disc. Removed, with everything in it, when dropped.
pub struct Spool {
    dir: tempfile::TempDir,
    /// Keep every file, or only directory files (a `scan` reads nothing again but them).
    pub keep: Keep,
}

/// What a [`Spool`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    Everything,
    DirectoryFiles,
}

impl Spool {
    /// A spool in `dir` (beside the package being written).
    pub fn in_dir(dir: &Path, keep: Keep) -> io::Result<Spool> {
        Ok(Spool {
            dir: tempfile::Builder::new()
                .prefix(".dicompack-")
                .suffix(".spool")
                .tempdir_in(dir)?,
            keep,
        })
    }

    /// Where the copy of candidate `index` goes.
    pub fn path_of(&self, index: usize) -> PathBuf {
        self.dir.path().join(format!("{index:08}"))
    }

    /// A new file for candidate `index`, or `None` when the spool cannot take it (the file is
    /// then read again from where it is, when needed).
    pub fn create(&self, index: usize) -> Option<File> {
        File::create_new(self.path_of(index)).ok()
    }
}

/// What the reader thread hands the workers.
enum Item {
    /// A small file, read whole: parse and hash it, spool it.
    Bytes { index: usize, bytes: Vec<u8> },
    /// A file already dealt with in the reader (large, or not readable).
    Done { index: usize, scanned: Scanned },
}

/// The slow-medium counterpart of [`scan::scan_all`]: every candidate read whole (so each gets
/// its digest) in `plan`'s order by one reader, parsed and hashed on the workers, copied to
/// `spool` as [`Spool::keep`] says. The result keeps the order of `candidates`. A run stopped
/// through `cancel` leaves the files not yet read [`Reason::Stopped`].
pub fn scan_in_order(
    candidates: &[PathBuf],
    plan: &[Step],
    spool: Option<&Spool>,
    retry: Retry,
    meter: &Meter<'_>,
    tick: &(dyn Fn(&Scanned) + Sync),
    cancel: &Cancel,
) -> Vec<Scanned> {
    use rayon::prelude::*;
    let interner = Interner::default();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Item>(QUEUE);
    let mut done: Vec<(usize, Scanned)> = std::thread::scope(|s| {
        s.spawn(move || {
            for step in plan {
                let Some(path) = candidates.get(step.index) else {
                    continue;
                };
                let item = if cancel.is_cancelled() {
                    Item::Done {
                        index: step.index,
                        scanned: Scanned::Skipped(Unused {
                            path: path.clone(),
                            reason: Reason::Stopped,
                        }),
                    }
                } else {
                    read_one(path, step.index, spool, retry, meter)
                };
                if tx.send(item).is_err() {
                    return;
                }
            }
        });
        rx.into_iter()
            .par_bridge()
            .map(|item| {
                let (index, mut scanned) = match item {
                    Item::Done { index, scanned } => (index, scanned),
                    Item::Bytes { index, bytes } => {
                        let path = candidates.get(index).cloned().unwrap_or_default();
                        let mut scanned = scan::outcome(&path, scan::scan_bytes(&bytes));
                        if let Some(spool) = spool {
                            keep(&mut scanned, spool, index, Some(&bytes), None);
                        }
                        (index, scanned)
                    }
                };
                if let Scanned::Instance(i) | Scanned::Directory(i) = &mut scanned {
                    interner.intern(&mut i.object);
                }
                tick(&scanned);
                (index, scanned)
            })
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, s)| s).collect()
}

/// Reads one file whole, carefully. A small one goes to the workers as bytes; a large one is
/// scanned here, as it streams by (and into the spool).
fn read_one(
    path: &Path,
    index: usize,
    spool: Option<&Spool>,
    retry: Retry,
    meter: &Meter<'_>,
) -> Item {
    let unused = |reason| Unused {
        path: path.to_path_buf(),
        reason,
    };
    let done = |scanned| Item::Done { index, scanned };
    let (file, len) = match open_retrying(path, retry) {
        Ok(Opened::File { file, len }) => (file, len),
        Ok(Opened::NotRegular) => {
            return done(Scanned::Ignored(unused(Reason::NotOpened(
                NotOpened::Special(Special::Other),
            ))));
        }
        Err(e) => return done(Scanned::Skipped(unused(Reason::open_failed(e)))),
    };
    if len <= WHOLE_MAX {
        let mut r = Careful::new(file, retry, meter, None);
        let mut bytes = Vec::with_capacity(len as usize);
        // One byte more than the file said: a file that grew is seen, not cut.
        return match r.read_to_vec(&mut bytes, len + 1) {
            Ok(()) if bytes.len() as u64 == len => Item::Bytes { index, bytes },
            Ok(()) if bytes.len() as u64 > len => done(Scanned::Skipped(unused(Reason::Unusable(
                ScanError::Grew { expected: len },
            )))),
            Ok(()) => done(Scanned::Skipped(unused(Reason::Unusable(
                ScanError::Shrank {
                    read: bytes.len() as u64,
                    len,
                },
            )))),
            Err(e) => done(Scanned::Skipped(unused(Reason::Unusable(ScanError::Io {
                offset: bytes.len() as u64,
                source: std::sync::Arc::new(e),
            })))),
        };
    }
    let tee = spool
        .filter(|s| s.keep == Keep::Everything)
        .and_then(|s| s.create(index));
    let mut r = Careful::new(file, retry, meter, tee);
    let mut scanned = scan::outcome(path, scan::scan_reader(&mut r, len));
    if let Some(spool) = spool {
        let tee = r.into_tee();
        keep(&mut scanned, spool, index, None, tee);
    }
    done(scanned)
}

/// Opens a source, trying again as a read would: a drive spinning up, or recovering from a bad
/// sector, can fail an open too.
fn open_retrying(path: &Path, retry: Retry) -> io::Result<Opened> {
    let mut tries = 0;
    loop {
        match platform::open_regular(path) {
            Err(e)
                if tries < retry.attempts
                    && !matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
                    ) =>
            {
                tries += 1;
                std::thread::sleep(retry.pause);
            }
            other => return other,
        }
    }
}

/// Points a scanned object at its copy in the spool, when the spool keeps it: writes `bytes`
/// there, or takes the tee that already holds them. A copy that cannot be made is no copy (the
/// object is read from its source again) and a copy not needed is removed.
fn keep(
    scanned: &mut Scanned,
    spool: &Spool,
    index: usize,
    bytes: Option<&[u8]>,
    tee: Option<File>,
) {
    let wanted = match scanned {
        Scanned::Instance(i) => spool.keep == Keep::Everything && i.object.size > 0,
        Scanned::Directory(_) => true,
        _ => false,
    };
    let path = spool.path_of(index);
    let written = wanted
        && match (bytes, tee) {
            (Some(b), _) => spool
                .create(index)
                .is_some_and(|mut f| f.write_all(b).is_ok()),
            (None, Some(_)) => true,
            (None, None) => false,
        };
    if !written {
        let _ = std::fs::remove_file(&path);
        return;
    }
    if let Scanned::Instance(i) | Scanned::Directory(i) = scanned {
        i.read_from = Some(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_order_puts_a_folders_files_before_its_subfolders() {
        let paths: Vec<PathBuf> = [
            "d/DICOM/A/IM2",
            "d/DICOM/A/IM1",
            "d/DICOMDIR",
            "d/DICOM/B",
            "d/AUTORUN.INF",
            "d/DICOM/A/X/IM0",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        let mut sorted: Vec<&PathBuf> = paths.iter().collect();
        sorted.sort_by_key(|p| directory_order_key(p));
        let names: Vec<&str> = sorted.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "d/AUTORUN.INF",
                "d/DICOMDIR",
                "d/DICOM/B",
                "d/DICOM/A/IM1",
                "d/DICOM/A/IM2",
                "d/DICOM/A/X/IM0"
            ]
        );
    }

    #[test]
    fn the_progress_line_speaks_of_the_disc() {
        let r = Reading {
            done: 120_000_000,
            total: 690_000_000,
            rate: 7.4e6,
        };
        assert_eq!(
            r.to_string(),
            "Reading the disc: 120 of 690 MB, 7.4 MB/s, about 1 min 17 s left"
        );
        let start = Reading {
            done: 0,
            total: 690_000_000,
            rate: 0.0,
        };
        assert_eq!(start.to_string(), "Reading the disc: 0 of 690 MB");
    }

    /// The slow path reads the sample disc once, in disc order, and makes the very package the
    /// fast path makes, byte for byte; `scan` finds the same, with every file's digest.
    #[test]
    fn the_slow_path_makes_the_same_package_as_the_fast_one() {
        use crate::commands::{self, PackRequest, Quiet, ScanRequest};
        use crate::medium::MediumChoice;
        let disc = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/disc1");
        let out = tempfile::tempdir().unwrap();
        let pack = |medium, name: &str| {
            let req = PackRequest {
                inputs: vec![disc.clone()],
                output: Some(out.path().join(name)),
                source_date_epoch: Some(0),
                medium,
                ..PackRequest::default()
            };
            let packed = commands::pack(&req, &Quiet, &Cancel::new()).unwrap();
            assert!(!packed.incomplete(), "{:?}", packed.report.failed);
            std::fs::read(out.path().join(name)).unwrap()
        };
        let slow = pack(MediumChoice::Slow, "slow.zip");
        assert!(
            slow == pack(MediumChoice::Fast, "fast.zip"),
            "the packages differ"
        );
        let left: Vec<_> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "the spool must be gone: {left:?}");

        let scan = |medium| {
            let req = ScanRequest {
                inputs: vec![disc.clone()],
                medium,
                ..ScanRequest::default()
            };
            commands::scan(&req, &Quiet, &Cancel::new()).unwrap().survey
        };
        let (s, f) = (scan(MediumChoice::Slow), scan(MediumChoice::Fast));
        assert_eq!(s.catalog.instance_count(), f.catalog.instance_count());
        assert_eq!(s.warnings, f.warnings);
        assert!(s.catalog.instances().all(|i| i.object.sha256.is_some()));
    }

    /// A read that fails is tried again; one that keeps failing gives up with the error.
    #[test]
    fn a_failed_read_is_retried_then_given_up() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"0123456789").unwrap();
        let show = |_: Reading| {};
        let meter = Meter::new(10, &show);
        let retry = Retry {
            attempts: 2,
            pause: Duration::from_millis(1),
        };
        let mut r = Careful::new(File::open(&p).unwrap(), retry, &meter, None);
        let mut v = Vec::new();
        r.read_to_vec(&mut v, 11).unwrap();
        assert_eq!(v, b"0123456789");
        assert_eq!(meter.reading().done, 10);
        // A directory opened as a file fails every read (EISDIR): given up after the retries.
        let mut bad = Careful::new(File::open(dir.path()).unwrap(), retry, &meter, None);
        let t = Instant::now();
        assert!(bad.read_to_vec(&mut Vec::new(), 10).is_err());
        assert!(t.elapsed() >= Duration::from_millis(2), "two pauses");
    }

    /// On this machine's disk the plan follows where the bytes lie when FIEMAP answers, and
    /// the directory order otherwise; either way every file once.
    #[test]
    fn every_candidate_is_planned_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for (i, name) in ["b", "a", "c/d"].iter().enumerate() {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, vec![i as u8; 10_000]).unwrap();
            paths.push(p);
        }
        let mut idx: Vec<usize> = disc_order(&paths).iter().map(|s| s.index).collect();
        idx.sort();
        assert_eq!(idx, [0, 1, 2]);
        assert!(disc_order(&paths).iter().all(|s| s.len == 10_000));
    }
}
