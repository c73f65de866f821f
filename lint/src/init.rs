//! `cargo channel-lint init [--force]`: write a starter `channel-lint.toml` at the workspace root.
//!
//! The file lists every rule at its default level, a commented `[[banned-type]]` example, and
//! the listener entry points it can guess — functions whose body loops (`loop`, `while`) around a
//! `recv_from(` call — commented out for review (an entry point that matches nothing is an
//! error, and a guess may be wrong). Guessing is a light syn walk; like the lint, it never
//! builds or runs the code.
//!
//! Files are parsed like the lint parses them ([`crate::parse::parse_file`], with recovery, on
//! the pipeline's large-stack threads), and test code is skipped by the lint's own rule
//! ([`crate::cfg`]): `tests/` and `benches/` folders (and `examples/`, no listener
//! lives there), `#![cfg(test)]` files, and items that are test code.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use rayon::prelude::*;
use syn::visit::Visit;

use crate::cfg::{cfg_of, cfg_test_only, has_test_attr, is_test_path};
use crate::rules;
use crate::workspace::{absolute, find_root};

#[derive(Parser, Debug)]
#[command(
    name = "init",
    about = "Write a starter channel-lint.toml for the workspace (rules at their default levels, guessed listener entry points commented for review)"
)]
struct InitCli {
    /// Overwrite an existing channel-lint.toml.
    #[arg(long)]
    force: bool,
    /// Find the workspace root from this Cargo.toml instead of the current directory.
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// Print the file on stdout instead of writing it.
    #[arg(long)]
    stdout: bool,
}

/// A function that looks like a listener loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// `Type::method` or `function`: an entry-point pattern.
    pub pattern: String,
    /// Relative to the root, `/` separators.
    pub path: String,
    pub line: usize,
}

/// Does this subtree call `recv_from(` (as a method, a path call, or inside a macro)?
#[derive(Default)]
struct RecvFinder {
    found: bool,
}

fn tokens_call_recv_from(ts: proc_macro2::TokenStream) -> bool {
    let mut prev_is_recv = false;
    for tt in ts {
        match tt {
            proc_macro2::TokenTree::Ident(i) => {
                prev_is_recv = i == "recv_from";
                continue;
            }
            proc_macro2::TokenTree::Group(g) => {
                if prev_is_recv && g.delimiter() == proc_macro2::Delimiter::Parenthesis {
                    return true;
                }
                if tokens_call_recv_from(g.stream()) {
                    return true;
                }
            }
            _ => {}
        }
        prev_is_recv = false;
    }
    false
}

impl<'ast> Visit<'ast> for RecvFinder {
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if m.method == "recv_from" {
            self.found = true;
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let syn::Expr::Path(p) = &*c.func {
            if p.path
                .segments
                .last()
                .is_some_and(|s| s.ident == "recv_from")
            {
                self.found = true;
            }
        }
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        if tokens_call_recv_from(m.tokens.clone()) {
            self.found = true;
        }
    }
}

/// Does this function body hold a `loop`/`while` around a `recv_from(` call?
#[derive(Default)]
struct LoopFinder {
    found: bool,
}

impl<'ast> Visit<'ast> for LoopFinder {
    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        let mut r = RecvFinder::default();
        r.visit_block(&l.body);
        self.found |= r.found;
        syn::visit::visit_expr_loop(self, l);
    }
    fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
        let mut r = RecvFinder::default();
        r.visit_expr(&w.cond);
        r.visit_block(&w.body);
        self.found |= r.found;
        syn::visit::visit_expr_while(self, w);
    }
    // Nested functions are judged on their own.
    fn visit_item_fn(&mut self, _: &'ast syn::ItemFn) {}
    fn visit_item_impl(&mut self, _: &'ast syn::ItemImpl) {}
}

/// Test code by the lint's rule: test-only `#[cfg]`, or a test-harness attribute.
fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    has_test_attr(attrs) || cfg_test_only(&cfg_of(attrs))
}

fn type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        syn::Type::Reference(r) => type_name(&r.elem),
        syn::Type::Paren(p) => type_name(&p.elem),
        _ => None,
    }
}

struct FileWalk<'a> {
    rel: &'a str,
    owner: Vec<Option<String>>,
    out: Vec<Candidate>,
}

impl FileWalk<'_> {
    fn check(&mut self, name: &syn::Ident, block: &syn::Block) {
        let mut f = LoopFinder::default();
        f.visit_block(block);
        if f.found {
            let pattern = match self.owner.last().cloned().flatten() {
                Some(t) => format!("{t}::{name}"),
                None => name.to_string(),
            };
            self.out.push(Candidate {
                pattern,
                path: self.rel.to_string(),
                line: name.span().start().line,
            });
        }
    }
}

