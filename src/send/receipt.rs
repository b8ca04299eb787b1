//! The receipt: what happened to every instance of one send, as a JSON file beside the source
//! (never inside a package), rewritten as the send goes on so that an interrupted send leaves
//! a true record, and read back by the next send to the same place so that only what is not
//! yet stored is sent again.
//!
//! It names no secret: credentials are never written, only whether some were used.

use super::Destination;
use super::status::Status;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The format's name and version, the first thing in every receipt.
pub const FORMAT: &str = "dicompack-send-receipt/1";

/// A receipt as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Receipt {
    pub format: String,
    /// The source as given.
    pub source: String,
    /// The destination as `AET@HOST:PORT` or the base URL.
    pub destination: String,
    pub calling_aet: String,
    /// When this receipt was last written (UTC, RFC 3339).
    pub updated: String,
    /// The identity changes asked for (IHE Import Reconciliation), old Patient ID → new.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reconciliation: BTreeMap<String, String>,
    /// One line per instance, by SOP Instance UID.
    pub instances: BTreeMap<String, Line>,
}

/// What happened to one instance (its last attempt).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Line {
    pub file: String,
    pub sop_class_uid: String,
    /// The transfer syntax it was sent in, when it was sent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sent_as: String,
    #[serde(flatten)]
    pub status: Status,
    /// When (UTC, RFC 3339).
    pub at: String,
}

/// Why a receipt could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("cannot read the receipt {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a receipt of dicompack send: {why}", .path.display())]
    NotAReceipt { path: PathBuf, why: String },
    #[error(
        "the receipt {} records a send to {recorded}, not to {asked}: give another --receipt for this destination",
        .path.display()
    )]
    OtherDestination {
        path: PathBuf,
        recorded: String,
        asked: String,
    },
    #[error("cannot write the receipt {}: {source} (give --receipt PATH somewhere writable)", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where a source's receipt goes when no path is given: beside it, its name plus
/// `.receipt.json` (`OUT.ZIP` → `OUT.ZIP.receipt.json`, a folder `pkg/` → `pkg.receipt.json`).
pub fn default_path(source: &Path) -> PathBuf {
    let trimmed: PathBuf = source.components().collect();
    let name = trimmed
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dicompack-send".to_string());
    trimmed.with_file_name(format!("{name}.receipt.json"))
}

impl Receipt {
    pub fn new(source: String, destination: &Destination, calling_aet: String) -> Receipt {
        Receipt {
            format: FORMAT.to_string(),
            source,
            destination: destination.to_string(),
            calling_aet,
            updated: now(),
            reconciliation: BTreeMap::new(),
            instances: BTreeMap::new(),
        }
    }

    /// The receipt at `path`, if there is one; it must be for `destination`.
    pub fn load(path: &Path, destination: &Destination) -> Result<Option<Receipt>, ReceiptError> {
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ReceiptError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let receipt: Receipt =
            serde_json::from_slice(&text).map_err(|e| ReceiptError::NotAReceipt {
                path: path.to_path_buf(),
                why: e.to_string(),
            })?;
        if receipt.format != FORMAT {
            return Err(ReceiptError::NotAReceipt {
                path: path.to_path_buf(),
                why: format!("its format is {:?}", receipt.format),
            });
        }
        if receipt.destination != destination.to_string() {
            return Err(ReceiptError::OtherDestination {
                path: path.to_path_buf(),
                recorded: receipt.destination,
                asked: destination.to_string(),
            });
        }
        Ok(Some(receipt))
    }

    /// Whether the instance is already stored at the destination.
    pub fn is_stored(&self, sop_instance_uid: &str) -> bool {
        self.instances
            .get(sop_instance_uid)
            .is_some_and(|l| l.status.is_stored())
    }

    /// Writes the receipt under a temporary name beside `path`, synced, then renames it: a
    /// receipt is always whole, even when the send is cut.
    pub fn save(&mut self, path: &Path) -> Result<(), ReceiptError> {
        self.updated = now();
        let err = |source| ReceiptError::Write {
            path: path.to_path_buf(),
            source,
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".dicompack-receipt-")
            .tempfile_in(dir)
            .map_err(err)?;
        {
            let mut w = std::io::BufWriter::new(tmp.as_file_mut());
            serde_json::to_writer_pretty(&mut w, self).map_err(|e| err(e.into()))?;
            w.write_all(b"\n").map_err(err)?;
            w.flush().map_err(err)?;
        }
        tmp.as_file().sync_all().map_err(err)?;
        tmp.persist(path).map_err(|e| err(e.error))?;
        Ok(())
    }
}

/// Now, UTC, as RFC 3339.
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_is_beside_the_source() {
        assert_eq!(
            default_path(Path::new("/tmp/x/OUT.ZIP")),
            PathBuf::from("/tmp/x/OUT.ZIP.receipt.json")
        );
        assert_eq!(
            default_path(Path::new("pkg/")),
            PathBuf::from("pkg.receipt.json")
        );
    }

    #[test]
    fn a_receipt_round_trips_and_names_its_destination() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let dest = Destination::parse("PACS@localhost:104").unwrap();
        let mut r = Receipt::new("src".into(), &dest, "DICOMPACK".into());
        r.instances.insert(
            "1.2.3".into(),
            Line {
                file: "DICOM/X".into(),
                sop_class_uid: "1.2".into(),
                sent_as: "1.2.840.10008.1.2.1".into(),
                status: Status::Stored { code: 0 },
                at: now(),
            },
        );
        r.save(&path).unwrap();
        let back = Receipt::load(&path, &dest).unwrap().unwrap();
        assert!(back.is_stored("1.2.3"));
        assert!(!back.is_stored("1.2.4"));
        let other = Destination::parse("OTHER@localhost:104").unwrap();
        assert!(matches!(
            Receipt::load(&path, &other),
            Err(ReceiptError::OtherDestination { .. })
        ));
    }
}
