//! Send stage: instances (from a verified package, or a surveyed disc) → a PACS, by DICOM
//! C-STORE ([`dimse`]) or DICOMweb STOW-RS ([`stow`]), with a result for every instance kept in
//! a [`receipt`] beside the source.
//!
//! A bounded number of workers (`jobs`) each hold one connection and take the next instance not
//! yet taken; the calling thread alone writes the receipt (at most once a second, and at the
//! end), so an interrupted send leaves a whole and true receipt, and a later send with it skips
//! what is already stored. Patient identities are reconciled on the way out ([`reconcile`]);
//! the source is only read.

pub mod dest;
pub mod dimse;
pub mod items;
pub mod prepare;
pub mod receipt;
pub mod reconcile;
pub mod status;
pub mod stow;

pub use dest::{BadDestination, Destination};
pub use items::{Item, Source};
pub use receipt::{Receipt, ReceiptError};
pub use reconcile::{NewIdentity, Reconciliation};
pub use status::{NotSent, Status};
pub use stow::Credentials;

use crate::cancel::Cancel;
use items::Loader;
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A STOW-RS request carries at most this many instances…
const STOW_BATCH_COUNT: usize = 32;
/// …and about this many bytes (one larger instance goes alone).
const STOW_BATCH_BYTES: u64 = 32 * 1024 * 1024;
/// Connection attempts in a row before a worker gives up on the PACS.
const CONNECT_ATTEMPTS: u32 = 3;
/// The receipt is written at most this often while sending.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// How to send.
#[derive(Debug, Clone)]
pub struct Options {
    pub destination: Destination,
    pub calling_aet: String,
    /// Connections at once.
    pub jobs: usize,
    pub connect_timeout: Duration,
    /// How long the PACS may stay silent during an association or one store.
    pub timeout: Duration,
    /// The largest PDU we accept (C-STORE).
    pub max_pdu: u32,
    pub credentials: Option<Credentials>,
    /// PEM file of the certificate authorities to trust for HTTPS.
    pub ca_file: Option<std::path::PathBuf>,
    pub reconciliation: Option<Reconciliation>,
}

/// What stopped the sending early, for the whole send rather than one instance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fatal {
    /// The PACS refused the association, or the service is not one.
    #[error("{0}")]
    Refused(String),
    /// The PACS could not be reached (after retrying).
    #[error("{0}")]
    Unreachable(String),
    /// The web service refused the credentials.
    #[error("{0}")]
    Credentials(String),
    #[error("{0}")]
    Setup(String),
}

/// What a connection did instead of answering.
#[derive(Debug, Clone)]
pub enum Link {
    /// Broke during a store: try again on a new connection.
    Lost(String),
    /// The peer said something that makes no sense: the connection is given up.
    Protocol(String),
    /// Could not connect.
    Unreachable(String),
    /// No use trying again.
    Fatal(Fatal),
}

impl Link {
    fn detail(&self) -> String {
        match self {
            Link::Lost(s) | Link::Protocol(s) | Link::Unreachable(s) => s.clone(),
            Link::Fatal(f) => f.to_string(),
        }
    }
}

/// One try at one instance.
pub enum Attempt {
    /// The PACS's answer (or why it was not sent); the syntax it went in.
    Done(Status, String),
    Broken(Link),
}

/// What the send did.
#[derive(Debug)]
pub struct Sent {
    /// Every instance of the source, in source order, with its outcome.
    pub outcomes: Vec<(Item, Status)>,
    /// Already stored by an earlier send (per the receipt): not sent again.
    pub already_stored: usize,
    /// Sent by this run (stored or not).
    pub attempted: usize,
    /// Bytes of the instances sent by this run.
    pub bytes: u64,
    pub elapsed: Duration,
    /// What stopped the send early, if anything did.
    pub stopped: Option<Fatal>,
    pub cancelled: bool,
}

impl Sent {
    pub fn stored(&self) -> usize {
        self.outcomes.iter().filter(|(_, s)| s.is_stored()).count()
    }
}

