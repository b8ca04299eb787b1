//! `dicompack ui`: the local web page for patients and front desks, who do not open terminals.
//!
//! A small blocking HTTP server (tiny_http; a page for one person needs no async runtime) on
//! 127.0.0.1, a small JSON API, and one page of plain HTML, CSS and JavaScript shipped inside
//! the binary (no build step, nothing fetched from the network). The page starts the same
//! `commands` functions the command line calls (see [`jobs`]) and polls their progress; there
//! is no second pipeline. Who may talk to the server, and which paths it accepts, is decided in
//! [`guard`]; where a person may read from or save to is [`places`].
//!
//! The server stops when the page has been closed for a while (the page sends a heartbeat,
//! and a goodbye when it is closed) and no package is being made or unpacked, or when
//! `cancel` is set (Ctrl-C); work still running then is cancelled and waited for, so a
//! half-written package is removed, never left behind.

pub mod guard;
pub mod jobs;
pub mod places;

use crate::cancel::Cancel;
use guard::{PathRefused, Secrets};
use jobs::{ExtractedView, Job, PackAsk, PackedView, Received, Scanned};
use serde::Deserialize;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tiny_http::{Header, Method, Request, Response, Server, StatusCode};

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("page.js");
const STYLE: &str = include_str!("page.css");

/// Request bodies are small JSON documents.
const BODY_MAX: u64 = 64 * 1024;
/// Server threads: the page polls while a preview or two load.
const THREADS: usize = 4;
/// After the page says goodbye (closed or reloaded), how long a reload has to come back.
const GOODBYE_GRACE: Duration = Duration::from_secs(10);
/// How long the URL waits for its first visit before the server gives up.
const FIRST_VISIT: Duration = Duration::from_secs(15 * 60);

/// What `dicompack ui` was asked.
#[derive(Debug, Clone)]
pub struct UiRequest {
    /// `127.0.0.1:PORT`; `None`: a free port.
    pub listen: Option<SocketAddr>,
    /// Open the default browser (otherwise the caller shows the URL).
    pub open_browser: bool,
    /// Stop when no heartbeat came for this long (the page sends one every few seconds;
    /// browsers slow timers of hidden tabs to about once a minute).
    pub idle_exit: Duration,
    /// Slows each packing step (for tests that press Cancel in the middle).
    pub tick_delay: Duration,
}

impl Default for UiRequest {
    fn default() -> UiRequest {
        UiRequest {
            listen: None,
            open_browser: true,
            idle_exit: Duration::from_secs(150),
            tick_delay: Duration::ZERO,
        }
    }
}

/// Why the server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The page was closed (no heartbeat for a while).
    PageClosed,
    /// Nobody opened the page.
    NeverOpened,
    /// Ctrl-C or a termination signal.
    Interrupted,
}

#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error("the page is only offered on 127.0.0.1 (this computer), not on {0}")]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {why}")]
    Listen { addr: String, why: String },
    #[error("no random numbers from the operating system: {0}")]
    Random(String),
}

/// Where the page is: `open_browser` says whether a browser was asked to open it.
pub struct Ready<'a> {
    pub url: &'a str,
    pub browser_opened: bool,
}

