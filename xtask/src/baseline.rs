//! The hidden `parse-baseline DIR [--jobs N]` task: the child process of the baseline row.
//!
//! It walks `DIR`, reads every `.rs` file and hands it to `syn::parse_file` on rayon's pool,
//! dropping each tree right away: the least any syn-based lint has to do. It prints one JSON
//! object on stdout (`files`, `parsed`, `parse_errors`, `not_utf8`) for the parent to read,
//! and one line on stderr for each file syn rejects.

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use rayon::prelude::*;

use crate::{corpus, flag_value, parse_jobs, Result};

#[derive(Default, Clone, Copy)]
struct Tally {
    files: u64,
    parsed: u64,
    parse_errors: u64,
    not_utf8: u64,
}

impl Tally {
    fn add(self, o: Tally) -> Tally {
        Tally {
            files: self.files + o.files,
            parsed: self.parsed + o.parsed,
            parse_errors: self.parse_errors + o.parse_errors,
            not_utf8: self.not_utf8 + o.not_utf8,
        }
    }
}

pub fn main(args: &[String]) -> Result<ExitCode> {
    let mut dir = None;
    let mut jobs = None;
    let mut i = 0;
    while i < args.len() {
        if let Some(v) = flag_value(args, &mut i, "--jobs")? {
            jobs = Some(parse_jobs(v)?);
        } else if dir.is_none() && !args[i].starts_with('-') {
            dir = Some(PathBuf::from(&args[i]));
        } else {
            return Err(format!("parse-baseline: unexpected argument `{}`", args[i]));
        }
        i += 1;
    }
    let dir = dir.ok_or("usage: xtask parse-baseline DIR [--jobs N]")?;
    if let Some(n) = jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| format!("rayon pool: {e}"))?;
    }

    let files = corpus::rust_files(&dir)?;
    let tally = files
        .par_iter()
        .map(|path| {
            let one = Tally {
                files: 1,
                ..Tally::default()
            };
            let Ok(bytes) = fs::read(path) else {
                return Err(format!("reading {}", path.display()));
            };
            Ok(match String::from_utf8(bytes) {
                Err(_) => Tally { not_utf8: 1, ..one },
                Ok(text) => match syn::parse_file(&text) {
                    Ok(_) => Tally { parsed: 1, ..one },
                    Err(e) => {
                        eprintln!("{}: {e}", path.display());
                        Tally {
                            parse_errors: 1,
                            ..one
                        }
                    }
                },
            })
        })
        .try_reduce(Tally::default, |a, b| Ok(a.add(b)))?;

    println!(
        "{}",
        serde_json::json!({
            "files": tally.files,
            "parsed": tally.parsed,
            "parse_errors": tally.parse_errors,
            "not_utf8": tally.not_utf8,
            "threads": rayon::current_num_threads(),
        })
    );
    Ok(ExitCode::SUCCESS)
}
