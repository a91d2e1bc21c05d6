use std::io::{self, BufRead};

fn main() {
    let stdin = io::stdin();
    let mut longest = String::new();
    for line in stdin.lock().lines() {
        let line = line.expect("read error");
        if line.len() > longest.len() {
            longest = line;
        }
    }
    println!("{}", longest);
}
