# UNAUTHENTICATE (RFC 8437 3): valid only after login, no arguments, OK
# puts the connection back in the not-authenticated state (the greeting's
# capability list again, everything but LOGIN-state commands refused), and
# another user can log in on it. Pipelined commands wait for it.
# listener: imap
# users: alice:secret
# users: bob:hunter2
# config: storage.initial_mailboxes = ""
S: ^\* OK \[CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL\+ SASL-IR ID STARTTLS( AUTH=[A-Z0-9-]+)*\] Loft ready\.$
C: a UNAUTHENTICATE
S: ^a BAD Log in first\.$
C: b LOGIN alice secret
S: ^b OK \[CAPABILITY .* UNAUTHENTICATE .*\] Logged in\.$
C: c UNAUTHENTICATE now
S: ^c BAD UNAUTHENTICATE takes no arguments\.$
C: d CREATE Alice
S: ^d OK
C+: e UNAUTHENTICATE\r\nf CAPABILITY\r\ng LIST "" *\r\nh LOGIN bob hunter2\r\ni LIST "" *\r\n
S: ^e OK Not authenticated any more; log in again\.$
S: ^\* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL\+ SASL-IR ID STARTTLS( AUTH=[A-Z0-9-]+)*$
S: ^f OK
S: ^g BAD Log in first\.$
S: ^h OK \[CAPABILITY .*\] Logged in\.$
S: ^\* LIST \(\\HasNoChildren\) "/" INBOX$
S: ^i OK
