//! dicompack: move medical imaging between doctors intact.
//!
//! The pipeline flows one way; each stage is one module that owns its types:
//!
//! ```text
//! inputs ─▶ discover ─▶ scan ─▶ catalog ─▶ select ─▶ layout ─▶ render ─▶ package
//! package ─▶ verify ─▶ verdict        package ─▶ extract (verify first, safe paths)
//! ```

// Input reaches almost every function here: nothing in the library may panic on it.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod alloc; // the process allocator: the system one, over-aligned blocks cut by hand
pub mod cancel; // the cancellation token a front end hands to the stages (no global state)
pub mod catalog; // instances → Patient ▸ Study ▸ Series ▸ Instance, duplicates, conflicts
pub mod checksum; // SHA-256 helpers and the `sha256sum -c` list format
pub mod commands; // scan, pack, verify, extract: typed request → typed outcome + exit code
pub mod dicom; // the byte layer: element headers, the capped walker, transfer syntaxes, pixel location
pub mod dicomdir; // DICOMDIR (PS3.3 Annex F) reader and writer, by hand: dicom-rs has none
pub mod discover; // inputs → candidate files, junk ignored by content, DICOMDIR hints
pub mod extract; // verified package → folder: safe names, no links followed, temp then rename
pub mod layout; // catalog → PS3.10 file IDs with no patient data in any path
pub mod manifest; // MANIFEST.JSN: the machine-readable record of a package
pub mod medium; // what the input lives on (SSD, disc, USB stick, network share): how to read it
pub mod package; // layout + files → the ZIP transfer package, temp name then rename
pub mod pages; // INDEX.HTM and the study pages: plain XHTML + JPEG, no script
pub mod passphrase; // an encrypted package's passphrase: file, environment, terminal, or made of words
pub mod platform; // what the OS decides (opening a source without blocking), behind one interface
pub mod read_plan; // slow media: each byte once, in disc order, retried, spooled for later stages
pub mod render; // one representative frame per series → thumbnail
pub mod report; // plain-words text for people: the tree, the skipped files, the summary
pub mod scan; // candidate → Instance or Skipped, one read: header + SHA-256
pub mod select; // filters → the catalog to pack, what was left out, the mixed-patient rule
pub mod send; // verified package or surveyed disc → a PACS (C-STORE, STOW-RS), receipt, reconciliation
pub mod survey; // discover + scan + catalog + DICOMDIR cross-check, shared by scan and pack
pub mod ui; // `dicompack ui`: the local web page, on the same commands
pub mod verify; // package → verdict, the receiver's view
pub mod volumes; // a selection too large for one medium → volumes, each a complete file-set
