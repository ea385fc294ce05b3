# IMAP LOGOUT: untagged BYE, then the tagged OK, then the server closes
# (RFC 9051 6.1.3). Works the same inside TLS after STARTTLS.
# listener: imap
S: ^\* OK
C: s1 STARTTLS
S: ^s1 OK
TLS
C: a1 LOGOUT
S: ^\* BYE
S: ^a1 OK
EOF
