//! `s3_transfer` (not written yet).
fn main() {
    eprintln!("s3_transfer: not written yet");
    std::process::exit(2);
}
