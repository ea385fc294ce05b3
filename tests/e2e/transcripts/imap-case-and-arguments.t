# IMAP: command names are case-insensitive (RFC 9051 2.2.1, 9); a command
# with arguments it does not take, or a bare tag, is BAD; the session goes on.
# listener: imap
S: ^\* OK
C: a1 noop
S: ^a1 OK
C: a2 CaPaBiLiTy
S: ^\* CAPABILITY .*IMAP4rev1
S: ^a2 OK
C: a3 NOOP extra
S: ^a3 BAD
C: a4
S: ^a4 BAD
C: a5 NOOP
S: ^a5 OK
