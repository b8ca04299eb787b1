//! The names of the files and folders a package holds, defined once.
//!
//! The writer puts files at these names, verify and extract expect them there, and the pages
//! link to them: spelled in one place, they cannot drift apart. The folders and file names
//! follow IHE PDI (PS3.12 Annex V): the DICOM files and their `DICOMDIR` at the root of a
//! file-set, the pages and previews under `IHE_PDI/`, names of at most 8 characters.

use crate::layout::{FileIdError, counter};

/// The file-set's table of contents, PS3.3 Annex F.
pub const DICOMDIR: &str = "DICOMDIR";
/// The checksum list, in `sha256sum -c` format; lists every file but itself.
pub const CHECKSUMS: &str = "SHA256.TXT";
/// The machine-readable record of the package.
pub const MANIFEST: &str = "MANIFEST.JSN";
/// The instructions for a person.
pub const README: &str = "README.TXT";
/// The page a person opens first.
pub const INDEX: &str = "INDEX.HTM";
/// The folder of the DICOM files: the first component of every file ID.
pub const DICOM_FOLDER: &str = "DICOM";
/// The folder of the study pages, previews and documents.
pub const PAGES_FOLDER: &str = "IHE_PDI";

/// The files at the root of the package besides the DICOMDIR.
pub const TEXT_FILES: [&str; 4] = [CHECKSUMS, MANIFEST, README, INDEX];

/// Whether `name` is a path inside the DICOM folder.
pub fn in_dicom_folder(name: &str) -> bool {
    inside(name, DICOM_FOLDER)
}

/// Whether `name` is a path inside the pages folder.
pub fn in_pages_folder(name: &str) -> bool {
    inside(name, PAGES_FOLDER)
}

fn inside(name: &str, folder: &str) -> bool {
    name.strip_prefix(folder)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// The names a package of ours can hold.
pub fn belongs_in_package(name: &str) -> bool {
    name == DICOMDIR || TEXT_FILES.contains(&name) || in_dicom_folder(name) || in_pages_folder(name)
}

/// A package path inside the pages folder as the pages link to it, relative to that folder.
pub fn relative_to_pages(path: &str) -> &str {
    path.strip_prefix(PAGES_FOLDER)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(path)
}

/// Package path of a study's page; `study` counts from 0 in catalog order.
pub fn study_page(study: usize) -> String {
    format!("{PAGES_FOLDER}/S{:07}.HTM", study + 1)
}

/// Package folder for a study's previews, documents and series pages.
pub fn study_folder(study: usize) -> String {
    format!("{PAGES_FOLDER}/S{:07}", study + 1)
}

/// Package path of the page showing every image of a series (`--thumbnails all`).
pub fn series_page(study: usize, series: usize) -> String {
    format!("{}/T{:07}.HTM", study_folder(study), series + 1)
}

/// Package path of a series' preview; `series` counts from 0 within the study.
pub fn thumbnail(study: usize, series: usize) -> Result<String, FileIdError> {
    Ok(format!(
        "{}/{}.JPG",
        study_folder(study),
        counter('T', series)?
    ))
}

/// Package path of the preview of one image of a series (`--thumbnails all`).
pub fn image_preview(study: usize, series: usize, image: usize) -> Result<String, FileIdError> {
    Ok(format!(
        "{}/{}/{}.JPG",
        study_folder(study),
        counter('T', series)?,
        counter('I', image)?
    ))
}

/// Package path of a study's `document`-th document (an encapsulated PDF report).
pub fn document(study: usize, document: usize) -> Result<String, FileIdError> {
    Ok(format!(
        "{}/{}.PDF",
        study_folder(study),
        counter('D', document)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_as_the_pages_link_them() {
        assert_eq!(study_page(0), "IHE_PDI/S0000001.HTM");
        assert_eq!(study_folder(1), "IHE_PDI/S0000002");
        assert_eq!(series_page(0, 2), "IHE_PDI/S0000001/T0000003.HTM");
        assert_eq!(thumbnail(0, 0).unwrap(), "IHE_PDI/S0000001/T0000001.JPG");
        assert_eq!(
            image_preview(0, 1, 2).unwrap(),
            "IHE_PDI/S0000001/T0000002/I0000003.JPG"
        );
        assert_eq!(document(3, 0).unwrap(), "IHE_PDI/S0000004/D0000001.PDF");
        assert_eq!(relative_to_pages("IHE_PDI/S0000001.HTM"), "S0000001.HTM");
        assert_eq!(relative_to_pages("INDEX.HTM"), "INDEX.HTM");
    }

    #[test]
    fn what_belongs_in_a_package() {
        for good in [
            "DICOMDIR",
            "SHA256.TXT",
            "INDEX.HTM",
            "DICOM/P0000001/I0000001",
            "IHE_PDI/S0000001.HTM",
        ] {
            assert!(belongs_in_package(good), "{good}");
        }
        for bad in ["EXTRA.TXT", "DICOMX/A", "IHE_PDIX", "DICOM", "dicomdir"] {
            assert!(!belongs_in_package(bad), "{bad}");
        }
    }
}
