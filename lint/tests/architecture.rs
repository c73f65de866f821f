//! The layering of ARCHITECTURE.md, checked: every module of `lint/src` belongs to one layer,
//! and its non-test code names (`crate::m::..`, `use crate::{m, ..}`) only modules of its own
//! layer or of layers below it. Outside the rules layer, nothing names a rule's own module
//! (`rules::listener_send_await::..`): stages use the registry.
//!
//! Rust checks the module privacy; this test checks the direction, the way rust-analyzer's
//! tidy tests check what its crates may depend on. Adding a module means placing it in
//! [`LAYERS`] and in ARCHITECTURE.md.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Lowest first. A module may name modules of its own layer and of the layers before it.
const LAYERS: &[(&str, &[&str])] = &[
    ("base", &["diagnostic", "cfg", "workspace"]),
    (
        "syntax",
        &[
            "lexer",
            "source",
            "parse",
            "prefilter",
            "skeleton",
            "generated",
        ],
    ),
    ("facts", &["facts", "suppress"]),
    ("index", &["index"]),
    ("semantics", &["semantics"]),
    ("rules", &["rules"]),
    (
        "driver",
        &[
            "driver", "cache", "discover", "baseline", "report", "cli", "init", "lib", "main",
        ],
    ),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

/// The `crate::X` names of a file's non-test code: (X, the segment after it if any, line).
struct Names {
    out: Vec<(String, Option<String>, usize)>,
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

impl Names {
    fn record(&mut self, segs: &[String], line: usize) {
        if segs.len() >= 2 && segs[0] == "crate" {
            self.out.push((segs[1].clone(), segs.get(2).cloned(), line));
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, t: &syn::UseTree) {
        match t {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                self.record(prefix, n.ident.span().start().line);
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.record(prefix, r.ident.span().start().line);
                prefix.pop();
            }
            syn::UseTree::Glob(g) => {
                prefix.push("*".into());
                self.record(prefix, g.star_token.span.start().line);
                prefix.pop();
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Names {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !is_cfg_test(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !is_cfg_test(&f.attrs) {
            syn::visit::visit_item_fn(self, f);
        }
    }
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        if !is_cfg_test(&u.attrs) {
            self.use_tree(&mut Vec::new(), &u.tree);
        }
    }
    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        let line = p
            .segments
            .first()
            .map(|s| s.ident.span().start().line)
            .unwrap_or(0);
        self.record(&segs, line);
        syn::visit::visit_path(self, p);
    }
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn layers_point_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    // The rules' own modules: every file or folder of lint/src/rules but the registry.
    let rule_modules: BTreeSet<String> = std::fs::read_dir(src.join("rules"))
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.trim_end_matches(".rs").to_string()
        })
        .filter(|n| n != "mod")
        .collect();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for path in &files {
        let rel = path.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        seen.insert(top.clone());
        let Some(own) = layer_of(&top) else {
            problems.push(format!(
                "{}: module `{top}` is in no layer (add it to LAYERS and ARCHITECTURE.md)",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(path).unwrap();
        let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", rel.display()));
        let mut names = Names { out: Vec::new() };
        names.visit_file(&file);
        for (m, next, line) in names.out {
            if m == top {
                continue;
            }
            // Items of lib.rs (`crate::run_tuned`, `crate::Outcome`) are the driver's.
            let theirs = layer_of(&m).unwrap_or_else(|| layer_of("lib").unwrap());
            if theirs > own {
                problems.push(format!(
                    "{}:{line}: the {} layer names `crate::{m}` of the {} layer above it",
                    rel.display(),
                    LAYERS[own].0,
                    LAYERS[theirs].0
                ));
            }
            let registry_only = m == "rules" && top != "rules";
            let is_rule_module = next.as_ref().is_some_and(|n| rule_modules.contains(n));
            if registry_only && is_rule_module {
                problems.push(format!(
                    "{}:{line}: names a rule's own module `crate::rules::{}` (use the registry)",
                    rel.display(),
                    next.unwrap()
                ));
            }
        }
    }
    for (_, ms) in LAYERS {
        for m in *ms {
            assert!(
                seen.contains(*m),
                "LAYERS lists `{m}`, which is not a module of lint/src any more"
            );
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
