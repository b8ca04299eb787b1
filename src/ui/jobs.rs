//! The work the page starts, each on its own thread through the same `commands` functions the
//! command line calls (`scan`, `pack`, `verify`, `extract`), with a [`Meter`] as their
//! `Progress` and a `Cancel` the page's button sets. What a job found is kept as a plain view
//! the page polls (JSON), and the previews as JPEG bytes the page loads by number.

use super::lock;
use crate::cancel::Cancel;
use crate::catalog::{self, Catalog};
use crate::commands::{self, CommandError, Progress, Stage};
use crate::package::{self, PackError, Thumbnails};
use crate::render::series::render_each;
use crate::report;
use crate::select::{self, Filters};
use crate::verify::{group_thousands, plural};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Previews on the page are drawn this large (the package's own are drawn by `pack`).
const PREVIEW_SIDE: u32 = 256;
/// A preview read back out of a package is refused above this size.
const PREVIEW_MAX: u64 = 8 * 1024 * 1024;
/// MANIFEST.JSN read back out of a verified package is refused above this size.
const MANIFEST_MAX: u64 = 256 * 1024 * 1024;

/// How far a job got: a `commands::Progress` the page reads.
pub struct Meter {
    stage: Mutex<Option<Stage>>,
    done: AtomicU64,
    total: AtomicU64,
    stage_start: Mutex<Instant>,
    /// The bytes the packing stage copies (from the survey), to show bytes and a rate.
    bytes_total: AtomicU64,
    /// Slows each reading and packing step (`--tick-delay-ms`): tests use it to see the
    /// studies appear while the disc is read, and to press Cancel mid-way.
    delay: Duration,
    /// The studies found so far while reading, by Study Instance UID.
    found: Mutex<BTreeMap<String, FoundStudy>>,
}

/// A study as the reading finds it, before the catalog is built.
#[derive(Debug, Clone, Serialize)]
struct FoundStudy {
    patient: String,
    date: String,
    description: String,
    modalities: BTreeSet<String>,
    images: usize,
}

/// The page lists at most this many studies while reading (a disc rarely holds ten).
const FOUND_MAX: usize = 500;

impl Meter {
    pub fn new(delay: Duration) -> Meter {
        Meter {
            stage: Mutex::new(None),
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            stage_start: Mutex::new(Instant::now()),
            bytes_total: AtomicU64::new(0),
            delay,
            found: Mutex::new(BTreeMap::new()),
        }
    }

    /// The bytes the packing stage will copy.
    pub fn set_bytes(&self, bytes: u64) {
        self.bytes_total.store(bytes, Ordering::Relaxed);
    }

    fn view(&self) -> MeterView {
        let stage = *lock(&self.stage);
        let done = self.done.load(Ordering::Relaxed);
        let total = self.total.load(Ordering::Relaxed);
        let elapsed = lock(&self.stage_start).elapsed().as_secs_f64();
        let (bytes_done, bytes_total) = match stage {
            Some(Stage::Packing) if total > 0 => {
                let bt = self.bytes_total.load(Ordering::Relaxed);
                let bd = (bt as f64 * (done.min(total) as f64 / total as f64)) as u64;
                (Some(bd), Some(bt))
            }
            _ => (None, None),
        };
        let rate = bytes_done
            .filter(|_| elapsed > 0.2)
            .map(|b| b as f64 / elapsed);
        let eta = match (bytes_done, bytes_total, rate) {
            (Some(d), Some(t), Some(r)) if r > 0.0 => Some((t.saturating_sub(d)) as f64 / r),
            _ if total > 0 && done > 0 && elapsed > 0.2 => {
                Some(elapsed * (total.saturating_sub(done)) as f64 / done as f64)
            }
            _ => None,
        };
        let found = match stage {
            Some(Stage::Reading) => lock(&self.found).values().cloned().collect(),
            _ => Vec::new(),
        };
        MeterView {
            found,
            stage: stage.map(Stage::label),
            done,
            total,
            bytes_done,
            bytes_total,
            rate_text: rate.map(|r| format!("{}/s", report::size(r as u64))),
            eta_text: eta.map(duration_words),
            bytes_text: bytes_done
                .zip(bytes_total)
                .map(|(d, t)| format!("{} of {}", report::size(d), report::size(t))),
        }
    }
}

/// "about 2 minutes left", for people.
fn duration_words(secs: f64) -> String {
    let s = secs.round() as u64;
    if s < 60 {
        format!("about {s} {} left", plural(s as usize, "second", "seconds"))
    } else {
        let m = s.div_ceil(60);
        format!("about {m} {} left", plural(m as usize, "minute", "minutes"))
    }
}

impl Progress for Meter {
    fn begin(&self, stage: Stage) {
        *lock(&self.stage) = Some(stage);
        self.done.store(0, Ordering::Relaxed);
        self.total.store(0, Ordering::Relaxed);
        *lock(&self.stage_start) = Instant::now();
    }
    fn total(&self, steps: u64) {
        self.total.store(steps, Ordering::Relaxed);
    }
    fn found(&self, i: &crate::scan::Instance) {
        let a = &i.object.attrs;
        let mut found = lock(&self.found);
        let known = found.contains_key(&a.study.study_instance_uid);
        if !known && found.len() >= FOUND_MAX {
            return;
        }
        let st = found
            .entry(a.study.study_instance_uid.clone())
            .or_insert_with(|| FoundStudy {
                patient: a.patient.patient_name.replace('^', " ").trim().to_string(),
                date: report::date(&a.study.study_date),
                description: a.study.study_description.clone(),
                modalities: BTreeSet::new(),
                images: 0,
            });
        st.images += 1;
        if !a.series.modality.is_empty() {
            st.modalities.insert(a.series.modality.clone());
        }
    }
    fn tick(&self) {
        let slowed = matches!(*lock(&self.stage), Some(Stage::Reading | Stage::Packing));
        if !self.delay.is_zero() && slowed {
            std::thread::sleep(self.delay);
        }
        self.done.fetch_add(1, Ordering::Relaxed);
    }
    fn end(&self) {}
}

#[derive(Serialize)]
struct MeterView {
    found: Vec<FoundStudy>,
    stage: Option<&'static str>,
    done: u64,
    total: u64,
    bytes_done: Option<u64>,
    bytes_total: Option<u64>,
    bytes_text: Option<String>,
    rate_text: Option<String>,
    eta_text: Option<String>,
}

/// Why a job did not give what was asked, for the page: a code it decides on, and sentences.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// `several_patients`, `no_images`, `exists`, `interrupted`, `input`, `failed`.
    pub code: &'static str,
    pub message: String,
    /// What explains it (who the several patients are, what was found instead of images).
    pub detail: String,
}

