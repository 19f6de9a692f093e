//! `log_bench` (not written yet).
fn main() {
    eprintln!("log_bench: not written yet");
    std::process::exit(2);
}
