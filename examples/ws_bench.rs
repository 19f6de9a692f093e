//! `ws_bench` (not written yet).
fn main() {
    eprintln!("ws_bench: not written yet");
    std::process::exit(2);
}
