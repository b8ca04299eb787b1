//! Write stage: catalog + layout → the ZIP transfer package.
//!
//! The package is a standard DICOM file-set (PS3.12 Annex V): `DICOM/…` files under counter
//! file IDs, our own `DICOMDIR`, plus `README.TXT`, `MANIFEST.JSN` and `SHA256.TXT`. It is
//! written under a temporary name beside the target and renamed only when complete and synced,
//! so a crash or a full disk never leaves something that looks like a finished package. Each
//! source is read, hashed and checked in full while it is copied (module `copy`): a file that
//! changed since the scan is left out and reported, never packed under a checksum it does not
//! have. The package lists only what it holds. The previews are drawn before, as their own
//! stage ([`render_previews`]), and streamed in from the spool it leaves beside the package.

mod copy;
pub mod iso;
pub mod names;
mod previews;
mod write_behind;

pub use previews::{Previews, render as render_previews};

use crate::cancel::Cancel;
use crate::catalog::Catalog;
use crate::checksum::{self, Digest};
use crate::dicom::SourceFormat;
use crate::dicomdir::{self, DirInstance, DirPatient, DirSeries, DirStudy, FileSet};
use crate::layout::{self, Placed};
use crate::manifest::{self, InstanceEntry, Manifest, SourceEntry};
use crate::pages;
use crate::passphrase::Passphrase;
use crate::render::series::Outcome;
use crate::scan::{self, Instance, Unused};
use crate::select::Identity;
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use zip::write::FileOptions;
use zip::{CompressionMethod, ZipWriter};

/// How hard to compress the images that are not already compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Store everything as is.
    None,
    /// Quick deflate: most of the gain at a fraction of the time.
    #[default]
    Fast,
    /// Strongest deflate: smaller, much slower.
    Best,
}

/// Which previews go into the package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Thumbnails {
    /// No previews and no pages.
    None,
    /// One preview per series.
    #[default]
    Series,
    /// One per series, and one for every image on a page per series.
    All,
}

/// A name the user typed for a [`Compression`] or [`Thumbnails`] that is not one of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not one of: {}", .names.join(", "))]
pub struct UnknownName {
    pub given: String,
    pub names: &'static [&'static str],
}

/// The names a command line offers, and their parsing: the library stays free of any
/// argument parser, which lists [`Self::ALL`] as its possible values.
macro_rules! named {
    ($ty:ident { $($variant:ident => $name:literal, $help:literal;)* }) => {
        impl $ty {
            /// Every value, with its name and a line of help, in the order to offer them.
            pub const ALL: &'static [($ty, &'static str, &'static str)] =
                &[$(($ty::$variant, $name, $help)),*];
            const NAMES: &'static [&'static str] = &[$($name),*];

            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),*
                }
            }
        }

        impl std::str::FromStr for $ty {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<$ty, UnknownName> {
                match s {
                    $($name => Ok($ty::$variant),)*
                    _ => Err(UnknownName { given: s.to_string(), names: $ty::NAMES }),
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named!(Compression {
    None => "none", "Store everything as is";
    Fast => "fast", "Quick deflate: most of the gain at a fraction of the time";
    Best => "best", "Strongest deflate: smaller, much slower";
});

named!(Thumbnails {
    None => "none", "No previews and no pages";
    Series => "series", "One preview per series";
    All => "all", "One per series, and one for every image on a page per series";
});

/// What holds the file-set: a ZIP archive, or a disc image to burn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Container {
    #[default]
    Zip,
    /// ISO 9660, stored (see [`iso`]).
    Iso,
}

impl Container {
    /// What a file name asks for: `.iso` is a disc image, anything else a ZIP.
    pub fn for_path(path: &std::path::Path) -> Container {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("iso") => Container::Iso,
            _ => Container::Zip,
        }
    }

    /// The file name extension of this container.
    pub fn extension(self) -> &'static str {
        match self {
            Container::Zip => "zip",
            Container::Iso => "iso",
        }
    }
}

/// Where the package goes. Made only once its name is known: there is no "not chosen yet".
#[derive(Debug, Clone)]
pub struct Output {
    pub path: PathBuf,
    /// Replace an existing file at `path`.
    pub replace: bool,
}

/// How to write the package (what goes in it, how it is compressed and recorded).
#[derive(Debug, Clone, Default)]
pub struct PackOptions {
    /// Which previews to draw for the pages (INDEX.HTM, IHE_PDI/).
    pub thumbnails: Thumbnails,
    /// Seconds since 1970 for entry times and the manifest, from SOURCE_DATE_EPOCH.
    pub source_date_epoch: Option<i64>,
    pub compression: Compression,
    /// The options as the user gave them, recorded in the manifest.
    pub recorded_options: Vec<String>,
    /// ZIP or disc image. A disc image is stored, whatever `compression` says.
    pub container: Container,
    /// Encrypt every entry with AES-256 (WinZip AE-2) under this passphrase (ZIP only).
    pub passphrase: Option<Passphrase>,
    /// Which volume of a set this package is (see [`crate::volumes`]).
    pub volume: Option<crate::volumes::VolumeEntry>,
}

