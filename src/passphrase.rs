//! The passphrase of an encrypted package: where it comes from, and a strong one made of words.
//!
//! A passphrase is never taken from the command line (any user of the machine can read a
//! process's arguments, and shells keep them in their history): it comes from a file, from the
//! environment (`DICOMPACK_PASSPHRASE`, for scripts), from a person at a terminal (asked twice,
//! not echoed), or is made here from common words, to be read out over the phone. It is never
//! printed by `Debug`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The environment variable a script sets to give the passphrase.
pub const ENV: &str = "DICOMPACK_PASSPHRASE";
/// Words in a generated passphrase: 7 words of the EFF short list (1,296 words) give 72 bits,
/// beyond guessing even at the few PBKDF2 rounds WinZip AES asks for.
const WORDS: usize = 7;
/// Fewer characters than this is refused: WinZip AES derives its key with only 1,000 rounds.
pub const MIN_LEN: usize = 10;

/// A passphrase. Its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Passphrase(String);

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(…)")
    }
}

impl Passphrase {
    pub fn new(s: impl Into<String>) -> Result<Passphrase, PassphraseError> {
        let s = s.into();
        if s.chars().count() < MIN_LEN {
            return Err(PassphraseError::TooShort);
        }
        Ok(Passphrase(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `WORDS` common words chosen by the OS's random source, joined by hyphens.
    pub fn generate() -> Result<Passphrase, PassphraseError> {
        let list = diceware_wordlists::Wordlist::EffShort1.get_list();
        let n = list.len() as u32;
        // The largest multiple of n below 2^32: values past it are drawn again, so every word
        // is equally likely.
        let zone = u32::MAX - u32::MAX % n;
        let mut words = Vec::with_capacity(WORDS);
        while words.len() < WORDS {
            let v = getrandom::u32().map_err(|e| PassphraseError::NoRandom(e.to_string()))?;
            if v < zone
                && let Some(w) = list.get((v % n) as usize)
            {
                words.push(*w);
            }
        }
        Ok(Passphrase(words.join("-")))
    }

    /// The first line of `path` (a trailing newline is not part of it).
    pub fn from_file(path: &Path) -> Result<Passphrase, PassphraseError> {
        let read = |source| PassphraseError::File {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(read)?;
        if meta.len() > 64 * 1024 {
            return Err(PassphraseError::NotAPassphraseFile(path.to_path_buf()));
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        let line = text.lines().next().unwrap_or_default();
        Passphrase::new(line)
    }

    /// `DICOMPACK_PASSPHRASE`, when set.
    pub fn from_env() -> Result<Option<Passphrase>, PassphraseError> {
        match std::env::var(ENV) {
            Ok(v) => Passphrase::new(v).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(PassphraseError::NotUnicode),
        }
    }

    /// Asks a person at the terminal, without echo; twice when `confirm` (a new passphrase).
    pub fn ask(confirm: bool) -> Result<Passphrase, PassphraseError> {
        let first =
            rpassword::prompt_password("Passphrase: ").map_err(PassphraseError::Terminal)?;
        if confirm {
            let second = rpassword::prompt_password("The same passphrase again: ")
                .map_err(PassphraseError::Terminal)?;
            if first != second {
                return Err(PassphraseError::Mismatch);
            }
        }
        Passphrase::new(first)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PassphraseError {
    #[error(
        "the passphrase is too short: use at least {MIN_LEN} characters, or --passphrase generate"
    )]
    TooShort,
    #[error("the two passphrases typed differ")]
    Mismatch,
    #[error("cannot read the passphrase file {}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is far too large to be a passphrase file", .0.display())]
    NotAPassphraseFile(PathBuf),
    #[error("{ENV} is not valid text")]
    NotUnicode,
    #[error("cannot ask for the passphrase: {0}")]
    Terminal(#[source] io::Error),
    #[error(
        "no passphrase: give one with --passphrase-file FILE or {ENV}, or make one with --passphrase generate"
    )]
    Missing,
    #[error(
        "a passphrase is never given on the command line (others on this computer can read it): use --passphrase-file FILE or {ENV}, or --passphrase generate"
    )]
    OnCommandLine,
    #[error("the system's random source failed: {0}")]
    NoRandom(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passphrases_are_words_and_differ() {
        let a = Passphrase::generate().unwrap();
        let b = Passphrase::generate().unwrap();
        assert_ne!(a, b);
        let list = diceware_wordlists::Wordlist::EffShort1.get_list();
        let words: Vec<&str> = a.as_str().split('-').collect();
        assert_eq!(words.len(), WORDS);
        assert!(words.iter().all(|w| list.contains(w)), "{}", a.as_str());
        assert_eq!(format!("{a:?}"), "Passphrase(…)");
    }

    #[test]
    fn short_ones_are_refused_and_files_give_their_first_line() {
        assert!(matches!(
            Passphrase::new("short"),
            Err(PassphraseError::TooShort)
        ));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pass");
        std::fs::write(&p, "correct horse battery\nsecond line\n").unwrap();
        assert_eq!(
            Passphrase::from_file(&p).unwrap().as_str(),
            "correct horse battery"
        );
    }
}
