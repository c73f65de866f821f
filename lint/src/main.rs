//! `cargo channel-lint`: the command line. Parses arguments, finds the lint root and the
//! policy, runs the pipeline (`channel_lint::run`) and prints the report.
//!
//! Exit codes: 0 no error-level finding · 1 error-level findings · 2 usage, config or I/O
//! error of the tool itself.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use channel_lint::report::{self, Format};
use channel_lint::{rules, Options, RunError};
use clap::Parser;
use miette::{GraphicalReportHandler, GraphicalTheme};

#[derive(Parser, Debug)]
#[command(
    name = "cargo-channel-lint",
    bin_name = "cargo channel-lint",
    version,
    about = "Static channel-safety lint for async Rust: listener-send-await, banned-type, undocumented-unsafe",
    long_about = "Reads Rust sources with syn and checks the channel-safety rules. It never compiles, builds or runs the code it reads."
)]
struct Cli {
    /// Files or folders to lint (default: the workspace root).
    paths: Vec<PathBuf>,
    /// Policy file (default: channel-lint.toml in the root or an ancestor, else
    /// [workspace.metadata.channel-lint] of the root Cargo.toml, else built-in defaults).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Find the workspace root from this Cargo.toml instead of the current directory.
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// List the rules and their default levels.
    #[arg(long)]
    list_rules: bool,
    /// Print a rule's documentation.
    #[arg(long, value_name = "RULE")]
    explain: Option<String>,
    /// Show how a function is reached from the listener entry points (or why not), and the
    /// unresolved calls on the listener path.
    #[arg(long, value_name = "FN")]
    explain_path: Option<String>,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// Print only the summary line (human format).
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Print time spent per phase to stderr.
    #[arg(long)]
    timings: bool,
}

fn render_error(err: &dyn miette::Diagnostic) -> String {
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

/// The workspace root: nearest ancestor with a `[workspace]` Cargo.toml, else nearest Cargo.toml, else `start`.
fn find_root(start: &Path) -> PathBuf {
    let mut nearest = None;
    for dir in start.ancestors() {
        let manifest = dir.join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            if text.lines().any(|l| l.trim() == "[workspace]") {
                return dir.to_path_buf();
            }
            nearest.get_or_insert_with(|| dir.to_path_buf());
        }
    }
    nearest.unwrap_or_else(|| start.to_path_buf())
}

fn absolute(p: &Path, cwd: &Path) -> PathBuf {
    let p = if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    };
    // Normalise `.` and `..` without touching the file system (the path may not exist).
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn main() -> ExitCode {
    // `cargo channel-lint ARGS` runs `cargo-channel-lint channel-lint ARGS`.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "channel-lint") {
        args.remove(1);
    }
    let cli = match Cli::try_parse_from(args) {
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
    let inputs: Vec<PathBuf> = cli.paths.iter().map(|p| absolute(p, &cwd)).collect();
    for p in &inputs {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(format!("error: path `{}` does not exist\n", p.display()));
        }
    }
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
    };
    let outcome = match channel_lint::run(&opts) {
        Ok(o) => o,
        Err(RunError::Policy(e)) => return Err(render_error(&e)),
        Err(RunError::Io(e)) => return Err(format!("error: {e}\n")),
    };
    if cli.timings {
        for (phase, d) in &outcome.timings {
            eprintln!("{phase:>12}: {:>9.3} ms", d.as_secs_f64() * 1000.0);
        }
    }
    if let Some(exp) = &outcome.explanation {
        let _ = write!(stdout, "{exp}");
        return Ok(0);
    }
    let text = match cli.format {
        Format::Human => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            report::human::render(&outcome, &root, color, cli.quiet)
        }
        Format::Json => report::json::render(&outcome),
    };
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    Ok(if report::counts(&outcome).errors > 0 {
        1
    } else {
        0
    })
}
