use std::collections::HashMap;

fn fib(n: u64, memo: &mut HashMap<u64, u128>) -> u128 {
    if n < 2 {
        return n as u128;
    }
    if let Some(&v) = memo.get(&n) {
        return v;
    }
    let v = fib(n - 1, memo) + fib(n - 2, memo);
    memo.insert(n, v);
    v
}

fn dfs(u: usize, adj: &Vec<Vec<usize>>, seen: &mut Vec<bool>, order: &mut Vec<usize>) {
    seen[u] = true;
    for &v in &adj[u] {
        if !seen[v] {
            dfs(v, adj, seen, order);
        }
    }
    order.push(u);
}

fn main() {
    let mut memo = HashMap::new();
    let adj = vec![vec![1, 2], vec![3], vec![3], vec![]];
    let mut seen = vec![false; 4];
    let mut order = Vec::new();
    dfs(0, &adj, &mut seen, &mut order);
    println!("{} {:?}", fib(150, &mut memo), order);
}
