//! The four commands as library calls: a typed request in, a typed outcome out, one function
//! per subcommand (`scan`, `pack`, `verify`, `extract`).
//!
//! The command line only parses, calls one of these, prints the outcome (with [`crate::report`])
//! and maps [`Exit`] to the process exit code. The policy lives here, where every front end
//! shares it: which selection may be packed (one person, unless allowed on purpose), what is
//! recorded about the sources and the options, where the package goes when no name is given.
//! Progress goes to a [`Progress`]; a [`Cancel`] token stops the work, never a global.

use crate::cancel::Cancel;
use crate::catalog::Catalog;
use crate::discover::InputError;
use crate::extract::{self, ExtractError, Extracted};
use crate::manifest::SourceInput;
use crate::package::{self, Compression, Output, PackError, PackOptions, PackReport, Thumbnails};
use crate::scan::Pass;
use crate::select::{self, Filters, SelectError, SeveralPatients};
use crate::survey::{self, Survey};
use crate::verify::{self, Verdict};
use std::path::{Path, PathBuf};

/// The exit codes in a sentence, for the command line's help.
pub const EXIT_CODES: &str = "Exit codes: 0 all good; 1 verification failed or no package made; \
    2 usage or input error, nothing written; 3 done, but some DICOM input could not be used \
    (listed in the report).";

/// What a run comes to, as the process exit code says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Everything went well.
    Ok = 0,
    /// Verification failed, or no package could be made.
    Failed = 1,
    /// Usage or input error; nothing was written.
    Usage = 2,
    /// Done, but some DICOM input could not be used (listed in the report).
    Incomplete = 3,
}

impl From<Exit> for u8 {
    fn from(e: Exit) -> u8 {
        e as u8
    }
}

/// The stages a command reports progress for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Discovering and scanning the input files.
    Reading,
    /// Drawing the previews for the package's pages.
    Drawing,
    /// Copying the instances into the package.
    Packing,
}

impl Stage {
    /// What a progress display calls it.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Reading => "Reading",
            Stage::Drawing => "Drawing",
            Stage::Packing => "Packing",
        }
    }
}

/// Where a command reports how far it got. Calls come from worker threads.
pub trait Progress: Sync {
    /// A stage begins; whatever showed the previous one is done.
    fn begin(&self, stage: Stage);
    /// How many steps the current stage has (files, instances), once known.
    fn total(&self, steps: u64);
    /// One step of the current stage is done.
    fn tick(&self);
    /// The current stage is over.
    fn end(&self);
}

/// Reports nothing.
pub struct Quiet;

impl Progress for Quiet {
    fn begin(&self, _: Stage) {}
    fn total(&self, _: u64) {}
    fn tick(&self) {}
    fn end(&self) {}
}

/// Why a command did not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{}: no such file or folder", .0.display())]
    NoSuchPath(PathBuf),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Select(#[from] SelectError),
    /// Nothing to pack; the survey says what was found instead.
    #[error("no DICOM images were found, so no package was made")]
    NoImages(Box<Survey>),
    /// The selection covers several people; the catalog is there to list them.
    #[error("{refusal}")]
    SeveralPatients {
        refusal: SeveralPatients,
        catalog: Box<Catalog>,
    },
    #[error(transparent)]
    Pack(#[from] PackError),
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error("stopped before the end")]
    Interrupted,
}

impl CommandError {
    pub fn exit(&self) -> Exit {
        match self {
            CommandError::NoSuchPath(_)
            | CommandError::Input(_)
            | CommandError::Select(_)
            | CommandError::SeveralPatients { .. }
            | CommandError::Pack(PackError::Exists(_))
            | CommandError::Extract(
                ExtractError::NotEmpty(_) | ExtractError::Exists(_) | ExtractError::InTheWay(_),
            ) => Exit::Usage,
            CommandError::NoImages(_)
            | CommandError::Pack(_)
            | CommandError::Extract(_)
            | CommandError::Interrupted => Exit::Failed,
        }
    }
}

/// `scan`: what is on a disc or in a folder.
#[derive(Debug, Clone, Default)]
pub struct ScanRequest {
    /// Folders, disc mount points, DICOMDIR files or single files.
    pub inputs: Vec<PathBuf>,
    /// Read every byte of every file, not only the headers.
    pub read_all: bool,
    pub filters: Filters,
}

