//! Backward reachability without reading the workspace: the functions that may reach a call
//! named by some words, found from the callee side, so that a search from many roots (every
//! async fn) only has to read the part of the call graph that can lead anywhere.
//!
//! It rests on one fact of the call graph ([`super::callgraph`]): every edge it resolves is
//! written in the caller's body under the callee's name, in a form its kind allows; there are
//! no implicit edges (no `Drop`, `Deref`, operator or `for`-loop calls). A free function is
//! called as `f(..)` or `module::f(..)` (or under a `use .. as` rename); an inherent associated
//! function as `Type::f(..)`, `Self::f(..)`, `Alias::f(..)` or `Type::<..>::f(..)`, a method also
//! as `x.f(..)`; a trait's method as `x.f(..)` or `Q::f(..)` for any `Q` (a generic parameter,
//! the trait, an impl's type). Modules are named in lower case, types in upper case, so a free
//! `fn now()` is called as `now()` or `module::now()`, never `Instant::now()` (a module named
//! with a capital is asked for by name). The skeleton records every word of a body in the form it is
//! written in ([`crate::skeleton::Form`]), so the bodies that may call a function are found
//! from their words ([`crate::facts::Bodies::may_name`]) without parsing the others, and
//! `Instant::now()` is no candidate caller of a workspace `fn now()`. Each candidate is then
//! summarised, and joins only when one of its calls really resolves into the set: the set grows
//! by real edges, the words only choose which bodies are read.

use std::collections::{HashMap, HashSet};

use super::callgraph::Analyzer;
use crate::facts::{FnOwner, ItemKind, TyRef};
use crate::index::{FnId, Index};
use crate::skeleton::{form_hash, Form};