/// Runs the page until it is closed or `cancel` is set. `ready` is called once the server
/// listens, with the URL that holds the secret.
pub fn serve(req: &UiRequest, ready: &dyn Fn(Ready), cancel: &Cancel) -> Result<Closed, UiError> {
    let addr = req
        .listen
        .unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0));
    if addr.ip() != IpAddr::V4(Ipv4Addr::LOCALHOST) {
        return Err(UiError::NotLoopback(addr));
    }
    let server = Server::http(addr).map_err(|e| UiError::Listen {
        addr: addr.to_string(),
        why: e.to_string(),
    })?;
    let port = server
        .server_addr()
        .to_ip()
        .map(|a| a.port())
        .ok_or_else(|| UiError::Listen {
            addr: addr.to_string(),
            why: "no port".into(),
        })?;
    let secrets = Secrets::new().map_err(|e| UiError::Random(e.to_string()))?;
    let url = format!("http://127.0.0.1:{port}/?k={}", secrets.url_key);
    let home = places::home();
    let state = State {
        port,
        secrets,
        tick_delay: req.tick_delay,
        default_output: places::default_output(home.as_deref()),
        home,
        started: Instant::now(),
        seen: Mutex::new(None),
        said_goodbye: Mutex::new(None),
        stop: AtomicBool::new(false),
        work: Mutex::new(Work::default()),
    };
    let browser_opened = req.open_browser && open_browser(&url);
    ready(Ready {
        url: &url,
        browser_opened,
    });
    let closed = std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                while !state.stop.load(Ordering::SeqCst) {
                    match server.recv_timeout(Duration::from_millis(200)) {
                        Ok(Some(rq)) => handle(&state, rq),
                        Ok(None) => {}
                        Err(_) => break,
                    }
                }
            });
        }
        let closed = loop {
            std::thread::sleep(Duration::from_millis(100));
            if cancel.is_cancelled() {
                break Closed::Interrupted;
            }
            if let Some(why) = state.idle(req.idle_exit) {
                break why;
            }
        };
        state.stop.store(true, Ordering::SeqCst);
        closed
    });
    // Work still running is stopped and waited for: a cancelled pack removes its temporary file.
    let work = std::mem::take(&mut *lock(&state.work));
    work.stop_all();
    Ok(closed)
}

/// Asks the desktop to open `url` in the default browser.
fn open_browser(url: &str) -> bool {
    crate::platform::open_in_browser(url).is_ok()
}

/// A poisoned lock still holds usable data here (views and progress counters).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct State {
    port: u16,
    secrets: Secrets,
    tick_delay: Duration,
    home: Option<PathBuf>,
    default_output: PathBuf,
    started: Instant,
    /// The last request with the session cookie.
    seen: Mutex<Option<Instant>>,
    said_goodbye: Mutex<Option<Instant>>,
    stop: AtomicBool,
    work: Mutex<Work>,
}

/// The page's jobs: one of each kind at a time.
#[derive(Default)]
struct Work {
    scan: Option<Arc<Job<Scanned>>>,
    pack: Option<Arc<Job<PackedView>>>,
    receive: Option<Arc<Job<Received>>>,
    extract: Option<Arc<Job<ExtractedView>>>,
}

impl Work {
    fn stop_all(self) {
        if let Some(j) = self.scan {
            j.stop();
        }
        if let Some(j) = self.pack {
            j.stop();
        }
        if let Some(j) = self.receive {
            j.stop();
        }
        if let Some(j) = self.extract {
            j.stop();
        }
    }

    fn busy(&self) -> bool {
        self.pack.as_ref().is_some_and(|j| j.running())
            || self.extract.as_ref().is_some_and(|j| j.running())
    }
}

impl State {
    /// Whether the page is gone: no visit yet for [`FIRST_VISIT`], a goodbye without a return,
    /// or no heartbeat for `idle`. A package being made or unpacked is finished first: closing
    /// the tab by mistake must not throw away an hour of copying.
    fn idle(&self, idle: Duration) -> Option<Closed> {
        if lock(&self.work).busy() {
            return None;
        }
        let seen = *lock(&self.seen);
        let Some(seen) = seen else {
            return (self.started.elapsed() > FIRST_VISIT).then_some(Closed::NeverOpened);
        };
        let goodbye = *lock(&self.said_goodbye);
        if goodbye.is_some_and(|g| g > seen && g.elapsed() > GOODBYE_GRACE.min(idle)) {
            return Some(Closed::PageClosed);
        }
        (seen.elapsed() > idle).then_some(Closed::PageClosed)
    }

    fn input(&self) -> Option<PathBuf> {
        let work = lock(&self.work);
        let scan = work.scan.as_ref()?;
        match scan.outcome()? {
            Ok(s) => Some(s.input.clone()),
            Err(_) => None,
        }
    }
}

