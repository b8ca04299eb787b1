//! `dicompack scan DIR --json` on every broken or hostile input in testdata/hostile/scan/, and on
//! the filesystem oddities that cannot be committed (links, FIFOs, devices, permissions, files
//! vanishing, 20,000 entries). Every run is under a 1 GiB address-space bound and a timeout.
//! The outcomes are in testdata/hostile/expected.json (made by tools/make-hostile-corpus) and
//! EXPECTED.md. Each test reports every failing case at once.

use crate::util::*;
use serde_json::Value;
use std::path::Path;

/// Skipped files, ignored files, and the failures found on the way.
type Scanned = (Vec<ListedFile>, Vec<ListedFile>, Vec<String>);

/// Checks common to every scan: process health, JSON shape, the exit-code rule
/// (3 iff something was skipped). Returns (skipped, ignored, failures).
fn scan_checks(out: &Run) -> Scanned {
    let mut f = out.process_failures();
    if !f.is_empty() {
        return (Vec::new(), Vec::new(), f);
    }
    let doc = match out.try_json() {
        Ok(d) => d,
        Err(e) => {
            f.push(format!(
                "exit {:?}; {e}; stderr: {}",
                out.code,
                tail(&out.stderr)
            ));
            return (Vec::new(), Vec::new(), f);
        }
    };
    let skipped = listing(&doc, "skipped", &mut f);
    let ignored = listing(&doc, "ignored", &mut f);
    match out.code {
        Some(3) if skipped.is_empty() => f.push("exit 3 but `skipped` is empty".into()),
        Some(0) if !skipped.is_empty() => {
            f.push(format!("exit 0 but {} file(s) skipped", skipped.len()))
        }
        _ => {}
    }
    (skipped, ignored, f)
}

fn find<'a>(list: &'a [ListedFile], name: &str) -> Option<&'a ListedFile> {
    list.iter().find(|l| path_is(&l.path, name))
}

/// What is wrong with how one listed file is described: its code must be one of `code_any`;
/// an expectation without codes (where no code is right today, see its `code_note`) gives words
/// the reason must contain instead.
fn describe_failure(l: &ListedFile, code_any: &[String], reason_any: &[String]) -> Option<String> {
    if !code_any.is_empty() {
        return (!code_any.contains(&l.code)).then(|| {
            format!(
                "code {:?} is none of {code_any:?} (reason {:?})",
                l.code, l.reason
            )
        });
    }
    (!mentions_any(&l.reason, reason_any)).then(|| {
        format!(
            "reason {:?} names none of {reason_any:?} (code {:?})",
            l.reason, l.code
        )
    })
}

