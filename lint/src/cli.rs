//! The command line, shared by both binaries: `cargo-channel-lint` (the cargo subcommand, from
//! `lint/`) and `channel-lint` (the repository root's package, what pre-commit's `language: rust`
//! installs). Parses arguments, finds the lint root and the policy, runs the pipeline
//! ([`crate::run`]), applies `--report-only` and `--baseline`, and prints the report.
//!
//! Exit codes: 0 no error-level finding · 1 error-level findings · 2 usage, config or I/O
//! error of the tool itself.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser};
use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::report::{self, Format};
use crate::{baseline, init, rules, Options, RunError};

#[derive(Parser, Debug)]
#[command(
    name = "cargo-channel-lint",
    bin_name = "cargo channel-lint",
    version,
    about = "Static channel-safety lint for async Rust: listener-send-await, banned-type, undocumented-unsafe",
    long_about = "Reads Rust sources with syn and checks the channel-safety rules. It never compiles, builds or runs the code it reads.",
    after_help = "Subcommand: `init [--force]` writes a starter channel-lint.toml for the workspace (see `init --help`)."
)]
pub struct Cli {
    /// Files or folders to lint (default: the workspace root). With --report-only: the files or
    /// folders whose findings are reported, while the whole workspace is analysed.
    pub paths: Vec<PathBuf>,
    /// Policy file (default: channel-lint.toml in the root or an ancestor, else
    /// [workspace.metadata.channel-lint] of the root Cargo.toml, else built-in defaults).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Find the workspace root from this Cargo.toml instead of the current directory.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// List the rules and their default levels.
    #[arg(long)]
    pub list_rules: bool,
    /// Print a rule's documentation.
    #[arg(long, value_name = "RULE")]
    pub explain: Option<String>,
    /// Show how a function is reached from the listener entry points (or why not), and the
    /// unresolved calls on the paths to it.
    #[arg(long, value_name = "FN")]
    pub explain_path: Option<String>,
    /// List the functions a pattern matches (as a `[listener] entry-points` entry would), with
    /// their qualified names and file:line.
    #[arg(long, value_name = "PATTERN")]
    pub list_functions: Option<String>,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Print only the summary line (human format).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// After the report, print the number of findings per rule (on stderr for json and sarif).
    #[arg(long)]
    pub statistics: bool,
    /// Analyse the whole workspace (call graph, name resolution, policy of the root) but report
    /// only findings in PATHS. For pre-commit hooks and editors: a change to a helper deep in the
    /// listener path is still traced back to the listener entry points.
    #[arg(long)]
    pub report_only: bool,
    /// Report only findings not recorded in this baseline file (see --write-baseline); baseline
    /// entries that no longer occur are listed on stderr (and in JSON output).
    #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
    pub baseline: Option<PathBuf>,
    /// Record every current finding in FILE (JSON) and exit 0: adopt the lint on a codebase
    /// with findings, then run with --baseline FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "report_only")]
    pub write_baseline: Option<PathBuf>,
    /// Print time spent per phase to stderr.
    #[arg(long)]
    pub timings: bool,
    /// Parse every file, not only those that can hold a finding (same diagnostics, slower;
    /// also reports grammar errors in files no rule needs). See docs/performance.md.
    #[arg(long)]
    pub no_prefilter: bool,
    /// Parse every function body of a parsed file with it, not only the bodies a rule reads
    /// (same diagnostics, slower; also reports grammar errors in bodies no rule reads).
    #[arg(long)]
    pub eager_bodies: bool,
    /// Analyse again even when nothing the result depends on changed since the last run with
    /// this cache (same diagnostics, slower; without it that run's result is reused).
    #[arg(long)]
    pub no_run_record: bool,
    /// Facts cache folder (default: target/channel-lint-cache under the workspace root).
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the facts cache.
    #[arg(long)]
    pub no_cache: bool,
}

pub fn render_error(err: &dyn miette::Diagnostic) -> String {
    let theme = if std::io::stderr().is_terminal() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let mut s = String::new();
    if GraphicalReportHandler::new_themed(theme)
        .render_report(&mut s, err)
        .is_err()
    {
        s = format!("{err}");
    }
    s
}

pub use crate::workspace::{absolute, find_root};

/// How the program was called: `cargo channel-lint` or `channel-lint` (for usage texts).
fn bin_name(argv0: Option<&OsString>) -> &'static str {
    let stem = argv0
        .map(PathBuf::from)
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()));
    if stem.as_deref() == Some("channel-lint") {
        "channel-lint"
    } else {
        "cargo channel-lint"
    }
}

