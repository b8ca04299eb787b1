//! The one helper module of the integration tests (tests/tests.rs): where the test data is, how
//! to run the real binary (plainly, or under a memory bound and a timeout for hostile input),
//! how to unpack and tamper with packages, a small Part 10 reader of our own, and how to call
//! the tools we did not write (DCMTK, pydicom, chromium, GNU time, FUSE, sha256sum).
//!
//! Interop checks call [`interop`] first: when something they need is missing they skip with a
//! loud message, unless `DICOMPACK_REQUIRE_INTEROP=1`, in which case they fail. Either way the
//! outcome is appended to the file `DICOMPACK_INTEROP_LOG` names (tools/test sets it and counts
//! the lines), so a skipped check is reported as skipped and never counted as passed.
//!
//! Python is whatever `python3` is first on PATH: tools/test puts its virtual environment
//! (pinned pydicom and codecs) there.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

pub const REQUIRE_ENV: &str = "DICOMPACK_REQUIRE_INTEROP";
/// A file to which every interop check appends one line: `ran\tCHECK` or
/// `skipped\tCHECK\tWHY` (tools/test reads it).
pub const LOG_ENV: &str = "DICOMPACK_INTEROP_LOG";

// ---------------------------------------------------------------------------------------------
// Where things are

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dicompack"))
}

pub fn sample_disc() -> PathBuf {
    repo().join("testdata/disc1")
}

pub fn hostile() -> PathBuf {
    repo().join("testdata/hostile")
}

/// pydicom's test files (tools/fetch-test-files); `DICOMPACK_PYDICOM_FILES` points elsewhere,
/// e.g. at a trimmed copy while investigating one failure.
pub fn pydicom_files() -> PathBuf {
    std::env::var_os("DICOMPACK_PYDICOM_FILES")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".cache/pydicom/test_files"))
}

/// A Python or data helper script of the tests (they live beside this module).
pub fn support_script(name: &str) -> PathBuf {
    repo().join("tests/util").join(name)
}

/// A fresh, empty scratch folder under Cargo's per-target tmp dir (kept after the run so a
/// failure can be inspected). Names must be unique across the whole test binary: tests run
/// in parallel.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("dicompack-tests")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------------------------------------
// Running the binary and other programs

/// What a finished program did.
#[derive(Debug)]
pub struct Run {
    pub what: String,
    /// The exit code; `None` when a signal ended it (an abort on a failed allocation, a kill
    /// after the timeout).
    pub code: Option<i32>,
    pub timed_out: bool,
    pub elapsed: Duration,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all_text(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// stdout as one JSON document; panics when it is not.
    pub fn json(&self) -> Value {
        self.try_json()
            .unwrap_or_else(|e| panic!("{e}\nstderr:\n{}", self.stderr))
    }

    pub fn try_json(&self) -> Result<Value, String> {
        serde_json::from_str(&self.stdout).map_err(|e| {
            format!(
                "stdout is not one JSON document ({e}): {:?}",
                truncate(&self.stdout, 300)
            )
        })
    }

    pub fn describe(&self) -> String {
        format!(
            "{}: exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.what, self.code, self.stdout, self.stderr
        )
    }

    /// The things that fail every hostile case: panic, death by signal, hang.
    pub fn process_failures(&self) -> Vec<String> {
        let mut f = Vec::new();
        if self.timed_out {
            f.push(format!("hung: killed after {:?}", self.elapsed));
        } else {
            match self.code {
                Some(101) => f.push(format!("PANIC (exit 101): {}", tail(&self.stderr))),
                Some(_) => {}
                None => f.push(format!(
                    "killed by a signal (allocation failure under the 1 GiB bound, stack overflow, …): {}",
                    tail(&self.stderr)
                )),
            }
        }
        f
    }

    pub fn all_output_lower(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr).to_lowercase()
    }
}

