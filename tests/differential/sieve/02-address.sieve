# address parts (RFC 5228 5.1, RFC 5233 subaddress)
require ["fileinto", "subaddress"];
if address :domain :is "from" ["python.org", "zope.com"] {
    fileinto "Domain";
} elsif address :localpart :matches ["to", "cc"] "*-request" {
    fileinto "Request";
} elsif address :all :contains "from" "barry" {
    fileinto "Barry";
} elsif address :user :is "to" "bbb" {
    fileinto "User";
} elsif address :detail :is "to" "tag" {
    fileinto "Detail";
} elsif address :domain :contains ["to", "cc", "bcc"] ".com" {
    fileinto "Dotcom";
}
