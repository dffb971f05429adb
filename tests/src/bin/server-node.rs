//! The real `doorstep-server` command line (`doorstep_server::command::run`, the very function
//! the `doorstep-server` binary runs), built into this package so that the multi-process tests
//! get its path from cargo: `CARGO_BIN_EXE_…` names only a package's own binaries.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    doorstep_server::command::run().await
}