#[test]
fn hostile_scan_corpus() {
    let exp = expected();
    let cases = exp["scan"].as_array().expect("scan cases");
    assert!(
        cases.len() >= 30,
        "expected.json lists only {} scan cases",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in cases {
        let name = case["case"].as_str().expect("case name");
        let tmp = tempfile::tempdir().expect("tempdir");
        let disc = tmp.path().join("disc");
        copy_dir(&hostile().join("scan").join(name), &disc);
        if let Some(out) = case.get("place_outside").and_then(Value::as_str) {
            std::fs::copy(hostile().join("outside").join(out), tmp.path().join(out))
                .expect("place outside");
        }
        let out = Bounded::new(
            tmp.path(),
            &["scan", disc.to_str().expect("utf-8 path"), "--json"],
        )
        .go();
        let mut f = Vec::new();
        let (skipped, ignored, base) = scan_checks(&out);
        let healthy = base.is_empty();
        f.extend(base);
        let exits: Vec<i64> = case["exit"]
            .as_array()
            .expect("exit")
            .iter()
            .filter_map(Value::as_i64)
            .collect();
        if !out.timed_out
            && out.code.is_some()
            && !exits.contains(&i64::from(out.code.unwrap_or(-1)))
        {
            f.push(format!(
                "exit {:?}, expected one of {exits:?}; stderr: {}",
                out.code,
                tail(&out.stderr)
            ));
        }
        if healthy {
            for l in case["listed"].as_array().into_iter().flatten() {
                let file = l["path"].as_str().expect("listed path");
                let where_ = l["where"].as_str().unwrap_or("skipped");
                let optional = l.get("optional").and_then(Value::as_bool).unwrap_or(false);
                let code_any = strings(&l["code_any"]);
                let reason_any = strings(&l["reason_any"]);
                if code_any.is_empty() && reason_any.is_empty() {
                    f.push(format!(
                        "{file}: expected.json gives neither code_any nor reason_any"
                    ));
                }
                let hit = match where_ {
                    "skipped" => find(&skipped, file).map(|h| ("skipped", h)),
                    "ignored" => find(&ignored, file).map(|h| ("ignored", h)),
                    _ => find(&skipped, file)
                        .map(|h| ("skipped", h))
                        .or_else(|| find(&ignored, file).map(|h| ("ignored", h))),
                };
                let elsewhere = if where_ == "skipped" {
                    find(&ignored, file)
                } else if where_ == "ignored" {
                    find(&skipped, file)
                } else {
                    None
                };
                match hit {
                    Some((_, l)) => {
                        f.extend(
                            describe_failure(l, &code_any, &reason_any)
                                .map(|x| format!("{file}: {x}")),
                        );
                    }
                    None if optional && elsewhere.is_none() => {} // accepted: allowed for this case
                    None => f.push(format!(
                        "{file}: not listed in `{where_}`{}",
                        elsewhere
                            .map(|l| format!(
                                " (it is in the other list: {} {:?})",
                                l.code, l.reason
                            ))
                            .unwrap_or_default()
                    )),
                }
            }
            for a in strings(&case["accepted"]) {
                if let Some(l) = find(&skipped, &a).or_else(|| find(&ignored, &a)) {
                    f.push(format!(
                        "{a}: must be accepted, but listed as {} ({:?})",
                        l.code, l.reason
                    ));
                }
            }
            let mention_any = strings(&case["mention_any"]);
            if !mentions_any(&out.stdout, &mention_any) {
                f.push(format!("JSON mentions none of {mention_any:?}"));
            }
            for m in strings(&case["mention_also"]) {
                if !mentions_any(&out.stdout, std::slice::from_ref(&m)) {
                    f.push(format!("JSON does not mention {m:?}"));
                }
            }
            for u in strings(&case["forbid_uids"]) {
                if out.stdout.contains(&u) || out.stderr.contains(&u) {
                    f.push(format!(
                        "UID {u} of a file OUTSIDE the scanned folder appears in the output"
                    ));
                }
            }
        }
        for x in f {
            failures.push(format!("scan/{name}: {x}"));
        }
    }
    report("hostile scan corpus", &failures);
}

// ---------------------------------------------------------------------------------------------
// Filesystem cases, made at test time.

fn valid_image() -> Vec<u8> {
    std::fs::read(hostile().join("scan/dicomdir_missing_files/IMG0001"))
        .expect("valid image from the corpus")
}

fn secret() -> (Vec<u8>, String) {
    let bytes = std::fs::read(hostile().join("outside/SECRET.DCM")).expect("SECRET.DCM");
    let exp = expected();
    let uid = exp["scan"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["case"] == "dicomdir_dotdot")
        .and_then(|c| strings(&c["forbid_uids"]).into_iter().next())
        .expect("SECRET's UID in expected.json");
    (bytes, uid)
}

fn symlink(target: impl AsRef<Path>, link: impl AsRef<Path>) {
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

fn scan_dir(cwd: &Path, disc: &Path) -> Run {
    Bounded::new(cwd, &["scan", disc.to_str().expect("utf-8"), "--json"]).go()
}

/// The health checks, then: `listed` files appear in skipped/ignored with one of the codes,
/// `accepted` files appear in neither.
fn expect_listed(out: &Run, listed: &[(&str, &[&str])], accepted: &[&str]) -> Vec<String> {
    let (skipped, ignored, mut f) = scan_checks(out);
    if !f.is_empty() {
        return f;
    }
    if !matches!(out.code, Some(0) | Some(3)) {
        f.push(format!(
            "exit {:?}, expected 0 or 3; stderr: {}",
            out.code,
            tail(&out.stderr)
        ));
    }
    for (file, codes) in listed {
        let codes: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
        match find(&skipped, file).or_else(|| find(&ignored, file)) {
            None => f.push(format!("{file}: not listed in skipped or ignored")),
            Some(l) => f.extend(describe_failure(l, &codes, &[]).map(|x| format!("{file}: {x}"))),
        }
    }
    for a in accepted {
        if let Some(l) = find(&skipped, a).or_else(|| find(&ignored, a)) {
            f.push(format!(
                "{a}: must be accepted, but listed as {} ({:?})",
                l.code, l.reason
            ));
        }
    }
    f
}

/// A link that is not followed: looping, broken, or leading outside the input.
const LINK: &[&str] = &["link_not_followed"];

#[test]
fn hostile_fs_symlink_loops() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let disc = tmp.path().join("disc");
    std::fs::create_dir(&disc).expect("mkdir");
    std::fs::write(disc.join("IMG0001"), valid_image()).expect("write");
    symlink(".", disc.join("LOOP"));
    symlink("B", disc.join("A"));
    symlink("A", disc.join("B"));
    std::fs::create_dir(disc.join("SUB")).expect("mkdir");
    symlink("..", disc.join("SUB/UP"));
    let out = scan_dir(tmp.path(), &disc);
    let f = expect_listed(&out, &[("A", LINK), ("B", LINK)], &["IMG0001"]);
    report(
        "symlink loop",
        &f.into_iter()
            .map(|x| format!("symlink loop: {x}"))
            .collect::<Vec<_>>(),
    );
}

#[test]
fn hostile_fs_symlink_outside() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let disc = tmp.path().join("disc");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&disc).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    let (secret, uid) = secret();
    std::fs::write(outside.join("SECRET.DCM"), secret).expect("write");
    std::fs::write(disc.join("IMG0001"), valid_image()).expect("write");
    symlink("../outside/SECRET.DCM", disc.join("SECRET_LINK.DCM"));
    symlink(&outside, disc.join("OUTDIR"));
    let out = scan_dir(tmp.path(), &disc);
    let mut f = expect_listed(
        &out,
        &[("SECRET_LINK.DCM", LINK), ("OUTDIR", LINK)],
        &["IMG0001"],
    );
    if out.stdout.contains(&uid) {
        f.push(format!(
            "the UID {uid} of a file outside the input was scanned through a symlink"
        ));
    }
    report(
        "symlink outside",
        &f.into_iter()
            .map(|x| format!("symlink outside: {x}"))
            .collect::<Vec<_>>(),
    );
}

