//! The `dicompack` command line: argument parsing, progress bars, printing and exit codes.
//! All the work is in the library ([`dicompack::commands`]).

#[global_allocator]
static ALLOCATOR: dicompack::alloc::Allocator = dicompack::alloc::Allocator;

use clap::Parser;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use dicompack::cancel::Cancel;
use dicompack::commands::SendRequest;
use dicompack::commands::{self, CommandError, Exit, Progress, Stage};
use dicompack::commands::{ExtractRequest, PackRequest, ScanRequest, VerifyRequest};
use dicompack::medium::MediumChoice;
use dicompack::package::{self, Compression, Thumbnails};
use dicompack::passphrase::Passphrase;
use dicompack::report::{self, Shown};
use dicompack::select::Filters;
use dicompack::send::reconcile::Asked;
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
    /// Check a package (a .zip, an .iso or an extracted folder): every file, checksum and reference.
    Verify {
        /// One package, or every volume of a set (then the set is checked as a whole too).
        #[arg(required = true)]
        packages: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        secret: Secret,
    },
    /// Verify a package, then unpack it into a folder (refused if verification fails).
    Extract(ExtractArgs),
    /// Open the local page in the browser: pack a disc, or check a package, without a terminal.
    /// This is what runs when dicompack is started with no arguments (a double click).
    Ui(UiArgs),
    /// Send a package (verified first) or a disc into a PACS: DICOM C-STORE or DICOMweb STOW-RS.
    Send(Box<SendArgs>),
}

#[derive(clap::Args)]
struct UiArgs {
    /// Do not open a browser: print the page's address (with its secret) on the first line of
    /// stdout.
    #[arg(long)]
    no_browser: bool,
    /// Listen on this address instead of a free port; only 127.0.0.1 is accepted.
    #[arg(long, value_name = "127.0.0.1:PORT")]
    listen: Option<std::net::SocketAddr>,
    /// Stop when the page has been silent (closed) for this many seconds.
    #[arg(long, default_value_t = 150, value_name = "SECONDS", hide = true)]
    idle_exit: u64,
    /// For tests: slow each packing step by this many milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS", hide = true)]
    tick_delay_ms: u64,
}

/// The passphrase of an encrypted package: never on the command line.
#[derive(clap::Args, Default)]
struct Secret {
    /// Read the passphrase from the first line of this file (else DICOMPACK_PASSPHRASE, else
    /// it is asked on the terminal).
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// `generate`: make a strong passphrase of common words, shown once (pack only). A
    /// passphrase itself is never taken here: others on the computer could read it.
    #[arg(long, value_name = "generate")]
    passphrase: Option<String>,
}

impl Secret {
    /// `new`: for a package being made (typed twice, may be generated).
    fn source(&self, new: bool) -> commands::PassphraseSource {
        let generate = self.passphrase.as_deref() == Some("generate");
        commands::PassphraseSource {
            file: self.passphrase_file.clone(),
            generate: generate && new,
            on_command_line: self.passphrase.is_some() && !(generate && new),
            terminal: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
            confirm: new,
        }
    }

    /// The passphrase to open a package with, when one is given; asked on the terminal only
    /// when the package turns out to need it.
    fn to_open(&self, package: &std::path::Path) -> Result<Option<Passphrase>, CommandError> {
        let mut src = self.source(false);
        src.terminal = src.terminal && commands::is_encrypted(package);
        Ok(commands::passphrase_for(&src)?.map(|(p, _)| p))
    }
}

