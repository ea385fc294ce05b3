# SMTP: MAIL before EHLO, RCPT before MAIL and DATA before RCPT are out of
# sequence (RFC 5321 4.1.4, 3.3: 503, or 554 for DATA); EHLO/HELO need a
# domain (501); verbs are case-insensitive; QUIT says 221 and closes.
# listener: smtp
S: ^220 
C: MAIL FROM:<a@example.org>
S: ^503
C: EHLO
S: ^501
C: HELO
S: ^501
C: ehlo client.example
S...: ^250 
C: RCPT TO:<postmaster@localhost>
S: ^503
C: DATA
S: ^(503|554)
C: RSET
S: ^250
C: LHLO client.example
S: ^5\d\d
C: QUIT
S: ^221
EOF
