# IMAP: commands of the authenticated/selected states before login are
# refused with a tagged BAD or NO, never run (RFC 9051 6.3, 6.4).
# listener: imap
S: ^\* OK
C: a1 SELECT INBOX
S: ^a1 (BAD|NO)
C: a2 LIST "" *
S: ^a2 (BAD|NO)
C: a3 FETCH 1 FLAGS
S: ^a3 (BAD|NO)
C: a4 NOOP
S: ^a4 OK
