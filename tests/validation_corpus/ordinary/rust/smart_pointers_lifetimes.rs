use std::cell::RefCell;
use std::rc::Rc;

#[derive(Debug)]
struct Node {
    value: i32,
    children: Vec<Rc<RefCell<Node>>>,
}

fn longest<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.len() >= b.len() {
        a
    } else {
        b
    }
}

fn sum(node: &Rc<RefCell<Node>>) -> i32 {
    let n = node.borrow();
    n.value + n.children.iter().map(sum).sum::<i32>()
}

fn main() {
    let leaf = Rc::new(RefCell::new(Node { value: 3, children: vec![] }));
    let root = Rc::new(RefCell::new(Node { value: 1, children: vec![Rc::clone(&leaf)] }));
    leaf.borrow_mut().value += 10;
    let text = String::from("hello");
    println!("{} {} {}", sum(&root), longest(&text, "hi"), Rc::strong_count(&leaf));
}
