# IMAP mailbox names on the wire (RFC 9051 5.1, 9; RFC 3501 5.1.3; RFC 9755):
# the server answers with an atom where the grammar allows, a quoted string
# with \" and \\ escapes otherwise, modified UTF-7 for non-ASCII names until
# the client enables UTF8=ACCEPT, and UTF-8 (quoted) after. Names arrive as
# atoms, quoted strings or literals; 8-bit is BAD until UTF-8 is enabled.
# listener: imap
# users: alice:secret
# config: storage.initial_mailboxes = ""
S: ^\* OK
C: a LOGIN alice secret
S: ^a OK
# (the trailing "/" only declares that names will be made below it)
C: b CREATE "say \"hi\" \\\\o/"
S: ^b OK
C: c LIST "" say*
S: ^\* LIST \(\\HasNoChildren\) "/" "say \\"hi\\" \\\\o"$
S: ^c OK
C: d CREATE {10}
S: ^\+ 
C: [Gmail]/x]
S: ^d OK
C: e LIST "" [Gmail]*
S: ^\* LIST \(\\HasChildren\) "/" \[Gmail\]$
S: ^\* LIST \(\\HasNoChildren\) "/" \[Gmail\]/x\]$
S: ^e OK
C: f CREATE NIL
S: ^f OK
C: g LIST "" NIL
S: ^\* LIST \(\\HasNoChildren\) "/" "NIL"$
S: ^g OK
# non-ASCII: modified UTF-7 in, modified UTF-7 out
C: h CREATE "Caf&AOk- &- Bar"
S: ^h OK
C: i LIST "" Caf*
S: ^\* LIST \(\\HasNoChildren\) "/" "Caf&AOk- &- Bar"$
S: ^i OK
C: j CREATE "Caf\xc3\xa9"
S: ^j BAD .*modified UTF-7
C: k CREATE "&AOk"
S: ^k BAD
# after ENABLE UTF8=ACCEPT: UTF-8 in and out, '&' is just a character
C: l ENABLE UTF8=ACCEPT
S: ^\* ENABLED UTF8=ACCEPT$
S: ^l OK
C: m LIST "" Caf*
S: ^\* LIST \(\\HasNoChildren\) "/" "Café & Bar"$
S: ^m OK
C: n CREATE "Caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac"
S: ^n OK
C: o LIST "" Café/%
S: ^\* LIST \(\\HasNoChildren\) "/" "Café/日本"$
S: ^o OK
C: p STATUS "Café/日本" (MESSAGES)
S: ^\* STATUS "Café/日本" \(MESSAGES 0\)$
S: ^p OK
C: q CREATE "bad\xff"
S: ^q BAD .*UTF-8
C: r CREATE "x\x01y"
S: ^r NO \[CANNOT\]
