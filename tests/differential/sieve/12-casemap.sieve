# comparators and wildcards: i;octet, i;ascii-casemap, * and escapes (not ?:
# Pigeonhole 2.3.19 mis-matches it, see docs/PROTOCOLS.md)
require ["fileinto"];
if header :is :comparator "i;octet" "subject" "Lyrics" {
    fileinto "Octet";
} elsif header :matches "subject" "*is a *" {
    fileinto "Question";
} elsif header :matches :comparator "i;octet" "from" "*\\*" {
    fileinto "Star";
} elsif header :contains :comparator "i;ascii-casemap" "subject" "TEST" {
    fileinto "Casemap";
}