/// What the run knows beyond the catalog, recorded in the manifest.
#[derive(Default, Clone)]
pub struct Notes {
    pub sources: Vec<manifest::SourceInput>,
    pub identities: Vec<Identity>,
    pub left_out: Vec<String>,
    pub skipped: Vec<Unused>,
    pub ignored: Vec<Unused>,
    pub warnings: Vec<String>,
}

#[derive(Debug)]
pub struct PackReport {
    pub path: PathBuf,
    /// SHA-256 of SHA256.TXT: one value that stands for the whole package.
    pub fingerprint: Digest,
    pub summary: manifest::Summary,
    pub package_size: u64,
    /// Instances that could not be copied (changed since the scan, read errors).
    pub failed: Vec<Unused>,
    /// Series with a real preview, and with a placeholder.
    pub previews: usize,
    pub placeholders: usize,
    /// Images that could not be drawn, with the reason (they are packed all the same).
    pub render_failures: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("{0} already exists; choose another name or use --force to replace it")]
    Exists(PathBuf),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("writing the ZIP archive failed: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("{0}")]
    Layout(#[from] layout::FileIdError),
    #[error("the DICOMDIR could not be written: {0}")]
    DicomDir(#[from] dicomdir::DicomDirError),
    #[error("nothing to pack: no usable DICOM image was found")]
    Empty,
    #[error("stopped before the package was complete; nothing was written")]
    Interrupted,
    #[error("the disc image could not be made: {0}")]
    Iso(#[from] iso::IsoError),
    #[error(
        "a disc image cannot be encrypted: write an encrypted .zip, or an image without --encrypt"
    )]
    EncryptedImage,
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> PackError {
    let context = context.into();
    move |source| PackError::Io { context, source }
}

fn check_cancelled(cancel: &Cancel) -> Result<(), PackError> {
    if cancel.is_cancelled() {
        Err(PackError::Interrupted)
    } else {
        Ok(())
    }
}

/// Transfer syntaxes whose pixel data is already compressed: deflating them again gains nothing.
pub fn is_compressed_transfer_syntax(uid: &str) -> bool {
    crate::dicom::TransferSyntax::of(uid).is_compressed()
}

/// What was copied into the archive.
struct Copied<'c> {
    /// What was packed: (instance, entry digest, source digest, entry size).
    entries: Vec<(&'c Placed<'c>, Digest, Digest, u64)>,
    /// SOP Instance UIDs packed.
    packed: BTreeSet<&'c str>,
    failed: Vec<Unused>,
}

/// Writes the package. `tick` is called once per instance copied; `cancel` stops the writer
/// between entries, and the temporary file goes.
pub fn write(
    catalog: &Catalog,
    mut notes: Notes,
    previews: &Previews,
    output: &Output,
    opts: &PackOptions,
    tick: &(dyn Fn() + Sync),
    cancel: &Cancel,
) -> Result<PackReport, PackError> {
    if catalog.instance_count() == 0 {
        return Err(PackError::Empty);
    }
    if output.path.exists() && !output.replace {
        return Err(PackError::Exists(output.path.clone()));
    }
    let dir = output_dir(output);
    let temp = tempfile::Builder::new()
        .prefix(".dicompack-")
        .suffix(".partial")
        .tempfile_in(&dir)
        .map_err(io_err(format!("cannot create a file in {}", dir.display())))?;

    let image = opts.container == Container::Iso;
    if image && opts.passphrase.is_some() {
        return Err(PackError::EncryptedImage);
    }
    let placed = layout::place(catalog)?;
    let mut sink = temp
        .as_file()
        .try_clone()
        .and_then(write_behind::WriteBehind::new)
        .map_err(io_err("cannot write"))?;
    if image {
        // The volume descriptors go before the files (see `iso`).
        sink.seek(SeekFrom::Start(iso::FIRST_DATA_SECTOR * iso::SECTOR))
            .map_err(io_err("cannot write"))?;
    }
    let mut archive = Archive {
        zip: ZipWriter::new(sink),
        stamp: zip_time(opts.source_date_epoch),
        compression: if image {
            Compression::None
        } else {
            opts.compression
        },
        listed: Vec::new(),
        align: if image { iso::SECTOR as u16 } else { 0 },
        passphrase: opts.passphrase.as_ref().map(Passphrase::as_str),
    };
    if archive.passphrase.is_some() {
        // The archive comment is the one thing left in the clear: it says what this is.
        archive.zip.set_comment(ENCRYPTED_COMMENT)?;
    }
    let copied =
        copy_instances(&mut archive, &placed, tick, cancel).map_err(|e| in_folder(e, &dir))?;
    check_cancelled(cancel)?;
    if copied.entries.is_empty() {
        return Err(PackError::Empty);
    }

    let (fileset, filled) = file_set(catalog, &placed, &copied.packed);
    let dicomdir = dicomdir::Layout::new(&fileset)?;
    archive.add_streamed(names::DICOMDIR, dicomdir.len() as u64, |w| {
        dicomdir.write_to(w)
    })?;
    drop(dicomdir);
    drop(fileset);

    // The index page says where the rest of a set is.
    let volumes: Vec<String> = opts
        .volume
        .iter()
        .flat_map(|v| {
            std::iter::once(format!(
                "This is volume {} of {} (set {}); the other volumes hold the rest:",
                v.number, v.count, v.set
            ))
            .chain(
                v.holds
                    .iter()
                    .enumerate()
                    .filter(|(n, _)| n + 1 != v.number)
                    .map(|(_, h)| h.clone()),
            )
        })
        .collect();
    let identities: Vec<String> = notes.identities.iter().map(Identity::to_string).collect();
    let created = created_time(opts.source_date_epoch);
    let visuals = if previews.is_none() {
        None
    } else {
        let v = write_visuals(&mut archive, catalog, previews, cancel)?;
        let ctx = pages::PageContext {
            catalog,
            visuals: &v.by_series,
            identities: &identities,
            left_out: &notes.left_out,
            skipped: notes.skipped.len() + copied.failed.len(),
            created: &created,
            volumes: &volumes,
        };
        write_pages(&mut archive, &ctx)?;
        Some(v)
    };

    let summary = summarize(catalog, &copied.packed, copied.entries.iter().map(|e| e.3));
    let mut readme = readme_text(&summary, visuals.is_some(), opts.passphrase.is_some());
    if let Some(v) = &opts.volume {
        readme.push_str(&volume_text(v));
    }
    archive.add_bytes(names::README, readme.as_bytes())?;

    notes
        .warnings
        .extend(visuals.iter().flat_map(|v| v.failures.iter().cloned()));
    notes.skipped.extend(copied.failed.iter().cloned());
    let head = ManifestHead {
        created,
        options: opts.recorded_options.clone(),
        summary: summary.clone(),
        filled,
    };
    let by_series = visuals.as_ref().map(|v| &v.by_series);
    let volume = opts.volume.clone();
    write_manifest(
        &mut archive,
        catalog,
        &copied,
        by_series,
        notes,
        head,
        volume,
    )?;

    let fingerprint = archive.add_checksum_list()?;
    check_cancelled(cancel)?;
    let label = image.then(|| match &opts.volume {
        Some(v) => iso::volume_label(&format!("{}_V{}", volume_label(catalog), v.number)),
        None => volume_label(catalog),
    });
    let stamp = epoch_time(opts.source_date_epoch);
    let package_size = finish(archive, temp, output, &dir, label.as_deref(), stamp)?;
    Ok(PackReport {
        path: output.path.clone(),
        fingerprint,
        summary,
        package_size,
        failed: copied.failed,
        previews: visuals.as_ref().map_or(0, |v| v.previews),
        placeholders: visuals.as_ref().map_or(0, |v| v.placeholders),
        render_failures: visuals.map(|v| v.failures).unwrap_or_default(),
    })
}

/// What the manifest says about the run itself.
struct ManifestHead {
    created: String,
    options: Vec<String>,
    summary: manifest::Summary,
    filled: Vec<manifest::Filled>,
}

/// MANIFEST.JSN, streamed: each instance's entry is made as it is written. `notes` include
/// what failed to copy and what could not be drawn.
fn write_manifest<W: Write + Seek>(
    archive: &mut Archive<'_, W>,
    catalog: &Catalog,
    copied: &Copied<'_>,
    visuals: Option<&HashMap<String, pages::SeriesVisual>>,
    notes: Notes,
    head: ManifestHead,
    volume: Option<crate::volumes::VolumeEntry>,
) -> Result<(), PackError> {
    let manifest = Manifest {
        format: manifest::FORMAT.to_string(),
        tool: manifest::Tool::this(),
        created: head.created,
        options: head.options,
        sources: notes.sources,
        summary: head.summary,
        identities: notes.identities.iter().map(Identity::to_string).collect(),
        left_out: notes.left_out,
        patients: manifest_tree(catalog, &copied.packed, visuals),
        instances: manifest::SeqOf(|| {
            copied
                .entries
                .iter()
                .map(|&(placed, digest, source, size)| instance_entry(placed, digest, source, size))
        }),
        skipped: notes.skipped,
        ignored: notes.ignored,
        warnings: notes.warnings,
        filled: head.filled,
        volume,
    };
    archive.add_streamed(names::MANIFEST, 0, |w| {
        serde_json::to_writer_pretty(w, &manifest).map_err(io::Error::from)
    })?;
    Ok(())
}

/// The folder the package is written in (and its temporary files).
fn output_dir(output: &Output) -> PathBuf {
    match output.path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// An I/O error while copying is about the folder the package is written in.
fn in_folder(e: PackError, dir: &std::path::Path) -> PackError {
    match e {
        PackError::Io { source, .. } => PackError::Io {
            context: format!("writing the package in {}", dir.display()),
            source,
        },
        e => e,
    }
}

/// Copies every placed instance into the archive (in parallel, see [`copy`]) and sorts out
/// what made it and what was left out.
fn copy_instances<'c, 'p: 'c, W: Write + Seek + Send>(
    archive: &mut Archive<'p, W>,
    placed: &'c [Placed<'c>],
    tick: &(dyn Fn() + Sync),
    cancel: &'c Cancel,
) -> Result<Copied<'c>, PackError> {
    let compression = archive.compression;
    let mut jobs = Vec::with_capacity(placed.len());
    // A file header that cannot be made costs that file, not the package.
    let mut no_header = Vec::new();
    for p in placed {
        let prefix = match part10_prefix(p.instance) {
            Ok(prefix) => prefix,
            Err(reason) => {
                no_header.push(Unused {
                    path: p.instance.source.clone(),
                    reason,
                });
                continue;
            }
        };
        let size = p.instance.object.size + prefix.len() as u64;
        let deflate = compression != Compression::None
            && !is_compressed_transfer_syntax(&p.instance.object.transfer_syntax_uid);
        let stored = archive.options(CompressionMethod::Stored, compression, size);
        jobs.push(copy::Job {
            placed: p,
            name: p.file_id.as_str(),
            prefix,
            options: if deflate {
                archive.options(CompressionMethod::Deflated, compression, size)
            } else {
                stored
            },
            stored: deflate.then_some(stored),
            encrypted: archive.passphrase.is_some(),
            cancel,
        });
    }
    let outcomes = copy::copy_all(&mut archive.zip, &jobs, tick)?;
    let mut copied = Copied {
        entries: Vec::new(),
        packed: BTreeSet::new(),
        failed: no_header,
    };
    for (job, outcome) in jobs.iter().zip(outcomes) {
        let inst = job.placed.instance;
        match outcome {
            copy::Outcome::Packed {
                digest,
                source,
                size,
            } => {
                archive.listed.push((job.name.to_string(), digest));
                copied.entries.push((job.placed, digest, source, size));
                copied
                    .packed
                    .insert(inst.object.attrs.sop_instance_uid.as_str());
            }
            copy::Outcome::LeftOut(reason) => copied.failed.push(Unused {
                path: inst.source.clone(),
                reason,
            }),
        }
    }
    Ok(copied)
}

