//! `dicompack send` into a real PACS: Orthanc from Debian, started here as a plain process on
//! 127.0.0.1 with a temporary configuration and storage and free ports (never the system's
//! service), checked through its REST API. Each test starts its own Orthanc.

use crate::util::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const AET: &str = "TESTPACS";
const USER: &str = "receiver";
const PASSWORD: &str = "s3cret-for-tests";

/// One Orthanc of our own.
struct Orthanc {
    child: Child,
    dicom_port: u16,
    http_port: u16,
    auth: bool,
    dir: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Orthanc {
    /// Starts Orthanc with `extra` merged into a test configuration; waits until it answers.
    fn start(name: &str, extra: Value) -> Orthanc {
        let dir = scratch(&format!("orthanc-{name}"));
        let (dicom_port, http_port) = (free_port(), free_port());
        let auth = extra["AuthenticationEnabled"].as_bool().unwrap_or(false);
        let mut config = json!({
            "Name": format!("dicompack-test-{name}"),
            "StorageDirectory": dir.join("storage"),
            "IndexDirectory": dir.join("index"),
            "DicomAet": AET,
            "DicomPort": dicom_port,
            "HttpPort": http_port,
            "RemoteAccessAllowed": false,
            "AuthenticationEnabled": false,
            "RegisteredUsers": { USER: PASSWORD },
            "DicomCheckCalledAet": true,
            "DicomScpTimeout": 30,
            "StorageCompression": false,
            "HttpThreadsCount": 4,
            "ConcurrentJobs": 1,
            "Plugins": [],
            "LuaScripts": [],
            "DicomWeb": { "Enable": true, "Root": "/dicom-web/" },
        });
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        if extra.get("Plugins").is_some() {
            config["Plugins"] = json!([orthanc_dicomweb_plugin().unwrap()]);
        }
        let path = dir.join("orthanc.json");
        fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        let log = fs::File::create(dir.join("orthanc.log")).unwrap();
        let child = Command::new("/usr/sbin/Orthanc")
            .arg(&path)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("start Orthanc");
        let o = Orthanc {
            child,
            dicom_port,
            http_port,
            auth,
            dir,
        };
        let start = Instant::now();
        while o.try_get("/system").is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "Orthanc did not start:\n{}",
                fs::read_to_string(o.dir.join("orthanc.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        o
    }

    fn agent() -> &'static ureq::Agent {
        static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
        AGENT.get_or_init(|| {
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(20)))
                .build()
                .into()
        })
    }

    fn raw(&self, path: &str) -> Option<(u16, Vec<u8>)> {
        use base64::Engine as _;
        let url = format!("http://127.0.0.1:{}{path}", self.http_port);
        let mut req = Self::agent().get(&url);
        if self.auth {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
            req = req.header("Authorization", format!("Basic {token}"));
        }
        let mut resp = req.call().ok()?;
        let code = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .ok()?;
        Some((code, body))
    }

    fn try_get(&self, path: &str) -> Option<Value> {
        let (code, body) = self.raw(path)?;
        (code == 200)
            .then(|| serde_json::from_slice(&body).ok())
            .flatten()
    }

    fn get(&self, path: &str) -> Value {
        self.try_get(path)
            .unwrap_or_else(|| panic!("Orthanc GET {path} failed"))
    }

    fn bytes(&self, path: &str) -> Vec<u8> {
        match self.raw(path) {
            Some((200, b)) => b,
            other => panic!("Orthanc GET {path}: {:?}", other.map(|(c, _)| c)),
        }
    }

    fn dest(&self) -> String {
        format!("{AET}@127.0.0.1:{}", self.dicom_port)
    }

    fn stow(&self) -> String {
        format!("http://127.0.0.1:{}/dicom-web", self.http_port)
    }

