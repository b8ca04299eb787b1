//! The `dicompack` command line: argument parsing, progress bars, printing and exit codes.
//! All the work is in the library.

use clap::{Parser, Subcommand};
use dicompack::package::{self, Compression, PackOptions};
use dicompack::survey::{self, Survey};
use dicompack::{catalog, report, verify};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
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
    },
    /// Build a checksummed transfer package (a ZIP holding a DICOM file-set).
    Pack {
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Where to write the package (a .zip file).
        #[arg(short, long)]
        output: PathBuf,
        /// Replace the output file if it exists.
        #[arg(long)]
        force: bool,
        /// Allow images of more than one patient in one package (recorded in the manifest).
        #[arg(long)]
        allow_multiple_patients: bool,
        /// How to compress images that are not compressed already.
        #[arg(long, value_enum, default_value_t = Compression::Fast)]
        compression: Compression,
        #[arg(long)]
        json: bool,
    },
    /// Check a package (a .zip or an extracted folder): every file, checksum and reference.
    Verify {
        package: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = ctrlc::set_handler(|| {
        package::INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let code = match cli.command {
        Command::Scan { inputs, json } => scan(&inputs, json),
        Command::Pack {
            inputs,
            output,
            force,
            allow_multiple_patients,
            compression,
            json,
        } => {
            let mut recorded: Vec<String> = std::env::args().skip(1).collect();
            recorded.retain(|a| !a.is_empty());
            pack(
                &inputs,
                PackOptions {
                    output,
                    force,
                    source_date_epoch: package::source_date_epoch_from_env(),
                    compression,
                    recorded_options: recorded,
                },
                allow_multiple_patients,
                json,
            )
        }
        Command::Verify { package, json } => verify_cmd(&package, json),
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

fn run_survey(inputs: &[PathBuf]) -> Result<Survey, u8> {
    let bar = progress("Reading");
    let result = survey::survey(inputs, &|n| bar.set_length(n as u64), &|| bar.inc(1));
    bar.finish_and_clear();
    result.map_err(|e| {
        eprintln!("dicompack: {e}");
        USAGE
    })
}

fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("dicompack: cannot write JSON: {e}"),
    }
}

fn scan(inputs: &[PathBuf], json: bool) -> u8 {
    let s = match run_survey(inputs) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if json {
        print_json(&report::survey_json(&s));
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
        println!();
        println!("{}", report::survey_summary(&s));
    }
    if s.incomplete() { INCOMPLETE } else { OK }
}

fn pack(inputs: &[PathBuf], opts: PackOptions, allow_multiple: bool, json: bool) -> u8 {
    let s = match run_survey(inputs) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if s.catalog.instance_count() == 0 {
        eprint!("{}", report::leftovers(&s));
        eprintln!("dicompack: no DICOM images were found, so no package was made");
        return FAILED;
    }
    if s.catalog.patients.len() > 1 && !allow_multiple {
        eprintln!(
            "dicompack: these images belong to {} different patients; nothing was written.",
            s.catalog.patients.len()
        );
        for p in &s.catalog.patients {
            eprintln!(
                "  {}  ID {}  ({} {})",
                p.name(),
                catalog::display_id(&p.key),
                p.studies.len(),
                verify::plural(p.studies.len(), "study", "studies")
            );
        }
        eprintln!(
            "Pack one patient at a time, or add --allow-multiple-patients if they must travel together."
        );
        return USAGE;
    }
    let mut warnings = s.warnings.clone();
    if s.catalog.patients.len() > 1 {
        warnings.push(format!(
            "this package holds {} patients (--allow-multiple-patients)",
            s.catalog.patients.len()
        ));
    }
    let notes = package::Notes {
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
