//! The `dicompack` command line: argument parsing, progress bars, printing and exit codes.
//! All the work is in the library ([`dicompack::commands`]).

#[global_allocator]
static ALLOCATOR: dicompack::alloc::Allocator = dicompack::alloc::Allocator;

use clap::Parser;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use dicompack::cancel::Cancel;
use dicompack::commands::{self, CommandError, Exit, Progress, Stage};
use dicompack::commands::{ExtractRequest, PackRequest, ScanRequest, VerifyRequest};
use dicompack::package::{self, Compression, Thumbnails};
use dicompack::report::{self, Shown};
use dicompack::select::Filters;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

/// Which images to take. Study and series numbers are the ones `scan` prints.
#[derive(clap::Args, Debug, Default)]
struct Selection {
    /// Only this patient (Patient ID as `scan` shows it).
    #[arg(long = "patient", value_name = "ID")]
    patients: Vec<String>,
    /// Only this study: its number from `scan`, or its Study Instance UID. Repeatable.
    #[arg(long = "study", value_name = "N|UID")]
    studies: Vec<String>,
    /// Only this series: `study.series` from `scan` (e.g. 2.3), or its UID. Repeatable.
    #[arg(long = "series", value_name = "N.M|UID")]
    series: Vec<String>,
    /// Only these modalities, e.g. MR,CT.
    #[arg(long = "modality", value_delimiter = ',', value_name = "LIST")]
    modalities: Vec<String>,
    /// Leave out these modalities, e.g. SR,PR.
    #[arg(long = "exclude-modality", value_delimiter = ',', value_name = "LIST")]
    exclude_modalities: Vec<String>,
    /// Only studies on or after this date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only studies on or before this date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// Only the study with this accession number. Repeatable.
    #[arg(long = "accession", value_name = "N")]
    accessions: Vec<String>,
}

impl From<Selection> for Filters {
    fn from(s: Selection) -> Filters {
        Filters {
            patients: s.patients,
            studies: s.studies,
            series: s.series,
            modalities: s.modalities,
            exclude_modalities: s.exclude_modalities,
            since: s.since,
            until: s.until,
            accessions: s.accessions,
        }
    }
}

