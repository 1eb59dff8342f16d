//! Running the release binary from a benchmark: a command and its output,
//! and an administrator's API token.

use std::io::Write;
use std::process::{Command, Stdio};

/// The binary the benchmarks measure.
pub const BIN: &str = env!("CARGO_BIN_EXE_bayige");

/// Runs `bayige ARGS` on the database `url`, with `stdin` if given, and
/// returns what it printed; panics if it fails.
pub fn run(args: &[&str], url: &str, stdin: Option<&str>) -> String {
    let mut child = Command::new(BIN)
        .args(args)
        .env("BAYIGE_DATABASE_URL", url)
        .env("BAYIGE_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run bayige");
    if let (Some(s), Some(mut input)) = (stdin, child.stdin.take()) {
        input.write_all(s.as_bytes()).expect("stdin");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("bayige");
    assert!(out.status.success(), "bayige {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Creates the `bench` administrator (password `bench password 1`) and
/// returns a new API token for it named `name`.
pub fn admin_token(url: &str, name: &str) -> String {
    let add = [
        "user",
        "add",
        "--username",
        "bench",
        "--role",
        "admin",
        "--password-stdin",
    ];
    run(&add, url, Some("bench password 1\n"));
    run(&["token", "create", "--username", "bench", "--name", name], url, None)
        .trim()
        .to_owned()
}
