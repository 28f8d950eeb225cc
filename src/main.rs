//! The `cnpgtp` binary: parse arguments, run the library, print the error chain, pick the exit code.
use std::process::ExitCode;

fn main() -> ExitCode {
    cnpgtp::cli::main(std::env::args_os())
}
