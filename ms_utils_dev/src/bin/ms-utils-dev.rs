//! `ms-utils-dev`: the development gateway (and, with the `s3` feature, an
//! S3-compatible server) on loopback, for local development and for pointing
//! a Python or Rust service at it.
//!
//! ```text
//! cargo run -p ms_utils_dev --bin ms-utils-dev -- \
//!     --user orders:orders-pw --user workers_manager:wm-pw
//! ```
//!
//! The first line printed is `GATEWAY 127.0.0.1:<port>`, then (with `s3`)
//! `S3 http://127.0.0.1:<port> access_key=<key> secret_key=<secret>`, then the
//! `export ...` lines that point the examples or a service at both. It serves
//! until SIGINT (Ctrl-C) or SIGTERM.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use ms_utils_dev::gateway::DevGateway;

const USAGE: &str = "\
usage: ms-utils-dev [--user NAME:PASSWORD]... [--gateway-port P] [--anonymous]
                    [--s3-port P] [--s3-root DIR] [--bucket NAME]...
                    [--auto-create-buckets] [--no-s3]

  --user NAME:PASSWORD  a microservice that may log in (repeatable; default
                        dev:dev-password)
  --gateway-port P      gateway port on 127.0.0.1 (default: any free port)
  --anonymous           also accept websockets without a token
  --s3-port P           S3 port on 127.0.0.1 (default: any free port)
  --s3-root DIR         folder the S3 server keeps objects in (default: a
                        temporary folder removed on exit)
  --bucket NAME         create this bucket at start (repeatable); an upload
                        into a bucket neither named here nor created with
                        CreateBucket is NoSuchBucket, as on S3
  --auto-create-buckets create a missing bucket on the first upload into it
  --no-s3               do not start the S3 server";

/// What the command line asked for.
#[derive(Debug, Default, PartialEq)]
struct Args {
    users: Vec<(String, String)>,
    gateway_port: u16,
    anonymous: bool,
    s3_port: u16,
    s3_root: Option<PathBuf>,
    buckets: Vec<String>,
    auto_create_buckets: bool,
    no_s3: bool,
}

/// Why the command line was refused (printed with the usage text).
#[derive(Debug, PartialEq)]
enum ArgsError {
    Help,
    Invalid(String),
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, ArgsError> {
    fn value(flag: &str, it: &mut impl Iterator<Item = String>) -> Result<String, ArgsError> {
        it.next()
            .ok_or_else(|| ArgsError::Invalid(format!("{flag} needs a value")))
    }
    fn port(flag: &str, v: &str) -> Result<u16, ArgsError> {
        v.parse()
            .map_err(|_| ArgsError::Invalid(format!("{flag}: {v:?} is not a port number")))
    }
    let mut args = Args::default();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => return Err(ArgsError::Help),
            "--user" => {
                let v = value(&arg, &mut it)?;
                match v.split_once(':') {
                    Some((name, pw)) if !name.is_empty() => {
                        args.users.push((name.to_owned(), pw.to_owned()))
                    }
                    _ => {
                        return Err(ArgsError::Invalid(
                            "--user takes NAME:PASSWORD with a non-empty NAME".into(),
                        ));
                    }
                }
            }
            "--gateway-port" => args.gateway_port = port(&arg, &value(&arg, &mut it)?)?,
            "--s3-port" => args.s3_port = port(&arg, &value(&arg, &mut it)?)?,
            "--s3-root" => args.s3_root = Some(PathBuf::from(value(&arg, &mut it)?)),
            "--bucket" => args.buckets.push(value(&arg, &mut it)?),
            "--anonymous" => args.anonymous = true,
            "--auto-create-buckets" => args.auto_create_buckets = true,
            "--no-s3" => args.no_s3 = true,
            other => return Err(ArgsError::Invalid(format!("unknown argument {other:?}"))),
        }
    }
    if args.users.is_empty() {
        args.users.push(("dev".into(), "dev-password".into()));
    }
    Ok(args)
}

