//! `channel-lint`: the lint as a standalone binary, built by `cargo install --path .` at the
//! repository root (pre-commit's `language: rust` hook does this). The same program as
//! `cargo-channel-lint`; the command line lives in `channel_lint::cli`.

// The same allocator as `cargo-channel-lint` (see lint/src/main.rs): the library sets none.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    channel_lint::cli::main()
}
