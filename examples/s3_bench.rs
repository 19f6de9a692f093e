//! `s3_bench` (not written yet).
fn main() {
    eprintln!("s3_bench: not written yet");
    std::process::exit(2);
}