fn to_run(what: String, out: Output, elapsed: Duration) -> Run {
    Run {
        what,
        code: out.status.code(),
        timed_out: false,
        elapsed,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `dicompack ARGS` in `cwd`, without SOURCE_DATE_EPOCH from the caller's environment.
pub fn dicompack(args: &[&str], cwd: &Path) -> Run {
    let start = Instant::now();
    let out = Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .expect("run dicompack");
    to_run(
        format!("dicompack {}", args.join(" ")),
        out,
        start.elapsed(),
    )
}

pub fn run_tool(program: &str, args: &[&str], cwd: &Path) -> Run {
    let start = Instant::now();
    let out = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    to_run(
        format!("{program} {}", args.join(" ")),
        out,
        start.elapsed(),
    )
}

/// Whether `tool` is on PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool} >/dev/null 2>&1")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

pub fn euid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// 1 GiB of address space, as the issue asks. Rust aborts (a signal, not exit 101) when an
/// allocation fails, so an over-allocation shows up as `killed by signal 6`.
pub const MEMORY_BOUND_BYTES: u64 = 1 << 30;
pub const TIMEOUT: Duration = Duration::from_secs(20);
pub const BOMB_TIMEOUT: Duration = Duration::from_secs(60);

/// The binary run on hostile input: under an address-space bound and a timeout, optionally as
/// another user and measured by GNU time.
pub struct Bounded<'a> {
    pub args: Vec<String>,
    pub cwd: &'a Path,
    pub timeout: Duration,
    /// Run as this uid/gid via `setpriv` (root only), to make file permissions real.
    pub as_uid: Option<u32>,
    pub program: Option<PathBuf>,
    /// Address-space bound for this run (default 1 GiB).
    pub bound: u64,
    /// Measure peak RSS with GNU time into this file (see `peak_rss_kib`).
    pub rss_file: Option<PathBuf>,
}

impl<'a> Bounded<'a> {
    pub fn new(cwd: &'a Path, args: &[&str]) -> Self {
        Bounded {
            args: args.iter().map(|s| s.to_string()).collect(),
            cwd,
            timeout: TIMEOUT,
            as_uid: None,
            program: None,
            bound: MEMORY_BOUND_BYTES,
            rss_file: None,
        }
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Spawn the binary under the memory bound; `during` runs while it is alive.
    pub fn go_with(self, during: impl FnOnce()) -> Run {
        let program = self.program.clone().unwrap_or_else(bin);
        let mut argv: Vec<String> = Vec::new();
        if let Some(f) = &self.rss_file {
            argv.extend([
                "/usr/bin/time".into(),
                "-f".into(),
                "%M".into(),
                "-o".into(),
                f.display().to_string(),
            ]);
        }
        if let Some(uid) = self.as_uid {
            argv.extend([
                "setpriv".into(),
                format!("--reuid={uid}"),
                format!("--regid={uid}"),
                "--clear-groups".into(),
            ]);
        }
        if have("prlimit") {
            argv.extend([
                "prlimit".into(),
                format!("--as={}", self.bound),
                "--".into(),
            ]);
            argv.push(program.display().to_string());
        } else {
            argv.extend([
                "sh".into(),
                "-c".into(),
                format!("ulimit -v {} && exec \"$0\" \"$@\"", self.bound / 1024),
                program.display().to_string(),
            ]);
        }
        argv.extend(self.args.iter().cloned());
        let what = format!("dicompack {}", self.args.join(" "));
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .current_dir(self.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("NO_COLOR", "1")
            .env("RUST_BACKTRACE", "1")
            // glibc reserves 64 MiB of address space per malloc arena (up to 8 per core); on a
            // many-core CI machine that alone could exceed the 1 GiB bound without any real use.
            .env("MALLOC_ARENA_MAX", "2");
        let start = Instant::now();
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => panic!("cannot start {argv:?}: {e}"),
        };
        let mut out = child.stdout.take().expect("piped stdout");
        let mut err = child.stderr.take().expect("piped stderr");
        let t_out = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = out.read_to_end(&mut v);
            v
        });
        let t_err = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = err.read_to_end(&mut v);
            v
        });
        during();
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if start.elapsed() > self.timeout => {
                    timed_out = true;
                    let _ = child.kill();
                    break child.wait().ok();
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => break None,
            }
        };
        let elapsed = start.elapsed();
        let stdout = String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned();
        let stderr = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned();
        Run {
            what,
            code: status.and_then(|s| s.code()),
            timed_out,
            elapsed,
            stdout,
            stderr,
        }
    }

    pub fn go(self) -> Run {
        self.go_with(|| {})
    }
}

/// Peak resident set size in KiB written by GNU time (`/usr/bin/time -f %M -o FILE`).
pub fn peak_rss_kib(file: &Path) -> Option<u64> {
    fs::read_to_string(file)
        .ok()?
        .lines()
        .rev()
        .find_map(|l| l.trim().parse().ok())
}

pub fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    let start = lines.len().saturating_sub(4);
    truncate(&lines[start..].join(" | "), 600)
}

pub fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

// ---------------------------------------------------------------------------------------------
// Interop tools: present, or skip loudly, or fail under DICOMPACK_REQUIRE_INTEROP=1

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// dcmdump, dcmftest, dcmmkdir and the converters the render comparison uses.
    Dcmtk,
    /// dicom3tools' dciodvfy, David Clunie's validator.
    Dicom3tools,
    /// python3 with pydicom 3.
    Pydicom,
    /// python3 with pydicom 3, numpy, pylibjpeg and its openjpeg plugin (the reference renderer).
    PydicomCodecs,
    /// pydicom's test files (tools/fetch-test-files).
    PydicomFiles,
    Sha256sum,
    Chromium,
    /// /usr/bin/time (GNU time) for peak-RSS measurements.
    GnuTime,
    /// /dev/fuse and python3 with fusepy (a scratched-disc view).
    Fuse,
    /// chromedriver (Debian's chromium-driver), to drive Chromium through WebDriver.
    Chromedriver,
    /// isoinfo (genisoimage): lists and extracts ISO 9660 images.
    Isoinfo,
    /// xorriso: reads ISO 9660 images (osirrox).
    Xorriso,
    /// 7z (p7zip-full): opens ISO images and AES-encrypted ZIPs.
    SevenZip,
    /// Info-ZIP unzip.
    Unzip,
    /// Orthanc from Debian (/usr/sbin/Orthanc), a real PACS the send tests start themselves.
    Orthanc,
    /// Orthanc's DICOMweb plugin (orthanc-dicomweb), for STOW-RS.
    OrthancDicomWeb,
}

