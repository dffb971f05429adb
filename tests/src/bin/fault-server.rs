//! Child process of the fault-injection suite: the sync server on an SQLite file, on a free
//! loopback port. Prints `READY <addr>` once listening; killed with SIGKILL by the parent.
//! `fault-server <database>`.

use std::sync::Arc;

use doorstep_server::service::Service;
use doorstep_server::store::ServerStore;
use doorstep_server::store::sqlite::SqliteStore;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let path = std::env::args().nth(1).expect("database path");
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(&path).expect("open the server database"));
    let service = Service::new(store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    println!("READY {}", listener.local_addr().expect("bound"));
    axum::serve(listener, doorstep_server::api::app(service)).await.expect("serve");
}
