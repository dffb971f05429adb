//! `doorstep-server`: see [`doorstep_server::command`].

/// mimalloc rather than glibc's allocator (see Cargo.toml): measured on a million-address import.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    doorstep_server::command::run().await
}