/// Closes the archive, syncs it and gives it its final name. Returns its size.
/// `label`: make it a disc image with this volume label.
fn finish(
    archive: Archive<'_, write_behind::WriteBehind>,
    temp: tempfile::NamedTempFile,
    output: &Output,
    dir: &std::path::Path,
    label: Option<&str>,
    stamp: time::OffsetDateTime,
) -> Result<u64, PackError> {
    let sink = archive.zip.finish()?;
    if let Some(label) = label {
        iso::finish_image(temp.as_file(), label, stamp)?;
    }
    let file = sink
        .finish()
        .map_err(io_err("cannot flush the package to disk"))?;
    let package_size = file.metadata().map(|m| m.len()).unwrap_or_default();
    drop(file);
    let persisted = if output.replace {
        temp.persist(&output.path).map_err(|e| e.error)
    } else {
        temp.persist_noclobber(&output.path).map_err(|e| e.error)
    };
    persisted.map_err(io_err(format!("cannot create {}", output.path.display())))?;
    // The rename is only durable once the folder itself is synced.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(package_size)
}

/// The pages: INDEX.HTM and one per study, over the previews written.
fn write_pages<W: Write + Seek>(
    archive: &mut Archive<'_, W>,
    ctx: &pages::PageContext<'_>,
) -> Result<(), PackError> {
    for (path, html) in pages::render_pages(ctx) {
        archive.add_bytes(&path, html.as_bytes())?;
    }
    Ok(())
}

