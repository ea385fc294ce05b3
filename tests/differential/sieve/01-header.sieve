# header: :is, :contains, :matches on decoded values; fileinto and flags
require ["fileinto", "imap4flags"];
if header :contains "subject" ["test", "Lyrics"] {
    fileinto :flags "\\Seen" "Tests";
} elsif header :is "x-mailer" "" {
    fileinto "EmptyMailer";
} elsif header :matches "content-type" "multipart/*" {
    fileinto "Multipart";
} elsif header :contains "from" "example" {
    keep :flags ["\\Flagged", "$Example"];
}
