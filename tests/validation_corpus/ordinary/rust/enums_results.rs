use std::num::ParseIntError;

#[derive(Debug)]
enum Command {
    Push(i64),
    Pop,
    Add,
}

fn parse(line: &str) -> Result<Command, String> {
    let mut parts = line.split_whitespace();
    match parts.next() {
        Some("push") => {
            let v: Result<i64, ParseIntError> = parts.next().unwrap_or("").parse();
            v.map(Command::Push).map_err(|e| e.to_string())
        }
        Some("pop") => Ok(Command::Pop),
        Some("add") => Ok(Command::Add),
        other => Err(format!("unknown command {:?}", other)),
    }
}

fn run(lines: &[&str]) -> Result<Vec<i64>, String> {
    let mut stack = Vec::new();
    for line in lines {
        match parse(line)? {
            Command::Push(v) => stack.push(v),
            Command::Pop => {
                stack.pop().ok_or("empty")?;
            }
            Command::Add => {
                let (a, b) = (stack.pop().ok_or("empty")?, stack.pop().ok_or("empty")?);
                stack.push(a + b);
            }
        }
    }
    Ok(stack)
}

fn main() {
    println!("{:?}", run(&["push 2", "push 3", "add"]));
    println!("{:?}", run(&["jump"]));
    if run(&["pop"]).is_err() {
        std::process::exit(0);
    }
}
