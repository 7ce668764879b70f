//! A stand-in for docker's `docker-credential-wincred.exe`, for cross/smoke-windows.sh: it
//! answers `get` as the real helper does, with the username and secret of the environment
//! variables SMOKE_CRED_USERNAME and SMOKE_CRED_SECRET, and appends the server name it was
//! asked about to the file SMOKE_CRED_LOG. Without them it has "credentials not found".
//! SMOKE_CRED_SLEEP=N makes it wait N seconds first (a helper that hangs).
//! Built with plain rustc for x86_64-pc-windows-gnu; std only.

use std::io::{Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some("get") || args.next().is_some() {
        eprintln!("usage: docker-credential-wincred get");
        return ExitCode::from(2);
    }
    let mut server = String::new();
    if std::io::stdin().read_to_string(&mut server).is_err() {
        eprintln!("cannot read the server name");
        return ExitCode::from(2);
    }
    let server = server.trim();
    if let Some(seconds) = std::env::var("SMOKE_CRED_SLEEP")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        std::thread::sleep(std::time::Duration::from_secs(seconds));
    }
    if let Ok(log) = std::env::var("SMOKE_CRED_LOG") {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut file| writeln!(file, "{server}"));
        if appended.is_err() {
            eprintln!("cannot write SMOKE_CRED_LOG");
            return ExitCode::from(2);
        }
    }
    let (Ok(username), Ok(secret)) = (
        std::env::var("SMOKE_CRED_USERNAME"),
        std::env::var("SMOKE_CRED_SECRET"),
    ) else {
        println!("credentials not found in native keychain");
        return ExitCode::from(1);
    };
    println!(
        r#"{{"ServerURL":"{}","Username":"{}","Secret":"{}"}}"#,
        json_escape(server),
        json_escape(&username),
        json_escape(&secret)
    );
    ExitCode::SUCCESS
}

/// `text` as the inside of a JSON string.
fn json_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}