impl<'ast> Visit<'ast> for FileWalk<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !is_cfg_test(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if is_cfg_test(&f.attrs) {
            return;
        }
        self.owner.push(None);
        self.check(&f.sig.ident, &f.block);
        syn::visit::visit_item_fn(self, f);
        self.owner.pop();
    }
    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if is_cfg_test(&i.attrs) {
            return;
        }
        self.owner.push(type_name(&i.self_ty));
        syn::visit::visit_item_impl(self, i);
        self.owner.pop();
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if is_cfg_test(&f.attrs) {
            return;
        }
        self.check(&f.sig.ident, &f.block);
        syn::visit::visit_impl_item_fn(self, f);
    }
    fn visit_item_trait(&mut self, t: &'ast syn::ItemTrait) {
        self.owner.push(Some(t.ident.to_string()));
        syn::visit::visit_item_trait(self, t);
        self.owner.pop();
    }
    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(b) = &f.default {
            self.check(&f.sig.ident, b);
        }
        syn::visit::visit_trait_item_fn(self, f);
    }
}

/// The functions under `root` that look like listener loops, sorted by path and line.
pub fn guess_entry_points(root: &Path) -> Result<Vec<Candidate>, String> {
    let policy = channel_lint_policy::defaults(root);
    let found = crate::discover::discover(&[root.to_path_buf()], &policy);
    let pool = crate::driver::parser_pool(None).map_err(|e| format!("error: {e}"))?;
    let per_file: Vec<Vec<Candidate>> = pool.install(|| {
        found
            .files
            .par_iter()
            .map(|file| {
                let rel = crate::rel_path(root, file);
                let in_examples = rel.split('/').rev().skip(1).any(|c| c == "examples");
                if in_examples || is_test_path(&rel) {
                    return Vec::new();
                }
                let Ok(text) = std::fs::read_to_string(file) else {
                    return Vec::new();
                };
                if !text.contains("recv_from") {
                    return Vec::new();
                }
                // The tree is walked and dropped here, on the large stack.
                let (Some(ast), _) = crate::parse::parse_file(&text) else {
                    return Vec::new();
                };
                if is_cfg_test(&ast.attrs) {
                    return Vec::new();
                }
                let mut w = FileWalk {
                    rel: &rel,
                    owner: Vec::new(),
                    out: Vec::new(),
                };
                w.visit_file(&ast);
                w.out
            })
            .collect()
    });
    Ok(per_file.into_iter().flatten().collect())
}

fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The text of the starter policy.
pub fn starter_policy(candidates: &[Candidate], bin_name: &str) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "# channel-lint policy, written by `{bin_name} init`: review it, then commit it.\n\
         # Keys: docs/policy.md in the channel-lint repository. A rule's documentation:\n\
         # `{bin_name} --explain RULE`.\n\n\
         # Paths not to lint (globs relative to this file; `target/` and hidden folders are never\n\
         # walked).\n\
         # exclude = [\"vendor/**\"]\n\n\
         [rules]\n\
         # \"error\" (fails the run), \"warn\" or \"off\"; these are the defaults.\n"
    ));
    for r in rules::ALL {
        s.push_str(&format!("# {}\n", r.summary.replace('\n', " ")));
        s.push_str(&format!("{} = \"{}\"\n", r.id, r.default_level.as_str()));
    }
    s.push_str(
        "\n[listener]\n\
         # Functions whose body is a listener event loop: `Type::method` or `function`, matched\n\
         # as a suffix of the function's path. Every entry must match a function.\n",
    );
    if candidates.is_empty() {
        s.push_str(
            "# No function loops around a `recv_from(` call here: name your listener loops, e.g.\n\
             # entry-points = [\"UdpPacketsListener::listen\"]\n\
             entry-points = []\n",
        );
    } else {
        s.push_str(
            "# Guessed from functions that loop around a `recv_from(` call: review each one, then\n\
             # uncomment it.\n\
             entry-points = [\n",
        );
        let mut seen = std::collections::BTreeSet::new();
        for c in candidates {
            if seen.insert(c.pattern.clone()) {
                s.push_str(&format!(
                    "    # {},  # {}:{}\n",
                    toml_str(&c.pattern),
                    c.path,
                    c.line
                ));
            }
        }
        s.push_str("]\n");
    }
    s.push_str(
        "\n# A type that must not be used in some files (repeat the table for more):\n\
         # [[banned-type]]\n\
         # path = \"tokio::net::UdpSocket\"\n\
         # reason = \"core code is generic over the Socket trait; tests use the mock socket\"\n\
         # within = [\"src/**\"]                 # optional: only these files\n\
         # except = [\"src/transport/udp.rs\"]   # optional: not these\n\
         # tests = \"exclude\"                   # optional: test code is exempt\n",
    );
    s
}

