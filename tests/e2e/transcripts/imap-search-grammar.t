# IMAP SEARCH grammar (RFC 9051 6.4.4, RFC 3501 9 "search-key", RFC 4731
# 3.1 RETURN, RFC 5182 "$", RFC 6855 3 CHARSET after UTF8=ACCEPT): keys are
# case-insensitive, lists nest, a bare sequence set is a key, sequence
# numbers past EXISTS select nothing; unknown keys, missing arguments,
# bad dates and numbers, unknown RETURN options are BAD; an unknown
# CHARSET is NO [BADCHARSET (...)]; RETURN () means ALL; SAVE alone sends
# no ESEARCH; a literal carries 8-bit text.
# listener: imap
# users: alice:pw
S: ^\* OK
C: a LOGIN alice pw
S: ^a OK
C: g1 APPEND INBOX (\Seen) {46+}
C+: Subject: caf\xc3\xa9 au lait\r\nFrom: x@y.z\r\n\r\nhello\r\n
C: 
S...: ^g1 OK
C: g2 APPEND INBOX {35+}
C+: Subject: tea\r\nX-Kind: leaf\r\n\r\nbye\r\n
C: 
S...: ^g2 OK
C: b SELECT INBOX
S...: ^b OK \[READ-WRITE\]
C: c1 search seen
S: ^\* SEARCH 1$
S: ^c1 OK
C: c2 SEARCH (OR (SEEN) (HEADER x-kind LEAF)) NOT 3:5
S: ^\* SEARCH 1 2$
S: ^c2 OK
C: c3 SEARCH 2:7
S: ^\* SEARCH 2$
S: ^c3 OK
C: c4 UID SEARCH RETURN () BODY bye
S: ^\* ESEARCH \(TAG "c4"\) UID ALL 2$
S: ^c4 OK
C: c5 SEARCH RETURN (COUNT MIN MAX) ALL
S: ^\* ESEARCH \(TAG "c5"\) MIN 1 MAX 2 COUNT 2$
S: ^c5 OK
C: c6 SEARCH RETURN (MIN) SUBJECT nothing-like-this
S: ^\* ESEARCH \(TAG "c6"\)$
S: ^c6 OK
C: c7 SEARCH RETURN (SAVE) SUBJECT tea
S: ^c7 OK
C: c8 SEARCH $
S: ^\* SEARCH 2$
S: ^c8 OK
C: c9 SEARCH CHARSET UTF-8 SUBJECT {5+}
C: caf\xc3\xa9
S: ^\* SEARCH 1$
S: ^c9 OK
C: d1 SEARCH FROBNICATE
S: ^d1 BAD
C: d2 SEARCH
S: ^d2 BAD
C: d3 SEARCH SINCE 31-Feb-2020
S: ^d3 BAD
C: d4 SEARCH LARGER x
S: ^d4 BAD
C: d5 SEARCH RETURN (FOO) ALL
S: ^d5 BAD
C: d6 SEARCH CHARSET X-NO-SUCH-CHARSET ALL
S: ^d6 NO \[BADCHARSET \(US-ASCII UTF-8
C: d7 SEARCH OR SEEN
S: ^d7 BAD
C: d8 SEARCH (SEEN
S: ^d8 BAD
C: d9 SEARCH RETURN (SAVE) FROBNICATE
S: ^d9 BAD
C: e1 SEARCH $
S: ^\* SEARCH$
S: ^e1 OK
C: e2 ENABLE UTF8=ACCEPT
S...: ^e2 OK
C: e3 SEARCH CHARSET UTF-8 ALL
S: ^e3 BAD
C: e4 SORT (SUBJECT) ISO-8859-1 ALL
S: ^e4 BAD
C: e5 SORT (SUBJECT) UTF-8 ALL
S: ^\* SORT 1 2$
S: ^e5 OK
C: z LOGOUT
S...: ^z OK