/// Thumbnails and documents as written, for the pages and the report.
struct Visuals {
    by_series: HashMap<String, pages::SeriesVisual>,
    previews: usize,
    placeholders: usize,
    failures: Vec<String>,
}

/// Writes each series' thumbnail, with any PDF report, under the study's folder in
/// IHE_PDI/, streamed from the spool the render stage made.
fn write_visuals<W: Write + Seek>(
    archive: &mut Archive<'_, W>,
    catalog: &Catalog,
    previews: &Previews,
    cancel: &Cancel,
) -> Result<Visuals, PackError> {
    let mut v = Visuals {
        by_series: HashMap::new(),
        previews: 0,
        placeholders: 0,
        failures: Vec::new(),
    };
    for (si, (_, study)) in catalog.studies().enumerate() {
        check_cancelled(cancel)?;
        let mut document_count = 0;
        for (ri, series) in study.series.iter().enumerate() {
            let Some(r) = previews.series(series.uid.as_str()) else {
                continue;
            };
            let thumb = names::thumbnail(si, ri)?;
            // JPEG does not deflate: store it.
            archive.add_spooled(&thumb, Compression::None, previews, r.jpeg)?;
            let mut documents = Vec::new();
            for &pdf in &r.documents {
                let name = names::document(si, document_count)?;
                document_count += 1;
                archive.add_spooled(&name, archive.compression, previews, pdf)?;
                documents.push(name);
            }
            match &r.outcome {
                Outcome::Preview => v.previews += 1,
                Outcome::NotAnImage { .. } => v.placeholders += 1,
                Outcome::Failed { reason } => {
                    v.placeholders += 1;
                    v.failures.push(format!(
                        "study {} series {} ({}): no preview: {reason}",
                        study.index,
                        ri + 1,
                        series.description,
                    ));
                }
            }
            let mut images = Vec::new();
            if previews.thumbnails == Thumbnails::All {
                for (ii, &jpeg) in r.images.iter().enumerate() {
                    let name = names::image_preview(si, ri, ii)?;
                    archive.add_spooled(&name, Compression::None, previews, jpeg)?;
                    images.push(name);
                }
            }
            v.by_series.insert(
                series.uid.clone(),
                pages::SeriesVisual {
                    thumbnail: thumb,
                    note: r.outcome.note(),
                    documents,
                    images,
                },
            );
        }
    }
    Ok(v)
}

