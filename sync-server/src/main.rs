//! The Doorstep sync server. Not built yet: issue 3 delivers `serve` and `demo`. Until then this
//! binary says so and exits with an error instead of pretending to run.

fn main() -> std::process::ExitCode {
    eprintln!(
        "doorstep-server {}: la synchronisation n'est pas encore disponible (issue 3) / the sync server is not built yet (issue 3). Protocol version {}.",
        env!("CARGO_PKG_VERSION"),
        doorstep_protocol::PROTOCOL_VERSION
    );
    std::process::ExitCode::from(2)
}