/// Where Debian's orthanc-dicomweb put the plugin, if it is installed.
pub fn orthanc_dicomweb_plugin() -> Option<PathBuf> {
    let out = Command::new("dpkg")
        .args(["-L", "orthanc-dicomweb"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.contains("libOrthancDicomWeb.so"))
        .map(PathBuf::from)
        .filter(|p| p.exists())
}

const DCMTK_TOOLS: [&str; 8] = [
    "dcmdump", "dcmftest", "dcmmkdir", "dcmj2pnm", "dcml2pnm", "dcmcjpeg", "dcmcjpls", "dcmcrle",
];

fn python_runs(code: &str) -> bool {
    Command::new("python3")
        .args(["-c", code])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn check_need(need: Need) -> Result<(), String> {
    let ok = |b: bool, why: String| if b { Ok(()) } else { Err(why) };
    match need {
        Need::Dcmtk => {
            // dcmftest has no --version; spawning a tool at all is enough.
            let missing: Vec<&str> = DCMTK_TOOLS
                .iter()
                .copied()
                .filter(|t| Command::new(t).output().is_err())
                .collect();
            ok(
                missing.is_empty(),
                format!("DCMTK ({}) not found: apt-get install dcmtk", missing.join(", ")),
            )
        }
        Need::Dicom3tools => ok(
            Command::new("dciodvfy").output().is_ok(),
            "dicom3tools (dciodvfy) not found: apt-get install dicom3tools".to_string(),
        ),
        Need::Pydicom => ok(
            python_runs(
                "import sys, pydicom; sys.exit(0 if pydicom.__version__.startswith('3.') else 1)",
            ),
            "python3 with pydicom 3 not found: run tools/test (it makes a venv)".into(),
        ),
        Need::PydicomCodecs => ok(
            python_runs(
                "import pydicom, numpy, pylibjpeg, openjpeg; assert pydicom.__version__.startswith('3')",
            ),
            "python3 with pydicom 3, numpy, pylibjpeg, pylibjpeg-openjpeg not found: run tools/test"
                .into(),
        ),
        Need::PydicomFiles => ok(
            pydicom_files().join("CT_small.dcm").is_file(),
            format!(
                "{} missing: run tools/fetch-test-files",
                pydicom_files().display()
            ),
        ),
        Need::Sha256sum => ok(
            Command::new("sha256sum")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success()),
            "sha256sum (coreutils) not found".into(),
        ),
        Need::Chromium => ok(
            chromium().is_some(),
            "chromium not found: apt-get install chromium".into(),
        ),
        Need::Chromedriver => ok(
            Command::new("chromedriver")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success()),
            "chromedriver not found: apt-get install chromium-driver".into(),
        ),
        Need::GnuTime => ok(
            Path::new("/usr/bin/time").exists(),
            "/usr/bin/time (GNU time) missing: apt-get install time".into(),
        ),
        Need::Isoinfo => ok(
            Command::new("isoinfo").arg("-version").output().is_ok(),
            "isoinfo not found: apt-get install genisoimage".into(),
        ),
        Need::Xorriso => ok(
            Command::new("xorriso").arg("-version").output().is_ok(),
            "xorriso not found: apt-get install xorriso".into(),
        ),
        Need::SevenZip => ok(
            Command::new("7z").output().is_ok(),
            "7z not found: apt-get install p7zip-full".into(),
        ),
        Need::Unzip => ok(
            Command::new("unzip").arg("-v").output().is_ok(),
            "unzip not found: apt-get install unzip".into(),
        ),
        Need::Fuse => ok(
            Path::new("/dev/fuse").exists() && python_runs("import fuse"),
            "no /dev/fuse, or no libfuse2 + python3 fusepy: apt-get install libfuse2; run tools/test"
                .into(),
        ),
        Need::Orthanc => ok(
            Path::new("/usr/sbin/Orthanc").exists(),
            "/usr/sbin/Orthanc missing: apt-get install orthanc".into(),
        ),
        Need::OrthancDicomWeb => ok(
            orthanc_dicomweb_plugin().is_some(),
            "Orthanc's DICOMweb plugin missing: apt-get install orthanc-dicomweb".into(),
        ),
    }
}

fn available(need: Need) -> Result<(), String> {
    static CACHE: OnceLock<std::sync::Mutex<BTreeMap<Need, Result<(), String>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(r) = cache.lock().unwrap().get(&need) {
        return r.clone();
    }
    let r = check_need(need);
    cache.lock().unwrap().insert(need, r.clone());
    r
}

/// The first browser of the Chromium family on PATH.
pub fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let out = Command::new("sh")
                .args(["-c", &format!("command -v {name}")])
                .output()
                .ok()?;
            let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
            (!p.is_empty()).then(|| PathBuf::from(p))
        })
}

/// True when every need of interop check `check` is met. Otherwise: panic under
/// DICOMPACK_REQUIRE_INTEROP=1, else print a loud skip message and return false (the caller
/// returns early, or leaves that part out). Either way the outcome is logged.
pub fn interop(check: &str, needs: &[Need]) -> bool {
    let missing: Vec<String> = needs.iter().filter_map(|n| available(*n).err()).collect();
    interop_when(
        check,
        if missing.is_empty() {
            None
        } else {
            Some(missing.join("; "))
        },
    )
}

/// [`interop`] for a condition of its own: `missing` says why the check cannot run here.
pub fn interop_when(check: &str, missing: Option<String>) -> bool {
    let Some(why) = missing else {
        log_check(&format!("ran\t{check}"));
        return true;
    };
    log_check(&format!("skipped\t{check}\t{why}"));
    if std::env::var(REQUIRE_ENV).as_deref() == Ok("1") {
        panic!("{check}: {REQUIRE_ENV}=1 but: {why}");
    }
    // Straight to the process's stderr: libtest captures eprintln! of passing tests, and a skip
    // must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!!!! SKIPPED interop check `{check}`: {why}\n!!!!!!!!!! (set {REQUIRE_ENV}=1 to make this a failure; .ci/run does)\n"
    );
    false
}

fn log_check(line: &str) {
    let Some(path) = std::env::var_os(LOG_ENV) else {
        return;
    };
    // One short write per line with O_APPEND: lines of parallel tests do not interleave.
    let line = format!("{}\n", line.replace('\n', " "));
    let written = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        panic!("{LOG_ENV}={}: {e}", Path::new(&path).display());
    }
}

// ---------------------------------------------------------------------------------------------
// Files, checksums, ZIPs

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn sha256_file(path: &Path) -> String {
    sha256_hex(&fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())))
}