    /// Orthanc's instances by SOP Instance UID → its ID.
    fn instances(&self) -> BTreeMap<String, String> {
        let ids = self.get("/instances");
        ids.as_array()
            .unwrap()
            .iter()
            .map(|id| {
                let id = id.as_str().unwrap();
                let tags = self.get(&format!("/instances/{id}"));
                (
                    tags["MainDicomTags"]["SOPInstanceUID"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    id.to_string(),
                )
            })
            .collect()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Orthanc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The sample disc packed once for every test here (each copies the ZIP before sending).
fn sample_package() -> &'static (PathBuf, Vec<Instance>) {
    static PACKED: OnceLock<(PathBuf, Vec<Instance>)> = OnceLock::new();
    PACKED.get_or_init(|| {
        let p = pack("send-sample", &[&sample_disc()], &[]);
        (p.zip.clone(), manifest_instances(&p.manifest))
    })
}

/// A copy of the sample package in a fresh folder: its receipt will be beside it.
fn package_copy(name: &str) -> (PathBuf, PathBuf) {
    let dir = scratch(name);
    let zip = dir.join("PKG.ZIP");
    fs::copy(&sample_package().0, &zip).unwrap();
    (dir, zip)
}

fn send(args: &[&str], cwd: &Path) -> Run {
    let mut all = vec!["send"];
    all.extend_from_slice(args);
    dicompack(&all, cwd)
}

/// The data set of `file` as DCMTK's dcmconv writes it (explicit lengths, no File Meta).
fn dcmtk_dataset(file: &Path, out: &Path) -> Vec<u8> {
    let run = run_tool(
        "dcmconv",
        &["-F", file.to_str().unwrap(), out.to_str().unwrap()],
        Path::new("."),
    );
    assert_eq!(run.code, Some(0), "{}", run.describe());
    fs::read(out).unwrap()
}

/// The data set of a Part 10 file: what follows the File Meta group.
fn dataset(file: &[u8]) -> &[u8] {
    &file[split_part10(file).1..]
}

fn receipt(zip: &Path) -> Value {
    let path = PathBuf::from(format!("{}.receipt.json", zip.display()));
    serde_json::from_slice(&fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap()
}

fn statuses(receipt: &Value) -> BTreeMap<String, String> {
    receipt["instances"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(uid, line)| (uid.clone(), line["status"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn c_store_sends_a_package_whole_and_a_second_send_sends_nothing() {
    if !interop("send: C-STORE to Orthanc", &[Need::Orthanc, Need::Dcmtk]) {
        return;
    }
    let (dir, zip) = package_copy("send-cstore");
    let zip_digest = sha256_file(&zip);
    let pacs = Orthanc::start("cstore", json!({}));
    let run = send(
        &[zip.to_str().unwrap(), "--to", &pacs.dest(), "--json"],
        &dir,
    );
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let out = run.json();
    let expected = &sample_package().1;
    assert_eq!(out["total"], expected.len(), "{}", run.describe());
    assert_eq!(out["stored"], expected.len());
    // The receipt lists every instance as stored.
    let r = statuses(&receipt(&zip));
    assert_eq!(r.len(), expected.len());
    assert!(r.values().all(|s| s == "stored"), "{r:?}");
    // Orthanc holds each one, and its data set is the package's, byte for byte.
    let stored = pacs.instances();
    let tree = dir.join("tree");
    extract_zip(&zip, &tree);
    for i in expected {
        let id = stored
            .get(&i.sop_instance_uid)
            .unwrap_or_else(|| panic!("{} not in Orthanc", i.sop_instance_uid));
        let theirs = pacs.bytes(&format!("/instances/{id}/file"));
        let ours = fs::read(tree.join(&i.path)).unwrap();
        if dataset(&theirs) != dataset(&ours) {
            // Orthanc's C-STORE side (DCMTK) writes every sequence with an explicit length;
            // written the same way by DCMTK's dcmconv, the two data sets must be identical.
            let theirs_path = dir.join("theirs.dcm");
            fs::write(&theirs_path, &theirs).unwrap();
            let a = dcmtk_dataset(&tree.join(&i.path), &dir.join("ours.ds"));
            let b = dcmtk_dataset(&theirs_path, &dir.join("theirs.ds"));
            assert!(
                a == b,
                "{}: Orthanc's data set differs from the package's",
                i.path
            );
        }
    }
    assert_eq!(stored.len(), expected.len());
    // A second send with the receipt sends nothing.
    let again = send(
        &[zip.to_str().unwrap(), "--to", &pacs.dest(), "--json"],
        &dir,
    );
    assert_eq!(again.code, Some(0), "{}", again.describe());
    let again = again.json();
    assert_eq!(again["sent"], 0);
    assert_eq!(again["already_stored"], expected.len());
    assert_eq!(sha256_file(&zip), zip_digest, "the package changed");
    // The plain-words summary.
    let text = send(&[zip.to_str().unwrap(), "--to", &pacs.dest()], &dir);
    assert!(
        text.stdout.contains(&format!(
            "{n} of {n} images stored in {AET}",
            n = expected.len()
        )),
        "{}",
        text.describe()
    );
}

#[test]
fn stow_rs_needs_the_credentials_the_service_asks_for() {
    if !interop(
        "send: STOW-RS to Orthanc's DICOMweb",
        &[Need::Orthanc, Need::OrthancDicomWeb],
    ) {
        return;
    }
    let pacs = Orthanc::start(
        "stow",
        json!({ "Plugins": ["dicomweb"], "AuthenticationEnabled": true }),
    );
    let (dir, zip) = package_copy("send-stow");
    let expected = &sample_package().1;
    // No credentials: refused, nothing stored, said so.
    let run = send(
        &[zip.to_str().unwrap(), "--to", &pacs.stow(), "--json"],
        &dir,
    );
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(run.stderr.contains("HTTP 401"), "{}", run.describe());
    assert_eq!(pacs.instances().len(), 0);
    // With credentials from the environment (never from the command line).
    let with_credentials = || {
        std::process::Command::new(bin())
            .args(["send", zip.to_str().unwrap(), "--to", &pacs.stow()])
            .args(["--credentials-env", "PACS_LOGIN", "--json"])
            .env("PACS_LOGIN", format!("{USER}:{PASSWORD}"))
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let out = with_credentials();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["stored"], expected.len());
    let stored = pacs.instances();
    assert_eq!(stored.len(), expected.len());
    // Sent again with its receipt: nothing goes twice.
    let again = with_credentials();
    assert_eq!(again.status.code(), Some(0));
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["sent"], 0, "{again}");
    assert_eq!(again["already_stored"], expected.len());
    let receipt_text = fs::read_to_string(format!("{}.receipt.json", zip.display())).unwrap();
    assert!(
        !receipt_text.contains(PASSWORD),
        "the receipt holds the password"
    );
    assert!(!stdout.contains(PASSWORD));
    // Byte-for-byte data sets, by STOW too.
    let tree = dir.join("tree");
    extract_zip(&zip, &tree);
    for i in expected {
        let theirs = pacs.bytes(&format!("/instances/{}/file", stored[&i.sop_instance_uid]));
        let ours = fs::read(tree.join(&i.path)).unwrap();
        assert!(dataset(&theirs) == dataset(&ours), "{}", i.path);
    }
}

#[test]
fn reconciliation_is_in_orthancs_copy_and_the_package_is_untouched() {
    if !interop("send: reconciliation into Orthanc", &[Need::Orthanc]) {
        return;
    }
    let pacs = Orthanc::start("reconcile", json!({}));
    let (dir, zip) = package_copy("send-reconcile");
    let before = sha256_file(&zip);
    let run = send(
        &[
            zip.to_str().unwrap(),
            "--to",
            &pacs.dest(),
            "--patient-id",
            "H-778899",
            "--issuer",
            "HOSPITAL-A",
            "--patient-name",
            "DOE^JANE^Q",
        ],
        &dir,
    );
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let patients = pacs.get("/patients?expand");
    let ids: Vec<&str> = patients
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["MainDicomTags"]["PatientID"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["H-778899"], "Orthanc's patients");
    for (_, id) in pacs.instances() {
        let tags = pacs.get(&format!("/instances/{id}/tags?short"));
        assert_eq!(tags["0010,0020"], "H-778899");
        assert_eq!(tags["0010,0021"], "HOSPITAL-A");
        assert_eq!(tags["0010,0010"], "DOE^JANE^Q");
        let original = &tags["0400,0561"][0];
        assert_eq!(original["0400,0565"], "COERCE", "{original}");
        assert_eq!(original["0400,0563"], "dicompack");
        let modified = &original["0400,0550"][0];
        assert_eq!(modified["0010,0020"], DISC_PATIENT_ID, "{modified}");
        assert_eq!(modified["0010,0010"], DISC_PATIENT_NAME);
        let other = &tags["0010,1002"][0];
        assert_eq!(other["0010,0020"], DISC_PATIENT_ID, "{tags}");
    }
    // The package is as it was, and still checks.
    assert_eq!(sha256_file(&zip), before);
    let verify = dicompack(&["verify", zip.to_str().unwrap()], &dir);
    assert_eq!(verify.code, Some(0), "{}", verify.describe());
}

#[test]
fn a_pacs_taking_only_implicit_vr_gets_what_converts_without_loss() {
    if !interop(
        "send: transfer-syntax fallback with Orthanc",
        &[Need::Orthanc],
    ) {
        return;
    }
    let pacs = Orthanc::start(
        "implicit-only",
        json!({ "AcceptedTransferSyntaxes": ["1.2.840.10008.1.2"] }),
    );
    let (dir, zip) = package_copy("send-implicit");
    let run = send(
        &[zip.to_str().unwrap(), "--to", &pacs.dest(), "--json"],
        &dir,
    );
    let out = run.json();
    let expected = &sample_package().1;
    let r = receipt(&zip);
    let lines = r["instances"].as_object().unwrap();
    let refused: Vec<&String> = lines
        .iter()
        .filter(|(_, l)| l["status"] != "stored")
        .map(|(uid, _)| uid)
        .collect();
    // The JPEG 2000 image cannot become Implicit VR Little Endian without decoding: reported.
    assert_eq!(refused.len(), 1, "{r}");
    assert_eq!(lines[refused[0]]["reason"], "transfer_syntax_not_accepted");
    assert_eq!(run.code, Some(3), "{}", run.describe());
    assert_eq!(out["stored"], expected.len() - 1);
    assert!(run.stderr.contains("Not stored: 1"), "{}", run.describe());
    for (uid, line) in lines {
        if line["status"] == "stored" {
            assert_eq!(line["sent_as"], "1.2.840.10008.1.2", "{uid}");
        }
    }
    assert_eq!(pacs.instances().len(), expected.len() - 1);
}

#[test]
fn a_wrong_title_or_a_closed_port_is_said_plainly_and_resumes() {
    if !interop("send: faults against Orthanc", &[Need::Orthanc]) {
        return;
    }
    let pacs = Orthanc::start("faults", json!({}));
    let (dir, zip) = package_copy("send-faults");
    let expected = &sample_package().1;
    // A called AE title Orthanc does not answer to.
    let wrong = format!("NOTTHEPACS@127.0.0.1:{}", pacs.dicom_port);
    let receipt_wrong = dir.join("wrong.json");
    let run = send(
        &[
            zip.to_str().unwrap(),
            "--to",
            &wrong,
            "--receipt",
            receipt_wrong.to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(
        run.stderr.contains("AE title NOTTHEPACS"),
        "{}",
        run.describe()
    );
    // A closed port: quick, plain, and the receipt lists every instance as not sent.
    let closed = format!("{AET}@127.0.0.1:{}", free_port());
    let started = Instant::now();
    let run = send(&[zip.to_str().unwrap(), "--to", &closed, "--json"], &dir);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(run.stderr.contains("cannot connect"), "{}", run.describe());
    let r = receipt(&zip);
    assert_eq!(statuses(&r).len(), expected.len());
    assert!(statuses(&r).values().all(|s| s == "not_sent"));
    // The same receipt cannot be used for another destination by mistake…
    let run = send(&[zip.to_str().unwrap(), "--to", &pacs.dest()], &dir);
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(run.stderr.contains("--receipt"), "{}", run.describe());
    assert_eq!(pacs.instances().len(), 0);
}

#[test]
fn a_pacs_killed_mid_send_leaves_a_true_receipt_and_the_resume_completes() {
    if !interop("send: PACS killed mid-send", &[Need::Orthanc]) {
        return;
    }
    // Enough instances that a send takes a while: the sample disc, copied with new UIDs.
    let src = scratch("send-killed-src");
    let n = 150;
    make_many(&src, n);
    let dir = scratch("send-killed");
    let mut pacs = Orthanc::start("killed", json!({}));
    let dest = pacs.dest();
    let port = pacs.dicom_port;
    let child = std::process::Command::new(bin())
        .args([
            "send",
            src.to_str().unwrap(),
            "--to",
            &dest,
            "--json",
            "--jobs",
            "1",
        ])
        .args([
            "--receipt",
            dir.join("r.json").to_str().unwrap(),
            "--connect-timeout",
            "2",
        ])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the PACS once some instances are in.
    let start = Instant::now();
    while pacs
        .try_get("/statistics")
        .map_or(0, |s| s["CountInstances"].as_u64().unwrap_or(0))
        < 5
    {
        assert!(start.elapsed() < Duration::from_secs(60), "nothing arrived");
        std::thread::sleep(Duration::from_millis(20));
    }
    pacs.kill();
    let out = child.wait_with_output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let code = out.status.code();
    assert!(
        matches!(code, Some(3) | Some(0)),
        "{doc}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&fs::read(dir.join("r.json")).unwrap()).unwrap();
    let lines = statuses(&r);
    assert_eq!(lines.len(), n);
    let stored_first = lines.values().filter(|s| *s == "stored").count();
    // Restart Orthanc on its storage and port: it has what the receipt says it has, or more
    // (an instance whose answer was lost).
    let pacs2 = Orthanc::restart(&pacs, port);
    let had = pacs2.instances().len();
    assert!(
        had >= stored_first,
        "Orthanc has {had}, the receipt says {stored_first}"
    );
    let run = send(
        &[
            src.to_str().unwrap(),
            "--to",
            &dest,
            "--json",
            "--receipt",
            dir.join("r.json").to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let again = run.json();
    assert_eq!(again["already_stored"], stored_first);
    assert_eq!(again["sent"].as_u64().unwrap() as usize, n - stored_first);
    assert_eq!(pacs2.instances().len(), n);
}

impl Orthanc {
    /// The same Orthanc (configuration, storage, ports) started again after a kill.
    fn restart(old: &Orthanc, dicom_port: u16) -> Orthanc {
        let path = old.dir.join("orthanc.json");
        let log = fs::File::create(old.dir.join("orthanc2.log")).unwrap();
        let child = Command::new("/usr/sbin/Orthanc")
            .arg(&path)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let o = Orthanc {
            child,
            dicom_port,
            http_port: old.http_port,
            auth: old.auth,
            dir: old.dir.clone(),
        };
        let start = Instant::now();
        while o.try_get("/system").is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "Orthanc did not restart"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        o
    }
}

/// `n` instances in `dir`: one MR image of the sample disc, each copy with its own SOP
/// Instance UID (written with dicom-object, an independent writer of ours is not needed).
fn make_many(dir: &Path, n: usize) {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    let src = sample_disc().join("DICOM/ST000000/SE000001/IM000000");
    let obj = dicom_object::open_file(&src).unwrap();
    for i in 0..n {
        let mut o = obj.clone();
        let uid = format!("2.25.42420{i:06}");
        o.put(DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(uid.as_str()),
        ));
        o.update_meta(|m| m.media_storage_sop_instance_uid = uid.clone());
        o.put(DataElement::new(
            tags::INSTANCE_NUMBER,
            VR::IS,
            PrimitiveValue::from((i + 1).to_string()),
        ));
        o.write_to_file(dir.join(format!("IM{i:05}"))).unwrap();
    }
}
