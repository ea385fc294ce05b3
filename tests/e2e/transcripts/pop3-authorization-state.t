# POP3: keywords are case-insensitive (RFC 1939 3); mailbox commands and PASS
# without USER are refused before login; QUIT says +OK and closes (RFC 1939 6).
# listener: pop3
S: ^\+OK
C: capa
S: ^\+OK
S...: ^\.$
C: STAT
S: ^-ERR
C: RETR 1
S: ^-ERR
C: PASS secret
S: ^-ERR
C: QUIT
S: ^\+OK
EOF