impl Failure {
    fn of(e: &CommandError) -> Failure {
        let code = match e {
            CommandError::SeveralPatients { .. } => "several_patients",
            CommandError::NoImages(_) => "no_images",
            CommandError::Pack(PackError::Exists(_))
            | CommandError::Extract(
                crate::extract::ExtractError::Exists(_)
                | crate::extract::ExtractError::NotEmpty(_)
                | crate::extract::ExtractError::InTheWay(_),
            ) => "exists",
            CommandError::Interrupted | CommandError::Pack(PackError::Interrupted) => "interrupted",
            CommandError::NoSuchPath(_) | CommandError::Input(_) | CommandError::Select(_) => {
                "input"
            }
            _ => "failed",
        };
        let detail = match e {
            CommandError::SeveralPatients { catalog, .. } => people(catalog),
            CommandError::NoImages(s) => report::leftovers(s),
            CommandError::Extract(crate::extract::ExtractError::NotVerified(v)) => {
                report::verdict(v)
            }
            _ => String::new(),
        };
        // The command line's words name its options; the page says what to do on the page.
        let message = match e {
            _ if code == "interrupted" => "Stopped. Nothing was saved.".to_string(),
            CommandError::SeveralPatients { refusal, .. } => sentence(refusal),
            CommandError::Pack(PackError::Exists(p))
            | CommandError::Extract(crate::extract::ExtractError::Exists(p)) => format!(
                "{} is already there and was left alone; choose another name.",
                p.display()
            ),
            CommandError::Extract(crate::extract::ExtractError::NotEmpty(p)) => format!(
                "{} is already there and not empty; choose another name.",
                p.display()
            ),
            _ => e.to_string(),
        };
        Failure {
            code,
            message,
            detail,
        }
    }
}