/// Writes a line and flushes at once: whoever started us reads the address
/// from our stdout while we keep running.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM. The handlers are
/// installed by this call, so a signal sent right after it is not lost.
/// (`ms_utils::shutdown_signal` does the same for services; this crate sits
/// below `ms_utils` and cannot use it.)
#[cfg(unix)]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(ArgsError::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(ArgsError::Invalid(why)) => {
            eprintln!("ms-utils-dev: {why}\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let mut builder = DevGateway::builder()
        .port(args.gateway_port)
        .allow_anonymous(args.anonymous);
    for (name, pw) in &args.users {
        builder = builder.user(name, pw);
    }
    let gateway = match builder.start().await {
        Ok(g) => g,
        Err(e) => {
            eprintln!("ms-utils-dev: cannot start the gateway: {e}");
            return ExitCode::FAILURE;
        }
    };
    say(&format!("GATEWAY {}", gateway.host()));

    #[cfg(feature = "s3")]
    let s3 = if args.no_s3 {
        None
    } else {
        use ms_utils_dev::s3::DevS3Server;
        let mut b = DevS3Server::builder().port(args.s3_port);
        if let Some(root) = &args.s3_root {
            b = b.root(root);
        }
        for bucket in &args.buckets {
            b = b.bucket(bucket);
        }
        b = b.auto_create_buckets(args.auto_create_buckets);
        match b.start().await {
            Ok(s) => {
                say(&format!(
                    "S3 {} access_key={} secret_key={}",
                    s.endpoint(),
                    s.access_key(),
                    s.secret_key()
                ));
                Some(s)
            }
            Err(e) => {
                eprintln!("ms-utils-dev: cannot start the S3 server: {e}");
                gateway.shutdown().await;
                return ExitCode::FAILURE;
            }
        }
    };

    // The lines a shell can `eval` to point the examples (or a Python service)
    // at these servers, as the first user.
    let (user, pw) = &args.users[0];
    say("# point a service at these servers (first user):");
    say(&format!("export GATEWAY_HOST={}", gateway.host()));
    say("export GATEWAY_TLS=false");
    say(&format!("export GATEWAY_USER={user}"));
    say(&format!("export GATEWAY_PASSWORD={pw}"));
    #[cfg(feature = "s3")]
    if let Some(s) = &s3 {
        say(&format!("export S3_ENDPOINT={}", s.endpoint()));
        say(&format!("export S3_ACCESS_KEY_ID={}", s.access_key()));
        say(&format!("export S3_SECRET_ACCESS_KEY={}", s.secret_key()));
    }
    // Listening before saying so: whoever reads the line may signal at once.
    let stop = match stop_signal() {
        Ok(stop) => stop,
        Err(e) => {
            eprintln!("ms-utils-dev: cannot listen for SIGINT/SIGTERM: {e}");
            return ExitCode::FAILURE;
        }
    };
    say("# serving until Ctrl-C / SIGTERM");

    stop.await;
    eprintln!("ms-utils-dev: shutting down");
    gateway.shutdown().await;
    #[cfg(feature = "s3")]
    if let Some(s) = s3 {
        s.shutdown().await;
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &[&str]) -> Result<Args, ArgsError> {
        parse_args(v.iter().map(|s| s.to_string()))
    }

    #[test]
    fn default_user_when_none_given() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.users, vec![("dev".into(), "dev-password".into())]);
        assert_eq!(a.gateway_port, 0);
    }

    #[test]
    fn users_ports_and_buckets() {
        let a = parse(&[
            "--user",
            "a:pw:with:colons",
            "--user",
            "b:",
            "--gateway-port",
            "8080",
            "--s3-port",
            "9000",
            "--s3-root",
            "/tmp/x",
            "--bucket",
            "data",
            "--anonymous",
            "--auto-create-buckets",
        ])
        .unwrap();
        assert_eq!(
            a.users,
            vec![
                ("a".into(), "pw:with:colons".into()),
                ("b".into(), String::new())
            ]
        );
        assert_eq!((a.gateway_port, a.s3_port), (8080, 9000));
        assert_eq!(a.s3_root, Some(PathBuf::from("/tmp/x")));
        assert_eq!(a.buckets, vec!["data".to_string()]);
        assert!(a.anonymous && a.auto_create_buckets && !a.no_s3);
        assert!(!parse(&[]).unwrap().auto_create_buckets);
    }

    #[test]
    fn bad_arguments_are_refused() {
        assert!(matches!(
            parse(&["--user", "nocolon"]),
            Err(ArgsError::Invalid(_))
        ));
        assert!(matches!(
            parse(&["--user", ":pw"]),
            Err(ArgsError::Invalid(_))
        ));
        assert!(matches!(
            parse(&["--gateway-port", "x"]),
            Err(ArgsError::Invalid(_))
        ));
        assert!(matches!(
            parse(&["--gateway-port"]),
            Err(ArgsError::Invalid(_))
        ));
        assert!(matches!(parse(&["--what"]), Err(ArgsError::Invalid(_))));
        assert_eq!(parse(&["--help"]), Err(ArgsError::Help));
    }
}
