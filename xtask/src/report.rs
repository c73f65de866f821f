//! The report: one table of the rows, the ratios to the baseline, the diagnostics check and
//! the parse errors, rendered as plain text for the terminal and as Markdown for `report.md`.

use std::path::Path;
use std::time::Duration;

use crate::corpus::Stats;
use crate::lint::{self, Outcome};

/// One row of the table.
pub struct Row {
    /// `(a)`, `(b)`, ...
    pub id: &'static str,
    pub what: String,
    pub outcome: Outcome,
}

impl Row {
    pub fn new(id: &'static str, what: &str, outcome: Outcome) -> Row {
        Row {
            id,
            what: what.to_string(),
            outcome,
        }
    }
}

/// Everything the report shows.
pub struct Input<'a> {
    /// The case (`vendor`, `listener`, `human`): the report's title.
    pub case: &'a str,
    pub corpus: &'a Path,
    pub stats: Stats,
    pub lint_bin: &'a Path,
    pub jobs: Option<usize>,
    /// Rayon threads of the baseline child.
    pub threads: Option<u64>,
    pub baseline_parse_errors: Option<u64>,
    pub commit: Option<String>,
    /// `/proc/loadavg` just before the first row.
    pub load: Option<String>,
    pub rows: &'a [Row],
}

const COLUMNS: [&str; 7] = [
    "run", "what", "wall", "lines/s", "CPU", "peak RSS", "result",
];

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn cells(row: &Row, lines: u64) -> [String; 7] {
    let (id, what) = (row.id.to_string(), row.what.clone());
    let dash = || "-".to_string();
    match &row.outcome {
        Outcome::Unsupported { flag } => [
            id,
            what,
            "n/a (flag unsupported)".into(),
            dash(),
            dash(),
            dash(),
            format!("lint rejected `{flag}`"),
        ],
        outcome => {
            let m = outcome.measured();
            let (result, notes) = match outcome {
                Outcome::Ran {
                    m,
                    diagnostics,
                    notes,
                } => {
                    let mut r = m.exit.to_string();
                    if let Some(d) = diagnostics {
                        r.push_str(&format!(", {} diagnostics", thousands(d.len() as u64)));
                    }
                    (r, notes)
                }
                Outcome::Failed { why, notes, .. } => (format!("FAILED: {why}"), notes),
                Outcome::Unsupported { .. } => unreachable!(),
            };
            let result = std::iter::once(result)
                .chain(notes.iter().cloned())
                .collect::<Vec<_>>()
                .join("; ");
            [
                id,
                what,
                m.map_or_else(dash, |m| secs(m.wall)),
                // A failed run did not do the work: no throughput for it.
                match outcome {
                    Outcome::Ran { m, .. } => {
                        thousands((lines as f64 / m.wall.as_secs_f64().max(1e-9)) as u64)
                    }
                    _ => dash(),
                },
                m.map_or_else(dash, |m| secs(m.cpu)),
                m.map_or_else(dash, |m| mib(m.max_rss_kib)),
                result,
            ]
        }
    }
}

pub fn find<'a>(rows: &'a [Row], id: &str) -> Option<&'a Row> {
    rows.iter().find(|r| r.id == id)
}

/// `(x)/(a)` for wall time and peak RSS, or why there is none.
fn ratio(rows: &[Row], id: &str) -> String {
    let Some(row) = find(rows, id) else {
        return "n/a".into();
    };
    let base = find(rows, "(a)").and_then(|a| match &a.outcome {
        Outcome::Ran { m, .. } => Some(*m),
        _ => None,
    });
    match (&row.outcome, base) {
        (Outcome::Unsupported { .. }, _) => "n/a (flag unsupported)".into(),
        (_, None) => "n/a (the baseline failed)".into(),
        (Outcome::Failed { .. }, _) => "n/a (the run failed)".into(),
        (Outcome::Ran { m, .. }, Some(a)) => format!(
            "{:.2}x wall time, {:.2}x peak RSS",
            m.wall.as_secs_f64() / a.wall.as_secs_f64().max(1e-9),
            m.max_rss_kib as f64 / (a.max_rss_kib.max(1)) as f64
        ),
    }
}

