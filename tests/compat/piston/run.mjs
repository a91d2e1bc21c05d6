// The official npm Piston client (piston-client 1.0.2), unmodified, against a cexec gateway:
//   node run.mjs http://127.0.0.1:8000
// Prints one JSON object: the runtimes the client read, and what it got for each program.
// tests/e2e/test_piston.py runs it and checks the answers (the client sends no API key: the
// gateway it talks to runs with PISTON_API=open).
import piston from "piston-client";

const HELLO = {
  python: 'print("hello, world")\n',
  javascript: 'console.log("hello, world");\n',
  c: '#include <stdio.h>\nint main(void) { printf("hello, world\\n"); return 0; }\n',
  "c++": '#include <iostream>\nint main() { std::cout << "hello, world" << std::endl; }\n',
  rust: 'fn main() { println!("hello, world"); }\n',
};

const client = piston({ server: process.argv[2] });
const out = { runtimes: await client.runtimes(), hello: {} };
for (const [language, code] of Object.entries(HELLO)) {
  out.hello[language] = await client.execute(language, code);
}
// The config form: a version range, stdin, args, and limits in the client's camelCase.
out.config = await client.execute({
  language: "python",
  version: "3",
  files: [{ name: "main.py", content: "import sys\nprint(input(), sys.argv[1:])\n" }],
  stdin: "from stdin",
  args: ["a", "b"],
  runTimeout: 2000,
  runMemoryLimit: 64 * 1024 * 1024,
});
out.compileError = await client.execute("c", "int main(void) { return 0 }\n");
// An alias: the client picks a version only for exact names, so it sends none (upstream: 400).
out.alias = await client.execute("py", 'print("x")\n');
console.log(JSON.stringify(out));