/// Sends the instances of `source` not yet stored per `receipt`, updating it (and saving it at
/// `receipt_path`) as the answers come. `tick` is called once per instance sent.
pub fn send(
    source: &Source,
    opts: &Options,
    receipt: &mut Receipt,
    receipt_path: &std::path::Path,
    tick: &(dyn Fn() + Sync),
    cancel: &Cancel,
) -> Result<Sent, ReceiptError> {
    let start = Instant::now();
    let pending: Vec<usize> = (0..source.items.len())
        .filter(|&i| {
            source
                .items
                .get(i)
                .is_some_and(|it| !receipt.is_stored(&it.sop_instance_uid))
        })
        .collect();
    let already_stored = source.items.len() - pending.len();
    let mut results: Vec<Option<Status>> = vec![None; source.items.len()];
    let mut stopped = None;
    let mut bytes = 0u64;
    let mut attempted = 0usize;
    if let Some(r) = &opts.reconciliation {
        receipt.reconciliation = r
            .by_patient_id
            .iter()
            .map(|(old, new)| (old.clone(), new.patient_id.clone()))
            .collect();
    }
    receipt.save(receipt_path)?;
    if !pending.is_empty() {
        let queue = Queue::new(pending.clone());
        let (tx, rx) = mpsc::channel::<Report>();
        let now = modification_time();
        let jobs = opts.jobs.clamp(1, 64).min(pending.len());
        let fatal: Mutex<Option<Fatal>> = Mutex::new(None);
        let service = match &opts.destination {
            Destination::Stow { base_url } => match stow::Service::new(
                base_url,
                opts.credentials.as_ref(),
                opts.ca_file.as_deref(),
                opts.connect_timeout,
                opts.timeout,
            ) {
                Ok(s) => Some(s),
                Err(e) => {
                    *lock(&fatal) = Some(Fatal::Setup(e.to_string()));
                    None
                }
            },
            Destination::Dimse { .. } => None,
        };
        let contexts = {
            let refs: Vec<&Item> = pending
                .iter()
                .filter_map(|&i| source.items.get(i))
                .collect();
            dimse::contexts(&refs)
        };
        let mut last_save = Instant::now();
        std::thread::scope(|s| {
            if lock(&fatal).is_none() {
                for _ in 0..jobs {
                    let tx = tx.clone();
                    let (queue, fatal, contexts, service, now) =
                        (&queue, &fatal, &contexts, &service, &now);
                    s.spawn(move || {
                        let w = Worker {
                            source,
                            opts,
                            queue,
                            tx,
                            cancel,
                            now,
                        };
                        let end = match &opts.destination {
                            Destination::Dimse {
                                called_aet,
                                host,
                                port,
                            } => {
                                let peer = dimse::Peer {
                                    called_aet: called_aet.clone(),
                                    calling_aet: opts.calling_aet.clone(),
                                    host: host.clone(),
                                    port: *port,
                                    connect_timeout: opts.connect_timeout,
                                    timeout: opts.timeout,
                                    max_pdu: opts.max_pdu,
                                };
                                w.dimse(&peer, contexts)
                            }
                            Destination::Stow { .. } => match service {
                                Some(svc) => w.stow(svc),
                                None => Ok(()),
                            },
                        };
                        if let Err(f) = end {
                            lock(fatal).get_or_insert(f);
                            // One worker's PACS is every worker's PACS: the others stop too.
                            queue.close();
                        }
                    });
                }
            }
            drop(tx);
            for report in rx {
                if let Some(item) = source.items.get(report.index) {
                    if !matches!(
                        report.status,
                        Status::NotSent {
                            reason: NotSent::NotAttempted,
                            ..
                        }
                    ) {
                        attempted += 1;
                        bytes += item.size;
                    }
                    receipt.instances.insert(
                        item.sop_instance_uid.clone(),
                        receipt::Line {
                            file: item.file.clone(),
                            sop_class_uid: item.sop_class_uid.clone(),
                            sent_as: report.sent_as,
                            status: report.status.clone(),
                            at: receipt::now(),
                        },
                    );
                }
                if let Some(slot) = results.get_mut(report.index) {
                    *slot = Some(report.status);
                }
                tick();
                if last_save.elapsed() >= SAVE_EVERY {
                    // A failed save mid-way is tried again at the end, where it is reported.
                    let _ = receipt.save(receipt_path);
                    last_save = Instant::now();
                }
            }
        });
        stopped = fatal.into_inner().unwrap_or_else(|e| e.into_inner());
    }
    let cancelled = cancel.is_cancelled();
    let mut outcomes = Vec::with_capacity(source.items.len());
    for (i, item) in source.items.iter().enumerate() {
        let status = match results.get_mut(i).and_then(Option::take) {
            Some(s) => s,
            None => match receipt.instances.get(&item.sop_instance_uid) {
                Some(line) if line.status.is_stored() => line.status.clone(),
                _ => {
                    let status = Status::not_sent(NotSent::NotAttempted, "");
                    receipt.instances.insert(
                        item.sop_instance_uid.clone(),
                        receipt::Line {
                            file: item.file.clone(),
                            sop_class_uid: item.sop_class_uid.clone(),
                            sent_as: String::new(),
                            status: status.clone(),
                            at: receipt::now(),
                        },
                    );
                    status
                }
            },
        };
        outcomes.push((item.clone(), status));
    }
    receipt.save(receipt_path)?;
    Ok(Sent {
        outcomes,
        already_stored,
        attempted,
        bytes,
        elapsed: start.elapsed(),
        stopped,
        cancelled,
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Attribute Modification DateTime for this send (DT, UTC).
fn modification_time() -> String {
    let now = time::OffsetDateTime::now_utc();
    let f = time::macros::format_description!(
        "[year][month][day][hour][minute][second].[subsecond digits:6]+0000"
    );
    now.format(&f).unwrap_or_default()
}

/// One instance's outcome, from a worker to the receipt.
struct Report {
    index: usize,
    status: Status,
    sent_as: String,
}

/// The instances still to send, shared by the workers.
struct Queue {
    inner: Mutex<(Vec<usize>, usize)>,
}

impl Queue {
    fn new(pending: Vec<usize>) -> Queue {
        Queue {
            inner: Mutex::new((pending, 0)),
        }
    }

    fn next(&self) -> Option<usize> {
        let mut g = lock(&self.inner);
        let (list, pos) = &mut *g;
        let i = list.get(*pos).copied()?;
        *pos += 1;
        Some(i)
    }

    /// Up to `count` instances and about `max_bytes` (at least one).
    fn batch(&self, items: &[Item], count: usize, max_bytes: u64) -> Vec<usize> {
        let mut g = lock(&self.inner);
        let (list, pos) = &mut *g;
        let mut out = Vec::new();
        let mut total = 0u64;
        while let Some(&i) = list.get(*pos) {
            let size = items.get(i).map_or(0, |it| it.size);
            if !out.is_empty() && (out.len() >= count || total + size > max_bytes) {
                break;
            }
            out.push(i);
            total += size;
            *pos += 1;
        }
        out
    }

    /// No more instances are handed out (those left are reported not sent).
    fn close(&self) {
        let mut g = lock(&self.inner);
        let (list, pos) = &mut *g;
        *pos = list.len();
    }
}

/// One worker: one connection at a time.
struct Worker<'a> {
    source: &'a Source,
    opts: &'a Options,
    queue: &'a Queue,
    tx: mpsc::Sender<Report>,
    cancel: &'a Cancel,
    now: &'a str,
}

impl Worker<'_> {
    fn report(&self, index: usize, status: Status, sent_as: String) {
        let _ = self.tx.send(Report {
            index,
            status,
            sent_as,
        });
    }

    fn identity(&self, item: &Item) -> Option<&NewIdentity> {
        self.opts
            .reconciliation
            .as_ref()
            .and_then(|r| r.by_patient_id.get(&item.patient_id))
    }

    fn next(&self) -> Option<usize> {
        if self.cancel.is_cancelled() {
            return None;
        }
        self.queue.next()
    }

    fn dimse(&self, peer: &dimse::Peer, contexts: &[(String, Vec<String>)]) -> Result<(), Fatal> {
        let mut loader: Loader = self.source.loader();
        let mut assoc: Option<dimse::Association> = None;
        let mut failed_connects = 0u32;
        while let Some(index) = self.next() {
            let Some(item) = self.source.items.get(index) else {
                continue;
            };
            let loaded = match loader.load(item) {
                Ok(l) => l,
                Err(e) => {
                    self.report(
                        index,
                        Status::not_sent(NotSent::Unreadable, e.to_string()),
                        String::new(),
                    );
                    continue;
                }
            };
            let mut broken = 0;
            loop {
                if assoc.is_none() {
                    match dimse::Association::open(peer, contexts) {
                        Ok(a) => {
                            failed_connects = 0;
                            assoc = Some(a);
                        }
                        Err(link) => {
                            failed_connects += 1;
                            let fatal = match link {
                                Link::Fatal(f) => Some(f),
                                other if failed_connects >= CONNECT_ATTEMPTS => {
                                    Some(Fatal::Unreachable(other.detail()))
                                }
                                _ => None,
                            };
                            if let Some(f) = fatal {
                                self.report(
                                    index,
                                    Status::not_sent(NotSent::NotAttempted, ""),
                                    String::new(),
                                );
                                return Err(f);
                            }
                            std::thread::sleep(Duration::from_millis(
                                500 * u64::from(failed_connects),
                            ));
                            continue;
                        }
                    }
                }
                let Some(a) = assoc.as_mut() else {
                    continue;
                };
                match dimse::send_one(a, item, &loaded, self.identity(item), self.now) {
                    Attempt::Done(status, sent_as) => {
                        self.report(index, status, sent_as);
                        break;
                    }
                    Attempt::Broken(link) => {
                        // The association is gone; whether this one arrived is unknown.
                        if let Some(a) = assoc.take() {
                            a.abort();
                        }
                        broken += 1;
                        if broken > 1 || matches!(link, Link::Protocol(_)) {
                            self.report(
                                index,
                                Status::not_sent(NotSent::ConnectionLost, link.detail()),
                                String::new(),
                            );
                            break;
                        }
                    }
                }
            }
        }
        if let Some(a) = assoc {
            if self.cancel.is_cancelled() {
                a.abort();
            } else {
                a.release();
            }
        }
        Ok(())
    }

    fn stow(&self, service: &stow::Service) -> Result<(), Fatal> {
        let mut loader: Loader = self.source.loader();
        let items = &self.source.items;
        let mut failed_connects = 0u32;
        loop {
            if self.cancel.is_cancelled() {
                return Ok(());
            }
            let batch = self.queue.batch(items, STOW_BATCH_COUNT, STOW_BATCH_BYTES);
            if batch.is_empty() {
                return Ok(());
            }
            let mut loaded = Vec::with_capacity(batch.len());
            for &index in &batch {
                let Some(item) = items.get(index) else {
                    continue;
                };
                match loader.load(item) {
                    Ok(l) => loaded.push((index, item, l)),
                    Err(e) => self.report(
                        index,
                        Status::not_sent(NotSent::Unreadable, e.to_string()),
                        String::new(),
                    ),
                }
            }
            let mut parts = Vec::with_capacity(loaded.len());
            for (index, item, l) in &loaded {
                match prepare::part10(l, item, self.identity(item), self.now) {
                    Ok(p) => parts.push((*index, *item, p)),
                    Err(status) => self.report(*index, status, String::new()),
                }
            }
            if parts.is_empty() {
                continue;
            }
            let body: Vec<(&str, &[u8])> = parts
                .iter()
                .map(|(_, item, p)| (item.sop_instance_uid.as_str(), &*p.bytes))
                .collect();
            let mut tries = 0;
            let answer = loop {
                tries += 1;
                match service.store(&body) {
                    Ok(a) => break Ok(a),
                    Err(Link::Lost(_)) if tries < 2 => continue,
                    Err(Link::Unreachable(why)) => {
                        failed_connects += 1;
                        if failed_connects >= CONNECT_ATTEMPTS {
                            break Err(Link::Fatal(Fatal::Unreachable(why)));
                        }
                        std::thread::sleep(Duration::from_millis(500 * u64::from(failed_connects)));
                    }
                    Err(other) => break Err(other),
                }
            };
            match answer {
                Ok(statuses) => {
                    failed_connects = 0;
                    for (index, item, p) in &parts {
                        let status = statuses
                            .get(&item.sop_instance_uid)
                            .cloned()
                            .unwrap_or_else(|| stow::lost("no answer for it"));
                        self.report(*index, status, p.sent_as.clone());
                    }
                }
                Err(link) => {
                    let fatal = match &link {
                        Link::Fatal(f) => Some(f.clone()),
                        _ => None,
                    };
                    for (index, _, _) in &parts {
                        let status = if fatal.is_some() {
                            Status::not_sent(NotSent::NotAttempted, "")
                        } else {
                            stow::lost(&link.detail())
                        };
                        self.report(*index, status, String::new());
                    }
                    if let Some(f) = fatal {
                        return Err(f);
                    }
                }
            }
        }
    }
}

/// Why a send could not start.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Destination(#[from] BadDestination),
    #[error(transparent)]
    Package(#[from] items::PackageError),
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    #[error(transparent)]
    Mapping(#[from] reconcile::MappingError),
    /// The credentials could not be read (the value itself is never shown).
    #[error("{0}")]
    Credentials(String),
    #[error("{0}")]
    Usage(String),
}

impl SendError {
    /// Whether the request itself is wrong (exit 2) rather than the package or the PACS.
    pub fn is_usage(&self) -> bool {
        !matches!(self, SendError::Package(_))
    }
}

/// Credentials from the environment variable `var` (its value, never shown).
pub fn credentials_from_env(var: &str) -> Result<Credentials, SendError> {
    let value = std::env::var(var).map_err(|_| {
        SendError::Credentials(format!("the environment variable {var} is not set"))
    })?;
    Credentials::parse(&value).ok_or_else(|| {
        SendError::Credentials(format!(
            "the environment variable {var} holds neither USER:PASSWORD nor Bearer TOKEN"
        ))
    })
}

/// Credentials from the first line of a file.
pub fn credentials_from_file(path: &std::path::Path) -> Result<Credentials, SendError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SendError::Credentials(format!("cannot read {}: {e}", path.display())))?;
    let line = text.lines().next().unwrap_or_default();
    Credentials::parse(line).ok_or_else(|| {
        SendError::Credentials(format!(
            "{} holds neither USER:PASSWORD nor Bearer TOKEN on its first line",
            path.display()
        ))
    })
}