/// A FIFO or device in the folder is a special file, never opened.
const SPECIAL: &[&str] = &["special_file"];
/// A link to a device outside the input: not followed, or seen through as a special file.
const LINK_TO_SPECIAL: &[&str] = &["link_not_followed", "special_file"];

#[test]
fn hostile_fs_fifo_and_devices() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let disc = tmp.path().join("disc");
    std::fs::create_dir(&disc).expect("mkdir");
    std::fs::write(disc.join("IMG0001"), valid_image()).expect("write");
    let ok = std::process::Command::new("mkfifo")
        .arg(disc.join("PIPE.DCM"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "mkfifo failed");
    symlink("/dev/zero", disc.join("ZERO.DCM"));
    symlink("/dev/urandom", disc.join("URANDOM"));
    let mut listed: Vec<(&str, &[&str])> = vec![
        ("PIPE.DCM", SPECIAL),
        ("ZERO.DCM", LINK_TO_SPECIAL),
        ("URANDOM", LINK_TO_SPECIAL),
    ];
    // A real character device inside the folder (root with CAP_MKNOD only).
    let mknod = std::process::Command::new("mknod")
        .arg(disc.join("CHARDEV.DCM"))
        .args(["c", "1", "5"])
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if mknod {
        listed.push(("CHARDEV.DCM", SPECIAL));
    } else {
        eprintln!("note: mknod not permitted here; the char-device case was not run");
    }
    let out = scan_dir(tmp.path(), &disc);
    let f = expect_listed(&out, &listed, &["IMG0001"]);
    report(
        "FIFO / devices",
        &f.into_iter()
            .map(|x| format!("fifo/devices: {x}"))
            .collect::<Vec<_>>(),
    );
}

