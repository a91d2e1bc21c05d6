mod geometry {
    pub mod shapes {
        #[derive(Debug, Default)]
        pub struct Point {
            pub x: i32,
            pub y: i32,
        }

        impl Point {
            pub fn manhattan(&self, other: &Point) -> i32 {
                (self.x - other.x).abs() + (self.y - other.y).abs()
            }
        }
    }

    pub use self::shapes::Point;

    pub fn origin() -> Point {
        Point::default()
    }
}

use geometry::{origin, Point};
use std::process;

fn main() {
    let p = Point { x: 3, y: -4 };
    let d = p.manhattan(&origin());
    println!("{}", d);
    if d != 7 {
        process::exit(1);
    }
}
