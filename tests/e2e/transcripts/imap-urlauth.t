# URLAUTH (RFC 4467 7 and 9 grammar): GENURLAUTH answers one
# "* GENURLAUTH" with the URLs, each signed ":INTERNAL:" + 40 hex digits;
# URLFETCH answers one "* URLFETCH url nstring" per URL, NIL for a URL that
# does not verify; RESETKEY invalidates; argument errors are BAD.
# listener: imap
# users: alice:secret
# config: storage.initial_mailboxes = ""
# config: server.hostname = mail.example.org
S: ^\* OK
C: a URLFETCH "imap://alice@mail.example.org/INBOX/;uid=1"
S: ^a BAD Log in first\.$
C: b LOGIN alice secret
S: ^b OK \[CAPABILITY .* URLAUTH .*\] Logged in\.$
C: c APPEND INBOX {18+}
C+: Subject: s\r\n\r\nbody
C: 
S: ^c OK
C: d GENURLAUTH "imap://alice@mail.example.org/INBOX/;uid=1;urlauth=anonymous" INTERNAL
S: ^\* GENURLAUTH imap://alice@mail\.example\.org/INBOX/;uid=1;urlauth=anonymous:INTERNAL:[0-9a-f]{40}$
S: ^d OK GENURLAUTH completed\.$
C: e URLFETCH "imap://alice@mail.example.org/INBOX/;uid=1;urlauth=anonymous:INTERNAL:0000000000000000000000000000000000000000"
S: ^\* URLFETCH imap://alice@mail\.example\.org/INBOX/;uid=1;urlauth=anonymous:INTERNAL:0{40} NIL$
S: ^e OK URLFETCH completed\.$
C: f URLFETCH "imap://alice@mail.example.org/INBOX/;uid=1;urlauth=anonymous" x
S: ^\* URLFETCH imap://alice@mail\.example\.org/INBOX/;uid=1;urlauth=anonymous NIL$
S: ^\* URLFETCH x NIL$
S: ^f OK
C: g GENURLAUTH "imap://alice@mail.example.org/INBOX/;uid=1;urlauth=anonymous"
S: ^g BAD
C: h GENURLAUTH "imap://alice@mail.example.org/INBOX;urlauth=anonymous" INTERNAL
S: ^h BAD
C: i RESETKEY
S: ^i OK RESETKEY completed\.$
C: j RESETKEY INBOX INTERNAL
S: ^j OK
C: k RESETKEY Nope
S: ^k NO \[NONEXISTENT\]
C: l URLFETCH
S: ^l BAD URLFETCH needs URLs\.$
