//! Faults, for real: a full disk (a 64 KiB tmpfs mounted in a private mount namespace) and an
//! interrupted run (SIGINT, SIGTERM): each time a clear error, nothing at the final name, no
//! temporary file left behind, the input untouched. And a read error in the middle of a file,
//! as on a scratched disc (a FUSE view that answers EIO past an offset): that file is named
//! and left out, the rest is packed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::*;

fn disc() -> PathBuf {
    sample_disc()
}

/// Every file under `dir` with its bytes, to prove the input was not touched.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<_> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_path_buf(), std::fs::read(e.path()).unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn a_full_disk_leaves_no_package_and_no_temporary_file() {
    let out_dir = tempfile::tempdir().unwrap();
    let before = snapshot(&disc());
    // The package of the sample disc is ~80 KB: a 64 KiB file system fills up while writing.
    let script = format!(
        "mount -t tmpfs -o size=64k dicompack-full '{dir}' || exit 97; \
         '{bin}' pack '{disc}' -o '{dir}/out.zip'; code=$?; ls -A '{dir}'; exit $code",
        dir = out_dir.path().display(),
        bin = bin().display(),
        disc = disc().display()
    );
    let out = Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .output();
    let out = match out {
        Ok(o) if o.status.code() != Some(97) => {
            interop_when("a_full_disk_leaves_no_package", None);
            o
        }
        other => {
            interop_when(
                "a_full_disk_leaves_no_package",
                Some(format!(
                    "cannot mount a small file system here (unshare -rm; mount -t tmpfs): {other:?}"
                )),
            );
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "pack on a full disk: {stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("No space left") || stderr.to_lowercase().contains("space"),
        "the error must say the disk is full: {stderr}"
    );
    // `ls -A` of the mounted folder, printed after the run: nothing may remain.
    let listed: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.starts_with("Packed") && !l.starts_with("Fingerprint"))
        .filter(|l| l.ends_with(".zip") || l.contains("dicompack") || l.contains("partial"))
        .collect();
    assert!(listed.is_empty(), "files left on the full disk: {listed:?}");
    assert_eq!(before, snapshot(&disc()), "the input changed");
}

/// A pack that takes long enough to be interrupted: the whole pydicom set when present,
/// otherwise the sample disc many times over.
fn big_input(tmp: &Path) -> Vec<PathBuf> {
    let pyd = pydicom_files();
    if pyd.is_dir() {
        return vec![pyd];
    }
    (0..40)
        .map(|i| {
            let d = tmp.join(format!("copy{i}"));
            copy_dir(&disc(), &d);
            d
        })
        .collect()
}

fn interrupt_with(signal: i32) {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = big_input(tmp.path());
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let target = out_dir.join("p.zip");
    let child = Command::new(bin())
        .arg("pack")
        .args(&inputs)
        .arg("--allow-multiple-patients")
        .arg("-o")
        .arg(&target)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(30));
    // SAFETY: sending a signal to our own child process.
    let sent = unsafe { libc::kill(child.id() as i32, signal) };
    assert_eq!(sent, 0);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(0) || out.status.code() == Some(3) {
        // It finished before the signal arrived: then the package must be whole.
        let v = Command::new(bin())
            .arg("verify")
            .arg(&target)
            .output()
            .unwrap();
        assert_eq!(
            v.status.code(),
            Some(0),
            "a package that finished must verify"
        );
        return;
    }
    assert_eq!(out.status.code(), Some(1), "interrupted pack: {stderr}");
    assert!(
        stderr.contains("stopped"),
        "the message must say it stopped: {stderr}"
    );
    assert!(!target.exists(), "a package was left at the final name");
    assert!(
        names(&out_dir).is_empty(),
        "left behind: {:?}",
        names(&out_dir)
    );
}

#[test]
fn sigint_leaves_no_package_and_no_temporary_file() {
    interrupt_with(libc::SIGINT);
}

#[test]
fn sigterm_leaves_no_package_and_no_temporary_file() {
    interrupt_with(libc::SIGTERM);
}

/// A FUSE view of a copy of the sample disc in which one file fails like a scratched disc:
/// every read past `offset` gets EIO (tests/util/eio_fs.py). Unmounted on drop.
struct ScratchedDisc {
    child: std::process::Child,
    mnt: PathBuf,
}