#[derive(clap::Args)]
struct SendArgs {
    /// A package (.zip or extracted folder), or a disc or folder of DICOM files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// AET@HOST:PORT for a PACS (C-STORE), or an http:// or https:// DICOMweb base address
    /// (STOW-RS).
    #[arg(long, value_name = "DEST")]
    to: String,
    /// Our AE title, as the PACS knows us.
    #[arg(long, default_value = "DICOMPACK", value_name = "AET")]
    calling_aet: String,
    /// Connections at once.
    #[arg(long, default_value_t = 2, value_name = "N")]
    jobs: usize,
    /// The receipt: what became of every image. Default: beside the source, its name plus
    /// .receipt.json. Sending again with it sends only what is not stored yet.
    #[arg(long, value_name = "FILE")]
    receipt: Option<PathBuf>,
    /// Seconds to wait for a connection.
    #[arg(long, default_value_t = 10, value_name = "S")]
    connect_timeout: u64,
    /// Seconds the PACS may stay silent (association, each image).
    #[arg(long, default_value_t = 60, value_name = "S")]
    timeout: u64,
    /// The largest PDU we accept, in bytes.
    #[arg(long, default_value_t = 262_144, value_name = "BYTES")]
    max_pdu: u32,
    /// STOW-RS: the environment variable holding USER:PASSWORD or "Bearer TOKEN".
    #[arg(long, value_name = "VAR")]
    credentials_env: Option<String>,
    /// STOW-RS: a file whose first line is USER:PASSWORD or "Bearer TOKEN".
    #[arg(long, value_name = "FILE")]
    credentials_file: Option<PathBuf>,
    /// HTTPS: the certificate authorities to trust (PEM), instead of the usual ones.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// A disc or folder with images of more than one patient may be sent.
    #[arg(long)]
    allow_multiple_patients: bool,
    /// Import reconciliation: the receiving hospital's Patient ID for the patient.
    #[arg(long, value_name = "ID")]
    patient_id: Option<String>,
    /// With --patient-id or --map: the hospital's Issuer of Patient ID.
    #[arg(long, value_name = "ISSUER")]
    issuer: Option<String>,
    /// With reconciliation: the patient's name as the hospital has it, FAMILY^GIVEN.
    #[arg(long, value_name = "NAME")]
    patient_name: Option<String>,
    /// With reconciliation: the birth date as the hospital has it, YYYYMMDD.
    #[arg(long, value_name = "YYYYMMDD")]
    birth_date: Option<String>,
    /// For several patients: OLD_ID=NEW_ID, one per patient. Repeatable.
    #[arg(long = "map", value_name = "OLD=NEW")]
    maps: Vec<String>,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    selection: Selection,
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
    #[command(flatten)]
    secret: Secret,
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
    /// How to read the input: decided from the drive it is on, or as said here.
    #[arg(long, value_parser = named(MediumChoice::ALL), default_value_t = MediumChoice::Auto)]
    medium: MediumChoice,
    #[command(flatten)]
    selection: Selection,
}

