# MULTIAPPEND (RFC 3502 6.3.11 grammar "APPEND mailbox 1*append-message"):
# each message its own flags and date; a {n} literal gets "+" only after
# the messages before it are taken; a failing message (here over
# APPENDLIMIT, refused before its "+") fails the whole command and nothing
# is stored; flags without a message after them are BAD.
# listener: imap
# users: alice:secret
# config: storage.initial_mailboxes = ""
# config: limits.max_literal_size = 1K
S: ^\* OK
C: a LOGIN alice secret
S: ^a OK \[CAPABILITY .* MULTIAPPEND .*\] Logged in\.$
C: b APPEND INBOX (\Seen) {14}
S: ^\+ Ready for literal data$
C+: Subject: one\r\n
C+:  (\Flagged) "14-Jul-2021 02:44:25 -0700" {14}\r\n
S: ^\+ Ready for literal data$
C+: Subject: two\r\n
C+:  {16+}\r\nSubject: three\r\n
C: 
S: ^b OK \[APPENDUID [0-9]+ [0-9:]+\] Append completed\.$
C: c STATUS INBOX (MESSAGES UNSEEN UIDNEXT)
S: ^\* STATUS INBOX \(MESSAGES 3 UNSEEN 2 UIDNEXT 4\)$
S: ^c OK
C+: d APPEND INBOX {15+}\r\nSubject: four\r\n {2000}\r\n
S: ^d NO \[TOOBIG\] Message larger than APPENDLIMIT\.$
C: e STATUS INBOX (MESSAGES)
S: ^\* STATUS INBOX \(MESSAGES 3\)$
S: ^e OK
C+: f APPEND INBOX {15+}\r\nSubject: five\r\n (\Seen)\r\n
S: ^f BAD Invalid APPEND arguments\.$
C+: g APPEND INBOX {16+}\r\nSubject: six\r\n\r\n (\Bogus) {5+}\r\nhello\r\n
S: ^g BAD
C: h STATUS INBOX (MESSAGES)
S: ^\* STATUS INBOX \(MESSAGES 3\)$
S: ^h OK
