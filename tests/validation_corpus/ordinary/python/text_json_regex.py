import json
import re
import string
from datetime import date, timedelta

record = json.loads('{"name": "Ada", "langs": ["python", "c"]}')
print(json.dumps(record, sort_keys=True))
pattern = re.compile(r"(\w+)@(\w+)\.com")
print(pattern.findall("ada@example.com, bob@test.com"))
print(string.ascii_lowercase[:5], "Hello".center(11, "*"))
print(date(2024, 1, 31) + timedelta(days=1))
print(f"{3.14159:.2f} {42:08b} {'x'!r}")
