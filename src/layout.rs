//! Layout stage: catalog → where each file goes in the package.
//!
//! File IDs follow PS3.10 §8.2 and PS3.12 Annex V as IHE PDI applies them: at most 8
//! components of at most 8 characters from A–Z 0–9 _, built from counters only, so no patient
//! data ever appears in a path (`DICOM/P0000001/S0000001/S0000001/I0000001`).

use crate::catalog::Catalog;
use crate::scan::Instance;
use std::fmt;

/// A valid PS3.10 file ID. Only constructible through [`FileId::new`], which checks the rules.
/// Held as one `/`-joined string: a package holds one per instance, so it is kept to a single
/// small allocation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(Box<str>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileIdError {
    #[error("a file ID has 1 to 8 components, not {0}")]
    Depth(usize),
    #[error("file ID component {0:?} is not 1–8 characters of A–Z, 0–9 and _")]
    Component(String),
}

impl FileId {
    pub const MAX_DEPTH: usize = 8;

    pub fn new<S: AsRef<str>>(
        components: impl IntoIterator<Item = S>,
    ) -> Result<FileId, FileIdError> {
        let mut joined = String::new();
        let mut depth = 0;
        for p in components {
            let p = p.as_ref();
            if !is_valid_component(p) {
                return Err(FileIdError::Component(p.to_string()));
            }
            if depth > 0 {
                joined.push('/');
            }
            joined.push_str(p);
            depth += 1;
        }
        if depth == 0 || depth > Self::MAX_DEPTH {
            return Err(FileIdError::Depth(depth));
        }
        Ok(FileId(joined.into()))
    }

    /// Parses a package path (`DICOM/P0000001/…`), as found in a ZIP or a folder.
    pub fn parse_path(path: &str) -> Result<FileId, FileIdError> {
        FileId::new(path.split('/'))
    }

    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The package path, `/`-separated.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The components joined by `sep` (`\\` in a DICOMDIR's Referenced File ID).
    pub fn joined(&self, sep: char) -> String {
        self.0.replace('/', sep.encode_utf8(&mut [0; 4]))
    }
}

/// PS3.10 §8.5 character repertoire, and the 8-character limit of ISO 9660 Level 1.
pub fn is_valid_component(p: &str) -> bool {
    (1..=8).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One instance and where it goes.
#[derive(Debug, Clone)]
pub struct Placed<'a> {
    pub file_id: FileId,
    pub instance: &'a Instance,
    /// Indexes into the catalog: patient, study, series (0-based).
    pub position: (usize, usize, usize),
}

/// Places every instance of the catalog, in catalog order (which is also file-ID order).
pub fn place(catalog: &Catalog) -> Result<Vec<Placed<'_>>, FileIdError> {
    let mut out = Vec::new();
    for (pi, patient) in catalog.patients.iter().enumerate() {
        for (si, study) in patient.studies.iter().enumerate() {
            for (ri, series) in study.series.iter().enumerate() {
                for (ii, instance) in series.instances.iter().enumerate() {
                    let file_id = FileId::new([
                        crate::package::names::DICOM_FOLDER.to_string(),
                        counter('P', pi)?,
                        counter('S', si)?,
                        counter('S', ri)?,
                        counter('I', ii)?,
                    ])?;
                    out.push(Placed {
                        file_id,
                        instance,
                        position: (pi, si, ri),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// `P0000001` for index 0: a letter and seven digits, the most one component can hold.
pub fn counter(letter: char, index: usize) -> Result<String, FileIdError> {
    let s = format!("{letter}{:07}", index + 1);
    if s.len() > 8 {
        return Err(FileIdError::Component(s));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_ids_follow_ps3_10() {
        assert_eq!(
            FileId::new(["DICOM", "P0000001", "I0000001"])
                .unwrap()
                .to_string(),
            "DICOM/P0000001/I0000001"
        );
        assert!(FileId::new(["dicom"]).is_err(), "lowercase");
        assert!(FileId::new(["TOOLONGNAME"]).is_err(), "nine characters");
        assert!(FileId::new([".."]).is_err());
        assert!(FileId::new(["A"; 9]).is_err(), "nine levels");
        assert!(FileId::parse_path("DICOM//X").is_err(), "empty component");
        assert_eq!(counter('I', 9_999_998).unwrap(), "I9999999");
        assert!(counter('I', 9_999_999).is_err());
    }
}
