# LMTP speaks LHLO, never HELO/EHLO (RFC 2033 4.1); MAIL needs LHLO first.
# listener: lmtp
S: ^220 .*LMTP
C: HELO client.example
S: ^5\d\d
C: EHLO client.example
S: ^5\d\d
C: MAIL FROM:<a@example.org>
S: ^503
C: LHLO client.example
S...: ^250 
C: QUIT
S: ^221
EOF