/// One job: its progress, its cancel token, its outcome once there.
pub struct Job<T> {
    pub meter: Meter,
    pub cancel: Cancel,
    outcome: Mutex<Option<Result<Arc<T>, Failure>>>,
    running: AtomicBool,
    handle: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl<T: Send + Sync + 'static> Job<T> {
    /// Starts `work` on a thread of its own.
    /// Starts `work` on a thread of its own; `then` runs on that thread after the outcome is
    /// published (a scan's previews are drawn while the page already shows the studies).
    pub fn start(
        delay: Duration,
        work: impl FnOnce(&Job<T>) -> Result<T, Failure> + Send + 'static,
        then: fn(&Job<T>),
    ) -> Arc<Job<T>> {
        let job = Arc::new(Job {
            meter: Meter::new(delay),
            cancel: Cancel::new(),
            outcome: Mutex::new(None),
            running: AtomicBool::new(true),
            handle: Mutex::new(None),
        });
        let worker = Arc::clone(&job);
        let handle = std::thread::spawn(move || {
            let out = work(&*worker).map(Arc::new);
            *lock(&worker.outcome) = Some(out);
            then(&*worker);
            worker.running.store(false, Ordering::SeqCst);
        });
        *lock(&job.handle) = Some(handle);
        job
    }

    pub fn running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Asks the job to stop and waits until it has (so nothing it writes is left half-made).
    pub fn stop(&self) {
        self.cancel.cancel();
        let handle = lock(&self.handle).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }

    pub fn outcome(&self) -> Option<Result<Arc<T>, Failure>> {
        lock(&self.outcome).clone()
    }
}

/// A job's state as the page polls it.
pub fn status<T: Serialize + Send + Sync + 'static>(job: &Job<T>) -> serde_json::Value {
    let (outcome, failure) = match job.outcome() {
        Some(Ok(v)) => (serde_json::to_value(&*v).ok(), None),
        Some(Err(f)) => (None, Some(f)),
        None => (None, None),
    };
    serde_json::json!({
        "running": job.running(),
        "progress": job.meter.view(),
        "outcome": outcome,
        "failure": failure,
    })
}

// ---------------------------------------------------------------------------------------------
// Scan: what is on the disc, and a preview per series as each is drawn.

#[derive(Debug, Clone, Serialize)]
pub struct ScanView {
    pub input: String,
    pub summary: String,
    pub patients: Vec<PatientView>,
    /// How many people the images may belong to (the several-patients rule).
    pub identities: usize,
    pub several_patients: Option<String>,
    pub problems: Vec<Problem>,
    pub ignored: usize,
    pub warnings: Vec<String>,
    pub series_count: usize,
    pub default_name: String,
    pub default_folder: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PatientView {
    pub name: String,
    pub id: String,
    pub born: String,
    pub sex: String,
    pub studies: Vec<StudyView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StudyView {
    pub index: usize,
    pub uid: String,
    pub date: String,
    pub modalities: String,
    pub description: String,
    pub images: String,
    pub bytes: u64,
    pub size: String,
    pub series: Vec<SeriesView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SeriesView {
    /// Which preview is this series' (`/api/preview?id=`).
    pub preview: usize,
    pub number: String,
    pub modality: String,
    pub description: String,
    pub images: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub path: String,
    pub reason: String,
}

/// A drawn preview and, for a labelled tile, why there is no real one.
pub struct Preview {
    pub jpeg: Vec<u8>,
    pub note: Option<String>,
}

/// A scan's outcome: the view, and the previews arriving as they are drawn.
pub struct Scanned {
    pub view: ScanView,
    pub input: PathBuf,
    pub previews: Mutex<Vec<Option<Preview>>>,
    pub drawing: AtomicBool,
    /// The catalog and each series' preview number, until the previews are drawn.
    to_draw: Mutex<Option<(Catalog, HashMap<String, usize>)>>,
}

impl Serialize for Scanned {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let previews = lock(&self.previews);
        let ready: Vec<serde_json::Value> = previews
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                p.as_ref()
                    .map(|p| serde_json::json!({ "id": i, "note": p.note }))
            })
            .collect();
        serde_json::json!({
            "view": self.view,
            "previews": ready,
            "drawing": self.drawing.load(Ordering::SeqCst),
        })
        .serialize(s)
    }
}

