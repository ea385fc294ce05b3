# WITHIN (RFC 5032 3, 4: interval = nz-number of seconds) and SAVEDATE
# (RFC 8514 3, 4.3): a fresh message is YOUNGER than a minute and saved
# today; bad intervals and dates are BAD.
# listener: imap
# users: alice:secret
# config: storage.initial_mailboxes = ""
S: ^\* OK
C: a LOGIN alice secret
S: ^a OK \[CAPABILITY .* WITHIN SAVEDATE .*\] Logged in\.$
C: b APPEND INBOX "01-Jan-2020 10:00:00 +0000" {35+}
C+: From: x@example.org\r\n\r\nHello body\r\n
C: 
S: ^b OK
C: c SELECT INBOX
S...: ^c OK
C: d SEARCH YOUNGER 60
S: ^\* SEARCH$
S: ^d OK SEARCH completed\.$
C: e SEARCH OLDER 60 SAVEDATESUPPORTED
S: ^\* SEARCH 1$
S: ^e OK SEARCH completed\.$
C: f SEARCH SAVEDBEFORE 1-Jan-2021
S: ^\* SEARCH$
S: ^f OK SEARCH completed\.$
C: g FETCH 1 (SAVEDATE)
S: ^\* 1 FETCH \(SAVEDATE "[ 0-9][0-9]-[A-Z][a-z]{2}-[0-9]{4} [0-9:]{8} \+0000"\)$
S: ^g OK FETCH completed\.$
C: h SEARCH YOUNGER 0
S: ^h BAD The interval must be at least one second\.$
C: i SEARCH OLDER 1x
S: ^i BAD Invalid number\.$
C: j SEARCH SAVEDON 1-Foo-2020
S: ^j BAD Invalid date
