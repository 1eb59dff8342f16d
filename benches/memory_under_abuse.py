"""Resident memory of a running `bayige serve` under two abuses from issue 13:
40 clients that stop reading a 10 MB evidence file, and a read-only viewer
posting 50 photo fields of 10 MB to the visit form.

    python3 benches/memory_under_abuse.py target/debug/bayige 18081

Uses a fresh SQLite database with the demo data in /tmp; prints two lines.
"""
import os, socket, subprocess, sys, time, json, urllib.request, shutil

binary, port = sys.argv[1], int(sys.argv[2])
d = f"/tmp/bayige-memory-{port}"
shutil.rmtree(d, ignore_errors=True); os.makedirs(d)
env = dict(os.environ, BAYIGE_DATABASE_URL=f"sqlite://{d}/db.sqlite", BAYIGE_DATA_DIR=f"{d}/data", BAYIGE_TODAY="2017-07-14")
run = lambda *a: subprocess.run([binary, *a], env=env, capture_output=True, text=True, check=True).stdout
run("migrate"); run("demo")
subprocess.run([binary, "user", "add", "--username", "bench", "--role", "admin", "--name", "bench"], env=env, input="correct horse battery staple\n", text=True, capture_output=True, check=True)
tok = run("token", "create", "--username", "bench", "--name", "bench").strip().split()[-1]
srv = subprocess.Popen([binary, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(3)
def rss():
    for l in open(f"/proc/{srv.pid}/status"):
        if l.startswith("VmRSS"): return int(l.split()[1]) // 1024
base = f"http://127.0.0.1:{port}"
def req(path, data=None, headers={}):
    r = urllib.request.Request(base + path, data=data, headers={"Authorization": f"Bearer {tok}", **headers})
    return urllib.request.urlopen(r)
visits = json.load(req("/api/stations/1/visits"))["items"]
vid = visits[0]["id"]
png = b"\x89PNG\r\n\x1a\n" + bytes(i % 251 for i in range(10 * 1024 * 1024 - 8))
b = "----b"
body = (f"--{b}\r\nContent-Disposition: form-data; name=\"item_code\"\r\n\r\nplaque\r\n--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n").encode() + png + f"\r\n--{b}--\r\n".encode()
eid = json.load(req(f"/api/visits/{vid}/evidence", body, {"Content-Type": f"multipart/form-data; boundary={b}"}))["id"]
time.sleep(1)
before = rss()
socks = []
for _ in range(40):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.connect(("127.0.0.1", port))
    s.sendall(f"GET /api/evidence/{eid} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\n\r\n".encode())
    s.recv(1024); socks.append(s)
time.sleep(3)
print(f"{binary}: RSS before {before} MB; with 40 stalled readers of a 10 MB file {rss()} MB")
for s in socks: s.close()
# A read-only viewer posts 50 photo fields of 10 MB to the visit form.
req("/api/users", json.dumps({"username": "viewer1", "role": "viewer", "password": "correct horse battery staple"}).encode(), {"Content-Type": "application/json"})
import http.client, re, threading
c = http.client.HTTPConnection("127.0.0.1", port)
c.request("POST", "/login", "username=viewer1&password=correct+horse+battery+staple", {"Content-Type": "application/x-www-form-urlencoded"})
r = c.getresponse(); r.read()
cookie = r.getheader("Set-Cookie").split(";")[0]
c.request("GET", "/stations", headers={"Cookie": cookie}); page = c.getresponse().read().decode()
csrf = re.search('name="csrf_token" value="([^"]+)"', page).group(1)
part = (f"--{b}\r\nContent-Disposition: form-data; name=\"photo_plaque\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n").encode() + png + b"\r\n"
head = f"--{b}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n".encode()
total = len(head) + 50 * len(part) + len(f"--{b}--\r\n")
peak = [0]; done = [False]
def sample():
    while not done[0]:
        peak[0] = max(peak[0], rss()); time.sleep(0.05)
t = threading.Thread(target=sample); t.start()
before = rss()
s = socket.create_connection(("127.0.0.1", port))
s.sendall(f"POST /stations/1/visit HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nContent-Type: multipart/form-data; boundary={b}\r\nContent-Length: {total}\r\n\r\n".encode() + head)
sent = len(head)
try:
    for _ in range(50):
        s.sendall(part); sent += len(part)
    s.sendall(f"--{b}--\r\n".encode())
except OSError as e:
    pass
s.settimeout(30)
try:
    status = s.recv(64).split(b" ")[1].decode()
except Exception as e:
    status = repr(e)
time.sleep(1); done[0] = True; t.join()
print(f"{binary}: viewer posting 50 x 10 MB photos: answer {status} after {sent // (1024*1024)} MB sent; RSS before {before} MB, peak {peak[0]} MB")
srv.terminate(); srv.wait()
shutil.rmtree(d, ignore_errors=True)
