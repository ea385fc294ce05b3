"""A small authoritative DNS server for tests, standard library only.

    with DnsServer({"example.org": [("TXT", "v=spf1 -all"), ("A", "192.0.2.1")]}) as dns:
        dns.port          # UDP and TCP on 127.0.0.1, the same ephemeral port
        dns.queries       # [(name, type), ...] as they arrived (lower case)

Records: ("A", "192.0.2.1"), ("AAAA", "2001:db8::1"), ("TXT", "text" or
[strings]) (a text over 255 bytes is cut into strings), ("MX", (10,
"mx.example.org")), ("PTR", "host.example.org"), ("CNAME", "target").
A name may instead map to one behaviour: "timeout" (no answer ever),
"servfail" (RCODE 2) or "refused" (RCODE 5). A name not in the zone is
NXDOMAIN; a name without the type asked is NODATA; both carry an SOA
(negative TTL 60). UDP answers over 512 bytes (or over the client's EDNS
size) are sent truncated, so the client retries over TCP, where answers up
to 65535 bytes go. `ttl` sets the TTL of every record."""

import ipaddress
import selectors
import socket
import struct
import threading

TYPES = {"A": 1, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "OPT": 41}
NAMES = {v: k for k, v in TYPES.items()}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            b = label.encode("ascii")
            out += bytes([len(b)]) + b
    return out + b"\0"


def read_name(msg, off):
    labels = []
    jumped = False
    end = off
    for _ in range(128):
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            jumped = True
            continue
        off += 1
        if n == 0:
            break
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n
    if not jumped:
        end = off
    return ".".join(labels), end


def rdata(rtype, value):
    if rtype == "A":
        return ipaddress.IPv4Address(value).packed
    if rtype == "AAAA":
        return ipaddress.IPv6Address(value).packed
    if rtype in ("PTR", "CNAME"):
        return encode_name(value)
    if rtype == "MX":
        return struct.pack("!H", value[0]) + encode_name(value[1])
    if rtype == "TXT":
        parts = value if isinstance(value, list) else [value]
        out = b""
        for p in parts:
            b = p.encode("utf-8") if isinstance(p, str) else p
            if not b:
                out += b"\0"
            while b:
                out += bytes([min(len(b), 255)]) + b[:255]
                b = b[255:]
        return out
    raise ValueError(rtype)


class DnsServer:
    def __init__(self, zone, ttl=300):
        self.zone = {k.lower().rstrip("."): v for k, v in zone.items()}
        self.ttl = ttl
        self.queries = []
        self.lock = threading.Lock()
        # UDP and TCP on one port: a free UDP port may be taken for TCP
        for _ in range(100):
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind(("127.0.0.1", 0))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind(("127.0.0.1", self.port))
                break
            except OSError:
                self.udp.close()
                self.tcp.close()
        else:
            raise OSError("no port free for both UDP and TCP")
        self.tcp.listen(16)
        self.stop_r, self.stop_w = socket.socketpair()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_w.send(b"x")
        self.thread.join(5)
        for s in (self.udp, self.tcp, self.stop_r, self.stop_w):
            s.close()

    def count(self, name, rtype):
        with self.lock:
            return self.queries.count((name.lower(), rtype))

    def answer(self, query, limit):
        """The reply to one query message, or None (no answer)."""
        qid, flags, qd = struct.unpack("!HHH", query[:6])
        name, off = read_name(query, 12)
        qtype, _ = struct.unpack("!HH", query[off:off + 4])
        question = query[12:off + 4]
        name = name.lower()
        tname = NAMES.get(qtype, str(qtype))
        with self.lock:
            self.queries.append((name, tname))
        # the client's EDNS payload size
        ar = struct.unpack("!H", query[10:12])[0]
        if ar and limit == 512:
            p = off + 4
            for _ in range(ar):
                _, p2 = read_name(query, p)
                rt, size = struct.unpack("!HH", query[p2:p2 + 4])
                if rt == TYPES["OPT"]:
                    limit = max(512, size)
                rdlen = struct.unpack("!H", query[p2 + 8:p2 + 10])[0]
                p = p2 + 10 + rdlen
        entry = self.zone.get(name)
        rcode = 0
        answers = []
        if entry == "timeout":
            return None
        if entry == "servfail":
            rcode = 2
        elif entry == "refused":
            rcode = 5
        elif entry is None:
            rcode = 3
        else:
            cur = name
            for _ in range(8):
                recs = self.zone.get(cur) or []
                if not isinstance(recs, list):
                    break
                hits = [r for r in recs if r[0] == tname]
                if hits:
                    answers += [(cur, tname, r[1]) for r in hits]
                    break
                cn = [r for r in recs if r[0] == "CNAME"]
                if not cn or tname == "CNAME":
                    break
                answers.append((cur, "CNAME", cn[0][1]))
                cur = cn[0][1].lower().rstrip(".")
                if cur not in self.zone:
                    rcode = 3
                    break
        body = b""
        for owner, t, v in answers:
            rd = rdata(t, v)
            body += encode_name(owner) + struct.pack("!HHIH", TYPES[t], 1, self.ttl, len(rd)) + rd
        auth = b""
        if rcode in (0, 3) and not [a for a in answers if a[1] == tname]:
            soa = (encode_name("ns.test") + encode_name("hostmaster.test") +
                   struct.pack("!IIIII", 1, 3600, 600, 86400, 60))
            auth = encode_name("test") + struct.pack("!HHIH", 6, 1, 60, len(soa)) + soa
        rflags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode
        reply = struct.pack("!HHHHHH", qid, rflags, 1, len(answers), 1 if auth else 0, 0)
        reply += question + body + auth
        if len(reply) > limit:
            reply = struct.pack("!HHHHHH", qid, rflags | 0x0200, 1, 0, 0, 0) + question
        return reply

    def _serve(self):
        sel = selectors.DefaultSelector()
        sel.register(self.udp, selectors.EVENT_READ, "udp")
        sel.register(self.tcp, selectors.EVENT_READ, "listen")
        sel.register(self.stop_r, selectors.EVENT_READ, "stop")
        bufs = {}
        while True:
            for key, _ in sel.select():
                what = key.data
                if what == "stop":
                    for s in bufs:
                        s.close()
                    return
                if what == "udp":
                    data, addr = self.udp.recvfrom(4096)
                    reply = self.answer(data, 512)
                    if reply is not None:
                        self.udp.sendto(reply, addr)
                elif what == "listen":
                    conn, _ = self.tcp.accept()
                    bufs[conn] = b""
                    sel.register(conn, selectors.EVENT_READ, "tcp")
                else:
                    conn = key.fileobj
                    data = conn.recv(65536)
                    if not data:
                        sel.unregister(conn)
                        del bufs[conn]
                        conn.close()
                        continue
                    bufs[conn] += data
                    while len(bufs[conn]) >= 2:
                        n = struct.unpack("!H", bufs[conn][:2])[0]
                        if len(bufs[conn]) < 2 + n:
                            break
                        q, bufs[conn] = bufs[conn][2:2 + n], bufs[conn][2 + n:]
                        reply = self.answer(q, 65535)
                        if reply is not None:
                            conn.setblocking(True)
                            conn.sendall(struct.pack("!H", len(reply)) + reply)
