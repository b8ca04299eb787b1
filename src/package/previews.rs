//! The render stage of `pack`, run before the package is written: every preview (one per
//! series, and one per image with `--thumbnails all`) and every encapsulated PDF is drawn or
//! taken out on all cores and spooled, as it is made, to an unnamed temporary file beside the
//! package. The writer then streams each one from there into its ZIP entry: the JPEGs and PDFs
//! of a whole package are never held in memory at once.

use super::{Output, PackError, THUMBNAIL_SIDE, Thumbnails, check_cancelled, io_err, output_dir};
use crate::cancel::Cancel;
use crate::catalog::Catalog;
use crate::render::series::{self, Outcome};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::Mutex;

/// Where one spooled item lies in the spool file.
#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    offset: u64,
    len: u64,
}

impl Span {
    pub(super) fn len(self) -> u64 {
        self.len
    }
}

/// What the render stage made for one series, as spans of the spool.
pub(super) struct SpooledSeries {
    pub jpeg: Span,
    pub outcome: Outcome,
    pub documents: Vec<Span>,
    /// With `--thumbnails all`: one tile per instance, in catalog order.
    pub images: Vec<Span>,
}

/// The previews of a package, drawn and spooled; made by [`render`], used by
/// [`super::write`].
pub struct Previews {
    /// `None` with `--thumbnails none`: no previews and no pages.
    spool: Option<Spool>,
    pub(super) thumbnails: Thumbnails,
}

struct Spool {
    file: File,
    /// Keyed by Series Instance UID.
    series: HashMap<String, SpooledSeries>,
}

impl Previews {
    /// No previews (for `--thumbnails none`).
    pub fn none() -> Previews {
        Previews {
            spool: None,
            thumbnails: Thumbnails::None,
        }
    }

    pub(super) fn series(&self, uid: &str) -> Option<&SpooledSeries> {
        self.spool.as_ref()?.series.get(uid)
    }

    pub(super) fn is_none(&self) -> bool {
        self.spool.is_none()
    }

    /// Copies one spooled item to `w`.
    pub(super) fn copy_to(&self, span: Span, w: &mut dyn Write) -> io::Result<()> {
        let Some(spool) = &self.spool else {
            return Ok(());
        };
        let mut f = &spool.file;
        f.seek(SeekFrom::Start(span.offset))?;
        let copied = io::copy(&mut f.take(span.len), w)?;
        if copied == span.len {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the preview spool was cut short",
            ))
        }
    }
}

/// Appends items to the spool file from the render workers.
struct Writer {
    file: File,
    at: u64,
}

impl Writer {
    fn put(&mut self, bytes: &[u8]) -> io::Result<Span> {
        self.file.write_all(bytes)?;
        let span = Span {
            offset: self.at,
            len: bytes.len() as u64,
        };
        self.at += span.len;
        Ok(span)
    }
}

/// Draws the previews the package is to hold, spooled beside `output`. `tick` is called once
/// per series drawn.
pub fn render(
    catalog: &Catalog,
    thumbnails: Thumbnails,
    output: &Output,
    tick: &(dyn Fn() + Sync),
    cancel: &Cancel,
) -> Result<Previews, PackError> {
    if thumbnails == Thumbnails::None {
        return Ok(Previews::none());
    }
    if output.path.exists() && !output.replace {
        return Err(PackError::Exists(output.path.clone()));
    }
    let dir = output_dir(output);
    let file = tempfile::tempfile_in(&dir)
        .map_err(io_err(format!("cannot create a file in {}", dir.display())))?;
    let writer = Mutex::new(Writer {
        file: file.try_clone().map_err(io_err("cannot write"))?,
        at: 0,
    });
    let spooled: Mutex<HashMap<String, SpooledSeries>> = Mutex::new(HashMap::new());
    let failure: Mutex<Option<io::Error>> = Mutex::new(None);
    let all = thumbnails == Thumbnails::All;
    series::render_each(catalog, THUMBNAIL_SIDE, &|s, r| {
        tick();
        if cancel.is_cancelled() {
            return;
        }
        let images = if all {
            series::render_instances(s, THUMBNAIL_SIDE)
        } else {
            Vec::new()
        };
        let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
        let put = (|| -> io::Result<SpooledSeries> {
            Ok(SpooledSeries {
                jpeg: w.put(&r.jpeg)?,
                documents: r
                    .documents
                    .iter()
                    .map(|d| w.put(d))
                    .collect::<Result<_, _>>()?,
                images: images.iter().map(|i| w.put(i)).collect::<Result<_, _>>()?,
                outcome: r.outcome,
            })
        })();
        drop(w);
        match put {
            Ok(s) => {
                let mut map = spooled.lock().unwrap_or_else(|e| e.into_inner());
                map.insert(r.series_uid, s);
            }
            Err(e) => {
                let mut first = failure.lock().unwrap_or_else(|e| e.into_inner());
                first.get_or_insert(e);
            }
        }
    });
    check_cancelled(cancel)?;
    if let Some(e) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(io_err(format!(
            "spooling the previews in {}",
            dir.display()
        ))(e));
    }
    Ok(Previews {
        spool: Some(Spool {
            file,
            series: spooled.into_inner().unwrap_or_else(|e| e.into_inner()),
        }),
        thumbnails,
    })
}
