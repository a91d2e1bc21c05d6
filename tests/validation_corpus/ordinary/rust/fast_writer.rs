use std::io::{self, BufWriter, Read, Write};

fn main() {
    let mut input = String::new();
    io::stdin().lock().read_to_string(&mut input).unwrap();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for (i, token) in input.split_whitespace().enumerate() {
        let value: i64 = token.parse().unwrap_or(0);
        writeln!(out, "{} {}", i, value * 2).unwrap();
    }
    out.flush().unwrap();
    eprintln!("done");
}
