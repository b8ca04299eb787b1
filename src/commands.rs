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
use crate::medium::{self, Medium, MediumChoice};
use crate::package::{self, Compression, Output, PackError, PackOptions, PackReport, Thumbnails};
use crate::passphrase::{Passphrase, PassphraseError};
use crate::read_plan::{Keep, Spool};
use crate::scan::Pass;
use crate::select::{self, Filters, SelectError, SeveralPatients};
use crate::survey::{self, Survey};
use crate::verify::{self, Verdict};
use crate::volumes::{self, VolumeError};
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
    /// Sending the instances to a PACS.
    Sending,
}

impl Stage {
    /// What a progress display calls it.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Reading => "Reading",
            Stage::Drawing => "Drawing",
            Stage::Packing => "Packing",
            Stage::Sending => "Sending",
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
    /// While reading: one more object was found (a front end can list studies before the
    /// whole disc is read).
    fn found(&self, _instance: &crate::scan::Instance) {}
    /// On a slow medium, how far the reading of the disc got (bytes, rate, time left): the
    /// drive's terms, which say more there than files do.
    fn disc(&self, _reading: crate::read_plan::Reading) {}
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
    #[error(transparent)]
    Ui(#[from] crate::ui::UiError),
    #[error(transparent)]
    Passphrase(#[from] PassphraseError),
    #[error(transparent)]
    Volume(#[from] VolumeError),
    #[error(transparent)]
    Send(#[from] crate::send::SendError),
}

impl CommandError {
    pub fn exit(&self) -> Exit {
        match self {
            CommandError::NoSuchPath(_)
            | CommandError::Input(_)
            | CommandError::Select(_)
            | CommandError::SeveralPatients { .. }
            | CommandError::Pack(PackError::Exists(_) | PackError::EncryptedImage)
            | CommandError::Passphrase(_)
            | CommandError::Volume(_)
            | CommandError::Extract(
                ExtractError::NotEmpty(_) | ExtractError::Exists(_) | ExtractError::InTheWay(_),
            ) => Exit::Usage,
            CommandError::NoImages(_)
            | CommandError::Pack(_)
            | CommandError::Extract(_)
            | CommandError::Interrupted
            | CommandError::Ui(_) => Exit::Failed,
            CommandError::Send(e) if e.is_usage() => Exit::Usage,
            CommandError::Send(_) => Exit::Failed,
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
    /// How to read the inputs: decided from their medium, or as asked.
    pub medium: MediumChoice,
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
    // On a slow medium the directory files are the only thing read twice (the cross-check):
    // their copies go to a spool in the temporary folder.
    let slow = medium::judge(&req.inputs, req.medium).medium == Medium::Slow;
    let spool = slow
        .then(|| Spool::in_dir(&std::env::temp_dir(), Keep::DirectoryFiles).ok())
        .flatten();
    let read = Read {
        pass,
        slow,
        spool: spool.as_ref(),
    };
    let (survey, left_out) = survey_selected(&req.inputs, &read, &req.filters, progress, cancel)?;
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
    /// ZIP or disc image; `None`: as the output's name says (`.iso`), else a ZIP.
    pub container: Option<package::Container>,
    /// Encrypt the package under this passphrase (see [`passphrase_for`]).
    pub passphrase: Option<Passphrase>,
    /// The passphrase was made here: the outcome shows it, once.
    pub show_passphrase: bool,
    /// Split into volumes of at most this many bytes (`NAME-1-of-3.zip`, …).
    pub volume_size: Option<u64>,
    /// How to read the inputs: decided from their medium, or as asked. Not recorded: the
    /// package is the same either way.
    pub medium: MediumChoice,
}

/// Where an encrypted package's passphrase comes from, as the user asked.
#[derive(Debug, Clone, Default)]
pub struct PassphraseSource {
    /// `--passphrase-file`.
    pub file: Option<PathBuf>,
    /// `--passphrase generate`.
    pub generate: bool,
    /// A value given on the command line other than `generate`: refused.
    pub on_command_line: bool,
    /// A person is at a terminal and can be asked.
    pub terminal: bool,
    /// Asked for a new package: typed twice.
    pub confirm: bool,
}

/// The passphrase from where it was asked for: a file, `DICOMPACK_PASSPHRASE`, made of words,
/// or typed at the terminal (in this order). `Ok(None)`: none was asked for and none can be
/// asked. The second value says it was made here (to be shown to the sender once).
pub fn passphrase_for(src: &PassphraseSource) -> Result<Option<(Passphrase, bool)>, CommandError> {
    if src.on_command_line {
        return Err(PassphraseError::OnCommandLine.into());
    }
    if let Some(f) = &src.file {
        return Ok(Some((Passphrase::from_file(f)?, false)));
    }
    if src.generate {
        return Ok(Some((Passphrase::generate()?, true)));
    }
    if let Some(p) = Passphrase::from_env()? {
        return Ok(Some((p, false)));
    }
    if src.terminal {
        return Ok(Some((Passphrase::ask(src.confirm)?, false)));
    }
    Ok(None)
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
        if self.passphrase.is_some() {
            // That it is encrypted; never with what.
            out.push("--encrypt".into());
        }
        out
    }
}

/// What `pack` made: the package's report and the survey it was made from.
#[derive(Debug)]
pub struct Packed {
    pub survey: Survey,
    pub report: PackReport,
    /// A passphrase made for this package, to show the sender once.
    pub generated_passphrase: Option<Passphrase>,
    /// When split into volumes: volumes 2, 3, … (`report` is volume 1).
    pub more_volumes: Vec<PackReport>,
}

impl Packed {
    /// True when some DICOM input is not in the package (unusable, or failed to copy).
    pub fn incomplete(&self) -> bool {
        self.survey.incomplete()
            || !self.report.failed.is_empty()
            || self.more_volumes.iter().any(|r| !r.failed.is_empty())
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
    // the headers. On a slow medium the survey reads every byte once, in disc order, into a
    // spool beside the package, and everything after reads the spool.
    let slow = medium::judge(&req.inputs, req.medium).medium == Medium::Slow;
    let spool_dir = match req.output.as_deref().and_then(Path::parent) {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let spool = slow
        .then(|| Spool::in_dir(&spool_dir, Keep::Everything).ok())
        .flatten();
    let read = Read {
        pass: Pass::Header,
        slow,
        spool: spool.as_ref(),
    };
    let (survey, left_out) = survey_selected(&req.inputs, &read, &req.filters, progress, cancel)?;
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
    let container = req
        .container
        .or_else(|| req.output.as_deref().map(package::Container::for_path))
        .unwrap_or_default();
    let path = match &req.output {
        Some(p) => p.clone(),
        // An encrypted package's name says nothing of what it holds.
        None if req.passphrase.is_some() => anonymous_name(Path::new("."), container),
        None => select::default_package_name(&survey.catalog, Path::new("."))
            .with_extension(container.extension()),
    };
    let output = Output {
        path,
        replace: req.force,
    };
    let opts = PackOptions {
        thumbnails: req.thumbnails,
        source_date_epoch: req.source_date_epoch,
        compression: req.compression,
        recorded_options: req.recorded_options(),
        container,
        passphrase: req.passphrase.clone(),
        volume: None,
    };
    let notes = package::Notes {
        sources: provenance(&req.inputs),
        identities,
        left_out,
        skipped: survey.skipped.clone(),
        ignored: survey.ignored.clone(),
        warnings,
    };
    let plan = match req.volume_size {
        Some(size) => Some(volumes::plan(
            &survey.catalog,
            size,
            container == package::Container::Iso,
        )?),
        None => None,
    }
    .filter(|p| p.volumes.len() > 1);
    let generated_passphrase = req.passphrase.clone().filter(|_| req.show_passphrase);
    let Some(plan) = plan else {
        let report = write_one(&survey.catalog, notes, &output, &opts, progress, cancel)?;
        return Ok(Packed {
            survey,
            report,
            generated_passphrase,
            more_volumes: Vec::new(),
        });
    };
    let count = plan.volumes.len();
    let outputs: Vec<Output> = (1..=count)
        .map(|n| Output {
            path: volumes::volume_path(&output.path, n, count),
            replace: req.force,
        })
        .collect();
    // Every name is checked before the first volume is written: no half set.
    if let Some(taken) = outputs.iter().find(|o| o.path.exists() && !o.replace) {
        return Err(PackError::Exists(taken.path.clone()).into());
    }
    let set = volumes::new_set_uid();
    let mut reports = Vec::with_capacity(count);
    for (n, (catalog, out)) in plan.volumes.iter().zip(&outputs).enumerate() {
        let mut o = opts.clone();
        o.volume = Some(volumes::VolumeEntry {
            set: set.clone(),
            number: n + 1,
            count,
            set_instances: survey.catalog.instance_count(),
            holds: plan.holds.clone(),
        });
        reports.push(write_one(
            catalog,
            notes.clone(),
            out,
            &o,
            progress,
            cancel,
        )?);
    }
    let mut reports = reports.into_iter();
    let report = reports.next().ok_or(PackError::Empty)?;
    Ok(Packed {
        survey,
        report,
        generated_passphrase,
        more_volumes: reports.collect(),
    })
}

/// Draws the previews of one package (spooled beside it) and writes it.
fn write_one(
    catalog: &Catalog,
    notes: package::Notes,
    output: &Output,
    opts: &PackOptions,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<PackReport, CommandError> {
    progress.begin(Stage::Drawing);
    progress.total(catalog.series_count() as u64);
    let tick = || progress.tick();
    let previews = package::render_previews(catalog, opts.thumbnails, output, &tick, cancel);
    progress.end();
    let previews = previews?;
    progress.begin(Stage::Packing);
    progress.total(catalog.instance_count() as u64);
    let written = package::write(
        catalog,
        notes,
        &previews,
        output,
        opts,
        &|| progress.tick(),
        cancel,
    );
    progress.end();
    Ok(written?)
}

/// `IMAGES.zip`, or `IMAGES-2.zip`… when taken: a name with nothing of the patient.
fn anonymous_name(dir: &Path, container: package::Container) -> PathBuf {
    let ext = container.extension();
    (1..10_000)
        .map(|n| match n {
            1 => dir.join(format!("IMAGES.{ext}")),
            n => dir.join(format!("IMAGES-{n}.{ext}")),
        })
        .find(|p| !p.exists())
        .unwrap_or_else(|| dir.join(format!("IMAGES.{ext}")))
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
    /// Opens an encrypted package.
    pub passphrase: Option<Passphrase>,
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
    Ok(verify::verify_path_with(
        &req.package,
        req.passphrase.as_ref(),
    ))
}

/// `extract`: verify a package, then unpack it into a folder.
#[derive(Debug, Clone)]
pub struct ExtractRequest {
    pub package: PathBuf,
    /// The folder to create (or an empty one).
    pub dest: PathBuf,
    /// Write into a folder that is not empty, replacing files of the same name.
    pub force: bool,
    /// Opens an encrypted package.
    pub passphrase: Option<Passphrase>,
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
    Ok(extract::extract_with(
        &req.package,
        &req.dest,
        req.force,
        req.passphrase.as_ref(),
    )?)
}

/// `verify` of every volume of a set: each one, then the set as a whole.
pub fn verify_set(
    packages: &[PathBuf],
    passphrase: Option<&Passphrase>,
    cancel: &Cancel,
) -> Result<volumes::SetVerdict, CommandError> {
    let mut verdicts = Vec::with_capacity(packages.len());
    for p in packages {
        exists(p)?;
        if cancel.is_cancelled() {
            return Err(CommandError::Interrupted);
        }
        verdicts.push(volumes::VolumeVerdict {
            path: p.display().to_string(),
            verdict: verify::verify_path_with(p, passphrase),
        });
    }
    Ok(volumes::check_set(verdicts))
}

/// Whether the package at `path` is encrypted (and so needs a passphrase to be read).
pub fn is_encrypted(path: &Path) -> bool {
    let mut problems = Vec::new();
    verify::Package::open(path).is_ok_and(|mut p| {
        p.entries(&mut problems);
        problems
            .iter()
            .any(|p| matches!(p, verify::Problem::PassphraseNeeded))
    })
}

fn exists(path: &Path) -> Result<(), CommandError> {
    if path.exists() {
        Ok(())
    } else {
        Err(CommandError::NoSuchPath(path.to_path_buf()))
    }
}

/// How a command's survey reads its inputs.
struct Read<'a> {
    pass: Pass,
    /// The medium is slow: read in disc order ([`crate::read_plan`]).
    slow: bool,
    spool: Option<&'a Spool>,
}

/// Surveys the inputs and applies the selection; the catalog in the survey is the selected one.
fn survey_selected(
    inputs: &[PathBuf],
    read: &Read<'_>,
    filters: &Filters,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<(Survey, Vec<String>), CommandError> {
    progress.begin(Stage::Reading);
    let show = |r| progress.disc(r);
    let how = if read.slow {
        survey::How::Slow {
            spool: read.spool,
            show: &show,
            cancel,
        }
    } else {
        survey::How::Fast
    };
    let surveyed = survey::survey_on(
        inputs,
        read.pass,
        &how,
        &|n| progress.total(n as u64),
        &|s| {
            if let crate::scan::Scanned::Instance(i) = s {
                progress.found(i);
            }
            progress.tick()
        },
    );
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

/// `ui`: the local web page (see [`crate::ui`]), until it is closed or `cancel` is set. The
/// page runs the functions above; `ready` is told the URL once the server listens.
pub fn ui(
    req: &crate::ui::UiRequest,
    ready: &dyn Fn(crate::ui::Ready),
    cancel: &Cancel,
) -> Result<crate::ui::Closed, CommandError> {
    Ok(crate::ui::serve(req, ready, cancel)?)
}

/// `send`: a package (verified first) or a disc or folder (surveyed as `pack` does) → a PACS.
#[derive(Debug, Clone, Default)]
pub struct SendRequest {
    /// One package (a .zip or an extracted folder), or discs and folders.
    pub inputs: Vec<PathBuf>,
    /// `AET@HOST:PORT` or an `http://`/`https://` DICOMweb base URL.
    pub to: String,
    pub calling_aet: String,
    /// Connections at once (at least 1).
    pub jobs: usize,
    /// Where the receipt goes; `None`: beside the source.
    pub receipt: Option<PathBuf>,
    pub connect_timeout: std::time::Duration,
    pub timeout: std::time::Duration,
    pub max_pdu: u32,
    /// The name of an environment variable holding `USER:PASSWORD` or `Bearer TOKEN`.
    pub credentials_env: Option<String>,
    /// A file whose first line holds `USER:PASSWORD` or `Bearer TOKEN`.
    pub credentials_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    pub allow_multiple_patients: bool,
    pub filters: Filters,
    pub identity: crate::send::reconcile::Asked,
}

/// What `send` did, and where the receipt is.
#[derive(Debug)]
pub struct SendOutcome {
    pub destination: crate::send::Destination,
    pub receipt: PathBuf,
    pub sent: crate::send::Sent,
    /// The package's verdict, when the source was a package.
    pub verdict: Option<Verdict>,
    /// The survey, when the source was a disc or folder.
    pub survey: Option<Survey>,
}

impl SendOutcome {
    pub fn exit(&self) -> Exit {
        let stored = self.sent.stored();
        if stored == self.sent.outcomes.len() {
            Exit::Ok
        } else if stored == 0 {
            Exit::Failed
        } else {
            Exit::Incomplete
        }
    }
}

/// Whether `path` is a package of ours (a ZIP, or a folder with the checksum list, manifest
/// and DICOMDIR at its root) rather than a disc or folder of DICOM files.
fn is_package(path: &Path) -> bool {
    use crate::package::names::{CHECKSUMS, DICOMDIR, MANIFEST};
    if path.is_dir() {
        [CHECKSUMS, MANIFEST, DICOMDIR]
            .iter()
            .all(|n| path.join(n).is_file())
    } else {
        let mut magic = [0u8; 4];
        std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
            .is_ok()
            && magic == *b"PK\x03\x04"
    }
}

pub fn send(
    req: &SendRequest,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<SendOutcome, CommandError> {
    use crate::send::{self, Destination, Receipt, SendError};
    let destination = Destination::parse(&req.to).map_err(SendError::from)?;
    send::dest::check_ae_title(&req.calling_aet).map_err(SendError::from)?;
    let credentials = match (&req.credentials_env, &req.credentials_file) {
        (Some(_), Some(_)) => {
            return Err(SendError::Usage(
                "give --credentials-env or --credentials-file, not both".into(),
            )
            .into());
        }
        (Some(var), None) => Some(send::credentials_from_env(var)?),
        (None, Some(file)) => Some(send::credentials_from_file(file)?),
        (None, None) => None,
    };
    for p in &req.inputs {
        exists(p)?;
    }
    let first = req.inputs.first().ok_or_else(|| {
        SendError::Usage("nothing to send: give a package, disc or folder".into())
    })?;
    let package = req.inputs.len() == 1 && is_package(first);
    if package && !req.filters.is_empty() {
        return Err(SendError::Usage(
            "a package is sent whole: --patient, --study, --series and the other filters are for discs and folders".into(),
        )
        .into());
    }
    let (source, verdict, survey) = if package {
        let (source, verdict) = send::Source::package(first).map_err(SendError::from)?;
        (source, Some(verdict), None)
    } else {
        req.filters.dates()?;
        // Headers only, the parallel way: `send` reads each file again as it sends it (the
        // slow-medium read plan, which spools what it read, is `pack`'s; not used here yet).
        let read = Read {
            pass: Pass::Header,
            slow: false,
            spool: None,
        };
        let (survey, _left_out) =
            survey_selected(&req.inputs, &read, &req.filters, progress, cancel)?;
        if survey.catalog.instance_count() == 0 {
            return Err(CommandError::NoImages(Box::new(survey)));
        }
        // Reconciliation gives each patient an identity on purpose: the rule is then its own.
        if req.identity.is_empty()
            && let Err(refusal) =
                select::check_one_patient(&survey.catalog, req.allow_multiple_patients)
        {
            return Err(CommandError::SeveralPatients {
                refusal,
                catalog: Box::new(survey.catalog),
            });
        }
        (send::Source::catalog(&survey.catalog), None, Some(survey))
    };
    let mut patients: Vec<String> = source.items.iter().map(|i| i.patient_id.clone()).collect();
    patients.sort();
    patients.dedup();
    let reconciliation = req.identity.resolve(&patients).map_err(SendError::from)?;
    let receipt_path = req
        .receipt
        .clone()
        .unwrap_or_else(|| send::receipt::default_path(first));
    let mut receipt = match Receipt::load(&receipt_path, &destination).map_err(SendError::from)? {
        Some(r) => r,
        None => Receipt::new(
            first.display().to_string(),
            &destination,
            req.calling_aet.clone(),
        ),
    };
    let opts = send::Options {
        destination: destination.clone(),
        calling_aet: req.calling_aet.clone(),
        jobs: req.jobs.max(1),
        connect_timeout: req.connect_timeout,
        timeout: req.timeout,
        max_pdu: req.max_pdu,
        credentials,
        ca_file: req.ca_file.clone(),
        reconciliation,
    };
    progress.begin(Stage::Sending);
    progress.total(
        source
            .items
            .iter()
            .filter(|i| !receipt.is_stored(&i.sop_instance_uid))
            .count() as u64,
    );
    let sent = send::send(
        &source,
        &opts,
        &mut receipt,
        &receipt_path,
        &|| progress.tick(),
        cancel,
    );
    progress.end();
    Ok(SendOutcome {
        destination,
        receipt: receipt_path,
        sent: sent.map_err(SendError::from)?,
        verdict,
        survey,
    })
}
