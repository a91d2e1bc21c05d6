class Shape {
  static count = 0;
  #id;
  constructor(name) {
    this.name = name;
    this.#id = ++Shape.count;
  }
  get id() { return this.#id; }
  area() { return 0; }
  toString() { return `${this.name}#${this.id}: ${this.area().toFixed(2)}`; }
}

class Circle extends Shape {
  constructor(r) { super('circle'); this.r = r; }
  area() { return Math.PI * this.r ** 2; }
}

class Rect extends Shape {
  constructor(w, h) { super('rect'); Object.assign(this, { w, h }); }
  area() { return this.w * this.h; }
}

const shapes = [new Circle(1), new Rect(2, 3)];
shapes.sort((a, b) => a.area() - b.area()).forEach((s) => console.log(String(s)));
console.log(shapes[0] instanceof Shape, Object.keys(shapes[1]));
