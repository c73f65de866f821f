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
//! The pack also holds one *run record*: the last run's result (its diagnostics, before the
//! CLI's baseline and filters), keyed by a hash of everything the result is a function of (the
//! files, each one's bytes, the packages, the policy, the run's settings: the driver's
//! `run_key`). A run whose key matches returns the record without parsing or running a rule.
//!
//! Layout: a header (see `read_header`), then the blobs; loading reads the file once and keeps
//! each blob where it lies (no copy, no decode until an entry is asked for).
//!
//! Robustness: every entry carries its own checksum; a pack or entry that does not decode, or
//! whose checksum is wrong, is ignored (never a panic); every offset and length of the header
//! is checked against the file's size, and decoding an entry is bounded by its size, so a
//! corrupt length cannot allocate without limit. The pack is written to a temporary file
//! and renamed over the old one, so a reader sees the old pack or the new one, never half of it.
//! A single pack loads faster than one file per source file (one open and one read instead of
//! thousands; see `docs/performance.md`).

use std::collections::HashMap;
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
const MAGIC: &[u8; 8] = b"CLNTFCT2";
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

/// What the analysis asks of a facts cache: a store of opaque blobs keyed by a file's path
/// (relative to the lint root) and the hash of its bytes ([`content_hash`]). What a blob holds
/// is the driver's business (it encodes and decodes them); [`Cache`] is the store on disk.
pub trait FactsCache: Sync {
    /// The blob stored for `rel` with exactly this `content_hash`, if it is intact.
    fn get(&self, rel: &str, content_hash: u64) -> Option<&[u8]>;
    /// The run record stored under exactly this key (the hash of every input of a run), if it
    /// is intact: what the last run with the same inputs found. One is kept, the last run's.
    fn run_record(&self, key: u64) -> Option<&[u8]>;
    /// Keep this run's new blobs (rel, content hash, blob), others being kept, and its run
    /// record (key, blob) in place of the old one (None: the old one is dropped). An error is
    /// for the caller to mention: the lint result never depends on the cache.
    fn put(
        &mut self,
        fresh: Vec<(String, u64, Vec<u8>)>,
        run: Option<(u64, Vec<u8>)>,
    ) -> Result<(), String>;
}

impl FactsCache for Cache {
    fn get(&self, rel: &str, content_hash: u64) -> Option<&[u8]> {
        let e = self.raw.get(rel)?;
        let blob = self.blob(e);
        (e.content_hash == content_hash && xxhash_rust::xxh3::xxh3_64(blob) == e.checksum)
            .then_some(blob)
    }

    fn run_record(&self, key: u64) -> Option<&[u8]> {
        let (k, e) = self.run.as_ref()?;
        let blob = self.blob(e);
        (*k == key && xxhash_rust::xxh3::xxh3_64(blob) == e.checksum).then_some(blob)
    }