/// Thumbnails are at most this many pixels on the long side.
pub const THUMBNAIL_SIDE: u32 = 256;

/// What the archive comment of an encrypted package says, in the clear.
const ENCRYPTED_COMMENT: &str = "Medical images, encrypted (AES-256). Open with 7-Zip (Windows, Linux), \
Keka or The Unarchiver (macOS), or WinZip, with the passphrase the sender gives you.";

/// The disc's volume label: the study dates, never a name.
fn volume_label(catalog: &Catalog) -> String {
    let dates: BTreeSet<&str> = catalog
        .studies()
        .map(|(_, s)| s.date.as_str())
        .filter(|d| d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    let words = match (dates.first(), dates.last()) {
        (Some(a), Some(b)) if a == b => format!("DICOM_{a}"),
        (Some(a), Some(b)) => format!("DICOM_{a}_{b}"),
        _ => "DICOM".to_string(),
    };
    iso::volume_label(&words)
}

/// The package archive being written, with what its entries share: the time stamp, the
/// compression, the alignment and encryption, and the list of entries with their digests
/// that SHA256.TXT is made of.
struct Archive<'p, W: Write + Seek> {
    zip: ZipWriter<W>,
    stamp: zip::DateTime,
    compression: Compression,
    listed: Vec<(String, Digest)>,
    /// Where each entry's data must start (a disc image's sectors); 0 for anywhere.
    align: u16,
    passphrase: Option<&'p str>,
}

impl<'p, W: Write + Seek> Archive<'p, W> {
    fn options(
        &self,
        method: CompressionMethod,
        compression: Compression,
        size: u64,
    ) -> FileOptions<'p, 'static, ()> {
        let level = match compression {
            Compression::Best => Some(9),
            _ => Some(1),
        };
        let mut opts = FileOptions::default()
            .compression_method(method)
            .last_modified_time(self.stamp)
            .unix_permissions(0o644)
            // Deflate can grow incompressible data a little: leave room before the 4 GiB limit.
            .large_file(size >= 0xFFFF_0000);
        if method == CompressionMethod::Deflated {
            opts = opts.compression_level(level);
        }
        if self.align > 1 {
            opts = opts.with_alignment(self.align);
        }
        if let Some(p) = self.passphrase {
            opts = opts.with_aes_encryption(zip::AesMode::Aes256, p);
        }
        opts
    }

    fn add_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<(), PackError> {
        self.add(name, self.compression, bytes.len() as u64, |w| {
            w.write_all(bytes)
        })?;
        Ok(())
    }

    /// An item the render stage spooled, streamed from the spool (`Compression::None` for
    /// what does not deflate: JPEG).
    fn add_spooled(
        &mut self,
        name: &str,
        compression: Compression,
        previews: &Previews,
        span: previews::Span,
    ) -> Result<(), PackError> {
        self.add(name, compression, span.len(), |w| previews.copy_to(span, w))?;
        Ok(())
    }

    /// Adds an entry whose bytes `fill` writes: a manifest or checksum list of 100,000 lines
    /// goes to the archive without ever being held whole. Returns its digest. `size` is what is
    /// known in advance (0 for a control file, far below the 4 GiB where ZIP64 must be chosen
    /// before writing).
    fn add_streamed(
        &mut self,
        name: &str,
        size: u64,
        fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<Digest, PackError> {
        self.add(name, self.compression, size, fill)
    }

    /// SHA256.TXT: every entry but itself, sorted by name. Returns its digest, the package's
    /// fingerprint.
    fn add_checksum_list(&mut self) -> Result<Digest, PackError> {
        let mut listed = std::mem::take(&mut self.listed);
        listed.sort_by(|a, b| a.0.cmp(&b.0));
        self.add_streamed(names::CHECKSUMS, 0, |w| {
            checksum::write_list(w, listed.iter().map(|(p, d)| (p.as_str(), *d)))
        })
    }

    /// Writes an entry through a hashing writer and lists it.
    fn add(
        &mut self,
        name: &str,
        compression: Compression,
        size: u64,
        fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<Digest, PackError> {
        struct Hashing<'z, W: Write + Seek> {
            zip: &'z mut ZipWriter<W>,
            hasher: Sha256,
        }
        impl<W: Write + Seek> Write for Hashing<'_, W> {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                let n = self.zip.write(buf)?;
                self.hasher.update(buf.get(..n).unwrap_or_default());
                Ok(n)
            }
            fn flush(&mut self) -> io::Result<()> {
                self.zip.flush()
            }
        }
        let method = if compression == Compression::None {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        self.zip
            .start_file(name, self.options(method, compression, size))?;
        let mut out = io::BufWriter::with_capacity(
            256 * 1024,
            Hashing {
                zip: &mut self.zip,
                hasher: Sha256::new(),
            },
        );
        fill(&mut out)
            .and_then(|()| out.flush())
            .map_err(io_err("writing the package"))?;
        let hashing = out.into_inner().map_err(|e| PackError::Io {
            context: "writing the package".into(),
            source: e.into_error(),
        })?;
        let digest = Digest::from_hasher(hashing.hasher);
        self.listed.push((name.to_string(), digest));
        Ok(digest)
    }
}

