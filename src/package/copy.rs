//! The instances' trip into the archive: one pass over each source's bytes, on every core.
//!
//! In that one pass each source is hashed and scanned again in full (so a file that changed
//! since the survey, or has an unreadable sector, is left out with the reason, never packed
//! under a checksum it does not have) and deflated. Small files are prepared whole in memory
//! on worker threads, a bounded window of them at a time, while the writer adds the previous
//! window to the archive in layout order. A large file is hashed and checked by a worker too
//! (streaming, so memory stays bounded whatever its size), then copied by the writer, which
//! checks with a CRC-32 that it copied the bytes that were hashed: the expensive hash runs in
//! parallel, at the price of a second read, from the page cache, of large files only.

use super::PackError;
use crate::cancel::Cancel;
use crate::checksum::Digest;
use crate::layout::Placed;
use crate::scan::{self, Content, Object, Reason};
use rayon::prelude::*;
use sha2::{Digest as _, Sha256};
use std::io::{self, Read, Seek, Write};
use std::sync::Arc;
use zip::ZipWriter;
use zip::write::{FileOptions, ZipFileBuilder};

/// Files up to this size are prepared in memory on a worker; larger ones are streamed.
const IN_MEMORY_MAX: u64 = 16 * 1024 * 1024;
/// The bytes of sources one window prepares (plus at most one file past it). Two windows are
/// alive at a time: one being prepared, one being written.
const WINDOW_BYTES: u64 = 48 * 1024 * 1024;
/// And at most this many files per window, so the writer is never idle for long.
const WINDOW_FILES: usize = 256;
/// Deflate must save at least 1/20 of an entry, or it is stored: a viewer opens stored
/// entries faster, and the receiver's unzip has less to do.
const WORTHWHILE: u64 = 20;

/// One instance to copy.
pub(super) struct Job<'a> {
    pub placed: &'a Placed<'a>,
    pub name: &'a str,
    /// A Part 10 header to put before a source that lacks one (empty for most).
    pub prefix: Vec<u8>,
    /// How to write the entry.
    pub options: FileOptions<'a, 'static, ()>,
    /// For a deflated entry: the stored form, taken when deflating does not pay.
    pub stored: Option<FileOptions<'a, 'static, ()>>,
    /// Encrypted entries are written by the writer, streamed: the zip crate prepares only
    /// unencrypted ones ahead.
    pub encrypted: bool,
    /// Checked between files and while a large file is read.
    pub cancel: &'a Cancel,
}

/// What became of one instance.
pub(super) enum Outcome {
    Packed {
        /// Of the entry (prefix and source).
        digest: Digest,
        /// Of the source file as read.
        source: Digest,
        size: u64,
    },
    /// The source cannot be packed; the reason is for the person running the tool.
    LeftOut(Reason),
}

enum Prepared {
    Ready {
        file: Box<zip::write::PreparedZipFile>,
        digest: Digest,
        source: Digest,
        size: u64,
    },
    /// Too large to hold: hashed and checked here, copied by the writer.
    Hashed {
        digest: Digest,
        source: Digest,
        crc: u32,
    },
    LeftOut(Reason),
}

/// Copies every job into `zip`, in order; `tick` is called once per job. An error is about
/// the archive (the package cannot be written); a source's problem is an [`Outcome`].
pub(super) fn copy_all<W: Write + Seek + Send>(
    zip: &mut ZipWriter<W>,
    jobs: &[Job<'_>],
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<Outcome>, PackError> {
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut ready: Vec<Prepared> = Vec::new();
    let mut at = 0;
    let mut writing_from = 0;
    loop {
        let window = next_window(jobs, at);
        let (prepared, written) = rayon::join(
            || window.par_iter().map(prepare).collect::<Vec<Prepared>>(),
            || {
                let slice = jobs.get(writing_from..).unwrap_or_default();
                write_window(zip, slice, std::mem::take(&mut ready), &mut outcomes, tick)
            },
        );
        written?;
        if window.is_empty() {
            return Ok(outcomes);
        }
        writing_from = at;
        at += window.len();
        ready = prepared;
    }
}

/// The jobs from `at` that the next window prepares.
fn next_window<'j, 'a>(jobs: &'j [Job<'a>], at: usize) -> &'j [Job<'a>] {
    let rest = jobs.get(at..).unwrap_or_default();
    let mut bytes = 0u64;
    let mut n = 0;
    for job in rest.iter().take(WINDOW_FILES) {
        n += 1;
        let size = job.placed.instance.object.size;
        if size <= IN_MEMORY_MAX {
            bytes += size;
        }
        if bytes >= WINDOW_BYTES {
            break;
        }
    }
    rest.get(..n).unwrap_or_default()
}

