//! The `dicompack` command line: argument parsing, progress bars, printing and exit codes.
//! All the work is in the library.

#[global_allocator]
static ALLOCATOR: dicompack::alloc::Allocator = dicompack::alloc::Allocator;

use clap::{Parser, Subcommand};
use dicompack::package::{self, Compression, PackOptions, Thumbnails};
use dicompack::scan::Pass;
use dicompack::select::{self, Filters};
use dicompack::survey::{self, Survey};
use dicompack::{catalog, report, verify};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

/// Everything went well.
const OK: u8 = 0;
/// Verification failed, or no package could be made.
const FAILED: u8 = 1;
/// Usage or input error; nothing was written.
const USAGE: u8 = 2;
/// Done, but some DICOM input could not be used (listed in the report).
const INCOMPLETE: u8 = 3;

#[derive(Parser)]
#[command(
    name = "dicompack",
    version,
    about = "Pack imaging discs into checksummed, verifiable DICOM transfer packages",
    after_help = "Exit codes: 0 all good; 1 verification failed or no package made; \
                  2 usage or input error, nothing written; 3 done, but some DICOM input \
                  could not be used (listed in the report)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

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

impl Selection {
    fn filters(&self) -> Result<Filters, select::SelectError> {
        Ok(Filters {
            patients: self.patients.clone(),
            studies: self.studies.clone(),
            series: self.series.clone(),
            modalities: self.modalities.clone(),
            exclude_modalities: self.exclude_modalities.clone(),
            since: self.since.as_deref().map(select::parse_date).transpose()?,
            until: self.until.as_deref().map(select::parse_date).transpose()?,
            accessions: self.accessions.clone(),
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Show what is on a disc or in a folder: patients, studies, series, and any problem.
    Scan {
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
    },
    /// Build a checksummed transfer package (a ZIP holding a DICOM file-set).
    Pack {
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
        #[arg(long, value_enum, default_value_t = Thumbnails::Series)]
        thumbnails: Thumbnails,
        /// Do not draw previews or write the pages (INDEX.HTM, IHE_PDI/): same as --thumbnails none.
        #[arg(long, conflicts_with = "thumbnails")]
        no_thumbnails: bool,
        /// How to compress images that are not compressed already.
        #[arg(long, value_enum, default_value_t = Compression::Fast)]
        compression: Compression,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        selection: Selection,
    },
    /// Check a package (a .zip or an extracted folder): every file, checksum and reference.
    Verify {
        package: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Verify a package, then unpack it into a folder (refused if verification fails).
    Extract {
        package: PathBuf,
        /// The folder to create (or an empty one).
        dest: PathBuf,
        /// Write into a folder that is not empty, replacing files of the same name.
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    // Like every Unix filter: when the reader of our output goes away (`| head`), stop quietly
    // instead of failing on the next write.
    // SAFETY: restoring the default disposition of one signal, before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let _ = ctrlc::set_handler(|| {
        package::INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let code = match cli.command {
        Command::Scan {
            inputs,
            json,
            read_all,
            selection,
        } => {
            let pass = if read_all { Pass::Whole } else { Pass::Header };
            with_filters(&selection, |f| scan(&inputs, pass, f, json))
        }
        Command::Pack {
            inputs,
            output,
            force,
            allow_multiple_patients,
            compression,
            thumbnails,
            no_thumbnails,
            json,
            selection,
        } => with_filters(&selection, |f| {
            // Where the package is written is not part of what it holds: leave it out, so the
            // same input gives the same package wherever it is written.
            let mut recorded = Vec::new();
            let mut args = std::env::args().skip(1);
            while let Some(a) = args.next() {
                if a == "-o" || a == "--output" {
                    args.next();
                } else if !(a.starts_with("--output=") || a.starts_with("-o") && a.len() > 2) {
                    recorded.push(a);
                }
            }
            pack(
                &inputs,
                f,
                output,
                PackOptions {
                    output: PathBuf::new(),
                    thumbnails: if no_thumbnails {
                        Thumbnails::None
                    } else {
                        thumbnails
                    },
                    force,
                    source_date_epoch: package::source_date_epoch_from_env(),
                    compression,
                    recorded_options: recorded,
                },
                allow_multiple_patients,
                json,
            )
        }),
        Command::Verify { package, json } => verify_cmd(&package, json),
        Command::Extract {
            package,
            dest,
            force,
            json,
        } => extract_cmd(&package, &dest, force, json),
    };
    ExitCode::from(code)
}

/// A progress bar on stderr when a person is watching, nothing otherwise.
fn progress(message: &'static str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0).with_message(message);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} files ({eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn run_survey(inputs: &[PathBuf], pass: Pass) -> Result<Survey, u8> {
    let bar = progress("Reading");
    let result = survey::survey(inputs, pass, &|n| bar.set_length(n as u64), &|| bar.inc(1));
    bar.finish_and_clear();
    result.map_err(|e| {
        eprintln!("dicompack: {e}");
        USAGE
    })
}

/// Streams the document to stdout (a scan of 100,000 files is tens of megabytes of JSON).
fn print_json(value: &impl serde::Serialize) {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut out, value)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush());
    if let Err(e) = written {
        eprintln!("dicompack: cannot write JSON: {e}");
    }
}

fn with_filters(selection: &Selection, run: impl FnOnce(&Filters) -> u8) -> u8 {
    match selection.filters() {
        Ok(f) => run(&f),
        Err(e) => {
            eprintln!("dicompack: {e}");
            USAGE
        }
    }
}

/// Surveys the inputs and applies the selection; the catalog in the survey is the selected one.
fn survey_selected(
    inputs: &[PathBuf],
    pass: Pass,
    filters: &Filters,
) -> Result<(Survey, Vec<String>), u8> {
    let mut s = run_survey(inputs, pass)?;
    if filters.is_empty() || s.catalog.instance_count() == 0 {
        return Ok((s, Vec::new()));
    }
    match select::select(&s.catalog, filters) {
        Ok(sel) => {
            s.catalog = sel.catalog;
            Ok((s, sel.left_out))
        }
        Err(e) => {
            eprintln!("dicompack: {e}");
            Err(USAGE)
        }
    }
}

fn scan(inputs: &[PathBuf], pass: Pass, filters: &Filters, json: bool) -> u8 {
    let (s, left_out) = match survey_selected(inputs, pass, filters) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if json {
        print_json(&report::survey_json(&s, &left_out));
    } else {
        if s.catalog.instance_count() == 0 {
            println!("No DICOM images were found.");
        }
        print!("{}", report::tree(&s.catalog));
        let left = report::leftovers(&s);
        if !left.is_empty() {
            println!();
            print!("{left}");
        }
        if !left_out.is_empty() {
            println!();
            println!("Left out by the selection: {}", left_out.len());
            for l in &left_out {
                println!("  {l}");
            }
        }
        println!();
        println!("{}", report::survey_summary(&s));
    }
    if s.incomplete() { INCOMPLETE } else { OK }
}

fn pack(
    inputs: &[PathBuf],
    filters: &Filters,
    output: Option<PathBuf>,
    mut opts: PackOptions,
    allow_multiple: bool,
    json: bool,
) -> u8 {
    // The copy into the package reads, hashes and checks every byte: the survey needs only
    // the headers.
    let (s, left_out) = match survey_selected(inputs, Pass::Header, filters) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if s.catalog.instance_count() == 0 {
        eprint!("{}", report::leftovers(&s));
        eprintln!("dicompack: no DICOM images were found, so no package was made");
        return FAILED;
    }
    let identities = select::identities(&s.catalog);
    if identities.len() > 1 && !allow_multiple {
        eprintln!(
            "dicompack: these images may belong to {} different people; nothing was written.",
            identities.len()
        );
        for p in &s.catalog.patients {
            eprintln!(
                "  {}  ID {}  born {}",
                p.name(),
                catalog::display_id(&p.key),
                p.birth_dates
                    .iter()
                    .map(|b| report::date(b))
                    .collect::<Vec<_>>()
                    .join(" and ")
            );
            for st in &p.studies {
                eprintln!(
                    "      [{}] {}  {}  {}",
                    st.index,
                    report::date(&st.date),
                    st.modalities().join("/"),
                    st.description
                );
            }
        }
        for w in &s.catalog.identity_warnings {
            eprintln!("  note: {w}");
        }
        eprintln!(
            "Choose one with --patient ID (or --study N), or add --allow-multiple-patients if they must travel together."
        );
        return USAGE;
    }
    let mut warnings = s.warnings.clone();
    if identities.len() > 1 {
        warnings.push(format!(
            "this package holds {} patient identities, on purpose (--allow-multiple-patients)",
            identities.len()
        ));
    }
    opts.output = output
        .unwrap_or_else(|| select::default_package_name(&s.catalog, std::path::Path::new(".")));
    let sources = inputs
        .iter()
        .map(|p| dicompack::manifest::SourceInput {
            path: p.display().to_string(),
            volume_label: dicompack::discover::volume_label(p),
        })
        .collect();
    let notes = package::Notes {
        sources,
        identities,
        left_out: left_out.clone(),
        skipped: s.skipped.clone(),
        ignored: s.ignored.clone(),
        warnings,
    };
    let bar = progress("Packing");
    bar.set_length(s.catalog.instance_count() as u64);
    let result = package::write(&s.catalog, notes, &opts, &|| bar.inc(1));
    bar.finish_and_clear();
    let r = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("dicompack: {e}");
            return match e {
                package::PackError::Exists(_) => USAGE,
                _ => FAILED,
            };
        }
    };
    let incomplete = s.incomplete() || !r.failed.is_empty();
    if json {
        print_json(&serde_json::json!({
            "package": r.path,
            "fingerprint": r.fingerprint,
            "size": r.package_size,
            "summary": r.summary,
            "previews": r.previews,
            "placeholders": r.placeholders,
            "render_failures": r.render_failures,
            "skipped": s.skipped.iter().chain(r.failed.iter()).collect::<Vec<_>>(),
            "ignored": s.ignored,
            "warnings": s.warnings,
        }));
    } else {
        let left = report::leftovers(&s);
        if !left.is_empty() {
            eprint!("{left}");
        }
        for f in &r.failed {
            eprintln!("Not packed: {}: {}", f.path.display(), f.reason);
        }
        println!(
            "Packed {} {}, {} series, {} {} into {} ({}).",
            r.summary.studies,
            verify::plural(r.summary.studies, "study", "studies"),
            r.summary.series,
            verify::group_thousands(r.summary.instances),
            verify::plural(r.summary.instances, "image", "images"),
            r.path.display(),
            report::size(r.package_size)
        );
        if incomplete {
            println!(
                "Some DICOM files could not be included: {} (listed above and in MANIFEST.JSN).",
                s.skipped.len() + r.failed.len()
            );
        }
        if r.previews + r.placeholders > 0 {
            println!(
                "Previews: {} series drawn, {} shown as a labelled tile (not an image, or could not be drawn).",
                r.previews, r.placeholders
            );
        }
        for f in &r.render_failures {
            println!("  {f}");
        }
        println!("Fingerprint: {}", r.fingerprint);
    }
    if incomplete { INCOMPLETE } else { OK }
}

fn verify_cmd(path: &std::path::Path, json: bool) -> u8 {
    if !path.exists() {
        eprintln!("dicompack: {}: no such file or folder", path.display());
        return USAGE;
    }
    let v = verify::verify_path(path);
    if json {
        print_json(&v);
    } else {
        println!("{}", v.headline());
        for p in &v.problems {
            println!("  {p}");
        }
    }
    if v.ok { OK } else { FAILED }
}

fn extract_cmd(package: &std::path::Path, dest: &std::path::Path, force: bool, json: bool) -> u8 {
    if !package.exists() {
        eprintln!("dicompack: {}: no such file or folder", package.display());
        return USAGE;
    }
    match dicompack::extract::extract(package, dest, force) {
        Ok(done) => {
            if json {
                print_json(&serde_json::json!({
                    "extracted": done.dest,
                    "files": done.files,
                    "verdict": done.verdict,
                }));
            } else {
                println!("{}", done.verdict.headline());
                println!(
                    "Extracted {} files into {}.",
                    done.files,
                    done.dest.display()
                );
            }
            OK
        }
        Err(e) => {
            if json {
                let verdict = match &e {
                    dicompack::extract::ExtractError::NotVerified(v) => Some(v.as_ref()),
                    _ => None,
                };
                print_json(&serde_json::json!({ "error": e.to_string(), "verdict": verdict }));
            } else if let dicompack::extract::ExtractError::NotVerified(v) = &e {
                println!("{}", v.headline());
                for p in &v.problems {
                    println!("  {p}");
                }
            }
            eprintln!("dicompack: {e}");
            match e {
                dicompack::extract::ExtractError::NotEmpty(_)
                | dicompack::extract::ExtractError::Exists(_)
                | dicompack::extract::ExtractError::InTheWay(_) => USAGE,
                _ => FAILED,
            }
        }
    }
}