#[test]
fn hostile_fs_dangling_symlink() {
    // A file that is listed but gone when opened: the deterministic form of "vanished between
    // listing and reading".
    let tmp = tempfile::tempdir().expect("tempdir");
    let disc = tmp.path().join("disc");
    std::fs::create_dir(&disc).expect("mkdir");
    std::fs::write(disc.join("IMG0001"), valid_image()).expect("write");
    symlink("NOWHERE.DCM", disc.join("GONE.DCM"));
    let out = scan_dir(tmp.path(), &disc);
    // A broken link is not followed; were it followed, the file it names has vanished.
    let codes: &[&str] = &["link_not_followed", "vanished"];
    let f = expect_listed(&out, &[("GONE.DCM", codes)], &["IMG0001"]);
    report(
        "dangling symlink",
        &f.into_iter()
            .map(|x| format!("dangling symlink: {x}"))
            .collect::<Vec<_>>(),
    );
}

#[test]
fn hostile_fs_unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let disc = tmp.path().join("disc");
    std::fs::create_dir(&disc).expect("mkdir");
    std::fs::write(disc.join("IMG0001"), valid_image()).expect("write");
    std::fs::write(disc.join("LOCKED.DCM"), secret().0).expect("write");
    std::fs::set_permissions(
        disc.join("LOCKED.DCM"),
        std::fs::Permissions::from_mode(0o000),
    )
    .expect("chmod");
    let mut run = Bounded::new(
        tmp.path(),
        &["scan", disc.to_str().expect("utf-8"), "--json"],
    );
    if euid() == Some(0) {
        // Root reads anything, so chmod 000 proves nothing. Run the binary as `nobody` instead,
        // with a copy of it and the folder readable by everyone except LOCKED.DCM.
        if !have("setpriv") {
            eprintln!("note: running as root without setpriv: the permission case was NOT run");
            return;
        }
        let copy = tmp.path().join("dicompack");
        std::fs::copy(bin(), &copy).expect("copy binary");
        for (p, m) in [
            (tmp.path().to_path_buf(), 0o755),
            (disc.clone(), 0o755),
            (disc.join("IMG0001"), 0o644),
            (copy.clone(), 0o755),
        ] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(m)).expect("chmod");
        }
        run.program = Some(copy);
        run.as_uid = Some(65534);
    }
    let out = run.go();
    let mut f = expect_listed(
        &out,
        &[("LOCKED.DCM", &["permission_denied"])],
        &["IMG0001"],
    );
    if out.code == Some(0) {
        f.push("exit 0, but an unreadable candidate file must count as skipped (exit 3)".into());
    }
    report(
        "unreadable file",
        &f.into_iter()
            .map(|x| format!("unreadable file: {x}"))
            .collect::<Vec<_>>(),
    );
}

#[test]
fn hostile_fs_files_vanish_during_scan() {
    // Not deterministic by nature: a thread deletes files while the scan runs. Whatever the
    // interleaving, no panic, a JSON answer, and the exit-code rule.
    let tmp = tempfile::tempdir().expect("tempdir");
    let disc = tmp.path().join("disc");
    std::fs::create_dir(&disc).expect("mkdir");
    let img = valid_image();
    let n = 300;
    for i in 0..n {
        std::fs::write(disc.join(format!("I{i:07}")), &img).expect("write");
    }
    let d2 = disc.clone();
    let out = Bounded::new(
        tmp.path(),
        &["scan", disc.to_str().expect("utf-8"), "--json"],
    )
    .go_with(move || {
        for i in (0..n).rev() {
            let _ = std::fs::remove_file(d2.join(format!("I{i:07}")));
            if i % 10 == 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    });
    let (_, _, mut f) = scan_checks(&out);
    if f.is_empty() && !matches!(out.code, Some(0) | Some(3)) {
        f.push(format!(
            "exit {:?}, expected 0 or 3; stderr: {}",
            out.code,
            tail(&out.stderr)
        ));
    }
    report(
        "vanishing files",
        &f.into_iter()
            .map(|x| format!("vanishing files: {x}"))
            .collect::<Vec<_>>(),
    );
}

#[test]
fn hostile_fs_twenty_thousand_entries() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let disc = tmp.path().join("disc");
    std::fs::create_dir(&disc).expect("mkdir");
    for i in 0..20_000 {
        std::fs::write(disc.join(format!("J{i:07}")), b"junk").expect("write");
    }
    std::fs::write(disc.join("IMG0001"), valid_image()).expect("write");
    let out = scan_dir(tmp.path(), &disc);
    let (skipped, ignored, mut f) = scan_checks(&out);
    if f.is_empty() {
        if out.code != Some(0) {
            f.push(format!(
                "exit {:?}, expected 0 (junk only plus one image); stderr: {}",
                out.code,
                tail(&out.stderr)
            ));
        }
        if find(&skipped, "IMG0001")
            .or_else(|| find(&ignored, "IMG0001"))
            .is_some()
        {
            f.push("IMG0001 must be accepted".into());
        }
        if ignored.len() + skipped.len() < 20_000 {
            f.push(format!(
                "only {} of the 20,000 junk files are listed with a reason",
                ignored.len() + skipped.len()
            ));
        }
    }
    eprintln!("20,000 entries scanned in {:?}", out.elapsed);
    report(
        "20,000 entries",
        &f.into_iter()
            .map(|x| format!("20,000 entries: {x}"))
            .collect::<Vec<_>>(),
    );
}