/// The lines under the table of the vendor case: ratios, the diagnostics check, the parse errors.
pub fn vendor_summary(input: &Input) -> Vec<(String, String)> {
    let rows = input.rows;
    let mut out = Vec::new();
    for id in ["(b)", "(c)", "(d)"] {
        out.push((format!("{id}/(a)"), ratio(rows, id)));
    }

    let diags = |id: &str| find(rows, id).and_then(|r| r.outcome.diagnostics());
    let why_none = |id: &str| match find(rows, id).map(|r| &r.outcome) {
        Some(Outcome::Unsupported { .. }) => "flag unsupported",
        Some(Outcome::Failed { .. }) => "run failed",
        _ => "no diagnostics array in its output",
    };
    for (x, y) in [("(b)", "(c)"), ("(b)", "(d)"), ("(c)", "(d)")] {
        let verdict = match (diags(x), diags(y)) {
            (Some(dx), Some(dy)) => lint::compare(dx, dy),
            (None, _) => format!("n/a ({x}: {})", why_none(x)),
            (_, None) => format!("n/a ({y}: {})", why_none(y)),
        };
        out.push((format!("diagnostics {x} vs {y}"), verdict));
    }

    let parse_errors = match diags("(b)") {
        Some(d) => thousands(lint::count_rule(d, "parse-error") as u64),
        None => format!("n/a ({})", why_none("(b)")),
    };
    let baseline = input
        .baseline_parse_errors
        .map_or("n/a".to_string(), thousands);
    out.push((
        "parse errors in (b) (rule `parse-error`)".into(),
        format!("{parse_errors}; syn::parse_file rejected {baseline} files in (a)"),
    ));
    out
}

fn header(input: &Input) -> Vec<(String, String)> {
    let s = input.stats;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let jobs = match (input.jobs, input.threads) {
        (Some(j), _) => format!("{j} (--jobs N and RAYON_NUM_THREADS=N for every run)"),
        (None, Some(t)) => format!("default ({t} rayon threads in (a))"),
        (None, None) => "default".into(),
    };
    vec![
        ("corpus".into(), input.corpus.display().to_string()),
        ("files".into(), format!("{} .rs files", thousands(s.files))),
        (
            "lines".into(),
            format!(
                "{} ({:.1} MiB)",
                thousands(s.lines),
                s.bytes as f64 / 1048576.0
            ),
        ),
        ("lint".into(), input.lint_bin.display().to_string()),
        (
            "commit".into(),
            input.commit.clone().unwrap_or("unknown".into()),
        ),
        ("cores".into(), cores.to_string()),
        ("jobs".into(), jobs),
        (
            "load before runs".into(),
            input.load.clone().unwrap_or("unknown".into()),
        ),
    ]
}

/// The report as (plain text, Markdown), with `summary` under the table.
pub fn render(input: &Input, summary: &[(String, String)]) -> (String, String) {
    let table: Vec<[String; 7]> = input
        .rows
        .iter()
        .map(|r| cells(r, input.stats.lines))
        .collect();
    let header = header(input);
    (
        text(input.case, &header, &table, summary),
        markdown(input.case, &header, &table, summary),
    )
}

fn text(
    case: &str,
    header: &[(String, String)],
    table: &[[String; 7]],
    summary: &[(String, String)],
) -> String {
    let mut out = format!("channel-lint benchmark: {case}\n\n");
    let key_width = header.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in header {
        out.push_str(&format!("  {k:<key_width$}  {v}\n"));
    }
    out.push('\n');
    let mut widths = COLUMNS.map(|c| c.chars().count());
    for row in table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    // Numbers right-aligned, words left-aligned; the last column is not padded.
    let right = [false, false, true, true, true, true, false];
    let line = |cells: &[String]| {
        let mut l = String::from(" ");
        for (i, cell) in cells.iter().enumerate() {
            let pad = " ".repeat(widths[i].saturating_sub(cell.chars().count()));
            if i + 1 == cells.len() {
                l.push_str(&format!(" {cell}"));
            } else if right[i] {
                l.push_str(&format!(" {pad}{cell} "));
            } else {
                l.push_str(&format!(" {cell}{pad} "));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    out.push_str(&line(&COLUMNS.map(String::from)));
    out.push_str(&line(&widths.map(|w| "-".repeat(w))));
    for row in table {
        out.push_str(&line(row));
    }
    out.push('\n');
    let key_width = summary.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in summary {
        out.push_str(&format!("  {k:<key_width$}  {v}\n"));
    }
    out
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn markdown(
    case: &str,
    header: &[(String, String)],
    table: &[[String; 7]],
    summary: &[(String, String)],
) -> String {
    let mut out = format!("# channel-lint benchmark: {case}\n\n");
    for (k, v) in header {
        out.push_str(&format!("- {k}: {}\n", md_cell(v)));
    }
    out.push('\n');
    out.push_str(&format!("| {} |\n", COLUMNS.join(" | ")));
    out.push_str("|---|---|--:|--:|--:|--:|---|\n");
    for row in table {
        let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out.push('\n');
    for (k, v) in summary {
        out.push_str(&format!("- {k}: {}\n", md_cell(v)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(2_345_678), "2,345,678");
    }
}
