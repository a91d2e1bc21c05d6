use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

fn main() {
    let n = 10;
    let mut dp = vec![vec![0u64; n + 1]; n + 1];
    for i in 0..=n {
        dp[i][0] = 1;
        for j in 1..=i {
            dp[i][j] = dp[i - 1][j - 1] + if j < i { dp[i - 1][j] } else { 0 };
        }
    }
    let mut heap = BinaryHeap::new();
    for x in [5, 1, 8, 3] {
        heap.push(Reverse(x));
    }
    let mut tree = BTreeMap::new();
    tree.insert("b", 2);
    tree.insert("a", 1);
    let mut queue: VecDeque<i32> = (1..4).collect();
    queue.rotate_left(1);
    println!("{} {:?} {:?} {:?}", dp[10][5], heap.pop(), tree.keys().next(), queue);
}
