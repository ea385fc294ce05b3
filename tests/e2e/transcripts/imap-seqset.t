# IMAP sequence sets (RFC 9051 9 "sequence-set", 6.4.9 UID, RFC 5182 "$"):
# message numbers past EXISTS and "*" in an empty mailbox are BAD; UIDs
# that name nothing are no error; a range reads either way round; "n:*"
# with n past the last UID still names the last message.
# listener: imap
# users: alice:pw
S: ^\* OK
C: a LOGIN alice pw
S: ^a OK
C: b SELECT INBOX
S...: ^\* 0 EXISTS
S...: ^b OK \[READ-WRITE\]
C: c FETCH * FLAGS
S: ^c BAD No messages in the mailbox
C: d FETCH 1:* FLAGS
S: ^d BAD
C: e UID FETCH 1:* FLAGS
S: ^e OK
C: f UID FETCH * FLAGS
S: ^f OK
C: g1 APPEND INBOX {12+}
C+: Subject: 1\r\n
C: 
S...: ^g1 OK \[APPENDUID \d+ 1\]
C: g2 APPEND INBOX {12+}
C+: Subject: 2\r\n
C: 
S...: ^g2 OK \[APPENDUID \d+ 2\]
C: g3 APPEND INBOX {12+}
C+: Subject: 3\r\n
C: 
S...: ^g3 OK \[APPENDUID \d+ 3\]
C: h FETCH 3:1 UID
S...: ^\* 1 FETCH \(UID 1\)$
S: ^\* 2 FETCH \(UID 2\)$
S: ^\* 3 FETCH \(UID 3\)$
S: ^h OK FETCH completed\.$
C: i FETCH *:2,1 UID
S: ^\* 1 FETCH \(UID 1\)$
S: ^\* 2 FETCH \(UID 2\)$
S: ^\* 3 FETCH \(UID 3\)$
S: ^i OK
C: j FETCH 4 UID
S: ^j BAD Message sequence number out of range\.$
C: k FETCH 2:4 UID
S: ^k BAD Message sequence number out of range\.$
C: l FETCH 4294967295 UID
S: ^l BAD Message sequence number out of range\.$
C: m UID FETCH 900:* UID
S: ^\* 3 FETCH \(UID 3\)$
S: ^m OK
C: n UID FETCH 4:900 UID
S: ^n OK FETCH completed\.$
C: o UID FETCH 2,2,1:2 UID
S: ^\* 1 FETCH \(UID 1\)$
S: ^\* 2 FETCH \(UID 2\)$
S: ^o OK
C: p FETCH $ UID
S: ^p OK FETCH completed\.$
# grammar errors
C: q1 FETCH 0 UID
S: ^q1 BAD Invalid message set\.$
C: q2 FETCH 01 UID
S: ^q2 BAD Invalid message set\.$
C: q3 FETCH 1: UID
S: ^q3 BAD Invalid message set\.$
C: q4 FETCH 1,,2 UID
S: ^q4 BAD Invalid message set\.$
C: q5 FETCH 1:2:3 UID
S: ^q5 BAD Invalid message set\.$
C: q6 FETCH $,1 UID
S: ^q6 BAD Invalid message set\.$
C: q7 FETCH 4294967296 UID
S: ^q7 BAD Invalid message set\.$
C: q8 FETCH "1" UID
S: ^q8 BAD Invalid message set\.$
C: q9 UID FETCH -1 UID
S: ^q9 BAD Invalid message set\.$
C: r LOGOUT
S: ^\* BYE
S: ^r OK