/// Parse the arguments (after `channel-lint` inserted by cargo is removed).
pub fn parse(args: Vec<OsString>) -> Result<Cli, clap::Error> {
    let name = bin_name(args.first());
    let matches = Cli::command().bin_name(name).try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

/// The entry point of both binaries.
pub fn main() -> ExitCode {
    // `cargo channel-lint ARGS` runs `cargo-channel-lint channel-lint ARGS`.
    let mut args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "channel-lint") {
        args.remove(1);
    }
    if args.get(1).is_some_and(|a| a == "init") {
        let name = bin_name(args.first());
        args.remove(0);
        return init::main(name, args);
    }
    let cli = match parse(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match real_main(cli) {
        Ok(code) => ExitCode::from(code),
        Err(msg) => {
            eprint!("{msg}");
            ExitCode::from(2)
        }
    }
}

/// Keep only what is under one of `paths` (absolute); `rel` is relative to `root`.
fn in_paths(root: &Path, rel: &str, paths: &[PathBuf]) -> bool {
    let p = Path::new(rel);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        root.join(p)
    };
    paths.iter().any(|r| abs.starts_with(r))
}

fn real_main(cli: Cli) -> Result<u8, String> {
    let mut stdout = std::io::stdout().lock();
    if cli.list_rules {
        for r in rules::ALL {
            let _ = writeln!(
                stdout,
                "{:<28} {:<6} {}",
                r.id,
                r.default_level.as_str(),
                r.summary
            );
        }
        return Ok(0);
    }
    if let Some(id) = &cli.explain {
        return match rules::find(id) {
            Some(r) => {
                let _ = write!(stdout, "{}", r.doc);
                Ok(0)
            }
            None => Err(format!(
                "error: unknown rule `{id}`; `cargo channel-lint --list-rules` lists them\n"
            )),
        };
    }
    let cwd = std::env::current_dir()
        .map_err(|e| format!("error: cannot read the current directory: {e}\n"))?;
    let root = match &cli.manifest_path {
        Some(m) => {
            let m = absolute(m, &cwd);
            if !m.is_file() {
                return Err(format!(
                    "error: manifest `{}` does not exist\n",
                    m.display()
                ));
            }
            find_root(m.parent().unwrap_or(&cwd))
        }
        None => find_root(&cwd),
    };
    let paths: Vec<PathBuf> = cli.paths.iter().map(|p| absolute(p, &cwd)).collect();
    for p in &paths {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(format!("error: path `{}` does not exist\n", p.display()));
        }
    }
    // With --report-only the whole root is analysed and PATHS only filter the report.
    let (inputs, report_paths) = if cli.report_only {
        (Vec::new(), paths)
    } else {
        (paths, Vec::new())
    };
    let known = rules::ids();
    let policy = match &cli.config {
        Some(f) => channel_lint_policy::load_file(&absolute(f, &cwd), &known),
        None => {
            let start = match inputs.first() {
                Some(p) if p.is_dir() => p.clone(),
                Some(p) => p
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.clone()),
                None => root.clone(),
            };
            channel_lint_policy::discover(&start, &known)
        }
    }
    .map_err(|e| render_error(&e))?;
    let opts = Options {
        root: root.clone(),
        inputs,
        policy,
        jobs: cli.jobs,
        explain_path: cli.explain_path.clone(),
        list_functions: cli.list_functions.clone(),
    };
    let tuning = crate::Tuning {
        prefilter: !cli.no_prefilter,
        lazy_bodies: !cli.no_prefilter && !cli.eager_bodies,
        run_record: !cli.no_run_record,
        cache: if cli.no_cache {
            None
        } else {
            Some(match &cli.cache_dir {
                Some(d) => absolute(d, &cwd),
                None => root.join("target").join("channel-lint-cache"),
            })
        },
    };
    let mut outcome = match crate::run_tuned(&opts, &tuning) {
        Ok(o) => o,
        Err(RunError::Policy(e)) => return Err(render_error(&e)),
        Err(RunError::Io(e)) => return Err(format!("error: {e}\n")),
    };
    if cli.timings {
        for (phase, d) in &outcome.timings {
            eprintln!("{phase:>12}: {:>9.3} ms", d.as_secs_f64() * 1000.0);
            if *phase == "rules" {
                for (rule, d) in &outcome.rule_timings {
                    eprintln!("{:>12}  {:>9.3} ms  {rule}", "", d.as_secs_f64() * 1000.0);
                }
            }
        }
    }
    if let Some(note) = &outcome.cache_note {
        eprintln!("note: {note}");
    }
    if let Some(exp) = &outcome.explanation {
        let _ = write!(stdout, "{exp}");
        return Ok(0);
    }

    if let Some(file) = &cli.write_baseline {
        let b = baseline::build(&outcome.diagnostics, &root);
        let target = absolute(file, &cwd);
        std::fs::write(&target, baseline::to_json(&b))
            .map_err(|e| format!("error: cannot write baseline `{}`: {e}\n", target.display()))?;
        let c = report::counts(&outcome);
        eprintln!(
            "channel-lint: wrote {} finding{} ({} error{}, {} warning{}) to {}; run with --baseline {} to report only new ones",
            b.findings.len(),
            if b.findings.len() == 1 { "" } else { "s" },
            c.errors,
            if c.errors == 1 { "" } else { "s" },
            c.warnings,
            if c.warnings == 1 { "" } else { "s" },
            file.display(),
            file.display(),
        );
        return Ok(0);
    }

    let applied = match &cli.baseline {
        Some(file) => {
            let path = absolute(file, &cwd);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("error: cannot read baseline `{}`: {e}\n", path.display()))?;
            let b = baseline::parse(&text)
                .map_err(|e| format!("error: baseline `{}`: {e}\n", path.display()))?;
            Some(baseline::apply(&mut outcome.diagnostics, &b, &root))
        }
        None => None,
    };
    let applied = applied.map(|mut a| {
        if !report_paths.is_empty() {
            a.stale.retain(|e| in_paths(&root, &e.path, &report_paths));
        }
        a
    });
    if !report_paths.is_empty() {
        outcome
            .diagnostics
            .retain(|d| in_paths(&root, &d.path, &report_paths));
        outcome
            .skipped
            .retain(|(p, _)| in_paths(&root, p, &report_paths));
    }
    if let (Some(a), Some(file)) = (&applied, &cli.baseline) {
        eprint!("{}", baseline_note(a, &file.display().to_string()));
    }

    let text = match cli.format {
        Format::Human => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            report::human::render(&outcome, &root, color, cli.quiet)
        }
        Format::Json => {
            let file = cli
                .baseline
                .as_ref()
                .map(|f| f.display().to_string())
                .unwrap_or_default();
            report::json::render_with_baseline(
                &outcome,
                applied.as_ref().map(|a| report::json::BaselineDoc {
                    file: &file,
                    suppressed: a.suppressed,
                    stale: &a.stale,
                }),
            )
        }
        Format::Sarif => report::sarif::render_with(
            &outcome,
            &root,
            Some(&opts.policy),
            report::sarif::version_control_from_env(),
        ),
        Format::Github => {
            if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty())
            {
                let md = report::github::step_summary(
                    &outcome,
                    report::github::link_base_from_env().as_deref(),
                );
                let written = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&summary)
                    .and_then(|mut f| f.write_all(md.as_bytes()));
                if let Err(e) = written {
                    eprintln!(
                        "warning: cannot append to GITHUB_STEP_SUMMARY `{}`: {e}",
                        Path::new(&summary).display()
                    );
                }
            }
            report::github::render(&outcome)
        }
    };
    let _ = stdout.write_all(text.as_bytes());
    if cli.statistics {
        let stats = report::statistics(&outcome);
        match cli.format {
            Format::Json | Format::Sarif => eprint!("{stats}"),
            Format::Human | Format::Github => {
                let _ = stdout.write_all(stats.as_bytes());
            }
        }
    }
    let _ = stdout.flush();
    Ok(if report::counts(&outcome).errors > 0 {
        1
    } else {
        0
    })
}

