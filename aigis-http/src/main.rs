//! The `aigis` command-line tool: see `aigis --help` and the `cli` module.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
