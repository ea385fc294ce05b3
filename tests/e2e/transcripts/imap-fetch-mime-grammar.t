# FETCH items that need the MIME structure, byte for byte (RFC 9051 6.4.5,
# 7.5.2 and the fetch-att / section rules of section 9; RFC 3516 BINARY;
# RFC 8970 PREVIEW): section-part numbers with HEADER, TEXT, MIME and
# HEADER.FIELDS, BINARY as literal8 only when the data holds NUL, the
# macros, and what is BAD or NO [UNKNOWN-CTE].
# listener: imap
# users: alice:pw
# config: storage.initial_mailboxes = ""
S: ^\* OK
C: a LOGIN alice pw
S: ^a OK
C: b APPEND INBOX {197+}
C+: Subject: m\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nplain\r\n--b\r\n
C+: Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nYQBi\r\n--b\r\n
C+: Content-Transfer-Encoding: x-zip\r\n\r\nzz\r\n--b--\r\n
C: 
S: ^b OK \[APPENDUID
C: c EXAMINE INBOX
S...: ^c OK \[READ-ONLY\]
C: d FETCH 1 (BODY.PEEK[1] BODY.PEEK[2.MIME] BINARY.SIZE[2])
S: ^\* 1 FETCH \(BODY\[1\] \{5\}$
S: ^plain BODY\[2\.MIME\] \{63\}$
S: ^Content-Type: text/plain$
S: ^Content-Transfer-Encoding: base64$
S: ^$
S: ^ BINARY\.SIZE\[2\] 3\)$
S: ^d OK FETCH completed\.$
# "a\0b": literal8 (RFC 3516 4.2); BINARY.PEEK is answered as BINARY
C: e FETCH 1 BINARY.PEEK[2]
S: ^\* 1 FETCH \(BINARY\[2\] ~\{3\}$
S: ^a\x00b\)$
S: ^e OK
C: f FETCH 1 (BINARY.PEEK[1]<1.3> BINARY.PEEK[] BODY.PEEK[TEXT]<0.3>)
S: ^\* 1 FETCH \(BINARY\[1\]<1> \{3\}$
S: ^lai BINARY\[\] \{197\}$
S...: ^--b--$
S: ^ BODY\[TEXT\]<0> \{3\}$
S: ^--b\)$
S: ^f OK
C: g FETCH 1 (BODY.PEEK[9] BODY.PEEK[1.HEADER] BINARY.SIZE[9])
S: ^\* 1 FETCH \(BODY\[9\] \{0\}$
S: ^ BODY\[1\.HEADER\] \{0\}$
S: ^ BINARY\.SIZE\[9\] 0\)$
S: ^g OK
C: h FETCH 1 (BODYSTRUCTURE)
S: ^\* 1 FETCH \(BODYSTRUCTURE \(\("text" "plain" \("charset" "us-ascii"\) NIL NIL "7bit" 5 0 NIL NIL NIL NIL\)\("text" "plain" \("charset" "us-ascii"\) NIL NIL "base64" 4 0 NIL NIL NIL NIL\)\("text" "plain" \("charset" "us-ascii"\) NIL NIL "x-zip" 2 0 NIL NIL NIL NIL\) "mixed" \("boundary" "b"\) NIL NIL NIL\)\)$
S: ^h OK
C: i FETCH 1 ALL
S: ^\* 1 FETCH \(FLAGS \(\) INTERNALDATE "[^"]+" RFC822\.SIZE 197 ENVELOPE \(NIL "m" NIL NIL NIL NIL NIL NIL NIL NIL\)\)$
S: ^i OK
C: j FETCH 1 (PREVIEW (LAZY) PREVIEW)
S: ^\* 1 FETCH \(PREVIEW "plain"\)$
S: ^j OK
# an unknown transfer encoding fails BINARY (RFC 3516 4.3); the session goes on
C: k FETCH 1 BINARY.PEEK[3]
S: ^k NO \[UNKNOWN-CTE\] Unknown Content-Transfer-Encoding\.$
C: l FETCH 1 BODY.PEEK[3]
S: ^\* 1 FETCH \(BODY\[3\] \{2\}$
S: ^zz\)$
S: ^l OK
# grammar errors
C: m1 FETCH 1 BODY[0]
S: ^m1 BAD Invalid section\.$
C: m2 FETCH 1 BODY[1.]
S: ^m2 BAD Invalid section\.$
C: m3 FETCH 1 BODY[MIME]
S: ^m3 BAD Invalid section\.$
C: m4 FETCH 1 BINARY[MIME]
S: ^m4 BAD Invalid section\.$
C: m5 FETCH 1 BINARY.SIZE[1]<0.1>
S: ^m5 BAD Invalid partial range
C: m6 FETCH 1 (ALL)
S: ^m6 BAD Unknown FETCH attribute\.$
C: m7 FETCH 1 (PREVIEW (SOON))
S: ^m7 BAD Invalid PREVIEW modifier\.$
C: m8 FETCH 1 BODY[01]
S: ^m8 BAD Invalid section\.$
C: n NOOP
S: ^n OK