/// Every regular file under `root`, as '/'-separated relative paths.
pub fn files_under(root: &Path) -> BTreeSet<String> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| rel_string(e.path().strip_prefix(root).unwrap()))
        .collect()
}

/// Copy a folder tree (symbolic links are followed: the copy holds what they point to).
pub fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap_or_else(|e| panic!("walk {}: {e}", from.display()));
        let target = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            fs::create_dir_all(&target).unwrap();
        } else {
            fs::copy(e.path(), &target)
                .unwrap_or_else(|err| panic!("copy {}: {err}", e.path().display()));
        }
    }
}

pub fn rel_string(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Entries of a ZIP as (name, bytes), in archive order. Directory entries are dropped.
pub fn read_zip(zip: &Path) -> Vec<(String, Vec<u8>)> {
    let file = fs::File::open(zip).unwrap();
    let mut archive = zip::ZipArchive::new(file)
        .unwrap_or_else(|e| panic!("{} is not a ZIP: {e}", zip.display()));
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        if entry.is_dir() {
            continue;
        }
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|e| panic!("bad entry name: {e}"));
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.push((name, data));
    }
    out
}

/// Write entries as a new ZIP (deflated). Used to build tampered packages from a good one.
pub fn write_zip(zip: &Path, entries: &[(String, Vec<u8>)]) {
    let file = fs::File::create(zip).unwrap();
    let mut w = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap();
}