    /// Writes the pack (once: the entries move to disk, this value is left empty).
    fn put(
        &mut self,
        fresh: Vec<(String, u64, Vec<u8>)>,
        run: Option<(u64, Vec<u8>)>,
    ) -> Result<(), String> {
        let this = std::mem::replace(
            self,
            Cache {
                dir: self.dir.clone(),
                policy_hash: self.policy_hash,
                pack: Vec::new(),
                raw: HashMap::new(),
                run: None,
            },
        );
        this.store(fresh, run)
            .map(|_| ())
            .map_err(|e| e.to_string())
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

/// A loaded cache: the pack's bytes, and where each entry's blob lies in them (decoded on
/// demand, in parallel, by the workers).
pub struct Cache {
    dir: PathBuf,
    policy_hash: u64,
    /// The pack as read (entries point into it: loading copies no blob).
    pack: Vec<u8>,
    raw: HashMap<String, RawEntry>,
    /// The last run's record: its key, and the record (`content_hash` unused).
    run: Option<(u64, RawEntry)>,
}

/// Where one entry's blob is: in the loaded pack, or (written by this run) owned.
struct RawEntry {
    content_hash: u64,
    checksum: u64,
    blob: Blob,
}

enum Blob {
    InPack(std::ops::Range<usize>),
    Owned(Vec<u8>),
}

/// Reads the pack's header fields, every one bounds-checked: `None` when the bytes end early.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len())?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Some(s)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn str(&mut self) -> Option<&'a str> {
        let n = usize::try_from(self.u64()?).ok()?;
        std::str::from_utf8(self.take(n)?).ok()
    }
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u64(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

impl Cache {
    /// Load the pack in `dir`; anything missing, old or corrupt gives an empty cache.
    pub fn load(dir: &Path, policy_hash: u64) -> Cache {
        let mut c = Cache {
            dir: dir.to_path_buf(),
            policy_hash,
            pack: Vec::new(),
            raw: HashMap::new(),
            run: None,
        };
        let Ok(bytes) = std::fs::read(dir.join(PACK)) else {
            return c;
        };
        if let Some((raw, run)) = read_header(&bytes, policy_hash) {
            c.raw = raw;
            c.run = run;
            c.pack = bytes;
        }
        c
    }

    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    fn blob<'s>(&'s self, e: &'s RawEntry) -> &'s [u8] {
        match &e.blob {
            Blob::InPack(r) => &self.pack[r.clone()],
            Blob::Owned(b) => b,
        }
    }

    /// Is the stored entry of `rel` exactly this one (same hash and same encoding)?
    fn unchanged(&self, rel: &str, content_hash: u64, blob: &[u8]) -> bool {
        self.raw
            .get(rel)
            .is_some_and(|e| e.content_hash == content_hash && self.blob(e) == blob)
    }

    /// Store this run's entries (rel, content hash, encoded entry); entries of files this run
    /// did not see are kept. Writes only when something changed. Errors are returned for the
    /// caller to report as a note; the lint result never depends on the cache being written.
    fn store(
        mut self,
        fresh: Vec<(String, u64, Vec<u8>)>,
        run: Option<(u64, Vec<u8>)>,
    ) -> std::io::Result<bool> {
        let same_run = match (&self.run, &run) {
            (None, None) => true,
            (Some((k, e)), Some((key, blob))) => k == key && self.blob(e) == blob.as_slice(),
            _ => false,
        };
        let changed = fresh
            .iter()
            .any(|(rel, h, blob)| !self.unchanged(rel, *h, blob));
        if !changed && same_run {
            return Ok(false);
        }
        let run = run.map(|(key, blob)| {
            let checksum = xxhash_rust::xxh3::xxh3_64(&blob);
            let blob = Blob::Owned(blob);
            (
                key,
                RawEntry {
                    content_hash: 0,
                    checksum,
                    blob,
                },
            )
        });
        for (rel, content_hash, blob) in fresh {
            let checksum = xxhash_rust::xxh3::xxh3_64(&blob);
            let blob = Blob::Owned(blob);
            self.raw.insert(
                rel,
                RawEntry {
                    content_hash,
                    checksum,
                    blob,
                },
            );
        }
        let mut entries: Vec<(&String, &RawEntry)> = self.raw.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut out = Vec::with_capacity(self.pack.len().max(4096));
        out.extend_from_slice(MAGIC);
        put_str(&mut out, &tool_key());
        put_u64(&mut out, self.policy_hash);
        put_u64(&mut out, entries.len() as u64);
        let mut offset = 0u64;
        for (rel, e) in &entries {
            let len = self.blob(e).len() as u64;
            put_str(&mut out, rel);
            put_u64(&mut out, e.content_hash);
            put_u64(&mut out, e.checksum);
            put_u64(&mut out, offset);
            put_u64(&mut out, len);
            offset += len;
        }
        match &run {
            Some((key, e)) => {
                put_u64(&mut out, *key);
                put_u64(&mut out, e.checksum);
                put_u64(&mut out, offset);
                put_u64(&mut out, self.blob(e).len() as u64);
            }
            None => out.extend_from_slice(&[0; 32]),
        }
        for (_, e) in &entries {
            out.extend_from_slice(self.blob(e));
        }
        if let Some((_, e)) = &run {
            out.extend_from_slice(self.blob(e));
        }
        std::fs::create_dir_all(&self.dir)?;
        let tag = self.dir.join("CACHEDIR.TAG");
        if !tag.is_file() {
            std::fs::write(&tag, TAG)?;
        }
        let tmp = self.dir.join(format!("{PACK}.tmp.{}", std::process::id()));
        std::fs::write(&tmp, &out)?;
        std::fs::rename(&tmp, self.dir.join(PACK)).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })?;
        Ok(true)
    }
}

/// The entries and run record of a pack, or `None` when the pack is not this tool's and
/// policy's or is cut short. The header is `MAGIC`, the tool key, the policy hash, the entry
/// count, per entry its path, content hash, checksum and the offset and length of its blob,
/// then the run record's key, checksum, offset and length (all zero: none); the blobs follow,
/// offsets counting from the header's end. Every number is a little-endian u64, a string its
/// length and bytes. A blob's bytes are checked against its checksum when it is asked for.
type Header = (HashMap<String, RawEntry>, Option<(u64, RawEntry)>);

fn read_header(bytes: &[u8], policy_hash: u64) -> Option<Header> {
    let mut r = Reader { bytes, at: 0 };
    if r.take(MAGIC.len())? != MAGIC || r.str()? != tool_key() || r.u64()? != policy_hash {
        return None;
    }
    let n = r.u64()?;
    // Each header entry takes at least 40 bytes: a count the file cannot hold is corrupt.
    if n > (bytes.len() / 40) as u64 {
        return None;
    }
    let mut spans = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let rel = r.str()?;
        let (content_hash, checksum) = (r.u64()?, r.u64()?);
        let (offset, len) = (r.u64()?, r.u64()?);
        spans.push((rel, content_hash, checksum, offset, len));
    }
    let (run_key, run_sum, run_offset, run_len) = (r.u64()?, r.u64()?, r.u64()?, r.u64()?);
    let base = r.at as u64;
    let blob = |offset: u64, len: u64| -> Option<Blob> {
        let start = base.checked_add(offset)?;
        let end = start
            .checked_add(len)
            .filter(|&e| e <= bytes.len() as u64)?;
        Some(Blob::InPack(start as usize..end as usize))
    };
    let mut raw = HashMap::with_capacity(spans.len());
    for (rel, content_hash, checksum, offset, len) in spans {
        let blob = blob(offset, len)?;
        raw.insert(
            rel.to_string(),
            RawEntry {
                content_hash,
                checksum,
                blob,
            },
        );
    }
    let run = match run_len {
        0 => None,
        _ => {
            let blob = blob(run_offset, run_len)?;
            Some((
                run_key,
                RawEntry {
                    content_hash: 0,
                    checksum: run_sum,
                    blob,
                },
            ))
        }
    };
    Some((raw, run))
}
