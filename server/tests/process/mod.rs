//! Running the `server` binary from a test: pointed at a mock provider in the test process
//! (which outlives it), and started once it says it listens.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use runtime::mock::MockProvider;

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `server` with every provider's base URL pointed at `mock`, a mock key under every model's
/// secret name, and the mock's webhook signing secrets.
pub fn command(mock: &MockProvider) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_server"));
    for m in generated_models::MODELS {
        cmd.env(m.secret_name, "mock-key");
        cmd.env(
            runtime::engine::base_url_var(m.provider.id),
            mock.base_url_of(m.provider.id),
        );
    }
    for (name, value) in mock.webhook_secrets() {
        cmd.env(name, value);
    }
    cmd
}

/// Spawn `cmd` and wait until it prints `listening on`; panic, naming `what`, if it exits or
/// has not started within a minute.
pub fn spawn_listening(mut cmd: Command, what: &str) -> Child {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server binary");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100))
            && line.starts_with("listening on ")
        {
            return child;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited at start ({status})");
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{what} did not start within a minute");
}