/// A response to send: status, content type, body, extra headers.
struct Reply {
    status: u16,
    kind: &'static str,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn json(v: &impl serde::Serialize) -> Reply {
        Reply {
            status: 200,
            kind: "application/json",
            body: serde_json::to_vec(v).unwrap_or_default(),
            headers: Vec::new(),
        }
    }
    fn text(status: u16, text: &str) -> Reply {
        Reply {
            status,
            kind: "text/plain; charset=utf-8",
            body: text.as_bytes().to_vec(),
            headers: Vec::new(),
        }
    }
    /// A refusal the page can show: `{"error": "..."}`.
    fn refuse(status: u16, why: &str) -> Reply {
        Reply {
            status,
            ..Reply::json(&serde_json::json!({ "error": why }))
        }
    }
    fn forbidden() -> Reply {
        Reply::text(
            403,
            "Refused. This page opens only from the link dicompack printed or the browser \
             window it opened. Start dicompack again to get a new link.",
        )
    }
}

fn header<'a>(rq: &'a Request, name: &str) -> Option<&'a str> {
    rq.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

fn handle(state: &State, mut rq: Request) {
    let reply = route(state, &mut rq);
    let mut resp = Response::from_data(reply.body).with_status_code(StatusCode(reply.status));
    let mut headers = vec![
        ("Content-Type", reply.kind.to_string()),
        ("Cache-Control", "no-store".into()),
        ("X-Content-Type-Options", "nosniff".into()),
        ("X-Frame-Options", "DENY".into()),
        ("Referrer-Policy", "no-referrer".into()),
        (
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
                .into(),
        ),
    ];
    headers.extend(reply.headers);
    for (k, v) in headers {
        if let Ok(h) = Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            resp.add_header(h);
        }
    }
    let _ = rq.respond(resp);
}

fn route(state: &State, rq: &mut Request) -> Reply {
    // DNS rebinding: a foreign name that resolves here still sends its own name.
    if !guard::host_is_ours(header(rq, "Host"), state.port) {
        return Reply::text(
            403,
            "Refused: this server answers only to 127.0.0.1 and localhost.",
        );
    }
    let url = rq.url().to_string();
    let path = url.split('?').next().unwrap_or("").to_string();
    let has_session = guard::cookie(header(rq, "Cookie"), guard::COOKIE)
        .is_some_and(|c| guard::same_secret(c, &state.secrets.session));
    let method = rq.method().clone();
    if method == Method::Get && path == "/" && !has_session {
        // The first visit: the secret from the URL becomes a cookie no other site can send.
        let key = guard::query_param(&url, "k");
        return if key.is_some_and(|k| guard::same_secret(&k, &state.secrets.url_key)) {
            Reply {
                status: 303,
                headers: vec![
                    ("Location", "/".into()),
                    ("Set-Cookie", guard::session_cookie(&state.secrets.session)),
                ],
                ..Reply::text(303, "")
            }
        } else {
            Reply::forbidden()
        };
    }
    if !has_session {
        return Reply::forbidden();
    }
    *lock(&state.seen) = Some(Instant::now());
    match method {
        Method::Get => get(state, &path, &url),
        Method::Post => {
            let token_ok = header(rq, guard::CSRF_HEADER)
                .is_some_and(|t| guard::same_secret(t, &state.secrets.csrf));
            let origin_ok = guard::origin_is_ours(header(rq, "Origin"), state.port);
            let json = header(rq, "Content-Type")
                .is_some_and(|c| c.trim().starts_with("application/json"));
            if path == "/api/bye" && origin_ok {
                // sendBeacon cannot set headers: the token comes in the body.
                let body = body(rq);
                if guard::same_secret(body.trim(), &state.secrets.csrf) {
                    *lock(&state.said_goodbye) = Some(Instant::now());
                    return Reply::text(204, "");
                }
                return Reply::forbidden();
            }
            if !(token_ok && origin_ok && json) {
                return Reply::refuse(403, "refused: not sent by this page");
            }
            let body = body(rq);
            post(state, &path, &body)
        }
        _ => Reply::refuse(405, "method not allowed"),
    }
}

fn body(rq: &mut Request) -> String {
    let mut s = String::new();
    let _ = rq.as_reader().take(BODY_MAX).read_to_string(&mut s);
    s
}