#[derive(clap::Args)]
struct PackArgs {
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Where to write the package (a .zip file, or an .iso disc image). Default: a name from
    /// the patient and the study dates (with --encrypt: IMAGES.zip), in the current folder,
    /// never replacing a file.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Write an ISO 9660 disc image to burn on a CD, DVD or BD (as an output named .iso does).
    #[arg(long)]
    iso: bool,
    /// Encrypt every file with AES-256 (opens in 7-Zip, WinZip, Keka). The passphrase comes from
    /// --passphrase-file, DICOMPACK_PASSPHRASE, --passphrase generate, or is asked twice.
    #[arg(long, conflicts_with = "iso")]
    encrypt: bool,
    #[command(flatten)]
    secret: Secret,
    /// Split into volumes of at most this size, each complete on its own (NAME-1-of-3.zip, …):
    /// bytes with K, M or G (650M), or cd (700 MB), dvd (4.7 GB), dvd-dl, bd (25 GB), email (20 MB).
    #[arg(long, value_name = "SIZE", value_parser = |s: &str| dicompack::volumes::parse_size(s))]
    volume_size: Option<u64>,
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
    /// How to read the input: decided from the drive it is on, or as said here.
    #[arg(long, value_parser = named(MediumChoice::ALL), default_value_t = MediumChoice::Auto)]
    medium: MediumChoice,
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
    // Started with no arguments (a double click): the page.
    let command = if std::env::args_os().len() <= 1 {
        Command::parse_from(["dicompack", "ui"])
    } else {
        Command::parse()
    };
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
                medium: a.medium,
            };
            show(commands::scan(&req, &bars, &cancel), a.json)
        }
        Command::Pack(a) => {
            let secret = if a.encrypt {
                match commands::passphrase_for(&a.secret.source(true)) {
                    Ok(Some(s)) => Some(s),
                    Ok(None) => {
                        return finish(show::<commands::Packed>(
                            Err(dicompack::passphrase::PassphraseError::Missing.into()),
                            a.json,
                        ));
                    }
                    Err(e) => return finish(show::<commands::Packed>(Err(e), a.json)),
                }
            } else {
                None
            };
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
                container: a.iso.then_some(package::Container::Iso),
                show_passphrase: secret.as_ref().is_some_and(|s| s.1),
                passphrase: secret.map(|s| s.0),
                volume_size: a.volume_size,
                medium: a.medium,
            };
            show(commands::pack(&req, &bars, &cancel), a.json)
        }
        Command::Verify {
            mut packages,
            json,
            secret,
        } => match secret.to_open(packages.first().map_or(std::path::Path::new(""), |p| p)) {
            Ok(passphrase) if packages.len() == 1 => show(
                commands::verify(
                    &VerifyRequest {
                        package: packages.remove(0),
                        passphrase,
                    },
                    &bars,
                    &cancel,
                ),
                json,
            ),
            Ok(passphrase) => show(
                commands::verify_set(&packages, passphrase.as_ref(), &cancel),
                json,
            ),
            Err(e) => show::<dicompack::verify::Verdict>(Err(e), json),
        },
        Command::Extract(a) => match a.secret.to_open(&a.package) {
            Ok(passphrase) => {
                let (package, dest, force) = (a.package, a.dest, a.force);
                let req = ExtractRequest {
                    package,
                    dest,
                    force,
                    passphrase,
                };
                show(commands::extract(&req, &bars, &cancel), a.json)
            }
            Err(e) => show::<dicompack::extract::Extracted>(Err(e), a.json),
        },
        Command::Ui(a) => {
            let req = dicompack::ui::UiRequest {
                listen: a.listen,
                open_browser: !a.no_browser,
                idle_exit: std::time::Duration::from_secs(a.idle_exit),
                tick_delay: std::time::Duration::from_millis(a.tick_delay_ms),
            };
            show(commands::ui(&req, &ui_ready, &cancel), false)
        }
        Command::Send(a) => {
            let a = *a;
            let secs = std::time::Duration::from_secs;
            let req = SendRequest {
                inputs: a.inputs,
                to: a.to,
                calling_aet: a.calling_aet,
                jobs: a.jobs,
                receipt: a.receipt,
                connect_timeout: secs(a.connect_timeout),
                timeout: secs(a.timeout),
                max_pdu: a.max_pdu,
                credentials_env: a.credentials_env,
                credentials_file: a.credentials_file,
                ca_file: a.ca_file,
                allow_multiple_patients: a.allow_multiple_patients,
                filters: a.selection.into(),
                identity: Asked {
                    patient_id: a.patient_id,
                    issuer: a.issuer,
                    patient_name: a.patient_name,
                    birth_date: a.birth_date,
                    maps: a.maps,
                },
            };
            show(commands::send(&req, &bars, &cancel), a.json)
        }
    };
    finish(exit)
}

fn finish(exit: Exit) -> ExitCode {
    ExitCode::from(u8::from(exit))
}

/// Where the page is: the URL alone on stdout's first line when no browser was opened.
fn ui_ready(r: dicompack::ui::Ready) {
    use std::io::Write as _;
    if r.browser_opened {
        eprintln!(
            "dicompack is open in your browser. If it did not open, go to:\n  {}\nKeep this window open while you use the page; closing the page stops dicompack.",
            r.url
        );
    } else {
        println!("{}", r.url);
        let _ = std::io::stdout().flush();
        eprintln!("Open the address above in your browser. Press Ctrl-C here to stop.");
    }
}

/// Prints the outcome on stdout and stderr and says which exit code it comes to.
fn show<T: Shown>(outcome: Result<T, CommandError>, json: bool) -> Exit {
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
    fn disc(&self, reading: dicompack::read_plan::Reading) {
        let bar = self.bar();
        if bar.is_hidden() {
            return;
        }
        // The first report turns the stage's bar into one in the drive's terms.
        if bar.length() != Some(reading.total) {
            if let Ok(style) = ProgressStyle::with_template("{msg}") {
                bar.set_style(style);
            }
            bar.set_length(reading.total);
        }
        bar.set_position(reading.done);
        bar.set_message(reading.to_string());
    }
}

impl Bars {
    /// The current stage's bar (a clone shares it).
    fn bar(&self) -> ProgressBar {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
