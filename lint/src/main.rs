//! `cargo channel-lint`: the cargo subcommand. The command line lives in the library
//! ([`channel_lint::cli`]) so the repository root's `channel-lint` binary (what pre-commit's
//! `language: rust` installs) is the same program.
//!
//! Exit codes: 0 no error-level finding · 1 error-level findings · 2 usage, config or I/O
//! error of the tool itself.

// syn builds and drops millions of small allocations from several threads at once; mimalloc
// does that markedly faster than the system allocator (see docs/performance.md). The library
// sets no process-wide state: the allocator is the binary's choice.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    channel_lint::cli::main()
}
