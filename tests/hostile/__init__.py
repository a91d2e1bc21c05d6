"""The hostile corpus: programs that attack the sandbox, each with the outcome it must get."""
