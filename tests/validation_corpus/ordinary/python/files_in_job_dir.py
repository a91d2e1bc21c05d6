import os

with open("notes.txt", "w", encoding="utf-8") as out:
    out.write("first line\nsecond line\n")

with open("notes.txt", encoding="utf-8") as f:
    for number, line in enumerate(f, 1):
        print(number, line.rstrip())

print(os.path.exists("notes.txt"), os.path.join(os.getcwd(), "notes.txt").endswith("notes.txt"))
print(os.environ.get("HOME") is not None or True)
os.remove("notes.txt")
