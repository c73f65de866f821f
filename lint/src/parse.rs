//! Parsing with recovery: one item syn cannot read does not hide the rest of the file.
//!
//! `syn::parse_file` is tried first. When it fails, the file is lexed into tokens and read item
//! by item; an item that does not parse is skipped up to the end of its `;` or `{ .. }` and the
//! first error is kept for the `parse-error` diagnostic. The rules then still see every item
//! that did parse (for example a 2015-edition bare trait object `type A = Fn() + Send;`
//! costs one item, not the file). A file that does not even lex gets no facts.

use std::str::FromStr;

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};

/// The file (complete, or the items that parsed) and the first error, if any.
pub fn parse_file(text: &str) -> (Option<syn::File>, Option<syn::Error>) {
    match syn::parse_file(text) {
        Ok(f) => (Some(f), None),
        Err(e) => match recover(text) {
            // Every item read, some only as 2015-edition code: not a parse error.
            Some((file, true)) => (Some(file), None),
            Some((file, false)) => (Some(file), Some(e)),
            None => (None, Some(e)),
        },
    }
}

/// The items that parse, and whether all of them did (counting 2015-edition bare trait objects).
fn recover(text: &str) -> Option<(syn::File, bool)> {
    // What syn::parse_file strips: a BOM and a shebang line (kept as spaces, so positions hold).
    let mut owned = text.strip_prefix('\u{feff}').unwrap_or(text).to_string();
    if owned.starts_with("#!") && !owned.starts_with("#![") {
        let end = owned.find('\n').unwrap_or(owned.len());
        owned.replace_range(..end, &" ".repeat(owned[..end].chars().count()));
    }
    let tokens = TokenStream::from_str(&owned).ok()?;
    let parser = |input: ParseStream| -> syn::Result<(syn::File, bool)> {
        let attrs = input.call(syn::Attribute::parse_inner).unwrap_or_default();
        let mut items = Vec::new();
        let mut complete = true;
        while !input.is_empty() {
            let fork = input.fork();
            match fork.parse::<syn::Item>() {
                Ok(item) => {
                    use syn::parse::discouraged::Speculative;
                    input.advance_to(&fork);
                    items.push(item);
                }
                Err(_) => {
                    let tokens = skip_item(input)?;
                    // 2015 edition: `type A = Fn(&T) + Send;`, `Box<Fn() + Send>` (no `dyn`).
                    match syn::parse2::<syn::Item>(add_dyn(tokens)) {
                        Ok(item) => items.push(item),
                        Err(_) => complete = false,
                    }
                }
            }
        }
        Ok((
            syn::File {
                shebang: None,
                attrs,
                items,
            },
            complete,
        ))
    };
    parser.parse2(tokens).ok()
}

/// Skip tokens up to and including the next top-level `;` or `{ .. }` group; return them.
fn skip_item(input: ParseStream) -> syn::Result<TokenStream> {
    let mut out = TokenStream::new();
    while !input.is_empty() {
        let tt: TokenTree = input.parse()?;
        let end = match &tt {
            TokenTree::Punct(p) => p.as_char() == ';',
            TokenTree::Group(g) => g.delimiter() == Delimiter::Brace,
            _ => false,
        };
        out.extend([tt]);
        if end {
            if input.peek(syn::Token![;]) {
                let semi: TokenTree = input.parse()?;
                out.extend([semi]);
            }
            break;
        }
    }
    Ok(out)
}

/// Insert `dyn` before bare `Fn(..)`/`FnMut(..)`/`FnOnce(..)` trait objects in type positions.
fn add_dyn(tokens: TokenStream) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out: Vec<TokenTree> = Vec::with_capacity(trees.len() + 2);
    for (i, tt) in trees.iter().enumerate() {
        match tt {
            TokenTree::Ident(id)
                if matches!(id.to_string().as_str(), "Fn" | "FnMut" | "FnOnce") =>
            {
                let call = matches!(trees.get(i + 1), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis);
                let type_start = match out.last() {
                    Some(TokenTree::Punct(p)) => matches!(p.as_char(), '=' | '<' | ',' | '&' | ':'),
                    Some(TokenTree::Ident(prev)) => prev == "mut",
                    _ => false,
                };
                if call && type_start {
                    out.push(TokenTree::Ident(proc_macro2::Ident::new("dyn", id.span())));
                }
                out.push(tt.clone());
            }
            TokenTree::Group(g) => {
                let mut ng = proc_macro2::Group::new(g.delimiter(), add_dyn(g.stream()));
                ng.set_span(g.span());
                out.push(TokenTree::Group(ng));
            }
            other => out.push(other.clone()),
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bad_item_keeps_the_others() {
        let src = "#![allow(x)]\nfn a() {}\nfn broken() -> {}\nstruct B;\nimpl B { fn c(&self) { unsafe { d() } } }\n";
        let (file, err) = parse_file(src);
        assert!(err.is_some());
        let file = file.expect("recovered");
        assert_eq!(file.items.len(), 3, "a, B, impl B");
        assert_eq!(file.attrs.len(), 1);
    }

    #[test]
    fn edition_2015_bare_trait_objects_are_not_parse_errors() {
        let src = "type Action = Fn(&u8) + Send + Sync;\nstruct S { f: Box<Fn() + Send> }\nfn g(x: &Fn(u8)) {}\n";
        assert!(syn::parse_file(src).is_err(), "syn alone rejects this");
        let (file, err) = parse_file(src);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(file.unwrap().items.len(), 3);
    }

    #[test]
    fn unlexable_text_has_no_items() {
        let (file, err) = parse_file("fn a() { \"unterminated }\n");
        assert!(err.is_some());
        assert!(file.is_none());
    }

    #[test]
    fn good_files_parse_once() {
        let (file, err) = parse_file("#!/usr/bin/env run-cargo-script\nfn main() {}\n");
        assert!(err.is_none());
        assert_eq!(file.unwrap().items.len(), 1);
    }
}