#[derive(Parser)]
#[command(
    name = "dicompack",
    version,
    about = "Pack imaging discs into checksummed, verifiable DICOM transfer packages",
    after_help = commands::EXIT_CODES
)]
enum Command {
    /// Show what is on a disc or in a folder: patients, studies, series, and any problem.
    Scan(ScanArgs),
    /// Build a checksummed transfer package (a ZIP holding a DICOM file-set).
    Pack(PackArgs),
    /// Check a package (a .zip or an extracted folder): every file, checksum and reference.
    Verify {
        package: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Verify a package, then unpack it into a folder (refused if verification fails).
    Extract(ExtractArgs),
}

#[derive(clap::Args)]
struct ExtractArgs {
    package: PathBuf,
    /// The folder to create (or an empty one).
    dest: PathBuf,
    /// Write into a folder that is not empty, replacing files of the same name.
    #[arg(long)]
    force: bool,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct ScanArgs {
    /// Folders, disc mount points, DICOMDIR files or single files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Print one JSON document on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// Read every byte of every file, not only the headers: finds unreadable places on a
    /// damaged disc, and gives each file's SHA-256. Slower.
    #[arg(long)]
    read_all: bool,
    #[command(flatten)]
    selection: Selection,
}

#[derive(clap::Args)]
struct PackArgs {
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Where to write the package (a .zip file). Default: a name from the patient and
    /// the study dates, in the current folder, never replacing a file.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
    /// Allow images of more than one patient in one package (recorded in the manifest).
    #[arg(long)]
    allow_multiple_patients: bool,
    /// Previews for the pages: one per series, or also one for every image.
    #[arg(long, value_parser = named(Thumbnails::ALL), default_value_t = Thumbnails::Series)]
    thumbnails: Thumbnails,
    /// Do not draw previews or write the pages (INDEX.HTM, IHE_PDI/): same as --thumbnails none.
    #[arg(long, conflicts_with = "thumbnails")]
    no_thumbnails: bool,
    /// How to compress images that are not compressed already.
    #[arg(long, value_parser = named(Compression::ALL), default_value_t = Compression::Fast)]
    compression: Compression,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    selection: Selection,
}

/// A clap parser for one of the library's named values (`Compression::ALL`, …).
fn named<T>(all: &'static [(T, &'static str, &'static str)]) -> impl TypedValueParser<Value = T>
where
    T: std::str::FromStr<Err = package::UnknownName> + Clone + Send + Sync + 'static,
{
    let values = all.iter().map(|(_, n, h)| PossibleValue::new(*n).help(*h));
    PossibleValuesParser::new(values).try_map(|s| s.parse::<T>())
}

fn main() -> ExitCode {
    // Like every Unix filter: when the reader of our output goes away (`| head`), stop quietly
    // instead of failing on the next write.
    dicompack::platform::quiet_broken_pipe();
    let command = Command::parse();
    let cancel = Cancel::new();
    let on_signal = cancel.clone();
    let _ = ctrlc::set_handler(move || on_signal.cancel());
    let bars = Bars(Mutex::new(ProgressBar::hidden()));
    let exit = match command {
        Command::Scan(a) => {
            let filters = a.selection.into();
            let req = ScanRequest {
                inputs: a.inputs,
                read_all: a.read_all,
                filters,
            };
            show(commands::scan(&req, &bars, &cancel), a.json)
        }
        Command::Pack(a) => {
            let req = PackRequest {
                inputs: a.inputs,
                output: a.output,
                force: a.force,
                allow_multiple_patients: a.allow_multiple_patients,
                thumbnails: if a.no_thumbnails {
                    Thumbnails::None
                } else {
                    a.thumbnails
                },
                compression: a.compression,
                filters: a.selection.into(),
                source_date_epoch: package::source_date_epoch_from_env(),
            };
            show(commands::pack(&req, &bars, &cancel), a.json)
        }
        Command::Verify { package, json } => show(
            commands::verify(&VerifyRequest { package }, &bars, &cancel),
            json,
        ),
        Command::Extract(a) => {
            let (package, dest, force) = (a.package, a.dest, a.force);
            let req = ExtractRequest {
                package,
                dest,
                force,
            };
            show(commands::extract(&req, &bars, &cancel), a.json)
        }
    };
    ExitCode::from(u8::from(exit))
}

/// Prints the outcome on stdout and stderr and says which exit code it comes to.
fn show(outcome: Result<impl Shown, CommandError>, json: bool) -> Exit {
    let shown: &dyn Shown = outcome.as_ref().map_or_else(|e| e as _, |o| o as _);
    if let Err(e) = report::show(shown, json, &mut std::io::stdout(), &mut std::io::stderr()) {
        eprintln!("dicompack: cannot write the output: {e}");
    }
    shown.exit()
}

/// Progress bars on stderr when a person is watching, nothing otherwise.
struct Bars(Mutex<ProgressBar>);

impl Progress for Bars {
    fn begin(&self, stage: Stage) {
        let style = ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} files ({eta})");
        let bar = match style {
            Ok(style) if std::io::stderr().is_terminal() => ProgressBar::new(0)
                .with_message(stage.label())
                .with_style(style.progress_chars("=> ")),
            _ => ProgressBar::hidden(),
        };
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = bar;
    }
    fn total(&self, steps: u64) {
        self.bar().set_length(steps);
    }
    fn tick(&self) {
        self.bar().inc(1);
    }
    fn end(&self) {
        self.bar().finish_and_clear();
    }
}

impl Bars {
    /// The current stage's bar (a clone shares it).
    fn bar(&self) -> ProgressBar {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