fn get(state: &State, path: &str, url: &str) -> Reply {
    match path {
        "/" => Reply {
            status: 200,
            kind: "text/html; charset=utf-8",
            body: PAGE.replace("@CSRF@", &state.secrets.csrf).into_bytes(),
            headers: Vec::new(),
        },
        "/page.js" => Reply {
            kind: "text/javascript; charset=utf-8",
            ..Reply::text(200, SCRIPT)
        },
        "/page.css" => Reply {
            kind: "text/css; charset=utf-8",
            ..Reply::text(200, STYLE)
        },
        "/api/places" => {
            let (drives, folders) = places::places(state.home.as_deref());
            Reply::json(&serde_json::json!({
                "drives": drives,
                "folders": folders,
                "default_output": state.default_output.display().to_string(),
            }))
        }
        "/api/browse" => {
            let asked = guard::query_param(url, "path").unwrap_or_else(|| {
                state
                    .home
                    .as_ref()
                    .map(|h| h.display().to_string())
                    .unwrap_or_else(|| "/".into())
            });
            let zips = guard::query_param(url, "zips").is_some_and(|z| z == "1");
            match guard::folder(&asked) {
                Ok(dir) => match places::list(&dir, zips) {
                    Ok(l) => Reply::json(&l),
                    Err(e) => {
                        Reply::refuse(403, &format!("{}: cannot be opened ({e})", dir.display()))
                    }
                },
                Err(e) => Reply::refuse(403, &e.to_string()),
            }
        }
        "/api/status" => {
            let work = lock(&state.work);
            Reply::json(&serde_json::json!({
                "scan": work.scan.as_deref().map(jobs::status),
                "pack": work.pack.as_deref().map(jobs::status),
                "receive": work.receive.as_deref().map(jobs::status),
                "extract": work.extract.as_deref().map(jobs::status),
            }))
        }
        "/api/preview" => {
            let id = guard::query_param(url, "id").and_then(|i| i.parse::<usize>().ok());
            let scan = lock(&state.work).scan.clone();
            let jpeg = scan.and_then(|j| match (j.outcome(), id) {
                (Some(Ok(s)), Some(id)) => jobs::lock_preview(&s, id),
                _ => None,
            });
            jpeg_reply(jpeg)
        }
        "/api/package-preview" => {
            let id = guard::query_param(url, "id").and_then(|i| i.parse::<usize>().ok());
            let receive = lock(&state.work).receive.clone();
            let jpeg = receive.and_then(|j| match (j.outcome(), id) {
                (Some(Ok(r)), Some(id)) => jobs::package_preview(&r, id),
                _ => None,
            });
            jpeg_reply(jpeg)
        }
        _ => Reply::text(404, "not found"),
    }
}

fn jpeg_reply(jpeg: Option<Vec<u8>>) -> Reply {
    match jpeg {
        Some(body) => Reply {
            status: 200,
            kind: "image/jpeg",
            body,
            headers: Vec::new(),
        },
        None => Reply::text(404, "no such preview"),
    }
}

#[derive(Deserialize)]
struct PathAsk {
    path: String,
}

#[derive(Deserialize)]
struct CancelAsk {
    job: String,
}

#[derive(Deserialize)]
struct ExtractAsk {
    folder: String,
    name: String,
}

fn refused(e: &PathRefused) -> Reply {
    Reply::refuse(403, &e.to_string())
}