pub fn main(bin_name: &str, args: Vec<OsString>) -> ExitCode {
    let cli = match InitCli::command_with_name(bin_name).try_get_matches_from(args) {
        Ok(m) => match <InitCli as clap::FromArgMatches>::from_arg_matches(&m) {
            Ok(c) => c,
            Err(e) => {
                let _ = e.print();
                return ExitCode::from(2);
            }
        },
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(&cli, bin_name) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("{msg}");
            ExitCode::from(2)
        }
    }
}

impl InitCli {
    fn command_with_name(bin_name: &str) -> clap::Command {
        <InitCli as clap::CommandFactory>::command().bin_name(format!("{bin_name} init"))
    }
}

fn run(cli: &InitCli, bin_name: &str) -> Result<(), String> {
    let cwd = std::env::current_dir()
        .map_err(|e| format!("error: cannot read the current directory: {e}"))?;
    let root = match &cli.manifest_path {
        Some(m) => {
            let m = absolute(m, &cwd);
            if !m.is_file() {
                return Err(format!("error: manifest `{}` does not exist", m.display()));
            }
            find_root(m.parent().unwrap_or(&cwd))
        }
        None => find_root(&cwd),
    };
    let target = root.join("channel-lint.toml");
    if !cli.stdout && target.exists() && !cli.force {
        return Err(format!(
            "error: `{}` already exists; use --force to overwrite it (or --stdout to print a starter policy)",
            target.display()
        ));
    }
    let candidates = guess_entry_points(&root)?;
    let text = starter_policy(&candidates, bin_name);
    // What we write must load: check it with the real policy parser.
    channel_lint_policy::parse_str(&text, "channel-lint.toml", &root, &rules::ids())
        .map_err(|e| format!("internal error: the starter policy does not parse: {e}"))?;
    if cli.stdout {
        print!("{text}");
        return Ok(());
    }
    std::fs::write(&target, &text)
        .map_err(|e| format!("error: cannot write `{}`: {e}", target.display()))?;
    eprintln!(
        "channel-lint: wrote {} ({} listener entry point candidate{} commented for review)",
        target.display(),
        candidates.len(),
        if candidates.len() == 1 { "" } else { "s" }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_loops_around_recv_from() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"t\"\nversion = \"0.1.0\"\n",
        )
        .unwrap();
        std::fs::write(
            src.join("lib.rs"),
            r#"
pub struct Listener;
impl Listener {
    pub async fn listen(&self) {
        loop {
            let (n, a) = self.sock.recv_from(&mut buf).await.unwrap();
        }
    }
    pub async fn once(&self) { self.sock.recv_from(&mut buf).await; }
}
pub async fn serve(s: Sock) {
    while let Ok((n, a)) = s.recv_from(&mut b).await {}
}
pub async fn select_loop(s: Sock) {
    loop { tokio::select! { r = s.recv_from(&mut b) => {} } }
}
pub async fn other() { loop { recv(); } }
#[cfg(test)]
mod tests { async fn t(s: S) { loop { s.recv_from(&mut b).await; } } }
"#,
        )
        .unwrap();
        let c = guess_entry_points(dir.path()).unwrap();
        let names: Vec<&str> = c.iter().map(|c| c.pattern.as_str()).collect();
        assert_eq!(names, ["Listener::listen", "serve", "select_loop"]);
        assert_eq!(c[0].path, "src/lib.rs");
        assert_eq!(c[0].line, 4);
        let text = starter_policy(&c, "cargo channel-lint");
        assert!(text.contains("    # \"Listener::listen\",  # src/lib.rs:4\n"));
        channel_lint_policy::parse_str(&text, "x", dir.path(), &rules::ids()).unwrap();
        let empty = starter_policy(&[], "cargo channel-lint");
        channel_lint_policy::parse_str(&empty, "x", dir.path(), &rules::ids()).unwrap();
        for r in rules::ALL {
            assert!(text.contains(&format!("\n{} = \"{}\"\n", r.id, r.default_level.as_str())));
        }
    }
}