fn write_window<W: Write + Seek + Send>(
    zip: &mut ZipWriter<W>,
    jobs: &[Job<'_>],
    prepared: Vec<Prepared>,
    outcomes: &mut Vec<Outcome>,
    tick: &(dyn Fn() + Sync),
) -> Result<(), PackError> {
    for (job, p) in jobs.iter().zip(prepared) {
        if job.cancel.is_cancelled() {
            return Err(PackError::Interrupted);
        }
        let outcome = match p {
            Prepared::Ready {
                file,
                digest,
                source,
                size,
            } => {
                zip.add_prepared_file(*file)?;
                Outcome::Packed {
                    digest,
                    source,
                    size,
                }
            }
            Prepared::LeftOut(reason) => Outcome::LeftOut(reason),
            Prepared::Hashed {
                digest,
                source,
                crc,
            } => match stream(zip, job, crc)? {
                Ok(()) => Outcome::Packed {
                    digest,
                    source,
                    size: job.placed.instance.object.size + job.prefix.len() as u64,
                },
                Err(reason) => Outcome::LeftOut(reason),
            },
        };
        outcomes.push(outcome);
        tick();
    }
    Ok(())
}

/// Reads, checks and compresses one small source in memory.
fn prepare(job: &Job<'_>) -> Prepared {
    let expected = &job.placed.instance.object;
    if expected.size > IN_MEMORY_MAX || job.encrypted {
        return hash_ahead(job);
    }
    if job.cancel.is_cancelled() {
        return Prepared::LeftOut(Reason::Stopped);
    }
    let file = match crate::platform::open_source(job.placed.instance.bytes_path()) {
        Ok(f) => f,
        Err(e) => return Prepared::LeftOut(Reason::NoLongerReadable(Arc::new(e))),
    };
    let mut bytes = Vec::with_capacity(expected.size as usize);
    if let Err(e) = file.take(expected.size + 1).read_to_end(&mut bytes) {
        return Prepared::LeftOut(Reason::CopyReadError(Arc::new(e)));
    }
    let source = match recheck(scan::scan_bytes(&bytes), expected) {
        Ok(d) => d,
        Err(reason) => return Prepared::LeftOut(reason),
    };
    let digest = if job.prefix.is_empty() {
        source
    } else {
        let mut h = Sha256::new();
        h.update(&job.prefix);
        h.update(&bytes);
        Digest::from_hasher(h)
    };
    let size = (job.prefix.len() + bytes.len()) as u64;
    let build = |options: FileOptions<'_, 'static, ()>| -> io::Result<zip::write::PreparedZipFile> {
        let mut b = ZipFileBuilder::new(job.name, options).map_err(io::Error::other)?;
        b.write_all(&job.prefix)?;
        b.write_all(&bytes)?;
        b.finish().map_err(io::Error::other)
    };
    let mut file = build(job.options);
    if let (Some(stored), Ok(f)) = (job.stored, &file)
        && f.compressed_size() * WORTHWHILE > size * (WORTHWHILE - 1)
    {
        file = build(stored);
    }
    match file {
        Ok(file) => Prepared::Ready {
            file: Box::new(file),
            digest,
            source,
            size,
        },
        // Only memory can fail here; leave the file out rather than stop the whole package.
        Err(e) => Prepared::LeftOut(Reason::NotCompressed(Arc::new(e))),
    }
}

/// The full scan of what was copied must find the object the survey found.
fn recheck(scanned: Result<Content, scan::ScanError>, expected: &Object) -> Result<Digest, Reason> {
    match scanned {
        Ok(Content::Object(o))
            if o.size == expected.size
                && o.format == expected.format
                && o.transfer_syntax_uid == expected.transfer_syntax_uid
                && o.attrs == expected.attrs =>
        {
            o.sha256.ok_or(Reason::ChangedSinceScan(None))
        }
        Ok(_) => Err(Reason::ChangedSinceScan(None)),
        Err(scan::ScanError::Io { source, .. }) => Err(Reason::CopyReadError(source)),
        Err(e) => Err(Reason::ChangedSinceScan(Some(e))),
    }
}

/// Hashes and checks one large source on a worker, ahead of the writer: its SHA-256 (the
/// expensive part, one core's work for seconds) then runs beside the other workers instead of
/// holding up the archive. The writer copies it afterwards ([`stream`]) and proves with a
/// CRC-32 that it copied the very bytes hashed here.
fn hash_ahead(job: &Job<'_>) -> Prepared {
    let expected = &job.placed.instance.object;
    let file = match crate::platform::open_source(job.placed.instance.bytes_path()) {
        Ok(f) => f,
        Err(e) => return Prepared::LeftOut(Reason::NoLongerReadable(Arc::new(e))),
    };
    let mut reader = Summing {
        file,
        cancel: job.cancel,
        crc: crc32fast::Hasher::new(),
        entry: (!job.prefix.is_empty()).then(|| {
            let mut h = Sha256::new();
            h.update(&job.prefix);
            h
        }),
    };
    match recheck(scan::scan_reader(&mut reader, expected.size), expected) {
        Ok(source) => Prepared::Hashed {
            digest: reader.entry.map_or(source, Digest::from_hasher),
            source,
            crc: reader.crc.finalize(),
        },
        Err(reason) => Prepared::LeftOut(reason),
    }
}

/// Passes a source through, summing what goes by.
struct Summing<'c> {
    file: std::fs::File,
    cancel: &'c Cancel,
    crc: crc32fast::Hasher,
    /// The entry's digest, for a source that gets a header put before it.
    entry: Option<Sha256>,
}

