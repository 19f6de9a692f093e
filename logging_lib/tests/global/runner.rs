//! A small stand-in for libtest that runs each scenario in a child process
//! of this binary: the parent parses the arguments cargo passes through
//! (filters, `--exact`, `--skip`, `--list`, `--ignored`, `--nocapture`,
//! ...), re-executes itself with `--run-scenario NAME` once per selected
//! scenario, and prints libtest's lines, so that `cargo test` counts them
//! and a failure looks like any other.

use std::io::{self, Write};
use std::process::{Command, ExitCode, Output, Stdio};
use std::time::Instant;

/// The argument that makes this binary run one scenario and exit.
const RUN_SCENARIO: &str = "--run-scenario";

/// The exit code libtest uses when a test failed.
const FAILED: u8 = 101;

/// One scenario: a function that panics when it fails.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scenario {
    pub(crate) name: &'static str,
    pub(crate) run: fn(),
}

/// What the command line asks for.
#[derive(Debug, Default)]
struct Args {
    /// `--run-scenario NAME`: this process is a child.
    child: Option<String>,
    filters: Vec<String>,
    skip: Vec<String>,
    exact: bool,
    list: bool,
    terse: bool,
    /// `--ignored`: only ignored tests, and no scenario is ignored.
    only_ignored: bool,
    nocapture: bool,
    show_output: bool,
}

impl Args {
    /// libtest's options as far as they matter here; the ones that only
    /// tune libtest itself (`--test-threads 2`, `--color never`, `-q`) are
    /// accepted and ignored.
    fn parse(mut args: impl Iterator<Item = String>) -> Self {
        let mut parsed = Self::default();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if arg.starts_with("--") => (flag.to_owned(), Some(value)),
                _ => (arg.clone(), None),
            };
            let mut value = || inline.map(str::to_owned).or_else(|| args.next());
            match flag.as_str() {
                RUN_SCENARIO => parsed.child = value(),
                "--skip" => parsed.skip.extend(value()),
                "--format" => parsed.terse = value().as_deref() == Some("terse"),
                "--test-threads" | "--color" | "--logfile" | "--shuffle-seed" | "-Z" => {
                    let _ = value();
                }
                "--exact" => parsed.exact = true,
                "--list" => parsed.list = true,
                "--ignored" => parsed.only_ignored = true,
                "--nocapture" | "--no-capture" => parsed.nocapture = true,
                "--show-output" => parsed.show_output = true,
                _ if flag.starts_with('-') => {}
                _ => parsed.filters.push(arg),
            }
        }
        parsed
    }

    /// libtest's selection: any filter matches (a substring of the full
    /// name, or with `--exact` the full or the bare name), no `--skip`
    /// substring does.
    fn selects(&self, full: &str, bare: &str) -> bool {
        let matches = |pattern: &str| {
            if self.exact {
                full == pattern || bare == pattern
            } else {
                full.contains(pattern)
            }
        };
        (self.filters.is_empty() || self.filters.iter().any(|f| matches(f)))
            && !self.skip.iter().any(|s| matches(s))
    }
}

/// Runs the scenario named by `--run-scenario`, or every selected scenario
/// in a child process each. `prefix` is shown before each name
/// (`test global::setup_twice ... ok`).
pub(crate) fn main(prefix: &str, scenarios: &[Scenario]) -> ExitCode {
    let args = Args::parse(std::env::args().skip(1));
    if let Some(name) = &args.child {
        return run_child(name, scenarios);
    }
    let full = |s: &Scenario| format!("{prefix}::{}", s.name);
    let selected: Vec<&Scenario> = if args.only_ignored {
        Vec::new()
    } else {
        scenarios
            .iter()
            .filter(|s| args.selects(&full(s), s.name))
            .collect()
    };
    if args.list {
        for scenario in &selected {
            println!("{}: test", full(scenario));
        }
        if !args.terse {
            println!("\n{} tests, 0 benchmarks", selected.len());
        }
        return ExitCode::SUCCESS;
    }

    let started = Instant::now();
    let plural = if selected.len() == 1 { "" } else { "s" };
    println!("\nrunning {} test{plural}", selected.len());
    let mut failures = Vec::new();
    for scenario in &selected {
        let name = full(scenario);
        print!("test {name} ... ");
        let _ = io::stdout().flush();
        match run_parent(scenario.name, args.nocapture) {
            Ok(output) if output.status.success() => {
                println!("ok");
                if args.show_output {
                    print_output(&name, &output);
                }
            }
            Ok(output) => {
                println!("FAILED");
                failures.push((name, Some(output)));
            }
            Err(error) => {
                println!("FAILED");
                eprintln!("cannot run {name} in a child process: {error}");
                failures.push((name, None));
            }
        }
    }

    if !failures.is_empty() {
        println!("\nfailures:\n");
        for (name, output) in &failures {
            if let Some(output) = output {
                print_output(name, output);
                println!("{name} exited with {}", output.status);
            }
        }
        println!("\nfailures:");
        for (name, _) in &failures {
            println!("    {name}");
        }
    }
    let failed = failures.len();
    println!(
        "\ntest result: {}. {} passed; {failed} failed; 0 ignored; 0 measured; {} filtered out; finished in {:.2}s\n",
        if failed == 0 { "ok" } else { "FAILED" },
        selected.len() - failed,
        scenarios.len() - selected.len(),
        started.elapsed().as_secs_f64(),
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILED)
    }
}

/// In the child: runs the scenario. A failed assertion panics, and a panic
/// in `main` ends the process with libtest's code 101.
fn run_child(name: &str, scenarios: &[Scenario]) -> ExitCode {
    match scenarios.iter().find(|s| s.name == name) {
        Some(scenario) => {
            (scenario.run)();
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("no scenario named {name}");
            ExitCode::from(2)
        }
    }
}

/// In the parent: runs this binary again for the scenario `name`, its output
/// captured, or passed through with `--nocapture`.
fn run_parent(name: &str, nocapture: bool) -> io::Result<Output> {
    let mut command = Command::new(std::env::current_exe()?);
    command.args([RUN_SCENARIO, name]).stdin(Stdio::null());
    if nocapture {
        command.stdout(Stdio::inherit()).stderr(Stdio::inherit());
        let status = command.status()?;
        Ok(Output {
            status,
            stdout: Vec::new(),
            stderr: Vec::new(),
        })
    } else {
        command.output()
    }
}

fn print_output(name: &str, output: &Output) {
    println!("---- {name} stdout ----");
    print!("{}", String::from_utf8_lossy(&output.stdout));
    print!("{}", String::from_utf8_lossy(&output.stderr));
    println!();
}
