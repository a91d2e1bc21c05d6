use std::collections::HashMap;
use std::hash::Hash;
use std::ops::Add;

fn largest<T: PartialOrd + Copy>(items: &[T]) -> Option<T> {
    let mut it = items.iter().copied();
    let first = it.next()?;
    Some(it.fold(first, |m, x| if x > m { x } else { m }))
}

fn sum_all<T>(items: &[T]) -> T
where
    T: Add<Output = T> + Default + Copy,
{
    items.iter().fold(T::default(), |acc, &x| acc + x)
}

struct Counter<K> {
    counts: HashMap<K, usize>,
}

impl<K: Hash + Eq + Clone> Counter<K> {
    fn new() -> Self {
        Counter { counts: HashMap::new() }
    }
    fn add(&mut self, key: &K) {
        *self.counts.entry(key.clone()).or_insert(0) += 1;
    }
}

fn main() {
    let mut c = Counter::new();
    for w in ["a", "b", "a"] {
        c.add(&w);
    }
    println!("{:?} {} {}", largest(&[3, 9, 2]), sum_all(&[1.5, 2.5]), c.counts["a"]);
}
