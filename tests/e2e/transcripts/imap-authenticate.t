# IMAP AUTHENTICATE (RFC 9051 6.2.2, RFC 4959 SASL-IR): a continuation
# "+ " asks for each response; "*" cancels with BAD; a response that is
# not base64 is BAD; the raw response lines never run as commands (here
# "a3 NOOP" is a bad response, not a command); "=" is an empty initial
# response; PLAIN with SASL-IR logs in and the reply carries the
# post-login capabilities. \0 in PLAIN is AGFsaWNlAHB3 = "\0alice\0pw".
# listener: imaps
# config: auth.fail_delay = 0s
# users: alice:pw
S: ^\* OK Loft ready\.$
C: a1 AUTHENTICATE PLAIN
S: ^\+ $
C: *
S: ^a1 BAD Authentication cancelled\.$
C: a2 AUTHENTICATE PLAIN
S: ^\+ $
C: a3 NOOP
S: ^a2 BAD Invalid base64
C: a4 AUTHENTICATE LOGIN =
S: ^\+ VXNlcm5hbWU6$
C: YWxpY2U=
S: ^\+ UGFzc3dvcmQ6$
C: d3Jvbmc=
S: ^a4 NO \[AUTHENTICATIONFAILED\]
C: a5 AUTHENTICATE PLAIN AGFsaWNlAHB3
S: ^a5 OK \[CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL\+ [^]]*\] Logged in\.$
C: a6 AUTHENTICATE PLAIN
S: ^a6 BAD
C: a7 LOGOUT
S: ^\* BYE
S: ^a7 OK
