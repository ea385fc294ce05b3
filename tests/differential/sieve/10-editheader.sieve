# editheader (RFC 5293): edits are seen by later tests
require ["editheader", "fileinto"];
addheader "X-Filtered" "yes";
if header :is "x-filtered" "yes" {
    deleteheader "subject";
}
if not exists "subject" {
    fileinto "NoSubject";
}
