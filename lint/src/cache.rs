//! The facts cache: what the per-file stage learned about each file, kept between runs.
//!
//! One pack file, `facts.bin`, in the cache folder (default `<lint root>/target/channel-lint-cache/`,
//! marked with a `CACHEDIR.TAG` so backup tools skip it). It holds one entry per source file,
//! keyed by the file's path relative to the lint root and the xxh3 hash of its bytes; the whole
//! pack is keyed by the tool version plus [`SCHEMA`] and the policy hash, so a new build or a
//! changed policy ignores every entry. An entry holds the prefilter's verdict on the file and,
//! when it was parsed, its facts, comments, directives and parse error: everything the per-file
//! stage produces. The index and the call graph are rebuilt from the facts on every run.
//!
//! Robustness: every entry carries its own checksum; a pack or entry that does not decode, or
//! whose checksum is wrong, is ignored (never a panic), and decoding is bounded by the file size
//! so a corrupt length cannot allocate without limit. The pack is written to a temporary file
//! and renamed over the old one, so a reader sees the old pack or the new one, never half of it.
//! A single pack loads faster than one file per source file (one open and one read instead of
//! thousands; see `docs/performance.md`).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use bincode::Options as _;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Span;
use crate::driver::plan::{Mode, UnsafeCheck};
use crate::facts::FileFacts;
use crate::source::Lexed;
use crate::suppress::Directive;

/// Bump when the layout of anything cached changes (facts types included), or what a cached
/// value means (the prefilter's `unsafe` verdict follows the rule's comment checks).
pub const SCHEMA: u32 = 23;
const MAGIC: &[u8; 8] = b"CLNTFCT1";
const PACK: &str = "facts.bin";
const TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by cargo-channel-lint.\n\
# For information about cache directory tags see https://bford.info/cachedir/\n";

/// The hash of a file's bytes that keys its entry.
pub fn content_hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

fn tool_key() -> String {
    format!("{}/{}", env!("CARGO_PKG_VERSION"), SCHEMA)
}

fn opts(limit: u64) -> impl bincode::Options {
    bincode::DefaultOptions::new().with_limit(limit)
}

/// What the per-file stage produced for a parsed file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Parsed {
    /// [`Mode::Unsafe`] (only `unsafe` sites kept) or [`Mode::Full`].
    pub mode: Mode,
    pub facts: FileFacts,
    /// Kept only when the file has `unsafe` sites (the only reader).
    pub lexed: Lexed,
    pub directives: Vec<Directive>,
    /// The parse error (span, message), if syn rejected the file.
    pub problem: Option<(Span, String)>,
    /// Path facts were trimmed to occurrences naming one of these words (None: not trimmed).
    pub trimmed_to: Option<Vec<String>>,
}

/// A [`Parsed`] whose parts live elsewhere (the run's files, comments and directives): encodes
/// to the same bytes as the owned value, so an entry can be written again after the rules
/// (with the bodies they parsed) without copying it back together.
#[derive(Serialize)]
pub(crate) struct ParsedRef<'a> {
    pub mode: Mode,
    pub facts: &'a FileFacts,
    pub lexed: &'a Lexed,
    pub directives: &'a [Directive],
    pub problem: &'a Option<(Span, String)>,
    pub trimmed_to: &'a Option<Vec<String>>,
}

/// An [`Entry`] of a [`ParsedRef`], encoded like it.
#[derive(Serialize)]
pub(crate) struct EntryRef<'a> {
    pub unsafe_check: Option<UnsafeCheck>,
    pub parsed: Option<ParsedRef<'a>>,
}

/// Encode an entry from its parts.
pub(crate) fn encode_ref(entry: &EntryRef) -> Vec<u8> {
    opts(u64::MAX).serialize(entry).unwrap_or_default()
}

/// One file's cache entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub unsafe_check: Option<UnsafeCheck>,
    pub parsed: Option<Parsed>,
}

#[derive(Serialize, Deserialize)]
struct RawEntry {
    rel: String,
    content_hash: u64,
    checksum: u64,
    blob: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Pack {
    tool: String,
    policy_hash: u64,
    entries: Vec<RawEntry>,
}

/// What the analysis asks of a facts cache: a store of opaque blobs keyed by a file's path
/// (relative to the lint root) and the hash of its bytes ([`content_hash`]). What a blob holds
/// is the driver's business (it encodes and decodes them); [`Cache`] is the store on disk.
pub trait FactsCache: Sync {
    /// The blob stored for `rel` with exactly this `content_hash`, if it is intact.
    fn get(&self, rel: &str, content_hash: u64) -> Option<&[u8]>;
    /// Keep this run's new blobs (rel, content hash, blob); others are kept. An error is for
    /// the caller to mention: the lint result never depends on the cache.
    fn put(&mut self, fresh: Vec<(String, u64, Vec<u8>)>) -> Result<(), String>;
}

impl FactsCache for Cache {
    fn get(&self, rel: &str, content_hash: u64) -> Option<&[u8]> {
        let (h, sum, blob) = self.raw.get(rel)?;
        (*h == content_hash && xxhash_rust::xxh3::xxh3_64(blob) == *sum).then_some(blob.as_slice())
    }