/// Unpack a ZIP into `dest`, refusing absolute or `..` names (a package must not contain them).
pub fn extract_zip(zip: &Path, dest: &Path) {
    for (name, data) in read_zip(zip) {
        let rel = Path::new(&name);
        assert!(
            rel.components().all(|c| matches!(c, Component::Normal(_))),
            "unsafe entry name in package: {name:?}"
        );
        let path = dest.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, data).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// A packed package

pub struct Packed {
    pub zip: PathBuf,
    /// The same package, extracted by us (not by dicompack).
    pub tree: PathBuf,
    pub run: Run,
    pub cwd: PathBuf,
    pub manifest: Value,
}

/// `dicompack pack INPUTS -o <scratch>/OUT.ZIP --json EXTRA...`, then extract the ZIP.
/// Panics if no ZIP was written.
pub fn pack(name: &str, inputs: &[&Path], extra: &[&str]) -> Packed {
    let dir = scratch(name);
    let zip = dir.join("OUT.ZIP");
    let mut args: Vec<String> = vec!["pack".into()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend(["-o".into(), zip.display().to_string(), "--json".into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = dicompack(&argv, &dir);
    assert!(
        zip.is_file(),
        "pack wrote no package at {}:\n{}",
        zip.display(),
        run.describe()
    );
    let tree = dir.join("tree");
    extract_zip(&zip, &tree);
    let manifest_text = fs::read_to_string(tree.join("MANIFEST.JSN"))
        .unwrap_or_else(|e| panic!("package has no readable MANIFEST.JSN: {e}"));
    let manifest: Value = serde_json::from_str(&manifest_text)
        .unwrap_or_else(|e| panic!("MANIFEST.JSN is not JSON: {e}"));
    Packed {
        zip,
        tree,
        run,
        cwd: dir,
        manifest,
    }
}

pub struct Instance {
    pub path: String,
    pub sop_instance_uid: String,
    pub sha256: String,
    pub size: u64,
    pub source_path: String,
    pub source_sha256: String,
}

/// The manifest's `instances`, with the fields the contract promises (panics if one is missing).
pub fn manifest_instances(manifest: &Value) -> Vec<Instance> {
    let list = manifest["instances"]
        .as_array()
        .expect("MANIFEST.JSN: top-level \"instances\" array");
    list.iter()
        .map(|i| {
            let s = |v: &Value, what: &str| {
                v.as_str()
                    .unwrap_or_else(|| panic!("MANIFEST.JSN instance lacks string {what}: {i}"))
                    .to_string()
            };
            Instance {
                path: s(&i["path"], "path"),
                sop_instance_uid: s(&i["sop_instance_uid"], "sop_instance_uid"),
                sha256: s(&i["sha256"], "sha256").to_lowercase(),
                size: i["size"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("MANIFEST.JSN instance lacks size: {i}")),
                source_path: s(&i["source"]["path"], "source.path"),
                source_sha256: s(&i["source"]["sha256"], "source.sha256").to_lowercase(),
            }
        })
        .collect()
}

/// Every `{"path": …, "reason": …}` object anywhere in a JSON document (skipped, ignored, …).
pub fn path_reasons(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                if let (Some(Value::String(p)), Some(Value::String(r))) =
                    (m.get("path"), m.get("reason"))
                {
                    out.push((p.clone(), r.clone()));
                }
                m.values().for_each(|x| walk(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(doc, &mut out);
    out
}

/// A path as dicompack reported it (absolute, or relative to its cwd) → canonical path.
pub fn resolve(reported: &str, cwd: &Path) -> Option<PathBuf> {
    let p = Path::new(reported);
    let p = if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    };
    p.canonicalize().ok()
}

/// Checks every package must pass, with no outside tools: SHA256.TXT covers exactly every file
/// but itself with the right sums; the manifest's instances exist with the right size and sum;
/// names are uppercase PS3.10 file IDs; the manifest's sources exist with the recorded sums.
pub fn check_package_self_consistent(p: &Packed) {
    let files = files_under(&p.tree);
    for required in ["DICOMDIR", "README.TXT", "SHA256.TXT", "MANIFEST.JSN"] {
        assert!(
            files.contains(required),
            "package lacks {required}; it has {files:?}"
        );
    }
    // SHA256.TXT, parsed by us.
    let sums = fs::read_to_string(p.tree.join("SHA256.TXT")).unwrap();
    let mut listed = BTreeMap::new();
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let (sum, name) = line
            .split_once("  ")
            .or_else(|| line.split_once(" *"))
            .unwrap_or_else(|| panic!("SHA256.TXT line not in `sha256sum -c` format: {line:?}"));
        assert_eq!(sum.len(), 64, "bad checksum in SHA256.TXT line {line:?}");
        assert!(
            listed
                .insert(name.to_string(), sum.to_lowercase())
                .is_none(),
            "{name} listed twice"
        );
    }
    let expected: BTreeSet<String> = files
        .iter()
        .filter(|f| *f != "SHA256.TXT")
        .cloned()
        .collect();
    let got: BTreeSet<String> = listed.keys().cloned().collect();
    assert_eq!(
        got, expected,
        "SHA256.TXT must list every file in the package but itself"
    );
    for (name, sum) in &listed {
        assert_eq!(
            &sha256_file(&p.tree.join(name)),
            sum,
            "SHA256.TXT is wrong for {name}"
        );
    }
    // File IDs.
    for f in &files {
        if let Some(rest) = f.strip_prefix("DICOM/") {
            for comp in rest.split('/') {
                assert!(
                    !comp.is_empty()
                        && comp.len() <= 8
                        && comp
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                    "{f}: component {comp:?} is not a PS3.10 file ID (≤ 8 of A-Z 0-9 _)"
                );
            }
            assert!(f.split('/').count() <= 8, "{f}: more than 8 levels");
        }
    }
    // Manifest instances.
    let instances = manifest_instances(&p.manifest);
    let dicom_files: BTreeSet<String> = files
        .iter()
        .filter(|f| f.starts_with("DICOM/"))
        .cloned()
        .collect();
    let in_manifest: BTreeSet<String> = instances.iter().map(|i| i.path.clone()).collect();
    assert_eq!(
        in_manifest.len(),
        instances.len(),
        "MANIFEST.JSN lists a package path twice"
    );
    assert_eq!(
        in_manifest, dicom_files,
        "MANIFEST.JSN instances must be exactly the files under DICOM/"
    );
    let uids: BTreeSet<&str> = instances
        .iter()
        .map(|i| i.sop_instance_uid.as_str())
        .collect();
    assert_eq!(
        uids.len(),
        instances.len(),
        "two package files carry the same SOP Instance UID"
    );
    for i in &instances {
        let full = p.tree.join(&i.path);
        let data = fs::read(&full).unwrap();
        assert_eq!(
            data.len() as u64,
            i.size,
            "{}: size in MANIFEST.JSN",
            i.path
        );
        assert_eq!(
            sha256_hex(&data),
            i.sha256,
            "{}: sha256 in MANIFEST.JSN",
            i.path
        );
        assert_eq!(&data[128..132], b"DICM", "{}: not a Part 10 file", i.path);
        let src = resolve(&i.source_path, &p.cwd).unwrap_or_else(|| {
            panic!("{}: source path {:?} does not exist", i.path, i.source_path)
        });
        assert_eq!(
            sha256_file(&src),
            i.source_sha256,
            "{}: source.sha256 for {}",
            i.path,
            src.display()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Part 10 parsing, by hand (independent of dicom-rs)

const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";

/// A meta element: (group, element) and where its value is.
type MetaElement = ((u16, u16), std::ops::Range<usize>);

/// The group 0002 elements of a Part 10 file (explicit VR little endian) from byte 132 up to
/// `end` (or the first element of another group): (tag, value range), and where the walk
/// stopped. Err when an element overruns the file.
fn meta_elements(data: &[u8], end: usize) -> Result<(Vec<MetaElement>, usize), String> {
    let end = end.min(data.len());
    let mut pos = 132;
    let mut out = Vec::new();
    while pos + 8 <= end {
        let group = u16::from_le_bytes([data[pos], data[pos + 1]]);
        if group != 0x0002 {
            break;
        }
        let elem = u16::from_le_bytes([data[pos + 2], data[pos + 3]]);
        let vr = &data[pos + 4..pos + 6];
        let long = matches!(
            vr,
            b"OB"
                | b"OW"
                | b"OF"
                | b"SQ"
                | b"UT"
                | b"UN"
                | b"UC"
                | b"UR"
                | b"OD"
                | b"OL"
                | b"OV"
                | b"SV"
                | b"UV"
        );
        let (len, header) = if long {
            let Some(l) = data.get(pos + 8..pos + 12) else {
                return Err(format!(
                    "meta element ({group:04x},{elem:04x}) overruns the file"
                ));
            };
            (u32::from_le_bytes(l.try_into().unwrap()) as usize, 12)
        } else {
            (
                u16::from_le_bytes([data[pos + 6], data[pos + 7]]) as usize,
                8,
            )
        };
        let start = pos + header;
        if start + len > data.len() {
            return Err(format!(
                "meta element ({group:04x},{elem:04x}) overruns the file"
            ));
        }
        out.push(((group, elem), start..start + len));
        pos = start + len;
    }
    Ok((out, pos))
}

/// Split a Part 10 file into (meta elements by tag, offset where the dataset starts).
/// Panics when the file is not preamble + DICM + explicit VR LE group 0002.
pub fn split_part10(data: &[u8]) -> (BTreeMap<(u16, u16), Vec<u8>>, usize) {
    assert!(
        data.len() > 132 && &data[128..132] == b"DICM",
        "no preamble + DICM"
    );
    let (elements, pos) = meta_elements(data, data.len()).unwrap_or_else(|e| panic!("{e}"));
    let meta: BTreeMap<(u16, u16), Vec<u8>> = elements
        .into_iter()
        .map(|(tag, r)| (tag, data[r].to_vec()))
        .collect();
    let glen = meta.get(&(2, 0)).expect("no (0002,0000) group length");
    let glen = u32::from_le_bytes(glen[..4].try_into().unwrap()) as usize;
    assert_eq!(
        132 + 12 + glen,
        pos,
        "(0002,0000) group length does not match the meta elements"
    );
    (meta, pos)
}

/// What the scan finds in a file (where its data set, image attributes and pixel data lie),
/// the way `pack` hands it to render; or why the scan cannot read the file. Files that name
/// no study or series are read too: render draws whatever the scan can read.
pub fn scanned(path: &Path) -> Result<dicompack::scan::Object, String> {
    use dicompack::scan::{Content, inspect_file};
    match inspect_file(path) {
        Ok(Content::Object(o) | Content::Directory(o)) => Ok(*o),
        Ok(Content::NotDicom(what)) => Err(what.to_string()),
        Err(e) => Err(format!("{} ({e})", e.code())),
    }
}

pub fn ui(value: &[u8]) -> String {
    String::from_utf8_lossy(value)
        .trim_end_matches(['\0', ' '])
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// The sample disc's known content (see testdata/README.md)

pub const DISC_PATIENT_ID: &str = "DPK100234";
pub const DISC_PATIENT_NAME: &str = "DOE^JANE";
pub const DISC_STUDIES: [&str; 3] = [
    "MR BRAIN AND MRA WO CONTRAST",
    "CT CHEST W CONTRAST",
    "NM BONE SCAN WHOLE BODY",
];
pub const DISC_SERIES: [&str; 5] = [
    "FAST LOCALIZER",
    "T/S/C RF FAST PILOT",
    "MRA COW PROJECTIONS",
    "CHEST 5MM AXIAL W CONTRAST",
    "WHOLE BODY ANT POST",
];
pub const DISC_INSTANCES: usize = 13;
pub const DISC_JUNK: [&str; 4] = ["AUTORUN.INF", "VIEWER.EXE", "INDEX.HTM", "Thumbs.db"];
pub const DISC_HEADERLESS: &str = "DICOM/ST000000/SE000000/IM000000";

/// The sample disc's DICOM files (everything but the junk and the DICOMDIR).
pub fn disc_dicom_files() -> BTreeSet<String> {
    files_under(&sample_disc())
        .into_iter()
        .filter(|f| f != "DICOMDIR" && !DISC_JUNK.contains(&f.as_str()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Validators we did not write

/// `dcmdump +sd DICOMDIR` must succeed without error or warning lines, and `dcmftest` must say
/// `yes` for the DICOMDIR and every file under DICOM/.
pub fn check_with_dcmtk(tree: &Path) {
    let dump = run_tool("dcmdump", &["+sd", "DICOMDIR"], tree);
    let text = dump.all_text();
    let bad: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("E:") || l.starts_with("W:") || l.starts_with("F:"))
        .collect();
    assert!(
        dump.code == Some(0) && bad.is_empty(),
        "dcmdump +sd DICOMDIR complains:\n{}\n{}",
        bad.join("\n"),
        dump.stderr
    );
    assert!(
        dump.stdout.contains("DirectoryRecordSequence"),
        "dcmdump finds no directory records"
    );
    let mut files: Vec<String> = files_under(tree)
        .into_iter()
        .filter(|f| f.starts_with("DICOM/"))
        .collect();
    files.push("DICOMDIR".into());
    for chunk in files.chunks(200) {
        let args: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let t = run_tool("dcmftest", &args, tree);
        for f in chunk {
            assert!(
                t.stdout.lines().any(|l| l == format!("yes: {f}")),
                "dcmftest does not accept {f}:\n{}",
                t.describe()
            );
        }
    }
}

/// `sha256sum -c --strict SHA256.TXT` in the extracted package.
pub fn check_with_sha256sum(tree: &Path) {
    let r = run_tool(
        "sha256sum",
        &["-c", "--strict", "--quiet", "SHA256.TXT"],
        tree,
    );
    assert_eq!(
        r.code,
        Some(0),
        "sha256sum -c SHA256.TXT fails:\n{}",
        r.describe()
    );
}

/// pydicom's FileSet over the package's DICOMDIR (tests/util/fileset_check.py); returns its
/// report (instances found). Panics on any problem it lists.
pub fn check_with_pydicom_fileset(tree: &Path) -> Value {
    let r = run_tool(
        "python3",
        &[
            support_script("fileset_check.py").to_str().unwrap(),
            tree.to_str().unwrap(),
        ],
        tree,
    );
    let report: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| {
        panic!(
            "fileset_check.py output is not JSON ({e}):\n{}",
            r.describe()
        )
    });
    let problems = report["problems"].as_array().unwrap();
    assert!(
        r.code == Some(0) && problems.is_empty(),
        "pydicom FileSet finds problems:\n{:#}\n{}",
        report["problems"],
        r.stderr
    );
    report
}

/// The instances of a [`check_with_pydicom_fileset`] report: path → SOP Instance UID.
pub fn fileset_instances(report: &Value) -> BTreeMap<String, String> {
    report["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["path"].as_str().unwrap().to_string(),
                i["sop_instance_uid"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Run every outside validator on an extracted package and check that pydicom's FileSet finds
/// exactly the manifest's instances (same paths, same SOP Instance UIDs).
pub fn check_with_all_validators(p: &Packed) {
    check_with_dcmtk(&p.tree);
    check_with_sha256sum(&p.tree);
    let report = check_with_pydicom_fileset(&p.tree);
    let from_fileset = fileset_instances(&report);
    let from_manifest: BTreeMap<String, String> = manifest_instances(&p.manifest)
        .into_iter()
        .map(|i| (i.path, i.sop_instance_uid))
        .collect();
    assert_eq!(
        from_fileset, from_manifest,
        "pydicom FileSet (left) vs MANIFEST.JSN (right)"
    );

    // A file whose meta header names another SOP Instance UID than its dataset: acceptable only
    // when copied byte for byte from a source that already had it, and said in the manifest.
    let manifest_text = p.manifest.to_string();
    for m in report["meta_mismatches"].as_array().unwrap() {
        let path = m["path"].as_str().unwrap();
        let i = manifest_instances(&p.manifest)
            .into_iter()
            .find(|i| i.path == path)
            .unwrap();
        assert_eq!(
            i.sha256, i.source_sha256,
            "{path}: dicompack wrote a meta header naming SOP Instance UID {} for a dataset with {}",
            m["meta"], m["dataset"]
        );
        let name = Path::new(&i.source_path)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let meta_uid = m["meta"].as_str().unwrap();
        let warned = p.manifest.to_string().contains(&name) && manifest_text.contains(meta_uid);
        assert!(
            warned,
            "{path} (from {name}): meta/dataset SOP Instance UID mismatch copied without a warning in MANIFEST.JSN"
        );
        let _ = writeln!(
            std::io::stderr(),
            "note: {path} (from {name}) keeps its source's meta/dataset UID mismatch, with a warning"
        );
    }
}

/// tests/util/inventory.py over a folder: pydicom's independent view of every file.
pub fn pydicom_inventory(root: &Path) -> Vec<Value> {
    let r = run_tool(
        "python3",
        &[
            support_script("inventory.py").to_str().unwrap(),
            root.to_str().unwrap(),
        ],
        root,
    );
    assert_eq!(r.code, Some(0), "inventory.py failed:\n{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    v["files"].as_array().unwrap().clone()
}

// ---------------------------------------------------------------------------------------------
// The hostile corpus (testdata/hostile, made by tools/make-hostile-corpus): every failure of a
// test is collected, not only the first, so one run reports the whole list.

pub fn expected() -> Value {
    let path = hostile().join("expected.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Words in `any` (case-insensitive); true when `any` is empty.
pub fn mentions_any(haystack: &str, any: &[String]) -> bool {
    let h = haystack.to_lowercase();
    any.is_empty() || any.iter().any(|w| h.contains(&w.to_lowercase()))
}

pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// One skipped or ignored file as `scan --json` lists it.
#[derive(Debug, Clone)]
pub struct ListedFile {
    pub path: String,
    /// The stable code (`Reason::code`), what tests decide on.
    pub code: String,
    /// The sentence for people.
    pub reason: String,
}

/// `{path, code, reason}` entries of `skipped` / `ignored`, with shape problems reported: a
/// code is snake_case, a reason is a non-empty sentence.
pub fn listing(doc: &Value, key: &str, failures: &mut Vec<String>) -> Vec<ListedFile> {
    let Some(arr) = doc.get(key) else {
        failures.push(format!("JSON has no top-level `{key}` array"));
        return Vec::new();
    };
    let Some(arr) = arr.as_array() else {
        failures.push(format!("`{key}` is not an array"));
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in arr {
        let path = e.get("path").and_then(Value::as_str);
        let code = e.get("code").and_then(Value::as_str).filter(|c| is_code(c));
        let reason = e.get("reason").and_then(Value::as_str);
        match (path, code, reason) {
            (Some(p), Some(c), Some(r)) if !r.trim().is_empty() => out.push(ListedFile {
                path: p.to_string(),
                code: c.to_string(),
                reason: r.to_string(),
            }),
            _ => failures.push(format!(
                "`{key}` entry without a path, a snake_case code and a non-empty reason: {e}"
            )),
        }
    }
    out
}

/// A stable code's shape: non-empty snake_case.
pub fn is_code(c: &str) -> bool {
    !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// Does a reported path name this file? Reported paths may be absolute or relative.
pub fn path_is(reported: &str, name: &str) -> bool {
    let r = reported.replace('\\', "/");
    r == name || r.ends_with(&format!("/{name}"))
}

/// Names directly inside a directory, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

pub fn report(title: &str, failures: &[String]) {
    if !failures.is_empty() {
        panic!(
            "{} {title} failure(s):\n  - {}\n",
            failures.len(),
            failures.join("\n  - ")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// dciodvfy and dcentvfy (dicom3tools) over a package, told apart from what the sources bring

/// dciodvfy's errors over a package's DICOMDIR, split into those a packed source explains
/// (it lacks or leaves empty the element the record needs, or holds the invalid value the
/// record copies: we never invent a date or rewrite a UID) and those of our making.
#[derive(Debug, Default)]
pub struct DicomdirErrors {
    pub total: usize,
    pub inherited: usize,
    pub ours: Vec<String>,
}

/// `(Element, Module)` of each dciodvfy "missing/empty attribute" error line, and the other
/// error lines.
pub fn dciodvfy_errors(report: &str) -> (BTreeSet<(String, String)>, Vec<String>) {
    let mut keyed = BTreeSet::new();
    let mut other = Vec::new();
    for line in report.lines().filter(|l| l.starts_with("Error")) {
        let field = |name: &str| {
            let start = line.find(&format!("{name}=<"))? + name.len() + 2;
            let end = line[start..].find('>')? + start;
            Some(line[start..end].to_string())
        };
        match (field("Element"), field("Module")) {
            (Some(e), Some(m)) if line.contains("attribute") => {
                keyed.insert((e, m));
            }
            _ => other.push(line.to_string()),
        }
    }
    (keyed, other)
}

/// dciodvfy over the DICOMDIR of an extracted package, each error attributed (see
/// [`DicomdirErrors`]). A "missing/empty attribute" error is inherited when a source behind a
/// record of that type lacks the element (pydicom reads the sources,
/// `dciodvfy_explain.py`); any other error is inherited when the value it quotes is in a
/// packed source's bytes.
pub fn dciodvfy_dicomdir(p: &Packed) -> DicomdirErrors {
    let dicomdir = p.tree.join("DICOMDIR");
    let report = run_tool("dciodvfy", &[dicomdir.to_str().unwrap()], &p.cwd);
    let text = format!("{}{}", report.stdout, report.stderr);
    let (keyed, other) = dciodvfy_errors(&text);
    let wanted: Vec<String> = keyed.iter().map(|(e, m)| format!("{e}|{m}")).collect();
    let py = run_tool(
        "python3",
        &[
            support_script("dciodvfy_explain.py").to_str().unwrap(),
            dicomdir.to_str().unwrap(),
            p.tree.join("MANIFEST.JSN").to_str().unwrap(),
            &wanted.join(","),
        ],
        &p.cwd,
    );
    assert_eq!(py.code, Some(0), "{}", py.describe());
    // Printed as "Element in Module" for each pair no source explains.
    let unexplained: BTreeSet<&str> = py.stdout.lines().map(str::trim).collect();
    let keyed_lines = text
        .lines()
        .filter(|l| l.starts_with("Error") && !other.iter().any(|o| o == l))
        .count();
    let mut ours: Vec<String> = Vec::new();
    let mut ours_keyed_lines = 0;
    for (e, m) in &keyed {
        if unexplained.contains(format!("{e} in {m}").as_str()) {
            let n = text
                .lines()
                .filter(|l| {
                    l.starts_with("Error")
                        && l.contains(&format!("Element=<{e}>"))
                        && l.contains(&format!("Module=<{m}>"))
                })
                .count();
            ours_keyed_lines += n;
            ours.push(format!("{n} × missing/empty {e} in {m}"));
        }
    }
    let sources: Vec<Vec<u8>> = manifest_instances(&p.manifest)
        .iter()
        .filter_map(|i| fs::read(resolve(&i.source_path, &p.cwd)?).ok())
        .collect();
    // dciodvfy's summary of value errors: the source's when every value error is.
    const SUMMARY: &str = "Error - Dicom dataset contains invalid data values";
    for line in other.iter().filter(|l| !l.starts_with(SUMMARY)) {
        // dciodvfy quotes the offending value as <…> or "…"; the first such is the value.
        let quoted = ['<', '"']
            .iter()
            .filter_map(|&open| {
                let close = if open == '<' { '>' } else { '"' };
                let (at, rest) = line.split_once(open)?;
                let (v, _) = rest.split_once(close)?;
                Some((at.len(), v.trim().to_string()))
            })
            .filter(|(_, v)| !v.is_empty())
            .min_by_key(|(at, _)| *at)
            .map(|(_, v)| v);
        let inherited = quoted.is_some_and(|v| {
            sources
                .iter()
                .any(|s| s.windows(v.len()).any(|w| w == v.as_bytes()))
        });
        if !inherited {
            ours.push(line.clone());
        }
    }
    if ours.iter().any(|l| l.starts_with("Error")) {
        ours.extend(other.iter().filter(|l| l.starts_with(SUMMARY)).cloned());
    }
    let ours_other_lines = ours.iter().filter(|l| l.starts_with("Error")).count();
    let total = keyed_lines + other.len();
    DicomdirErrors {
        total,
        inherited: total - ours_keyed_lines - ours_other_lines,
        ours,
    }
}

/// dcentvfy's findings (inconsistent patient, study or series attributes across files) over
/// the package's instances that no run of it over their sources shows: each file named by its
/// source, so the two runs compare. Returns (findings over the package, those of ours).
pub fn dcentvfy_new_findings(p: &Packed) -> (usize, Vec<String>) {
    // dcentvfy compares each file with one before it: both runs list the files in one order.
    let mut instances = manifest_instances(&p.manifest);
    instances.sort_by(|a, b| a.path.cmp(&b.path));
    let mut name_of: BTreeMap<String, String> = BTreeMap::new();
    let mut packaged = Vec::new();
    let mut sources = Vec::new();
    for i in &instances {
        let Some(src) = resolve(&i.source_path, &p.cwd) else {
            continue;
        };
        let pkg = p.tree.join(&i.path);
        name_of.insert(pkg.display().to_string(), i.source_path.clone());
        name_of.insert(src.display().to_string(), i.source_path.clone());
        packaged.push(pkg.display().to_string());
        sources.push(src.display().to_string());
    }
    let findings = |files: &[String]| -> BTreeSet<String> {
        let args: Vec<&str> = files.iter().map(String::as_str).collect();
        let r = run_tool("dcentvfy", &args, &p.cwd);
        format!("{}{}", r.stdout, r.stderr)
            .lines()
            .filter(|l| l.contains("Error") || l.contains("Warning"))
            .map(|l| {
                // Name each file <…> by its source, in a stable order.
                let mut parts: Vec<String> = Vec::new();
                let mut rest = l;
                let mut out = String::new();
                while let Some((before, after)) = rest.split_once('<') {
                    let Some((inside, tail)) = after.split_once('>') else {
                        break;
                    };
                    out.push_str(before);
                    let named = name_of
                        .get(inside)
                        .cloned()
                        .unwrap_or_else(|| inside.to_string());
                    parts.push(named);
                    out.push_str("<>");
                    rest = tail;
                }
                out.push_str(rest);
                parts.sort();
                format!("{out} {}", parts.join(" "))
            })
            .collect()
    };
    let over_package = findings(&packaged);
    let over_sources = findings(&sources);
    let ours = over_package.difference(&over_sources).cloned().collect();
    (over_package.len(), ours)
}
