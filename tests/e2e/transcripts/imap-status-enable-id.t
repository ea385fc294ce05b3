# STATUS (RFC 9051 6.3.11, RFC 3501 6.3.10, RFC 8438, RFC 7889), ENABLE
# (RFC 5161) and ID (RFC 2971) byte for byte: items in the order asked,
# RECENT in IMAP4rev1, APPENDLIMIT from max_literal_size, ENABLED listing
# only what this command turned on, ID before login.
# listener: imap
# users: alice:secret
# config: storage.initial_mailboxes = ""
# config: limits.max_literal_size = 1M
S: ^\* OK \[CAPABILITY IMAP4rev1 LITERAL\+ SASL-IR ID STARTTLS AUTH=PLAIN AUTH=LOGIN\] Loft ready\.$
C: a ID ("name" "transcript" "version" "1")
S: ^\* ID \("name" "Loft" "version" "[0-9.]+"\)$
S: ^a OK ID completed\.$
C: b LOGIN alice secret
S: ^b OK \[CAPABILITY IMAP4rev1 LITERAL\+ ID ENABLE NAMESPACE UTF8=ACCEPT CHILDREN LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE STATUS=SIZE IDLE UNSELECT UIDPLUS MOVE CONDSTORE QRESYNC NOTIFY APPENDLIMIT=1048576\] Logged in\.$
C: c APPEND INBOX (\Seen) {18+}
C: Subject: s\r\n\r\nbody
S: ^c OK
C: d STATUS INBOX (UIDNEXT MESSAGES UNSEEN RECENT SIZE DELETED APPENDLIMIT)
S: ^\* STATUS INBOX \(UIDNEXT 2 MESSAGES 1 UNSEEN 0 RECENT 1 SIZE 18 DELETED 0 APPENDLIMIT 1048576\)$
S: ^d OK STATUS completed\.$
C: e STATUS Nope (MESSAGES)
S: ^e NO \[NONEXISTENT\]
C: f STATUS INBOX (MESSAGES MODSEQ)
S: ^f BAD
C: g ENABLE UTF8=ACCEPT X-NOTHING
S: ^\* ENABLED UTF8=ACCEPT$
S: ^g OK ENABLE completed\.$
C: h ENABLE UTF8=ACCEPT
S: ^\* ENABLED$
S: ^h OK
C: i NAMESPACE
S: ^\* NAMESPACE \(\(\"\" \"/\"\)\) NIL NIL$
S: ^i OK