/// A hasher for keys that are hashes already (the form hashes).
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | b as u64;
        }
    }
    fn write_u32(&mut self, n: u32) {
        // spread the bits over the word the table's index and control bytes come from
        self.0 = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type IdHash = std::hash::BuildHasherDefault<IdHasher>;

/// What the workspace says about names, for the forms a call may take.
struct Names {
    /// `use path::name as other;`: each `name`'s other names.
    renames: HashMap<String, Vec<String>>,
    /// `type Alias = Name;`: each `Name`'s aliases.
    aliases: HashMap<String, Vec<String>>,
    /// The words starting with an ASCII capital that may stand before `::f` when `f` is a free
    /// function (a module so named, a module or function renamed so by `use .. as`): the
    /// others are all [`Form::Lower`].
    upper_qualifiers: Vec<String>,
}

impl Names {
    fn of(index: &Index) -> Names {
        let mut n = Names {
            renames: HashMap::new(),
            aliases: HashMap::new(),
            upper_qualifiers: Vec::new(),
        };
        let upper = |w: &str| w.starts_with(|c: char| c.is_ascii_uppercase());
        for file in index.files {
            for scope in &file.facts.scopes {
                for leaf in &scope.uses {
                    let Some(bound) = &leaf.name else { continue };
                    if let Some(last) = leaf.path.last().filter(|l| *l != bound) {
                        if upper(bound) && !upper(last) {
                            n.upper_qualifiers.push(bound.clone());
                        }
                        n.renames
                            .entry(last.clone())
                            .or_default()
                            .push(bound.clone());
                    }
                }
            }
            for item in &file.facts.items {
                match &item.kind {
                    ItemKind::Mod(_) | ItemKind::ExternCrate { .. } if upper(&item.name) => {
                        n.upper_qualifiers.push(item.name.clone())
                    }
                    ItemKind::TypeAlias(TyRef::Path { path, .. }) => {
                        if let Some(last) = path.last() {
                            n.aliases
                                .entry(last.clone())
                                .or_default()
                                .push(item.name.clone());
                        }
                    }
                    _ => {}
                }
            }
        }
        n.upper_qualifiers.sort();
        n.upper_qualifiers.dedup();
        n
    }

    /// `name` and its renames, and theirs.
    fn spellings(&self, map: &HashMap<String, Vec<String>>, name: &str) -> Vec<String> {
        let mut out = vec![name.to_string()];
        let mut k = 0;
        while k < out.len() {
            if let Some(r) = map.get(&out[k]) {
                for x in r {
                    if !out.contains(x) {
                        out.push(x.clone());
                    }
                }
            }
            k += 1;
        }
        out
    }

    /// The form hashes under which a call of `f` may be written.
    fn call_forms(&self, index: &Index, f: FnId, out: &mut HashSet<u32>) {
        let facts = index.fn_facts(f);
        let name = &facts.name;
        let file = &index.files[f.file.idx()].facts;
        let owner_ty = match facts.owner {
            FnOwner::Impl(i) if file.impls[i.idx()].trait_path.is_none() => {
                match &file.impls[i.idx()].self_ty {
                    TyRef::Path { path, .. } => Some(path.last().cloned()),
                    _ => Some(None),
                }
            }
            FnOwner::Impl(_) | FnOwner::Trait(_) => None,
            FnOwner::Free => {
                for n in self.spellings(&self.renames, name) {
                    out.insert(form_hash(Form::Bare, n.as_bytes()));
                    out.insert(form_hash(Form::Lower, n.as_bytes()));
                    for q in &self.upper_qualifiers {
                        out.insert(form_hash(Form::Pair(q.as_bytes()), n.as_bytes()));
                    }
                }
                return;
            }
        };
        let w = name.as_bytes();
        match owner_ty {
            // An inherent function of a named type.
            Some(Some(ty)) => {
                let mut types = self.spellings(&self.aliases, &ty);
                for t in self.spellings(&self.renames, &ty) {
                    if !types.contains(&t) {
                        types.push(t);
                    }
                }
                types.push("Self".into());
                for t in &types {
                    out.insert(form_hash(Form::Pair(t.as_bytes()), w));
                }
                out.insert(form_hash(Form::Unknown, w));
                if facts.has_self {
                    out.insert(form_hash(Form::Method, w));
                }
            }
            // A trait's method (or an impl of an unnamed type): any qualifier.
            _ => {
                for form in [Form::Method, Form::Lower, Form::Upper, Form::Unknown] {
                    out.insert(form_hash(form, w));
                }
            }
        }
    }
}

/// Every function of the analyzer's build that may reach a function in `seeds`, or one whose
/// body may name one of `words` in any form (a call the caller then looks for by name:
/// `block_on`), through calls that run in the caller's task
/// ([`super::callgraph::EdgeKind::runs_in_caller`], whatever else a rule's filter asks: the
/// result is a superset of every path such a search can take to them), the seeds included. A
/// search restricted to it finds what a search of the whole graph finds, with the same chains:
/// every function on a chain to a seed is in it.
pub fn may_reach(an: &mut Analyzer, words: &[&str], seeds: &[FnId]) -> HashSet<FnId> {
    let index = an.index;
    let names = Names::of(index);
    let all: Vec<FnId> = index.all_fns().filter(|&f| an.in_build(f)).collect();
    // The bodies that may name the words, in any form, hold the calls: they start the set.
    let spelled: Vec<String> = words
        .iter()
        .flat_map(|w| names.spellings(&names.renames, w))
        .collect();
    let query = crate::skeleton::any_form(&spelled);
    let mut set: HashSet<FnId> = seeds.iter().copied().collect();
    // Which functions' bodies hold each word (by position in `all`), and which have been
    // picked by a question already.
    let mut by_word: HashMap<u32, Vec<u32>, IdHash> = HashMap::default();
    for (k, f) in all.iter().enumerate() {
        let words = index.files[f.file.idx()].facts.bodies.words(f.idx.idx());
        for &h in words {
            by_word.entry(h).or_default().push(k as u32);
        }
    }
    let mut picked = vec![false; all.len()];
    let mut pick = |query: &[u32], out: &mut Vec<FnId>| {
        for h in query {
            for &k in by_word.get(h).map_or(&[][..], |v| v.as_slice()) {
                if !std::mem::replace(&mut picked[k as usize], true) {
                    out.push(all[k as usize]);
                }
            }
        }
    };
    let mut named = Vec::new();
    pick(&query, &mut named);
    set.extend(named);
    let mut asked: HashSet<u32> = HashSet::new();
    let mut ask = |fns: &mut dyn Iterator<Item = FnId>| -> Vec<u32> {
        let mut q = HashSet::new();
        for f in fns {
            names.call_forms(index, f, &mut q);
        }
        let mut q: Vec<u32> = q.into_iter().filter(|h| asked.insert(*h)).collect();
        q.sort_unstable();
        q
    };
    let mut query = ask(&mut set.iter().copied());
    // Functions that may call one of the set and are not (yet) in it.
    let mut pending: Vec<FnId> = Vec::new();
    while !query.is_empty() {
        let mut named = Vec::new();
        pick(&query, &mut named);
        named.retain(|f| !set.contains(f));
        an.prefetch(named.iter().copied());
        pending.extend(named);
        let mut added = Vec::new();
        loop {
            let before = added.len();
            let mut k = 0;
            while k < pending.len() {
                let s = an.summary(pending[k]);
                let joins = s.calls.iter().any(|c| {
                    c.kind.runs_in_caller() && c.targets().iter().any(|t| set.contains(t))
                });
                if joins {
                    let g = pending.swap_remove(k);
                    set.insert(g);
                    added.push(g);
                } else {
                    k += 1;
                }
            }
            if added.len() == before {
                break;
            }
        }
        query = ask(&mut added.into_iter());
    }
    set
}
