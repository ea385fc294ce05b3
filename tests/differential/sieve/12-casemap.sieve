# comparators and wildcards: i;octet, i;ascii-casemap, ? and escapes
require ["fileinto"];
if header :is :comparator "i;octet" "subject" "Lyrics" {
    fileinto "Octet";
} elsif header :matches "subject" "?his is a*" {
    fileinto "Question";
} elsif header :matches :comparator "i;octet" "from" "*\\*" {
    fileinto "Star";
} elsif header :contains :comparator "i;ascii-casemap" "subject" "TEST" {
    fileinto "Casemap";
}