/// A sentence starts with a capital letter on the page.
fn sentence(s: &impl std::fmt::Display) -> String {
    let s = s.to_string();
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Who the several people are, and what to do about it on this page (the command line's
/// explanation names its options instead).
fn people(catalog: &Catalog) -> String {
    let mut out = String::new();
    for p in &catalog.patients {
        let born: Vec<String> = p.birth_dates.iter().map(|b| report::date(b)).collect();
        out.push_str(&format!(
            "{}, patient ID {}, born {}: {}\n",
            p.name().replace('^', " ").trim(),
            catalog::display_id(&p.key),
            born.join(" and "),
            p.studies
                .iter()
                .map(|st| format!("{} {}", report::date(&st.date), st.description))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    for w in &catalog.identity_warnings {
        out.push_str(&format!("Note: {w}\n"));
    }
    out.push_str(
        "Untick the studies of everyone but one person, or tick the box below if they must travel together.",
    );
    out
}

fn images(n: usize) -> String {
    format!("{} {}", group_thousands(n), plural(n, "image", "images"))
}

fn view_of(catalog: &Catalog) -> (Vec<PatientView>, HashMap<String, usize>) {
    let mut ids = HashMap::new();
    let patients = catalog
        .patients
        .iter()
        .map(|p| PatientView {
            name: p.name().replace('^', " ").trim().to_string(),
            id: catalog::display_id(&p.key),
            born: report::date(p.birth_date()),
            sex: p.sex.clone(),
            studies: p
                .studies
                .iter()
                .map(|st| {
                    let bytes = st.series.iter().map(catalog::Series::size).sum();
                    StudyView {
                        index: st.index,
                        uid: st.uid.clone(),
                        date: report::date(&st.date),
                        modalities: st.modalities().join(", "),
                        description: st.description.clone(),
                        images: images(st.instance_count()),
                        bytes,
                        size: report::size(bytes),
                        series: st
                            .series
                            .iter()
                            .enumerate()
                            .map(|(i, se)| {
                                let n = ids.len();
                                ids.insert(se.uid.clone(), n);
                                SeriesView {
                                    preview: n,
                                    number: format!("{}.{}", st.index, i + 1),
                                    modality: se.modality.clone(),
                                    description: se.description.clone(),
                                    images: images(se.instances.len()),
                                }
                            })
                            .collect(),
                    }
                })
                .collect(),
        })
        .collect();
    (patients, ids)
}

/// Scans `input` with `commands::scan`, then draws a preview of every series into the outcome
/// while the page already shows the studies.
pub fn scan(job: &Job<Scanned>, input: PathBuf, output: &Path) -> Result<Scanned, Failure> {
    let req = commands::ScanRequest {
        inputs: vec![input.clone()],
        read_all: false,
        filters: Filters::default(),
        ..Default::default()
    };
    let scanned = commands::scan(&req, &job.meter, &job.cancel).map_err(|e| Failure::of(&e))?;
    let survey = scanned.survey;
    let catalog = &survey.catalog;
    let (patients, ids) = view_of(catalog);
    let several = select::check_one_patient(catalog, false).err();
    let default_name = select::default_package_name(catalog, output)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "PATIENT.zip".into());
    let view = ScanView {
        input: input.display().to_string(),
        summary: report::survey_summary(&survey),
        patients,
        identities: select::identities(catalog).len(),
        several_patients: several.map(|r| format!("{}\n{}", sentence(&r), people(catalog))),
        problems: survey
            .skipped
            .iter()
            .map(|u| Problem {
                path: u.path.display().to_string(),
                reason: u.reason.to_string(),
            })
            .collect(),
        ignored: survey.ignored.len(),
        warnings: survey.warnings.clone(),
        series_count: ids.len(),
        default_name,
        default_folder: output.display().to_string(),
    };
    Ok(Scanned {
        view,
        input,
        previews: Mutex::new((0..ids.len()).map(|_| None).collect()),
        drawing: AtomicBool::new(true),
        to_draw: Mutex::new(Some((survey.catalog, ids))),
    })
}

/// The JPEG of preview `id`, once drawn.
pub fn lock_preview(s: &Scanned, id: usize) -> Option<Vec<u8>> {
    lock(&s.previews).get(id)?.as_ref().map(|p| p.jpeg.clone())
}

/// Draws a preview of every series of a finished scan into its outcome, which the page
/// already shows: the studies appear first, each preview as soon as it is drawn.
pub fn draw_previews(job: &Job<Scanned>) {
    let Some(Ok(scanned)) = job.outcome() else {
        return;
    };
    {
        let to_draw = lock(&scanned.to_draw).take();
        if let Some((catalog, ids)) = to_draw {
            let each = |series: &catalog::Series, r: crate::render::series::SeriesRender| {
                if job.cancel.is_cancelled() {
                    return;
                }
                if let Some(&i) = ids.get(&series.uid)
                    && let Some(slot) = lock(&scanned.previews).get_mut(i)
                {
                    *slot = Some(Preview {
                        jpeg: r.jpeg,
                        note: r.outcome.note(),
                    });
                }
            };
            render_each(&catalog, PREVIEW_SIDE, &each);
        }
        scanned.drawing.store(false, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------------------------
// Pack

#[derive(Debug, Clone, Deserialize)]
pub struct PackAsk {
    /// Study Instance UIDs to pack; empty: all.
    #[serde(default)]
    pub studies: Vec<String>,
    pub folder: String,
    pub name: String,
    #[serde(default)]
    pub allow_multiple_patients: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PackedView {
    pub file_name: String,
    pub folder: String,
    pub path: String,
    pub size: String,
    pub bytes: u64,
    pub fingerprint: String,
    pub contents: String,
    pub not_included: Vec<Problem>,
    pub render_failures: Vec<String>,
}

/// Packs with `commands::pack`: the same request the command line makes.
pub fn pack(
    job: &Job<PackedView>,
    input: PathBuf,
    output: PathBuf,
    studies: Vec<String>,
    all_studies: bool,
    allow_multiple_patients: bool,
) -> Result<PackedView, Failure> {
    let req = commands::PackRequest {
        inputs: vec![input],
        output: Some(output),
        force: false,
        allow_multiple_patients,
        thumbnails: Thumbnails::Series,
        compression: package::Compression::Fast,
        filters: Filters {
            studies: if all_studies { Vec::new() } else { studies },
            ..Filters::default()
        },
        source_date_epoch: None,
        ..Default::default()
    };
    let packed = commands::pack(&req, &job.meter, &job.cancel).map_err(|e| Failure::of(&e))?;
    let r = &packed.report;
    Ok(PackedView {
        file_name: r
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        folder: r
            .path
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        path: r.path.display().to_string(),
        size: report::size(r.package_size),
        bytes: r.package_size,
        fingerprint: r.fingerprint.to_string(),
        contents: format!(
            "{} {}, {} series, {}",
            r.summary.studies,
            plural(r.summary.studies, "study", "studies"),
            r.summary.series,
            images(r.summary.instances)
        ),
        not_included: packed
            .survey
            .skipped
            .iter()
            .chain(r.failed.iter())
            .map(|u| Problem {
                path: u.path.display().to_string(),
                reason: u.reason.to_string(),
            })
            .collect(),
        render_failures: r.render_failures.clone(),
    })
}

/// The bytes a pack of these studies copies, for the progress bar.
pub fn bytes_of(view: &ScanView, studies: &[String]) -> u64 {
    view.patients
        .iter()
        .flat_map(|p| &p.studies)
        .filter(|s| studies.is_empty() || studies.contains(&s.uid))
        .map(|s| s.bytes)
        .sum()
}

// ---------------------------------------------------------------------------------------------
// Receive: verify a package, show its studies and previews, extract it.

#[derive(Debug, Clone, Serialize)]
pub struct Received {
    pub package: String,
    pub ok: bool,
    pub headline: String,
    pub problems: Vec<String>,
    pub fingerprint: Option<String>,
    pub patients: Vec<ReceivedPatient>,
    /// Why the studies cannot be shown, when they cannot.
    pub note: Option<String>,
    /// Package paths of the previews (`/api/package-preview?id=` is an index into these).
    #[serde(skip)]
    pub preview_paths: Vec<String>,
    #[serde(skip)]
    pub path: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReceivedPatient {
    pub name: String,
    pub id: String,
    pub born: String,
    pub studies: Vec<ReceivedStudy>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReceivedStudy {
    pub date: String,
    pub description: String,
    pub series: Vec<ReceivedSeries>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReceivedSeries {
    pub modality: String,
    pub description: String,
    pub images: String,
    pub preview: Option<usize>,
}

/// What the page reads of MANIFEST.JSN, after verification has checked it against the
/// checksums (its own entry in SHA256.TXT) and the files. Only the fields shown, each with a
/// default, so a manifest of another version still shows what it has.
#[derive(Deserialize)]
struct ManifestView {
    #[serde(default)]
    patients: Vec<MPatient>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MPatient {
    patient_id: String,
    names: Vec<String>,
    birth_dates: Vec<String>,
    studies: Vec<MStudy>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MStudy {
    date: String,
    description: String,
    series: Vec<MSeries>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MSeries {
    modality: String,
    description: String,
    instance_count: usize,
    visual: Option<MVisual>,
}

#[derive(Deserialize)]
struct MVisual {
    preview: String,
}

/// Verifies with `commands::verify`; when the package passes, reads its manifest for the
/// studies and the list of previews.
pub fn receive(job: &Job<Received>, path: PathBuf) -> Result<Received, Failure> {
    let verdict = commands::verify(
        &commands::VerifyRequest {
            package: path.clone(),
            passphrase: None,
        },
        &job.meter,
        &job.cancel,
    )
    .map_err(|e| Failure::of(&e))?;
    let mut out = Received {
        package: path.display().to_string(),
        ok: verdict.ok,
        headline: verdict.headline(),
        problems: verdict.problems.iter().map(|p| p.to_string()).collect(),
        fingerprint: verdict.fingerprint.map(|d| d.to_string()),
        patients: Vec::new(),
        note: None,
        preview_paths: Vec::new(),
        path: path.clone(),
    };
    if !verdict.ok {
        return Ok(out);
    }
    let manifest = read_entry(&path, package::names::MANIFEST, MANIFEST_MAX)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice::<ManifestView>(&b).map_err(|e| e.to_string()));
    let manifest = match manifest {
        Ok(m) => m,
        Err(e) => {
            out.note = Some(format!(
                "The package checks out, but its list of studies could not be read ({e})."
            ));
            return Ok(out);
        }
    };
    for p in manifest.patients {
        let studies = p
            .studies
            .into_iter()
            .map(|st| ReceivedStudy {
                date: report::date(&st.date),
                description: st.description,
                series: st
                    .series
                    .into_iter()
                    .map(|se| {
                        let preview = se.visual.map(|v| {
                            out.preview_paths.push(v.preview);
                            out.preview_paths.len() - 1
                        });
                        ReceivedSeries {
                            modality: se.modality,
                            description: se.description,
                            images: images(se.instance_count),
                            preview,
                        }
                    })
                    .collect(),
            })
            .collect();
        out.patients.push(ReceivedPatient {
            name: p
                .names
                .first()
                .map(|n| n.replace('^', " ").trim().to_string())
                .unwrap_or_default(),
            id: p.patient_id,
            born: report::date(p.birth_dates.first().map(String::as_str).unwrap_or("")),
            studies,
        });
    }
    Ok(out)
}

/// One preview out of a verified package: only the names its manifest lists, only inside
/// the pages folder, only as large as a preview can be.
pub fn package_preview(r: &Received, id: usize) -> Option<Vec<u8>> {
    let name = r.preview_paths.get(id)?;
    if !package::names::in_pages_folder(name) || !crate::verify::is_safe_name(name) {
        return None;
    }
    read_entry(&r.path, name, PREVIEW_MAX).ok()
}

/// A named entry of a package (a ZIP, or an extracted folder), at most `max` bytes.
fn read_entry(package: &Path, name: &str, max: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    if package.is_dir() {
        let mut p = package.to_path_buf();
        p.extend(name.split('/'));
        std::fs::File::open(p)?.take(max).read_to_end(&mut out)?;
    } else {
        let f = std::fs::File::open(package)?;
        let mut zip = zip::ZipArchive::new(f).map_err(std::io::Error::other)?;
        let entry = zip.by_name(name).map_err(std::io::Error::other)?;
        entry.take(max).read_to_end(&mut out)?;
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct ExtractedView {
    pub folder: String,
    pub files: usize,
    pub headline: String,
}

/// Extracts with `commands::extract` (which verifies first).
pub fn extract(
    job: &Job<ExtractedView>,
    package: PathBuf,
    dest: PathBuf,
) -> Result<ExtractedView, Failure> {
    let req = commands::ExtractRequest {
        package,
        dest,
        force: false,
        passphrase: None,
    };
    let done = commands::extract(&req, &job.meter, &job.cancel).map_err(|e| Failure::of(&e))?;
    Ok(ExtractedView {
        folder: done.dest.display().to_string(),
        files: done.files,
        headline: done.verdict.headline(),
    })
}