    /// Writes the pack (once: the entries move to disk, this value is left empty).
    fn put(&mut self, fresh: Vec<(String, u64, Vec<u8>)>) -> Result<(), String> {
        let this = std::mem::replace(
            self,
            Cache {
                dir: self.dir.clone(),
                policy_hash: self.policy_hash,
                raw: HashMap::new(),
            },
        );
        this.store(fresh).map(|_| ()).map_err(|e| e.to_string())
    }
}

/// Decode a blob (bounded by its size, so a corrupt length cannot allocate without limit).
pub(crate) fn decode(blob: &[u8]) -> Option<Entry> {
    opts(blob.len() as u64 * 64 + 4096).deserialize(blob).ok()
}

/// Encode an entry (done by the workers, in parallel).
pub(crate) fn encode(entry: &Entry) -> Vec<u8> {
    opts(u64::MAX).serialize(entry).unwrap_or_default()
}

/// A loaded cache: raw entries by path, decoded on demand (in parallel, by the workers).
pub struct Cache {
    dir: PathBuf,
    policy_hash: u64,
    raw: HashMap<String, (u64, u64, Vec<u8>)>,
}

impl Cache {
    /// Load the pack in `dir`; anything missing, old or corrupt gives an empty cache.
    pub fn load(dir: &Path, policy_hash: u64) -> Cache {
        let mut c = Cache {
            dir: dir.to_path_buf(),
            policy_hash,
            raw: HashMap::new(),
        };
        let Ok(bytes) = std::fs::read(dir.join(PACK)) else {
            return c;
        };
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return c;
        }
        let body = &bytes[MAGIC.len()..];
        let Ok(pack) = opts(body.len() as u64 * 2 + 1024).deserialize::<Pack>(body) else {
            return c;
        };
        if pack.tool != tool_key() || pack.policy_hash != policy_hash {
            return c;
        }
        c.raw = pack
            .entries
            .into_iter()
            .map(|e| (e.rel, (e.content_hash, e.checksum, e.blob)))
            .collect();
        c
    }

    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Is the stored entry of `rel` exactly this one (same hash and same encoding)?
    fn unchanged(&self, rel: &str, content_hash: u64, blob: &[u8]) -> bool {
        self.raw
            .get(rel)
            .is_some_and(|(h, _, b)| *h == content_hash && b.as_slice() == blob)
    }

    /// Store this run's entries (rel, content hash, encoded entry); entries of files this run
    /// did not see are kept. Writes only when something changed. Errors are returned for the
    /// caller to report as a note; the lint result never depends on the cache being written.
    fn store(mut self, fresh: Vec<(String, u64, Vec<u8>)>) -> std::io::Result<bool> {
        let changed = fresh
            .iter()
            .any(|(rel, h, blob)| !self.unchanged(rel, *h, blob));
        if !changed {
            return Ok(false);
        }
        for (rel, h, blob) in fresh {
            let sum = xxhash_rust::xxh3::xxh3_64(&blob);
            self.raw.insert(rel, (h, sum, blob));
        }
        let mut entries: Vec<RawEntry> = self
            .raw
            .into_iter()
            .map(|(rel, (content_hash, checksum, blob))| RawEntry {
                rel,
                content_hash,
                checksum,
                blob,
            })
            .collect();
        entries.sort_by(|a, b| a.rel.cmp(&b.rel));
        let pack = Pack {
            tool: tool_key(),
            policy_hash: self.policy_hash,
            entries,
        };
        std::fs::create_dir_all(&self.dir)?;
        let tag = self.dir.join("CACHEDIR.TAG");
        if !tag.is_file() {
            std::fs::write(&tag, TAG)?;
        }
        let tmp = self.dir.join(format!("{PACK}.tmp.{}", std::process::id()));
        let body = opts(u64::MAX)
            .serialize(&pack)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(MAGIC)?;
            f.write_all(&body)?;
        }
        std::fs::rename(&tmp, self.dir.join(PACK)).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })?;
        Ok(true)
    }
}
