fn make_adder(n: i32) -> impl Fn(i32) -> i32 {
    move |x| x + n
}

fn apply<F: FnMut()>(mut f: F, times: usize) {
    for _ in 0..times {
        f();
    }
}

fn main() {
    let add5 = make_adder(5);
    let mut count = 0;
    apply(|| count += 1, 3);
    let words = vec!["delta", "alpha", "charlie"];
    let mut sorted: Vec<_> = words.iter().map(|w| w.to_uppercase()).collect();
    sorted.sort_by_key(|w| w.len());
    let evens: Vec<i32> = (1..=10).filter(|x| x % 2 == 0).map(|x| x * x).collect();
    let pairs: Vec<(usize, char)> = "abc".chars().enumerate().collect();
    let total: i32 = evens.iter().rev().take(2).sum();
    println!("{} {} {:?} {:?} {} {}", add5(1), count, sorted, pairs, total, evens.windows(2).count());
}
