# IMAP LIST patterns (RFC 9051 6.3.9, RFC 3501 6.3.8, RFC 5258 3): '*' and
# '%' inside atoms, quoted and literal patterns, the reference as a prefix,
# INBOX matching case-insensitively, several patterns in one command, and
# the delimiter query LIST "" "". The hierarchy delimiter is "/".
# listener: imap
# users: alice:secret
# config: storage.initial_mailboxes = ""
S: ^\* OK
C: a LOGIN alice secret
S: ^a OK
C: b1 CREATE a/b/c
S: ^b1 OK
C: b2 CREATE "a b"
S: ^b2 OK
C: b3 CREATE a%x
S: ^b3 BAD
C: b4 CREATE "a%x"
S: ^b4 OK
# delimiter and root
C: c LIST "" ""
S: ^\* LIST \(\\Noselect\) "/" ""$
S: ^c OK
# '%' stops at the delimiter, '*' does not
C: d LIST "" a%
S: ^\* LIST \(\\HasChildren\) "/" a$
S: ^\* LIST \(\\HasNoChildren\) "/" "a b"$
S: ^\* LIST \(\\HasNoChildren\) "/" "a%x"$
S: ^d OK
C: e LIST "" a/*
S: ^\* LIST \(\\HasChildren\) "/" a/b$
S: ^\* LIST \(\\HasNoChildren\) "/" a/b/c$
S: ^e OK
C: f LIST "" "a/%/%"
S: ^\* LIST \(\\HasNoChildren\) "/" a/b/c$
S: ^f OK
# the reference is a prefix of the pattern
C: g LIST a/ %
S: ^\* LIST \(\\HasChildren\) "/" a/b$
S: ^g OK
C: h LIST "a/b" "/c"
S: ^\* LIST \(\\HasNoChildren\) "/" a/b/c$
S: ^h OK
# a literal pattern, and a pattern that matches nothing
C: i LIST "" {3+}
C: *\x2Fc
S: ^\* LIST \(\\HasNoChildren\) "/" a/b/c$
S: ^i OK
C: j LIST "" nothing*
S: ^j OK
# INBOX in any case, also as a pattern prefix
C: k LIST "" iNbOx
S: ^\* LIST \(\\HasNoChildren\) "/" INBOX$
S: ^k OK
C: l LIST "" i*
S: ^\* LIST \(\\HasNoChildren\) "/" INBOX$
S: ^l OK
# several patterns (RFC 5258 3): each name once, in hierarchy order
C: m LIST "" (a* "a/b" inbox)
S: ^\* LIST \(\\HasNoChildren\) "/" INBOX$
S: ^\* LIST \(\\HasChildren\) "/" a$
S: ^\* LIST \(\\HasChildren\) "/" a/b$
S: ^\* LIST \(\\HasNoChildren\) "/" a/b/c$
S: ^\* LIST \(\\HasNoChildren\) "/" "a b"$
S: ^\* LIST \(\\HasNoChildren\) "/" "a%x"$
S: ^m OK
# syntax errors are BAD and the session goes on
C: n LIST "" (a
S: ^n BAD
C: o LIST "" a RETURN
S: ^o BAD
C: p LIST (SUBSCRIBED "" a
S: ^p BAD
C: q NOOP
S: ^q OK
