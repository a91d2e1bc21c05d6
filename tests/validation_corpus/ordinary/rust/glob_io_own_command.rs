// Its own `Command` type and a glob import: neither is std::process::Command.
use std::io::*;

enum Command {
    Move(i32, i32),
    Stop,
}

fn apply(pos: (i32, i32), cmd: &Command) -> (i32, i32) {
    match cmd {
        Command::Move(dx, dy) => (pos.0 + dx, pos.1 + dy),
        Command::Stop => pos,
    }
}

fn main() {
    let mut s = String::new();
    stdin().read_line(&mut s).unwrap();
    let cmds = [Command::Move(1, 2), Command::Stop, Command::Move(-3, 0)];
    let end = cmds.iter().fold((0, 0), apply);
    let mut out = stdout();
    writeln!(out, "{:?}", end).unwrap();
}
