//! The `aigis` command-line tool: see `aigis --help` and the `cli` module.

mod cli;

/// mimalloc instead of the system allocator: parsing and guarding SQL allocate many small,
/// short-lived AST nodes, and mimalloc makes a guard check about a fifth faster
/// (`scripts/bench-guard.sh` measures both).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
