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
        Err(e) => (recover(text), Some(e)),
    }
}

fn recover(text: &str) -> Option<syn::File> {
    // What syn::parse_file strips: a BOM and a shebang line (kept as spaces, so positions hold).
    let mut owned = text.strip_prefix('\u{feff}').unwrap_or(text).to_string();
    if owned.starts_with("#!") && !owned.starts_with("#![") {
        let end = owned.find('\n').unwrap_or(owned.len());
        owned.replace_range(..end, &" ".repeat(owned[..end].chars().count()));
    }
    let tokens = TokenStream::from_str(&owned).ok()?;
    let parser = |input: ParseStream| -> syn::Result<syn::File> {
        let attrs = input.call(syn::Attribute::parse_inner).unwrap_or_default();
        let mut items = Vec::new();
        while !input.is_empty() {
            let fork = input.fork();
            match fork.parse::<syn::Item>() {
                Ok(item) => {
                    use syn::parse::discouraged::Speculative;
                    input.advance_to(&fork);
                    items.push(item);
                }
                Err(_) => skip_item(input)?,
            }
        }
        Ok(syn::File {
            shebang: None,
            attrs,
            items,
        })
    };
    parser.parse2(tokens).ok()
}

/// Skip tokens up to and including the next top-level `;` or `{ .. }` group.
fn skip_item(input: ParseStream) -> syn::Result<()> {
    while !input.is_empty() {
        let tt: TokenTree = input.parse()?;
        match tt {
            TokenTree::Punct(p) if p.as_char() == ';' => return Ok(()),
            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => {
                if input.peek(syn::Token![;]) {
                    input.parse::<syn::Token![;]>()?;
                }
                return Ok(());
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bad_item_keeps_the_others() {
        let src = "#![allow(x)]\nfn a() {}\ntype Action = Fn(&u8) + Send + Sync;\nstruct B;\nimpl B { fn c(&self) { unsafe { d() } } }\n";
        let (file, err) = parse_file(src);
        assert!(err.is_some());
        let file = file.expect("recovered");
        assert_eq!(file.items.len(), 3, "a, B, impl B");
        assert_eq!(file.attrs.len(), 1);
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
