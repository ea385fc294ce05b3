# IMAP FETCH item grammar (RFC 9051 6.4.5 and the "fetch-att" rules of
# section 9): macros, lists, section specs with quoted header names,
# partials with their response names, RFC822.* names, and what is BAD.
# listener: imap
# users: alice:pw
S: ^\* OK
C: a LOGIN alice pw
S: ^a OK
C: b APPEND INBOX {46+}
C+: From: x@y\r\nSubject: hi\r\nTo: z@w\r\n\r\nbody text\r\n
C: 
S: ^b OK \[APPENDUID
C: c EXAMINE INBOX
S...: ^c OK \[READ-ONLY\]
C: d FETCH 1 FAST
S: ^\* 1 FETCH \(FLAGS \(\) INTERNALDATE "\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d \+0000" RFC822.SIZE 46\)$
S: ^d OK
C: e FETCH 1 (uid rfc822.size)
S: ^\* 1 FETCH \(UID 1 RFC822.SIZE 46\)$
S: ^e OK
C: f FETCH 1 BODY.PEEK[HEADER.FIELDS ("Subject" to)]
S: ^\* 1 FETCH \(BODY\[HEADER.FIELDS \("Subject" to\)\] \{24\}$
S: ^Subject: hi$
S: ^To: z@w$
S: ^$
S: ^\)$
S: ^f OK
C: g FETCH 1 (BODY.PEEK[TEXT]<0.4> BODY.PEEK[]<44.10>)
S: ^\* 1 FETCH \(BODY\[TEXT\]<0> \{4\}$
S: ^body BODY\[\]<44> \{2\}$
S: ^$
S: ^\)$
S: ^g OK
C: h FETCH 1 RFC822.HEADER
S: ^\* 1 FETCH \(RFC822.HEADER \{35\}$
S...: ^\)$
S: ^h OK
C: i FETCH 1 (BODY.PEEK[]<46.1>)
S: ^\* 1 FETCH \(BODY\[\]<46> \{0\}$
S: ^\)$
S: ^i OK
# errors: BAD, and the connection goes on
C: j FETCH 1 (BODY.PEEK[]<0.0>)
S: ^j BAD Invalid partial range
C: k FETCH 1 (BODY.PEEK[]<1.>)
S: ^k BAD Invalid partial range
C: k2 FETCH 1 (BODY.PEEK[]<1.02>)
S: ^k2 BAD Invalid partial range
# <origin> alone (as Dovecot and imaptest write it) runs to the end; an
# origin may have leading zeros (RFC 9051 number)
C: k3 FETCH 1 (BODY.PEEK[]<35> body.peek[header.fields (to)]<006.5>)
S: ^\* 1 FETCH \(BODY\[\]<35> \{11\}$
S: ^body text$
S: ^ BODY\[HEADER\.FIELDS \(to\)\]<6> \{5\}$
S: ^w$
S: ^$
S: ^\)$
S: ^k3 OK
C: l FETCH 1 BODY.PEEK[HEADER.FIELDS ()]
S: ^l BAD Invalid section\.$
C: m FETCH 1 BODY.PEEK[TEXT
S: ^m BAD Missing '\]'$
C: n FETCH 1 (FLAGS RFC822.SIZZE)
S: ^n BAD Unknown FETCH attribute\.$
C: o FETCH 1 ()
S: ^o BAD Empty FETCH attribute list\.$
C: p FETCH 1 (FLAGS)(UID)
S: ^p BAD
C: q FETCH 1 FLAGS UID
S: ^q BAD FETCH needs a message set and data items\.$
C: r NOOP
S: ^r OK