/// `dicompack scan … --json | head -1`: the reader goes away before the JSON is written. A
/// closed stdout is not a reason to panic (exit 101).
#[test]
fn hostile_cli_stdout_closed_early() {
    let disc = hostile().join("scan/headerless_implicit_valid");
    let mut child = std::process::Command::new(bin())
        .args(["scan", disc.to_str().expect("utf-8"), "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take()); // close the read end at once: every write gets EPIPE
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(
        out.status.code(),
        Some(101),
        "panicked on a closed stdout: {}",
        tail(&stderr)
    );
    assert!(
        !stderr.contains("panicked"),
        "panicked on a closed stdout: {}",
        tail(&stderr)
    );
}

/// The 1 GiB address-space bound can pass for the wrong reason: a 2 KB file that makes the
/// parser ask for 1.4 GB fails that allocation gracefully under the bound, and the scan "passes".
/// So also measure what each input really costs: under a 2 GiB bound (so a real 4 GiB request
/// still cannot hurt the machine), peak RSS must stay under 512 MiB. Needs GNU time.
#[test]
fn hostile_scan_peak_rss() {
    if !interop("hostile_scan_peak_rss", &[Need::GnuTime]) {
        return;
    }
    const BUDGET_KIB: u64 = 512 * 1024;
    let mut inputs = Vec::new();
    for case in expected()["scan"].as_array().expect("scan cases") {
        inputs.push(
            hostile()
                .join("scan")
                .join(case["case"].as_str().expect("case")),
        );
    }
    for t in ["scan_bytes", "upstream_dicom_object"] {
        for e in std::fs::read_dir(repo().join("fuzz/regressions").join(t))
            .into_iter()
            .flatten()
            .flatten()
        {
            if !e.file_name().to_string_lossy().starts_with('.') {
                inputs.push(e.path());
            }
        }
    }
    let mut failures = Vec::new();
    for input in inputs {
        let tmp = tempfile::tempdir().expect("tempdir");
        let disc = tmp.path().join("disc");
        if input.is_dir() {
            copy_dir(&input, &disc);
        } else {
            std::fs::create_dir(&disc).expect("mkdir");
            std::fs::copy(&input, disc.join("INPUT.DCM")).expect("copy");
        }
        let rss = tmp.path().join("rss.txt");
        let mut run = Bounded::new(
            tmp.path(),
            &["scan", disc.to_str().expect("utf-8"), "--json"],
        );
        run.bound = 2 << 30;
        run.rss_file = Some(rss.clone());
        let out = run.go();
        let name = input
            .strip_prefix(repo())
            .unwrap_or(&input)
            .display()
            .to_string();
        failures.extend(
            out.process_failures()
                .into_iter()
                .map(|x| format!("{name}: {x}")),
        );
        match peak_rss_kib(&rss) {
            Some(k) if k > BUDGET_KIB => failures.push(format!(
                "{name}: peak RSS {} MiB for a {}-byte input (budget 512 MiB)",
                k / 1024,
                dir_bytes(&disc)
            )),
            Some(_) => {}
            None => failures.push(format!("{name}: no peak RSS from GNU time")),
        }
    }
    report("peak RSS", &failures);
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}
