# relational: :count and :value with i;ascii-numeric (RFC 5231)
require ["fileinto", "relational", "comparator-i;ascii-numeric"];
if header :count "ge" :comparator "i;ascii-numeric" "received" "3" {
    fileinto "ManyHops";
} elsif address :count "gt" :comparator "i;ascii-numeric" ["to", "cc"] "1" {
    fileinto "ManyRcpts";
} elsif header :value "lt" "subject" "M" {
    fileinto "EarlySubject";
}