/// The stderr note after `--baseline`: how many findings it hid, which entries are stale.
pub fn baseline_note(a: &baseline::Applied, file: &str) -> String {
    let mut s = format!(
        "channel-lint: baseline {file}: {} known finding{} not reported",
        a.suppressed,
        if a.suppressed == 1 { "" } else { "s" }
    );
    if a.stale.is_empty() {
        s.push('\n');
        return s;
    }
    s.push_str(&format!(
        "; {} entr{} no longer occur{} (fixed? remove {} from the file, or regenerate it with --write-baseline):\n",
        a.stale.len(),
        if a.stale.len() == 1 { "y" } else { "ies" },
        if a.stale.len() == 1 { "s" } else { "" },
        if a.stale.len() == 1 { "it" } else { "them" },
    ));
    for e in &a.stale {
        s.push_str(&format!("  stale: {} [{}] `{}`\n", e.path, e.rule, e.code));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_names() {
        assert_eq!(
            bin_name(Some(&OsString::from("/x/channel-lint"))),
            "channel-lint"
        );
        assert_eq!(
            bin_name(Some(&OsString::from("cargo-channel-lint"))),
            "cargo channel-lint"
        );
    }

    #[test]
    fn report_paths_filter() {
        let root = Path::new("/r");
        let paths = vec![PathBuf::from("/r/src/a.rs"), PathBuf::from("/r/lib")];
        assert!(in_paths(root, "src/a.rs", &paths));
        assert!(in_paths(root, "lib/x/y.rs", &paths));
        assert!(!in_paths(root, "src/a.rs.bak", &paths));
        assert!(!in_paths(root, "src/b.rs", &paths));
    }

    #[test]
    fn flags_conflict() {
        assert!(parse(
            ["x", "--baseline", "a", "--write-baseline", "b"]
                .map(OsString::from)
                .to_vec()
        )
        .is_err());
        let c = parse(
            [
                "x",
                "--report-only",
                "--statistics",
                "--format",
                "sarif",
                "a.rs",
            ]
            .map(OsString::from)
            .to_vec(),
        )
        .unwrap();
        assert!(c.report_only && c.statistics && c.format == Format::Sarif);
    }
}