/// What `scan` found: the survey (its catalog is the selected one) and, in plain words, what
/// the selection left out.
#[derive(Debug)]
pub struct Scanned {
    pub survey: Survey,
    pub left_out: Vec<String>,
}

impl Scanned {
    pub fn exit(&self) -> Exit {
        if self.survey.incomplete() {
            Exit::Incomplete
        } else {
            Exit::Ok
        }
    }
}

pub fn scan(
    req: &ScanRequest,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<Scanned, CommandError> {
    req.filters.dates()?;
    let pass = if req.read_all {
        Pass::Whole
    } else {
        Pass::Header
    };
    let (survey, left_out) = survey_selected(&req.inputs, pass, &req.filters, progress, cancel)?;
    Ok(Scanned { survey, left_out })
}

/// `pack`: a checksummed transfer package.
#[derive(Debug, Clone, Default)]
pub struct PackRequest {
    pub inputs: Vec<PathBuf>,
    /// Where to write the package; `None`: a name from the patient and the study dates, in
    /// the current folder, never replacing a file.
    pub output: Option<PathBuf>,
    /// Replace the output file if it exists.
    pub force: bool,
    /// Allow images of more than one patient in one package (recorded in the manifest).
    pub allow_multiple_patients: bool,
    pub thumbnails: Thumbnails,
    pub compression: Compression,
    pub filters: Filters,
    /// Seconds since 1970 for entry times and the manifest (SOURCE_DATE_EPOCH).
    pub source_date_epoch: Option<i64>,
}

impl PackRequest {
    /// What was asked, as command-line words, for the manifest. Where the package is written
    /// is not part of what it holds: it is left out, so the same input gives the same package
    /// wherever it is written.
    pub fn recorded_options(&self) -> Vec<String> {
        let mut out = vec!["pack".to_string()];
        out.extend(self.inputs.iter().map(|p| p.to_string_lossy().into_owned()));
        let mut flag = |name: &str, value: &str| {
            out.push(format!("--{name}"));
            out.push(value.to_string());
        };
        flag("thumbnails", self.thumbnails.name());
        flag("compression", self.compression.name());
        let f = &self.filters;
        for (name, values) in [
            ("patient", &f.patients),
            ("study", &f.studies),
            ("series", &f.series),
            ("modality", &f.modalities),
            ("exclude-modality", &f.exclude_modalities),
            ("accession", &f.accessions),
        ] {
            for v in values {
                flag(name, v);
            }
        }
        for (name, value) in [("since", &f.since), ("until", &f.until)] {
            if let Some(v) = value {
                flag(name, v);
            }
        }
        if self.force {
            out.push("--force".into());
        }
        if self.allow_multiple_patients {
            out.push("--allow-multiple-patients".into());
        }
        out
    }
}

/// What `pack` made: the package's report and the survey it was made from.
#[derive(Debug)]
pub struct Packed {
    pub survey: Survey,
    pub report: PackReport,
}

impl Packed {
    /// True when some DICOM input is not in the package (unusable, or failed to copy).
    pub fn incomplete(&self) -> bool {
        self.survey.incomplete() || !self.report.failed.is_empty()
    }

    pub fn exit(&self) -> Exit {
        if self.incomplete() {
            Exit::Incomplete
        } else {
            Exit::Ok
        }
    }
}

pub fn pack(
    req: &PackRequest,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<Packed, CommandError> {
    req.filters.dates()?;
    // The copy into the package reads, hashes and checks every byte: the survey needs only
    // the headers.
    let (survey, left_out) =
        survey_selected(&req.inputs, Pass::Header, &req.filters, progress, cancel)?;
    if survey.catalog.instance_count() == 0 {
        return Err(CommandError::NoImages(Box::new(survey)));
    }
    let identities = match select::check_one_patient(&survey.catalog, req.allow_multiple_patients) {
        Ok(ids) => ids,
        Err(refusal) => {
            return Err(CommandError::SeveralPatients {
                refusal,
                catalog: Box::new(survey.catalog),
            });
        }
    };
    let mut warnings = survey.warnings.clone();
    if identities.len() > 1 {
        warnings.push(format!(
            "this package holds {} patient identities, on purpose (--allow-multiple-patients)",
            identities.len()
        ));
    }
    let output = Output {
        path: req
            .output
            .clone()
            .unwrap_or_else(|| select::default_package_name(&survey.catalog, Path::new("."))),
        replace: req.force,
    };
    let opts = PackOptions {
        thumbnails: req.thumbnails,
        source_date_epoch: req.source_date_epoch,
        compression: req.compression,
        recorded_options: req.recorded_options(),
    };
    let notes = package::Notes {
        sources: provenance(&req.inputs),
        identities,
        left_out,
        skipped: survey.skipped.clone(),
        ignored: survey.ignored.clone(),
        warnings,
    };
    // The previews are drawn first, spooled beside the package, and streamed into it.
    progress.begin(Stage::Drawing);
    progress.total(survey.catalog.series_count() as u64);
    let tick = || progress.tick();
    let previews =
        package::render_previews(&survey.catalog, req.thumbnails, &output, &tick, cancel);
    progress.end();
    let previews = previews?;
    progress.begin(Stage::Packing);
    progress.total(survey.catalog.instance_count() as u64);
    let written = package::write(
        &survey.catalog,
        notes,
        &previews,
        &output,
        &opts,
        &|| progress.tick(),
        cancel,
    );
    progress.end();
    Ok(Packed {
        survey,
        report: written?,
    })
}

/// Where the images came from: each input as given, with its disc's volume label when one
/// can be read.
fn provenance(inputs: &[PathBuf]) -> Vec<SourceInput> {
    inputs
        .iter()
        .map(|p| SourceInput {
            path: p.display().to_string(),
            volume_label: crate::platform::volume_label(p),
        })
        .collect()
}

/// `verify`: check a package (a .zip or an extracted folder).
#[derive(Debug, Clone)]
pub struct VerifyRequest {
    pub package: PathBuf,
}

/// The verdict's exit code: failed verification is [`Exit::Failed`].
pub fn verdict_exit(v: &Verdict) -> Exit {
    if v.ok { Exit::Ok } else { Exit::Failed }
}

/// Verification runs to its end: `progress` and `cancel` are not consulted yet.
pub fn verify(
    req: &VerifyRequest,
    _progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<Verdict, CommandError> {
    exists(&req.package)?;
    if cancel.is_cancelled() {
        return Err(CommandError::Interrupted);
    }
    Ok(verify::verify_path(&req.package))
}

/// `extract`: verify a package, then unpack it into a folder.
#[derive(Debug, Clone)]
pub struct ExtractRequest {
    pub package: PathBuf,
    /// The folder to create (or an empty one).
    pub dest: PathBuf,
    /// Write into a folder that is not empty, replacing files of the same name.
    pub force: bool,
}

/// Extraction runs to its end: `progress` and `cancel` are not consulted yet.
pub fn extract(
    req: &ExtractRequest,
    _progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<Extracted, CommandError> {
    exists(&req.package)?;
    if cancel.is_cancelled() {
        return Err(CommandError::Interrupted);
    }
    Ok(extract::extract(&req.package, &req.dest, req.force)?)
}

fn exists(path: &Path) -> Result<(), CommandError> {
    if path.exists() {
        Ok(())
    } else {
        Err(CommandError::NoSuchPath(path.to_path_buf()))
    }
}

/// Surveys the inputs and applies the selection; the catalog in the survey is the selected one.
fn survey_selected(
    inputs: &[PathBuf],
    pass: Pass,
    filters: &Filters,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<(Survey, Vec<String>), CommandError> {
    progress.begin(Stage::Reading);
    let surveyed = survey::survey(inputs, pass, &|n| progress.total(n as u64), &|| {
        progress.tick()
    });
    progress.end();
    let mut s = surveyed?;
    if cancel.is_cancelled() {
        return Err(CommandError::Interrupted);
    }
    if filters.is_empty() || s.catalog.instance_count() == 0 {
        return Ok((s, Vec::new()));
    }
    let selection = select::select(&s.catalog, filters)?;
    s.catalog = selection.catalog;
    Ok((s, selection.left_out))
}