/// What must go before a source's bytes so the package holds a correct PS3.10 file.
/// Empty for proper Part 10 files, which are copied byte for byte.
fn part10_prefix(inst: &Instance) -> Result<Vec<u8>, scan::Reason> {
    let o = &inst.object;
    match o.format {
        SourceFormat::Part10 => Ok(Vec::new()),
        // `DICM` + meta present without the preamble: add the 128 bytes (and the magic if the
        // meta starts right away).
        SourceFormat::Part10NoPreamble => {
            let mut v = vec![0u8; 128];
            let starts_with_magic = crate::platform::open_source(inst.bytes_path())
                .and_then(|mut f| {
                    let mut m = [0u8; 4];
                    f.read_exact(&mut m).map(|_| &m == b"DICM")
                })
                .unwrap_or(false);
            if !starts_with_magic {
                v.extend_from_slice(b"DICM");
            }
            Ok(v)
        }
        SourceFormat::Headerless => {
            let header_err =
                |e: dicom_object::meta::Error| scan::Reason::NoFileHeader(e.to_string());
            let meta = dicom_object::FileMetaTableBuilder::new()
                .media_storage_sop_class_uid(&*o.attrs.sop_class_uid)
                .media_storage_sop_instance_uid(o.attrs.sop_instance_uid.as_str())
                .transfer_syntax(&*o.transfer_syntax_uid)
                .implementation_class_uid(dicomdir::IMPLEMENTATION_CLASS_UID)
                .implementation_version_name(dicomdir::IMPLEMENTATION_VERSION_NAME)
                .build()
                .map_err(header_err)?;
            let mut v = vec![0u8; 128];
            v.extend_from_slice(b"DICM");
            meta.write(&mut v).map_err(header_err)?;
            Ok(v)
        }
    }
}

fn instance_entry(p: &Placed<'_>, digest: Digest, source: Digest, size: u64) -> InstanceEntry {
    let o = &p.instance.object;
    InstanceEntry {
        path: p.file_id.to_string(),
        sop_instance_uid: o.attrs.sop_instance_uid.clone(),
        sop_class_uid: o.attrs.sop_class_uid.to_string(),
        study_instance_uid: o.attrs.study.study_instance_uid.clone(),
        series_instance_uid: o.attrs.series.series_instance_uid.clone(),
        transfer_syntax_uid: o.transfer_syntax_uid.to_string(),
        size,
        sha256: digest,
        source: SourceEntry {
            path: p.instance.source.display().to_string(),
            size: o.size,
            sha256: source,
            format: o.format,
        },
    }
}

/// The DICOMDIR's content for what was packed, and the Type 1 keys no source gave (filled as
/// DCMTK's `dcmmkdir +I` does: Study ID, Series Number, Instance Number from the position, and
/// Modality `OT`; names, IDs and dates are never made up).
/// The source spelling (Specific Character Set and bytes) of the first object under a record
/// that gave the record's values (`same`), for the DICOMDIR to keep.
fn spelling<'a>(
    objects: impl Iterator<Item = &'a crate::scan::Instance>,
    same: impl Fn(&crate::scan::Attributes) -> bool,
) -> Option<std::sync::Arc<crate::scan::SourceText>> {
    objects
        .map(|i| &i.object.attrs)
        .filter(|a| same(a))
        .find_map(|a| a.source_text.clone())
}