impl ScratchedDisc {
    /// `failures`: only that many reads fail, then the bytes come (a marginal sector).
    fn mount(
        check: &str,
        tmp: &Path,
        bad: &str,
        offset: u64,
        failures: Option<u32>,
    ) -> Option<ScratchedDisc> {
        if !interop(check, &[Need::Fuse]) {
            return None;
        }
        let src = tmp.join("src");
        copy_dir(&disc(), &src);
        let mnt = tmp.join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        let script = support_script("eio_fs.py");
        let child = Command::new("python3")
            .arg(script)
            .args([src.as_os_str(), mnt.as_os_str()])
            .args([bad, &offset.to_string()])
            .args(failures.map(|n| n.to_string()))
            .spawn()
            .unwrap();
        let disc = ScratchedDisc { child, mnt };
        for _ in 0..100 {
            if disc.mnt.join("DICOMDIR").exists() {
                return Some(disc);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the FUSE view did not come up in 10 s");
    }
}

impl Drop for ScratchedDisc {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mnt).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const BAD: &str = "DICOM/ST000001/SE000000/IM000000"; // 39,220 bytes; header well under 32 KiB

/// A scratched disc: the bytes of one image past 36,000 cannot be read, however often they are
/// tried. `scan --medium fast` (headers only) does not reach them; `scan` (a FUSE view is read as
/// a slow medium: every byte, in disc order), `scan --read-all` and `pack` do, and report that
/// one file by name (for people) and as `read_error` (in --json), exit 3, while everything else
/// is used. The package holds the rest and verifies.
#[test]
fn a_read_error_in_the_middle_of_a_file_leaves_out_that_file_only() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(disc) = ScratchedDisc::mount(
        "a_read_error_in_the_middle_of_a_file_leaves_out_that_file_only",
        tmp.path(),
        BAD,
        36_000,
        None,
    ) else {
        return;
    };
    let run = |args: &[&std::ffi::OsStr]| {
        let out = Command::new(bin()).args(args).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    };
    // Exit code and stdout alone: the JSON document.
    let run_json = |args: &[&std::ffi::OsStr]| {
        let out = Command::new(bin()).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let mnt = disc.mnt.as_os_str();

    let (code, text) = run(&["scan".as_ref(), mnt, "--medium".as_ref(), "fast".as_ref()]);
    assert_eq!(
        code,
        Some(0),
        "a header-only scan does not read that far:\n{text}"
    );
    let (code, text) = run(&["scan".as_ref(), mnt]);
    assert_eq!(
        code,
        Some(3),
        "scan in disc order reads every byte:\n{text}"
    );
    assert!(
        text.lines().any(|l| l.contains(BAD)),
        "{BAD} not named:\n{text}"
    );

    let (code, text) = run(&["scan".as_ref(), mnt, "--read-all".as_ref()]);
    assert_eq!(code, Some(3), "scan --read-all:\n{text}");
    assert!(
        text.lines().any(|l| l.contains(BAD)),
        "{BAD} not named:\n{text}"
    );
    // The only file left out, and for the reason it is: its bytes cannot be read.
    let only_read_error = |what: &str, code: Option<i32>, json: &str| {
        assert_eq!(code, Some(3), "{what}:\n{json}");
        let doc: serde_json::Value =
            serde_json::from_str(json).unwrap_or_else(|e| panic!("{what}: {e}:\n{json}"));
        let skipped: Vec<(&str, &str)> = doc["skipped"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: no `skipped` array:\n{json}"))
            .iter()
            .map(|s| {
                (
                    s["path"].as_str().unwrap_or_default(),
                    s["code"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert!(
            matches!(skipped[..], [(path, "read_error")] if path_is(path, BAD)),
            "{what}: expected only {BAD} skipped as read_error: {skipped:?}"
        );
    };
    let (code, json) = run_json(&[
        "scan".as_ref(),
        mnt,
        "--read-all".as_ref(),
        "--json".as_ref(),
    ]);
    only_read_error("scan --read-all --json", code, &json);

    let zip = tmp.path().join("p.zip");
    let (code, text) = run(&[
        "pack".as_ref(),
        mnt,
        "-o".as_ref(),
        zip.as_os_str(),
        "--no-thumbnails".as_ref(),
    ]);
    assert_eq!(code, Some(3), "pack:\n{text}");
    assert!(
        text.lines()
            .any(|l| l.contains(BAD) || l.contains("IM000000")),
        "{BAD} not named by pack:\n{text}"
    );
    let (code, json) = run_json(&[
        "pack".as_ref(),
        mnt,
        "-o".as_ref(),
        tmp.path().join("p2.zip").as_os_str(),
        "--no-thumbnails".as_ref(),
        "--json".as_ref(),
    ]);
    only_read_error("pack --json", code, &json);
    let (code, text) = run(&["verify".as_ref(), zip.as_os_str()]);
    assert_eq!(
        code,
        Some(0),
        "the package of the rest must verify:\n{text}"
    );
}

/// A marginal sector: the first two reads past 36,000 of one image fail, the third succeeds, as
/// a drive often manages on another try. The slow-medium reader tries again after a pause, so
/// nothing is left out: exit 0, every image packed, and the package verifies.
#[test]
fn a_read_error_that_goes_away_on_a_retry_costs_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(disc) = ScratchedDisc::mount(
        "a_read_error_that_goes_away_on_a_retry_costs_nothing",
        tmp.path(),
        BAD,
        36_000,
        Some(2),
    ) else {
        return;
    };
    let zip = tmp.path().join("p.zip");
    let out = Command::new(bin())
        .arg("pack")
        .arg(&disc.mnt)
        .arg("-o")
        .arg(&zip)
        .args(["--no-thumbnails", "--json"])
        .output()
        .unwrap();
    let json = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "pack after a retried read:\n{json}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        doc["skipped"].as_array().is_none_or(|a| a.is_empty()),
        "nothing may be left out: {json}"
    );
    let v = Command::new(bin())
        .arg("verify")
        .arg(&zip)
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(0), "the package must verify");
    // The same images as a pack of the undamaged copy: none lost to the retried read.
    let whole = tmp.path().join("whole.zip");
    let ok = Command::new(bin())
        .arg("pack")
        .arg(tmp.path().join("src"))
        .arg("-o")
        .arg(&whole)
        .arg("--no-thumbnails")
        .status()
        .unwrap();
    assert_eq!(ok.code(), Some(0));
    let dicom = |p: &Path| {
        let mut entries: Vec<(String, Vec<u8>)> = read_zip(p)
            .into_iter()
            .filter(|(n, _)| n.starts_with("DICOM/"))
            .collect();
        entries.sort();
        entries
    };
    let (got, want) = (dicom(&zip), dicom(&whole));
    assert!(!want.is_empty());
    assert!(
        got == want,
        "the images differ from those of the undamaged copy"
    );
}
