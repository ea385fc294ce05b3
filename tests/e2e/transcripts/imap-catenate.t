# CATENATE (RFC 4469 5 grammar): "CATENATE (" cat-part *(SP cat-part) ")"
# with cat-part = "TEXT" SP literal / "URL" SP astring, URLs as absolute
# paths; an unreadable URL is NO [BADURL <url>] (6) sent instead of the next
# "+"; a missing target is [TRYCREATE]; an empty list or an unknown part
# is BAD.
# listener: imap
# users: alice:secret
# config: storage.initial_mailboxes = ""
S: ^\* OK
C: a LOGIN alice secret
S: ^a OK \[CAPABILITY .* CATENATE .*\] Logged in\.$
C: b APPEND INBOX {35+}
C+: From: x@example.org\r\n\r\nHello body\r\n
C: 
S: ^b OK
C: c APPEND INBOX CATENATE (URL "/INBOX/;uid=1/;section=HEADER" TEXT {8}
S: ^\+ Ready for literal data$
C+: Second\r\n
C: )
S: ^c OK \[APPENDUID [0-9]+ [0-9:]+\] Append completed\.$
C: d APPEND INBOX CATENATE (URL "/INBOX/;UID=1/;SECTION=1" URL "/INBOX/;uid=2/;partial=0.6")
S: ^d OK \[APPENDUID [0-9]+ [0-9:]+\] Append completed\.$
# 35 + (23 + 8) + (12 + 6) octets
C: e STATUS INBOX (MESSAGES SIZE)
S: ^\* STATUS INBOX \(MESSAGES 3 SIZE 84\)$
S: ^e OK
C: f APPEND INBOX CATENATE (URL "/INBOX;UIDVALIDITY=1/;uid=1" TEXT {5}
S: ^f NO \[BADURL /INBOX;UIDVALIDITY=1/;uid=1\] A CATENATE URL cannot be read\.$
C: g APPEND INBOX CATENATE (URL "/INBOX/;uid=9")
S: ^g NO \[BADURL /INBOX/;uid=9\]
C: h APPEND Nowhere CATENATE (URL "/INBOX/;uid=1")
S: ^h NO \[TRYCREATE\]
C: i APPEND INBOX CATENATE ()
S: ^i BAD
C: j APPEND INBOX CATENATE (BODY "/INBOX/;uid=1")
S: ^j BAD CATENATE parts are TEXT literals and URLs\.$
C: k APPEND INBOX CATENATE (URL "imap://%zz")
S: ^k NO \[BADURL imap://%zz\]
C: l STATUS INBOX (MESSAGES)
S: ^\* STATUS INBOX \(MESSAGES 3\)$
S: ^l OK
