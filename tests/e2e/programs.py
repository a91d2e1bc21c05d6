"""Small programs in every language, used by the end-to-end tests."""

from __future__ import annotations

HELLO = {
    "python": 'print("hello, world")\n',
    "javascript": 'console.log("hello, world");\n',
    "c": '#include <stdio.h>\nint main(void) { printf("hello, world\\n"); return 0; }\n',
    "cpp": '#include <iostream>\nint main() { std::cout << "hello, world" << std::endl; }\n',
    "rust": 'fn main() { println!("hello, world"); }\n',
}

# Prompts without a newline, then reads two lines and echoes them.
INTERACTIVE = {
    "python": (
        'name = input("Name: ")\nage = input("Age: ")\nprint(f"Hello {name}, you are {age}")\n'
    ),
    "javascript": (
        "const readline = require('readline');\n"
        "const rl = readline.createInterface({ input: process.stdin });\n"
        "const it = rl[Symbol.asyncIterator]();\n"
        "(async () => {\n"
        "  process.stdout.write('Name: ');\n"
        "  const name = (await it.next()).value;\n"
        "  process.stdout.write('Age: ');\n"
        "  const age = (await it.next()).value;\n"
        "  console.log(`Hello ${name}, you are ${age}`);\n"
        "  rl.close();\n"
        "})();\n"
    ),
    "c": (
        "#include <stdio.h>\n"
        "int main(void) {\n"
        "  char name[64]; int age;\n"
        '  printf("Name: ");\n'
        '  if (scanf("%63s", name) != 1) return 1;\n'
        '  printf("Age: ");\n'
        '  if (scanf("%d", &age) != 1) return 1;\n'
        '  printf("Hello %s, you are %d\\n", name, age);\n'
        "  return 0;\n"
        "}\n"
    ),
    "cpp": (
        "#include <iostream>\n#include <string>\n"
        "int main() {\n"
        "  std::string name; int age;\n"
        '  std::cout << "Name: ";\n'
        "  std::cin >> name;\n"
        '  std::cout << "Age: ";\n'
        "  std::cin >> age;\n"
        '  std::cout << "Hello " << name << ", you are " << age << "\\n";\n'
        "}\n"
    ),
    "rust": (
        "use std::io::{self, BufRead, Write};\n"
        "fn main() {\n"
        "    let stdin = io::stdin();\n"
        "    let mut lines = stdin.lock().lines();\n"
        '    print!("Name: ");\n'
        "    io::stdout().flush().unwrap();\n"
        "    let name = lines.next().unwrap().unwrap();\n"
        '    print!("Age: ");\n'
        "    io::stdout().flush().unwrap();\n"
        "    let age = lines.next().unwrap().unwrap();\n"
        '    println!("Hello {}, you are {}", name.trim(), age.trim());\n'
        "}\n"
    ),
}

COMPILE_ERROR = {
    "c": "int main(void) { return undeclared_name; }\n",
    "cpp": "int main() { std::string s = 1; }\n",
    "rust": 'fn main() { let x: i32 = "text"; }\n',
}

RUNTIME_ERROR = {
    "python": 'import sys\nprint("before")\nsys.exit(3)\n',
    "javascript": 'console.log("before");\nprocess.exit(3);\n',
    "c": '#include <stdio.h>\nint main(void) { printf("before\\n"); return 3; }\n',
    "cpp": '#include <cstdio>\nint main() { std::puts("before"); return 3; }\n',
    "rust": 'fn main() { println!("before"); std::process::exit(3); }\n',
}

SEGFAULT = {
    "c": "int main(void) { volatile int *p = 0; *p = 1; return 0; }\n",
    "cpp": "int main() { volatile int *p = nullptr; *p = 1; }\n",
}

STDERR = {
    "python": 'import sys\nprint("to out")\nprint("to err", file=sys.stderr)\n',
    "javascript": 'console.log("to out");\nconsole.error("to err");\n',
    "c": '#include <stdio.h>\nint main(void) { puts("to out"); fputs("to err\\n", stderr); }\n',
    "cpp": (
        '#include <iostream>\nint main() { std::cout << "to out\\n"; std::cerr << "to err\\n"; }\n'
    ),
    "rust": 'fn main() { println!("to out"); eprintln!("to err"); }\n',
}

# Reads all of stdin and prints how many lines and bytes it got.
READ_ALL = {
    "python": "import sys\ndata = sys.stdin.read()\nprint(len(data.splitlines()), len(data))\n",
    "javascript": (
        "let data = '';\n"
        "process.stdin.on('data', c => data += c);\n"
        "process.stdin.on('end', () => console.log(data.split('\\n').length - 1, data.length));\n"
    ),
    "c": (
        "#include <stdio.h>\n"
        "int main(void) { int c, lines = 0, n = 0;\n"
        "  while ((c = getchar()) != EOF) { n++; if (c == '\\n') lines++; }\n"
        '  printf("%d %d\\n", lines, n); }\n'
    ),
    "cpp": (
        "#include <iostream>\n#include <iterator>\n#include <string>\n"
        "int main() { std::string s((std::istreambuf_iterator<char>(std::cin)), {});\n"
        "  int lines = 0; for (char c : s) lines += c == '\\n';\n"
        '  std::cout << lines << " " << s.size() << "\\n"; }\n'
    ),
    "rust": (
        "use std::io::Read;\n"
        "fn main() { let mut s = String::new(); std::io::stdin().read_to_string(&mut s).unwrap();\n"
        "  println!(\"{} {}\", s.matches('\\n').count(), s.len()); }\n"
    ),
}

SLEEP_FOREVER = {
    "python": 'import time\nprint("started", flush=True)\ntime.sleep(3600)\n',
    "c": (
        "#include <stdio.h>\n#include <unistd.h>\n"
        'int main(void) { puts("started"); sleep(3600); }\n'
    ),
}

CPU_LOOP = {
    "python": "while True:\n    pass\n",
    "javascript": "for (;;) {}\n",
    "c": "int main(void) { volatile unsigned long i = 0; for (;;) i++; }\n",
    "cpp": "int main() { volatile unsigned long i = 0; for (;;) i++; }\n",
    "rust": "fn main() { let mut i: u64 = 0; loop { i = std::hint::black_box(i + 1); } }\n",
}

LANGUAGES = list(HELLO)
COMPILED = list(COMPILE_ERROR)
