//! The `aigis` command-line tool.

fn main() {
    println!("aigis: not yet wired");
}