impl Read for Summing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Not ErrorKind::Interrupted: readers retry that.
        if self.cancel.is_cancelled() {
            return Err(io::Error::other("stopped"));
        }
        let n = self.file.read(buf)?;
        let got = buf.get(..n).unwrap_or_default();
        self.crc.update(got);
        if let Some(h) = self.entry.as_mut() {
            h.update(got);
        }
        Ok(n)
    }
}

/// Copies a source hashed ahead into the archive. If it is not the same bytes (same length,
/// same CRC-32), the entry is dropped and the source left out with the reason.
fn stream<W: Write + Seek>(
    zip: &mut ZipWriter<W>,
    job: &Job<'_>,
    crc: u32,
) -> Result<Result<(), Reason>, PackError> {
    let inst = job.placed.instance;
    let file = match crate::platform::open_source(inst.bytes_path()) {
        Ok(f) => f,
        Err(e) => return Ok(Err(Reason::NoLongerReadable(Arc::new(e)))),
    };
    zip.start_file(job.name, job.options)?;
    let write_err = |source| PackError::Io {
        context: "writing the package".into(),
        source,
    };
    zip.write_all(&job.prefix).map_err(write_err)?;
    let mut reader = Summing {
        file,
        cancel: job.cancel,
        crc: crc32fast::Hasher::new(),
        entry: None,
    };
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    let same = loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break total == inst.object.size && reader.crc.clone().finalize() == crc,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break false,
        };
        total += n as u64;
        if total > inst.object.size {
            break false;
        }
        zip.write_all(buf.get(..n).unwrap_or_default())
            .map_err(write_err)?;
    };
    if job.cancel.is_cancelled() {
        return Err(PackError::Interrupted);
    }
    if !same {
        zip.abort_file()?;
        return Ok(Err(Reason::ChangedWhileCopied));
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::super::{Notes, Output, PackOptions, Previews, write};
    use crate::cancel::Cancel;
    use crate::scan::{Pass, Reason};

    /// The writer's copy of a file hashed ahead must be the bytes that were hashed: a file
    /// that changed in between (same length, other bytes) is dropped from the archive.
    #[test]
    fn a_large_file_changed_after_hashing_is_not_copied() {
        let dir = tempfile::tempdir().unwrap();
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/disc1/DICOM/ST000000/SE000000/IM000000");
        let input = dir.path().join("IM1");
        std::fs::copy(&src, &input).unwrap();
        let survey =
            crate::survey::survey(std::slice::from_ref(&input), Pass::Header, &|_| {}, &|_| {})
                .unwrap();
        let placed = crate::layout::place(&survey.catalog).unwrap();
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        let job = super::Job {
            placed: &placed[0],
            name: "DICOM/I1",
            prefix: Vec::new(),
            options: opts,
            stored: None,
            encrypted: false,
            cancel: &Cancel::new(),
        };
        let super::Prepared::Hashed { crc, .. } = super::hash_ahead(&job) else {
            panic!("hash_ahead refused a good file");
        };
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        assert!(super::stream(&mut zip, &job, crc).unwrap().is_ok());

        let mut bytes = std::fs::read(&input).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xFF;
        std::fs::write(&input, &bytes).unwrap();
        let job2 = super::Job {
            name: "DICOM/I2",
            ..job
        };
        let reason = super::stream(&mut zip, &job2, crc).unwrap().unwrap_err();
        assert!(matches!(reason, Reason::ChangedWhileCopied), "{reason}");
        let archive = zip::ZipArchive::new(zip.finish().unwrap()).unwrap();
        let names: Vec<String> = archive
            .file_names()
            .map(|n| n.unwrap().into_owned())
            .collect();
        assert_eq!(names, ["DICOM/I1"]);
    }

    /// A file cut short after the survey read its header is left out with the reason; the
    /// package holds the rest and lists only what it holds.
    #[test]
    fn a_source_cut_after_the_survey_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let disc =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/disc1/DICOM/ST000000");
        let input = dir.path().join("in");
        let mut copied = Vec::new();
        for entry in walkdir::WalkDir::new(&disc).into_iter().flatten() {
            if entry.file_type().is_file() {
                let to = input.join(entry.path().strip_prefix(&disc).unwrap());
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::copy(entry.path(), &to).unwrap();
                copied.push(to);
            }
        }
        let survey =
            crate::survey::survey(std::slice::from_ref(&input), Pass::Header, &|_| {}, &|_| {})
                .unwrap();
        let before = survey.catalog.instance_count();
        assert!(before >= 2, "the sample study has several images");
        let victim = survey.catalog.instances().next().unwrap().source.clone();
        let len = std::fs::metadata(&victim).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&victim)
            .unwrap()
            .set_len(len / 2)
            .unwrap();

        let opts = PackOptions {
            thumbnails: crate::package::Thumbnails::None,
            source_date_epoch: Some(0),
            compression: crate::package::Compression::Fast,
            recorded_options: Vec::new(),
            ..PackOptions::default()
        };
        let output = Output {
            path: dir.path().join("out.zip"),
            replace: false,
        };
        let cancel = Cancel::new();
        let report = write(
            &survey.catalog,
            Notes::default(),
            &Previews::none(),
            &output,
            &opts,
            &|| {},
            &cancel,
        )
        .unwrap();
        assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
        assert_eq!(report.failed[0].path, victim);
        assert!(
            matches!(report.failed[0].reason, Reason::ChangedSinceScan(_)),
            "{}",
            report.failed[0].reason
        );
        assert_eq!(report.summary.instances, before - 1);
        let verdict = crate::verify::verify_path(&output.path);
        assert!(verdict.ok, "{:?}", verdict.problems);
        assert_eq!(verdict.instances, before - 1);
    }
}