fn file_set(
    catalog: &Catalog,
    placed: &[Placed<'_>],
    packed: &BTreeSet<&str>,
) -> (FileSet, Vec<manifest::Filled>) {
    let mut filled = Vec::new();
    let mut fill = |record: &str, uid: &str, attribute: &str, value: String| {
        filled.push(manifest::Filled {
            record: record.to_string(),
            uid: uid.to_string(),
            attribute: attribute.to_string(),
            value: value.clone(),
        });
        value
    };
    let file_ids: HashMap<&str, &layout::FileId> = placed
        .iter()
        .map(|p| {
            (
                p.instance.object.attrs.sop_instance_uid.as_str(),
                &p.file_id,
            )
        })
        .collect();
    let mut patients = Vec::new();
    for patient in &catalog.patients {
        let mut studies = Vec::new();
        for study in &patient.studies {
            let mut series_list = Vec::new();
            for series in &study.series {
                let mut instances: Vec<DirInstance> = Vec::new();
                for inst in &series.instances {
                    let o = &inst.object;
                    let uid = o.attrs.sop_instance_uid.as_str();
                    let Some(file_id) = file_ids.get(uid).filter(|_| packed.contains(uid)) else {
                        continue;
                    };
                    let instance_number = o.attrs.instance_number.or_else(|| {
                        let n = instances.len() + 1;
                        let record = dicomdir::record_type_for_sop_class(&o.attrs.sop_class_uid);
                        fill(record, uid, "InstanceNumber", n.to_string())
                            .parse()
                            .ok()
                    });
                    instances.push(DirInstance {
                        file_id: (*file_id).clone(),
                        sop_class_uid: o.attrs.sop_class_uid.clone(),
                        sop_instance_uid: o.attrs.sop_instance_uid.clone(),
                        transfer_syntax_uid: o.transfer_syntax_uid.clone(),
                        instance_number,
                        document: o.attrs.document.clone(),
                    });
                }
                if !instances.is_empty() {
                    let position = series_list.len() + 1;
                    let series_number = series.number.or_else(|| {
                        fill("SERIES", &series.uid, "SeriesNumber", position.to_string())
                            .parse()
                            .ok()
                    });
                    let modality = if series.modality.trim().is_empty() {
                        fill("SERIES", &series.uid, "Modality", "OT".to_string())
                    } else {
                        series.modality.clone()
                    };
                    let source_text = spelling(series.instances.iter(), |a| {
                        a.series.series_description == series.description
                    });
                    series_list.push(DirSeries {
                        source_text,
                        series_instance_uid: series.uid.clone(),
                        modality,
                        series_number,
                        series_description: series.description.clone(),
                        instances,
                    });
                }
            }
            if !series_list.is_empty() {
                // The number `scan` shows the study by.
                let study_id = if study.study_id.trim().is_empty() {
                    fill("STUDY", &study.uid, "StudyID", study.index.to_string())
                } else {
                    study.study_id.clone()
                };
                let source_text = spelling(study.series.iter().flat_map(|se| &se.instances), |a| {
                    a.study.study_description == study.description
                        && a.study.study_id == study.study_id
                        && a.study.accession_number == study.accession_number
                });
                studies.push(DirStudy {
                    source_text,
                    study_instance_uid: study.uid.clone(),
                    study_date: study.date.clone(),
                    study_time: study.time.clone(),
                    study_description: study.description.clone(),
                    study_id,
                    accession_number: study.accession_number.clone(),
                    series: series_list,
                });
            }
        }
        if !studies.is_empty() {
            let source_text = spelling(
                patient
                    .studies
                    .iter()
                    .flat_map(|st| &st.series)
                    .flat_map(|se| &se.instances),
                |a| {
                    a.patient.patient_name == patient.name()
                        && a.patient.patient_id == patient.key.patient_id
                },
            );
            patients.push(DirPatient {
                source_text,
                patient_id: patient.key.patient_id.clone(),
                patient_name: patient.name().to_string(),
                birth_date: patient.birth_date().to_string(),
                sex: patient.sex.clone(),
                studies,
            });
        }
    }
    let fileset = FileSet {
        file_set_id: "DICOMPACK".to_string(),
        patients,
    };
    (fileset, filled)
}

/// `sizes`: of each instance entry packed.
fn summarize(
    catalog: &Catalog,
    packed: &BTreeSet<&str>,
    sizes: impl ExactSizeIterator<Item = u64>,
) -> manifest::Summary {
    let has = |se: &crate::catalog::Series| {
        se.instances
            .iter()
            .any(|i| packed.contains(i.object.attrs.sop_instance_uid.as_str()))
    };
    manifest::Summary {
        patients: catalog
            .patients
            .iter()
            .filter(|p| p.studies.iter().any(|st| st.series.iter().any(has)))
            .count(),
        studies: catalog
            .studies()
            .filter(|(_, st)| st.series.iter().any(has))
            .count(),
        series: catalog.series().filter(|(_, _, se)| has(se)).count(),
        instances: sizes.len(),
        bytes: sizes.sum(),
    }
}

fn manifest_tree(
    catalog: &Catalog,
    packed: &BTreeSet<&str>,
    visuals: Option<&HashMap<String, pages::SeriesVisual>>,
) -> Vec<manifest::PatientEntry> {
    catalog
        .patients
        .iter()
        .map(|p| manifest::PatientEntry {
            patient_id: p.key.patient_id.clone(),
            issuer_of_patient_id: p.key.issuer.clone(),
            names: p.names.clone(),
            birth_dates: p.birth_dates.clone(),
            sex: p.sex.clone(),
            studies: p
                .studies
                .iter()
                .map(|st| manifest::StudyEntry {
                    study_instance_uid: st.uid.clone(),
                    date: st.date.clone(),
                    time: st.time.clone(),
                    description: st.description.clone(),
                    accession_number: st.accession_number.clone(),
                    series: st
                        .series
                        .iter()
                        .enumerate()
                        .map(|(n, se)| manifest::SeriesEntry {
                            series_instance_uid: se.uid.clone(),
                            number: se.number,
                            modality: se.modality.clone(),
                            description: se.description.clone(),
                            body_part: se.body_part.clone(),
                            instance_count: se
                                .instances
                                .iter()
                                .filter(|i| {
                                    packed.contains(i.object.attrs.sop_instance_uid.as_str())
                                })
                                .count(),
                            frame_count: se.frame_count(),
                            missing_instance_numbers: se.missing_instance_numbers.clone(),
                            missing_from_source: se.missing_from_source,
                            visual: visuals.and_then(|v| v.get(&se.uid)).map(|v| {
                                // The study's number on the pages, 1-based like `scan`'s.
                                let si = st.index.saturating_sub(1);
                                manifest::SeriesVisualEntry {
                                    preview: v.thumbnail.clone(),
                                    page: names::study_page(si),
                                    images_page: (!v.images.is_empty())
                                        .then(|| names::series_page(si, n)),
                                    documents: v.documents.clone(),
                                }
                            }),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

fn readme_text(s: &manifest::Summary, pages: bool, encrypted: bool) -> String {
    let look = if pages {
        "\nTO LOOK AT THE STUDIES WITHOUT A VIEWER\n  Open INDEX.HTM in any web browser: it lists every study and series\n  with a small preview picture. The previews are not for diagnosis.\n"
    } else {
        ""
    };
    format!(
        "\
MEDICAL IMAGES - TRANSFER PACKAGE
=================================

This package holds medical images: {studies} stud{ies} ({series} series, {images} image
files) for {patients} patient{ps}. It was made by dicompack {version}.

HOW TO OPEN THE IMAGES
  Open the file DICOMDIR with any DICOM viewer (for example Horos, OsiriX,
  RadiAnt, Weasis, MicroDicom or your hospital's PACS import). The images are
  in the DICOM folder; the DICOMDIR file is their table of contents.
{look}
HOW TO CHECK THAT NOTHING WAS CHANGED OR LOST
  Every file is listed with its SHA-256 checksum in SHA256.TXT. Open a
  terminal in the folder that holds this file (the disc, or the extracted
  package), then:
  - Windows (PowerShell):
      Get-Content SHA256.TXT | % {{ $h, $f = $_ -split '  ', 2;
        if ((Get-FileHash -Algorithm SHA256 $f).Hash -eq $h) {{ 'OK: ' + $f }}
        else {{ 'FAILED: ' + $f }} }}
  - macOS (Terminal):   shasum -a 256 -c SHA256.TXT
  - Linux:              sha256sum -c SHA256.TXT
  - With dicompack:     dicompack verify <this package>
  Every line must say OK.
  The sender can read you the package fingerprint (the SHA-256 of
  SHA256.TXT) over the phone: it is the checksum of SHA256.TXT itself
  (Windows: Get-FileHash SHA256.TXT; macOS: shasum -a 256 SHA256.TXT;
  Linux: sha256sum SHA256.TXT).
{sealed}
WHAT ELSE IS HERE
  MANIFEST.JSN  a machine-readable list of every file, where it came from,
                and anything that could not be included, with the reason.
",
        studies = s.studies,
        ies = if s.studies == 1 { "y" } else { "ies" },
        series = s.series,
        images = s.instances,
        patients = s.patients,
        ps = if s.patients == 1 { "" } else { "s" },
        version = env!("CARGO_PKG_VERSION"),
        look = look,
        sealed = if encrypted {
            "\nTHIS PACKAGE IS ENCRYPTED (AES-256)\n  It opens with its passphrase, which the sender gives you separately,\n  in these free programs: 7-Zip (Windows, Linux: 7z x), Keka or The\n  Unarchiver (macOS), and in WinZip. The built-in Windows and macOS\n  unzip cannot open it.\n"
        } else {
            ""
        },
    )
}

/// README.TXT's part for one volume of a set.
fn volume_text(v: &crate::volumes::VolumeEntry) -> String {
    let mut out = format!(
        "\nTHIS IS VOLUME {} OF {}\n  The images were split over {} packages (or discs) because they do not\n  fit on one. Each is complete on its own and opens in any DICOM viewer.\n  Set identifier: {}\n",
        v.number, v.count, v.count, v.set
    );
    for h in &v.holds {
        out.push_str("  ");
        out.push_str(h);
        out.push('\n');
    }
    out.push_str("  dicompack verify <every volume> checks that the set is complete.\n");
    out
}

fn epoch_time(source_date_epoch: Option<i64>) -> time::OffsetDateTime {
    let t = source_date_epoch
        .and_then(|e| time::OffsetDateTime::from_unix_timestamp(e).ok())
        .unwrap_or_else(time::OffsetDateTime::now_utc);
    t.replace_nanosecond(0).unwrap_or(t)
}

fn created_time(source_date_epoch: Option<i64>) -> String {
    epoch_time(source_date_epoch)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// ZIP (MS-DOS) timestamps run from 1980 to 2107; anything outside is clamped.
fn zip_time(source_date_epoch: Option<i64>) -> zip::DateTime {
    let t = epoch_time(source_date_epoch);
    let year = t.year().clamp(1980, 2107) as u16;
    zip::DateTime::from_date_and_time(
        year,
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
    .unwrap_or_default()
}

/// Reads the SOURCE_DATE_EPOCH convention (reproducible builds).
pub fn source_date_epoch_from_env() -> Option<i64> {
    std::env::var("SOURCE_DATE_EPOCH").ok()?.trim().parse().ok()
}