fn post(state: &State, path: &str, body: &str) -> Reply {
    fn parse<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, Reply> {
        serde_json::from_str(body).map_err(|e| Reply::refuse(400, &format!("bad request: {e}")))
    }
    let delay = state.tick_delay;
    match path {
        "/api/heartbeat" => Reply::json(&serde_json::json!({ "ok": true })),
        "/api/scan" => {
            let ask: PathAsk = match parse(body) {
                Ok(a) => a,
                Err(r) => return r,
            };
            let input = match guard::resolve(&ask.path) {
                Ok(p) => p,
                Err(e) => return refused(&e),
            };
            let mut work = lock(&state.work);
            if work.busy() {
                return Reply::refuse(409, "wait until the package is made, or cancel it");
            }
            if let Some(old) = work.scan.take() {
                old.cancel.cancel();
            }
            let output = state.default_output.clone();
            work.scan = Some(Job::start(
                delay,
                move |job| jobs::scan(job, input, &output),
                jobs::draw_previews,
            ));
            Reply::json(&serde_json::json!({ "started": "scan" }))
        }
        "/api/pack" => {
            let ask: PackAsk = match parse(body) {
                Ok(a) => a,
                Err(r) => return r,
            };
            // Only what this page scanned is packed, only into the folder chosen here, never
            // onto the input.
            let Some(input) = state.input() else {
                return Reply::refuse(403, &PathRefused::NotChosen.to_string());
            };
            let mut name = ask.name.trim().to_string();
            if !name.to_ascii_lowercase().ends_with(".zip") {
                name.push_str(".zip");
            }
            let output = match guard::output_in(&ask.folder, &name, Some(&input)) {
                Ok(p) => p,
                Err(e) => return refused(&e),
            };
            let mut work = lock(&state.work);
            let Some(view) = work
                .scan
                .as_ref()
                .and_then(|j| j.outcome())
                .and_then(|o| o.ok())
                .map(|s| s.view.clone())
            else {
                return Reply::refuse(403, &PathRefused::NotChosen.to_string());
            };
            if work.busy() {
                return Reply::refuse(409, "a package is being made already");
            }
            let known: Vec<&str> = view
                .patients
                .iter()
                .flat_map(|p| &p.studies)
                .map(|s| s.uid.as_str())
                .collect();
            if ask.studies.iter().any(|s| !known.contains(&s.as_str())) {
                return Reply::refuse(400, "a study that this disc does not hold was asked for");
            }
            if ask.studies.is_empty() {
                return Reply::refuse(400, "choose at least one study");
            }
            let all = known.iter().all(|k| ask.studies.iter().any(|s| s == k));
            let bytes = jobs::bytes_of(&view, &ask.studies);
            let (studies, allow) = (ask.studies.clone(), ask.allow_multiple_patients);
            let job = Job::start(
                delay,
                move |job| {
                    job.meter.set_bytes(bytes);
                    jobs::pack(job, input, output, studies, all, allow)
                },
                |_| {},
            );
            work.pack = Some(job);
            Reply::json(&serde_json::json!({ "started": "pack" }))
        }
        "/api/open" => {
            let ask: PathAsk = match parse(body) {
                Ok(a) => a,
                Err(r) => return r,
            };
            let package = match guard::resolve(&ask.path) {
                Ok(p) => p,
                Err(e) => return refused(&e),
            };
            let mut work = lock(&state.work);
            if work.busy() {
                return Reply::refuse(409, "wait until the work under way is done, or cancel it");
            }
            if let Some(old) = work.receive.take() {
                old.cancel.cancel();
            }
            work.extract = None;
            work.receive = Some(Job::start(
                delay,
                move |job| jobs::receive(job, package),
                |_| {},
            ));
            Reply::json(&serde_json::json!({ "started": "receive" }))
        }
        "/api/extract" => {
            let ask: ExtractAsk = match parse(body) {
                Ok(a) => a,
                Err(r) => return r,
            };
            let mut work = lock(&state.work);
            let Some(received) = work
                .receive
                .as_ref()
                .and_then(|j| j.outcome())
                .and_then(|o| o.ok())
            else {
                return Reply::refuse(403, &PathRefused::NotChosen.to_string());
            };
            let dest = match guard::output_in(&ask.folder, &ask.name, None) {
                Ok(p) => p,
                Err(e) => return refused(&e),
            };
            if work.busy() {
                return Reply::refuse(409, "wait until the work under way is done");
            }
            let package = received.path.clone();
            work.extract = Some(Job::start(
                delay,
                move |job| jobs::extract(job, package, dest),
                |_| {},
            ));
            Reply::json(&serde_json::json!({ "started": "extract" }))
        }
        "/api/cancel" => {
            let ask: CancelAsk = match parse(body) {
                Ok(a) => a,
                Err(r) => return r,
            };
            let work = lock(&state.work);
            let cancel = match ask.job.as_str() {
                "scan" => work.scan.as_ref().map(|j| j.cancel.clone()),
                "pack" => work.pack.as_ref().map(|j| j.cancel.clone()),
                "receive" => work.receive.as_ref().map(|j| j.cancel.clone()),
                "extract" => work.extract.as_ref().map(|j| j.cancel.clone()),
                _ => None,
            };
            match cancel {
                Some(c) => {
                    c.cancel();
                    Reply::json(&serde_json::json!({ "cancelled": ask.job }))
                }
                None => Reply::refuse(404, "nothing to cancel"),
            }
        }
        _ => Reply::refuse(404, "not found"),
    }
}
