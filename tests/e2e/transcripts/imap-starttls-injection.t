# STARTTLS: a command pipelined behind STARTTLS in the same packet is dropped
# (RFC 9051 6.2.1, RFC 3207 5 for the class of bug): after the handshake
# nothing answers it and the next real command gets its own reply.
# listener: imap
S: ^\* OK
C+: a1 STARTTLS\r\na2 LOGOUT\r\n
S: ^a1 OK
TLS
SILENT 0.5
C: a3 NOOP
S: ^a3 OK
