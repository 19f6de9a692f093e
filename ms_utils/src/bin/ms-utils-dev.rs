//! The development gateway and S3 server, run from the command line (under construction).
fn main() {
    eprintln!("ms-utils-dev: not built yet");
    std::process::exit(2);
}
